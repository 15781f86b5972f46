//! Records that stop changing at a time of their own.

use differential_dataflow::{AsCollection, VecCollection};
use timely::dataflow::operators::vec::Filter;

use crate::Time;

/// The collection in which each record keeps the state it had just before `settle(record)`: the
/// result at time t holds `x` (with its count) exactly when the input held it at `min(t, settle(x) - 1)`.
///
/// It drops every update `(x, t, d)` with `t >= settle(x)`, so it is linear and costs nothing to
/// hold. This is how an episode's alert outlives the windowed inputs it was computed from: the
/// windows retract their inputs only after the episode has settled, and those retractions (and any
/// later re-evaluation) no longer reach the alert.
pub fn freeze_at<'s, D, F>(collection: VecCollection<'s, Time, D>, settle: F) -> VecCollection<'s, Time, D>
where
    D: Clone + 'static,
    F: Fn(&D) -> Time + 'static,
{
    collection.inner.filter(move |(record, time, _diff)| *time < settle(record)).as_collection()
}
