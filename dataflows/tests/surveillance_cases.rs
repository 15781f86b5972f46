//! Surveillance cases: for each pattern, at least ten episodes that must raise an alert and ten
//! near misses that must not, with the DESIGN 5.4 defaults (account groups `g1 = [acct-7, acct-9]`).

use std::collections::BTreeMap;

use compact_str::CompactString;
use nexus_dataflows::surveillance::{
    AccountGroups, OrderFact, SurveillanceHistory, SurveillanceParams, TradeFact, surveillance,
};
use nexus_model::config::Config;
use nexus_model::market::{OrderEvent, OrderEventKind, Side, Trade};
use nexus_model::records::{Alert, AlertDetails, Pattern, Severity};
use nexus_model::{Asset, Dec, Price, Quantity, Venue};
use nexus_operators::harness::{self, collection_at};
use serde::{Deserialize, Serialize};

use Side::{Buy, Sell};

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum In {
    Order(OrderFact),
    Trade(TradeFact),
    Params(SurveillanceParams),
    Groups(AccountGroups),
}

/// 2025-11-20 00:00 UTC, ms.
const T0: u64 = 1_763_596_800_000;

fn d(text: &str) -> Dec {
    Dec::parse(text).unwrap()
}

/// A scripted history of order events and trades, in ms after `T0`.
struct Flow {
    updates: Vec<(In, u64, isize)>,
    orders: BTreeMap<String, OrderEvent>,
    groups: AccountGroups,
    seq: u64,
    venue: Venue,
    asset: Asset,
}

impl Flow {
    fn new() -> Flow {
        let mut config = Config::default();
        config.surveillance.account_groups.insert("g1".into(), vec!["acct-7".into(), "acct-9".into()]);
        let groups = AccountGroups::from_config(&config);
        let updates =
            vec![(In::Params(SurveillanceParams::from_config(&config)), 0, 1), (In::Groups(groups.clone()), 0, 1)];
        let asset = Asset::from_venue_symbol("BTC").unwrap();
        Flow { updates, orders: BTreeMap::new(), groups, seq: 0, venue: Venue::Binance, asset }
    }

    fn on(mut self, venue: Venue, symbol: &str) -> Flow {
        self.venue = venue;
        self.asset = Asset::from_venue_symbol(symbol).unwrap();
        self
    }

    fn at(ms: u64) -> u64 {
        (T0 + ms) * 1_000
    }

    fn push_order(&mut self, ms: u64, event: OrderEvent) {
        self.seq += 1;
        let time = Flow::at(ms);
        self.updates.push((In::Order(OrderFact { time, seq: self.seq, event }), time, 1));
    }

    fn place(&mut self, ms: u64, id: &str, account: &str, side: Side, price: &str, qty: &str) {
        let event = OrderEvent {
            venue: self.venue,
            order_id: id.into(),
            account: account.into(),
            asset: self.asset.clone(),
            side,
            kind: OrderEventKind::New,
            price: Price::new(d(price)).unwrap(),
            qty: Quantity::new(d(qty)).unwrap(),
            fill_qty: None,
            fill_price: None,
            ts_ms: T0 + ms,
        };
        self.orders.insert(id.to_string(), event.clone());
        self.push_order(ms, event);
    }

    fn follow(&mut self, ms: u64, id: &str, kind: OrderEventKind) -> OrderEvent {
        let event = OrderEvent { kind, ts_ms: T0 + ms, ..self.orders[id].clone() };
        self.push_order(ms, event.clone());
        event
    }

    fn cancel(&mut self, ms: u64, id: &str) {
        self.follow(ms, id, OrderEventKind::Cancel);
    }

    fn expire(&mut self, ms: u64, id: &str) {
        self.follow(ms, id, OrderEventKind::Expire);
    }

    fn amend(&mut self, ms: u64, id: &str, qty: &str) {
        let event =
            OrderEvent { kind: OrderEventKind::Amend, qty: Quantity::new(d(qty)).unwrap(), ..self.orders[id].clone() };
        self.orders.insert(id.to_string(), event.clone());
        self.push_order(ms, event);
    }

    fn fill(&mut self, ms: u64, id: &str, qty: &str) {
        let event = OrderEvent {
            kind: OrderEventKind::Fill,
            fill_qty: Some(Quantity::new(d(qty)).unwrap()),
            ..self.orders[id].clone()
        };
        self.push_order(ms, event);
    }

    /// A fill of a fresh order of `account` on `side`.
    fn filled(&mut self, ms: u64, id: &str, account: &str, side: Side) {
        self.place(ms, id, account, side, "100000", "0.01");
        self.fill(ms, id, "0.01");
    }

    #[allow(clippy::too_many_arguments)]
    fn trade(
        &mut self,
        ms: u64,
        id: &str,
        price: &str,
        qty: &str,
        aggressor: Side,
        buyer: Option<&str>,
        seller: Option<&str>,
    ) {
        self.seq += 1;
        let time = Flow::at(ms);
        let trade = Trade {
            venue: self.venue,
            trade_id: id.into(),
            asset: self.asset.clone(),
            price: Price::new(d(price)).unwrap(),
            qty: Quantity::new(d(qty)).unwrap(),
            aggressor,
            buyer: buyer.map(CompactString::from),
            seller: seller.map(CompactString::from),
            ts_ms: T0 + ms,
        };
        self.updates.push((In::Trade(TradeFact { time, seq: self.seq, trade }), time, 1));
    }

    /// Replaces the account groups at `ms`.
    fn regroup(&mut self, ms: u64, groups: &[(&str, &[&str])]) {
        let mut config = Config::default();
        for (name, accounts) in groups {
            config
                .surveillance
                .account_groups
                .insert(name.to_string(), accounts.iter().map(|a| a.to_string()).collect());
        }
        let next = AccountGroups::from_config(&config);
        self.updates.push((In::Groups(self.groups.clone()), Flow::at(ms), -1));
        self.updates.push((In::Groups(next.clone()), Flow::at(ms), 1));
        self.groups = next;
    }

    /// The alerts after everything has settled.
    fn alerts(&self) -> Vec<Alert> {
        let output = harness::run(1, self.updates.clone(), |input| {
            let orders = input.clone().flat_map(|x| if let In::Order(o) = x { Some(o) } else { None });
            let trades = input.clone().flat_map(|x| if let In::Trade(t) = x { Some(t) } else { None });
            let params = input.clone().flat_map(|x| if let In::Params(p) = x { Some(p) } else { None });
            let groups = input.flat_map(|x| if let In::Groups(g) = x { Some(g) } else { None });
            surveillance(orders, trades, params, groups, SurveillanceHistory::from_config(&Config::default()))
        });
        collection_at(&output, u64::MAX).into_keys().collect()
    }

    fn count(&self, pattern: Pattern) -> usize {
        self.alerts().iter().filter(|a| a.pattern == pattern).count()
    }
}

macro_rules! case {
    ($name:ident, $pattern:expr, $expected:expr, |$f:ident| $body:block) => {
        #[test]
        fn $name() {
            #[allow(unused_mut)]
            let mut $f = Flow::new();
            $body
            assert_eq!($f.count($pattern), $expected, "{:#?}", $f.alerts());
        }
    };
    ($name:ident, $pattern:expr, $expected:expr, $flow:expr, |$f:ident| $body:block) => {
        #[test]
        fn $name() {
            let mut $f = $flow;
            $body
            assert_eq!($f.count($pattern), $expected, "{:#?}", $f.alerts());
        }
    };
}

// ---- spoofing -------------------------------------------------------------------------------

/// Three small orders of the spoofer in the hour before: baseline mean 0.01 BTC.
fn baseline(f: &mut Flow) {
    for (i, ms) in [1_000u64, 2_000, 3_000].iter().enumerate() {
        f.place(*ms, &format!("b{i}"), "spoofer", Buy, "99000", "0.01");
    }
}

/// The spoof: 1 BTC at 100,000 (notional 100,000) placed at 60 s.
const SPOOF_AT: u64 = 60_000;

const S: Pattern = Pattern::Spoofing;

case!(spoof_classic, S, 1, |f| {
    baseline(&mut f);
    f.place(SPOOF_AT, "s", "spoofer", Sell, "100000", "1");
    f.filled(SPOOF_AT + 1_500, "f", "spoofer", Buy);
    f.cancel(SPOOF_AT + 2_000, "s");
});
case!(spoof_fill_after_cancel, S, 1, |f| {
    baseline(&mut f);
    f.place(SPOOF_AT, "s", "spoofer", Sell, "100000", "1");
    f.cancel(SPOOF_AT + 2_000, "s");
    f.filled(SPOOF_AT + 6_000, "f", "spoofer", Buy);
});
case!(spoof_without_baseline, S, 1, |f| {
    f.place(SPOOF_AT, "s", "spoofer", Sell, "100000", "1");
    f.filled(SPOOF_AT + 1_000, "f", "spoofer", Buy);
    f.cancel(SPOOF_AT + 1_200, "s");
});
case!(spoof_buy_side, S, 1, |f| {
    baseline(&mut f);
    f.place(SPOOF_AT, "s", "spoofer", Buy, "100000", "1");
    f.filled(SPOOF_AT + 500, "f", "spoofer", Sell);
    f.cancel(SPOOF_AT + 900, "s");
});
case!(spoof_amended_up, S, 1, |f| {
    baseline(&mut f);
    f.place(SPOOF_AT, "s", "spoofer", Sell, "100000", "0.05");
    f.amend(SPOOF_AT + 300, "s", "1");
    f.filled(SPOOF_AT + 1_000, "f", "spoofer", Buy);
    f.cancel(SPOOF_AT + 2_000, "s");
});
case!(spoof_partly_filled, S, 1, |f| {
    baseline(&mut f);
    f.place(SPOOF_AT, "s", "spoofer", Sell, "100000", "1");
    f.fill(SPOOF_AT + 100, "s", "0.05");
    f.filled(SPOOF_AT + 1_000, "f", "spoofer", Buy);
    f.cancel(SPOOF_AT + 2_000, "s");
});
case!(spoof_lifetime_at_the_limit, S, 1, |f| {
    baseline(&mut f);
    f.place(SPOOF_AT, "s", "spoofer", Sell, "100000", "1");
    f.filled(SPOOF_AT + 1_000, "f", "spoofer", Buy);
    f.cancel(SPOOF_AT + 5_000, "s");
});
case!(spoof_fill_at_the_window_edge, S, 1, |f| {
    baseline(&mut f);
    f.filled(SPOOF_AT - 3_000, "f", "spoofer", Buy);
    f.place(SPOOF_AT, "s", "spoofer", Sell, "100000", "1");
    f.cancel(SPOOF_AT + 2_000, "s");
});
case!(spoof_on_bybit_eth, S, 1, Flow::new().on(Venue::Bybit, "ETHUSDT"), |f| {
    f.place(SPOOF_AT, "s", "spoofer", Sell, "3000", "20");
    f.filled(SPOOF_AT + 1_000, "f", "spoofer", Buy);
    f.cancel(SPOOF_AT + 2_000, "s");
});
case!(spoof_twice_is_two_alerts, S, 2, |f| {
    baseline(&mut f);
    f.place(SPOOF_AT, "s1", "spoofer", Sell, "100000", "1");
    f.filled(SPOOF_AT + 1_000, "f1", "spoofer", Buy);
    f.cancel(SPOOF_AT + 2_000, "s1");
    // The first spoof is in the second one's baseline now (mean 0.208): it must be larger.
    f.place(SPOOF_AT + 120_000, "s2", "spoofer", Sell, "100000", "3");
    f.filled(SPOOF_AT + 121_000, "f2", "spoofer", Buy);
    f.cancel(SPOOF_AT + 122_000, "s2");
});

case!(near_miss_spoof_cancelled_late, S, 0, |f| {
    baseline(&mut f);
    f.place(SPOOF_AT, "s", "spoofer", Sell, "100000", "1");
    f.filled(SPOOF_AT + 4_000, "f", "spoofer", Buy);
    f.cancel(SPOOF_AT + 5_001, "s");
});
case!(near_miss_spoof_without_opposite_fill, S, 0, |f| {
    baseline(&mut f);
    f.place(SPOOF_AT, "s", "spoofer", Sell, "100000", "1");
    f.cancel(SPOOF_AT + 1_000, "s");
});
case!(near_miss_spoof_fill_on_the_same_side, S, 0, |f| {
    baseline(&mut f);
    f.place(SPOOF_AT, "s", "spoofer", Sell, "100000", "1");
    f.filled(SPOOF_AT + 500, "f", "spoofer", Sell);
    f.cancel(SPOOF_AT + 1_000, "s");
});
case!(near_miss_spoof_fill_outside_the_window, S, 0, |f| {
    baseline(&mut f);
    f.place(SPOOF_AT, "s", "spoofer", Sell, "100000", "1");
    f.cancel(SPOOF_AT + 1_000, "s");
    f.filled(SPOOF_AT + 6_001, "f", "spoofer", Buy);
});
case!(near_miss_spoof_notional_below_minimum, S, 0, |f| {
    baseline(&mut f);
    f.place(SPOOF_AT, "s", "spoofer", Sell, "100000", "0.4");
    f.filled(SPOOF_AT + 500, "f", "spoofer", Buy);
    f.cancel(SPOOF_AT + 1_000, "s");
});
case!(near_miss_spoof_not_large_against_baseline, S, 0, |f| {
    for (i, ms) in [1_000u64, 2_000].iter().enumerate() {
        f.place(*ms, &format!("b{i}"), "spoofer", Buy, "99000", "0.2");
    }
    f.place(SPOOF_AT, "s", "spoofer", Sell, "100000", "1");
    f.filled(SPOOF_AT + 500, "f", "spoofer", Buy);
    f.cancel(SPOOF_AT + 1_000, "s");
});
case!(near_miss_spoof_mostly_filled, S, 0, |f| {
    baseline(&mut f);
    f.place(SPOOF_AT, "s", "spoofer", Sell, "100000", "1");
    f.fill(SPOOF_AT + 100, "s", "0.2");
    f.filled(SPOOF_AT + 500, "f", "spoofer", Buy);
    f.cancel(SPOOF_AT + 1_000, "s");
});
case!(near_miss_spoof_expired_not_cancelled, S, 0, |f| {
    baseline(&mut f);
    f.place(SPOOF_AT, "s", "spoofer", Sell, "100000", "1");
    f.filled(SPOOF_AT + 500, "f", "spoofer", Buy);
    f.expire(SPOOF_AT + 1_000, "s");
});
case!(near_miss_spoof_fill_by_another_account, S, 0, |f| {
    baseline(&mut f);
    f.place(SPOOF_AT, "s", "spoofer", Sell, "100000", "1");
    f.filled(SPOOF_AT + 500, "f", "someone-else", Buy);
    f.cancel(SPOOF_AT + 1_000, "s");
});
case!(near_miss_spoof_fill_on_another_symbol, S, 0, |f| {
    baseline(&mut f);
    f.place(SPOOF_AT, "s", "spoofer", Sell, "100000", "1");
    f.cancel(SPOOF_AT + 1_000, "s");
    let mut other = std::mem::replace(&mut f, Flow::new()).on(Venue::Binance, "ETHUSDT");
    other.filled(SPOOF_AT + 500, "f", "spoofer", Buy);
    f = other;
});

#[test]
fn spoof_alert_carries_its_figures_and_evidence() {
    let mut f = Flow::new();
    baseline(&mut f);
    f.place(SPOOF_AT, "s", "spoofer", Sell, "100000", "1");
    f.filled(SPOOF_AT + 1_500, "f", "spoofer", Buy);
    f.cancel(SPOOF_AT + 2_000, "s");
    let alerts = f.alerts();
    let alert = alerts.iter().find(|a| a.pattern == S).unwrap();
    assert_eq!(alert.severity, Severity::High);
    assert_eq!(alert.evidence, vec![CompactString::from("s"), CompactString::from("f")]);
    assert_eq!((alert.first_us, alert.last_us), (Flow::at(SPOOF_AT), Flow::at(SPOOF_AT + 2_000)));
    assert_eq!(
        alert.details,
        AlertDetails::Spoofing {
            notional: d("100000"),
            qty: d("1"),
            baseline_mean_qty: Some(d("0.01")),
            baseline_orders: 3,
            lifetime_ms: d("2000"),
            fill_ratio: d("0"),
            cancel_us: Flow::at(SPOOF_AT + 2_000),
            fill_us: Flow::at(SPOOF_AT + 1_500),
        }
    );
    assert_eq!(alert.alert_id, Alert::id_of(S, Venue::Binance, "spoofer", &alert.symbol, "s"));
}

// ---- layering -------------------------------------------------------------------------------

const L: Pattern = Pattern::Layering;

/// Sell orders of the layerer at the given (ms, price), ids l0, l1, ...
fn layers(f: &mut Flow, side: Side, orders: &[(u64, &str)]) {
    for (i, (ms, price)) in orders.iter().enumerate() {
        f.place(*ms, &format!("l{i}"), "layerer", side, price, "0.5");
    }
}

fn cancel_all(f: &mut Flow, count: usize, ms: u64) {
    for i in 0..count {
        f.cancel(ms, &format!("l{i}"));
    }
}

const FOUR: [(u64, &str); 4] = [(0, "101"), (500, "102"), (1_000, "103"), (1_500, "104")];

case!(layering_classic, L, 1, |f| {
    layers(&mut f, Sell, &FOUR);
    f.filled(3_000, "f", "layerer", Buy);
    cancel_all(&mut f, 4, 6_000);
});
case!(layering_three_orders_three_levels, L, 1, |f| {
    layers(&mut f, Sell, &FOUR[..3]);
    f.filled(2_000, "f", "layerer", Buy);
    cancel_all(&mut f, 3, 4_000);
});
case!(layering_four_of_five_cancelled, L, 1, |f| {
    layers(&mut f, Sell, &[(0, "101"), (200, "102"), (400, "103"), (600, "104"), (800, "105")]);
    f.filled(2_000, "f", "layerer", Buy);
    cancel_all(&mut f, 4, 5_000);
});
case!(layering_buy_side, L, 1, |f| {
    layers(&mut f, Buy, &[(0, "99"), (300, "98"), (600, "97")]);
    f.filled(1_000, "f", "layerer", Sell);
    cancel_all(&mut f, 3, 3_000);
});
case!(layering_placed_across_the_whole_window, L, 1, |f| {
    layers(&mut f, Sell, &[(0, "101"), (2_500, "102"), (5_000, "103")]);
    f.filled(4_000, "f", "layerer", Buy);
    cancel_all(&mut f, 3, 8_000);
});
case!(layering_cancelled_at_the_limit, L, 1, |f| {
    layers(&mut f, Sell, &[(0, "101"), (0, "102"), (0, "103")]);
    f.filled(1_000, "f", "layerer", Buy);
    cancel_all(&mut f, 3, 10_000);
});
case!(layering_fill_with_the_first_order, L, 1, |f| {
    f.filled(0, "f", "layerer", Buy);
    layers(&mut f, Sell, &FOUR);
    cancel_all(&mut f, 4, 3_000);
});
case!(layering_two_episodes, L, 2, |f| {
    layers(&mut f, Sell, &FOUR);
    f.filled(2_000, "f", "layerer", Buy);
    cancel_all(&mut f, 4, 4_000);
    for (i, ms) in [60_000u64, 60_500, 61_000].iter().enumerate() {
        f.place(*ms, &format!("m{i}"), "layerer", Sell, &format!("10{i}"), "0.5");
    }
    f.filled(62_000, "g", "layerer", Buy);
    for i in 0..3 {
        f.cancel(64_000, &format!("m{i}"));
    }
});
case!(layering_continuous_is_one_episode, L, 1, |f| {
    let orders: Vec<(u64, String)> = (0..12u64).map(|i| (i * 1_000, format!("{}", 101 + i))).collect();
    let orders: Vec<(u64, &str)> = orders.iter().map(|(ms, p)| (*ms, p.as_str())).collect();
    layers(&mut f, Sell, &orders);
    for ms in [2_000u64, 5_000, 8_000, 11_000] {
        f.filled(ms, &format!("f{ms}"), "layerer", Buy);
    }
    for i in 0..12u64 {
        f.cancel(i * 1_000 + 3_000, &format!("l{i}"));
    }
});
case!(layering_on_okx_eth, L, 1, Flow::new().on(Venue::Okx, "ETH-USDT-SWAP"), |f| {
    layers(&mut f, Sell, &[(0, "3001"), (100, "3002"), (200, "3003")]);
    f.filled(500, "f", "layerer", Buy);
    cancel_all(&mut f, 3, 2_000);
});

case!(near_miss_layering_one_price_level, L, 0, |f| {
    layers(&mut f, Sell, &[(0, "101"), (500, "101"), (1_000, "101"), (1_500, "101")]);
    f.filled(3_000, "f", "layerer", Buy);
    cancel_all(&mut f, 4, 6_000);
});
case!(near_miss_layering_two_levels, L, 0, |f| {
    layers(&mut f, Sell, &[(0, "101"), (500, "102"), (1_000, "101")]);
    f.filled(3_000, "f", "layerer", Buy);
    cancel_all(&mut f, 3, 6_000);
});
case!(near_miss_layering_two_orders, L, 0, |f| {
    layers(&mut f, Sell, &FOUR[..2]);
    f.filled(1_000, "f", "layerer", Buy);
    cancel_all(&mut f, 2, 3_000);
});
case!(near_miss_layering_too_few_cancelled, L, 0, |f| {
    layers(&mut f, Sell, &FOUR);
    f.filled(3_000, "f", "layerer", Buy);
    cancel_all(&mut f, 3, 6_000);
});
case!(near_miss_layering_cancelled_late, L, 0, |f| {
    layers(&mut f, Sell, &[(0, "101"), (0, "102"), (0, "103")]);
    f.filled(1_000, "f", "layerer", Buy);
    cancel_all(&mut f, 3, 10_001);
});
case!(near_miss_layering_without_opposite_fill, L, 0, |f| {
    layers(&mut f, Sell, &FOUR);
    cancel_all(&mut f, 4, 6_000);
});
case!(near_miss_layering_fill_on_the_same_side, L, 0, |f| {
    layers(&mut f, Sell, &FOUR);
    f.filled(3_000, "f", "layerer", Sell);
    cancel_all(&mut f, 4, 6_000);
});
case!(near_miss_layering_fill_after_the_window, L, 0, |f| {
    layers(&mut f, Sell, &FOUR[..3]);
    f.filled(5_001, "f", "layerer", Buy);
    cancel_all(&mut f, 3, 7_000);
});
case!(near_miss_layering_placed_too_slowly, L, 0, |f| {
    layers(&mut f, Sell, &[(0, "101"), (3_000, "102"), (6_000, "103")]);
    f.filled(4_000, "f", "layerer", Buy);
    cancel_all(&mut f, 3, 8_000);
});
case!(near_miss_layering_spread_over_accounts, L, 0, |f| {
    for (i, (ms, price)) in FOUR[..3].iter().enumerate() {
        f.place(*ms, &format!("l{i}"), &format!("acct-{i}"), Sell, price, "0.5");
    }
    f.filled(2_000, "f", "acct-0", Buy);
    cancel_all(&mut f, 3, 4_000);
});

// ---- wash trading ---------------------------------------------------------------------------

const W: Pattern = Pattern::WashTrading;

fn print(f: &mut Flow, ms: u64, id: &str, buyer: Option<&str>, seller: Option<&str>) {
    f.trade(ms, id, "100000", "0.1", Buy, buyer, seller);
}

case!(wash_same_account, W, 1, |f| {
    print(&mut f, 1_000, "t1", Some("acct-1"), Some("acct-1"));
});
case!(wash_same_group, W, 1, |f| {
    print(&mut f, 1_000, "t1", Some("acct-7"), Some("acct-9"));
});
case!(wash_same_group_reversed, W, 1, |f| {
    print(&mut f, 1_000, "t1", Some("acct-9"), Some("acct-7"));
});
case!(wash_on_bybit, W, 1, Flow::new().on(Venue::Bybit, "BTCUSDT"), |f| {
    print(&mut f, 1_000, "t1", Some("acct-1"), Some("acct-1"));
});
case!(wash_three_trades_three_alerts, W, 3, |f| {
    for i in 0..3u64 {
        print(&mut f, 1_000 + i, &format!("t{i}"), Some("acct-1"), Some("acct-1"));
    }
});
case!(wash_group_added_at_run_time, W, 1, |f| {
    f.regroup(500, &[("g2", &["acct-1", "acct-2"])]);
    print(&mut f, 1_000, "t1", Some("acct-1"), Some("acct-2"));
});
case!(wash_common_group_among_several, W, 1, |f| {
    f.regroup(500, &[("a", &["acct-1"]), ("b", &["acct-2"]), ("c", &["acct-1", "acct-2"])]);
    print(&mut f, 1_000, "t1", Some("acct-1"), Some("acct-2"));
});
case!(wash_sell_aggressor, W, 1, |f| {
    f.trade(1_000, "t1", "100000", "0.1", Sell, Some("acct-1"), Some("acct-1"));
});
case!(wash_on_eth, W, 1, Flow::new().on(Venue::Hyperliquid, "ETH"), |f| {
    print(&mut f, 1_000, "t1", Some("acct-3"), Some("acct-3"));
});
case!(wash_among_benign_trades, W, 1, |f| {
    for i in 0..5u64 {
        print(&mut f, 1_000 + i, &format!("b{i}"), Some("acct-1"), Some("acct-2"));
    }
    print(&mut f, 2_000, "w", Some("acct-7"), Some("acct-7"));
});

case!(near_miss_wash_unrelated_accounts, W, 0, |f| {
    print(&mut f, 1_000, "t1", Some("acct-1"), Some("acct-2"));
});
case!(near_miss_wash_seller_unknown, W, 0, |f| {
    print(&mut f, 1_000, "t1", Some("acct-1"), None);
});
case!(near_miss_wash_both_unknown, W, 0, |f| {
    print(&mut f, 1_000, "t1", None, None);
});
case!(near_miss_wash_different_groups, W, 0, |f| {
    f.regroup(500, &[("a", &["acct-1"]), ("b", &["acct-2"])]);
    print(&mut f, 1_000, "t1", Some("acct-1"), Some("acct-2"));
});
case!(near_miss_wash_group_removed_before, W, 0, |f| {
    f.regroup(500, &[]);
    print(&mut f, 1_000, "t1", Some("acct-7"), Some("acct-9"));
});
case!(near_miss_wash_one_side_grouped, W, 0, |f| {
    print(&mut f, 1_000, "t1", Some("acct-7"), Some("acct-8"));
});
case!(near_miss_wash_similar_names, W, 0, |f| {
    print(&mut f, 1_000, "t1", Some("acct-7"), Some("acct-70"));
});
case!(near_miss_wash_unrelated_on_several_venues, W, 0, |f| {
    for (i, venue) in Venue::ALL.iter().enumerate() {
        f.venue = *venue;
        print(&mut f, 1_000, &format!("t{i}"), Some("acct-1"), Some("acct-2"));
    }
});
case!(near_miss_wash_group_added_after_the_trade, W, 0, |f| {
    print(&mut f, 1_000, "t1", Some("acct-1"), Some("acct-2"));
    f.regroup(2_000, &[("g2", &["acct-1", "acct-2"])]);
});
case!(near_miss_wash_own_orders_are_not_trades, W, 0, |f| {
    f.filled(1_000, "o1", "acct-1", Buy);
    f.filled(1_000, "o2", "acct-1", Sell);
});

#[test]
fn wash_severity_is_high_for_one_account_and_medium_for_a_group() {
    let mut f = Flow::new();
    print(&mut f, 1_000, "t1", Some("acct-1"), Some("acct-1"));
    print(&mut f, 2_000, "t2", Some("acct-7"), Some("acct-9"));
    let severities: BTreeMap<String, Severity> =
        f.alerts().into_iter().map(|a| (a.evidence[0].to_string(), a.severity)).collect();
    assert_eq!(severities["t1"], Severity::High);
    assert_eq!(severities["t2"], Severity::Medium);
}

// ---- momentum ignition ----------------------------------------------------------------------

const I: Pattern = Pattern::MomentumIgnition;

/// The igniter buys 1 at each price, 800 ms apart; someone else prints 1 in between.
fn burst(f: &mut Flow, side: Side, from_ms: u64, prices: &[&str]) {
    for (i, price) in prices.iter().enumerate() {
        let ms = from_ms + i as u64 * 800;
        let (buyer, seller) = if side == Buy { ("igniter", "mm") } else { ("mm", "igniter") };
        f.trade(ms, &format!("i{from_ms}-{i}"), price, "1", side, Some(buyer), Some(seller));
    }
    f.trade(from_ms + 100, &format!("x{from_ms}"), prices[0], "1", side, Some("a"), Some("b"));
}

const UP: [&str; 5] = ["100", "100.2", "100.4", "100.6", "100.8"];
const DOWN: [&str; 5] = ["100", "99.8", "99.6", "99.4", "99.2"];

case!(ignition_classic, I, 1, |f| {
    burst(&mut f, Buy, 0, &UP);
    f.trade(20_000, "r", "100.8", "5", Sell, Some("mm"), Some("igniter"));
});
case!(ignition_sell_side, I, 1, |f| {
    burst(&mut f, Sell, 0, &DOWN);
    f.trade(20_000, "r", "99.2", "5", Buy, Some("igniter"), Some("mm"));
});
case!(ignition_reversal_within_the_window, I, 1, |f| {
    burst(&mut f, Buy, 0, &UP);
    f.trade(5_000, "r", "100.8", "1", Sell, Some("mm"), Some("igniter"));
});
case!(ignition_reversal_at_the_limit, I, 1, |f| {
    burst(&mut f, Buy, 0, &UP);
    f.trade(70_000, "r", "100.8", "5", Sell, Some("mm"), Some("igniter"));
});
case!(ignition_share_at_the_limit, I, 1, |f| {
    burst(&mut f, Buy, 0, &UP);
    f.trade(200, "y", "100", "4", Buy, Some("c"), Some("d"));
    f.trade(20_000, "r", "100.8", "5", Sell, Some("mm"), Some("igniter"));
});
case!(ignition_move_at_the_limit, I, 1, |f| {
    burst(&mut f, Buy, 0, &["100", "100.1", "100.2", "100.3", "100.5"]);
    f.trade(20_000, "r", "100.5", "5", Sell, Some("mm"), Some("igniter"));
});
case!(ignition_long_burst_is_one_episode, I, 1, |f| {
    let prices: Vec<String> = (0..30).map(|i| format!("{}", 100 + i)).collect();
    let prices: Vec<&str> = prices.iter().map(String::as_str).collect();
    burst(&mut f, Buy, 0, &prices);
    f.trade(40_000, "r", "130", "5", Sell, Some("mm"), Some("igniter"));
});
case!(ignition_two_bursts, I, 2, |f| {
    burst(&mut f, Buy, 0, &UP);
    f.trade(20_000, "r1", "100.8", "5", Sell, Some("mm"), Some("igniter"));
    burst(&mut f, Buy, 300_000, &UP);
    f.trade(320_000, "r2", "100.8", "5", Sell, Some("mm"), Some("igniter"));
});
case!(ignition_aggressive_reversal, I, 1, |f| {
    burst(&mut f, Buy, 0, &UP);
    f.trade(20_000, "r", "100.8", "5", Sell, Some("mm"), Some("igniter"));
});
case!(ignition_on_hyperliquid, I, 1, Flow::new().on(Venue::Hyperliquid, "SOL"), |f| {
    burst(&mut f, Buy, 0, &UP);
    f.trade(20_000, "r", "100.8", "5", Buy, Some("mm"), Some("igniter"));
});

case!(near_miss_ignition_burst_without_reversal, I, 0, |f| {
    burst(&mut f, Buy, 0, &UP);
});
case!(near_miss_ignition_small_share, I, 0, |f| {
    burst(&mut f, Buy, 0, &UP);
    // After the burst: every window from one of its trades holds it.
    f.trade(3_300, "y", "100.8", "6", Buy, Some("c"), Some("d"));
    f.trade(20_000, "r", "100.8", "5", Sell, Some("mm"), Some("igniter"));
});
case!(near_miss_ignition_small_move, I, 0, |f| {
    burst(&mut f, Buy, 0, &["100", "100.1", "100.2", "100.3", "100.4"]);
    f.trade(20_000, "r", "100.4", "5", Sell, Some("mm"), Some("igniter"));
});
case!(near_miss_ignition_price_moved_the_other_way, I, 0, |f| {
    burst(&mut f, Buy, 0, &DOWN);
    f.trade(20_000, "r", "99.2", "5", Sell, Some("mm"), Some("igniter"));
});
case!(near_miss_ignition_reversal_too_late, I, 0, |f| {
    burst(&mut f, Buy, 0, &UP);
    // Past every window that starts at one of the burst's trades, plus the reversal span.
    f.trade(73_201, "r", "100.8", "5", Sell, Some("mm"), Some("igniter"));
});
case!(near_miss_ignition_reversal_by_another_account, I, 0, |f| {
    burst(&mut f, Buy, 0, &UP);
    f.trade(20_000, "r", "100.8", "5", Sell, Some("mm"), Some("someone-else"));
});
case!(near_miss_ignition_accounts_not_revealed, I, 0, |f| {
    for (i, price) in UP.iter().enumerate() {
        f.trade(i as u64 * 800, &format!("i{i}"), price, "1", Buy, None, None);
    }
    f.trade(20_000, "r", "100.8", "5", Sell, None, None);
});
case!(near_miss_ignition_reversal_on_another_symbol, I, 0, |f| {
    burst(&mut f, Buy, 0, &UP);
    f.asset = Asset::from_venue_symbol("ETH").unwrap();
    f.trade(20_000, "r", "3000", "5", Sell, Some("mm"), Some("igniter"));
});
case!(near_miss_ignition_sold_before_the_burst, I, 0, |f| {
    f.trade(0, "r", "100", "5", Sell, Some("mm"), Some("igniter"));
    burst(&mut f, Buy, 1_000, &UP);
});
case!(near_miss_ignition_volume_split_among_accounts, I, 0, |f| {
    for (i, price) in UP.iter().enumerate() {
        let buyer = ["p", "q", "r"][i % 3];
        f.trade(i as u64 * 800, &format!("i{i}"), price, "1", Buy, Some(buyer), Some("mm"));
    }
    f.trade(20_000, "r1", "100.8", "5", Sell, Some("mm"), Some("p"));
});

// ---- escalation -----------------------------------------------------------------------------

const C: Pattern = Pattern::RepeatedManipulation;

case!(critical_after_three_alerts_within_the_hour, C, 1, |f| {
    for i in 0..3u64 {
        print(&mut f, 1_000 + i * 600_000, &format!("t{i}"), Some("acct-1"), Some("acct-1"));
    }
});
case!(critical_once_per_episode, C, 1, |f| {
    for i in 0..6u64 {
        print(&mut f, 1_000 + i * 60_000, &format!("t{i}"), Some("acct-1"), Some("acct-1"));
    }
});
case!(near_miss_critical_two_alerts, C, 0, |f| {
    for i in 0..2u64 {
        print(&mut f, 1_000 + i * 600_000, &format!("t{i}"), Some("acct-1"), Some("acct-1"));
    }
});
case!(near_miss_critical_alerts_spread_over_hours, C, 0, |f| {
    for i in 0..3u64 {
        print(&mut f, 1_000 + i * 3_000_000, &format!("t{i}"), Some("acct-1"), Some("acct-1"));
    }
});
case!(near_miss_critical_alerts_on_different_venues, C, 0, |f| {
    for (i, venue) in Venue::ALL[..3].iter().enumerate() {
        f.venue = *venue;
        print(&mut f, 1_000 + i as u64, &format!("t{i}"), Some("acct-1"), Some("acct-1"));
    }
});

#[test]
fn critical_alert_names_the_alerts_it_counts() {
    let mut f = Flow::new();
    for i in 0..3u64 {
        print(&mut f, 1_000 + i * 1_000, &format!("t{i}"), Some("acct-1"), Some("acct-1"));
    }
    let alerts = f.alerts();
    let critical = alerts.iter().find(|a| a.pattern == C).unwrap();
    assert_eq!(critical.severity, Severity::Critical);
    let mut washes: Vec<&Alert> = alerts.iter().filter(|a| a.pattern == W).collect();
    washes.sort_by_key(|a| a.first_us);
    assert_eq!(critical.evidence, washes.iter().map(|a| a.alert_id.clone()).collect::<Vec<_>>());
    assert_eq!((critical.first_us, critical.last_us), (washes[0].first_us, washes[2].last_us));
}
