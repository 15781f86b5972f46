//! Oracle test of the risk gate: random histories of opportunities (appearing, changing,
//! expiring), books, prices, VaR, critical alerts, halts and lifts, and parameter changes, with a
//! paper venue in the loop that fills some legs in time, some late and some never. At every time,
//! the incremental gate (1 and 4 workers) must give the decisions and the orders of the
//! from-scratch simulation in `risk_gate::oracle`.

mod gate_harness;

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{DefaultHasher, Hash, Hasher};

use gate_harness::*;
use nexus_dataflows::risk_gate::oracle::{self, GateInput};
use nexus_model::Venue;
use nexus_model::control::HaltScope;
use nexus_model::records::{ArbId, OrderAction, OrderIntent};
use proptest::prelude::*;

const T0: u64 = 1_763_596_800_000_000;
const ASSETS: [(&str, [&str; 2]); 2] = [("BTC", ["30000", "31000"]), ("ETH", ["2000", "2100"])];
const UOS: [&str; 7] = ["30", "40", "45", "59.9999", "60", "75", "90"];
const NET_APR: [&str; 4] = ["-0.01", "0", "0.12", "0.3"];
const BOOK_QTY: [&str; 3] = ["1", "5", "40"];
const HALTS: [(HaltScope, &str); 4] =
    [(HaltScope::Global, ""), (HaltScope::Venue, "binance"), (HaltScope::Symbol, "ETH"), (HaltScope::Account, "main")];

fn arbs() -> Vec<ArbId> {
    vec![
        arb("BTC", Venue::Binance, Venue::Bybit),
        arb("BTC", Venue::Okx, Venue::Hyperliquid),
        arb("ETH", Venue::Binance, Venue::Okx),
        arb("ETH", Venue::Bybit, Venue::Hyperliquid),
        arb("BTC", Venue::Bybit, Venue::Okx),
    ]
}

#[derive(Clone, Debug)]
enum Event {
    Opp { arb: usize, uos: usize, apr: usize },
    NoOpp { arb: usize },
    Book { venue: usize, asset: usize, qty: usize },
    Price { asset: usize, price: usize },
    Var { over: bool },
    Alert { on_main: bool },
    Halt { which: usize, halted: bool },
    Params { max_open: usize, venue_exposure: usize, asset_exposure: usize },
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        6 => (0..5usize, 0..UOS.len(), 0..NET_APR.len()).prop_map(|(arb, uos, apr)| Event::Opp { arb, uos, apr }),
        2 => (0..5usize).prop_map(|arb| Event::NoOpp { arb }),
        2 => (0..4usize, 0..2usize, 0..BOOK_QTY.len()).prop_map(|(venue, asset, qty)| Event::Book { venue, asset, qty }),
        1 => (0..2usize, 0..2usize).prop_map(|(asset, price)| Event::Price { asset, price }),
        1 => any::<bool>().prop_map(|over| Event::Var { over }),
        1 => any::<bool>().prop_map(|on_main| Event::Alert { on_main }),
        2 => (0..HALTS.len(), any::<bool>()).prop_map(|(which, halted)| Event::Halt { which, halted }),
        1 => (1..4usize, 0..3usize, 0..2usize).prop_map(|(max_open, venue_exposure, asset_exposure)| {
            Event::Params { max_open, venue_exposure, asset_exposure }
        }),
    ]
}

fn gap() -> impl Strategy<Value = u64> {
    prop_oneof![Just(0u64), Just(400_000), Just(1_500_000), Just(3_000_000), Just(7_000_000)]
}

/// The history of `events` (with their gaps), upserts retracting the value they replace.
fn history(events: &[(u64, Event)]) -> Vec<(GateInput, Time, isize)> {
    let mut updates = Vec::new();
    let mut current: BTreeMap<String, GateInput> = BTreeMap::new();
    let mut upsert = |updates: &mut Vec<(GateInput, Time, isize)>, t, key: String, value: Option<GateInput>| {
        if let Some(old) = current.remove(&key) {
            updates.push((old, t, -1));
        }
        if let Some(value) = value {
            updates.push((value.clone(), t, 1));
            current.insert(key, value);
        }
    };
    let mut params = default_params();
    params.max_venue_exposure = d("25000");
    params.max_asset_exposure = d("30000");
    upsert(&mut updates, T0, "params".into(), Some(GateInput::Params(params.clone())));
    upsert(&mut updates, T0, "price BTC".into(), Some(GateInput::Price(asset("BTC"), d("30000"))));
    let arbs = arbs();
    let mut t = T0;
    let mut alerts = 0;
    for (gap, event) in events {
        t += gap;
        match event {
            Event::Opp { arb, uos, apr } => {
                let o = opportunity(&arbs[*arb], UOS[*uos], NET_APR[*apr]);
                upsert(&mut updates, t, format!("opp {arb}"), Some(GateInput::Opportunity(o)));
            }
            Event::NoOpp { arb } => upsert(&mut updates, t, format!("opp {arb}"), None),
            Event::Book { venue, asset, qty } => {
                let (name, prices) = ASSETS[*asset];
                let b = book(Venue::ALL[*venue], name, prices[0], BOOK_QTY[*qty]);
                upsert(&mut updates, t, format!("book {venue} {asset}"), Some(GateInput::Book(b)));
            }
            Event::Price { asset: index, price } => {
                let (name, prices) = ASSETS[*index];
                let value = GateInput::Price(asset(name), d(prices[*price]));
                upsert(&mut updates, t, format!("price {name}"), Some(value));
            }
            Event::Var { over } => {
                let v = var("main", if *over { "6000" } else { "100" });
                upsert(&mut updates, t, "var".into(), Some(GateInput::Var(v)));
            }
            Event::Alert { on_main } => {
                alerts += 1;
                let account = if *on_main { "main" } else { "acct-9" };
                updates.push((GateInput::Alert(critical_alert(&format!("c{alerts}"), account, t)), t, 1));
            }
            Event::Halt { which, halted } => {
                let (scope, target) = HALTS[*which];
                let h = halt(scope, target, *halted, t);
                upsert(&mut updates, t, format!("halt {which}"), Some(GateInput::Halt(h)));
            }
            Event::Params { max_open, venue_exposure, asset_exposure } => {
                params.max_open = *max_open;
                params.max_venue_exposure = d(["15000", "25000", "50000"][*venue_exposure]);
                params.max_asset_exposure = d(["30000", "100000"][*asset_exposure]);
                upsert(&mut updates, t, "params".into(), Some(GateInput::Params(params.clone())));
            }
        }
    }
    updates
}

/// The paper venue of the test: whether and when it fills an open order, from the order's id.
fn paper_fill(order: &OrderIntent, sent: Time, seed: u64) -> Option<(Time, GateInput)> {
    let mut hasher = DefaultHasher::new();
    (seed, order.client_order_id.as_str()).hash(&mut hasher);
    let h = hasher.finish();
    let latency = [None, Some(1_000), Some(3_000_000), Some(6_000_000)][(h % 4) as usize]?;
    let fill = fill_of(order, &format!("fill-{}", order.client_order_id));
    Some((sent + latency, GateInput::Fill(fill)))
}

/// `base` with the paper venue's fills of the orders the oracle sends, until they agree.
fn closed_loop(
    base: &[(GateInput, Time, isize)],
    until: Time,
    seed: u64,
) -> (Vec<(GateInput, Time, isize)>, oracle::Replayed) {
    let mut fills: BTreeSet<(Time, GateInput)> = BTreeSet::new();
    for _ in 0..200 {
        let mut history = base.to_vec();
        history.extend(fills.iter().map(|(t, f)| (f.clone(), *t, 1)));
        let replayed = oracle::replay(&history, until);
        let wanted: BTreeSet<(Time, GateInput)> = replayed
            .orders
            .iter()
            .filter(|(_, o)| o.action == OrderAction::Open)
            .filter_map(|(t, o)| paper_fill(o, *t, seed))
            .filter(|(t, _)| *t <= until)
            .collect();
        if wanted == fills {
            return (history, replayed);
        }
        fills = wanted;
    }
    panic!("the paper venue's fills did not settle");
}

/// Runs the gate on `events` with the paper venue of `seed` in the loop and checks it against the
/// oracle at every evaluation time and one microsecond later, with 1 and 4 workers.
fn check(events: &[(u64, Event)], seed: u64) -> Result<(), TestCaseError> {
    let base = history(events);
    let last = base.iter().map(|(_, t, _)| *t).max().unwrap_or(T0);
    let until = last + 12_000_000;
    let (history, expected) = closed_loop(&base, until, seed);

    // Both legs or neither, for every open and close.
    let mut legs: BTreeMap<(Time, String, OrderAction), BTreeSet<Venue>> = BTreeMap::new();
    for (t, o) in &expected.orders {
        legs.entry((*t, o.arb_id.clone(), o.action)).or_default().insert(o.venue);
    }
    for ((_, _, action), venues) in &legs {
        let count = if *action == OrderAction::Unwind { 1 } else { 2 };
        prop_assert_eq!(venues.len(), count);
    }

    for workers in [1, 4] {
        let output = run(workers, history.clone());
        for t in expected.decisions.keys().flat_map(|t| [*t, t + 1]) {
            let actual = decisions_at(&output, t);
            prop_assert!(actual.values().all(|count| *count == 1), "workers {} time {}: {:?}", workers, t, actual);
            let actual: BTreeSet<_> = actual.into_keys().collect();
            prop_assert_eq!(&actual, &expected.decisions_at(t), "workers {} time {}", workers, t);
        }
        let actual: Vec<_> = orders(&output).into_iter().filter(|(t, _)| *t <= until).collect();
        let mut wanted = expected.orders.clone();
        wanted.sort();
        prop_assert_eq!(actual, wanted, "workers {}", workers);
    }
    Ok(())
}

/// One arbitrage whose opportunity moves between entry, hold-only and gone, at gaps around the
/// leg timeout: its episodes reach their deadlines while entering, holding or gone, and qualify
/// again right after, with some legs filled in time and some not.
fn one_arb_event() -> impl Strategy<Value = (u64, Event)> {
    let gaps = prop_oneof![Just(400_000u64), Just(1_500_000), Just(3_000_000), Just(5_000_000), Just(7_000_000)];
    let opp = prop_oneof![
        3 => prop_oneof![Just(2usize), Just(3), Just(5), Just(6)].prop_map(|uos| Event::Opp { arb: 0, uos, apr: 3 }),
        1 => Just(Event::NoOpp { arb: 0 }),
    ];
    (gaps, opp)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn decisions_and_orders_match_the_definition_at_every_time(
        events in prop::collection::vec((gap(), event()), 1..40),
        seed in any::<u64>(),
    ) {
        check(&events, seed)?;
    }

    #[test]
    fn deadlines_of_one_arbitrage_match_the_definition_at_every_time(
        events in prop::collection::vec(one_arb_event(), 1..16),
        seed in any::<u64>(),
    ) {
        check(&events, seed)?;
    }
}

/// The random histories reach every behaviour the oracle test is meant to check.
#[test]
fn the_histories_reach_every_action_and_reason() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = (prop::collection::vec((gap(), event()), 1..40), any::<u64>());
    let mut actions = BTreeSet::new();
    let mut reasons = BTreeSet::new();
    for _ in 0..150 {
        let (events, seed) = strategy.new_tree(&mut runner).unwrap().current();
        let base = history(&events);
        let last = base.iter().map(|(_, t, _)| *t).max().unwrap_or(T0);
        let (_, replayed) = closed_loop(&base, last + 12_000_000, seed);
        actions.extend(replayed.orders.iter().map(|(_, o)| o.action));
        for decisions in replayed.decisions.values() {
            for decision in decisions {
                reasons.extend(decision.reasons.iter().map(|r| r.split(':').take(2).collect::<Vec<_>>().join(":")));
            }
        }
    }
    assert_eq!(actions, BTreeSet::from([OrderAction::Open, OrderAction::Close, OrderAction::Unwind]));
    let wanted = [
        "asset_exposure",
        "halt:account",
        "halt:alert",
        "halt:global",
        "halt:symbol",
        "halt:venue",
        "leg_timeout",
        "max_open",
        "var_limit",
        "venue_exposure:binance",
    ];
    for reason in wanted {
        assert!(reasons.contains(reason), "no history gave {reason}: {reasons:?}");
    }
}
