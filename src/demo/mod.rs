//! `nexus demo`: the built-in simulator drives the whole pipeline in-process, with no NATS and no
//! PostgreSQL. A live terminal view (or plain periodic summaries when not on a terminal) shows the
//! reconciled snapshots, discrepancies, events/s and latency; every output stream is written as JSON
//! lines under the output directory. Stops on `q`, Ctrl-C, SIGTERM or after `--duration`.

mod paper;
mod state;
mod view;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use nexus_model::config::Config;
use nexus_model::records::OutputStream;
use nexus_sinks::complete::CompletedTimes;
use nexus_sinks::jsonl::{JsonlError, JsonlSink};
use nexus_sources::bridge::{self, Clock, Feed, FeedSender, route};
use nexus_sources::message::{Item, Message};
use nexus_sources::simulator::{Simulator, SimulatorConfig};
use ratatui::crossterm::event::{self, Event, KeyCode, KeyModifiers};

use paper::PaperLoop;
pub use state::DemoState;
use view::Rates;

use crate::worker;

/// How often the simulator releases messages (wall clock).
const FEED_EVERY: Duration = Duration::from_millis(20);
/// How often the view or the plain summary refreshes.
const VIEW_EVERY: Duration = Duration::from_millis(250);
/// How often a plain summary is printed when not on a terminal.
const SUMMARY_EVERY: Duration = Duration::from_secs(5);

/// How to run the demo.
#[derive(Clone, Debug)]
pub struct DemoOptions {
    /// Where the `<stream>.jsonl` files go.
    pub output: PathBuf,
    /// Parameters (defaults of DESIGN section 5 unless a file is given).
    pub config: Config,
    /// Timely worker threads.
    pub workers: usize,
    /// Simulator seed.
    pub seed: u64,
    /// Simulated seconds per wall-clock second.
    pub speed: f64,
    /// Stop by itself after this long (wall clock).
    pub duration: Option<Duration>,
    /// Draw the live terminal view (else print plain summaries).
    pub interactive: bool,
}

/// Why the demo failed.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The output files could not be written.
    #[error(transparent)]
    Output(#[from] JsonlError),
    /// The terminal could not be driven.
    #[error("terminal error")]
    Terminal(#[source] std::io::Error),
    /// Timely could not start, or a worker failed.
    #[error("dataflow worker failed: {0}")]
    Worker(String),
    /// A helper thread panicked.
    #[error("{0} thread panicked")]
    Panicked(&'static str),
}

/// Runs the demo until stopped; returns the final picture and a one-line summary.
pub fn demo(options: &DemoOptions, stop: Arc<AtomicBool>) -> Result<String, DemoError> {
    let workers = options.workers.max(1);
    let state = Arc::new(Mutex::new(DemoState::default()));
    let events = Arc::new(AtomicU64::new(0));
    let simulated = Arc::new(AtomicU64::new(0));

    let sink = JsonlSink::create(&options.output, &OutputStream::files(!options.config.var.stress.is_empty()))?;
    let (sink_tx, sink_rx) = sync_channel(4096);
    let (orders_tx, orders_rx) = std::sync::mpsc::channel();
    let writer_state = Arc::clone(&state);
    let writer = thread::Builder::new()
        .name("nexus-demo-sink".into())
        .spawn(move || -> Result<(), JsonlError> {
            let mut sink = sink;
            let mut buffer = CompletedTimes::new();
            for event in sink_rx {
                if let Some(batch) = buffer.accept(event) {
                    sink.write(&batch)?;
                    // The gate's orders go to the paper venue (gone once the simulator has stopped).
                    for order in orders_in(&batch) {
                        let _ = orders_tx.send(order);
                    }
                    if let Ok(mut state) = writer_state.lock() {
                        state.apply(&batch);
                    }
                }
            }
            let last = buffer.finish();
            sink.write(&last)?;
            if let Ok(mut state) = writer_state.lock() {
                state.apply(&last);
            }
            sink.finish().map(|_| ())
        })
        .map_err(|_| DemoError::Panicked("sink"))?;

    let (senders, receivers) = bridge::channels(workers, 64);
    let feeder = {
        let (stop, state, events, simulated) =
            (Arc::clone(&stop), Arc::clone(&state), Arc::clone(&events), Arc::clone(&simulated));
        let (seed, speed, duration) = (options.seed, options.speed.max(0.001), options.duration);
        let paper = PaperLoop::new(&options.config, orders_rx);
        thread::Builder::new()
            .name("nexus-simulator".into())
            .spawn(move || simulate(senders, paper, seed, speed, duration, &stop, &state, &events, &simulated))
            .map_err(|_| DemoError::Panicked("simulator"))?
    };

    let guards = worker::start(
        receivers,
        options.config.clone(),
        sink_tx,
        Default::default(),
        Default::default(),
        Default::default(),
    )
    .map_err(DemoError::Worker)?;

    let shown = if options.interactive {
        show_terminal(&state, &events, &simulated, &stop)
    } else {
        show_plain(&state, &events, &simulated, &stop);
        Ok(())
    };
    stop.store(true, Ordering::SeqCst);
    let worker_results = guards.join();
    feeder.join().map_err(|_| DemoError::Panicked("simulator"))?;
    writer.join().map_err(|_| DemoError::Panicked("sink"))??;
    shown?;
    if let Some(Err(message)) = worker_results.into_iter().find(Result::is_err) {
        return Err(DemoError::Worker(message));
    }
    let rates = Rates {
        events: events.load(Ordering::Relaxed),
        events_per_second: 0.0,
        simulated_seconds: simulated.load(Ordering::Relaxed) as f64 / 1e6,
    };
    let state = state.lock().map_err(|_| DemoError::Panicked("sink"))?;
    Ok(view::summary_line(&state, &rates))
}

/// Releases simulated messages at `speed` times real time until stopped, then ends the input.
#[allow(clippy::too_many_arguments)]
fn simulate(
    senders: Vec<FeedSender>,
    mut paper: PaperLoop,
    seed: u64,
    speed: f64,
    duration: Option<Duration>,
    stop: &AtomicBool,
    state: &Mutex<DemoState>,
    events: &AtomicU64,
    simulated: &AtomicU64,
) {
    let config = SimulatorConfig { seed, ..SimulatorConfig::default() };
    let mut simulator = Simulator::new(&config);
    let workers = senders.len();
    let started = Instant::now();
    let mut clock = Clock::default();
    let mut seq = 0u64;
    let mut messages = Vec::new();
    while !stop.load(Ordering::SeqCst) && duration.is_none_or(|d| started.elapsed() < d) {
        thread::sleep(FEED_EVERY);
        let until = config.start_us + (started.elapsed().as_secs_f64() * speed * 1e6) as u64;
        messages.clear();
        simulator.advance(until, &mut messages);
        let mut batches: Vec<Vec<Item>> = vec![Vec::new(); workers];
        // Our fills first: they are due at or before this round's messages.
        paper.take_orders();
        for (time, subject, payload) in paper.due(until) {
            let time = clock.stamp(time);
            let worker = route(&subject, seq, workers);
            batches[worker].push(Item::Message(Message { seq, time, subject, payload: payload.into() }));
            seq += 1;
        }
        for message in messages.drain(..) {
            paper.observe(&message);
            let time = clock.stamp(message.recv_us);
            let worker = route(message.subject, seq, workers);
            batches[worker].push(Item::Message(Message {
                seq,
                time,
                subject: message.subject.to_string(),
                payload: message.payload.into(),
            }));
            seq += 1;
        }
        events.store(seq, Ordering::Relaxed);
        clock.advance_to(until);
        simulated.store(until - config.start_us, Ordering::Relaxed);
        if let Ok(mut state) = state.lock() {
            state.sent(until, Instant::now());
            state.paper(paper.pnl(), paper.fills, paper.rejected);
        }
        for (sender, items) in senders.iter().zip(batches) {
            if sender.blocking_send(Feed::Batch { items, watermark: until }).is_err() {
                return;
            }
        }
    }
    stop.store(true, Ordering::SeqCst);
    for sender in &senders {
        let _ = sender.blocking_send(Feed::End { last_time: clock.now() });
    }
}

/// The order intents of a batch, with their times.
fn orders_in(batch: &nexus_sinks::complete::CompleteBatch) -> Vec<paper::SentOrder> {
    let mut orders = Vec::new();
    for (time, streams) in &batch.times {
        let Some(updates) = streams.get(&OutputStream::Orders) else { continue };
        for (data, diff) in updates {
            if *diff > 0
                && let Ok(order) = serde_json::from_str(data)
            {
                orders.push((*time, order));
            }
        }
    }
    orders
}

/// The live terminal view; returns when `q` or Ctrl-C is pressed or the demo stops.
fn show_terminal(
    state: &Mutex<DemoState>,
    events: &AtomicU64,
    simulated: &AtomicU64,
    stop: &AtomicBool,
) -> Result<(), DemoError> {
    let mut terminal = ratatui::try_init().map_err(DemoError::Terminal)?;
    let mut meter = Meter::new();
    let result = (|| -> Result<(), DemoError> {
        while !stop.load(Ordering::SeqCst) {
            let rates = meter.rates(events, simulated);
            if let Ok(state) = state.lock() {
                terminal.draw(|frame| view::draw(frame, &state, &rates)).map_err(DemoError::Terminal)?;
            }
            if event::poll(VIEW_EVERY).map_err(DemoError::Terminal)?
                && let Event::Key(key) = event::read().map_err(DemoError::Terminal)?
                && (key.code == KeyCode::Char('q')
                    || key.code == KeyCode::Esc
                    || (key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL)))
            {
                stop.store(true, Ordering::SeqCst);
            }
        }
        Ok(())
    })();
    ratatui::restore();
    result
}

/// Plain summaries every few seconds, for logs and pipes.
fn show_plain(state: &Mutex<DemoState>, events: &AtomicU64, simulated: &AtomicU64, stop: &AtomicBool) {
    let mut meter = Meter::new();
    let mut last_print = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        thread::sleep(VIEW_EVERY);
        if last_print.elapsed() >= SUMMARY_EVERY {
            last_print = Instant::now();
            let rates = meter.rates(events, simulated);
            if let Ok(state) = state.lock() {
                println!("{}", view::summary_line(&state, &rates));
            }
        }
    }
}

/// Events per second between two looks.
struct Meter {
    last: Instant,
    last_events: u64,
}

impl Meter {
    fn new() -> Meter {
        Meter { last: Instant::now(), last_events: 0 }
    }

    fn rates(&mut self, events: &AtomicU64, simulated: &AtomicU64) -> Rates {
        let now = Instant::now();
        let total = events.load(Ordering::Relaxed);
        let seconds = now.duration_since(self.last).as_secs_f64().max(1e-3);
        let rate = total.saturating_sub(self.last_events) as f64 / seconds;
        self.last = now;
        self.last_events = total;
        Rates {
            events: total,
            events_per_second: rate,
            simulated_seconds: simulated.load(Ordering::Relaxed) as f64 / 1e6,
        }
    }
}
