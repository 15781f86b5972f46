//! Latest value per key from a stream of upserts.

use differential_dataflow::VecCollection;
use differential_dataflow::operators::arrange::upsert::arrange_from_upsert;
use differential_dataflow::trace::implementations::{ValBuilder, ValSpine};
use differential_dataflow::{ExchangeData, Hashable};
use timely::dataflow::Stream;

use crate::Time;

/// A keyed upsert: `(key, Some(value), time)` replaces the key's value, `(key, None, time)` removes it.
pub type Upsert<K, V> = (K, Option<V>, Time);

/// The collection of `(key, latest value)` pairs described by a stream of upserts.
///
/// Upserts are applied in time order; among upserts of one key at one time the greatest value wins,
/// so a value type whose `Ord` starts with its arrival sequence makes "latest" deterministic whatever
/// the number of workers. The state is one arranged value per key (named `LatestByKey`), compacted
/// as time advances: memory follows the number of keys, not the number of upserts.
pub fn latest_by_key<'s, K, V>(upserts: Stream<'s, Time, Vec<Upsert<K, V>>>) -> VecCollection<'s, Time, (K, V)>
where
    K: ExchangeData + Hashable + std::hash::Hash,
    V: ExchangeData,
{
    arrange_from_upsert::<ValBuilder<K, V, Time, isize>, ValSpine<K, V, Time, isize>, K, V>(upserts, "LatestByKey")
        .as_collection(|key, value| (key.clone(), value.clone()))
}
