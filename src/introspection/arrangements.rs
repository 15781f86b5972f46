//! Arrangement sizes, from differential's own log: how many updates every trace holds, so that
//! "memory stays bounded as windows slide" is a number one can watch rather than a hope.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use differential_dataflow::logging::{DifferentialEvent, DifferentialEventBuilder};
use nexus_model::LogicalTime;
use timely::logging_core::Registry;

use super::{OperatorKey, OperatorNames, SampleClock, name_of};

#[derive(Default)]
struct Sizes {
    /// Updates held per arrangement operator.
    records: HashMap<OperatorKey, i64>,
    /// When the next sample is due.
    clock: SampleClock,
    /// (logical time, total updates held) samples.
    samples: Vec<(LogicalTime, i64)>,
    /// Updates held per arrangement name at the last sample.
    last_by_name: Vec<(String, i64)>,
}

/// Shared by every worker of a process: each adds its arrangements, one worker takes samples.
#[derive(Clone)]
pub struct ArrangementSizes {
    inner: Arc<Mutex<Sizes>>,
    /// Operator names, to say which arrangement holds what.
    names: OperatorNames,
    /// Logical time between samples.
    every_us: LogicalTime,
}

impl std::fmt::Debug for ArrangementSizes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArrangementSizes").field("every_us", &self.every_us).field("total", &self.total()).finish()
    }
}

impl ArrangementSizes {
    /// Sizes sampled every `every_us` of logical time.
    pub(super) fn new(every_us: LogicalTime, names: OperatorNames) -> ArrangementSizes {
        ArrangementSizes { inner: Arc::default(), names, every_us: every_us.max(1) }
    }

    /// Listens to worker `index`'s differential log (batches made, merged and dropped).
    pub(super) fn install_differential(&self, index: usize, registry: &mut Registry) {
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

    /// Records a sample if one is due at logical time `time` (the first one `every_us` after the
    /// first time observed).
    pub(super) fn observe(&self, time: LogicalTime) {
        let due = self.inner.lock().is_ok_and(|mut sizes| sizes.clock.due(time, self.every_us));
        if !due {
            return;
        }
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
        let names = self.names.snapshot();
        let Ok(sizes) = self.inner.lock() else { return Vec::new() };
        let mut totals: BTreeMap<String, i64> = BTreeMap::new();
        for (key, records) in &sizes.records {
            *totals.entry(name_of(&names, key)).or_insert(0) += records;
        }
        let mut sorted: Vec<(String, i64)> = totals.into_iter().collect();
        sorted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        sorted
    }
}
