//! The whole path: the load published on the real nats-server into a fresh `nexus run` (durable:
//! the FEEDS stream, its own database and subject prefix), each message stamped `Nexus-Time` = its intended send time. Every
//! output update on `out.<stream>` carries the logical time of the input that caused it, and
//! reaches NATS after its batch is committed to PostgreSQL: NATS in, dataflows, PostgreSQL, NATS
//! out. Loss is the messages published minus those the worker received, by its own count, once
//! it has drained what it can.

use std::process::Command;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_nats::HeaderMap;
use futures::StreamExt;
use nexus_model::streams::Stream;
use nexus_sinks::postgres::testing::TestDatabase;
use serde_json::Value;

use crate::market::Load;
use crate::report::{RateRun, latency_histogram};
use crate::schedule::{Schedule, cpu_seconds, wall_us};
use crate::support;

/// The run is over once no output has arrived for this long after the last message was sent.
const QUIET: Duration = Duration::from_secs(3);
/// The longest wait for a worker that has fallen behind to drain.
const MOST_DRAIN: Duration = Duration::from_secs(120);

/// Runs `rate` messages/s for `seconds` through a fresh `nexus run --workers N` and measures it.
pub fn run(load: &Load, rate: u64, seconds: u64, workers: usize) -> RateRun {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    runtime.block_on(measure(load, rate, seconds, workers))
}

async fn measure(load: &Load, rate: u64, seconds: u64, workers: usize) -> RateRun {
    let db = TestDatabase::create(true).await.unwrap_or_else(|e| panic!("postgres: {e}"));
    let prefix = format!("e2e{}r{rate}.", std::process::id());
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let config = dir.path().join("nexus.toml");
    let text = format!(
        "[nats]\nprefix = \"{prefix}\"\n\n[postgres]\nurl = \"{}\"\n\n[metrics]\nlisten = \"127.0.0.1:0\"\n",
        db.url
    );
    std::fs::write(&config, text).unwrap_or_else(|e| panic!("{e}"));
    let url = std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_string());
    let client = async_nats::ConnectOptions::new()
        .subscription_capacity(1 << 22)
        .connect(url.as_str())
        .await
        .unwrap_or_else(|e| panic!("nats: {e}"));

    // Output latencies, recorded by a task of their own.
    let recorded = Arc::new(Mutex::new(latency_histogram()));
    let (updates, last_output) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut out = client.subscribe(format!("{prefix}out.>")).await.unwrap_or_else(|e| panic!("{e}"));
    client.flush().await.ok();
    let (histogram, counter, last) = (Arc::clone(&recorded), Arc::clone(&updates), Arc::clone(&last_output));
    tokio::spawn(async move {
        while let Some(message) = out.next().await {
            let now = wall_us();
            let time = serde_json::from_slice::<Value>(&message.payload).ok().and_then(|v| v["time"].as_u64());
            if let (Some(time), Ok(mut histogram)) = (time, histogram.lock()) {
                let _ = histogram.record(now.saturating_sub(time).max(1));
                counter.fetch_add(1, Ordering::Relaxed);
                last.store(now, Ordering::Relaxed);
            }
        }
    });

    let (mut worker, _ready, lines) = support::start_run(&config, workers);
    let pid = worker.id();
    let cpu_before = cpu_seconds(pid);
    let schedule = Schedule::starting_soon(rate, seconds);
    let started = Instant::now();
    // Open loop: every half millisecond, publish what is due by then.
    let mut sent = 0usize;
    while sent < schedule.count {
        let due = schedule.due(wall_us());
        while sent < due {
            let n = sent;
            let (subject, payload) = load.get(n);
            let mut headers = HeaderMap::new();
            headers.insert("Nexus-Time", schedule.stamp(n).to_string().as_str());
            client
                .publish_with_headers(format!("{prefix}{subject}"), headers, payload.clone())
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            sent = n + 1;
        }
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
    client.flush().await.ok();
    let send_seconds = started.elapsed().as_secs_f64();

    // Let the worker drain: wait until no output has arrived for a while. CPU is counted up to
    // the last change seen.
    let mut seen = (updates.load(Ordering::Relaxed), Instant::now(), cpu_seconds(pid));
    while seen.1.elapsed() < QUIET && started.elapsed() < MOST_DRAIN + Duration::from_secs(seconds) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = updates.load(Ordering::Relaxed);
        if now != seen.0 {
            seen = (now, Instant::now(), cpu_seconds(pid));
        }
    }
    let cpu = seen.2 - cpu_before;
    let cpu_wall = seen.1.duration_since(started).as_secs_f64();

    let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status();
    // The worker's last line: "stopped: N messages, L late, S slow-consumer events".
    let (mut received, mut slow) = (None, None);
    for line in lines.map_while(Result::ok) {
        if let Some(rest) = line.strip_prefix("stopped: ") {
            let numbers: Vec<u64> = rest.split(|c: char| !c.is_ascii_digit()).filter_map(|n| n.parse().ok()).collect();
            received = numbers.first().copied();
            slow = numbers.get(2).copied();
        }
    }
    let _ = worker.wait();
    let jetstream = async_nats::jetstream::new(client.clone());
    for stream in [Stream::Feeds, Stream::Exec, Stream::Control, Stream::Orders] {
        let _ = jetstream.delete_stream(stream.name(&prefix)).await;
    }
    drop(db);
    let latency = recorded.lock().map(|h| h.clone()).unwrap_or_else(|_| panic!("histogram"));
    RateRun {
        path: "nats",
        rate,
        sent: sent as u64,
        send_seconds,
        drain_seconds: last_output.load(Ordering::Relaxed).saturating_sub(schedule.start_us) as f64 / 1e6,
        latency,
        output_updates: updates.load(Ordering::Relaxed),
        cpu_cores: cpu / cpu_wall.max(1e-9),
        received,
        slow_consumer_events: slow,
        rounds: None,
    }
}
