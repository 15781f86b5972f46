//! What the demo shows: the current snapshots and discrepancies (rebuilt from the output updates),
//! counters, and the latency from a simulated message's send to the completion of its outputs.

use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

use hdrhistogram::Histogram;
use nexus_model::LogicalTime;
use nexus_model::records::{Alert, Discrepancy, OutputStream, Ranked, Snapshot, VarFigures};
use nexus_sinks::complete::CompleteBatch;

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
        for (_, streams) in &batch.times {
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
