//! Historical scan (DESIGN 5.4): `nexus replay` over simulated order flow (benign market makers on
//! four venues and a manipulation episode every minute) raises exactly the alerts the injected
//! episodes must raise: every one of them and nothing else. 1 and 2 workers write the same file.

use std::path::Path;

use nexus::replay::{ReplayOptions, replay};
use nexus::simulate::{expected_counts, standing_alerts, write_order_flow};
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
        introspection: Default::default(),
    };
    replay(&options).expect("replay succeeds");
    std::fs::read_to_string(output.join("alerts.jsonl")).expect("alerts file")
}

#[test]
fn a_scan_finds_every_injected_episode_and_nothing_else() {
    let dir = tempfile::tempdir().expect("temp dir");
    let recording = dir.path().join("orders.jsonl");
    // About 15 minutes of flow: 15 episodes, every pattern three times.
    let (written, injected) = write_order_flow(&recording, 5, 100_000).expect("recording written");
    assert!(written >= 100_000);
    let expected = expected_counts(&injected);
    assert!(expected.keys().any(|k| k.0 == "repeated_manipulation"), "the flow is long enough to escalate");

    let one = run(&recording, &dir.path().join("one"), 1);
    assert_eq!(standing_alerts(&dir.path().join("one/alerts.jsonl")).expect("alerts file"), expected);
    let rejected = std::fs::read_to_string(dir.path().join("one/rejected.jsonl")).expect("rejected file");
    assert!(rejected.is_empty(), "simulated flow is valid: {rejected}");
    let two = run(&recording, &dir.path().join("two"), 2);
    assert_eq!(one, two, "1 and 2 workers write the same alerts");
}

/// Account groups change through `control.params` (a wash trade is judged by the groups of its own
/// instant), and a window longer than at start is refused with
/// a `rejected` record naming the key.
#[test]
fn groups_change_at_run_time_and_longer_windows_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let recording = dir.path().join("control.jsonl");
    let t0 = 1_763_596_800_000_000u64;
    let trade = |us: u64, id: &str| {
        format!(
            r#"{{"recv_us":{},"subject":"feeds.trades.binance","payload":{{"trade_id":"{id}","symbol":"BTCUSDT","price":"60000","qty":"1","aggressor":"buy","buyer":"acct-1","seller":"acct-2","ts_ms":{}}}}}"#,
            t0 + us,
            (t0 + us) / 1000
        )
    };
    let param = |us: u64, key: &str, value: &str| {
        format!(r#"{{"recv_us":{},"subject":"control.params","payload":{{"key":"{key}","value":{value}}}}}"#, t0 + us)
    };
    let lines = [
        trade(1_000_000, "t1"),
        param(2_000_000, "surveillance.account_groups.ring", r#"["acct-1","acct-2"]"#),
        trade(3_000_000, "t2"),
        param(4_000_000, "surveillance.layering.window_ms", "999999"),
        param(5_000_000, "surveillance.account_groups.ring", r#"["acct-1"]"#),
        trade(6_000_000, "t3"),
    ];
    std::fs::write(&recording, lines.join("\n") + "\n").expect("recording written");
    let out = dir.path().join("out");
    run(&recording, &out, 1);
    let alerts = std::fs::read_to_string(out.join("alerts.jsonl")).expect("alerts");
    let alerts: Vec<Value> = alerts.lines().map(|l| serde_json::from_str(l).expect("JSON")).collect();
    assert_eq!(alerts.len(), 1, "only t2 was between accounts of one group: {alerts:?}");
    assert_eq!(alerts[0]["data"]["evidence"][0], "t2");
    assert_eq!(alerts[0]["data"]["severity"], "medium");
    assert_eq!(alerts[0]["data"]["details"]["group"], "ring");
    let rejected = std::fs::read_to_string(out.join("rejected.jsonl")).expect("rejected");
    assert_eq!(rejected.lines().count(), 1, "{rejected}");
    assert!(rejected.contains("surveillance.layering.window_ms") && rejected.contains("at most 5000"), "{rejected}");
}
