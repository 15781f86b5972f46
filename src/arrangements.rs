//! Arrangement sizes, from differential's own log: how many updates every trace holds, so that
//! "memory stays bounded as windows slide" is a number one can watch rather than a hope.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use differential_dataflow::logging::{DifferentialEvent, DifferentialEventBuilder};
use nexus_model::LogicalTime;
use timely::logging::{TimelyEvent, TimelyEventBuilder};
use timely::worker::Worker;

/// (worker index, operator id).
type OperatorKey = (usize, usize);

#[derive(Default)]
struct Sizes {
    /// Operator names, from timely's log.
    names: HashMap<OperatorKey, String>,
    /// Updates held per arrangement operator.
    records: HashMap<OperatorKey, i64>,
    /// (logical time, total updates held) samples.
    samples: Vec<(LogicalTime, i64)>,
    /// Updates held per arrangement name at the last sample.
    last_by_name: Vec<(String, i64)>,
}

/// Shared by every worker of a process: each adds its arrangements, worker 0 takes samples.
#[derive(Clone, Default)]
pub struct ArrangementSizes {
    inner: Arc<Mutex<Sizes>>,
    /// Logical time between samples.
    pub every_us: LogicalTime,
}

impl std::fmt::Debug for ArrangementSizes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArrangementSizes").field("every_us", &self.every_us).field("total", &self.total()).finish()
    }
}

impl ArrangementSizes {
    /// Sizes sampled every `every_us` of logical time.
    pub fn new(every_us: LogicalTime) -> ArrangementSizes {
        ArrangementSizes { inner: Arc::default(), every_us: every_us.max(1) }
    }

    /// Listens to `worker`'s timely and differential logs; call before building dataflows.
    pub fn install(&self, worker: &mut Worker) {
        let index = worker.index();
        let Some(mut registry) = worker.log_register() else { return };
        let names = Arc::clone(&self.inner);
        registry.insert::<TimelyEventBuilder, _>("timely", move |_time, events| {
            let Some(events) = events else { return };
            let Ok(mut sizes) = names.lock() else { return };
            for (_, event) in events.iter() {
                if let TimelyEvent::Operates(operator) = event {
                    sizes.names.insert((index, operator.id), operator.name.clone());
                }
            }
        });
        let records = Arc::clone(&self.inner);
        registry.insert::<DifferentialEventBuilder, _>("differential/arrange", move |_time, events| {
            let Some(events) = events else { return };
            let Ok(mut sizes) = records.lock() else { return };
            for (_, event) in events.iter() {
                let (operator, change) = match event {
                    DifferentialEvent::Batch(batch) => (batch.operator, batch.length as i64),
                    DifferentialEvent::Merge(merge) => match merge.complete {
                        Some(complete) => (merge.operator, complete as i64 - (merge.length1 + merge.length2) as i64),
                        None => continue,
                    },
                    DifferentialEvent::Drop(drop) => (drop.operator, -(drop.length as i64)),
                    _ => continue,
                };
                *sizes.records.entry((index, operator)).or_insert(0) += change;
            }
        });
    }

    /// Updates held by all arrangements right now.
    pub fn total(&self) -> i64 {
        self.inner.lock().map(|sizes| sizes.records.values().sum()).unwrap_or(0)
    }

    /// Records a sample at logical time `time`.
    pub fn sample(&self, time: LogicalTime) {
        let total = self.total();
        let by_name = self.by_name_now();
        if let Ok(mut sizes) = self.inner.lock() {
            sizes.samples.push((time, total));
            sizes.last_by_name = by_name;
        }
    }

    /// The samples taken, in order.
    pub fn samples(&self) -> Vec<(LogicalTime, i64)> {
        self.inner.lock().map(|sizes| sizes.samples.clone()).unwrap_or_default()
    }

    /// Updates held per arrangement name (summed over workers) at the last sample, largest first
    /// (at the very end the dataflows are gone and every trace is empty).
    pub fn by_name(&self) -> Vec<(String, i64)> {
        self.inner.lock().map(|sizes| sizes.last_by_name.clone()).unwrap_or_default()
    }

    fn by_name_now(&self) -> Vec<(String, i64)> {
        let Ok(sizes) = self.inner.lock() else { return Vec::new() };
        let mut totals: BTreeMap<String, i64> = BTreeMap::new();
        for (key, records) in &sizes.records {
            let name = sizes.names.get(key).cloned().unwrap_or_else(|| format!("operator {}", key.1));
            *totals.entry(name).or_insert(0) += records;
        }
        let mut sorted: Vec<(String, i64)> = totals.into_iter().collect();
        sorted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        sorted
    }
}
