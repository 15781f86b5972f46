//! Oracle test for surveillance: random order flow and trades over a few accounts, venues and
//! assets (quick cancels, amends, partial fills, trades naming their accounts or not), threshold
//! and account-group changes at run time; the incremental alerts must equal the from-scratch
//! definitions of `oracle` at every input time and long after the last one (when every window
//! has been retracted), with 1 and 4 workers.

use std::collections::{BTreeMap, BTreeSet};

use compact_str::CompactString;
use nexus_dataflows::surveillance::oracle::History;
use nexus_dataflows::surveillance::{
    AccountGroups, OrderFact, SurveillanceHistory, SurveillanceParams, TradeFact, surveillance,
};
use nexus_model::market::{OrderEvent, OrderEventKind, Side, Trade};
use nexus_model::records::{Alert, Pattern};
use nexus_model::{Asset, Dec, Price, Quantity, Venue};
use nexus_operators::harness::{self, collection_at};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum In {
    Order(OrderFact),
    Trade(TradeFact),
    Params(SurveillanceParams),
    Groups(AccountGroups),
}

const PRICES: [&str; 5] = ["100", "101", "102", "99", "98"];
const SIZES: [&str; 5] = ["1", "2", "5", "0.5", "20"];
const ACCOUNTS: [&str; 3] = ["a0", "a1", "a2"];

#[derive(Clone, Debug)]
enum Event {
    New { venue: usize, account: usize, asset: usize, buy: bool, price: usize, size: usize },
    Amend { which: usize, price: usize, size: usize },
    Cancel { which: usize },
    Fill { which: usize, size: usize },
    Trade { asset: usize, price: usize, size: usize, buy: bool, buyer: Option<usize>, seller: Option<usize> },
    // Layers: three same-side orders of one account at three prices, two cancelled at once, and
    // a fill on the other side: a layering episode, so that episodes often lie close together.
    Layers { account: usize, buy: bool },
    Params(usize),
    Groups(usize),
}

fn event() -> impl Strategy<Value = Event> {
    let account = || prop::option::weighted(0.8, 0..3usize);
    prop_oneof![
        6 => (0..1usize, 0..2usize, 0..1usize, any::<bool>(), 0..5usize, 0..5usize)
            .prop_map(|(venue, account, asset, buy, price, size)| Event::New { venue, account, asset, buy, price, size }),
        1 => (0..16usize, 0..5usize, 0..5usize).prop_map(|(which, price, size)| Event::Amend { which, price, size }),
        4 => (0..16usize).prop_map(|which| Event::Cancel { which }),
        3 => (0..16usize, 0..5usize).prop_map(|(which, size)| Event::Fill { which, size }),
        5 => (0..2usize, 0..5usize, 0..5usize, any::<bool>(), account(), account())
            .prop_map(|(asset, price, size, buy, buyer, seller)| Event::Trade { asset, price, size, buy, buyer, seller }),
        2 => (0..2usize, any::<bool>()).prop_map(|(account, buy)| Event::Layers { account, buy }),
        1 => (0..3usize).prop_map(Event::Params),
        1 => (0..3usize).prop_map(Event::Groups),
    ]
}

/// Gaps in µs: mostly within the windows (a few ms), sometimes none, sometimes past them.
fn gap() -> impl Strategy<Value = u64> {
    prop_oneof![4 => 1u64..1_500, 1 => Just(0u64), 1 => 1_500u64..12_000]
}

fn dec(text: &str) -> Dec {
    Dec::parse(text).unwrap()
}

fn asset(index: usize) -> Asset {
    Asset::from_venue_symbol(["BTC", "ETH"][index]).unwrap()
}

/// Windows of a few ms, so that random flow of a few dozen events forms episodes; the variants
/// change thresholds only (window lengths size the retained history, see the module docs).
fn params(variant: usize) -> SurveillanceParams {
    SurveillanceParams {
        spoof_min_notional: dec(["150", "400", "150"][variant]),
        spoof_size_multiple: dec(["2", "3", "1.5"][variant]),
        spoof_baseline_us: 20_000,
        spoof_max_lifetime_us: 3_000,
        spoof_max_fill_ratio: dec(["0.1", "0.5", "0"][variant]),
        spoof_window_us: 2_000,
        layer_min_orders: [3, 2, 3][variant],
        layer_min_levels: [2, 2, 3][variant],
        layer_window_us: 3_000,
        layer_min_cancel_ratio: dec(["0.6", "0.5", "1"][variant]),
        layer_cancel_us: 4_000,
        ignition_window_us: 3_000,
        ignition_min_share: dec(["0.5", "0.4", "0.7"][variant]),
        ignition_min_move_bps: dec(["50", "90", "10"][variant]),
        ignition_reversal_us: 5_000,
        critical_count: [2, 3, 1][variant],
        critical_window_us: 30_000,
    }
}

fn groups(variant: usize) -> AccountGroups {
    let mut groups_of = BTreeMap::new();
    let members: &[(&str, &[&str])] = match variant {
        0 => &[("a0", &["g1"]), ("a1", &["g1"])],
        1 => &[("a1", &["g1", "g2"]), ("a2", &["g2"])],
        _ => &[],
    };
    for (account, names) in members {
        groups_of.insert(CompactString::from(*account), names.iter().map(|n| CompactString::from(*n)).collect());
    }
    AccountGroups { groups_of }
}

/// One of the last four orders placed: cancels and fills mostly follow placements closely.
fn recent(placed: &[OrderEvent], which: usize) -> &OrderEvent {
    &placed[placed.len() - 1 - which % placed.len().min(4)]
}

struct Built {
    updates: Vec<(In, u64, isize)>,
    history: History,
}

fn build(events: &[(u64, Event)]) -> Built {
    let mut updates = Vec::new();
    let (mut p, mut g) = (0usize, 0usize);
    updates.push((In::Params(params(p)), 0, 1));
    updates.push((In::Groups(groups(g)), 0, 1));
    let mut history =
        History { orders: Vec::new(), trades: Vec::new(), params: vec![(0, params(p))], groups: vec![(0, groups(g))] };
    let mut placed: Vec<OrderEvent> = Vec::new();
    let (mut time, mut seq) = (1u64, 0u64);
    for (position, (gap, event)) in events.iter().enumerate() {
        time += gap;
        seq += 1;
        // Every message has a sequence of its own (one order event per message).
        let mut order = |e: OrderEvent| {
            seq += 1;
            let fact = OrderFact { time, seq, event: e };
            updates.push((In::Order(fact.clone()), time, 1));
            history.orders.push(fact);
        };
        match event {
            Event::New { venue, account, asset: a, buy, price, size } => {
                let e = OrderEvent {
                    venue: Venue::ALL[*venue],
                    order_id: CompactString::from(format!("o{position}")),
                    account: CompactString::from(ACCOUNTS[*account]),
                    asset: asset(*a),
                    side: if *buy { Side::Buy } else { Side::Sell },
                    kind: OrderEventKind::New,
                    price: Price::new(dec(PRICES[*price])).unwrap(),
                    qty: Quantity::new(dec(SIZES[*size])).unwrap(),
                    fill_qty: None,
                    fill_price: None,
                    ts_ms: 0,
                };
                placed.push(e.clone());
                order(e);
            }
            Event::Amend { which, price, size } if !placed.is_empty() => {
                let base = recent(&placed, *which);
                order(OrderEvent {
                    kind: OrderEventKind::Amend,
                    price: Price::new(dec(PRICES[*price])).unwrap(),
                    qty: Quantity::new(dec(SIZES[*size])).unwrap(),
                    ..base.clone()
                });
            }
            Event::Cancel { which } if !placed.is_empty() => {
                let base = recent(&placed, *which);
                order(OrderEvent { kind: OrderEventKind::Cancel, ..base.clone() });
            }
            Event::Fill { which, size } if !placed.is_empty() => {
                let base = recent(&placed, *which);
                let fill = Quantity::new(dec(SIZES[*size])).unwrap();
                order(OrderEvent { kind: OrderEventKind::Fill, fill_qty: Some(fill), ..base.clone() });
            }
            Event::Trade { asset: a, price, size, buy, buyer, seller } => {
                let trade = Trade {
                    venue: Venue::Binance,
                    trade_id: CompactString::from(format!("t{position}")),
                    asset: asset(*a),
                    price: Price::new(dec(PRICES[*price])).unwrap(),
                    qty: Quantity::new(dec(SIZES[*size])).unwrap(),
                    aggressor: if *buy { Side::Buy } else { Side::Sell },
                    buyer: buyer.map(|b| CompactString::from(ACCOUNTS[b])),
                    seller: seller.map(|s| CompactString::from(ACCOUNTS[s])),
                    ts_ms: 0,
                };
                let fact = TradeFact { time, seq, trade };
                updates.push((In::Trade(fact.clone()), time, 1));
                history.trades.push(fact);
            }
            Event::Layers { account, buy } => {
                for (k, price) in [0usize, 1, 2].iter().enumerate() {
                    let e = OrderEvent {
                        venue: Venue::Binance,
                        order_id: CompactString::from(format!("o{position}-{k}")),
                        account: CompactString::from(ACCOUNTS[*account]),
                        asset: asset(0),
                        side: if *buy { Side::Buy } else { Side::Sell },
                        kind: OrderEventKind::New,
                        price: Price::new(dec(PRICES[*price])).unwrap(),
                        qty: Quantity::new(dec(SIZES[0])).unwrap(),
                        fill_qty: None,
                        fill_price: None,
                        ts_ms: 0,
                    };
                    placed.push(e.clone());
                    order(e);
                }
                for back in 1..=2 {
                    let layer = placed[placed.len() - back].clone();
                    order(OrderEvent { kind: OrderEventKind::Cancel, ..layer });
                }
                // A fill on the other side: on its own, each such event is a layering episode.
                let other = OrderEvent {
                    order_id: CompactString::from(format!("o{position}-fill")),
                    side: if *buy { Side::Sell } else { Side::Buy },
                    ..placed[placed.len() - 1].clone()
                };
                order(other.clone());
                order(OrderEvent { kind: OrderEventKind::Fill, fill_qty: Some(other.qty), ..other });
            }
            Event::Params(next) if *next != p => {
                updates.push((In::Params(params(p)), time, -1));
                updates.push((In::Params(params(*next)), time, 1));
                history.params.push((time, params(*next)));
                p = *next;
            }
            Event::Groups(next) if *next != g => {
                updates.push((In::Groups(groups(g)), time, -1));
                updates.push((In::Groups(groups(*next)), time, 1));
                history.groups.push((time, groups(*next)));
                g = *next;
            }
            _ => {}
        }
    }
    Built { updates, history }
}

fn run(workers: usize, updates: Vec<(In, u64, isize)>) -> Vec<(Alert, u64, isize)> {
    harness::run(workers, updates, |input| {
        let orders = input.clone().flat_map(|x| match x {
            In::Order(o) => Some(o),
            _ => None,
        });
        let trades = input.clone().flat_map(|x| match x {
            In::Trade(t) => Some(t),
            _ => None,
        });
        let parameters = input.clone().flat_map(|x| match x {
            In::Params(p) => Some(p),
            _ => None,
        });
        let groups = input.flat_map(|x| match x {
            In::Groups(g) => Some(g),
            _ => None,
        });
        // Inputs leave on whole ms: later than their windows need, as in production.
        let history = SurveillanceHistory { grain_us: 1_000, ..SurveillanceHistory::for_params(&params(0)) };
        surveillance(orders, trades, parameters, groups, history)
    })
}

/// Long after the last input: every retention has expired by then.
const AFTER: u64 = 1_000_000;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn alerts_match_the_definitions_at_every_time(events in prop::collection::vec((gap(), event()), 1..60)) {
        let built = build(&events);
        let end = built.updates.iter().map(|u| u.1).max().unwrap_or(0) + AFTER;
        let expected = built.history.alerts_at_times(end);
        for workers in [1, 4] {
            let output = run(workers, built.updates.clone());
            prop_assert!(output.iter().all(|(_, time, _)| *time < end), "an update after the last retention");
            for (time, alerts) in &expected {
                let actual: BTreeSet<Alert> = collection_at(&output, *time)
                    .into_iter()
                    .map(|(alert, count)| {
                        assert_eq!(count, 1, "alert {alert:?} counted {count} times");
                        alert
                    })
                    .collect();
                prop_assert_eq!(&actual, alerts, "{} workers, time {}", workers, time);
            }
        }
    }
}

/// The random histories above are not vacuous: over 150 of them the definitions find every pattern.
#[test]
fn random_histories_exercise_every_pattern() {
    let mut runner = TestRunner::deterministic();
    let strategy = prop::collection::vec((gap(), event()), 1..60);
    let mut seen: BTreeMap<Pattern, usize> = BTreeMap::new();
    for _ in 0..150 {
        let events = strategy.new_tree(&mut runner).unwrap().current();
        let built = build(&events);
        let end = built.updates.iter().map(|u| u.1).max().unwrap_or(0) + AFTER;
        for alert in built.history.alerts_at_times(end).remove(&end).unwrap_or_default() {
            *seen.entry(alert.pattern).or_default() += 1;
        }
    }
    for pattern in Pattern::ALL {
        assert!(seen.get(&pattern).copied().unwrap_or(0) > 0, "no {pattern:?} in 150 histories: {seen:?}");
    }
}
