//! Operator times, from timely's scheduling log: how long every operator ran, not counting the
//! operators nested in it, so that where a worker's time goes has an answer per operator.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nexus_model::LogicalTime;
use timely::logging::{StartStop, TimelyEvent};

use super::{OperatorKey, OperatorNames, SampleClock, name_of};

#[derive(Default)]
struct Times {
    /// Own time per operator so far.
    spent: HashMap<OperatorKey, Duration>,
    /// When the next sample is due.
    clock: SampleClock,
    /// Own time per operator so far, at each sample.
    samples: Vec<HashMap<OperatorKey, Duration>>,
}

/// Shared by every worker of a process: each adds its operators' time, one worker takes samples.
#[derive(Clone)]
pub struct OperatorTimes {
    inner: Arc<Mutex<Times>>,
    /// Operator names, to say whose time it is.
    names: OperatorNames,
    /// Logical time between samples.
    every_us: LogicalTime,
}

impl std::fmt::Debug for OperatorTimes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OperatorTimes").field("every_us", &self.every_us).finish()
    }
}

/// The time of every operator of one name (timely and differential name operators by kind, so
/// `Map` covers every map; the pipeline names its reduces and arrangements).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperatorTime {
    /// The operators' name.
    pub name: String,
    /// How many operators, over every worker, carry the name.
    pub operators: usize,
    /// Their own time over the whole run, summed over workers.
    pub total: Duration,
    /// Their own time in each interval between samples, the first from the start: how it changed
    /// as logical time went on.
    pub per_interval: Vec<Duration>,
}

impl OperatorTimes {
    /// Times sampled every `every_us` of logical time.
    pub(super) fn new(every_us: LogicalTime, names: OperatorNames) -> OperatorTimes {
        OperatorTimes { inner: Arc::default(), names, every_us: every_us.max(1) }
    }

    /// Logical time between samples.
    pub fn every_us(&self) -> LogicalTime {
        self.every_us
    }

    /// The log of worker `index`'s scheduling, adding to these times.
    pub(super) fn worker_log(&self, index: usize) -> WorkerSchedule {
        WorkerSchedule { index, running: Vec::new(), times: Arc::clone(&self.inner) }
    }

    /// Records a sample if one is due at logical time `time` (the first one `every_us` after the
    /// first time observed).
    pub(super) fn observe(&self, time: LogicalTime) {
        let Ok(mut times) = self.inner.lock() else { return };
        if times.clock.due(time, self.every_us) {
            let sample = times.spent.clone();
            times.samples.push(sample);
        }
    }

    /// Every operator name's time, the most time first; call once the workers are done, so the
    /// totals are complete.
    pub fn report(&self) -> Vec<OperatorTime> {
        let names = self.names.snapshot();
        let Ok(times) = self.inner.lock() else { return Vec::new() };
        let mut by_name: BTreeMap<String, OperatorTime> = BTreeMap::new();
        let intervals = times.samples.len();
        for key in names.keys() {
            entry(&mut by_name, name_of(&names, key), intervals).operators += 1;
        }
        for (key, spent) in &times.spent {
            let entry = entry(&mut by_name, name_of(&names, key), intervals);
            entry.total += *spent;
            let mut before = Duration::ZERO;
            for (interval, sample) in entry.per_interval.iter_mut().zip(&times.samples) {
                let at = sample.get(key).copied().unwrap_or_default();
                *interval += at.saturating_sub(before);
                before = at;
            }
        }
        let mut sorted: Vec<OperatorTime> = by_name.into_values().collect();
        sorted.sort_by(|a, b| b.total.cmp(&a.total).then_with(|| a.name.cmp(&b.name)));
        sorted
    }
}

/// The time of the operators named `name`, starting at zero.
fn entry(by_name: &mut BTreeMap<String, OperatorTime>, name: String, intervals: usize) -> &mut OperatorTime {
    by_name.entry(name.clone()).or_insert_with(|| OperatorTime {
        name,
        operators: 0,
        total: Duration::ZERO,
        per_interval: vec![Duration::ZERO; intervals],
    })
}

/// One worker's scheduling log: the operators running right now, innermost last.
pub(super) struct WorkerSchedule {
    /// The worker's index.
    index: usize,
    /// (operator id, when it started, time spent in operators nested in it).
    running: Vec<(usize, Duration, Duration)>,
    /// Where the times add up.
    times: Arc<Mutex<Times>>,
}

impl WorkerSchedule {
    /// Adds the own time of every operator that stops among `events` (timely logs each
    /// operator's start and stop; a subgraph's run encloses its children's).
    pub(super) fn record(&mut self, events: &[(Duration, TimelyEvent)]) {
        let mut stopped: Vec<(usize, Duration)> = Vec::new();
        for (at, event) in events {
            let TimelyEvent::Schedule(schedule) = event else { continue };
            match schedule.start_stop {
                StartStop::Start => self.running.push((schedule.id, *at, Duration::ZERO)),
                StartStop::Stop => {
                    let Some((id, started, nested)) = self.running.pop() else { continue };
                    let elapsed = at.saturating_sub(started);
                    stopped.push((id, elapsed.saturating_sub(nested)));
                    if let Some(outer) = self.running.last_mut() {
                        outer.2 += elapsed;
                    }
                }
            }
        }
        if stopped.is_empty() {
            return;
        }
        let Ok(mut times) = self.times.lock() else { return };
        for (id, own) in stopped {
            *times.spent.entry((self.index, id)).or_default() += own;
        }
    }
}
