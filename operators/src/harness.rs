//! A small harness that runs a dataflow fragment on a recorded history of input updates, with any
//! number of workers, and returns every output update. Oracle tests and benchmarks use it to compare
//! incremental results with a from-scratch recomputation at every time.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use differential_dataflow::ExchangeData;
use differential_dataflow::VecCollection;
use differential_dataflow::input::Input;

use crate::Time;

/// Runs `build` on `history` (updates in any order) with `workers` threads and returns the output
/// updates, consolidated per (record, time). Worker `i` feeds the updates at positions `i mod workers`,
/// so data enters on every worker, as it does in production.
pub fn run<I, O, F>(workers: usize, history: Vec<(I, Time, isize)>, build: F) -> Vec<(O, Time, isize)>
where
    I: ExchangeData + Sync,
    O: ExchangeData,
    F: for<'s> Fn(VecCollection<'s, Time, I>) -> VecCollection<'s, Time, O> + Send + Sync + 'static,
{
    let mut history = history;
    history.sort_by_key(|update| update.1);
    let history = Arc::new(history);
    let collected = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&collected);
    let outcome = timely::execute(timely::Config::process(workers), move |worker| {
        let index = worker.index();
        let peers = worker.peers();
        let sink = Arc::clone(&sink);
        let mut input = worker.dataflow::<Time, _, _>(|scope| {
            let (input, collection) = scope.new_collection::<I, isize>();
            build(collection).inspect(move |update| {
                if let Ok(mut out) = sink.lock() {
                    out.push(update.clone());
                }
            });
            input
        });
        for (position, (record, time, diff)) in history.iter().enumerate() {
            if *time > *input.time() {
                input.advance_to(*time);
            }
            if position % peers == index {
                input.update_at(record.clone(), *time, *diff);
            }
        }
        input.close();
    });
    match outcome {
        Ok(guards) => {
            for result in guards.join() {
                if let Err(message) = result {
                    panic!("timely worker failed: {message}");
                }
            }
        }
        Err(message) => panic!("timely failed to start: {message}"),
    }
    let updates = std::mem::take(&mut *collected.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
    consolidate(updates)
}

/// Sums diffs per (record, time) and drops zeros; sorted by time, then record.
pub fn consolidate<O: Ord>(updates: Vec<(O, Time, isize)>) -> Vec<(O, Time, isize)> {
    let mut sums: BTreeMap<(Time, O), isize> = BTreeMap::new();
    for (record, time, diff) in updates {
        *sums.entry((time, record)).or_insert(0) += diff;
    }
    sums.into_iter().filter(|(_, diff)| *diff != 0).map(|((time, record), diff)| (record, time, diff)).collect()
}

/// The collection described by `updates` at time `at`: each record with its accumulated count.
pub fn collection_at<O: Ord + Clone>(updates: &[(O, Time, isize)], at: Time) -> BTreeMap<O, isize> {
    let mut counts = BTreeMap::new();
    for (record, time, diff) in updates {
        if *time <= at {
            *counts.entry(record.clone()).or_insert(0) += diff;
        }
    }
    counts.retain(|_, count| *count != 0);
    counts
}
