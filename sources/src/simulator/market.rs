//! The simulated market and its message schedule.

use rand_pcg::Pcg64;
use rand_pcg::rand_core::{Rng, SeedableRng};
use serde_json::{Value, json};

use nexus_model::LogicalTime;

use super::orders::{ExpectedAlert, OrderFlow, OrderFlowConfig};

/// Microseconds per second.
const SECOND: u64 = 1_000_000;

/// What to simulate.
#[derive(Clone, Debug)]
pub struct SimulatorConfig {
    /// Seed of the random walks; the same seed gives the same messages.
    pub seed: u64,
    /// Logical time of the first message, microseconds.
    pub start_us: LogicalTime,
    /// Assets traded on every venue.
    pub assets: Vec<String>,
    /// Order flow and trades with injected manipulation (started at `start_us`), if any.
    pub orders: Option<OrderFlowConfig>,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        SimulatorConfig {
            seed: 7,
            start_us: 1_763_596_800_000_000,
            assets: ["BTC", "ETH", "SOL", "XRP", "DOGE", "AVAX", "LINK", "ARB"].iter().map(|s| s.to_string()).collect(),
            orders: Some(OrderFlowConfig { accounts: 30, inject_every_us: 45 * SECOND, ..OrderFlowConfig::default() }),
        }
    }
}

/// One simulated message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimMessage {
    /// Logical receive time, microseconds.
    pub recv_us: LogicalTime,
    /// Subject, as published.
    pub subject: &'static str,
    /// JSON payload in the venue's format.
    pub payload: String,
}

impl SimMessage {
    /// The message as one line of a recording (DESIGN 3), without the newline.
    pub fn recording_line(&self) -> String {
        format!("{{\"recv_us\":{},\"subject\":\"{}\",\"payload\":{}}}", self.recv_us, self.subject, self.payload)
    }
}

/// A feed and how often it publishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Feed {
    Binance,
    Bybit,
    Okx,
    Hyperliquid,
    Scanner,
    Books,
    /// Fills of two simulated trading desks, so positions and VaR have something to hold.
    Fills,
}

impl Feed {
    const ALL: [Feed; 7] =
        [Feed::Binance, Feed::Bybit, Feed::Okx, Feed::Hyperliquid, Feed::Scanner, Feed::Books, Feed::Fills];

    fn period_us(self) -> u64 {
        match self {
            Feed::Binance | Feed::Bybit | Feed::Books => SECOND,
            Feed::Okx => 2 * SECOND,
            Feed::Hyperliquid => 3 * SECOND,
            Feed::Scanner => 5 * SECOND,
            Feed::Fills => 20 * SECOND,
        }
    }

    /// Index of the venue for silences, if the feed is a venue's funding feed.
    fn venue_index(self) -> Option<u64> {
        match self {
            Feed::Binance => Some(0),
            Feed::Bybit => Some(1),
            Feed::Okx => Some(2),
            Feed::Hyperliquid => Some(3),
            Feed::Scanner | Feed::Books | Feed::Fills => None,
        }
    }
}

/// Per-asset state.
struct AssetState {
    name: String,
    /// Base funding rate per 8 h, in millionths.
    base_rate: i64,
    /// Offset per venue (binance, bybit, okx, hyperliquid), in millionths per 8 h.
    venue_offset: [i64; 4],
    /// Mark price in cents.
    mark_cents: i64,
    /// Scanner bias per venue in millionths, non-zero during a disagreement episode.
    scanner_bias: [i64; 4],
}

/// The simulator.
pub struct Simulator {
    rng: Pcg64,
    start_us: LogicalTime,
    next_due: Vec<(Feed, LogicalTime)>,
    assets: Vec<AssetState>,
    bybit_started: bool,
    sequence: u64,
    orders: Option<OrderFlow>,
}

impl Simulator {
    /// A simulator at `config.start_us`.
    pub fn new(config: &SimulatorConfig) -> Simulator {
        let mut rng = Pcg64::seed_from_u64(config.seed);
        let assets = config
            .assets
            .iter()
            .enumerate()
            .map(|(i, name)| AssetState {
                name: name.clone(),
                base_rate: 100 + (rng.next_u64() % 60) as i64 - 30,
                venue_offset: [0, 0, 0, 0].map(|_: i64| (rng.next_u64() % 600) as i64 - 300),
                mark_cents: [6_000_000, 300_000, 15_000, 60, 15, 3_500, 1_500, 80][i % 8] * (1 + i as i64 / 8),
                scanner_bias: [0; 4],
            })
            .collect();
        let next_due = Feed::ALL.iter().map(|feed| (*feed, config.start_us)).collect();
        let orders = config.orders.as_ref().map(|flow| {
            OrderFlow::new(&OrderFlowConfig {
                seed: flow.seed ^ config.seed,
                start_us: config.start_us,
                ..flow.clone()
            })
        });
        Simulator { rng, start_us: config.start_us, next_due, assets, bybit_started: false, sequence: 0, orders }
    }

    /// Appends every message with a receive time before `until_us`, in time order.
    pub fn advance(&mut self, until_us: LogicalTime, out: &mut Vec<SimMessage>) {
        let first = out.len();
        self.advance_market(until_us, out);
        if let Some(orders) = self.orders.as_mut() {
            orders.advance(until_us, out);
            // Both parts are in time order; a stable sort merges them.
            out[first..].sort_by_key(|message| message.recv_us);
        }
    }

    /// The alerts the order flow's injected episodes so far must raise.
    pub fn expected_alerts(&self) -> &[ExpectedAlert] {
        self.orders.as_ref().map_or(&[], |orders| orders.expected())
    }

    fn advance_market(&mut self, until_us: LogicalTime, out: &mut Vec<SimMessage>) {
        loop {
            let Some((index, due)) =
                self.next_due.iter().enumerate().map(|(i, (_, due))| (i, *due)).min_by_key(|(i, due)| (*due, *i))
            else {
                return;
            };
            if due >= until_us {
                return;
            }
            let feed = self.next_due[index].0;
            self.next_due[index].1 = due + feed.period_us();
            self.step_market();
            if feed.venue_index().is_some_and(|venue| self.is_silent(venue, due)) {
                continue;
            }
            self.emit(feed, due, out);
        }
    }

    /// A venue's funding feed is silent for 200 s of every 900 s, staggered by venue.
    fn is_silent(&self, venue: u64, time: LogicalTime) -> bool {
        let since = (time - self.start_us) / SECOND;
        let phase = (since + 900 - venue * 225) % 900;
        phase >= 700
    }

    fn below(&mut self, n: u64) -> u64 {
        self.rng.next_u64() % n.max(1)
    }

    fn walk(&mut self, value: i64, step: i64, lo: i64, hi: i64) -> i64 {
        let delta = self.below((2 * step + 1) as u64) as i64 - step;
        (value + delta).clamp(lo, hi)
    }

    /// Moves every random walk one step.
    fn step_market(&mut self) {
        for a in 0..self.assets.len() {
            let base = self.assets[a].base_rate;
            self.assets[a].base_rate = self.walk(base, 2, -200, 600);
            for v in 0..4 {
                let offset = self.assets[a].venue_offset[v];
                self.assets[a].venue_offset[v] = self.walk(offset, 3, -600, 600);
            }
            let mark = self.assets[a].mark_cents;
            let step = (mark / 2000).max(1);
            self.assets[a].mark_cents = self.walk(mark, step, 1, i64::MAX / 4);
        }
        // Disagreement episodes: one starts now and then, and each active one ends after a while.
        if self.below(150) == 0 {
            let a = self.below(self.assets.len() as u64) as usize;
            let v = self.below(4) as usize;
            self.assets[a].scanner_bias[v] = 150;
        }
        for a in 0..self.assets.len() {
            for v in 0..4 {
                if self.assets[a].scanner_bias[v] != 0 && self.below(300) == 0 {
                    self.assets[a].scanner_bias[v] = 0;
                }
            }
        }
    }

    fn rate_millionths(&self, asset: &AssetState, venue: usize) -> i64 {
        asset.base_rate + asset.venue_offset[venue]
    }

    fn emit(&mut self, feed: Feed, time: LogicalTime, out: &mut Vec<SimMessage>) {
        let ms = time / 1000;
        let next_8h = (ms / 28_800_000 + 1) * 28_800_000;
        self.sequence += 1;
        match feed {
            Feed::Binance => {
                let events: Vec<Value> = self
                    .assets
                    .iter()
                    .map(|a| {
                        json!({"e": "markPriceUpdate", "E": ms, "s": format!("{}USDT", a.name), "p": cents(a.mark_cents),
                               "i": cents(a.mark_cents), "P": cents(a.mark_cents), "r": millionths(self.rate_millionths(a, 0)), "T": next_8h})
                    })
                    .collect();
                out.push(SimMessage {
                    recv_us: time,
                    subject: "feeds.funding.binance",
                    payload: Value::Array(events).to_string(),
                });
            }
            Feed::Bybit => {
                let kind = if self.bybit_started { "delta" } else { "snapshot" };
                for a in &self.assets {
                    let symbol = format!("{}USDT", a.name);
                    let data = if self.bybit_started {
                        json!({"symbol": symbol, "fundingRate": millionths(self.rate_millionths(a, 1)), "markPrice": cents(a.mark_cents)})
                    } else {
                        json!({"symbol": symbol, "fundingRate": millionths(self.rate_millionths(a, 1)), "markPrice": cents(a.mark_cents),
                               "nextFundingTime": next_8h.to_string(), "fundingIntervalHour": "8", "lastPrice": cents(a.mark_cents)})
                    };
                    let payload = json!({"topic": format!("tickers.{symbol}"), "type": kind, "data": data, "cs": self.sequence, "ts": ms});
                    out.push(SimMessage {
                        recv_us: time,
                        subject: "feeds.funding.bybit",
                        payload: payload.to_string(),
                    });
                }
                self.bybit_started = true;
            }
            Feed::Okx => {
                let next_4h = (ms / 14_400_000 + 1) * 14_400_000;
                for a in &self.assets {
                    let inst = format!("{}-USDT-SWAP", a.name);
                    let payload = json!({"arg": {"channel": "funding-rate", "instId": inst},
                        "data": [{"fundingRate": millionths(self.rate_millionths(a, 2) / 2), "fundingTime": next_4h.to_string(),
                                  "instId": inst, "instType": "SWAP", "method": "current_period", "nextFundingRate": "",
                                  "nextFundingTime": (next_4h + 14_400_000).to_string(), "ts": ms.to_string()}]});
                    out.push(SimMessage { recv_us: time, subject: "feeds.funding.okx", payload: payload.to_string() });
                }
            }
            Feed::Hyperliquid => {
                let universe: Vec<Value> =
                    self.assets.iter().map(|a| json!({"name": a.name, "szDecimals": 3})).collect();
                let contexts: Vec<Value> = self
                    .assets
                    .iter()
                    .map(|a| {
                        json!({"funding": millionths_per_8(self.rate_millionths(a, 3)), "markPx": cents(a.mark_cents),
                               "openInterest": "1000", "oraclePx": cents(a.mark_cents)})
                    })
                    .collect();
                let payload = json!([{"universe": universe}, contexts]);
                out.push(SimMessage {
                    recv_us: time,
                    subject: "feeds.funding.hyperliquid",
                    payload: payload.to_string(),
                });
            }
            Feed::Scanner => {
                let slugs = ["binance_futures", "bybit_futures", "okex_futures", "hyperliquid_futures"];
                let entries: Vec<Value> = self
                    .assets
                    .iter()
                    .map(|a| {
                        let rates: Vec<Value> = (0..4)
                            .map(|v| {
                                let native = match v {
                                    2 => self.rate_millionths(a, 2) / 2,
                                    3 => self.rate_millionths(a, 3) / 8,
                                    _ => self.rate_millionths(a, v),
                                } + a.scanner_bias[v];
                                // Percent: millionths / 10^4.
                                json!({"exchange": slugs[v], "rate": format!("{}", rust_decimal::Decimal::new(native, 4).normalize()),
                                       "symbol": format!("{}USDT", a.name), "nextFundingTime": next_8h})
                            })
                            .collect();
                        json!({"symbol": a.name, "ticker": a.name, "maxSpread": 0.01, "rates": rates})
                    })
                    .collect();
                out.push(SimMessage {
                    recv_us: time,
                    subject: "feeds.scanner.arbitragescanner",
                    payload: Value::Array(entries).to_string(),
                });
            }
            Feed::Books => {
                let subjects = ["feeds.book.binance", "feeds.book.bybit", "feeds.book.okx", "feeds.book.hyperliquid"];
                // Half-spreads of 0.5 to 3 basis points; sizes worth roughly $5k to $250k a side.
                let shapes: Vec<(i64, i64)> = (0..self.assets.len() * 4)
                    .map(|_| (5 + self.below(26) as i64, 5 + self.below(246) as i64))
                    .collect();
                for (a, asset) in self.assets.iter().enumerate() {
                    let mark = rust_decimal::Decimal::new(asset.mark_cents, 2);
                    for (v, subject) in subjects.iter().enumerate() {
                        let (tenth_bps, thousands) = shapes[a * 4 + v];
                        let half = mark * rust_decimal::Decimal::new(tenth_bps, 5);
                        let (bid, ask) = ((mark - half).round_dp(8).normalize(), (mark + half).round_dp(8).normalize());
                        let qty = (rust_decimal::Decimal::from(thousands * 1000) / mark)
                            .round_dp(3)
                            .normalize()
                            .max(rust_decimal::Decimal::new(1, 3));
                        let payload = if v == 0 {
                            json!({"u": self.sequence, "s": format!("{}USDT", asset.name), "b": bid.to_string(), "B": qty.to_string(), "a": ask.to_string(), "A": qty.to_string()})
                        } else {
                            json!({"symbol": symbol_for(v, &asset.name), "bid": bid.to_string(), "bid_qty": qty.to_string(), "ask": ask.to_string(), "ask_qty": qty.to_string(), "ts_ms": ms})
                        };
                        out.push(SimMessage { recv_us: time, subject, payload: payload.to_string() });
                    }
                }
            }
            Feed::Fills => {
                // One desk trades one asset on one venue at the mark: about $20k a fill, sides at
                // random, so positions drift and now and then flatten.
                let subjects = ["exec.fills.binance", "exec.fills.bybit", "exec.fills.okx", "exec.fills.hyperliquid"];
                let desk = ["desk-a", "desk-b"][self.below(2) as usize];
                let a = self.below(self.assets.len() as u64) as usize;
                let v = self.below(4) as usize;
                let side = if self.below(2) == 0 { "buy" } else { "sell" };
                let asset = &self.assets[a];
                let mark = rust_decimal::Decimal::new(asset.mark_cents, 2);
                let qty =
                    (rust_decimal::Decimal::from(20_000) / mark).round_dp(3).max(rust_decimal::Decimal::new(1, 3));
                let id = format!("sim-{}", self.sequence);
                let payload = json!({"fill_id": id, "client_order_id": id, "account": desk,
                    "symbol": symbol_for(v, &asset.name), "side": side, "price": cents(asset.mark_cents),
                    "qty": qty.normalize().to_string(), "fee": "0", "ts_ms": ms});
                out.push(SimMessage { recv_us: time, subject: subjects[v], payload: payload.to_string() });
            }
        }
    }
}

pub(super) fn symbol_for(venue: usize, asset: &str) -> String {
    match venue {
        2 => format!("{asset}-USDT-SWAP"),
        3 => asset.to_string(),
        _ => format!("{asset}USDT"),
    }
}

fn cents(value: i64) -> String {
    rust_decimal::Decimal::new(value, 2).normalize().to_string()
}

fn millionths(value: i64) -> String {
    rust_decimal::Decimal::new(value, 6).normalize().to_string()
}

/// An 8-hour rate in millionths as an hourly rate (Hyperliquid's native interval).
fn millionths_per_8(value: i64) -> String {
    (rust_decimal::Decimal::new(value, 6) / rust_decimal::Decimal::from(8)).normalize().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_messages_in_time_order() {
        let config = SimulatorConfig::default();
        let run = || {
            let mut sim = Simulator::new(&config);
            let mut out = Vec::new();
            sim.advance(config.start_us + 30 * SECOND, &mut out);
            out
        };
        let (a, b) = (run(), run());
        assert_eq!(a, b);
        assert!(a.windows(2).all(|w| w[0].recv_us <= w[1].recv_us));
        for subject in [
            "feeds.funding.binance",
            "feeds.funding.bybit",
            "feeds.funding.okx",
            "feeds.funding.hyperliquid",
            "feeds.scanner.arbitragescanner",
            "feeds.book.okx",
        ] {
            assert!(a.iter().any(|m| m.subject == subject), "{subject} missing");
        }
    }

    #[test]
    fn venues_go_silent_in_turn() {
        let config = SimulatorConfig::default();
        let mut sim = Simulator::new(&config);
        let mut out = Vec::new();
        sim.advance(config.start_us + 1800 * SECOND, &mut out);
        let binance_gap = out
            .iter()
            .filter(|m| m.subject == "feeds.funding.binance")
            .map(|m| m.recv_us)
            .collect::<Vec<_>>()
            .windows(2)
            .map(|w| w[1] - w[0])
            .max()
            .unwrap_or(0);
        assert!(binance_gap > 180 * SECOND, "binance should be silent longer than the stale horizon");
    }
}
