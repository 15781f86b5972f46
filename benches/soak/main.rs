//! Soak: `nexus run` (durable, JetStream) fed the simulated market at a fixed rate through the
//! real nats-server for a long time, sampling the worker's resident memory, how far it has got
//! and its own metrics. Resident memory must stop growing once the windows are full.
//!
//! Run: `cargo bench --bench soak` (options after `--`: `--rate 20000`, `--seconds 600`,
//! `--workers 2`, `--every 10`, `--mix market|funding-books`, `--short-windows`). Needs nats-server and PostgreSQL as the tests do. Writes
//! `target/bench-report/soak.json` and prints one line per sample.
//!
//! The market never repeats: the simulator (50 assets, funding on four venues, the scanner, books
//! and the order flow of 30 accounts) is advanced as the run goes, so order ids and prices are
//! always new. Each message is stamped `Nexus-Time` = its intended send time (open loop).

#[path = "../end_to_end/schedule.rs"]
#[allow(dead_code)]
mod schedule;
#[path = "../support/mod.rs"]
mod support;

use std::collections::VecDeque;
use std::process::Command;
use std::time::{Duration, Instant};

use async_nats::HeaderMap;
use bytes::Bytes;
use nexus_model::streams::Stream;
use nexus_sinks::postgres::testing::TestDatabase;
use nexus_sources::simulator::{Simulator, SimulatorConfig};
use schedule::{Schedule, cpu_seconds, wall_us};

/// `--short-windows`: every window of the configuration at most about a minute of logical time,
/// so the state is fully warmed up within a run of minutes (the defaults keep up to 4 hours).
const SHORT_WINDOWS: &str = "
[var]
bar_ms = 1000
window_bars = 60

[surveillance]
critical_window_ms = 60000

[surveillance.spoofing]
baseline_ms = 60000

[surveillance.ignition]
reversal_ms = 30000
";

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The simulated market, generated a simulated second at a time as it is consumed.
struct Market {
    simulator: Simulator,
    until: u64,
    buffer: VecDeque<(&'static str, Bytes)>,
}

impl Market {
    /// The market with its order flow (`market`), or funding, scanner and books only
    /// (`funding-books`).
    fn new(mix: &str) -> Market {
        let mut config =
            SimulatorConfig { assets: (0..50).map(|i| format!("A{i:03}")).collect(), ..SimulatorConfig::default() };
        match mix {
            "market" => {}
            "funding-books" => config.orders = None,
            other => panic!("--mix: unknown mix {other:?} (valid: market, funding-books)"),
        }
        Market { simulator: Simulator::new(&config), until: config.start_us, buffer: VecDeque::new() }
    }

    fn next(&mut self) -> (&'static str, Bytes) {
        while self.buffer.is_empty() {
            let mut generated = Vec::new();
            self.until += 1_000_000;
            self.simulator.advance(self.until, &mut generated);
            self.buffer.extend(generated.into_iter().map(|m| (m.subject, Bytes::from(m.payload))));
        }
        self.buffer.pop_front().unwrap_or_else(|| unreachable!("refilled above"))
    }
}

/// Resident memory of a process, MiB.
fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

/// The sum of every sample of a metric family (`name{...} value` lines and `name value`).
fn metric_sum(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.split(['{', ' ']).next() == Some(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn scrape(address: &str) -> String {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(address) else { return String::new() };
    let _ = write!(stream, "GET /metrics HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.split_once("\r\n\r\n").map(|(_, body)| body.to_string()).unwrap_or_default()
}

/// One sample of the run.
#[derive(serde::Serialize)]
struct Sample {
    /// Seconds since the first message was due.
    at_s: f64,
    /// Messages published so far.
    sent: u64,
    /// Messages the worker has received (its `nexus_events_in_total`).
    received: f64,
    /// Worker resident memory, MiB.
    rss_mib: f64,
    /// Intended time of the newest message minus the committed frontier, seconds.
    behind_s: f64,
    /// Worker CPU over the last interval, cores.
    cpu_cores: f64,
    /// Mean round latency over the last interval (dispatch to complete), ms.
    round_latency_ms: f64,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rate: u64 = arg(&args, "--rate", 20_000);
    let seconds: u64 = arg(&args, "--seconds", 600);
    let workers: usize = arg(&args, "--workers", 2);
    let every: u64 = arg(&args, "--every", 10);
    let mix: String = arg(&args, "--mix", "market".to_string());
    let short_windows = args.iter().any(|a| a == "--short-windows");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    runtime.block_on(soak(rate, seconds, workers, every, &mix, short_windows));
}

async fn soak(rate: u64, seconds: u64, workers: usize, every: u64, mix: &str, short_windows: bool) {
    let db = TestDatabase::create(true).await.unwrap_or_else(|e| panic!("postgres: {e}"));
    let prefix = format!("soak{}.", std::process::id());
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let config = dir.path().join("nexus.toml");
    let mut text = format!(
        "[nats]\nprefix = \"{prefix}\"\n\n[postgres]\nurl = \"{}\"\n\n[metrics]\nlisten = \"127.0.0.1:0\"\n",
        db.url
    );
    if short_windows {
        text.push_str(SHORT_WINDOWS);
    }
    std::fs::write(&config, text).unwrap_or_else(|e| panic!("{e}"));
    let url = std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_string());
    let client = async_nats::connect(url.as_str()).await.unwrap_or_else(|e| panic!("nats: {e}"));

    let (mut worker, ready, lines) = support::start_run(&config, workers);
    let address = ready.split("http://").nth(1).and_then(|r| r.split('/').next()).unwrap_or_default().to_string();
    std::thread::spawn(move || for _ in lines {});
    let pid = worker.id();
    println!(
        "soak: {rate} msg/s of the {mix} mix for {seconds} s into nexus run --workers {workers} (pid {pid}, metrics {address})"
    );

    let mut market = Market::new(mix);
    let schedule = Schedule::starting_soon(rate, seconds);
    let mut samples = Vec::new();
    let mut sent = 0usize;
    let mut next_sample = Instant::now() + Duration::from_secs(every);
    let mut last_cpu = (cpu_seconds(pid), Instant::now());
    let mut last_latency = (0.0, 0.0);
    loop {
        let due = schedule.due(wall_us());
        while sent < due {
            let (subject, payload) = market.next();
            let mut headers = HeaderMap::new();
            headers.insert("Nexus-Time", schedule.stamp(sent).to_string().as_str());
            client
                .publish_with_headers(format!("{prefix}{subject}"), headers, payload)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            sent += 1;
        }
        if Instant::now() >= next_sample || sent >= schedule.count {
            next_sample += Duration::from_secs(every);
            let metrics = scrape(&address);
            let committed = metric_sum(&metrics, "nexus_committed_frontier_us");
            let newest = schedule.intended(sent.saturating_sub(1)) as f64;
            let cpu = (cpu_seconds(pid), Instant::now());
            let latency = (
                metric_sum(&metrics, "nexus_input_to_output_latency_seconds_sum"),
                metric_sum(&metrics, "nexus_input_to_output_latency_seconds_count"),
            );
            let rounds = latency.1 - last_latency.1;
            let sample = Sample {
                at_s: wall_us().saturating_sub(schedule.start_us) as f64 / 1e6,
                sent: sent as u64,
                received: metric_sum(&metrics, "nexus_events_in_total"),
                rss_mib: rss_mib(pid),
                behind_s: (newest - committed).max(0.0) / 1e6,
                cpu_cores: (cpu.0 - last_cpu.0) / cpu.1.duration_since(last_cpu.1).as_secs_f64().max(1e-9),
                round_latency_ms: if rounds > 0.0 { (latency.0 - last_latency.0) / rounds * 1e3 } else { 0.0 },
            };
            println!(
                "t={:6.0}s sent={:>9} received={:>9.0} rss={:7.1} MiB behind={:6.2}s cpu={:.2} round={:.1}ms",
                sample.at_s,
                sample.sent,
                sample.received,
                sample.rss_mib,
                sample.behind_s,
                sample.cpu_cores,
                sample.round_latency_ms
            );
            samples.push(sample);
            last_cpu = cpu;
            last_latency = latency;
            if sent >= schedule.count {
                break;
            }
        }
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
    let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status();
    let _ = worker.wait();
    let jetstream = async_nats::jetstream::new(client.clone());
    for stream in [Stream::Feeds, Stream::Exec, Stream::Control, Stream::Orders] {
        let _ = jetstream.delete_stream(stream.name(&prefix)).await;
    }
    drop(db);

    // Growth: the last fifth of the run against the second fifth (after warm-up).
    let fifth = samples.len() / 5;
    let mean = |s: &[Sample]| s.iter().map(|x| x.rss_mib).sum::<f64>() / s.len().max(1) as f64;
    let (early, late) = (mean(&samples[fifth..2 * fifth]), mean(&samples[samples.len() - fifth..]));
    println!(
        "rss: {early:.1} MiB in the second fifth, {late:.1} MiB in the last fifth ({:+.1}%)",
        (late / early - 1.0) * 100.0
    );
    let report = serde_json::json!({
        "rate": rate, "seconds": seconds, "workers": workers, "mix": mix, "short_windows": short_windows,
        "samples": samples,
        "rss_second_fifth_mib": early, "rss_last_fifth_mib": late,
    });
    std::fs::create_dir_all("target/bench-report").unwrap_or_else(|e| panic!("{e}"));
    std::fs::write("target/bench-report/soak.json", report.to_string()).unwrap_or_else(|e| panic!("{e}"));
    assert!(samples.iter().any(|s| s.received > 0.0), "the worker received nothing");
}
