//! The input: the demo's simulated market (8 assets or more on four venues, the scanner, books, two desks
//! trading and the order flow of 30 accounts), spread over each second on the 1 ms tick as a live
//! feed is, and decoded by the real decoder into typed inputs.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use nexus_model::LogicalTime as Time;
use nexus_model::config::Config;
use nexus_model::funding::FundingUpdate;
use nexus_model::market::{BookTop, Fill, OrderEvent, Trade};
use nexus_sources::decode::{Decoder, Input};
use nexus_sources::message::Message;
use nexus_sources::simulator::{Simulator, SimulatorConfig};

/// The live tick (`workers.tick_us`).
const TICK_US: Time = 1_000;

/// Every decoded input with its logical time and arrival sequence, in time order.
#[derive(Default)]
pub struct Decoded {
    /// Funding observations.
    pub funding: Vec<(Time, u64, FundingUpdate)>,
    /// Tops of book.
    pub books: Vec<(Time, u64, BookTop)>,
    /// Our desks' fills.
    pub fills: Vec<(Time, u64, Fill)>,
    /// Order events of the order flow.
    pub orders: Vec<(Time, u64, OrderEvent)>,
    /// Public trades.
    pub trades: Vec<(Time, u64, Trade)>,
    /// Messages decoded.
    pub messages: u64,
    /// Logical time of the last message.
    pub end: Time,
}

impl Decoded {
    /// `seconds` of the simulated market from its start, over `assets` assets (the demo's 8 first).
    pub fn simulate(config: &Config, seconds: u64, assets: usize) -> Decoded {
        let defaults = SimulatorConfig::default();
        let names = defaults.assets.iter().cloned().chain((defaults.assets.len()..).map(|i| format!("A{i:03}")));
        let sim = SimulatorConfig { assets: names.take(assets.max(1)).collect(), ..defaults };
        let mut simulator = Simulator::new(&sim);
        let mut decoder = Decoder::new(Arc::new(config.clone()));
        let mut decoded = Decoded::default();
        let mut batch = Vec::new();
        for second in 1..=seconds {
            let second_start = sim.start_us + (second - 1) * 1_000_000;
            simulator.advance(second_start + 1_000_000, &mut batch);
            // The simulator dates a second's market data at its start; a live feed spreads it over
            // the second, and the worker stamps it on the 1 ms tick.
            let count = batch.len().max(1) as u64;
            for (index, m) in batch.drain(..).enumerate() {
                let spread = second_start + index as u64 * 1_000_000 / count;
                let time = spread - spread % TICK_US;
                let seq = decoded.messages;
                decoded.messages += 1;
                decoded.end = time;
                let message = Message { seq, time, subject: m.subject.to_string(), payload: Bytes::from(m.payload) };
                decoder.decode(&message, |result| match result {
                    Ok(Input::Funding(u)) => decoded.funding.push((message.time, seq, u)),
                    Ok(Input::Book(b)) => decoded.books.push((message.time, seq, b)),
                    Ok(Input::Fill(f)) => decoded.fills.push((message.time, seq, f)),
                    Ok(Input::Order(o)) => decoded.orders.push((message.time, seq, o)),
                    Ok(Input::Trade(t)) => decoded.trades.push((message.time, seq, t)),
                    Ok(Input::Config(_) | Input::Halt(_)) | Err(_) => {}
                });
            }
        }
        decoded
    }
}

/// The updates of "the latest value per key" over `inputs` (in time order): each new value is
/// inserted and the one it replaces retracted, as `latest_by_key` does.
pub fn upserts<K: Ord + Clone, V: Clone + PartialEq, R>(
    inputs: impl IntoIterator<Item = (Time, K, V)>,
    record: impl Fn(&K, &V) -> R,
) -> Vec<(R, Time, isize)> {
    let mut latest: BTreeMap<K, V> = BTreeMap::new();
    let mut updates = Vec::new();
    for (time, key, value) in inputs {
        if let Some(old) = latest.insert(key.clone(), value.clone()) {
            if old == value {
                continue;
            }
            updates.push((record(&key, &old), time, -1));
        }
        updates.push((record(&key, &value), time, 1));
    }
    updates
}

/// The collection described by `updates` (in time order) at increasing times: the running
/// counts are kept in `state` so that successive calls walk the history once.
pub struct Running<R> {
    /// Records with their counts so far.
    pub state: BTreeMap<R, isize>,
    next: usize,
}

impl<R: Ord + Clone> Running<R> {
    /// Nothing accumulated yet.
    pub fn new() -> Running<R> {
        Running { state: BTreeMap::new(), next: 0 }
    }

    /// Accumulates the updates up to and including `at`; returns the records present.
    pub fn at(&mut self, updates: &[(R, Time, isize)], at: Time) -> Vec<R> {
        while let Some((record, _, diff)) = updates.get(self.next).filter(|u| u.1 <= at) {
            let count = self.state.entry(record.clone()).or_insert(0);
            *count += diff;
            if *count == 0 {
                self.state.remove(record);
            }
            self.next += 1;
        }
        self.state.keys().cloned().collect()
    }
}
