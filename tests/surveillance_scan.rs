//! Historical scan (DESIGN 5.4): `nexus replay` over simulated order flow (benign market makers on
//! four venues and a manipulation episode every minute) raises exactly the alerts the injected
//! episodes must raise: every one of them and nothing else. 1 and 2 workers write the same file.

use std::collections::BTreeMap;
use std::path::Path;

use nexus::replay::{ReplayOptions, replay};
use nexus::simulate::write_order_flow;
use nexus_model::config::Config;
use serde_json::Value;

fn run(input: &Path, output: &Path, workers: usize) -> String {
    let options = ReplayOptions {
        input: input.to_path_buf(),
        output: output.to_path_buf(),
        config: Config::default(),
        workers,
        progress: false,
        database_url: None,
        arrangement_sizes: None,
    };
    let summary = replay(&options).expect("replay succeeds");
    assert_eq!(summary.outputs.rejected_by_kind.values().sum::<u64>(), 0, "simulated flow is valid");
    std::fs::read_to_string(output.join("alerts.jsonl")).expect("alerts file")
}

/// (pattern, venue, account, symbol) of the alerts standing at the end of the file, with counts.
fn standing(alerts: &str) -> BTreeMap<(String, String, String, String), i64> {
    let mut counts = BTreeMap::new();
    for line in alerts.lines() {
        let line: Value = serde_json::from_str(line).expect("each line is JSON");
        let a = &line["data"];
        let key =
            [&a["pattern"], &a["venue"], &a["account"], &a["symbol"]].map(|v| v.as_str().unwrap_or("").to_string());
        *counts.entry((key[0].clone(), key[1].clone(), key[2].clone(), key[3].clone())).or_insert(0) +=
            line["diff"].as_i64().unwrap_or(0);
    }
    counts.retain(|_, count| *count != 0);
    counts
}

#[test]
fn a_scan_finds_every_injected_episode_and_nothing_else() {
    let dir = tempfile::tempdir().expect("temp dir");
    let recording = dir.path().join("orders.jsonl");
    // About 15 minutes of flow: 15 episodes, every pattern three times.
    let (written, injected) = write_order_flow(&recording, 5, 100_000).expect("recording written");
    assert!(written >= 100_000);
    let mut expected: BTreeMap<(String, String, String, String), i64> = BTreeMap::new();
    for e in &injected {
        let key = (e.pattern.name().to_string(), e.venue.to_string(), e.account.clone(), e.symbol.to_string());
        *expected.entry(key).or_insert(0) += 1;
    }
    assert!(expected.keys().any(|k| k.0 == "repeated_manipulation"), "the flow is long enough to escalate");

    let one = run(&recording, &dir.path().join("one"), 1);
    assert_eq!(standing(&one), expected);
    let two = run(&recording, &dir.path().join("two"), 2);
    assert_eq!(one, two, "1 and 2 workers write the same alerts");
}
