//! Durable mode on the real nats-server and PostgreSQL (DESIGN section 8): a worker killed with
//! SIGKILL and restarted leaves exactly what an uninterrupted run leaves, in every table and in
//! the orders stream.

mod common;

use common::*;
use nexus_sinks::postgres::testing::TestDatabase;
use sqlx::PgPool;

/// Simulated seconds in the recording, and when its global halt comes.
const SECONDS: u64 = 90;
const HALT_AFTER: u64 = 60;
/// One-second VaR bars, so VaR is reported within the recording.
const EXTRA: &str = "[var]\nbar_ms = 1000\n\n[risk]\nleg_timeout_ms = 15000\n";

/// What a finished run left: every table, and the orders stream.
type Outcome = (std::collections::BTreeMap<String, Vec<String>>, Vec<String>);

async fn outcome(pool: &PgPool, client: &async_nats::Client, prefix: &str) -> Outcome {
    (dump_tables(pool).await, dump_orders(client, prefix).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_at_several_points_leaves_what_an_uninterrupted_run_leaves() {
    let dir = tempfile::tempdir().unwrap();
    let (recording, _) = recording_with_halt(dir.path(), SECONDS, HALT_AFTER);
    let (first, last) = (first_time(&recording), last_time(&recording));
    // One bad input a second in: rejected with a reason, counted, and nothing else disturbed.
    let mut lines: Vec<String> = std::fs::read_to_string(&recording).unwrap().lines().map(str::to_string).collect();
    let bad = serde_json::json!({"recv_us": first + 1_000_000, "subject": "feeds.funding.binance",
        "payload": {"e": "markPriceUpdate", "s": "BTCUSDT"}});
    let at = lines.iter().position(|l| l.contains(&format!("\"recv_us\":{}", first + 1_000_000))).unwrap_or(1);
    lines.insert(at, bad.to_string());
    std::fs::write(&recording, lines.join("\n") + "\n").unwrap();
    let client = async_nats::connect(nats_url()).await.unwrap();

    // The uninterrupted run, published as fast as the publisher can while the worker runs: the
    // worker falls behind, and the stream holds what it has not read (backpressure, not loss).
    let db = TestDatabase::create(true).await.expect("postgres reachable");
    let pool = db.pool().await.unwrap();
    let plain_dir = dir.path().join("plain");
    std::fs::create_dir_all(&plain_dir).unwrap();
    let (config, prefix) = write_config(&plain_dir, &db.url, true, EXTRA);
    let worker = start_worker(&config);
    publish(&recording, &config);
    wait_for_frontier(&pool, last + 1).await;
    let (_, metrics) = http_get(&worker.metrics_address(), "/metrics");
    let lines = std::fs::read_to_string(&recording).unwrap().lines().count() as f64;
    let received: f64 = metrics
        .lines()
        .filter(|l| l.starts_with("nexus_events_in_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(received, lines, "every published message received once: {metrics}");
    assert_eq!(metric(&metrics, "nexus_late_events_total"), Some(0.0), "{metrics}");
    assert_eq!(metric(&metrics, "nexus_rejected_inputs_total{reason="), Some(1.0), "{metrics}");
    assert_eq!(metric(&metrics, "nexus_slow_consumer_events_total"), Some(0.0), "{metrics}");
    assert!(metric(&metrics, "nexus_input_to_output_latency_seconds_count").is_some_and(|n| n > 0.0), "{metrics}");
    let (status, health) = http_get(&worker.metrics_address(), "/health");
    assert_eq!(status, 200, "{health}");
    terminate(worker);
    let expected = outcome(&pool, &client, &prefix).await;
    assert!(!expected.1.is_empty(), "the recording must make orders to compare");
    assert!(expected.0.values().filter(|rows| !rows.is_empty()).count() >= 8, "tables: {:?}", expected.0.keys());
    pool.close().await;
    db.drop_database().await.unwrap();
    delete_streams(&client, &prefix).await;

    // The same recording, the worker killed at three points: at once, about a third in, and
    // about two thirds in; each restart resumes at the frontier the last one committed.
    let db = TestDatabase::create(true).await.expect("postgres reachable");
    let pool = db.pool().await.unwrap();
    let killed_dir = dir.path().join("killed");
    std::fs::create_dir_all(&killed_dir).unwrap();
    let (config, prefix) = write_config(&killed_dir, &db.url, true, EXTRA);
    publish(&recording, &config);
    let mut killed_at = Vec::new();
    for fraction in [0.0, 0.35, 0.7] {
        let worker = start_worker(&config);
        let target = first + ((last - first) as f64 * fraction) as i64;
        let frontier = if fraction == 0.0 {
            committed_frontier(&pool).await.unwrap_or(0)
        } else {
            frontier_reaches(&pool, target).await
        };
        kill_9(worker);
        killed_at.push(frontier);
    }
    assert!(
        killed_at.iter().any(|f| *f > first && *f <= last),
        "at least one kill must come in the middle of the recording: {killed_at:?} in {first}..={last}"
    );
    let worker = start_worker(&config);
    wait_for_frontier(&pool, last + 1).await;
    terminate(worker);
    let restarted = outcome(&pool, &client, &prefix).await;
    for (table, rows) in &expected.0 {
        assert_eq!(restarted.0.get(table), Some(rows), "table {table} after kills at {killed_at:?}");
    }
    assert_eq!(restarted.0.len(), expected.0.len());
    let table = expected.0.get("orders").cloned().unwrap_or_default();
    let extra: Vec<(&String, bool)> = restarted
        .1
        .iter()
        .filter(|o| !expected.1.contains(o))
        .map(|o| (o, table.iter().any(|row| row.contains(o.split(" | ").nth(1).unwrap_or("-")))))
        .collect();
    let missing: Vec<&String> = expected.1.iter().filter(|o| !restarted.1.contains(o)).collect();
    assert!(
        restarted.1 == expected.1,
        "orders stream after kills at {killed_at:?}: extra (and whether in the table) {extra:#?}, missing {missing:#?}; table {table:#?}"
    );
    pool.close().await;
    db.drop_database().await.unwrap();
    delete_streams(&client, &prefix).await;
}
