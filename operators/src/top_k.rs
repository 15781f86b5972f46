//! The `k` least records of a collection, ranked, in two stages so that most changes stay local.

use differential_dataflow::ExchangeData;
use differential_dataflow::VecCollection;
use serde::{Deserialize, Serialize};

use crate::Time;

/// What a top-k reduce is told. `Limit` sorts before every item, so the reduce finds it first.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum Entry<D> {
    /// The list length in force.
    Limit(usize),
    /// A candidate.
    Item(D),
}

/// The `k` least distinct records of `collection` by `Ord`, with ranks 1..=k, where `k` is the one
/// record of `limit` (nothing is output while `limit` is empty).
///
/// Stage one keeps the best `k` within each of `buckets` buckets (`TopKBucket`); stage two ranks
/// the bucket winners (`TopK`). A change to a record that is not among its bucket's best `k` stops
/// at stage one, so the single, global stage sees only the changes that can matter; each reduce
/// revisits `n / buckets` or `buckets * k` records instead of all `n`.
///
/// `identity` picks a record's bucket (modulo `buckets`). It should hash what stays the same when
/// a record is replaced (an id, not a score), so that a replacement retracts and inserts within
/// one bucket: hashing the whole record would revisit two buckets per change.
pub fn top_k<'s, D>(
    collection: VecCollection<'s, Time, D>,
    limit: VecCollection<'s, Time, usize>,
    buckets: u64,
    identity: impl Fn(&D) -> u64 + 'static,
) -> VecCollection<'s, Time, (u32, D)>
where
    D: ExchangeData,
{
    let buckets = buckets.max(1);
    // Stage one: the best k per bucket.
    let items = collection.map(move |d| (identity(&d) % buckets, Entry::Item(d)));
    let limits = limit.clone().flat_map(move |k| (0..buckets).map(move |bucket| (bucket, Entry::Limit(k))));
    let winners = items
        .concat(limits)
        .reduce_named("TopKBucket", |_bucket, input, output| {
            for item in best(input) {
                output.push((item.clone(), 1isize));
            }
        })
        .map(|(_bucket, item)| ((), Entry::Item(item)));

    // Stage two: rank the winners.
    winners
        .concat(limit.map(|k| ((), Entry::Limit(k))))
        .reduce_named("TopK", |_unit, input, output| {
            for (rank, item) in best(input).enumerate() {
                output.push(((rank as u32 + 1, item.clone()), 1isize));
            }
        })
        .map(|(_unit, ranked)| ranked)
}

/// The first `k` present items of a reduce input, `k` being its `Limit` (none without one).
fn best<'a, D>(input: &'a [(&'a Entry<D>, isize)]) -> impl Iterator<Item = &'a D> + 'a {
    let limit = input.iter().find_map(|(entry, count)| match entry {
        Entry::Limit(k) if *count > 0 => Some(*k),
        _ => None,
    });
    input
        .iter()
        .filter_map(|(entry, count)| match entry {
            Entry::Item(item) if *count > 0 => Some(item),
            _ => None,
        })
        .take(limit.unwrap_or(0))
}
