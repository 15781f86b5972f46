//! Moving updates to later logical times, cheaply.

use std::collections::BTreeMap;

use differential_dataflow::consolidation::consolidate_updates;
use differential_dataflow::{AsCollection, VecCollection};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::Capability;
use timely::dataflow::operators::generic::{Operator, OutputBuilderSession};

use crate::Time;

/// Waiting updates of one time are consolidated when their number reaches this, and each
/// doubling after it.
const CONSOLIDATE_AT: usize = 1024;

/// One differential update.
pub(crate) type Update<D> = (D, Time, isize);

/// Moves every update `(x, t, d)` of `collection` to time `max(t, when(&x, t, d))`.
///
/// This is how time-based rules become ordinary updates: a retraction scheduled at an expiry, a
/// value revealed when its bar completes. `when` must be monotone in `t` for a fixed record, so
/// that the updates of one record keep their order.
///
/// Moved updates wait here, in a map ordered by time, under a single capability for the earliest
/// of them, and leave once the input frontier reaches their time. Sending them on at once would
/// be just as correct, but then the next arrangement's batcher would hold them and walk all of
/// them at every step; here a waiting update costs a map entry and nothing per step. Updates
/// moved to one time are consolidated before they leave (and while they wait, when many pile
/// up), so a value set and replaced within a grain never reaches the operators downstream.
pub fn schedule<'s, D, F>(collection: VecCollection<'s, Time, D>, name: &str, mut when: F) -> VecCollection<'s, Time, D>
where
    D: Ord + Clone + 'static,
    F: FnMut(&D, Time, isize) -> Time + 'static,
{
    collection
        .inner
        .unary_frontier::<CapacityContainerBuilder<Vec<Update<D>>>, _, _, _>(Pipeline, name, move |_default, _info| {
            let mut waiting: BTreeMap<Time, Vec<Update<D>>> = BTreeMap::new();
            // A capability for the earliest waiting time, while anything waits.
            let mut held: Option<Capability<Time>> = None;
            move |(input, frontier), output| {
                input.for_each(|capability, data| {
                    let mut now = Vec::new();
                    for (record, time, diff) in data.drain(..) {
                        let at = when(&record, time, diff).max(time);
                        if at == time {
                            now.push((record, time, diff));
                            continue;
                        }
                        if held.as_ref().is_none_or(|h| at < *h.time()) {
                            held = Some(capability.delayed(&at, output.output_index()));
                        }
                        let pending = waiting.entry(at).or_default();
                        pending.push((record, at, diff));
                        if pending.len() >= CONSOLIDATE_AT && pending.len().is_power_of_two() {
                            consolidate_updates(pending);
                        }
                    }
                    if !now.is_empty() {
                        output.session(&capability).give_iterator(now.into_iter());
                    }
                });
                // Release what is due: every time the input can no longer precede.
                release_due(&mut waiting, &mut held, output, |at| frontier.frontier().iter().all(|f| f >= at));
            }
        })
        .as_collection()
}

/// Sends every waiting update whose time is `due`, earliest first and consolidated per time, and
/// keeps `held` at the earliest time still waiting (dropped once nothing waits). Shared by
/// [`schedule`] and [`pace`](crate::pace), which hold updates the same way.
pub(crate) fn release_due<D: Ord + Clone + 'static>(
    waiting: &mut BTreeMap<Time, Vec<Update<D>>>,
    held: &mut Option<Capability<Time>>,
    output: &mut OutputBuilderSession<'_, Time, CapacityContainerBuilder<Vec<Update<D>>>>,
    due: impl Fn(&Time) -> bool,
) {
    while let Some(entry) = waiting.first_entry() {
        if !due(entry.key()) {
            break;
        }
        let (at, mut updates) = entry.remove_entry();
        consolidate_updates(&mut updates);
        if let Some(capability) = held.as_mut() {
            capability.downgrade(&at);
            output.session(&*capability).give_iterator(updates.into_iter());
        }
    }
    match waiting.keys().next() {
        Some(next) => {
            if let Some(capability) = held.as_mut() {
                capability.downgrade(next);
            }
        }
        None => *held = None,
    }
}
