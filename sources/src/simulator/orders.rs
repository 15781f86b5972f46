//! Simulated order flow: benign market makers on every venue, with manipulation episodes injected
//! now and then, and the list of alerts the injections must raise (the ground truth of the
//! historical-scan test and benchmark).
//!
//! Benign flow is shaped so that no definition of DESIGN 5.4 can match it: orders are worth at
//! most 20,000 (below the spoofing notional), one account places at most two orders in any 5 s
//! (below the layering count), prices stay within 20 bps of a fixed mark (below the ignition
//! move), and the two sides of a trade are always different accounts in no group.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rand_pcg::Pcg64;
use rand_pcg::rand_core::{Rng, SeedableRng};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use nexus_model::LogicalTime;
use nexus_model::records::Pattern;

use super::market::{SimMessage, symbol_for};

const MS: u64 = 1_000;
const SECOND: u64 = 1_000_000;
const VENUES: [&str; 4] = ["binance", "bybit", "okx", "hyperliquid"];
const ORDER_SUBJECTS: [&str; 4] =
    ["feeds.orders.binance", "feeds.orders.bybit", "feeds.orders.okx", "feeds.orders.hyperliquid"];
const TRADE_SUBJECTS: [&str; 4] =
    ["feeds.trades.binance", "feeds.trades.bybit", "feeds.trades.okx", "feeds.trades.hyperliquid"];
/// Assets and their fixed marks.
const ASSETS: [(&str, i64); 3] = [("BTC", 60_000), ("ETH", 3_000), ("SOL", 150)];

/// What order flow to simulate.
#[derive(Clone, Debug)]
pub struct OrderFlowConfig {
    /// Seed; the same seed gives the same messages.
    pub seed: u64,
    /// Logical time of the first message, µs.
    pub start_us: LogicalTime,
    /// Benign accounts (`mm-0`, `mm-1`, ...).
    pub accounts: usize,
    /// One manipulation episode starts this often, µs (0: none).
    pub inject_every_us: u64,
}

impl Default for OrderFlowConfig {
    fn default() -> Self {
        OrderFlowConfig { seed: 11, start_us: 1_763_596_800_000_000, accounts: 200, inject_every_us: 60 * SECOND }
    }
}

/// An alert an injected episode must raise.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ExpectedAlert {
    /// The pattern.
    pub pattern: Pattern,
    /// Venue name.
    pub venue: &'static str,
    /// The manipulating account.
    pub account: String,
    /// Canonical asset.
    pub symbol: &'static str,
}

/// The order-flow generator.
pub struct OrderFlow {
    rng: Pcg64,
    accounts: usize,
    inject_every_us: u64,
    /// Each benign account's next placement: (time, account).
    next_placement: BinaryHeap<Reverse<(LogicalTime, usize)>>,
    next_injection: LogicalTime,
    /// Messages scheduled for later: (time, sequence, subject, payload).
    pending: BinaryHeap<Reverse<(LogicalTime, u64, &'static str, String)>>,
    sequence: u64,
    ids: u64,
    cases: u64,
    expected: Vec<ExpectedAlert>,
}

impl OrderFlow {
    /// A generator at `config.start_us`.
    pub fn new(config: &OrderFlowConfig) -> OrderFlow {
        let mut rng = Pcg64::seed_from_u64(config.seed);
        let next_placement =
            (0..config.accounts).map(|a| Reverse((config.start_us + rng.next_u64() % (5 * SECOND), a))).collect();
        OrderFlow {
            rng,
            accounts: config.accounts.max(2),
            inject_every_us: config.inject_every_us,
            next_placement,
            next_injection: config.start_us + config.inject_every_us / 2,
            pending: BinaryHeap::new(),
            sequence: 0,
            ids: 0,
            cases: 0,
            expected: Vec::new(),
        }
    }

    /// The alerts the episodes injected so far must raise.
    pub fn expected(&self) -> &[ExpectedAlert] {
        &self.expected
    }

    /// Appends every message with a receive time before `until_us`, in time order.
    pub fn advance(&mut self, until_us: LogicalTime, out: &mut Vec<SimMessage>) {
        while let Some(Reverse((time, account))) = self.next_placement.peek().copied() {
            if time >= until_us {
                break;
            }
            self.next_placement.pop();
            self.benign(time, account);
            let next = time + 2_600 * MS + self.below(4 * SECOND);
            self.next_placement.push(Reverse((next, account)));
        }
        while self.inject_every_us > 0 && self.next_injection < until_us {
            let at = self.next_injection;
            self.inject(at);
            self.next_injection += self.inject_every_us;
        }
        while let Some(Reverse((time, _, _, _))) = self.pending.peek() {
            if *time >= until_us {
                break;
            }
            if let Some(Reverse((time, _, subject, payload))) = self.pending.pop() {
                out.push(SimMessage { recv_us: time, subject, payload });
            }
        }
    }

    /// Appends every message still scheduled (the rest of the episodes under way and of the
    /// orders placed), in time order, and schedules nothing new: a recording cut here holds every
    /// injected episode whole.
    pub fn finish(&mut self, out: &mut Vec<SimMessage>) {
        while let Some(Reverse((time, _, subject, payload))) = self.pending.pop() {
            out.push(SimMessage { recv_us: time, subject, payload });
        }
    }

    fn below(&mut self, n: u64) -> u64 {
        self.rng.next_u64() % n.max(1)
    }

    fn next_id(&mut self, prefix: &str) -> String {
        self.ids += 1;
        format!("{prefix}{}", self.ids)
    }

    fn schedule(&mut self, time: LogicalTime, subject: &'static str, payload: Value) {
        self.sequence += 1;
        self.pending.push(Reverse((time, self.sequence, subject, payload.to_string())));
    }

    #[allow(clippy::too_many_arguments)]
    fn order(
        &mut self,
        time: LogicalTime,
        venue: usize,
        asset: usize,
        id: &str,
        account: &str,
        side: &str,
        kind: &str,
        price: Decimal,
        qty: Decimal,
    ) {
        let mut payload = json!({"order_id": id, "account": account, "symbol": symbol_for(venue, ASSETS[asset].0),
            "side": side, "kind": kind, "price": price.to_string(), "qty": qty.to_string(), "ts_ms": time / MS});
        if kind == "fill" {
            payload["fill_qty"] = json!(qty.to_string());
            payload["fill_price"] = json!(price.to_string());
        }
        self.schedule(time, ORDER_SUBJECTS[venue], payload);
    }

    #[allow(clippy::too_many_arguments)]
    fn trade(
        &mut self,
        time: LogicalTime,
        venue: usize,
        asset: usize,
        price: Decimal,
        qty: Decimal,
        aggressor: &str,
        buyer: Option<&str>,
        seller: Option<&str>,
    ) {
        let id = self.next_id("t");
        let mut payload = json!({"trade_id": id, "symbol": symbol_for(venue, ASSETS[asset].0), "price": price.to_string(),
            "qty": qty.to_string(), "aggressor": aggressor, "ts_ms": time / MS});
        if let Some(buyer) = buyer {
            payload["buyer"] = json!(buyer);
        }
        if let Some(seller) = seller {
            payload["seller"] = json!(seller);
        }
        self.schedule(time, TRADE_SUBJECTS[venue], payload);
    }

    /// `mark * (1 + bps / 10^4)`, to 8 places.
    fn price(asset: usize, bps: i64) -> Decimal {
        let mark = Decimal::from(ASSETS[asset].1);
        (mark + mark * Decimal::new(bps, 4)).round_dp(8).normalize()
    }

    /// A size worth about `notional` at the mark, to 4 places (at least 0.0001).
    fn size(asset: usize, notional: u64) -> Decimal {
        (Decimal::from(notional) / Decimal::from(ASSETS[asset].1)).round_dp(4).max(Decimal::new(1, 4)).normalize()
    }

    /// One benign order: placed, then cancelled, filled (with its trade) or amended and cancelled.
    fn benign(&mut self, time: LogicalTime, a: usize) {
        let account = format!("mm-{a}");
        let (venue, asset) = (self.below(4) as usize, self.below(ASSETS.len() as u64) as usize);
        let buy = self.below(2) == 0;
        let side = if buy { "buy" } else { "sell" };
        let offset = 1 + self.below(20) as i64;
        let price = Self::price(asset, if buy { -offset } else { offset });
        let qty = Self::size(asset, 500 + self.below(19_500));
        let id = self.next_id("o");
        self.order(time, venue, asset, &id, &account, side, "new", price, qty);
        match self.below(20) {
            0..11 => {
                let at = time + SECOND + self.below(19 * SECOND);
                self.order(at, venue, asset, &id, &account, side, "cancel", price, qty);
            }
            11..18 => {
                let at = time + 200 * MS + self.below(10 * SECOND);
                self.order(at, venue, asset, &id, &account, side, "fill", price, qty);
                let other = format!("mm-{}", (a + 1 + self.below(self.accounts as u64 - 1) as usize) % self.accounts);
                let shown = self.below(2) == 0;
                let (buyer, seller) = if buy { (account.clone(), other) } else { (other, account.clone()) };
                let aggressor = if buy { "sell" } else { "buy" };
                let (buyer, seller) = if shown { (Some(buyer), Some(seller)) } else { (None, None) };
                self.trade(at, venue, asset, price, qty, aggressor, buyer.as_deref(), seller.as_deref());
            }
            _ => {
                let amended = Self::size(asset, 500 + self.below(19_500));
                self.order(time + 500 * MS, venue, asset, &id, &account, side, "amend", price, amended);
                let at = time + 5 * SECOND + self.below(15 * SECOND);
                self.order(at, venue, asset, &id, &account, side, "cancel", price, amended);
            }
        }
    }

    /// Records an alert the episode being injected must raise.
    fn expect_alert(&mut self, pattern: Pattern, venue: usize, account: &str, asset: usize) {
        self.expected.push(ExpectedAlert {
            pattern,
            venue: VENUES[venue],
            account: account.to_string(),
            symbol: ASSETS[asset].0,
        });
    }

    /// A small order of `account` (a buy if `buy`) placed at `time` and filled 200 ms later
    /// against a benign account, with its trade.
    fn small_fill(&mut self, time: LogicalTime, venue: usize, asset: usize, account: &str, buy: bool) {
        let id = self.next_id("o");
        let (side, aggressor) = if buy { ("buy", "sell") } else { ("sell", "buy") };
        let price = Self::price(asset, 0);
        let qty = Self::size(asset, 1_000);
        self.order(time, venue, asset, &id, account, side, "new", price, qty);
        self.order(time + 200 * MS, venue, asset, &id, account, side, "fill", price, qty);
        let (buyer, seller) = if buy { (account, "mm-0") } else { ("mm-0", account) };
        self.trade(time + 200 * MS, venue, asset, price, qty, aggressor, Some(buyer), Some(seller));
    }

    /// One manipulation episode starting at `time`, by an account of its own.
    fn inject(&mut self, time: LogicalTime) {
        self.cases += 1;
        let case = self.cases;
        let (venue, asset) = (self.below(4) as usize, self.below(ASSETS.len() as u64) as usize);
        match case % 5 {
            0 => {
                // Spoofing: two small buys, then (30 s later) a sell worth 100,000 cancelled after
                // 2 s, a buy filled meanwhile. Nothing is dated before `time`: messages stay in order.
                let account = format!("spoof-{case}");
                for k in 0..2u64 {
                    let id = self.next_id("o");
                    let (price, qty) = (Self::price(asset, -30), Self::size(asset, 1_000));
                    self.order(time + k * SECOND, venue, asset, &id, &account, "buy", "new", price, qty);
                    self.order(time + 70 * SECOND, venue, asset, &id, &account, "buy", "cancel", price, qty);
                }
                let id = self.next_id("o");
                let (price, qty) = (Self::price(asset, 5), Self::size(asset, 100_000));
                let time = time + 30 * SECOND;
                self.order(time, venue, asset, &id, &account, "sell", "new", price, qty);
                self.small_fill(time + 800 * MS, venue, asset, &account, true);
                self.order(time + 2 * SECOND, venue, asset, &id, &account, "sell", "cancel", price, qty);
                self.expect_alert(Pattern::Spoofing, venue, &account, asset);
            }
            1 => {
                // Layering: four sells 10 bps apart within 1.2 s, a buy filled, all cancelled at 4 s.
                let account = format!("layer-{case}");
                let mut placed = Vec::new();
                for k in 0..4u64 {
                    let id = self.next_id("o");
                    let (price, qty) = (Self::price(asset, 10 * (k as i64 + 1)), Self::size(asset, 5_000));
                    self.order(time + k * 400 * MS, venue, asset, &id, &account, "sell", "new", price, qty);
                    placed.push((id, price, qty));
                }
                self.small_fill(time + 1_500 * MS, venue, asset, &account, true);
                for (id, price, qty) in placed {
                    self.order(time + 4 * SECOND, venue, asset, &id, &account, "sell", "cancel", price, qty);
                }
                self.expect_alert(Pattern::Layering, venue, &account, asset);
            }
            2 => {
                // Wash trading: one account on both sides.
                let account = format!("wash-{case}");
                let (price, qty) = (Self::price(asset, 0), Self::size(asset, 10_000));
                self.trade(time, venue, asset, price, qty, "buy", Some(&account), Some(&account));
                self.expect_alert(Pattern::WashTrading, venue, &account, asset);
            }
            3 => {
                // Momentum ignition: five aggressive buys worth 100,000 each, 20 bps apart, then a sell.
                let account = format!("ignite-{case}");
                for k in 0..5u64 {
                    let (price, qty) = (Self::price(asset, 20 * k as i64), Self::size(asset, 100_000));
                    self.trade(time + k * 800 * MS, venue, asset, price, qty, "buy", Some(&account), Some("mm-1"));
                }
                let (price, qty) = (Self::price(asset, 80), Self::size(asset, 100_000));
                self.trade(time + 15 * SECOND, venue, asset, price, qty, "sell", Some("mm-2"), Some(&account));
                self.expect_alert(Pattern::MomentumIgnition, venue, &account, asset);
            }
            _ => {
                // Repeated manipulation: three wash trades within three minutes, escalated.
                let account = format!("repeat-{case}");
                for k in 0..3u64 {
                    let (price, qty) = (Self::price(asset, 0), Self::size(asset, 10_000));
                    self.trade(time + k * 60 * SECOND, venue, asset, price, qty, "buy", Some(&account), Some(&account));
                    self.expect_alert(Pattern::WashTrading, venue, &account, asset);
                }
                self.expect_alert(Pattern::RepeatedManipulation, venue, &account, asset);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_come_in_time_order_and_the_same_seed_repeats_them() {
        let config = OrderFlowConfig { accounts: 20, inject_every_us: 10 * SECOND, ..OrderFlowConfig::default() };
        let run = || {
            let mut flow = OrderFlow::new(&config);
            let mut out = Vec::new();
            for step in 1..=60 {
                flow.advance(config.start_us + step * SECOND, &mut out);
            }
            (out, flow.expected().to_vec())
        };
        let (first, expected) = run();
        assert!(first.windows(2).all(|w| w[0].recv_us <= w[1].recv_us));
        assert_eq!(first, run().0);
        assert!(first.iter().any(|m| m.subject.starts_with("feeds.orders.")));
        assert!(first.iter().any(|m| m.subject.starts_with("feeds.trades.")));
        let patterns: std::collections::BTreeSet<Pattern> = expected.iter().map(|e| e.pattern).collect();
        assert_eq!(patterns.len(), 5, "every pattern is injected within a minute at one per 10 s");
    }
}
