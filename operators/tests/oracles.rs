//! Oracle tests: random histories, incremental output compared with a from-scratch recomputation at
//! every time, with 1 and 4 workers.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use differential_dataflow::operators::iterate::VecVariable;
use nexus_model::Dec;
use nexus_operators::harness::{self, collection_at};
use nexus_operators::{
    Time, delay_until, latest_by_key, linger, pace, retract_at, sample_every, sum_by_key, top_k, with_params,
};
use proptest::prelude::*;
use timely::dataflow::InputHandle;

/// A data record (`Ok`) or a list length (`Err`), fed through one input.
type DataOrLimit = Result<(u8, u64), usize>;

/// A data record (`Ok`) or a parameter value (`Err`), fed through one input.
type DataOrParam = Result<(u8, u64), u64>;

/// Random insert/retract history of (key, value) records with values carrying their own expiry.
fn history() -> impl Strategy<Value = Vec<((u8, u64), Time, isize)>> {
    prop::collection::vec((0u8..4, 0u64..40, 0u64..30, prop::bool::weighted(0.2)), 1..40).prop_map(|raw| {
        let mut live: Vec<((u8, u64), Time)> = Vec::new();
        let mut out = Vec::new();
        for (key, expiry, time, retract) in raw {
            if retract && !live.is_empty() {
                let (record, _) = live.remove(key as usize % live.len());
                out.push((record, time, -1));
            } else {
                out.push(((key, expiry), time, 1));
                live.push(((key, expiry), time));
            }
        }
        out
    })
}

/// Histories are fed in time order; make the generated ones consistent (a retraction never precedes
/// its insertion) by sorting the generated times per record.
fn normalize(mut history: Vec<((u8, u64), Time, isize)>) -> Vec<((u8, u64), Time, isize)> {
    let mut seen: BTreeMap<(u8, u64), Time> = BTreeMap::new();
    for (record, time, diff) in history.iter_mut() {
        let last = seen.entry(*record).or_insert(0);
        if *diff < 0 || *time < *last {
            *time = (*time).max(*last);
        }
        *last = *time;
    }
    history
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn retract_at_keeps_records_until_their_expiry(history in history().prop_map(normalize)) {
        let oracle = |t: Time| -> BTreeMap<(u8, u64), isize> {
            let mut counts = collection_at(&history, t);
            counts.retain(|(_, expiry), _| t < *expiry);
            counts
        };
        for workers in [1, 4] {
            let output = harness::run(workers, history.clone(), |c| retract_at(c, |(_, expiry)| *expiry));
            for t in 0..45 {
                prop_assert_eq!(collection_at(&output, t), oracle(t), "workers {} time {}", workers, t);
            }
        }
    }

    #[test]
    fn delay_until_hides_records_until_their_time(history in history().prop_map(normalize)) {
        let oracle = |t: Time| -> BTreeMap<(u8, u64), isize> {
            let mut counts = collection_at(&history, t);
            counts.retain(|(_, reveal), _| t >= *reveal);
            counts
        };
        for workers in [1, 4] {
            let output = harness::run(workers, history.clone(), |c| delay_until(c, |(_, reveal)| *reveal));
            for t in 0..45 {
                prop_assert_eq!(collection_at(&output, t), oracle(t), "workers {} time {}", workers, t);
            }
        }
    }

    #[test]
    fn sample_every_shows_the_collection_as_of_the_last_grain_boundary(
        history in history().prop_map(normalize),
        grain in 1u64..8,
    ) {
        let oracle = |t: Time| -> BTreeMap<(u8, u64), isize> {
            let boundary = t / grain * grain;
            let before: Vec<_> = history.iter().filter(|u| u.1 < boundary).cloned().collect();
            collection_at(&before, t)
        };
        for workers in [1, 4] {
            let output = harness::run(workers, history.clone(), move |c| sample_every(c, grain));
            for t in 0..45 {
                prop_assert_eq!(collection_at(&output, t), oracle(t), "workers {} time {}", workers, t);
            }
        }
    }

    #[test]
    fn linger_delays_retractions_by_its_span(history in history().prop_map(normalize), span in 0u64..10) {
        let oracle = |t: Time| -> BTreeMap<(u8, u64), isize> {
            let mut counts = BTreeMap::new();
            for (record, time, diff) in &history {
                let effective = if *diff < 0 { time + span } else { *time };
                if effective <= t {
                    *counts.entry(*record).or_insert(0) += diff;
                }
            }
            counts.retain(|_, count| *count != 0);
            counts
        };
        for workers in [1, 4] {
            let output = harness::run(workers, history.clone(), move |c| linger(c, span));
            for t in 0..45 {
                prop_assert_eq!(collection_at(&output, t), oracle(t), "workers {} time {}", workers, t);
            }
        }
    }

    #[test]
    fn pace_feeds_a_loop_every_update_at_its_own_time(history in history().prop_map(normalize)) {
        // Records per key, counted by a reduce that also reads its own output of 1 µs before, as
        // the risk gate does; the records reach it through `pace`.
        let oracle = |t: Time| -> BTreeMap<(u8, isize), isize> {
            let mut per_key: BTreeMap<u8, isize> = BTreeMap::new();
            for ((key, _), count) in collection_at(&history, t) {
                *per_key.entry(key).or_insert(0) += count;
            }
            per_key.into_iter().filter(|(_, count)| *count != 0).map(|(key, count)| ((key, count), 1)).collect()
        };
        for workers in [1, 4] {
            let output = harness::run(workers, history.clone(), |c| {
                let (variable, state) = VecVariable::new(c.inner.scope(), 1);
                let fed_back = state.clone().map(|(key, _count): (u8, isize)| (key, None));
                let counts = pace(c, state)
                    .map(|(key, value)| (key, Some(value)))
                    .concat(fed_back)
                    .reduce(|_key, values, output| {
                        let records: isize = values.iter().filter(|(value, _)| value.is_some()).map(|(_, count)| *count).sum();
                        if records != 0 {
                            output.push((records, 1));
                        }
                    });
                variable.set(counts.clone());
                counts
            });
            for t in 0..45 {
                prop_assert_eq!(collection_at(&output, t), oracle(t), "workers {} time {}", workers, t);
            }
        }
    }

    #[test]
    fn sum_by_key_adds_decimals_exactly_and_keeps_zero_sums(history in history().prop_map(normalize)) {
        // Values -0.20 .. 0.19 in steps of 0.01: sums of zero happen often.
        let value = |v: u64| Dec::parse(&format!("{}", (v as i64 - 20) as f64 / 100.0)).unwrap();
        let oracle = |t: Time| -> BTreeMap<(u8, Dec), isize> {
            let mut sums: BTreeMap<u8, (isize, Dec)> = BTreeMap::new();
            for ((key, v), count) in collection_at(&history, t) {
                let entry = sums.entry(key).or_insert((0, Dec::ZERO));
                entry.0 += count;
                for _ in 0..count {
                    entry.1 = entry.1.checked_add(value(v)).unwrap();
                }
            }
            sums.into_iter().filter(|(_, (n, _))| *n > 0).map(|(k, (_, sum))| ((k, sum), 1)).collect()
        };
        for workers in [1, 4] {
            let output = harness::run(workers, history.clone(), move |c| {
                sum_by_key(c.map(move |(key, v)| (key, Dec::parse(&format!("{}", (v as i64 - 20) as f64 / 100.0)).unwrap())))
            });
            for t in 0..45 {
                prop_assert_eq!(collection_at(&output, t), oracle(t), "workers {} time {}", workers, t);
            }
        }
    }

    #[test]
    fn with_params_pairs_every_record_with_the_current_parameter(
        history in history().prop_map(normalize),
        changes in prop::collection::vec((1u64..30, 1u64..5), 0..4),
    ) {
        // Parameter p starts at 1 and changes at the given times; records are (key, value) data.
        let mut param_history = vec![(Err::<(u8, u64), u64>(1), 0, 1)];
        let mut current = 1u64;
        let mut sorted = changes.clone();
        sorted.sort();
        for (time, value) in sorted {
            param_history.push((Err(current), time, -1));
            param_history.push((Err(value), time, 1));
            current = value;
        }
        let mut combined: Vec<(DataOrParam, Time, isize)> =
            history.iter().map(|(r, t, d)| (Ok(*r), *t, *d)).collect();
        combined.extend(param_history.iter().cloned());
        for workers in [1, 4] {
            let output = harness::run(workers, combined.clone(), |c| {
                let data = c.clone().flat_map(|x| x.ok());
                let params = c.flat_map(|x| x.err());
                with_params(data, params, |(key, value), p| Some((*key, value * p)))
            });
            for t in 0..35 {
                let records = collection_at(&history, t);
                let params = collection_at(&param_history, t);
                let mut expected = BTreeMap::new();
                for ((key, value), count) in &records {
                    for (p, pcount) in &params {
                        let p = p.as_ref().err().copied().unwrap_or(0);
                        *expected.entry((*key, value * p)).or_insert(0) += count * pcount;
                    }
                }
                expected.retain(|_, c| *c != 0);
                prop_assert_eq!(collection_at(&output, t), expected, "workers {} time {}", workers, t);
            }
        }
    }

    #[test]
    fn top_k_ranks_the_least_records_with_a_changing_k(
        history in history().prop_map(normalize),
        changes in prop::collection::vec((1u64..30, 0usize..6), 0..4),
        buckets in 1u64..5,
    ) {
        let mut limit_history = vec![(Err::<(u8, u64), usize>(2), 0, 1)];
        let mut current = 2usize;
        let mut sorted = changes.clone();
        sorted.sort();
        for (time, value) in sorted {
            limit_history.push((Err(current), time, -1));
            limit_history.push((Err(value), time, 1));
            current = value;
        }
        let mut combined: Vec<(DataOrLimit, Time, isize)> =
            history.iter().map(|(r, t, d)| (Ok(*r), *t, *d)).collect();
        combined.extend(limit_history.iter().cloned());
        for workers in [1, 4] {
            let output = harness::run(workers, combined.clone(), move |c| {
                let data = c.clone().flat_map(|x| x.ok());
                let limit = c.flat_map(|x| x.err());
                top_k(data, limit, buckets, |(_, id): &(u8, u64)| *id)
            });
            for t in 0..35 {
                let present: Vec<(u8, u64)> = collection_at(&history, t).into_iter().filter(|(_, c)| *c > 0).map(|(r, _)| r).collect();
                let k = collection_at(&limit_history, t).into_keys().next().and_then(|x| x.err()).unwrap_or(0);
                let expected: BTreeMap<(u32, (u8, u64)), isize> =
                    present.into_iter().take(k).enumerate().map(|(i, r)| ((i as u32 + 1, r), 1)).collect();
                prop_assert_eq!(collection_at(&output, t), expected, "workers {} time {}", workers, t);
            }
        }
    }

    #[test]
    fn latest_by_key_holds_the_last_value_of_each_key(
        upserts in prop::collection::vec((0u8..5, prop::option::weighted(0.85, 0u32..100), 0u64..20), 1..60),
    ) {
        let mut upserts = upserts;
        upserts.sort_by_key(|u| u.2);
        // Oracle: apply in time order; at equal times the greatest Option wins (operator contract).
        let oracle = |t: Time| -> BTreeMap<(u8, u32), isize> {
            let mut state: BTreeMap<u8, Option<u32>> = BTreeMap::new();
            let mut by_time: BTreeMap<(Time, u8), Option<u32>> = BTreeMap::new();
            for (key, value, time) in upserts.iter().filter(|u| u.2 <= t) {
                let slot = by_time.entry((*time, *key)).or_insert(*value);
                if *value > *slot { *slot = *value; }
            }
            for ((_, key), value) in by_time { state.insert(key, value); }
            state.into_iter().filter_map(|(k, v)| v.map(|v| ((k, v), 1))).collect()
        };
        for workers in [1usize, 4] {
            let collected = Arc::new(Mutex::new(Vec::new()));
            let sink = Arc::clone(&collected);
            let upserts = upserts.clone();
            timely::execute(timely::Config::process(workers), move |worker| {
                let sink = Arc::clone(&sink);
                let mut input = InputHandle::new();
                worker.dataflow::<Time, _, _>(|scope| {
                    let stream = input.to_stream(scope);
                    latest_by_key::<u8, u32>(stream).inspect(move |u| sink.lock().unwrap().push(*u));
                });
                for (position, (key, value, time)) in upserts.iter().enumerate() {
                    if *time > *input.time() { input.advance_to(*time); }
                    if position % worker.peers() == worker.index() { input.send((*key, *value, *time)); }
                }
            }).unwrap();
            let output = harness::consolidate(collected.lock().unwrap().clone());
            for t in 0..22 {
                prop_assert_eq!(collection_at(&output, t), oracle(t), "workers {} time {}", workers, t);
            }
        }
    }
}
