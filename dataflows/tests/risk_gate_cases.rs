//! Risk gate cases (DESIGN 5.5): each check and each halt, the hysteresis, rank-order limit
//! accounting, sizing, both legs or neither, close, and unwind of a lone leg.

mod gate_harness;

use std::collections::BTreeMap;

use gate_harness::*;
use nexus_dataflows::risk_gate::GateParams;
use nexus_dataflows::risk_gate::oracle::GateInput;
use nexus_model::Venue::{Binance, Bybit, Hyperliquid, Okx};
use nexus_model::control::HaltScope;
use nexus_model::market::Side::{Buy, Sell};
use nexus_model::records::{ArbId, Decision, OrderAction, OrderIntent};

/// 2025-11-20 00:00 UTC, ms.
const T0: u64 = 1_763_596_800_000;

fn at(ms: u64) -> Time {
    (T0 + ms) * 1000
}

/// A scripted history: upserts keep one value per key by retracting the previous one.
struct Script {
    updates: Vec<(GateInput, Time, isize)>,
    current: BTreeMap<String, GateInput>,
}

impl Script {
    /// The defaults, with BTC at 30000 and ETH at 2000.
    fn new() -> Script {
        Script::with(default_params())
    }

    fn with(params: GateParams) -> Script {
        let mut script = Script { updates: Vec::new(), current: BTreeMap::new() };
        script.params(0, params);
        script.price(0, "BTC", "30000");
        script.price(0, "ETH", "2000");
        script
    }

    fn upsert(&mut self, ms: u64, key: String, value: Option<GateInput>) {
        if let Some(old) = self.current.remove(&key) {
            self.updates.push((old, at(ms), -1));
        }
        if let Some(value) = value {
            self.updates.push((value.clone(), at(ms), 1));
            self.current.insert(key, value);
        }
    }

    fn params(&mut self, ms: u64, p: GateParams) {
        self.upsert(ms, "params".into(), Some(GateInput::Params(p)));
    }

    fn price(&mut self, ms: u64, symbol: &str, price: &str) {
        self.upsert(ms, format!("price {symbol}"), Some(GateInput::Price(asset(symbol), d(price))));
    }

    fn opp(&mut self, ms: u64, arb: &ArbId, uos: &str, net_apr: &str) {
        self.upsert(ms, format!("opp {arb}"), Some(GateInput::Opportunity(opportunity(arb, uos, net_apr))));
    }

    fn no_opp(&mut self, ms: u64, arb: &ArbId) {
        self.upsert(ms, format!("opp {arb}"), None);
    }

    fn book(&mut self, ms: u64, venue: nexus_model::Venue, symbol: &str, price: &str, qty: &str) {
        self.upsert(ms, format!("book {venue} {symbol}"), Some(GateInput::Book(book(venue, symbol, price, qty))));
    }

    fn var(&mut self, ms: u64, account: &str, var_hist_99: Option<&str>) {
        self.upsert(ms, format!("var {account}"), var_hist_99.map(|v| GateInput::Var(var(account, v))));
    }

    fn halt(&mut self, ms: u64, scope: HaltScope, target: &str, halted: bool) {
        let state = halt(scope, target, halted, at(ms));
        self.upsert(ms, format!("halt {scope:?} {target}"), Some(GateInput::Halt(state)));
    }

    fn insert(&mut self, ms: u64, input: GateInput) {
        self.updates.push((input, at(ms), 1));
    }

    /// Runs with 1 and with 4 workers, checks they agree, and returns the output.
    fn run(&self) -> Run {
        let one = run(1, self.updates.clone());
        let four = run(4, self.updates.clone());
        assert_eq!(one, four, "1 and 4 workers disagree");
        Run { output: one }
    }
}

struct Run {
    output: Vec<(Out, Time, isize)>,
}

impl Run {
    /// The decision on `arb` in force at `ms`, if any.
    fn decision(&self, arb: &ArbId, ms: u64) -> Option<Decision> {
        let decisions = decisions_at(&self.output, at(ms));
        assert!(decisions.values().all(|count| *count == 1), "multiplicities: {decisions:?}");
        let found: Vec<Decision> = decisions.into_keys().filter(|d| d.arb_id == arb.to_string()).collect();
        assert!(found.len() <= 1, "one decision per arbitrage: {found:?}");
        found.into_iter().next()
    }

    fn accepted(&self, arb: &ArbId, ms: u64) -> bool {
        self.decision(arb, ms).is_some_and(|d| d.accepted)
    }

    fn reasons(&self, arb: &ArbId, ms: u64) -> Vec<String> {
        self.decision(arb, ms).map(|d| d.reasons).unwrap_or_default()
    }

    /// The orders of `arb`, with their times in ms after T0; at one time, the long venue's first.
    fn orders(&self, arb: &ArbId) -> Vec<(u64, OrderIntent)> {
        let mut orders: Vec<(u64, OrderIntent)> = orders(&self.output)
            .into_iter()
            .filter(|(_, o)| o.arb_id == arb.to_string())
            .map(|(t, o)| (t / 1000 - T0, o))
            .collect();
        orders.sort_by_key(|(ms, o)| (*ms, o.action, o.venue != arb.long_venue));
        orders
    }
}

/// (action, venue, side, qty, reduce_only) of each order, for compact assertions.
fn legs(
    orders: &[(u64, OrderIntent)],
) -> Vec<(u64, OrderAction, nexus_model::Venue, nexus_model::market::Side, String, bool)> {
    orders.iter().map(|(ms, o)| (*ms, o.action, o.venue, o.side, o.qty.to_string(), o.reduce_only)).collect()
}

#[test]
fn opens_both_legs_once_uos_reaches_min_uos() {
    let btc = arb("BTC", Binance, Bybit);
    let mut s = Script::new();
    s.opp(1000, &btc, "59.9999", "0.3");
    s.opp(2000, &btc, "60", "0.3");
    s.opp(3000, &btc, "61", "0.31");
    let r = s.run();
    assert_eq!(r.decision(&btc, 1000), None, "below min_uos is not a candidate");
    assert!(r.accepted(&btc, 2000));
    // 10000 / 30000 rounded down to 4 places; buy the long venue, sell the short one.
    assert_eq!(
        legs(&r.orders(&btc)),
        vec![
            (2000, OrderAction::Open, Binance, Buy, "0.3333".into(), false),
            (2000, OrderAction::Open, Bybit, Sell, "0.3333".into(), false),
        ]
    );
    let ids: Vec<_> = r.orders(&btc).into_iter().map(|(_, o)| o.client_order_id).collect();
    assert_eq!(ids[0], OrderIntent::client_id(&btc, at(2000), OrderAction::Open, Binance));
    assert_eq!(ids[1], OrderIntent::client_id(&btc, at(2000), OrderAction::Open, Bybit));
    assert_eq!(r.orders(&btc)[0].1.account, "main");
}

#[test]
fn hysteresis_holds_an_open_arbitrage_down_to_exit_uos() {
    let btc = arb("BTC", Binance, Bybit);
    let eth = arb("ETH", Okx, Hyperliquid);
    let mut s = Script::new();
    s.opp(1000, &btc, "80", "0.3");
    s.opp(1000, &eth, "50", "0.3");
    s.opp(2000, &btc, "45", "0.2");
    s.opp(3000, &btc, "40", "0.1");
    s.opp(4000, &btc, "39.9999", "0.1");
    s.opp(5000, &btc, "50", "0.1");
    let r = s.run();
    assert!(r.accepted(&btc, 1000));
    assert_eq!(r.decision(&eth, 1000), None, "between exit and entry, a closed arbitrage is not entered");
    assert!(r.accepted(&btc, 2000) && r.accepted(&btc, 3000), "held while uos >= exit_uos");
    assert_eq!(r.decision(&btc, 4000), None);
    assert_eq!(r.decision(&btc, 5000), None, "not re-entered below min_uos");
    assert_eq!(
        legs(&r.orders(&btc)),
        vec![
            (1000, OrderAction::Open, Binance, Buy, "0.3333".into(), false),
            (1000, OrderAction::Open, Bybit, Sell, "0.3333".into(), false),
            (4000, OrderAction::Close, Binance, Sell, "0.3333".into(), true),
            (4000, OrderAction::Close, Bybit, Buy, "0.3333".into(), true),
        ]
    );
}

#[test]
fn closes_when_net_apr_is_no_longer_positive_or_the_opportunity_expires() {
    let btc = arb("BTC", Binance, Bybit);
    let eth = arb("ETH", Binance, Okx);
    let mut s = Script::new();
    s.opp(1000, &btc, "80", "0.3");
    s.opp(1000, &eth, "80", "0.3");
    s.opp(2000, &btc, "80", "0");
    s.no_opp(3000, &eth);
    let r = s.run();
    let actions = |arb| legs(&r.orders(arb)).into_iter().map(|l| (l.0, l.1)).collect::<Vec<_>>();
    let expected = |ms| {
        vec![(1000, OrderAction::Open), (1000, OrderAction::Open), (ms, OrderAction::Close), (ms, OrderAction::Close)]
    };
    assert_eq!(actions(&btc), expected(2000));
    assert_eq!(actions(&eth), expected(3000));
}

#[test]
fn sizes_from_the_thinner_book_and_rounds_down() {
    let btc = arb("BTC", Binance, Bybit);
    let eth = arb("ETH", Binance, Okx);
    let bnb = arb("SOL", Bybit, Okx);
    let mut s = Script::new();
    // Depths 60000 and 30000: notional 0.1 * 30000 = 3000, qty 3000 / 30000.
    s.book(0, Binance, "BTC", "30000", "2");
    s.book(0, Bybit, "BTC", "30000", "1");
    // One book known: its depth 7 * 2000 = 14000 gives 1400, qty 0.7.
    s.book(0, Binance, "ETH", "2000", "7");
    s.opp(1000, &btc, "80", "0.3");
    s.opp(1000, &eth, "80", "0.3");
    // No reference price for SOL.
    s.opp(1000, &bnb, "80", "0.3");
    let r = s.run();
    assert_eq!(r.orders(&btc)[0].1.qty.to_string(), "0.1");
    assert_eq!(r.orders(&eth)[0].1.qty.to_string(), "0.7");
    assert_eq!(r.reasons(&bnb, 1000), vec!["no_price".to_string()]);
    assert!(r.orders(&bnb).is_empty());

    // A leg size that rounds down to nothing.
    let mut tiny = default_params();
    tiny.max_notional = d("0.00001");
    let mut s = Script::with(tiny);
    s.opp(1000, &btc, "80", "0.3");
    let r = s.run();
    assert_eq!(r.reasons(&btc, 1000), vec!["zero_qty".to_string()]);
    assert!(r.orders(&btc).is_empty());
}

#[test]
fn candidates_count_toward_the_limits_of_the_next_in_rank_order() {
    let first = arb("BTC", Binance, Bybit);
    let second = arb("ETH", Binance, Okx);
    let third = arb("ETH", Okx, Hyperliquid);
    let mut p = default_params();
    p.max_venue_exposure = d("15000");
    let mut s = Script::with(p);
    // Equal uos: the higher net APR ranks first.
    s.opp(1000, &second, "90", "0.2");
    s.opp(1000, &first, "90", "0.3");
    s.opp(1000, &third, "70", "0.3");
    let r = s.run();
    assert!(r.accepted(&first, 1000));
    assert!(r.accepted(&third, 1000), "okx has room: only the accepted first counts toward it");
    // The reasons are every check failed against all that is open once the time's decisions are
    // made: the third's okx leg counts there too.
    let both = vec!["venue_exposure:binance".to_string(), "venue_exposure:okx".to_string()];
    assert_eq!(r.reasons(&second, 1000), both);
    s.opp(2000, &third, "70", "0.29");
    let r = s.run();
    assert_eq!(r.reasons(&second, 2000), both);
    // Closing the first frees binance; closing the third frees okx: then the second is entered.
    s.no_opp(3000, &first);
    s.no_opp(4000, &third);
    let r = s.run();
    assert_eq!(r.reasons(&second, 3000), vec!["venue_exposure:okx".to_string()]);
    assert!(r.accepted(&second, 4000));
    assert_eq!(legs(&r.orders(&second))[0].0, 4000);
}

#[test]
fn asset_gross_exposure_is_twice_the_open_notional() {
    let a = arb("BTC", Binance, Bybit);
    let b = arb("BTC", Okx, Hyperliquid);
    let mut p = default_params();
    p.max_asset_exposure = d("39999");
    let mut s = Script::with(p.clone());
    s.opp(1000, &a, "90", "0.3");
    s.opp(1000, &b, "80", "0.3");
    let r = s.run();
    assert!(r.accepted(&a, 1000));
    assert_eq!(r.reasons(&b, 1000), vec!["asset_exposure".to_string()]);
    p.max_asset_exposure = d("40000");
    s.params(2000, p);
    let r = s.run();
    assert!(r.accepted(&b, 2000), "a parameter change applies at its logical time");
}

#[test]
fn open_count_is_capped_by_max_open() {
    let a = arb("BTC", Binance, Bybit);
    let b = arb("ETH", Okx, Hyperliquid);
    let mut p = default_params();
    p.max_open = 1;
    let mut s = Script::with(p);
    s.opp(1000, &a, "70", "0.3");
    s.opp(1000, &b, "80", "0.3");
    let r = s.run();
    assert!(r.accepted(&b, 1000), "the better one is taken first");
    assert_eq!(r.reasons(&a, 1000), vec!["max_open".to_string()]);
}

#[test]
fn var_above_the_limit_stops_entries_for_the_gate_account_only() {
    let a = arb("BTC", Binance, Bybit);
    let mut s = Script::new();
    s.var(0, "main", Some("5000.01"));
    s.var(0, "desk-1", Some("1"));
    s.opp(1000, &a, "80", "0.3");
    s.var(2000, "main", Some("5000"));
    let r = s.run();
    assert_eq!(r.reasons(&a, 1000), vec!["var_limit".to_string()]);
    assert!(r.accepted(&a, 2000), "var_hist_99 <= max_var passes");

    let mut s = Script::new();
    s.var(0, "desk-1", Some("999999"));
    s.opp(1000, &a, "80", "0.3");
    assert!(s.run().accepted(&a, 1000), "another account's VaR does not count");
}

#[test]
fn every_halt_scope_stops_new_entries_at_its_own_logical_time() {
    let a = arb("BTC", Binance, Bybit);
    let cases = [
        (HaltScope::Global, "", "halt:global"),
        (HaltScope::Venue, "binance", "halt:venue:binance"),
        (HaltScope::Venue, "bybit", "halt:venue:bybit"),
        (HaltScope::Symbol, "BTC", "halt:symbol:BTC"),
        (HaltScope::Account, "main", "halt:account:main"),
    ];
    for (scope, target, reason) in cases {
        let mut s = Script::new();
        // The halt and the opportunity arrive at the same logical time.
        s.halt(1000, scope, target, true);
        s.opp(1000, &a, "80", "0.3");
        s.halt(2000, scope, target, false);
        let r = s.run();
        assert_eq!(r.reasons(&a, 1000), vec![reason.to_string()], "{scope:?} {target}");
        assert!(r.accepted(&a, 2000), "{scope:?}: lifted");
        assert_eq!(r.orders(&a)[0].0, 2000, "{scope:?}: no order before the lift");
    }
    // Halts of other targets do not apply.
    let mut s = Script::new();
    s.halt(0, HaltScope::Venue, "okx", true);
    s.halt(0, HaltScope::Symbol, "ETH", true);
    s.halt(0, HaltScope::Account, "desk-1", true);
    s.opp(1000, &a, "80", "0.3");
    assert!(s.run().accepted(&a, 1000));
}

#[test]
fn a_halt_does_not_close_what_is_open() {
    let a = arb("BTC", Binance, Bybit);
    let mut s = Script::new();
    s.opp(1000, &a, "80", "0.3");
    s.halt(2000, HaltScope::Global, "", true);
    let r = s.run();
    assert!(r.accepted(&a, 2000));
    assert_eq!(r.orders(&a).len(), 2);
}

#[test]
fn a_critical_alert_halts_its_account_until_a_later_lift() {
    let a = arb("BTC", Binance, Bybit);
    let mut s = Script::new();
    s.insert(500, GateInput::Alert(critical_alert("c-other", "acct-9", at(500))));
    s.opp(1000, &a, "80", "0.3");
    assert!(s.run().accepted(&a, 1000), "an alert on another account does not halt the gate's");

    let mut s = Script::new();
    s.insert(500, GateInput::Alert(critical_alert("c1", "main", at(400))));
    s.opp(1000, &a, "80", "0.3");
    s.halt(2000, HaltScope::Account, "main", false);
    let r = s.run();
    assert_eq!(r.reasons(&a, 1000), vec!["halt:alert:c1".to_string()]);
    assert!(r.accepted(&a, 2000), "an operator's lift after the alert ends the halt");

    // An alert whose evidence is later than the lift halts again.
    s.no_opp(3000, &a);
    s.insert(4000, GateInput::Alert(critical_alert("c2", "main", at(4000))));
    s.opp(5000, &a, "80", "0.3");
    let r = s.run();
    assert_eq!(r.reasons(&a, 5000), vec!["halt:alert:c2".to_string()]);
}

/// Opens `a` at 1000 and returns the script and its two open orders.
fn opened() -> (Script, ArbId, Vec<OrderIntent>) {
    let a = arb("BTC", Binance, Bybit);
    let mut s = Script::new();
    s.opp(1000, &a, "80", "0.3");
    let opens = s.run().orders(&a).into_iter().map(|(_, o)| o).collect();
    (s, a, opens)
}

#[test]
fn a_lone_leg_is_unwound_at_the_leg_timeout() {
    let (mut s, a, opens) = opened();
    // The long leg fills; the short one is rejected by the venue (no fill).
    s.insert(1200, GateInput::Fill(fill_of(&opens[0], "f1")));
    let r = s.run();
    assert_eq!(
        legs(&r.orders(&a))[2..],
        [(6000, OrderAction::Unwind, Binance, Sell, "0.3333".into(), true)],
        "one reduce-only order undoes the filled leg, leg_timeout_ms after the open"
    );
    assert_eq!(r.reasons(&a, 6000), vec!["leg_timeout".to_string()]);
    assert!(r.accepted(&a, 5999));

    // Not re-entered while it still qualifies; entered afresh once it has stopped qualifying.
    s.opp(7000, &a, "85", "0.3");
    s.opp(8000, &a, "50", "0.3");
    s.opp(9000, &a, "80", "0.3");
    let r = s.run();
    let actions: Vec<_> = legs(&r.orders(&a)).into_iter().map(|l| (l.0, l.1)).collect();
    assert_eq!(actions[3..], [(9000, OrderAction::Open), (9000, OrderAction::Open)]);
    assert_ne!(r.orders(&a)[3].1.client_order_id, opens[0].client_order_id, "a new episode, new ids");

    // The short leg alone: bought back.
    let (mut s, a, opens) = opened();
    s.insert(5000, GateInput::Fill(fill_of(&opens[1], "f2")));
    assert_eq!(legs(&s.run().orders(&a))[2..], [(6000, OrderAction::Unwind, Bybit, Buy, "0.3333".into(), true)]);
}

/// An arbitrage that reaches its deadline while it qualifies only to be held (not entered) is
/// forgotten at once: when it qualifies for entry again, even with no other input in between, it
/// is entered afresh rather than blocked as a timed-out one.
#[test]
fn a_timeout_that_does_not_block_is_forgotten_at_once() {
    let (mut s, a, _) = opened();
    s.opp(3000, &a, "50", "0.3");
    s.opp(7000, &a, "80", "0.3");
    let r = s.run();
    let actions: Vec<_> = legs(&r.orders(&a)).into_iter().map(|l| (l.0, l.1)).collect();
    assert_eq!(
        actions,
        [(1000, OrderAction::Open), (1000, OrderAction::Open), (7000, OrderAction::Open), (7000, OrderAction::Open)]
    );
    assert!(r.decision(&a, 6000).is_none(), "expired, neither held nor blocking");
    assert!(r.accepted(&a, 7000));
}

#[test]
fn filled_twins_stay_open_and_unfilled_pairs_expire_without_orders() {
    let (mut s, a, opens) = opened();
    s.insert(1100, GateInput::Fill(fill_of(&opens[0], "f1")));
    s.insert(6000, GateInput::Fill(fill_of(&opens[1], "f2")));
    let r = s.run();
    assert_eq!(r.orders(&a).len(), 2, "a fill exactly at the deadline is within it");
    assert!(r.accepted(&a, 10_000));

    let (s, a, _) = opened();
    let r = s.run();
    assert_eq!(r.orders(&a).len(), 2, "nothing filled, nothing to unwind");
    assert_eq!(r.reasons(&a, 6000), vec!["leg_timeout".to_string()]);
}
