//! `nexus demo` needs no services, writes every stream, and stops cleanly on its own or on Ctrl-C.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const STREAMS: [&str; 10] = [
    "snapshots",
    "discrepancies",
    "opportunities",
    "ranked",
    "positions",
    "var",
    "alerts",
    "decisions",
    "orders",
    "rejected",
];

/// A demo process pointed at services that do not exist, to prove it needs none.
fn demo(output: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_nexus"));
    command
        .args(["demo", "--plain", "--speed", "50", "--output"])
        .arg(output)
        .args(extra)
        .env("NATS_URL", "nats://127.0.0.1:1")
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none");
    command
}

fn check_outputs(output: &Path) -> usize {
    for stream in STREAMS {
        assert!(output.join(format!("{stream}.jsonl")).exists(), "{stream}.jsonl missing");
    }
    let text = std::fs::read_to_string(output.join("snapshots.jsonl")).unwrap();
    let mut previous = 0;
    let mut lines = 0;
    for line in text.lines() {
        let value: Value = serde_json::from_str(line).expect("complete JSON lines");
        let time = value["time"].as_u64().unwrap();
        assert!(time >= previous, "time order");
        previous = time;
        lines += 1;
    }
    lines
}

#[test]
fn demo_runs_without_services_and_stops_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("nexus-out");
    let result = demo(&output, &["--duration", "3"]).output().unwrap();
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(stdout.contains("snapshots 32"), "{stdout}");
    assert!(check_outputs(&output) > 32);
}

#[test]
fn demo_closes_the_loop_through_its_paper_venue() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("nexus-out");
    let result = demo(&output, &["--duration", "6"]).output().unwrap();
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    // The gate opens arbitrages: two legs per open.
    let orders: Vec<Value> = std::fs::read_to_string(output.join("orders.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let opens = orders.iter().filter(|o| o["data"]["action"] == "open").count();
    assert!(opens >= 2 && opens % 2 == 0, "{opens} open orders");
    // The paper venue fills them: the gate account holds positions.
    let positions = std::fs::read_to_string(output.join("positions.jsonl")).unwrap();
    assert!(positions.contains("\"account\":\"main\""), "fills of the gate account reach positions");
    let stdout = String::from_utf8_lossy(&result.stdout);
    let last = stdout.lines().rev().find(|l| l.contains("arbitrages")).unwrap_or_default();
    assert!(last.contains("open, orders") && !last.contains("fills 0,") && last.contains("P&L"), "{stdout}");
}

#[test]
fn demo_exits_cleanly_on_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("nexus-out");
    let mut child = demo(&output, &[]).stdout(Stdio::piped()).spawn().unwrap();
    std::thread::sleep(Duration::from_secs(3));
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("demo did not stop within 20 s of Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit status {status}");
    assert!(check_outputs(&output) > 0);
}
