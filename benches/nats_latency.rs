//! End-to-end latency through NATS at fixed rates (issue 9, second part): an open-loop publisher
//! sends the simulated market (funding, books, order flow and trades over 50 assets) into
//! `nexus run` at a fixed rate, each message stamped `Nexus-Time` = its intended send time. Every
//! output update on `out.<stream>` carries the logical time of the input that caused it, so its
//! latency is its arrival minus that intended send time: the publisher falling behind counts
//! against it (no coordinated omission). Outputs reach `out.*` after their batch is committed to
//! PostgreSQL, so this is the whole path: NATS in, dataflows, PostgreSQL, NATS out.
//!
//! Also reported per rate: the rate achieved, loss (messages published minus messages the worker
//! received, from its own count), and the worker's CPU use.
//!
//! Run: `cargo bench --bench nats_latency` (options: `-- --rates 10000,50000 --seconds N --workers N`).
//! Needs the services of the README; uses a fresh database and subject prefix and removes them.
//! Writes `target/bench-report/nats_latency.json` and prints it.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_nats::HeaderMap;
use futures::StreamExt;
use hdrhistogram::Histogram;
use nexus_sinks::nats::stream_name;
use nexus_sinks::postgres::testing::TestDatabase;
use nexus_sources::simulator::{SimMessage, Simulator, SimulatorConfig};
use serde_json::{Value, json};

/// `workers.tick_us`: live receive times are rounded down to it.
const TICK_US: u64 = 1_000;

fn wall_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

/// Simulated messages, cycled as needed: 50 assets, order flow included.
fn market(count: usize) -> Vec<SimMessage> {
    let config =
        SimulatorConfig { assets: (0..50).map(|i| format!("A{i:03}")).collect(), ..SimulatorConfig::default() };
    let mut simulator = Simulator::new(&config);
    let (mut until, mut messages) = (config.start_us, Vec::with_capacity(count));
    while messages.len() < count {
        until += 1_000_000;
        simulator.advance(until, &mut messages);
    }
    messages.truncate(count);
    messages
}

/// The worker's CPU time so far (user + system), in seconds, from /proc.
fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return 0.0 };
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rates: Vec<u64> = arg(&args, "--rates")
        .unwrap_or_else(|| "10000,50000,100000,200000".to_string())
        .split(',')
        .filter_map(|r| r.trim().parse().ok())
        .collect();
    let seconds: u64 = arg(&args, "--seconds").and_then(|s| s.parse().ok()).unwrap_or(10);
    let workers: usize = arg(&args, "--workers").and_then(|s| s.parse().ok()).unwrap_or(2);
    let most = rates.iter().max().copied().unwrap_or(0) as usize * seconds as usize;
    let messages = market(most.clamp(1, 2_000_000));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let report = runtime.block_on(async move {
        let db = TestDatabase::create(true).await.unwrap_or_else(|e| panic!("postgres: {e}"));
        let prefix = format!("lat{}.", std::process::id());
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let config = dir.path().join("nexus.toml");
        std::fs::write(&config, format!("[nats]\nprefix = \"{prefix}\"\n\n[postgres]\nurl = \"{}\"\n", db.url))
            .unwrap_or_else(|e| panic!("{e}"));
        let url = std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_string());
        let client = async_nats::ConnectOptions::new()
            .subscription_capacity(1 << 22)
            .connect(url.as_str())
            .await
            .unwrap_or_else(|e| panic!("nats: {e}"));

        // Output latencies, recorded by a task of their own.
        let histogram = Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(1, 600_000_000, 3).unwrap_or_else(|e| panic!("{e}"))));
        let outputs = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let mut out = client.subscribe(format!("{prefix}out.>")).await.unwrap_or_else(|e| panic!("{e}"));
        client.flush().await.ok();
        let (recorder, counter) = (Arc::clone(&histogram), Arc::clone(&outputs));
        tokio::spawn(async move {
            while let Some(message) = out.next().await {
                let now = wall_us();
                let time = serde_json::from_slice::<Value>(&message.payload).ok().and_then(|v| v["time"].as_u64());
                if let (Some(time), Ok(mut histogram)) = (time, recorder.lock()) {
                    let _ = histogram.record(now.saturating_sub(time).max(1));
                    counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        });

        let (mut worker, lines) = support::start_run(&config, workers);
        let pid = worker.id();

        let mut runs = Vec::new();
        let mut published_total = 0u64;
        let mut cursor = 0usize;
        for rate in &rates {
            if let Ok(mut h) = histogram.lock() {
                h.reset();
            }
            outputs.store(0, std::sync::atomic::Ordering::Relaxed);
            let count = (*rate * seconds) as usize;
            let cpu_before = cpu_seconds(pid);
            let start = wall_us() + 10_000;
            let started = Instant::now();
            // Open loop: every millisecond, publish what is due by then.
            let mut sent = 0usize;
            while sent < count {
                let now = wall_us();
                let due = (((now.saturating_sub(start)) as u128 * *rate as u128 / 1_000_000) as usize + 1).min(count);
                while sent < due {
                    let message = &messages[cursor % messages.len()];
                    cursor += 1;
                    let intended = start + (sent as u128 * 1_000_000 / *rate as u128) as u64;
                    // Stamped like a live message: the intended time rounded down to the worker's
                    // 1 ms tick (latency is measured from the tick's start: at most 1 ms too much).
                    let stamped = intended - intended % TICK_US;
                    let mut headers = HeaderMap::new();
                    headers.insert("Nexus-Time", stamped.to_string().as_str());
                    let subject = format!("{prefix}{}", message.subject);
                    client
                        .publish_with_headers(subject, headers, message.payload.clone().into())
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                    sent += 1;
                }
                tokio::time::sleep(Duration::from_micros(500)).await;
            }
            client.flush().await.ok();
            let publishing = started.elapsed().as_secs_f64();
            published_total += count as u64;
            // Let the outputs of the last messages arrive.
            tokio::time::sleep(Duration::from_secs(3)).await;
            let elapsed = started.elapsed().as_secs_f64();
            let cpu = (cpu_seconds(pid) - cpu_before) / elapsed;
            let h = histogram.lock().map(|h| h.clone()).unwrap_or_else(|_| panic!("histogram"));
            let ms = |us: u64| us as f64 / 1000.0;
            runs.push(json!({
                "rate": rate,
                "messages": count,
                "achieved_rate": count as f64 / publishing,
                "output_updates": outputs.load(std::sync::atomic::Ordering::Relaxed),
                "latency_ms": {"p50": ms(h.value_at_quantile(0.5)), "p99": ms(h.value_at_quantile(0.99)),
                    "p999": ms(h.value_at_quantile(0.999)), "max": ms(h.max())},
                "worker_cpu_cores": cpu,
            }));
            eprintln!("{}", runs.last().map(|r| r.to_string()).unwrap_or_default());
        }

        let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status();
        // "stopped: N messages, L late, S slow-consumer events"
        let mut received = None;
        for line in lines.map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("stopped: ") {
                received = rest.split_whitespace().next().and_then(|n| n.parse::<u64>().ok());
            }
        }
        let _ = worker.wait();
        let _ = async_nats::jetstream::new(client.clone()).delete_stream(stream_name(&prefix)).await;
        drop(db);
        json!({
            "bench": "nats_latency",
            "what": "intended send time of an input -> its output update on out.<stream> (NATS in, dataflows, PostgreSQL, NATS out)",
            "workers": workers,
            "seconds_per_rate": seconds,
            "published": published_total,
            "received_by_worker": received,
            "lost": received.map(|r| published_total.saturating_sub(r)),
            "machine": format!("{} cores", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)),
            "runs": runs,
        })
    });
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-report");
    let _ = std::fs::create_dir_all(&dir);
    let text = serde_json::to_string_pretty(&report).unwrap_or_default();
    let _ = std::fs::write(dir.join("nats_latency.json"), &text);
    println!("{text}");
}
