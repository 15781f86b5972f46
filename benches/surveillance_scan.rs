//! Historical scan: `nexus replay` over 1,000,000 order-flow messages (orders and trades of 200
//! benign market makers on four venues, a manipulation episode every simulated minute), checked
//! against the alerts the injected episodes must raise.
//!
//! Run: `cargo bench --bench surveillance_scan` (optionally `-- --messages N --workers 1,2`).
//! Writes `target/bench-report/surveillance_scan.json` and prints it.

use std::path::PathBuf;
use std::time::Instant;

use nexus::replay::{ReplayOptions, replay};
use nexus::simulate::{expected_counts, standing_alerts, write_order_flow};
use nexus_model::config::Config;
use serde_json::json;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let messages: u64 = arg("--messages").and_then(|m| m.parse().ok()).unwrap_or(1_000_000);
    let workers: Vec<usize> =
        arg("--workers").map(|w| w.split(',').filter_map(|n| n.parse().ok()).collect()).unwrap_or_else(|| vec![1, 2]);
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-report");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    let recording = dir.join("surveillance_scan.jsonl");
    let (written, injected) =
        write_order_flow(&recording, 11, messages).unwrap_or_else(|e| panic!("cannot write the recording: {e}"));
    let expected = expected_counts(&injected);
    let mut runs = Vec::new();
    for w in workers {
        let output = dir.join(format!("surveillance_scan-{w}w"));
        let options = ReplayOptions {
            input: recording.clone(),
            output: output.clone(),
            config: Config::default(),
            workers: w,
            progress: false,
            database_url: None,
            introspection: Default::default(),
        };
        let started = Instant::now();
        let summary = replay(&options).unwrap_or_else(|e| panic!("replay failed: {e}"));
        let seconds = started.elapsed().as_secs_f64();
        let found = standing_alerts(&output.join("alerts.jsonl")).unwrap_or_else(|e| panic!("no alerts file: {e}"));
        let missed: i64 = expected.iter().map(|(k, n)| (n - found.get(k).copied().unwrap_or(0)).max(0)).sum();
        let false_positives: i64 = found.iter().map(|(k, n)| (n - expected.get(k).copied().unwrap_or(0)).max(0)).sum();
        runs.push(json!({"workers": w, "seconds": seconds, "events_per_second": summary.events as f64 / seconds,
            "alerts": found.values().sum::<i64>(), "missed": missed, "false_positives": false_positives}));
        assert_eq!((missed, false_positives), (0, 0), "{w} worker(s): the scan must match the injected episodes");
    }
    let report =
        json!({"bench": "surveillance_scan", "messages": written, "injected_alerts": injected.len(), "runs": runs});
    let path = dir.join("surveillance_scan.json");
    std::fs::write(&path, serde_json::to_string_pretty(&report).unwrap_or_default())
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
    let _ = std::fs::remove_file(&recording);
}
