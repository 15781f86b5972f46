//! Replay throughput: decode + reconcile + JSONL out on a generated recording of 1,000,000 messages.
//!
//! Run: `cargo bench --bench replay_throughput` (optionally
//! `-- --scenario stress|simulated|market --messages N --workers 1,2`). Writes a JSON report to
//! `target/bench-report/replay_throughput-<scenario>.json` and prints it.
//!
//! - `stress` (default): every funding format over 200 assets with random rates, so nearly every
//!   observation changes a snapshot, a discrepancy and several opportunities: Binance
//!   `markPriceUpdate` events (40%), Bybit ticker deltas after one snapshot per symbol (25%), OKX
//!   pushes (15%), Hyperliquid `metaAndAssetCtxs` with 10 assets (10%) and scanner tables with 5
//!   assets x 4 venues (10%), one message every 3.6 ms of logical time (an hour in all).
//! - `simulated`: the demo's market simulator over 50 assets (the venues' real formats, rates that
//!   drift, a scanner that mostly agrees, books on every venue every second), from its start on.
//! - `market`: the same with the order flow of 30 accounts and their trades, so that every
//!   dataflow, surveillance included, has work (the end-to-end bench's mix).
//!
//! `--stamp-rate N` (with `simulated` or `market`) re-stamps message n at n/N seconds on the 1 ms
//! tick, as `nexus run` stamps a live feed arriving at N msg/s: about N/1000 messages per logical
//! time instead of a whole simulated second's.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use nexus::replay::{ReplayOptions, replay};
use nexus_model::config::Config;
use nexus_sources::simulator::{Simulator, SimulatorConfig};

const T0: u64 = 1_763_596_800_000_000;
const ASSETS: usize = 200;

/// A tiny deterministic generator (xorshift), so the recording is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// A funding rate with 6 decimals around 0.0001.
    fn rate(&mut self) -> String {
        let micros = self.below(400) as i64 - 100;
        format!("{}{}.{:06}", if micros < 0 { "-" } else { "" }, 0, micros.unsigned_abs())
    }
}

fn asset(i: usize) -> String {
    format!("A{i:03}")
}

fn generate(path: &Path, messages: usize) -> std::io::Result<()> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut line = String::with_capacity(4096);
    for i in 0..messages {
        let recv_us = T0 + i as u64 * 3_600;
        let ms = recv_us / 1000;
        let a = rng.below(ASSETS as u64) as usize;
        let pick = if i < ASSETS { 40 } else { rng.below(100) };
        line.clear();
        let _ = write!(line, "{{\"recv_us\":{recv_us},\"subject\":");
        match pick {
            0..=39 => {
                let _ = write!(
                    line,
                    "\"feeds.funding.binance\",\"payload\":{{\"e\":\"markPriceUpdate\",\"E\":{ms},\"s\":\"{}USDT\",\"p\":\"{}.{:02}\",\"i\":\"100.0\",\"P\":\"100.0\",\"r\":\"{}\",\"T\":{}}}",
                    asset(a),
                    100 + rng.below(50),
                    rng.below(100),
                    rng.rate(),
                    ms + 3_600_000
                );
            }
            40..=64 => {
                let (kind, a) = if i < 2 * ASSETS { ("snapshot", i % ASSETS) } else { ("delta", a) };
                let _ = write!(
                    line,
                    "\"feeds.funding.bybit\",\"payload\":{{\"topic\":\"tickers.{0}USDT\",\"type\":\"{kind}\",\"data\":{{\"symbol\":\"{0}USDT\",\"fundingRate\":\"{1}\",\"markPrice\":\"{2}.5\",\"nextFundingTime\":\"{3}\",\"fundingIntervalHour\":\"8\"}},\"cs\":{i},\"ts\":{ms}}}",
                    asset(a),
                    rng.rate(),
                    100 + rng.below(50),
                    ms + 3_600_000
                );
            }
            65..=79 => {
                let _ = write!(
                    line,
                    "\"feeds.funding.okx\",\"payload\":{{\"arg\":{{\"channel\":\"funding-rate\",\"instId\":\"{0}-USDT-SWAP\"}},\"data\":[{{\"fundingRate\":\"{1}\",\"fundingTime\":\"{2}\",\"instId\":\"{0}-USDT-SWAP\",\"instType\":\"SWAP\",\"nextFundingRate\":\"\",\"nextFundingTime\":\"{3}\",\"ts\":\"{ms}\"}}]}}",
                    asset(a),
                    rng.rate(),
                    ms + 3_600_000,
                    ms + 3_600_000 + 14_400_000
                );
            }
            80..=89 => {
                let first = a.min(ASSETS - 10);
                let universe: Vec<String> =
                    (first..first + 10).map(|j| format!("{{\"name\":\"{}\",\"szDecimals\":2}}", asset(j))).collect();
                let contexts: Vec<String> = (0..10)
                    .map(|_| {
                        format!(
                            "{{\"funding\":\"{}\",\"markPx\":\"{}.25\",\"openInterest\":\"10\"}}",
                            rng.rate(),
                            100 + rng.below(50)
                        )
                    })
                    .collect();
                let _ = write!(
                    line,
                    "\"feeds.funding.hyperliquid\",\"payload\":[{{\"universe\":[{}]}},[{}]]",
                    universe.join(","),
                    contexts.join(",")
                );
            }
            _ => {
                let entries: Vec<String> = (0..5)
                    .map(|k| {
                        let name = asset((a + k) % ASSETS);
                        let rates: Vec<String> = ["binance_futures", "bybit_futures", "okex_futures", "hyperliquid_futures"]
                            .iter()
                            .map(|slug| format!("{{\"exchange\":\"{slug}\",\"rate\":\"{}\",\"symbol\":\"{name}USDT\",\"nextFundingTime\":{}}}", rng.rate(), ms + 3_600_000))
                            .collect();
                        format!("{{\"symbol\":\"{name}\",\"ticker\":\"{name}\",\"maxSpread\":0.01,\"rates\":[{}]}}", rates.join(","))
                    })
                    .collect();
                let _ = write!(line, "\"feeds.scanner.arbitragescanner\",\"payload\":[{}]", entries.join(","));
            }
        }
        line.push_str("}\n");
        out.write_all(line.as_bytes())?;
    }
    out.flush()
}

/// The demo simulator over 50 assets, until `messages` messages are written; with the order flow
/// of 30 accounts and their trades when `order_flow` (every dataflow busy), else funding, books and
/// fills only (as measured before surveillance).
/// Writes `messages` of the simulator's market. With `stamp_rate`, message `n` is re-stamped at
/// `start + n / stamp_rate` seconds rounded down to the 1 ms tick, as a live feed at that rate is
/// stamped; without it each message keeps the simulator's time (a second's data at its start).
fn generate_simulated(path: &Path, messages: usize, order_flow: bool, stamp_rate: Option<u64>) -> std::io::Result<()> {
    let defaults = SimulatorConfig::default();
    let orders = if order_flow { defaults.orders.clone() } else { None };
    let config = SimulatorConfig { assets: (0..50).map(asset).collect(), orders, ..defaults };
    let mut simulator = Simulator::new(&config);
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let (mut written, mut until, mut batch) = (0usize, config.start_us, Vec::new());
    while written < messages {
        until += 1_000_000;
        simulator.advance(until, &mut batch);
        for mut message in batch.drain(..).take(messages - written) {
            if let Some(rate) = stamp_rate {
                let intended = config.start_us + (written as u128 * 1_000_000 / rate.max(1) as u128) as u64;
                message.recv_us = intended - intended % 1_000;
            }
            writeln!(out, "{}", message.recording_line())?;
            written += 1;
        }
    }
    out.flush()
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let messages: usize = arg("--messages").map(|m| m.parse()).transpose()?.unwrap_or(1_000_000);
    let workers: Vec<usize> =
        arg("--workers").unwrap_or_else(|| "1,2".into()).split(',').map(str::parse).collect::<Result<_, _>>()?;
    let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target");
    let data = target.join("bench-data");
    let report_dir = target.join("bench-report");
    std::fs::create_dir_all(&data)?;
    std::fs::create_dir_all(&report_dir)?;
    let scenario = arg("--scenario").unwrap_or_else(|| "stress".into());
    let stamp_rate: Option<u64> = arg("--stamp-rate").map(|r| r.parse()).transpose()?;
    let stamped = stamp_rate.map(|r| format!("-at{r}")).unwrap_or_default();
    let recording = data.join(format!("replay-{scenario}-{messages}{stamped}.jsonl"));
    if !recording.exists() {
        eprintln!("generating {} ...", recording.display());
        match scenario.as_str() {
            "stress" => generate(&recording, messages)?,
            "simulated" => generate_simulated(&recording, messages, false, stamp_rate)?,
            "market" => generate_simulated(&recording, messages, true, stamp_rate)?,
            other => return Err(format!("unknown --scenario {other:?} (valid: stress, simulated, market)").into()),
        }
    }
    let bytes = std::fs::metadata(&recording)?.len();
    let mut runs = Vec::new();
    for w in workers {
        let output = data.join(format!("replay-out-{w}"));
        let options = ReplayOptions {
            input: recording.clone(),
            output,
            config: Config::default(),
            workers: w,
            progress: false,
            database_url: None,
            introspection: Default::default(),
        };
        let started = Instant::now();
        let summary = replay(&options)?;
        let seconds = started.elapsed().as_secs_f64();
        let updates: u64 = summary.outputs.lines.values().sum();
        eprintln!(
            "workers {w}: {} events in {seconds:.3} s = {:.0} events/s, {updates} output updates",
            summary.events,
            summary.events as f64 / seconds
        );
        runs.push(format!(
            "{{\"workers\":{w},\"events\":{},\"seconds\":{seconds:.3},\"events_per_second\":{:.0},\"output_updates\":{updates}}}",
            summary.events,
            summary.events as f64 / seconds
        ));
    }
    let report = format!(
        "{{\"bench\":\"replay_throughput\",\"scenario\":\"{scenario}\",\"recording\":\"{}\",\"messages\":{messages},\"bytes\":{bytes},\"cores\":{},\"runs\":[{}]}}",
        recording.display(),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        runs.join(",")
    );
    std::fs::write(report_dir.join(format!("replay_throughput-{scenario}.json")), &report)?;
    println!("{report}");
    Ok(())
}
