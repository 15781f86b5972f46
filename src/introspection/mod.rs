//! What a replay can measure about its own dataflow, from timely's and differential's logs:
//! the updates every arrangement holds ([`ArrangementSizes`]) and the time every operator takes
//! ([`OperatorTimes`]), both sampled as logical time advances.
//!
//! Timely lets a worker register one logger per log name, and both measures need the `timely` log
//! (operator names; scheduling), so [`Introspection::install`] registers that logger once and
//! hands each event to whichever measures are on.

mod arrangements;
mod operators;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use nexus_model::LogicalTime;
use timely::logging::{TimelyEvent, TimelyEventBuilder};
use timely::worker::Worker;

pub use arrangements::ArrangementSizes;
pub use operators::{OperatorTime, OperatorTimes};

/// (worker index, operator id): an operator of one worker.
type OperatorKey = (usize, usize);

/// Operator names by (worker, operator id), from timely's `Operates` events; shared by the measures.
#[derive(Clone, Default)]
struct OperatorNames(Arc<Mutex<HashMap<OperatorKey, String>>>);

impl OperatorNames {
    /// The name of every operator announced so far.
    fn snapshot(&self) -> HashMap<OperatorKey, String> {
        self.0.lock().map(|names| names.clone()).unwrap_or_default()
    }
}

/// When a measure's next sample is due: the first `every_us` after the first time observed, then
/// every `every_us` of logical time.
#[derive(Default)]
struct SampleClock {
    /// The logical time of the next sample, once a time has been observed.
    next: Option<LogicalTime>,
}

impl SampleClock {
    /// Whether a sample is due at `time`; if so, the following one is set `every_us` later.
    fn due(&mut self, time: LogicalTime, every_us: LogicalTime) -> bool {
        let due = *self.next.get_or_insert(time.saturating_add(every_us));
        if time < due {
            return false;
        }
        self.next = Some(due.saturating_add(every_us));
        true
    }
}

/// The name of `key` in `names`, or `operator <id>` if it was never announced.
fn name_of(names: &HashMap<OperatorKey, String>, key: &OperatorKey) -> String {
    names.get(key).cloned().unwrap_or_else(|| format!("operator {}", key.1))
}

/// The measures a replay takes of its dataflow; none by default.
#[derive(Clone, Default)]
pub struct Introspection {
    /// Operator names, shared by the measures.
    names: OperatorNames,
    /// Updates held per arrangement, when asked for.
    arrangements: Option<ArrangementSizes>,
    /// Time taken per operator, when asked for.
    operators: Option<OperatorTimes>,
}

impl std::fmt::Debug for Introspection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Introspection")
            .field("arrangements", &self.arrangements)
            .field("operators", &self.operators)
            .finish()
    }
}

impl Introspection {
    /// Also samples the updates every arrangement holds, every `every_us` of logical time.
    pub fn with_arrangement_sizes(mut self, every_us: LogicalTime) -> Introspection {
        self.arrangements = Some(ArrangementSizes::new(every_us, self.names.clone()));
        self
    }

    /// Also samples the time every operator has taken, every `every_us` of logical time.
    pub fn with_operator_times(mut self, every_us: LogicalTime) -> Introspection {
        self.operators = Some(OperatorTimes::new(every_us, self.names.clone()));
        self
    }

    /// The arrangement sizes, if measured.
    pub fn arrangements(&self) -> Option<&ArrangementSizes> {
        self.arrangements.as_ref()
    }

    /// The operator times, if measured.
    pub fn operators(&self) -> Option<&OperatorTimes> {
        self.operators.as_ref()
    }

    /// Whether any measure is on.
    pub fn is_on(&self) -> bool {
        self.arrangements.is_some() || self.operators.is_some()
    }

    /// Listens to `worker`'s logs for every measure that is on; call before building dataflows.
    pub fn install(&self, worker: &mut Worker) {
        if !self.is_on() {
            return;
        }
        let index = worker.index();
        let Some(mut registry) = worker.log_register() else { return };
        let names = self.names.clone();
        let mut schedules = self.operators.as_ref().map(|times| times.worker_log(index));
        registry.insert::<TimelyEventBuilder, _>("timely", move |_time, events| {
            let Some(events) = events else { return };
            let announces = events.iter().any(|(_, event)| matches!(event, TimelyEvent::Operates(_)));
            if let Some(mut names) = names.0.lock().ok().filter(|_| announces) {
                for (_, event) in events.iter() {
                    if let TimelyEvent::Operates(operator) = event {
                        names.insert((index, operator.id), operator.name.clone());
                    }
                }
            }
            if let Some(schedules) = schedules.as_mut() {
                schedules.record(events);
            }
        });
        if let Some(sizes) = &self.arrangements {
            sizes.install_differential(index, &mut registry);
        }
    }

    /// Takes the samples that are due at logical time `time` (called by one worker).
    pub fn observe(&self, time: LogicalTime) {
        if let Some(sizes) = &self.arrangements {
            sizes.observe(time);
        }
        if let Some(times) = &self.operators {
            times.observe(time);
        }
    }
}
