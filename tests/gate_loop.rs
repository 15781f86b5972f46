//! The closed loop on the real nats-server and PostgreSQL: `nexus run` and `nexus paper-venue` on
//! a published simulator recording. Orders go out on `exec.orders.<venue>`, the paper venue fills
//! them (and rejects every okx order), fills come back, positions and VaR follow, a lone leg is
//! unwound, a re-dispatched order is dropped as a duplicate, and a global halt stops new entries
//! from its own logical time on.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use common::*;
use nexus_sinks::nats::{OrderDispatch, stream_name};
use nexus_sinks::postgres::testing::TestDatabase;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_fills_positions_var_dedup_and_halt_in_the_closed_loop() {
    let db = TestDatabase::create(true).await.expect("postgres reachable");
    let pool = db.pool().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    // One-second VaR bars, so that VaR has its 20 returns within the recording; a leg timeout of
    // 15 s of logical time (3 s of wall clock at the publishing speed) leaves the debug-built
    // worker and paper venue ample time to bring a fill back.
    let extra = "[var]\nbar_ms = 1000\n\n[risk]\nleg_timeout_ms = 15000\n";
    let (config, prefix) = write_config(dir.path(), &db.url, true, extra);
    let (recording, halt_at) = recording_with_halt(dir.path(), 80, 50);

    let url = std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_string());
    let client = async_nats::connect(url).await.unwrap();
    let mut fills = client.subscribe(format!("{prefix}exec.fills.>")).await.unwrap();
    client.flush().await.unwrap();

    let mut worker = start_worker(&config);
    let mut paper = start_ready(&["paper-venue", "--latency-ms", "20", "--reject-venue", "okx"], &config);
    // At 5 times real time.
    let published = nexus()
        .args(["publish", "--speed", "5", "--input"])
        .arg(&recording)
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(published.status.success(), "{}", String::from_utf8_lossy(&published.stderr));
    wait_for_frontier(&pool, last_time(&recording) + 1).await;
    let pid = worker.0.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    assert!(worker.0.wait().unwrap().success());

    // Orders: both legs of every open, at one logical time; none opened from the halt on.
    let orders: Vec<(String, String, String, String, String, bool, i64)> = sqlx::query_as(
        "SELECT client_order_id, arb_id, action, venue, side, reduce_only, logical_time FROM orders ORDER BY logical_time",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let opens: Vec<_> = orders.iter().filter(|o| o.2 == "open").collect();
    assert!(opens.len() >= 4, "orders flow: {orders:?}");
    for open in &opens {
        let twins = opens.iter().filter(|o| o.1 == open.1 && o.6 == open.6).count();
        assert_eq!(twins, 2, "both legs or neither: {open:?}");
        assert!(open.6 < halt_at, "no entry at or after the halt: {open:?}");
    }
    let halted: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM decisions WHERE decided_time >= $1 AND 'halt:global' = ANY(reasons) AND NOT accepted",
    )
    .bind(halt_at)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(halted > 0, "candidates after the halt are refused for it");
    let halt_row: (bool, String, i64) =
        sqlx::query_as("SELECT halted, reason, since_time FROM halts WHERE scope = 'global' AND target = ''")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(halt_row, (true, "integration test".to_string(), halt_at), "the halt is recorded in `halts`");

    // Every okx leg is rejected by the paper venue: its twin is unwound, reduce-only.
    let unwinds: Vec<_> = orders.iter().filter(|o| o.2 == "unwind").collect();
    assert!(!unwinds.is_empty(), "a lone leg is unwound: {orders:?}");
    for unwind in &unwinds {
        assert!(unwind.1.contains("okx") && unwind.3 != "okx" && unwind.5, "{unwind:?}");
    }

    // Fills came back for the orders, none for okx (the recording's own desks trade there too).
    let mut filled = BTreeSet::new();
    while let Ok(Some(message)) =
        tokio::time::timeout(Duration::from_millis(500), futures::StreamExt::next(&mut fills)).await
    {
        let fill: Value = serde_json::from_slice(&message.payload).unwrap();
        if fill["account"] == "main" {
            filled.insert(fill["client_order_id"].as_str().unwrap().to_string());
            assert!(!message.subject.as_str().ends_with(".okx"), "{fill}");
        }
    }
    let ids: BTreeSet<String> = orders.iter().map(|o| o.0.clone()).collect();
    assert!(!filled.is_empty() && filled.is_subset(&ids), "fills of our own orders");

    // Positions and VaR of the gate account.
    let positions: i64 =
        sqlx::query_scalar("SELECT count(*) FROM positions WHERE account = 'main'").fetch_one(&pool).await.unwrap();
    assert!(positions > 0, "fills reach positions");
    let var: i64 =
        sqlx::query_scalar("SELECT count(*) FROM var_history WHERE account = 'main'").fetch_one(&pool).await.unwrap();
    assert!(var > 0, "positions reach VaR");

    // A re-dispatch of a sent order is a duplicate for JetStream, and the paper venue does not
    // fill it again.
    let first = &opens[0];
    let line: String = serde_json::to_string(&json!({"client_order_id": first.0, "arb_id": first.1, "action": "open",
        "account": "main", "venue": first.3, "symbol": first.1.split(':').next().unwrap(), "side": first.4,
        "qty": "0.001", "order_type": "market", "reduce_only": false}))
    .unwrap();
    let dispatch = OrderDispatch::new(client.clone(), &prefix, true).await.unwrap();
    assert!(dispatch.dispatch(&line, first.6 as u64).await.unwrap(), "JetStream drops the duplicate");
    let again = tokio::time::timeout(Duration::from_millis(500), futures::StreamExt::next(&mut fills)).await;
    assert!(again.is_err(), "no second fill: {again:?}");
    let jetstream = async_nats::jetstream::new(client.clone());
    let mut stream = jetstream.get_stream(stream_name(&prefix)).await.unwrap();
    let stored = stream.info().await.unwrap().state.messages;
    assert_eq!(stored, orders.len() as u64, "the orders stream holds each order once");

    let pid = paper.0.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    assert!(paper.0.wait().unwrap().success());
    delete_streams(&client, &prefix).await;
    pool.close().await;
    db.drop_database().await.unwrap();
}

/// The lines of `dir/<stream>.jsonl` as JSON.
fn stream(dir: &Path, name: &str) -> Vec<Value> {
    std::fs::read_to_string(dir.join(format!("{name}.jsonl")))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn a_halt_refuses_the_entry_of_its_own_logical_time() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("simulated.jsonl");
    assert!(nexus().args(["simulate", "--duration", "60", "--output"]).arg(&plain).status().unwrap().success());
    let replay = |input: &Path, out: &Path| {
        let status = nexus().args(["replay", "--quiet", "--input"]).arg(input).arg("--output").arg(out).status();
        assert!(status.unwrap().success());
    };
    let without = dir.path().join("without");
    replay(&plain, &without);
    // An entry 30 s or more in: the halt goes to exactly its logical time.
    let entry = stream(&without, "orders")
        .into_iter()
        .find(|o| o["data"]["action"] == "open" && o["time"].as_i64().unwrap() >= 1_763_596_830_000_000)
        .expect("an entry after 30 s");
    let (at, arb) = (entry["time"].as_i64().unwrap(), entry["data"]["arb_id"].as_str().unwrap().to_string());
    let mut lines: Vec<String> = std::fs::read_to_string(&plain).unwrap().lines().map(str::to_string).collect();
    let halt = json!({"recv_us": at, "subject": "control.halt", "payload": {"scope": "global", "halted": true}});
    let position =
        lines.iter().position(|l| serde_json::from_str::<Value>(l).unwrap()["recv_us"].as_i64().unwrap() >= at);
    lines.insert(position.unwrap(), halt.to_string());
    let halted_input = dir.path().join("halted.jsonl");
    std::fs::write(&halted_input, lines.join("\n") + "\n").unwrap();
    let with = dir.path().join("with");
    replay(&halted_input, &with);

    let orders = stream(&with, "orders");
    assert!(orders.iter().any(|o| o["time"].as_i64().unwrap() < at), "entries before the halt");
    assert!(
        orders.iter().all(|o| o["data"]["action"] != "open" || o["time"].as_i64().unwrap() < at),
        "no entry at or after the halt"
    );
    let refused = stream(&with, "decisions").into_iter().any(|d| {
        d["time"] == at
            && d["diff"] == 1
            && d["data"]["arb_id"] == arb.as_str()
            && d["data"]["reasons"] == json!(["halt:global"])
    });
    assert!(refused, "{arb} is refused at {at} with the halt as its reason");
}

#[test]
fn a_risk_parameter_changed_at_run_time_applies_from_its_logical_time() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("simulated.jsonl");
    assert!(nexus().args(["simulate", "--duration", "60", "--output"]).arg(&plain).status().unwrap().success());
    // From 30 s in, no opportunity can reach the entry threshold.
    let mut lines: Vec<String> = std::fs::read_to_string(&plain).unwrap().lines().map(str::to_string).collect();
    let at = 1_763_596_830_000_000i64;
    let change = json!({"recv_us": at, "subject": "control.params", "payload": {"key": "risk.min_uos", "value": 100}});
    let position =
        lines.iter().position(|l| serde_json::from_str::<Value>(l).unwrap()["recv_us"].as_i64().unwrap() >= at);
    lines.insert(position.unwrap(), change.to_string());
    let input = dir.path().join("changed.jsonl");
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let out = dir.path().join("out");
    let status = nexus().args(["replay", "--quiet", "--input"]).arg(&input).arg("--output").arg(&out).status();
    assert!(status.unwrap().success());
    let orders = stream(&out, "orders");
    let opens = |from: i64, to: i64| {
        orders
            .iter()
            .filter(|o| o["data"]["action"] == "open" && (from..to).contains(&o["time"].as_i64().unwrap()))
            .count()
    };
    assert!(opens(0, at) > 0, "entries before the change");
    assert_eq!(opens(at, i64::MAX), 0, "none from the change on");
}
