//! `nexus run` against the real nats-server and PostgreSQL: a recording published with
//! `nexus publish` leaves in PostgreSQL exactly what `nexus replay` computes for it. Each test uses a
//! NATS subject prefix and a database of its own.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod common;

use common::*;
use nexus_sinks::postgres::testing::TestDatabase;
use serde_json::Value;
use sqlx::PgPool;

const LAST_TIME: i64 = 1_763_596_800_000_000 + 200_000_000;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// The `snapshots` table, one `|`-joined line per row, as `expected_from_replay` writes them.
const SNAPSHOT_ROWS: &str = "SELECT concat_ws('|', venue, symbol, rate, interval_h, rate_per_hour, apr,
    coalesce(next_funding_ms::text, ''), coalesce(mark_price::text, ''), source, status, confidence,
    coalesce(exchange_rate::text, ''), coalesce(scanner_rate::text, ''), logical_time) FROM snapshots ORDER BY venue, symbol";
/// The `discrepancy_history` table, likewise.
const HISTORY_ROWS: &str = "SELECT concat_ws('|', venue, symbol, exchange_rate, scanner_rate, abs_diff, opened_time,
    coalesce(closed_time::text, '')) FROM discrepancy_history ORDER BY 1";
/// The `opportunities` table, likewise.
const OPPORTUNITY_ROWS: &str =
    "SELECT concat_ws('|', symbol, long_venue, short_venue, uos, net_apr) FROM opportunities ORDER BY 1";

/// Runs one of the row queries above.
async fn rows(pool: &PgPool, query: &'static str) -> Vec<String> {
    sqlx::query_scalar(query).fetch_all(pool).await.unwrap()
}

fn text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.as_f64().map(|f| f.to_string()).unwrap_or_else(|| n.to_string()),
        other => other.to_string(),
    }
}

/// Starts `nexus run`, publishes `recording` into it, waits until PostgreSQL has committed past
/// its last message, and stops the worker with SIGTERM (it must exit cleanly).
async fn publish_through_worker(config: &Path, recording: &Path, pool: &PgPool) {
    let mut worker = start_worker(config);
    let published = nexus().args(["publish", "--input"]).arg(recording).arg("--config").arg(config).output().unwrap();
    assert!(published.status.success(), "{}", String::from_utf8_lossy(&published.stderr));
    wait_for_frontier(pool, last_time(recording) + 1).await;
    let pid = worker.0.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    assert!(worker.0.wait().unwrap().success());
}

/// Up to `count` messages of `subscription` as JSON, waiting at most 10 s for each.
async fn receive_json(subscription: &mut async_nats::Subscriber, count: usize) -> Vec<Value> {
    let mut received = Vec::new();
    while received.len() < count {
        match tokio::time::timeout(Duration::from_secs(10), futures::StreamExt::next(subscription)).await {
            Ok(Some(message)) => received.push(serde_json::from_slice::<Value>(&message.payload).unwrap()),
            _ => break,
        }
    }
    received
}

/// Replays `recording` with `config` into `out` and asserts it succeeded.
fn replay_into(recording: &Path, out: &Path, config: &Path) {
    let status = nexus()
        .args(["replay", "--quiet", "--input"])
        .arg(recording)
        .arg("--output")
        .arg(out)
        .arg("--config")
        .arg(config)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
}

/// Starts `nexus record` with `args` and waits until it has subscribed.
fn start_recorder(args: &[&str], recording: &Path, config: &Path) -> Child {
    let mut recorder = nexus()
        .arg("record")
        .args(args)
        .arg("--output")
        .arg(recording)
        .arg("--config")
        .arg(config)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(recorder.stderr.take().unwrap()).lines();
    assert!(lines.any(|l| l.is_ok_and(|l| l.starts_with("recording"))), "nexus record exited before it was ready");
    std::thread::spawn(move || for _ in lines {});
    recorder
}

/// The final snapshots, the discrepancy history and the final opportunities as `nexus replay`
/// writes them.
fn expected_from_replay(recording: &Path, config: &Path) -> (Vec<String>, Vec<String>, Vec<String>) {
    let out = tempfile::tempdir().unwrap();
    replay_into(recording, out.path(), config);
    let read = |stream: &str| -> Vec<Value> {
        std::fs::read_to_string(out.path().join(format!("{stream}.jsonl")))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let mut current: std::collections::BTreeMap<String, (i64, Value)> = Default::default();
    for line in read("snapshots") {
        let key = format!("{}|{}", text(&line["data"]["venue"]), text(&line["data"]["symbol"]));
        if line["diff"].as_i64() == Some(1) {
            current.insert(key, (line["time"].as_i64().unwrap(), line["data"].clone()));
        } else if current.get(&key).is_some_and(|(_, d)| *d == line["data"]) {
            current.remove(&key);
        }
    }
    let snapshots = current
        .values()
        .map(|(time, d)| {
            let fields = [
                "venue",
                "symbol",
                "rate",
                "interval_h",
                "rate_per_hour",
                "apr",
                "next_funding_ms",
                "mark_price",
                "source",
                "status",
                "confidence",
                "exchange_rate",
                "scanner_rate",
            ];
            let mut row: Vec<String> = fields.iter().map(|f| text(&d[*f])).collect();
            row.push(time.to_string());
            row.join("|")
        })
        .collect();
    let mut history: Vec<(String, i64, Option<i64>, Value)> = Vec::new();
    for line in read("discrepancies") {
        let d = &line["data"];
        let key = format!("{}|{}", text(&d["venue"]), text(&d["symbol"]));
        let time = line["time"].as_i64().unwrap();
        if line["diff"].as_i64() == Some(1) {
            history.push((key, time, None, d.clone()));
        } else if let Some(open) =
            history.iter_mut().find(|(k, _, closed, data)| *k == key && closed.is_none() && data == d)
        {
            open.2 = Some(time);
        }
    }
    let mut history: Vec<String> = history
        .into_iter()
        .map(|(key, opened, closed, d)| {
            format!(
                "{key}|{}|{}|{}|{opened}|{}",
                text(&d["exchange_rate"]),
                text(&d["scanner_rate"]),
                text(&d["abs_diff"]),
                closed.map(|c| c.to_string()).unwrap_or_default()
            )
        })
        .collect();
    history.sort();
    let mut opportunities: std::collections::BTreeMap<String, i64> = Default::default();
    for line in read("opportunities") {
        let d = &line["data"];
        let row = format!(
            "{}|{}|{}|{}|{}",
            text(&d["symbol"]),
            text(&d["long_venue"]),
            text(&d["short_venue"]),
            text(&d["uos"]),
            text(&d["net_apr"])
        );
        *opportunities.entry(row).or_insert(0) += line["diff"].as_i64().unwrap();
    }
    let opportunities = opportunities.into_iter().filter(|(_, count)| *count > 0).map(|(row, _)| row).collect();
    (snapshots, history, opportunities)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_recording_leaves_in_postgres_what_replay_computes() {
    let db = TestDatabase::create(true).await.expect("postgres reachable");
    let pool = db.pool().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fixture_config = std::fs::read_to_string(fixture("mixed_venues.toml")).unwrap();
    let (config, prefix) = write_config(dir.path(), &db.url, false, &fixture_config);

    // The fixture plus a run-time parameter change at its last time.
    let recording = dir.path().join("recording.jsonl");
    let change = serde_json::json!({"recv_us": LAST_TIME, "subject": "control.params",
        "payload": {"key": "reconcile.abs_tolerance", "value": "0.00006"}});
    let text = std::fs::read_to_string(fixture("mixed_venues.jsonl")).unwrap() + &change.to_string() + "\n";
    std::fs::write(&recording, text).unwrap();

    // Listen to out.snapshots the way a downstream consumer would.
    let url = std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_string());
    let listener = async_nats::connect(url).await.unwrap();
    let mut out_snapshots = listener.subscribe(format!("{prefix}out.snapshots")).await.unwrap();
    listener.flush().await.unwrap();

    let mut worker = start_worker(&config);
    let published = nexus().args(["publish", "--input"]).arg(&recording).arg("--config").arg(&config).output().unwrap();
    assert!(published.status.success(), "{}", String::from_utf8_lossy(&published.stderr));
    assert!(String::from_utf8_lossy(&published.stdout).contains("published 15 messages"));
    wait_for_frontier(&pool, LAST_TIME + 1).await;

    // Graceful shutdown on SIGTERM.
    let pid = worker.0.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = worker.0.wait().unwrap();
    assert!(status.success(), "nexus run exited with {status}");

    let (expected_snapshots, expected_history, expected_opportunities) = expected_from_replay(&recording, &config);

    // out.snapshots carries exactly the lines of replay's snapshots.jsonl, in order.
    let replayed = tempfile::tempdir().unwrap();
    replay_into(&recording, replayed.path(), &config);
    let expected_lines: Vec<String> =
        std::fs::read_to_string(replayed.path().join("snapshots.jsonl")).unwrap().lines().map(str::to_string).collect();
    let mut received = Vec::new();
    while received.len() < expected_lines.len() {
        match tokio::time::timeout(Duration::from_secs(10), futures::StreamExt::next(&mut out_snapshots)).await {
            Ok(Some(message)) => received.push(String::from_utf8_lossy(&message.payload).into_owned()),
            _ => break,
        }
    }
    assert_eq!(received, expected_lines);

    let snapshots = rows(&pool, SNAPSHOT_ROWS).await;
    assert_eq!(snapshots.len(), 8);
    assert_eq!(snapshots, expected_snapshots);
    let history = rows(&pool, HISTORY_ROWS).await;
    assert!(!history.is_empty());
    assert_eq!(history, expected_history);
    let opportunities = rows(&pool, OPPORTUNITY_ROWS).await;
    assert!(!opportunities.is_empty());
    assert_eq!(opportunities, expected_opportunities);
    let parameter = |key: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, String>(
                "SELECT format('%s@%s', value, logical_time) FROM parameters WHERE key = $1",
            )
            .bind(key)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    assert_eq!(parameter("reconcile.stale_after_ms").await, "180000@0");
    assert_eq!(parameter("reconcile.abs_tolerance").await, format!("\"0.00006\"@{LAST_TIME}"));

    pool.close().await;
    db.drop_database().await.unwrap();
}

#[test]
fn record_captures_a_published_recording_that_replays_identically() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("nexus.toml");
    std::fs::write(&config, format!("[nats]\nprefix = \"{}\"\n", unique_prefix())).unwrap();
    let recording = dir.path().join("captured.jsonl.zst");
    let mut recorder = start_recorder(&["--count", "14"], &recording, &config);
    let published = nexus()
        .args(["publish", "--rate", "2000", "--input"])
        .arg(fixture("mixed_venues.jsonl"))
        .arg("--config")
        .arg(&config)
        .status()
        .unwrap();
    assert!(published.success());
    let status = recorder.wait().unwrap();
    assert!(status.success());

    let fixture_config = fixture("mixed_venues.toml");
    replay_into(&fixture("mixed_venues.jsonl"), &dir.path().join("original"), &fixture_config);
    replay_into(&recording, &dir.path().join("captured"), &fixture_config);
    for stream in ["snapshots", "discrepancies", "rejected"] {
        let a = std::fs::read_to_string(dir.path().join("original").join(format!("{stream}.jsonl"))).unwrap();
        let b = std::fs::read_to_string(dir.path().join("captured").join(format!("{stream}.jsonl"))).unwrap();
        assert_eq!(a, b, "{stream} differs");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_with_a_database_url_fills_postgres_like_the_live_worker() {
    let db = TestDatabase::create(true).await.expect("postgres reachable");
    let pool = db.pool().await.unwrap();
    let out = tempfile::tempdir().unwrap();
    let config = fixture("mixed_venues.toml");
    let status = nexus()
        .args(["replay", "--quiet", "--workers", "2", "--input"])
        .arg(fixture("mixed_venues.jsonl"))
        .arg("--output")
        .arg(out.path())
        .arg("--config")
        .arg(&config)
        .args(["--database-url", &db.url])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let (expected_snapshots, expected_history, expected_opportunities) =
        expected_from_replay(&fixture("mixed_venues.jsonl"), &config);
    let snapshots = rows(&pool, SNAPSHOT_ROWS).await;
    assert_eq!(snapshots, expected_snapshots);
    let history = rows(&pool, HISTORY_ROWS).await;
    assert_eq!(history, expected_history);
    let opportunities = rows(&pool, OPPORTUNITY_ROWS).await;
    assert_eq!(opportunities, expected_opportunities);
    let frontier: i64 = sqlx::query_scalar("SELECT frontier FROM sink_progress").fetch_one(&pool).await.unwrap();
    assert_eq!(frontier, LAST_TIME + 1);
    pool.close().await;
    db.drop_database().await.unwrap();
}

#[test]
fn simulate_publishes_valid_venue_payloads() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("nexus.toml");
    std::fs::write(&config, format!("[nats]\nprefix = \"{}\"\n", unique_prefix())).unwrap();
    let recording = dir.path().join("simulated.jsonl");
    let mut recorder = start_recorder(&["--count", "200", "--duration", "30"], &recording, &config);
    let simulated =
        nexus().args(["simulate", "--duration", "2", "--speed", "30", "--config"]).arg(&config).output().unwrap();
    assert!(simulated.status.success(), "{}", String::from_utf8_lossy(&simulated.stderr));
    assert!(recorder.wait().unwrap().success());

    let out = dir.path().join("out");
    let replayed =
        nexus().args(["replay", "--quiet", "--input"]).arg(&recording).arg("--output").arg(&out).output().unwrap();
    assert!(replayed.status.success());
    let stdout = String::from_utf8_lossy(&replayed.stdout);
    assert!(stdout.contains("replayed 200 events") && stdout.contains("rejected: 0"), "{stdout}");
    assert!(std::fs::read_to_string(out.join("snapshots.jsonl")).unwrap().lines().count() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_messages_use_rounded_receive_times_and_the_clock_moves_on_when_idle() {
    let db = TestDatabase::create(true).await.expect("postgres reachable");
    let pool = db.pool().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (config, prefix) = write_config(dir.path(), &db.url, false, "");
    let mut worker = start_worker(&config);

    // A plain publish, no Nexus-Time: the worker stamps the receive time.
    let url = std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_string());
    let client = async_nats::connect(url).await.unwrap();
    let before = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_micros() as i64;
    let payload = r#"{"e":"markPriceUpdate","E":1,"s":"BTCUSDT","p":"60000","r":"0.0001","T":1763625600000}"#;
    client.publish(format!("{prefix}feeds.funding.binance"), payload.into()).await.unwrap();
    client.flush().await.unwrap();

    // Nothing else arrives: the idle advance must complete that time on its own.
    let started = Instant::now();
    let time: i64 = loop {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT logical_time FROM snapshots WHERE venue = 'binance' AND symbol = 'BTC'")
                .fetch_optional(&pool)
                .await
                .unwrap();
        if let Some(time) = found {
            break time;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the snapshot never landed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(time % 1000, 0, "receive time rounded down to the 1 ms tick");
    assert!(time >= before - before % 1000, "{time} is before the publish at {before}");
    let pid = worker.0.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    assert!(worker.0.wait().unwrap().success());
    pool.close().await;
    db.drop_database().await.unwrap();
}

/// The `var` table, one `|`-joined line per row, with the decimals as replay writes them.
const VAR_ROWS: &str = "SELECT concat_ws('|', account, returns, exposure_net, exposure_gross, var_hist_95, es_hist_95,
    var_hist_99, es_hist_99) FROM var ORDER BY account";
/// The `positions` table, likewise.
const POSITION_ROWS: &str = "SELECT concat_ws('|', account, venue, symbol, qty) FROM positions ORDER BY 1";

#[tokio::test]
async fn positions_and_var_from_a_published_recording_match_replay_in_postgres_and_on_out_var() {
    let db = TestDatabase::create(true).await.expect("postgres reachable");
    let pool = db.pool().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fixture_config = std::fs::read_to_string(fixture("var_accounts.toml")).unwrap();
    let (config, prefix) = write_config(dir.path(), &db.url, false, &fixture_config);
    let recording = fixture("var_accounts.jsonl");

    let url = std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_string());
    let listener = async_nats::connect(url).await.unwrap();
    let mut out_var = listener.subscribe(format!("{prefix}out.var")).await.unwrap();
    listener.flush().await.unwrap();

    publish_through_worker(&config, &recording, &pool).await;

    let replayed = tempfile::tempdir().unwrap();
    replay_into(&recording, replayed.path(), &config);
    let replay_lines = |stream: &str| -> Vec<Value> {
        std::fs::read_to_string(replayed.path().join(format!("{stream}.jsonl")))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let final_of = |stream: &str, fields: &[&str]| -> Vec<String> {
        let mut counts: BTreeMap<String, i64> = BTreeMap::new();
        for line in replay_lines(stream) {
            let row: Vec<String> = fields.iter().map(|f| text(&line["data"][*f])).collect();
            *counts.entry(row.join("|")).or_insert(0) += line["diff"].as_i64().unwrap();
        }
        counts.into_iter().filter(|(_, c)| *c != 0).map(|(row, _)| row).collect()
    };

    // out.var carries replay's var.jsonl lines, in order.
    let expected_lines = replay_lines("var");
    assert!(!expected_lines.is_empty());
    assert_eq!(receive_json(&mut out_var, expected_lines.len()).await, expected_lines);

    let var_fields = [
        "account",
        "returns",
        "exposure_net",
        "exposure_gross",
        "var_hist_95",
        "es_hist_95",
        "var_hist_99",
        "es_hist_99",
    ];
    assert_eq!(rows(&pool, VAR_ROWS).await, final_of("var", &var_fields));
    assert_eq!(rows(&pool, POSITION_ROWS).await, final_of("positions", &["account", "venue", "symbol", "qty"]));
    let history: i64 = sqlx::query_scalar("SELECT count(*) FROM var_history").fetch_one(&pool).await.unwrap();
    assert_eq!(history as usize, replay_lines("var").iter().filter(|l| l["diff"] == 1).count());

    pool.close().await;
    db.drop_database().await.unwrap();
}

#[tokio::test]
async fn alerts_from_published_order_flow_match_replay_in_postgres_and_on_out_alerts() {
    let db = TestDatabase::create(true).await.expect("postgres reachable");
    let pool = db.pool().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (config, prefix) = write_config(dir.path(), &db.url, false, "");
    // About four minutes of order flow: layering, wash trading and momentum ignition episodes.
    let recording = dir.path().join("orders.jsonl");
    let (_, injected) = nexus::simulate::write_order_flow(&recording, 3, 25_000).unwrap();
    assert!(injected.len() >= 3);

    let url = std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_string());
    let listener = async_nats::connect(url).await.unwrap();
    let mut out_alerts = listener.subscribe(format!("{prefix}out.alerts")).await.unwrap();
    listener.flush().await.unwrap();

    publish_through_worker(&config, &recording, &pool).await;

    let replayed = tempfile::tempdir().unwrap();
    replay_into(&recording, replayed.path(), &config);
    let lines: Vec<Value> = std::fs::read_to_string(replayed.path().join("alerts.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.iter().filter(|l| l["diff"] == 1).count(), injected.len(), "replay raised the injected alerts");

    // out.alerts carries replay's alerts.jsonl lines, in order.
    assert_eq!(receive_json(&mut out_alerts, lines.len()).await, lines);

    // The alerts table holds every alert replay raised, with its evidence.
    let mut expected: Vec<String> = lines
        .iter()
        .filter(|l| l["diff"] == 1)
        .map(|l| {
            let a = &l["data"];
            let evidence: Vec<String> = a["evidence"].as_array().unwrap().iter().map(text).collect();
            format!(
                "{}|{}|{}|{}|{}",
                text(&a["alert_id"]),
                text(&a["pattern"]),
                text(&a["account"]),
                evidence.join(","),
                l["time"]
            )
        })
        .collect();
    expected.sort();
    let stored: Vec<String> = sqlx::query_scalar(
        "SELECT concat_ws('|', alert_id, pattern, account, array_to_string(evidence, ','), raised_time) FROM alerts ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(stored, expected);

    pool.close().await;
    db.drop_database().await.unwrap();
}
