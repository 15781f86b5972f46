//! The loop of one timely worker: take batches from its feed, decode them into the pipeline's
//! inputs, advance time, step the dataflow, and tell the sinks which times are complete.

use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nexus_dataflows::risk_gate::deadline_lead;
use nexus_dataflows::surveillance::SurveillanceHistory;
use nexus_dataflows::var::PriceHistory;
use nexus_model::config::Config;
use nexus_sinks::SinkEvent;
use nexus_sources::bridge::{Completed, Feed, FeedReceiver, Wakers};
use nexus_sources::decode::{Decoder, Input};
use nexus_sources::message::Item;
use timely::communication::WorkerGuards;
use timely::dataflow::operators::probe::Handle as ProbeHandle;
use timely::worker::Worker;
use tokio::sync::mpsc::error::TryRecvError;

use crate::introspection::Introspection;
use crate::pipeline::{self, PipelineInputs, Time};

/// Trace-merge work per idle step (differential's `idle_merge_effort`).
const IDLE_MERGE_EFFORT: isize = 1000;

/// How long an idle worker parks before looking at its feed again.
const IDLE_PARK: Duration = Duration::from_millis(1);

/// Where this process's workers sit among all the workers of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    /// Worker threads in each process.
    pub threads: usize,
    /// This process's index among `addresses`.
    pub process: usize,
    /// `host:port` of every process, in process order; empty or one entry for a single process.
    pub addresses: Vec<String>,
}

impl Placement {
    /// One process with `threads` workers.
    pub fn single(threads: usize) -> Placement {
        Placement { threads: threads.max(1), process: 0, addresses: Vec::new() }
    }

    /// Number of processes.
    pub fn processes(&self) -> usize {
        self.addresses.len().max(1)
    }

    /// The global index of this process's first worker.
    pub fn first_worker(&self) -> usize {
        self.process * self.threads
    }

    /// Workers over every process.
    pub fn total_workers(&self) -> usize {
        self.processes() * self.threads
    }

    /// Whether this process writes the sinks: every output is gathered on the first worker of
    /// the first process.
    pub fn writes_sinks(&self) -> bool {
        self.process == 0
    }

    fn timely_config(&self) -> timely::Config {
        if self.processes() == 1 {
            return timely::Config::process(self.threads);
        }
        timely::Config {
            communication: timely::CommunicationConfig::Cluster {
                threads: self.threads,
                process: self.process,
                addresses: self.addresses.clone(),
                report: false,
                zerocopy: false,
            },
            worker: timely::WorkerConfig::default(),
        }
    }
}

/// Starts `receivers.len()` timely worker threads in this process, each running [`run`] on its own
/// feed; join the guards to wait for them.
/// Every worker feeds the measures `introspection` has on, and worker 0 samples them. Each worker
/// registers a wake-up in `wakers`, for a feed that wakes its workers when it sends.
pub fn start(
    receivers: Vec<FeedReceiver>,
    config: Config,
    sink: SyncSender<SinkEvent>,
    introspection: Introspection,
    wakers: Wakers,
    completed: Completed,
) -> Result<WorkerGuards<()>, String> {
    let placement = Placement::single(receivers.len());
    start_placed(receivers, &placement, config, sink, introspection, wakers, completed)
}

/// [`start`] for one process of several: `receivers` feed this process's workers, and with more
/// than one process every output is gathered on the first worker (connecting to the other
/// processes first, which waits until they are all up).
pub fn start_placed(
    receivers: Vec<FeedReceiver>,
    placement: &Placement,
    config: Config,
    sink: SyncSender<SinkEvent>,
    introspection: Introspection,
    wakers: Wakers,
    completed: Completed,
) -> Result<WorkerGuards<()>, String> {
    let first_worker = placement.first_worker();
    let gather = placement.processes() > 1;
    let receivers: Arc<Mutex<Vec<Option<FeedReceiver>>>> =
        Arc::new(Mutex::new(receivers.into_iter().map(Some).collect()));
    let config = Arc::new(config);
    let mut timely_config = placement.timely_config();
    // Keep merging trace batches while idle, so cancelled updates are dropped and traces stay
    // compact in a long-running worker (measured: about 5% faster replay as well).
    let merging = differential_dataflow::Config::default().idle_merge_effort(Some(IDLE_MERGE_EFFORT));
    differential_dataflow::configure(&mut timely_config.worker, &merging);
    timely::execute(timely_config, move |worker| {
        let local = worker.index().checked_sub(first_worker);
        let feed =
            receivers.lock().ok().and_then(|mut all| local.and_then(|local| all.get_mut(local).and_then(Option::take)));
        introspection.install(worker);
        let activator = worker.sync_activator_for(vec![]);
        wakers.register(move || {
            let _ = activator.activate();
        });
        if let Some(feed) = feed {
            let outputs = pipeline::Outputs { sink: sink.clone(), gather };
            run(worker, feed, Arc::clone(&config), outputs, introspection.clone(), completed.clone());
        }
    })
}

/// Runs one worker until its feed ends (or its source hangs up).
pub fn run(
    worker: &mut Worker,
    mut feed: FeedReceiver,
    config: Arc<Config>,
    outputs: pipeline::Outputs,
    introspection: Introspection,
    completed: Completed,
) {
    let sink = outputs.sink.clone();
    let sampler = Some(introspection).filter(|measures| measures.is_on() && worker.index() == 0);
    let probe = ProbeHandle::new();
    let history = PriceHistory::from_config(&config);
    let kept = SurveillanceHistory::from_config(&config);
    let gate_lead = gate_lead(&config);
    let mut inputs =
        worker.dataflow::<Time, _, _>(|scope| pipeline::build(scope, history, kept, gate_lead, &outputs, &probe));
    if worker.index() == 0 {
        inputs.install_config(&config);
    }
    let mut decoder = Decoder::new(Arc::clone(&config)).with_min_leg_timeout_us(gate_lead);
    let mut current_config = config;
    let mut previous_watermark: Option<Time> = None;
    let mut reported = 0;
    loop {
        match feed.try_recv() {
            Ok(Feed::Batch { items, watermark }) => {
                for item in items {
                    apply(item, &mut decoder, &mut inputs, &mut current_config);
                }
                inputs.advance_to(watermark);
                // Keep at most one batch in flight: wait for the one before this to complete.
                if let Some(previous) = previous_watermark {
                    while probe.less_than(&previous) {
                        // Parks while waiting on the other workers (woken by their messages), so
                        // a worker does not spin on a core another worker needs.
                        worker.step_or_park(Some(IDLE_PARK));
                    }
                }
                previous_watermark = Some(watermark);
                worker.step();
                if let Some(measures) = &sampler {
                    measures.observe(watermark);
                }
            }
            Ok(Feed::End { last_time }) => {
                // The clock stops here: later scheduled changes are not output. Every worker says
                // so before advancing, so the sink knows before the frontier passes `last_time`.
                let _ = sink.send(SinkEvent::Stop(last_time));
                let end = last_time.saturating_add(1);
                inputs.advance_to(end);
                while probe.less_than(&end) {
                    worker.step();
                }
                report_frontier(&probe, &sink, &completed, &mut reported);
                break;
            }
            Err(TryRecvError::Empty) => {
                worker.step_or_park(Some(IDLE_PARK));
            }
            Err(TryRecvError::Disconnected) => break,
        }
        report_frontier(&probe, &sink, &completed, &mut reported);
    }
}

/// How far ahead the risk gate feeds its leg deadlines back: the starting leg timeout, at most a
/// second. Run-time changes may not set the timeout below it.
fn gate_lead(config: &Config) -> Time {
    deadline_lead(config.risk.leg_timeout_ms.saturating_mul(1000))
}

/// Decodes one item into the pipeline's inputs at the item's time.
fn apply(item: Item, decoder: &mut Decoder, inputs: &mut PipelineInputs, config: &mut Arc<Config>) {
    match item {
        Item::Unusable { time, rejected, .. } => inputs.rejected(rejected, time),
        Item::Message(message) => {
            let (time, seq) = (message.time, message.seq);
            decoder.decode(&message, |result| match result {
                Ok(Input::Funding(update)) => inputs.funding(update, time),
                Ok(Input::Config(next)) => {
                    inputs.change_config(config, &next, time);
                    *config = next;
                }
                Ok(Input::Book(book)) => inputs.book(book, seq, time),
                Ok(Input::Fill(fill)) => inputs.fill(fill, seq, time),
                Ok(Input::Trade(trade)) => inputs.trade(trade, seq, time),
                Ok(Input::Order(event)) => inputs.order(event, seq, time),
                Ok(Input::Halt(halt)) => inputs.halt(halt, time),
                Err(rejected) => inputs.rejected(rejected, time),
            });
        }
    }
}

/// Tells the sink when the global frontier has moved, and the feed's source that the workers are
/// done up to it.
fn report_frontier(
    probe: &ProbeHandle<Time>,
    sink: &SyncSender<SinkEvent>,
    completed: &Completed,
    reported: &mut Time,
) {
    let frontier = probe.with_frontier(|f| f.first().copied().unwrap_or(Time::MAX));
    if frontier > *reported {
        *reported = frontier;
        completed.advance_to(frontier);
        let _ = sink.send(SinkEvent::Frontier(frontier));
    }
}
