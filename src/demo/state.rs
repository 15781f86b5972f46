//! What the demo shows: the current snapshots and discrepancies (rebuilt from the output updates),
//! counters, and the latency from a simulated message's send to the completion of its outputs.

use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

use hdrhistogram::Histogram;
use nexus_model::records::{
    Alert, Decision, Discrepancy, OrderAction, OrderIntent, OutputStream, Ranked, Snapshot, VarFigures,
};
use nexus_model::{Dec, LogicalTime};
use nexus_sinks::complete::CompleteBatch;

/// Orders kept for the view.
const RECENT_ORDERS: usize = 8;

/// The demo's live picture of the outputs.
pub struct DemoState {
    /// Current snapshot per (venue, asset).
    pub snapshots: BTreeMap<(String, String), Snapshot>,
    /// Current discrepancies per (venue, asset).
    pub discrepancies: BTreeMap<(String, String), Discrepancy>,
    /// The current ranking, by rank.
    pub ranked: BTreeMap<u32, Ranked>,
    /// Current VaR per account.
    pub var: BTreeMap<String, VarFigures>,
    /// Standing manipulation alerts by id.
    pub alerts: BTreeMap<String, Alert>,
    /// The gate's current decision per arbitrage (accepted ones are open).
    pub decisions: BTreeMap<String, Decision>,
    /// The latest orders sent, newest last.
    pub orders: VecDeque<(LogicalTime, OrderIntent)>,
    /// Orders sent so far, per action (open, close, unwind).
    pub orders_sent: BTreeMap<OrderAction, u64>,
    /// The gate account's P&L at the paper venue's prices, once it has traded.
    pub pnl: Option<Dec>,
    /// Paper fills so far.
    pub fills: u64,
    /// Orders the paper venue refused so far.
    pub refused: u64,
    /// Opportunities currently open.
    pub opportunities: u64,
    /// Rejected inputs so far.
    pub rejected: u64,
    /// Output updates so far.
    pub updates: u64,
    /// Everything before this logical time is complete.
    pub frontier: LogicalTime,
    /// Latency (µs) from a round's send to the completion of its outputs.
    pub latency: Histogram<u64>,
    /// Rounds sent and not yet complete: (watermark, sent at).
    in_flight: VecDeque<(LogicalTime, Instant)>,
}

impl Default for DemoState {
    fn default() -> Self {
        DemoState {
            snapshots: BTreeMap::new(),
            discrepancies: BTreeMap::new(),
            ranked: BTreeMap::new(),
            var: BTreeMap::new(),
            alerts: BTreeMap::new(),
            decisions: BTreeMap::new(),
            orders: VecDeque::new(),
            orders_sent: BTreeMap::new(),
            pnl: None,
            fills: 0,
            refused: 0,
            opportunities: 0,
            rejected: 0,
            updates: 0,
            frontier: 0,
            // Constant, valid bounds: 1 µs to 60 s at 3 significant digits.
            latency: Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds"),
            in_flight: VecDeque::new(),
        }
    }
}

impl DemoState {
    /// Notes that the inputs up to `watermark` were sent now.
    pub fn sent(&mut self, watermark: LogicalTime, at: Instant) {
        self.in_flight.push_back((watermark, at));
    }

    /// Applies a batch of complete times.
    pub fn apply(&mut self, batch: &CompleteBatch) {
        for (time, streams) in &batch.times {
            for (stream, updates) in streams {
                self.updates += updates.len() as u64;
                // Within a time, retractions first so a changed record is replaced, not removed.
                let ordered = updates.iter().filter(|(_, d)| *d < 0).chain(updates.iter().filter(|(_, d)| *d > 0));
                for (data, diff) in ordered {
                    match stream {
                        OutputStream::Snapshots => apply_keyed(&mut self.snapshots, data, *diff, |s: &Snapshot| {
                            (s.venue.name().to_string(), s.symbol.to_string())
                        }),
                        OutputStream::Discrepancies => {
                            apply_keyed(&mut self.discrepancies, data, *diff, |d: &Discrepancy| {
                                (d.venue.name().to_string(), d.symbol.to_string())
                            })
                        }
                        OutputStream::Ranked => apply_keyed(&mut self.ranked, data, *diff, |r: &Ranked| r.rank),
                        OutputStream::Var => {
                            apply_keyed(&mut self.var, data, *diff, |v: &VarFigures| v.account.to_string())
                        }
                        OutputStream::Alerts => {
                            apply_keyed(&mut self.alerts, data, *diff, |a: &Alert| a.alert_id.to_string())
                        }
                        OutputStream::Decisions => {
                            apply_keyed(&mut self.decisions, data, *diff, |d: &Decision| d.arb_id.clone())
                        }
                        OutputStream::Orders if *diff > 0 => {
                            if let Ok(order) = serde_json::from_str::<OrderIntent>(data) {
                                *self.orders_sent.entry(order.action).or_insert(0) += 1;
                                self.orders.push_back((*time, order));
                                while self.orders.len() > RECENT_ORDERS {
                                    self.orders.pop_front();
                                }
                            }
                        }
                        OutputStream::Opportunities => {
                            self.opportunities = self.opportunities.saturating_add_signed(*diff as i64);
                        }
                        OutputStream::Rejected if *diff > 0 => self.rejected += *diff as u64,
                        _ => {}
                    }
                }
            }
        }
        self.frontier = self.frontier.max(batch.frontier);
        let now = Instant::now();
        while let Some((watermark, sent)) = self.in_flight.front().copied() {
            if watermark > self.frontier {
                break;
            }
            self.in_flight.pop_front();
            let _ = self.latency.record(now.duration_since(sent).as_micros().max(1) as u64);
        }
    }

    /// The paper venue's figures.
    pub fn paper(&mut self, pnl: Dec, fills: u64, refused: u64) {
        self.pnl = (fills > 0).then_some(pnl);
        self.fills = fills;
        self.refused = refused;
    }

    /// The open arbitrages (accepted decisions).
    pub fn open_arbitrages(&self) -> Vec<&Decision> {
        self.decisions.values().filter(|d| d.accepted).collect()
    }

    /// The most recent standing alerts, latest first.
    pub fn latest_alerts(&self, count: usize) -> Vec<&Alert> {
        let mut alerts: Vec<&Alert> = self.alerts.values().collect();
        alerts.sort_by(|a, b| (b.last_us, &b.alert_id).cmp(&(a.last_us, &a.alert_id)));
        alerts.truncate(count);
        alerts
    }

    /// Latency percentiles in milliseconds: (p50, p99, max).
    pub fn latency_ms(&self) -> (f64, f64, f64) {
        let ms = |us: u64| us as f64 / 1000.0;
        if self.latency.is_empty() {
            return (0.0, 0.0, 0.0);
        }
        (ms(self.latency.value_at_quantile(0.5)), ms(self.latency.value_at_quantile(0.99)), ms(self.latency.max()))
    }
}

/// Applies one update of a stream whose records are keyed: an insertion sets the key's record, a
/// retraction removes it only if it is still the one retracted (retractions come first in a time).
fn apply_keyed<K: Ord, R: serde::de::DeserializeOwned + PartialEq>(
    map: &mut BTreeMap<K, R>,
    data: &str,
    diff: isize,
    key: impl Fn(&R) -> K,
) {
    let Ok(record) = serde_json::from_str::<R>(data) else { return };
    let key = key(&record);
    if diff > 0 {
        map.insert(key, record);
    } else if map.get(&key) == Some(&record) {
        map.remove(&key);
    }
}
