//! Collections seen through time: revealed late, sampled at a grain, remembered for a span.

use differential_dataflow::VecCollection;

use crate::Time;
use crate::schedule::schedule;

/// Hides each record until a time computed from the record itself: the result at time t is
/// `{ x in collection at t : t >= reveal(x) }`. A price tick stays hidden until its bar completes.
pub fn delay_until<'s, D, F>(collection: VecCollection<'s, Time, D>, reveal: F) -> VecCollection<'s, Time, D>
where
    D: Ord + Clone + 'static,
    F: Fn(&D) -> Time + 'static,
{
    schedule(collection, "DelayUntil", move |record, _time, _diff| reveal(record))
}

/// The collection as it was at the end of the last complete grain: the result at time t is the
/// input at the last instant before `floor(t / grain) * grain`. Changes within one grain reach the
/// output together at the grain's end, where those that cancel (a price set and replaced within the
/// grain) vanish.
pub fn sample_every<'s, D>(collection: VecCollection<'s, Time, D>, grain: Time) -> VecCollection<'s, Time, D>
where
    D: Ord + Clone + 'static,
{
    let grain = grain.max(1);
    schedule(collection, "SampleEvery", move |_record, time, _diff| (time / grain + 1).saturating_mul(grain))
}

/// Every record present at some instant of the last `span`: retractions are delayed by `span`, so
/// the result at time t is `{ x : x in collection at some t' with t - span < t' <= t }`.
///
/// Meant for collections in which each record is inserted once and retracted once (the successive
/// values of a latest-value collection): it turns "the current value" into "the values of the
/// last `span`", the history a sliding window needs, with memory bounded by what `span` covers.
pub fn linger<'s, D>(collection: VecCollection<'s, Time, D>, span: Time) -> VecCollection<'s, Time, D>
where
    D: Ord + Clone + 'static,
{
    schedule(collection, "Linger", move |_record, time, diff| if diff < 0 { time.saturating_add(span) } else { time })
}
