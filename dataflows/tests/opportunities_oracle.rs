//! Oracle test for opportunities: random histories of snapshots, books and parameter changes (with
//! retractions); the incremental output must equal `oracle::opportunities_at` at every time.

use std::collections::BTreeMap;

use nexus_dataflows::opportunities::{OpportunityParams, opportunities, oracle};
use nexus_model::config::Config;
use nexus_model::funding::FundingSource;
use nexus_model::market::BookTop;
use nexus_model::records::{Opportunity, Ranked, Snapshot, SnapshotStatus};
use nexus_model::{Asset, Dec, Price, Quantity, Venue};
use nexus_operators::harness::{self, collection_at};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum In {
    Snapshot(Snapshot),
    Book((Venue, Asset), BookTop),
    Params(OpportunityParams),
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum Out {
    Opportunity(Opportunity),
    Ranked(Ranked),
}

const RATES: [&str; 7] = ["-0.0001", "0", "0.00001", "0.00005", "0.0001", "0.0005", "0.0001"];
const CONFIDENCES: [(&str, SnapshotStatus); 4] = [
    ("1", SnapshotStatus::Ok),
    ("0.5", SnapshotStatus::Discrepancy),
    ("0.8", SnapshotStatus::SingleSource),
    ("0", SnapshotStatus::Stale),
];

#[derive(Clone, Debug)]
enum Event {
    Snapshot { venue: usize, asset: usize, rate: usize, confidence: usize },
    RemoveSnapshot { venue: usize, asset: usize },
    Book { venue: usize, asset: usize, spread: i64, qty: i64 },
    RemoveBook { venue: usize, asset: usize },
    Params { min_net: usize, min_conf: usize, top_k: usize, hold: usize, depth: usize, fee: usize, weights: usize },
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        6 => (0..4usize, 0..3usize, 0..RATES.len(), 0..4usize).prop_map(|(venue, asset, rate, confidence)| Event::Snapshot { venue, asset, rate, confidence }),
        1 => (0..4usize, 0..3usize).prop_map(|(venue, asset)| Event::RemoveSnapshot { venue, asset }),
        3 => (0..4usize, 0..3usize, 1..50i64, 1..2000i64).prop_map(|(venue, asset, spread, qty)| Event::Book { venue, asset, spread, qty }),
        1 => (0..4usize, 0..3usize).prop_map(|(venue, asset)| Event::RemoveBook { venue, asset }),
        1 => (0..3usize, 0..2usize, 0..3usize, 0..2usize, 0..2usize, 0..2usize, 0..2usize)
            .prop_map(|(min_net, min_conf, top_k, hold, depth, fee, weights)| Event::Params { min_net, min_conf, top_k, hold, depth, fee, weights }),
    ]
}

fn dec(text: &str) -> Dec {
    Dec::parse(text).unwrap()
}

fn asset(index: usize) -> Asset {
    Asset::from_venue_symbol(["BTC", "ETH", "SOL"][index]).unwrap()
}

fn params(
    min_net: usize,
    min_conf: usize,
    top_k: usize,
    hold: usize,
    depth: usize,
    fee: usize,
    weights: usize,
) -> OpportunityParams {
    let mut p = OpportunityParams::from_config(&Config::default());
    p.min_net_apr = dec(["-1", "0", "0.05"][min_net]);
    p.min_confidence = dec(["0.5", "0.9"][min_conf]);
    p.top_k = [1, 3, 20][top_k];
    p.hold_hours = dec(["72", "8"][hold]);
    p.target_depth = dec(["100000", "100"][depth]);
    if fee == 1 {
        p.taker_fees = [dec("0.0001"), dec("0.0002"), dec("0"), dec("0.0003")];
    }
    if weights == 1 {
        (p.weight_spread, p.weight_liquidity, p.weight_confidence) = (dec("0.5"), dec("0.3"), dec("0.2"));
    }
    p
}

fn snapshot(venue: usize, asset_index: usize, rate: usize, confidence: usize) -> Snapshot {
    let (confidence, status) = CONFIDENCES[confidence];
    let rph = dec(RATES[rate]);
    Snapshot {
        venue: Venue::ALL[venue],
        symbol: asset(asset_index),
        rate: rph,
        interval_h: Dec::ONE,
        rate_per_hour: rph,
        apr: rph,
        next_funding_ms: Some(1000 * (venue as u64 + 1)),
        mark_price: None,
        source: FundingSource::Exchange,
        status,
        confidence: dec(confidence),
        exchange_rate: Some(rph),
        scanner_rate: None,
    }
}

fn history(events: &[(u64, Event)]) -> Vec<(In, u64, isize)> {
    let mut updates = Vec::new();
    let mut current_params = OpportunityParams::from_config(&Config::default());
    updates.push((In::Params(current_params.clone()), 0, 1));
    let mut snapshots: BTreeMap<(usize, usize), Snapshot> = BTreeMap::new();
    let mut books: BTreeMap<(usize, usize), BookTop> = BTreeMap::new();
    let mut time = 0;
    for (gap, event) in events {
        time += gap;
        match event {
            Event::Snapshot { venue, asset, rate, confidence } => {
                let new = snapshot(*venue, *asset, *rate, *confidence);
                if let Some(old) = snapshots.insert((*venue, *asset), new.clone()) {
                    updates.push((In::Snapshot(old), time, -1));
                }
                updates.push((In::Snapshot(new), time, 1));
            }
            Event::RemoveSnapshot { venue, asset } => {
                if let Some(old) = snapshots.remove(&(*venue, *asset)) {
                    updates.push((In::Snapshot(old), time, -1));
                }
            }
            Event::Book { venue, asset: a, spread, qty } => {
                let book = BookTop {
                    venue: Venue::ALL[*venue],
                    asset: asset(*a),
                    bid: Price::new(Dec::from(10_000i64)).unwrap(),
                    bid_qty: Quantity::new(Dec::from(*qty)).unwrap(),
                    ask: Price::new(Dec::from(10_000 + spread)).unwrap(),
                    ask_qty: Quantity::new(Dec::from(*qty + 1)).unwrap(),
                    ts_ms: None,
                };
                let key = (Venue::ALL[*venue], asset(*a));
                if let Some(old) = books.insert((*venue, *a), book.clone()) {
                    updates.push((In::Book(key.clone(), old), time, -1));
                }
                updates.push((In::Book(key, book), time, 1));
            }
            Event::RemoveBook { venue, asset: a } => {
                if let Some(old) = books.remove(&(*venue, *a)) {
                    updates.push((In::Book((Venue::ALL[*venue], asset(*a)), old), time, -1));
                }
            }
            Event::Params { min_net, min_conf, top_k, hold, depth, fee, weights } => {
                let new = params(*min_net, *min_conf, *top_k, *hold, *depth, *fee, *weights);
                updates.push((In::Params(current_params.clone()), time, -1));
                updates.push((In::Params(new.clone()), time, 1));
                current_params = new;
            }
        }
    }
    updates
}

fn expected_at(t: u64, updates: &[(In, u64, isize)]) -> BTreeMap<Out, isize> {
    let state = collection_at(updates, t);
    let (mut snapshots, mut books, mut params) = (Vec::new(), Vec::new(), None);
    for record in state.keys() {
        match record {
            In::Snapshot(s) => snapshots.push(s.clone()),
            In::Book(key, book) => books.push((key.clone(), book.clone())),
            In::Params(p) => params = Some(p.clone()),
        }
    }
    let Some(params) = params else { return BTreeMap::new() };
    let (opportunities, ranked) = oracle::opportunities_at(&snapshots, &books, &params);
    opportunities.into_iter().map(Out::Opportunity).chain(ranked.into_iter().map(Out::Ranked)).map(|o| (o, 1)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn opportunities_match_the_definition_at_every_time(events in prop::collection::vec((0u64..3, event()), 1..45)) {
        let updates = history(&events);
        let horizon = updates.iter().map(|u| u.1).max().unwrap_or(0) + 1;
        for workers in [1, 4] {
            let output = harness::run(workers, updates.clone(), |input| {
                let snapshots = input.clone().flat_map(|x| match x { In::Snapshot(s) => Some(s), _ => None });
                let books = input.clone().flat_map(|x| match x { In::Book(k, b) => Some((k, b)), _ => None });
                let params = input.flat_map(|x| match x { In::Params(p) => Some(p), _ => None });
                let result = opportunities(snapshots, books, params);
                result.opportunities.map(Out::Opportunity).concat(result.ranked.map(Out::Ranked))
            });
            for t in 0..=horizon {
                prop_assert_eq!(collection_at(&output, t), expected_at(t, &updates), "workers {} time {}", workers, t);
            }
        }
    }
}
