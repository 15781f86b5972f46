//! The incremental side: a dataflow on one timely worker, fed its history in bulk up to the
//! measured stretch, then one logical time at a time, stepped until its output for that time is
//! complete (timely's per-round cost included, as in a live worker).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

use differential_dataflow::input::Input;
use differential_dataflow::{ExchangeData, VecCollection};
use nexus_model::LogicalTime as Time;
use timely::dataflow::operators::probe::Handle as ProbeHandle;

/// Updates fed at once before the measured stretch.
const WARM_UP_CHUNK: usize = 1024;

/// What the incremental run measured.
pub struct Incremental<O> {
    /// Wall time of the measured stretch, seconds.
    pub seconds: f64,
    /// Logical times with input changes in the measured stretch (each a round).
    pub times: usize,
    /// Input updates in the measured stretch.
    pub updates: usize,
    /// Every output update of the whole run, in time order.
    pub outputs: Vec<(O, Time, isize)>,
}

/// Runs `build` over `history` (sorted by time); times from `measure_from` on are measured.
pub fn incremental<I, O, F>(history: Vec<(I, Time, isize)>, measure_from: Time, build: F) -> Incremental<O>
where
    I: ExchangeData + Sync,
    O: ExchangeData,
    F: for<'s> Fn(VecCollection<'s, Time, I>) -> VecCollection<'s, Time, O> + Send + Sync + 'static,
{
    timely::execute_directly(move |worker| {
        let probe = ProbeHandle::new();
        let outputs = Rc::new(RefCell::new(Vec::new()));
        let sink = Rc::clone(&outputs);
        let mut input = worker.dataflow::<Time, _, _>(|scope| {
            let (input, collection) = scope.new_collection::<I, isize>();
            build(collection).inspect(move |update| sink.borrow_mut().push(update.clone())).probe_with(&probe);
            input
        });
        let split = history.partition_point(|update| update.1 < measure_from);
        // Up to the measured stretch in chunks, as replay feeds it: a dataflow with a feedback
        // loop completes one time per round, and would otherwise re-sort all of the rest each time.
        for (index, (record, time, diff)) in history[..split].iter().enumerate() {
            if *time > *input.time() {
                input.advance_to(*time);
                if index % WARM_UP_CHUNK == 0 {
                    input.flush();
                    while probe.less_than(input.time()) {
                        worker.step();
                    }
                }
            }
            input.update_at(record.clone(), *time, *diff);
        }
        input.advance_to(measure_from);
        input.flush();
        while probe.less_than(input.time()) {
            worker.step();
        }

        let started = Instant::now();
        let mut times = 0;
        let mut rest = &history[split..];
        while let Some(first) = rest.first() {
            let time = first.1;
            let count = rest.partition_point(|update| update.1 == time);
            for (record, _, diff) in &rest[..count] {
                input.update_at(record.clone(), time, *diff);
            }
            input.advance_to(time + 1);
            input.flush();
            while probe.less_than(input.time()) {
                worker.step();
            }
            times += 1;
            rest = &rest[count..];
        }
        let seconds = started.elapsed().as_secs_f64();
        let outputs = nexus_operators::harness::consolidate(std::mem::take(&mut *outputs.borrow_mut()));
        Incremental { seconds, times, updates: history.len() - split, outputs }
    })
}
