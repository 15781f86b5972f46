//! The load: the demo's market simulator over 50 assets (funding on every venue, the scanner,
//! books, and the order flow of 30 accounts with their trades), generated once and cycled.

use std::collections::BTreeMap;

use bytes::Bytes;
use nexus_sources::simulator::{Simulator, SimulatorConfig};

/// One message to send: subject (without prefix) and payload.
pub struct Load {
    /// The messages, in simulated order.
    pub messages: Vec<(&'static str, Bytes)>,
}

impl Load {
    /// At least `count` messages of the simulated market (all of it when fewer are asked for).
    pub fn simulated(count: usize) -> Load {
        let config =
            SimulatorConfig { assets: (0..50).map(|i| format!("A{i:03}")).collect(), ..SimulatorConfig::default() };
        let mut simulator = Simulator::new(&config);
        let (mut until, mut generated) = (config.start_us, Vec::with_capacity(count));
        while generated.len() < count.max(1) {
            until += 1_000_000;
            simulator.advance(until, &mut generated);
        }
        generated.truncate(count.max(1));
        Load { messages: generated.into_iter().map(|m| (m.subject, Bytes::from(m.payload))).collect() }
    }

    /// The `n`-th message sent (the load repeats once exhausted).
    pub fn get(&self, n: usize) -> &(&'static str, Bytes) {
        &self.messages[n % self.messages.len()]
    }

    /// Share of the messages per subject family (`feeds.funding`, `feeds.book`, ...), in percent.
    pub fn mix(&self) -> BTreeMap<String, f64> {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for (subject, _) in &self.messages {
            let family = subject.split('.').take(2).collect::<Vec<_>>().join(".");
            *counts.entry(family).or_default() += 1;
        }
        let total = self.messages.len().max(1) as f64;
        counts.into_iter().map(|(family, n)| (family, (n as f64 * 1000.0 / total).round() / 10.0)).collect()
    }
}
