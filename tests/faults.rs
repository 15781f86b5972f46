//! Faults on private service instances (never the machine's shared ones): a nats-server restarted
//! and a PostgreSQL stopped in the middle of a durable run. Each run's final tables and orders
//! must equal an undisturbed run's, and `/health` must report the outage while it lasts.

mod common;

use std::time::{Duration, Instant};

use common::services::{PrivateNats, PrivatePostgres};
use common::*;
use nexus_sinks::postgres::testing::TestDatabase;

/// One-second VaR bars, so VaR is reported within the recording.
const EXTRA: &str = "[var]\nbar_ms = 1000\n\n[risk]\nleg_timeout_ms = 15000\n";

/// Every table, and the orders stream.
type Outcome = (std::collections::BTreeMap<String, Vec<String>>, Vec<String>);

/// Polls `/health` until it answers 503 with `field` false (at most 30 s); returns the body.
fn health_reports_down(address: &str, field: &str) -> String {
    let started = Instant::now();
    loop {
        let (status, body) = http_get(address, "/health");
        let health: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        if status == 503 && health[field] == false {
            return body;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "health never reported {field} down: {status} {body}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The recording run without disturbance on `nats_url` and a database of `admin_url`'s server.
async fn undisturbed(dir: &std::path::Path, recording: &std::path::Path, nats_url: &str, admin_url: &str) -> Outcome {
    let client = async_nats::connect(nats_url).await.unwrap();
    let db = TestDatabase::create_on(admin_url, true).await.unwrap();
    let pool = db.pool().await.unwrap();
    let run_dir = dir.join("undisturbed");
    std::fs::create_dir_all(&run_dir).unwrap();
    let (config, prefix) = write_config_on(&run_dir, nats_url, &db.url, true, EXTRA);
    publish(recording, &config);
    let worker = start_worker(&config);
    wait_for_frontier(&pool, last_time(recording) + 1).await;
    terminate(worker);
    let outcome = (dump_tables(&pool).await, dump_orders(&client, &prefix).await);
    assert!(!outcome.1.is_empty(), "the recording must make orders to compare");
    pool.close().await;
    db.drop_database().await.unwrap();
    delete_streams(&client, &prefix).await;
    outcome
}

fn assert_same(disturbed: &Outcome, expected: &Outcome, what: &str) {
    for (table, rows) in &expected.0 {
        let got = disturbed.0.get(table).cloned().unwrap_or_default();
        let missing: Vec<&String> = rows.iter().filter(|r| !got.contains(r)).collect();
        let extra: Vec<&String> = got.iter().filter(|r| !rows.contains(r)).collect();
        assert!(got == *rows, "table {table} after {what}: missing {missing:#?}, extra {extra:#?}");
    }
    assert_eq!(disturbed.0.len(), expected.0.len());
    assert_eq!(disturbed.1, expected.1, "orders stream after {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nats_restart_mid_run_loses_nothing() {
    let mut nats = PrivateNats::start();
    let dir = tempfile::tempdir().unwrap();
    let (recording, _) = recording_with_halt(dir.path(), 60, 40);
    let admin_url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let expected = undisturbed(dir.path(), &recording, &nats.url(), &admin_url).await;

    // Half the recording is stored before the worker starts, the rest after the restart.
    let (head, tail) = split_recording(&recording, 0.5);
    let db = TestDatabase::create_on(&admin_url, true).await.unwrap();
    let pool = db.pool().await.unwrap();
    let run_dir = dir.path().join("restarted");
    std::fs::create_dir_all(&run_dir).unwrap();
    let (config, prefix) = write_config_on(&run_dir, &nats.url(), &db.url, true, EXTRA);
    publish(&head, &config);
    let worker = start_worker(&config);
    frontier_reaches(&pool, first_time(&recording) + 1).await;
    nats.stop();
    let down = health_reports_down(&worker.metrics_address(), "nats");
    nats.resume();
    publish(&tail, &config);
    wait_for_frontier(&pool, last_time(&recording) + 1).await;
    let (status, _) = http_get(&worker.metrics_address(), "/health");
    assert_eq!(status, 200, "healthy again after the restart (down: {down})");
    terminate(worker);
    let client = async_nats::connect(nats.url()).await.unwrap();
    let restarted = (dump_tables(&pool).await, dump_orders(&client, &prefix).await);
    assert_same(&restarted, &expected, "a nats-server restart");
    pool.close().await;
    db.drop_database().await.unwrap();
    delete_streams(&client, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_down_mid_run_holds_writes_back_and_loses_nothing() {
    let mut postgres = PrivatePostgres::start();
    let dir = tempfile::tempdir().unwrap();
    let (recording, _) = recording_with_halt(dir.path(), 60, 40);
    let expected = undisturbed(dir.path(), &recording, &nats_url(), &postgres.url()).await;

    let (head, tail) = split_recording(&recording, 0.5);
    let db = TestDatabase::create_on(&postgres.url(), true).await.unwrap();
    let run_dir = dir.path().join("stopped");
    std::fs::create_dir_all(&run_dir).unwrap();
    let (config, prefix) = write_config_on(&run_dir, &nats_url(), &db.url, true, EXTRA);
    publish(&head, &config);
    let worker = start_worker(&config);
    let pool = db.pool().await.unwrap();
    frontier_reaches(&pool, first_time(&recording) + 1).await;
    pool.close().await;
    postgres.stop();
    // The rest arrives while PostgreSQL is down: it is computed, held back, and written later.
    publish(&tail, &config);
    let down = health_reports_down(&worker.metrics_address(), "postgres");
    let (_, metrics) = http_get(&worker.metrics_address(), "/metrics");
    assert_eq!(metric(&metrics, "nexus_postgres_up"), Some(0.0), "{metrics}");
    assert!(metric(&metrics, "nexus_sink_errors_total{sink=\"postgres\"}").is_some_and(|n| n >= 1.0), "{metrics}");
    postgres.resume();
    let pool = db.pool().await.unwrap();
    wait_for_frontier(&pool, last_time(&recording) + 1).await;
    let (status, _) = http_get(&worker.metrics_address(), "/health");
    assert_eq!(status, 200, "healthy again once PostgreSQL is back (down: {down})");
    let (_, metrics) = http_get(&worker.metrics_address(), "/metrics");
    assert_eq!(metric(&metrics, "nexus_late_events_total"), Some(0.0), "{metrics}");
    terminate(worker);
    let client = async_nats::connect(nats_url()).await.unwrap();
    let resumed = (dump_tables(&pool).await, dump_orders(&client, &prefix).await);
    assert_same(&resumed, &expected, "PostgreSQL stopped and started");
    pool.close().await;
    db.drop_database().await.unwrap();
    delete_streams(&client, &prefix).await;
}
