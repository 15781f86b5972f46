//! Oracle test for reconcile: random histories of observations (upserts and removals), parameter
//! changes and interval overrides; the incremental output must equal `oracle::reconcile_at` at every
//! logical time, including times after the last input when observations go stale.

use std::collections::BTreeMap;

use nexus_dataflows::reconcile::{ReconcileParams, oracle, reconcile};
use nexus_model::funding::{FundingObservation, FundingSource, ObservationKey};
use nexus_model::records::{Discrepancy, Snapshot};
use nexus_model::{Asset, Dec, Price, Venue};
use nexus_operators::harness::{self, collection_at};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum In {
    Latest(ObservationKey, FundingObservation),
    Params(ReconcileParams),
    Override((Venue, Asset), Dec),
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum Out {
    Snapshot(Snapshot),
    Discrepancy(Discrepancy),
}

const RATES: [&str; 6] = ["-0.0002", "0", "0.0001", "0.000105", "0.00012", "0.001"];
const HORIZON: u64 = 110;

#[derive(Clone, Debug)]
enum Event {
    Upsert { key: u8, rate: usize, interval: Option<u8>, next: Option<u8>, mark: Option<u8> },
    Remove { key: u8 },
    Params { stale: u64, abs: usize, rel: usize },
    Override { hours: Option<u8> },
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        6 => (0u8..8, 0..RATES.len(), prop::option::of(1u8..9), prop::option::of(0u8..5), prop::option::of(1u8..5))
            .prop_map(|(key, rate, interval, next, mark)| Event::Upsert { key, rate, interval, next, mark }),
        1 => (0u8..8).prop_map(|key| Event::Remove { key }),
        1 => (prop::sample::select(vec![3u64, 10, 20, 45]), 0usize..3, 0usize..3)
            .prop_map(|(stale, abs, rel)| Event::Params { stale, abs, rel }),
        1 => prop::option::of(1u8..5).prop_map(|hours| Event::Override { hours }),
    ]
}

fn key_of(index: u8) -> ObservationKey {
    let source = if index & 1 == 0 { FundingSource::Exchange } else { FundingSource::Scanner };
    let venue = if index & 2 == 0 { Venue::Binance } else { Venue::Okx };
    let asset = Asset::from_venue_symbol(if index & 4 == 0 { "BTC" } else { "ETH" }).unwrap();
    (source, venue, asset)
}

fn params(stale: u64, abs: usize, rel: usize) -> ReconcileParams {
    ReconcileParams {
        stale_after_us: stale,
        abs_tolerance: Dec::parse(["0", "0.00005", "0.0001"][abs]).unwrap(),
        rel_tolerance: Dec::parse(["0", "0.1", "0.5"][rel]).unwrap(),
    }
}

/// Turns events at increasing times into input updates with upsert semantics.
fn history(events: &[(u64, Event)]) -> Vec<(In, u64, isize)> {
    let mut updates = Vec::new();
    let mut latest: BTreeMap<u8, FundingObservation> = BTreeMap::new();
    let mut current_params = params(20, 1, 1);
    updates.push((In::Params(current_params.clone()), 0, 1));
    let override_key = (Venue::Binance, Asset::from_venue_symbol("BTC").unwrap());
    let mut current_override: Option<Dec> = None;
    let mut time = 0;
    for (seq, (gap, event)) in events.iter().enumerate() {
        time += gap;
        match event {
            Event::Upsert { key, rate, interval, next, mark } => {
                let obs = FundingObservation {
                    recv_us: time,
                    seq: seq as u64,
                    rate: Dec::parse(RATES[*rate]).unwrap(),
                    interval_h: interval.map(|h| Dec::from(h as i64)),
                    next_funding_ms: next.map(|n| n as u64 * 1000),
                    mark_price: mark.map(|m| Price::new(Dec::from(m as i64 * 100)).unwrap()),
                };
                if let Some(old) = latest.insert(*key, obs.clone()) {
                    updates.push((In::Latest(key_of(*key), old), time, -1));
                }
                updates.push((In::Latest(key_of(*key), obs), time, 1));
            }
            Event::Remove { key } => {
                if let Some(old) = latest.remove(key) {
                    updates.push((In::Latest(key_of(*key), old), time, -1));
                }
            }
            Event::Params { stale, abs, rel } => {
                let new = params(*stale, *abs, *rel);
                updates.push((In::Params(current_params.clone()), time, -1));
                updates.push((In::Params(new.clone()), time, 1));
                current_params = new;
            }
            Event::Override { hours } => {
                if let Some(old) = current_override.take() {
                    updates.push((In::Override(override_key.clone(), old), time, -1));
                }
                if let Some(hours) = hours {
                    let new = Dec::from(*hours as i64);
                    updates.push((In::Override(override_key.clone(), new), time, 1));
                    current_override = Some(new);
                }
            }
        }
    }
    updates
}

fn expected_at(t: u64, updates: &[(In, u64, isize)]) -> BTreeMap<Out, isize> {
    let state = collection_at(updates, t);
    let mut latest = Vec::new();
    let mut params = None;
    let mut overrides = Vec::new();
    for record in state.keys() {
        match record {
            In::Latest(key, obs) => latest.push((key.clone(), obs.clone())),
            In::Params(p) => params = Some(p.clone()),
            In::Override(key, hours) => overrides.push((key.clone(), *hours)),
        }
    }
    let Some(params) = params else { return BTreeMap::new() };
    let (snapshots, discrepancies) = oracle::reconcile_at(t, &latest, &params, &overrides);
    snapshots
        .into_iter()
        .map(Out::Snapshot)
        .chain(discrepancies.into_iter().map(Out::Discrepancy))
        .map(|out| (out, 1))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn reconcile_matches_the_definition_at_every_time(events in prop::collection::vec((0u64..4, event()), 1..40)) {
        let updates = history(&events);
        for workers in [1, 4] {
            let output = harness::run(workers, updates.clone(), |input| {
                let latest = input.clone().flat_map(|x| match x { In::Latest(k, o) => Some((k, o)), _ => None });
                let params = input.clone().flat_map(|x| match x { In::Params(p) => Some(p), _ => None });
                let overrides = input.flat_map(|x| match x { In::Override(k, h) => Some((k, h)), _ => None });
                let reconciled = reconcile(latest, params, overrides);
                reconciled.snapshots.map(Out::Snapshot).concat(reconciled.discrepancies.map(Out::Discrepancy))
            });
            for t in 0..HORIZON {
                prop_assert_eq!(collection_at(&output, t), expected_at(t, &updates), "workers {} time {}", workers, t);
            }
        }
    }
}
