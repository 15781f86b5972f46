//! Holding updates back until a feedback loop is ready for them.

use std::collections::BTreeMap;

use differential_dataflow::{AsCollection, VecCollection};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::Capability;
use timely::dataflow::operators::generic::Operator;

use crate::Time;
use crate::schedule::{Update, release_due};

/// The same collection, each update held back until the frontier of `pace` reaches its time.
///
/// For the inputs of a reduce inside a feedback loop (the risk gate reads its own state one
/// microsecond later). Such a loop completes one logical time per trip around it. Fed directly,
/// the reduce's arrangement batcher would hold every update of the times still ahead, and walk and
/// copy all of them on each trip: a round of N distinct times would cost N² (measured: 15% of a
/// live worker's time, growing with the backlog). With `pace` set to the loop's fed-back
/// collection, the updates wait here instead, in a map ordered by time under one capability for
/// the earliest of them, and reach the batcher about one time at a time. Nothing else changes:
/// the output holds exactly the input's updates, at their own times (consolidated per time).
pub fn pace<'s, D, P>(
    collection: VecCollection<'s, Time, D>,
    pace: VecCollection<'s, Time, P>,
) -> VecCollection<'s, Time, D>
where
    D: Ord + Clone + 'static,
    P: Clone + 'static,
{
    collection
        .inner
        .binary_frontier::<_, CapacityContainerBuilder<Vec<Update<D>>>, _, _, _, _>(
            pace.inner,
            Pipeline,
            Pipeline,
            "Pace",
            move |_default, _info| {
                let mut waiting: BTreeMap<Time, Vec<Update<D>>> = BTreeMap::new();
                // A capability for the earliest waiting time, while anything waits.
                let mut held: Option<Capability<Time>> = None;
                move |(input, _input_frontier), (pace_input, pace_frontier), output| {
                    // Only the pace's frontier matters, not its data.
                    pace_input.for_each(|_capability, _data| {});
                    input.for_each(|capability, data| {
                        for (record, time, diff) in data.drain(..) {
                            if held.as_ref().is_none_or(|h| time < *h.time()) {
                                held = Some(capability.delayed(&time, output.output_index()));
                            }
                            waiting.entry(time).or_default().push((record, time, diff));
                        }
                    });
                    // Release every time the loop has reached.
                    release_due(&mut waiting, &mut held, output, |at| pace_frontier.frontier().iter().all(|f| f >= at));
                }
            },
        )
        .as_collection()
}
