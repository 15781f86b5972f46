//! `nexus simulate`: the demo's market simulator, published into NATS in the venues' formats. Each
//! message carries its simulated time as `Nexus-Time`, so a run over it is as deterministic as a
//! replay of the same seed.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use async_nats::HeaderMap;
use bytes::Bytes;
use nexus_sources::jetstream::ensure_input_streams;

use crate::error_chain::error_chain;
use nexus_sources::nats::{NEXUS_TIME_HEADER, NatsConnection};
use nexus_sources::simulator::{ExpectedAlert, OrderFlow, OrderFlowConfig, SimMessage, Simulator, SimulatorConfig};

/// How often the simulator releases messages.
const TICK: Duration = Duration::from_millis(20);

/// Why simulating failed.
#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    /// The server could not be reached.
    #[error("cannot connect to nats at {url}")]
    Connect {
        /// The URL.
        url: String,
        /// The cause.
        #[source]
        source: async_nats::ConnectError,
    },
    /// A publish or flush failed.
    #[error("cannot publish to nats: {0}")]
    Publish(String),
}

/// Writes `seconds` of the simulated market (logical time) to a recording at `path`, as fast as
/// possible; returns the number of messages written.
pub fn write_recording(path: &std::path::Path, seed: u64, seconds: u64) -> std::io::Result<u64> {
    use std::io::Write;
    let config = SimulatorConfig { seed, ..SimulatorConfig::default() };
    let mut simulator = Simulator::new(&config);
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let (mut written, mut messages) = (0u64, Vec::new());
    for second in 1..=seconds {
        simulator.advance(config.start_us + second * 1_000_000, &mut messages);
        written += write_lines(&mut out, &mut messages)?;
    }
    out.flush()?;
    Ok(written)
}

/// Writes `messages` as recording lines and empties it; returns how many were written.
fn write_lines(out: &mut impl std::io::Write, messages: &mut Vec<SimMessage>) -> std::io::Result<u64> {
    let count = messages.len() as u64;
    for message in messages.drain(..) {
        writeln!(out, "{}", message.recording_line())?;
    }
    Ok(count)
}

/// Writes a recording of order flow alone (benign market makers, trades and a manipulation
/// episode every minute) until it holds at least `events` messages and every episode under way
/// has ended, as fast as possible; returns the number written and the alerts the injected
/// episodes must raise.
pub fn write_order_flow(path: &std::path::Path, seed: u64, events: u64) -> std::io::Result<(u64, Vec<ExpectedAlert>)> {
    use std::io::Write;
    let config = OrderFlowConfig { seed, ..OrderFlowConfig::default() };
    let mut flow = OrderFlow::new(&config);
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let (mut written, mut messages, mut second) = (0u64, Vec::new(), 0u64);
    while written < events {
        second += 1;
        flow.advance(config.start_us + second * 1_000_000, &mut messages);
        written += write_lines(&mut out, &mut messages)?;
    }
    // The episodes under way end too, so that every expected alert can be raised.
    flow.finish(&mut messages);
    written += write_lines(&mut out, &mut messages)?;
    out.flush()?;
    Ok((written, flow.expected().to_vec()))
}

/// An alert by what identifies an injected episode: (pattern, venue, account, symbol).
pub type EpisodeKey = (String, String, String, String);

/// How many alerts each injected episode must raise, by [`EpisodeKey`].
pub fn expected_counts(expected: &[ExpectedAlert]) -> BTreeMap<EpisodeKey, i64> {
    let mut counts = BTreeMap::new();
    for e in expected {
        let key = (e.pattern.name().to_string(), e.venue.to_string(), e.account.clone(), e.symbol.to_string());
        *counts.entry(key).or_insert(0) += 1;
    }
    counts
}

/// The alerts standing at the end of an `alerts.jsonl` file, counted by [`EpisodeKey`]; lines that
/// are not alert updates are skipped.
pub fn standing_alerts(path: &std::path::Path) -> std::io::Result<BTreeMap<EpisodeKey, i64>> {
    let mut counts = BTreeMap::new();
    for line in std::fs::read_to_string(path)?.lines() {
        let Ok(line) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        let a = &line["data"];
        let [pattern, venue, account, symbol] =
            [&a["pattern"], &a["venue"], &a["account"], &a["symbol"]].map(|v| v.as_str().unwrap_or("").to_string());
        *counts.entry((pattern, venue, account, symbol)).or_insert(0) += line["diff"].as_i64().unwrap_or(0);
    }
    counts.retain(|_, count: &mut i64| *count != 0);
    Ok(counts)
}

/// Publishes the simulated market at `speed` times real time until Ctrl-C or `duration`; returns
/// the number of messages published.
pub async fn simulate(
    connection: &NatsConnection,
    prefix: &str,
    seed: u64,
    speed: f64,
    duration: Option<Duration>,
) -> Result<u64, SimulateError> {
    let client = connection
        .connect()
        .await
        .map_err(|source| SimulateError::Connect { url: connection.redacted_url(), source })?;
    // The input streams store what is published before any worker starts (a durable `nexus run`
    // reads it from the start).
    let context = async_nats::jetstream::new(client.clone());
    ensure_input_streams(&context, prefix).await.map_err(|e| SimulateError::Publish(error_chain(&e)))?;
    let config = SimulatorConfig { seed, ..SimulatorConfig::default() };
    let mut simulator = Simulator::new(&config);
    let started = Instant::now();
    let stop = crate::run::wait_for_signal();
    tokio::pin!(stop);
    let mut published = 0u64;
    let mut messages = Vec::new();
    let mut ticker = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            _ = ticker.tick() => {}
        }
        if duration.is_some_and(|d| started.elapsed() >= d) {
            break;
        }
        let until = config.start_us + (started.elapsed().as_secs_f64() * speed * 1e6) as u64;
        messages.clear();
        simulator.advance(until, &mut messages);
        for message in messages.drain(..) {
            let mut headers = HeaderMap::new();
            headers.insert(NEXUS_TIME_HEADER, message.recv_us.to_string().as_str());
            client
                .publish_with_headers(format!("{prefix}{}", message.subject), headers, Bytes::from(message.payload))
                .await
                .map_err(|e| SimulateError::Publish(e.to_string()))?;
            published += 1;
        }
    }
    client.flush().await.map_err(|e| SimulateError::Publish(e.to_string()))?;
    Ok(published)
}
