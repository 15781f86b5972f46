//! Incremental against from-scratch, per dataflow (issue 9): each dataflow runs incrementally on
//! the simulated market at the default configuration (its windows full), and its DESIGN
//! definition is recomputed from scratch on the same input by the oracle the tests use. The
//! ratio is the from-scratch cost of one recomputation over the incremental cost of one logical
//! time with changes (one round on one worker, timely's per-round cost included).
//!
//! Run: `cargo bench --bench incremental_vs_scratch` (options after `--`: `--assets 8`,
//! `--seconds 15000` simulated seconds of input, `--measure 30` the last simulated seconds measured, `--calls 100`
//! from-scratch recomputations per dataflow). Writes
//! `target/bench-report/incremental_vs_scratch.json` and prints it.

mod dataflows;
mod history;
mod stepper;

use std::path::PathBuf;

use nexus_model::config::Config;
use serde_json::json;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// One dataflow's comparison.
pub struct Ratio {
    /// The dataflow.
    pub dataflow: &'static str,
    /// Logical times with changes in the measured stretch.
    pub times: usize,
    /// Input updates in the measured stretch.
    pub updates: usize,
    /// Incremental cost per logical time, µs.
    pub incremental_us: f64,
    /// From-scratch recomputations timed.
    pub calls: usize,
    /// From-scratch cost per recomputation, µs.
    pub scratch_us: f64,
    /// What one from-scratch recomputation covers.
    pub scratch: &'static str,
}

impl Ratio {
    /// From scratch on every input update against the incremental cost of one update (a time's
    /// cost shared by its updates).
    fn per_update(&self) -> f64 {
        let incremental_per_update = self.incremental_us * self.times as f64 / self.updates.max(1) as f64;
        self.scratch_us / incremental_per_update.max(1e-9)
    }

    fn json(&self) -> serde_json::Value {
        json!({
            "dataflow": self.dataflow,
            "measured_times": self.times,
            "measured_updates": self.updates,
            "incremental_us_per_time": self.incremental_us,
            "scratch_calls": self.calls,
            "scratch_us_per_recomputation": self.scratch_us,
            "ratio_per_time": self.scratch_us / self.incremental_us.max(1e-9),
            "ratio_per_update": self.per_update(),
            "scratch": self.scratch,
        })
    }
}

fn arg(name: &str) -> Option<u64> {
    let args: Vec<String> = std::env::args().collect();
    let value = args.iter().position(|a| a == name).and_then(|i| args.get(i + 1))?;
    Some(value.parse().unwrap_or_else(|_| panic!("{name}: {value:?} is not a number")))
}

fn main() {
    // Long enough for the VaR window (240 bars of 60 s) to be full before the measured stretch.
    let seconds = arg("--seconds").unwrap_or(15_000);
    let measure = arg("--measure").unwrap_or(30).min(seconds);
    let calls = arg("--calls").unwrap_or(100) as usize;
    let assets = arg("--assets").unwrap_or(8) as usize;
    let config = Config::default();
    eprintln!("simulating {seconds} s of the market over {assets} assets ...");
    let decoded = history::Decoded::simulate(&config, seconds, assets);
    let measure_from = decoded.end.saturating_sub(measure * 1_000_000);
    eprintln!("{} messages; measuring the last {measure} s", decoded.messages);

    let ratios = dataflows::all(&config, &decoded, measure_from, calls);
    for r in &ratios {
        // A dataflow with nothing to measure would report a meaningless ratio.
        assert!(r.times > 0 && r.calls > 0, "{}: nothing measured (input too short?)", r.dataflow);
        eprintln!(
            "{:>14}: incremental {:>9.1} µs per time ({} times, {} updates), from scratch {:>11.1} µs, ratio {:>8.2} per time, {:>8.2} per update",
            r.dataflow,
            r.incremental_us,
            r.times,
            r.updates,
            r.scratch_us,
            r.scratch_us / r.incremental_us.max(1e-9),
            r.per_update()
        );
    }
    let report = json!({
        "bench": "incremental_vs_scratch",
        "input": format!("simulated market over {assets} assets, default configuration, {seconds} s ({} messages); last {measure} s measured", decoded.messages),
        "workers": 1,
        "machine": format!("{} cores", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)),
        "dataflows": ratios.iter().map(Ratio::json).collect::<Vec<_>>(),
    });
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-report");
    let _ = std::fs::create_dir_all(&dir);
    let text = serde_json::to_string_pretty(&report).unwrap_or_default();
    let _ = std::fs::write(dir.join("incremental_vs_scratch.json"), &text);
    println!("{text}");
}
