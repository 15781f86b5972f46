//! Records that expire at a time of their own.

use differential_dataflow::VecCollection;

use crate::Time;
use crate::schedule::schedule;

/// Keeps each record of `collection` only while `time < expiry(record)`.
///
/// Every update `(x, t, d)` is passed on and answered by `(x, max(t, expiry(x)), -d)`: an insertion
/// schedules its own retraction, and a retraction before expiry cancels it. The result at any time t
/// is exactly `{ x in collection at t : t < expiry(x) }`, including when `expiry` depends on data that
/// changes (a new parameter arrives as a new record with its own expiry). The scheduled retractions
/// wait in [`schedule`] until they are due, then compact away like any update.
pub fn retract_at<'s, D, F>(collection: VecCollection<'s, Time, D>, expiry: F) -> VecCollection<'s, Time, D>
where
    D: Ord + Clone + 'static,
    F: Fn(&D) -> Time + 'static,
{
    let retractions = schedule(collection.clone().negate(), "RetractAt", move |record, _time, _diff| expiry(record));
    collection.concat(retractions)
}
