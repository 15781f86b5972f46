//! End-to-end latency and throughput at fixed rates (issue 9). An open-loop generator sends the
//! simulated market (funding, the scanner, books, order flow and trades over 50 assets) at fixed
//! rates, and every output update's latency is measured from its input's intended send time:
//!
//! - `nats`: through the real nats-server into `nexus run`, PostgreSQL and back out on
//!   `out.<stream>` (see [`nats`]);
//! - `in-process`: the same rounds fed to the workers directly, to separate the bus and the
//!   database from the dataflows (see [`in_process`]).
//!
//! Run: `cargo bench --bench end_to_end` (options after `--`: `--rates 10000,50000,100000,200000`,
//! `--seconds 10`, `--workers 2`, `--paths nats,in-process`). The `nats` path needs the services of
//! the README; it uses a fresh database and subject prefix per rate and removes them. Writes
//! `target/bench-report/end_to_end.json` and `target/bench-report/end_to_end.svg` (the latency
//! percentiles of every run) and prints a line per run.

#[path = "../support/mod.rs"]
mod support;

mod in_process;
mod market;
mod nats;
mod report;
mod schedule;

use std::path::PathBuf;

use serde_json::json;

/// The same allocator as the `nexus` binary, so the in-process path runs the same code.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The load is generated once, up to this many messages, and repeated beyond.
const MOST_GENERATED: usize = 1_000_000;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let list = |name: &str, default: &str| -> Vec<String> {
        arg(&args, name).unwrap_or_else(|| default.to_string()).split(',').map(|s| s.trim().to_string()).collect()
    };
    let rates: Vec<u64> = list("--rates", "10000,50000,100000,200000")
        .iter()
        .map(|r| r.parse().unwrap_or_else(|_| panic!("--rates: {r:?} is not a number of messages/s")))
        .collect();
    let paths = list("--paths", "nats,in-process");
    let seconds: u64 = arg(&args, "--seconds").and_then(|s| s.parse().ok()).unwrap_or(10);
    let workers: usize = arg(&args, "--workers").and_then(|s| s.parse().ok()).unwrap_or(2);
    let most = rates.iter().max().copied().unwrap_or(0) as usize * seconds as usize;
    eprintln!("generating {} simulated messages ...", most.min(MOST_GENERATED));
    let load = market::Load::simulated(most.min(MOST_GENERATED));

    let mut runs = Vec::new();
    for path in &paths {
        for &rate in &rates {
            let run = match path.as_str() {
                "nats" => nats::run(&load, rate, seconds, workers),
                "in-process" => in_process::run(&load, rate, seconds, workers),
                other => panic!("--paths: unknown path {other:?} (valid: nats, in-process)"),
            };
            eprintln!("{}", run.summary());
            // A run that saw no output measured nothing: the bench is broken, not slow.
            assert!(run.output_updates > 0, "{path} at {rate}/s: no output update arrived");
            runs.push(run);
        }
    }

    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-report");
    let _ = std::fs::create_dir_all(&dir);
    let report = json!({
        "bench": "end_to_end",
        "what": "intended send time of an input -> its output update; nats: NATS in, dataflows, PostgreSQL, out.<stream>; in-process: the dataflows alone",
        "workers": workers,
        "seconds_per_rate": seconds,
        "mix_percent": load.mix(),
        "machine": format!("{} cores", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)),
        "runs": runs.iter().map(report::RateRun::json).collect::<Vec<_>>(),
    });
    let text = serde_json::to_string_pretty(&report).unwrap_or_default();
    let _ = std::fs::write(dir.join("end_to_end.json"), &text);
    if let Err(e) = report::plot(&runs, &dir.join("end_to_end.svg")) {
        eprintln!("plot not written: {e}");
    }
    println!("{text}");
}
