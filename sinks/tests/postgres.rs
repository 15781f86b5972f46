//! The PostgreSQL sink against a real server, each test in a database of its own.

use nexus_model::records::OutputStream;
use nexus_sinks::SinkEvent;
use nexus_sinks::complete::{CompleteBatch, CompletedTimes};
use nexus_sinks::postgres::testing::TestDatabase;
use nexus_sinks::postgres::{PostgresError, PostgresSinkConfig};
use serde_json::json;
use sqlx::PgPool;

fn snapshot(venue: &str, symbol: &str, rate: &str, status: &str) -> String {
    json!({"venue": venue, "symbol": symbol, "rate": rate, "interval_h": "8", "rate_per_hour": "0.0000125",
        "apr": "0.1095", "next_funding_ms": 1763625600000u64, "mark_price": "60000", "source": "exchange",
        "status": status, "confidence": 1.0, "exchange_rate": rate, "scanner_rate": null})
    .to_string()
}

fn discrepancy(venue: &str, symbol: &str, sc: &str) -> String {
    json!({"venue": venue, "symbol": symbol, "exchange_rate": "0.0001", "scanner_rate": sc, "abs_diff": "0.0001"})
        .to_string()
}

fn parameter(key: &str, value: &str) -> String {
    json!({"key": key, "value": value}).to_string()
}

fn rejected(reason: &str) -> String {
    json!({"subject": "feeds.funding.binance", "reason": reason, "excerpt": "{"}).to_string()
}

/// A batch with inserts, an update, a removal, discrepancies opened and closed, and rejections.
fn batch() -> CompleteBatch {
    let mut buffer = CompletedTimes::new();
    let events = vec![
        (
            OutputStream::Snapshots,
            vec![
                (snapshot("binance", "BTC", "0.0001", "ok"), 10, 1),
                (snapshot("okx", "ETH", "0.0002", "ok"), 10, 1),
                (snapshot("binance", "BTC", "0.0001", "ok"), 20, -1),
                (snapshot("binance", "BTC", "0.0003", "discrepancy"), 20, 1),
                (snapshot("okx", "ETH", "0.0002", "ok"), 30, -1),
            ],
        ),
        (
            OutputStream::Discrepancies,
            vec![
                (discrepancy("binance", "BTC", "0.0002"), 20, 1),
                (discrepancy("binance", "BTC", "0.0002"), 25, -1),
                (discrepancy("binance", "BTC", "0.0004"), 25, 1),
                (discrepancy("bybit", "SOL", "0.0004"), 30, 1),
            ],
        ),
        (OutputStream::Rejected, vec![(rejected("malformed json: x"), 10, 1), (rejected("invalid field: y"), 10, 1)]),
        (
            OutputStream::Parameters,
            vec![
                (parameter("reconcile.abs_tolerance", "\"0.00005\""), 0, 1),
                (parameter("workers.threads", "1"), 0, 1),
                (parameter("reconcile.abs_tolerance", "\"0.00005\""), 20, -1),
                (parameter("reconcile.abs_tolerance", "\"0.0001\""), 20, 1),
            ],
        ),
    ];
    for (stream, updates) in events {
        buffer.accept(SinkEvent::Updates { stream, updates });
    }
    buffer.accept(SinkEvent::Frontier(31)).expect("frontier moved")
}

async fn dump(pool: &PgPool) -> Vec<String> {
    let mut rows = Vec::new();
    for query in [
        "SELECT format('%s|%s|%s|%s|%s|%s', venue, symbol, rate, status, confidence, logical_time) FROM snapshots ORDER BY 1",
        "SELECT format('%s|%s|%s|%s|%s', venue, symbol, scanner_rate, opened_time, closed_time) FROM discrepancy_history ORDER BY 1",
        "SELECT format('%s|%s|%s', logical_time, ordinal, reason) FROM rejected_inputs ORDER BY 1",
        "SELECT format('%s|%s|%s', key, value, logical_time) FROM parameters ORDER BY 1",
        "SELECT format('%s|%s', sink, frontier) FROM sink_progress ORDER BY 1",
    ] {
        let found: Vec<String> = sqlx::query_scalar(query).fetch_all(pool).await.unwrap();
        rows.extend(found);
    }
    rows
}

#[tokio::test]
async fn a_batch_lands_in_the_tables_and_writing_it_twice_changes_nothing() {
    let db = TestDatabase::create(true).await.expect("postgres reachable");
    let pool = db.pool().await.unwrap();
    let mut sink = PostgresSinkConfig::new(&db.url).build().await.unwrap();
    assert_eq!(sink.committed_frontier(), 0);
    let batch = batch();
    sink.write(&batch).await.unwrap();
    let first = dump(&pool).await;
    assert_eq!(
        first,
        vec![
            "binance|BTC|0.0003|discrepancy|1|20",
            "binance|BTC|0.0002|20|25",
            "binance|BTC|0.0004|25|",
            "bybit|SOL|0.0004|30|",
            "10|0|invalid field: y",
            "10|1|malformed json: x",
            "reconcile.abs_tolerance|\"0.0001\"|20",
            "workers.threads|1|0",
            "postgres|31",
        ]
    );

    // The same batch again, through the same sink and through a restarted one.
    sink.write(&batch).await.unwrap();
    assert_eq!(dump(&pool).await, first);
    let mut restarted = PostgresSinkConfig::new(&db.url).build().await.unwrap();
    assert_eq!(restarted.committed_frontier(), 31);
    restarted.write(&batch).await.unwrap();
    assert_eq!(dump(&pool).await, first);

    // Even with the progress row gone (the statements themselves are idempotent).
    sqlx::query("DELETE FROM sink_progress").execute(&pool).await.unwrap();
    let mut forgetful = PostgresSinkConfig::new(&db.url).build().await.unwrap();
    forgetful.write(&batch).await.unwrap();
    assert_eq!(dump(&pool).await, first);

    pool.close().await;
    db.drop_database().await.unwrap();
}

#[tokio::test]
async fn an_unmigrated_database_is_refused_with_the_remedy() {
    let db = TestDatabase::create(false).await.expect("postgres reachable");
    let error = match PostgresSinkConfig::new(&db.url).build().await {
        Err(error) => error,
        Ok(_) => panic!("an unmigrated database must be refused"),
    };
    assert!(matches!(error, PostgresError::NotMigrated { pending } if pending >= 2), "{error}");
    assert!(error.to_string().contains("nexus migrate"));
    db.drop_database().await.unwrap();
}

fn opportunity(long: &str, uos: &str) -> String {
    json!({"symbol": "BTC", "long_venue": long, "short_venue": "okx", "long_rate_per_hour": "0.00001",
        "short_rate_per_hour": "0.00007", "gross_apr": "0.5256", "cost_apr": "0.24", "net_apr": "0.2856",
        "spread_score": "0.5712", "liquidity_score": "0", "confidence_score": "1", "uos": uos,
        "long_next_funding_ms": 1, "short_next_funding_ms": null})
    .to_string()
}

fn ranked(rank: u32, long: &str, uos: &str) -> String {
    json!({"rank": rank, "symbol": "BTC", "long_venue": long, "short_venue": "okx", "uos": uos, "net_apr": "0.2856"})
        .to_string()
}

#[tokio::test]
async fn an_opportunity_that_appears_changes_and_expires_leaves_its_lifecycle() {
    let db = TestDatabase::create(true).await.expect("postgres reachable");
    let pool = db.pool().await.unwrap();
    let mut sink = PostgresSinkConfig::new(&db.url).build().await.unwrap();
    let mut buffer = CompletedTimes::new();
    buffer.accept(SinkEvent::Updates {
        stream: OutputStream::Opportunities,
        updates: vec![
            (opportunity("binance", "54.272"), 10, 1),
            (opportunity("bybit", "40"), 10, 1),
            (opportunity("binance", "54.272"), 20, -1),
            (opportunity("binance", "61.5"), 20, 1),
            (opportunity("binance", "61.5"), 30, -1),
        ],
    });
    buffer.accept(SinkEvent::Updates {
        stream: OutputStream::Ranked,
        updates: vec![
            (ranked(1, "binance", "54.272"), 10, 1),
            (ranked(2, "bybit", "40"), 10, 1),
            (ranked(1, "binance", "54.272"), 30, -1),
            (ranked(2, "bybit", "40"), 30, -1),
            (ranked(1, "bybit", "40"), 30, 1),
        ],
    });
    // Two batches: the first ends after the update, the second holds the expiry.
    let first = buffer.accept(SinkEvent::Frontier(25)).unwrap();
    let second = buffer.accept(SinkEvent::Frontier(31)).unwrap();
    sink.write(&first).await.unwrap();
    let current: Vec<String> =
        sqlx::query_scalar("SELECT format('%s|%s', long_venue, uos) FROM opportunities ORDER BY 1")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(current, vec!["binance|61.5", "bybit|40"]);
    sink.write(&second).await.unwrap();
    sink.write(&second).await.unwrap();

    let events: Vec<String> = sqlx::query_scalar(
        "SELECT format('%s|%s|%s|%s', long_venue, event, logical_time, uos) FROM opportunity_events ORDER BY logical_time, long_venue",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        events,
        vec![
            "binance|discovered|10|54.272",
            "bybit|discovered|10|40",
            "binance|updated|20|61.5",
            "binance|expired|30|61.5"
        ]
    );
    // Each event keeps the whole record as the stream carries it.
    let records: Vec<serde_json::Value> =
        sqlx::query_scalar("SELECT record FROM opportunity_events ORDER BY logical_time, long_venue")
            .fetch_all(&pool)
            .await
            .unwrap();
    let expected: Vec<serde_json::Value> = [
        opportunity("binance", "54.272"),
        opportunity("bybit", "40"),
        opportunity("binance", "61.5"),
        opportunity("binance", "61.5"),
    ]
    .iter()
    .map(|json| serde_json::from_str(json).unwrap())
    .collect();
    assert_eq!(records, expected);
    let current: Vec<String> =
        sqlx::query_scalar("SELECT format('%s|%s', long_venue, logical_time) FROM opportunities ORDER BY 1")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(current, vec!["bybit|10"]);
    let ranking: Vec<String> =
        sqlx::query_scalar("SELECT format('%s|%s|%s', rank, long_venue, uos) FROM ranked ORDER BY rank")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(ranking, vec!["1|bybit|40"]);

    pool.close().await;
    db.drop_database().await.unwrap();
}

fn position(account: &str, venue: &str, qty: &str) -> String {
    json!({"account": account, "venue": venue, "symbol": "BTC", "qty": qty}).to_string()
}

fn var(account: &str, var_hist_99: &str, param: f64) -> String {
    json!({"account": account, "returns": 40, "exposure_net": "1000", "exposure_gross": "1500",
        "var_hist_95": "10", "es_hist_95": "12.5", "var_hist_99": var_hist_99, "es_hist_99": var_hist_99,
        "var_param_95": param, "var_param_99": param * 1.5})
    .to_string()
}

fn stress(account: &str, pnl: &str) -> String {
    json!({"account": account, "scenario": "crash", "pnl": pnl}).to_string()
}

#[tokio::test]
async fn positions_var_history_and_stress_follow_their_streams() {
    let db = TestDatabase::create(true).await.expect("postgres reachable");
    let pool = db.pool().await.unwrap();
    let mut sink = PostgresSinkConfig::new(&db.url).build().await.unwrap();
    let mut buffer = CompletedTimes::new();
    let events = vec![
        (
            OutputStream::Positions,
            vec![
                (position("desk-a", "binance", "2"), 10, 1),
                (position("desk-b", "okx", "-1"), 10, 1),
                (position("desk-a", "binance", "2"), 20, -1),
                (position("desk-a", "binance", "1.5"), 20, 1),
                (position("desk-b", "okx", "-1"), 30, -1),
            ],
        ),
        (
            OutputStream::Var,
            vec![
                (var("desk-a", "20", 7.25), 10, 1),
                (var("desk-b", "3", 1.0), 10, 1),
                (var("desk-a", "20", 7.25), 20, -1),
                (var("desk-a", "20.5", 7.5), 20, 1),
                (var("desk-b", "3", 1.0), 30, -1),
            ],
        ),
        (
            OutputStream::Stress,
            vec![
                (stress("desk-a", "-10"), 10, 1),
                (stress("desk-a", "-10"), 20, -1),
                (stress("desk-a", "-7.5"), 20, 1),
            ],
        ),
    ];
    for (stream, updates) in events {
        buffer.accept(SinkEvent::Updates { stream, updates });
    }
    let batch = buffer.accept(SinkEvent::Frontier(31)).unwrap();
    sink.write(&batch).await.unwrap();
    sink.write(&batch).await.unwrap();

    let query = |sql: &'static str| {
        let pool = pool.clone();
        async move { sqlx::query_scalar::<_, String>(sql).fetch_all(&pool).await.unwrap() }
    };
    assert_eq!(
        query("SELECT format('%s|%s|%s|%s|%s', account, venue, symbol, qty, logical_time) FROM positions ORDER BY 1")
            .await,
        vec!["desk-a|binance|BTC|1.5|20"]
    );
    assert_eq!(
        query("SELECT format('%s|%s|%s|%s|%s|%s', account, returns, var_hist_99, var_param_95, var_param_99, logical_time) FROM var ORDER BY 1").await,
        vec!["desk-a|40|20.5|7.5|11.25|20"]
    );
    assert_eq!(
        query("SELECT format('%s|%s|%s', account, logical_time, var_hist_99) FROM var_history ORDER BY logical_time, account").await,
        vec!["desk-a|10|20", "desk-b|10|3", "desk-a|20|20.5"]
    );
    assert_eq!(
        query("SELECT format('%s|%s|%s|%s', account, scenario, pnl, logical_time) FROM stress ORDER BY 1").await,
        vec!["desk-a|crash|-7.5|20"]
    );

    pool.close().await;
    db.drop_database().await.unwrap();
}

fn alert(id: &str, account: &str, evidence: &[&str]) -> String {
    json!({"alert_id": id, "pattern": "layering", "severity": "high", "venue": "binance", "account": account,
        "symbol": "BTC", "first_us": 5, "last_us": 9, "evidence": evidence,
        "details": {"orders": evidence.len(), "levels": 3, "cancelled": 3, "cancel_ratio": "1", "fill_us": 7}})
    .to_string()
}

#[tokio::test]
async fn alerts_are_raised_revised_and_withdrawn_but_never_deleted() {
    let db = TestDatabase::create(true).await.expect("postgres reachable");
    let pool = db.pool().await.unwrap();
    let mut sink = PostgresSinkConfig::new(&db.url).build().await.unwrap();
    let mut buffer = CompletedTimes::new();
    let updates = vec![
        (alert("a1", "acct-1", &["o1", "o2", "o3"]), 10, 1),
        (alert("a2", "acct-2", &["o7", "o8", "o9"]), 10, 1),
        // a1 gains an order before its episode settles.
        (alert("a1", "acct-1", &["o1", "o2", "o3"]), 20, -1),
        (alert("a1", "acct-1", &["o1", "o2", "o3", "o4"]), 20, 1),
    ];
    buffer.accept(SinkEvent::Updates { stream: OutputStream::Alerts, updates });
    let first = buffer.accept(SinkEvent::Frontier(25)).unwrap();
    sink.write(&first).await.unwrap();
    // a2 is withdrawn (a threshold raised before it settled).
    let updates = vec![(alert("a2", "acct-2", &["o7", "o8", "o9"]), 30, -1)];
    buffer.accept(SinkEvent::Updates { stream: OutputStream::Alerts, updates });
    let second = buffer.accept(SinkEvent::Frontier(35)).unwrap();
    sink.write(&second).await.unwrap();
    sink.write(&first).await.ok();
    sink.write(&second).await.unwrap();

    let rows = sqlx::query_scalar::<_, String>(
        "SELECT format('%s|%s|%s|%s|%s|%s|%s|%s', alert_id, pattern, severity, account, array_to_string(evidence, ','),
             details->>'orders', raised_time, revised_time) || '|' || coalesce(withdrawn_time::text, '-')
         FROM alerts ORDER BY alert_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        rows,
        vec!["a1|layering|high|acct-1|o1,o2,o3,o4|4|10|20|-", "a2|layering|high|acct-2|o7,o8,o9|3|10|10|30"]
    );

    pool.close().await;
    db.drop_database().await.unwrap();
}

fn decision(arb: &str, accepted: bool, reasons: &[&str]) -> String {
    json!({"arb_id": arb, "symbol": "BTC", "long_venue": "binance", "short_venue": "bybit", "accepted": accepted,
        "reasons": reasons})
    .to_string()
}

fn order(id: &str, action: &str, venue: &str, side: &str) -> String {
    json!({"client_order_id": id, "arb_id": "BTC:binance:bybit", "action": action, "account": "main",
        "venue": venue, "symbol": "BTC", "side": side, "qty": "0.3333", "order_type": "market",
        "reduce_only": action != "open"})
    .to_string()
}

#[tokio::test]
async fn decisions_keep_their_history_orders_are_written_once_and_halts_are_replaced() {
    let db = TestDatabase::create(true).await.expect("postgres reachable");
    let pool = db.pool().await.unwrap();
    let mut sink = PostgresSinkConfig::new(&db.url).build().await.unwrap();
    let mut buffer = CompletedTimes::new();
    let arb = "BTC:binance:bybit";
    buffer.accept(SinkEvent::Updates {
        stream: OutputStream::Decisions,
        updates: vec![
            (decision(arb, false, &["halt:global"]), 10, 1),
            // The halt is lifted: the rejection is replaced by an acceptance.
            (decision(arb, false, &["halt:global"]), 20, -1),
            (decision(arb, true, &[]), 20, 1),
        ],
    });
    buffer.accept(SinkEvent::Updates {
        stream: OutputStream::Orders,
        updates: vec![(order("nx1", "open", "binance", "buy"), 20, 1), (order("nx2", "open", "bybit", "sell"), 20, 1)],
    });
    let first = buffer.accept(SinkEvent::Frontier(25)).unwrap();
    sink.write(&first).await.unwrap();
    // The arbitrage closes: its decision lapses, two close orders go out.
    buffer.accept(SinkEvent::Updates {
        stream: OutputStream::Decisions,
        updates: vec![(decision(arb, true, &[]), 30, -1)],
    });
    buffer.accept(SinkEvent::Updates {
        stream: OutputStream::Orders,
        updates: vec![
            (order("nx3", "close", "binance", "sell"), 30, 1),
            (order("nx4", "close", "bybit", "buy"), 30, 1),
        ],
    });
    // A halt at 32 that an operator lifts at 34.
    let halt = |halted: bool, since: u64| {
        json!({"scope": "venue", "target": "okx", "halted": halted, "since": since, "reason": "maintenance"})
            .to_string()
    };
    buffer.accept(SinkEvent::Updates { stream: OutputStream::Halts, updates: vec![(halt(true, 32), 32, 1)] });
    buffer.accept(SinkEvent::Updates {
        stream: OutputStream::Halts,
        updates: vec![(halt(true, 32), 34, -1), (halt(false, 34), 34, 1)],
    });
    let second = buffer.accept(SinkEvent::Frontier(35)).unwrap();
    sink.write(&second).await.unwrap();
    // A second sink (a restarted worker that lost its progress) writes both again.
    sqlx::query("DELETE FROM sink_progress").execute(&pool).await.unwrap();
    let mut again = PostgresSinkConfig::new(&db.url).build().await.unwrap();
    again.write(&first).await.unwrap();
    again.write(&second).await.unwrap();

    let decisions = sqlx::query_scalar::<_, String>(
        "SELECT format('%s|%s|%s|%s', arb_id, decided_time, accepted, array_to_string(reasons, ',')) || '|' ||
             coalesce(superseded_time::text, '-') FROM decisions ORDER BY decided_time",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(decisions, vec![format!("{arb}|10|f|halt:global|20"), format!("{arb}|20|t||30")]);
    let orders = sqlx::query_scalar::<_, String>(
        "SELECT format('%s|%s|%s|%s|%s|%s|%s', client_order_id, action, venue, side, qty, reduce_only, logical_time)
         FROM orders ORDER BY client_order_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        orders,
        vec![
            "nx1|open|binance|buy|0.3333|f|20",
            "nx2|open|bybit|sell|0.3333|f|20",
            "nx3|close|binance|sell|0.3333|t|30",
            "nx4|close|bybit|buy|0.3333|t|30"
        ]
    );
    let halts = sqlx::query_scalar::<_, String>(
        "SELECT format('%s|%s|%s|%s|%s', scope, target, halted, reason, since_time) FROM halts",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(halts, vec!["venue|okx|f|maintenance|34"]);

    pool.close().await;
    db.drop_database().await.unwrap();
}

/// A sink that started on empty tables still reaches `decisions` through its index once the table
/// is large: PostgreSQL's cached generic plan, made on the empty table, scanned all of it on every
/// batch (the soak's PostgreSQL spent most of its time there).
#[tokio::test]
async fn the_sink_keeps_using_the_indexes_as_the_history_grows() {
    const BULK: i64 = 20_000;
    let db = TestDatabase::create(true).await.expect("postgres reachable");
    // One connection, so the only other backend is the sink's.
    let pool = sqlx::postgres::PgPoolOptions::new().max_connections(1).connect(&db.url).await.unwrap();
    let mut sink = PostgresSinkConfig::new(&db.url).build().await.unwrap();
    let arb = "BTC:binance:bybit";
    // Each batch replaces the arbitrage's decision, so the superseding UPDATE runs every time.
    let mut buffer = CompletedTimes::new();
    let mut replace = |time: u64| {
        let was_accepted = time.is_multiple_of(2);
        buffer.accept(SinkEvent::Updates {
            stream: OutputStream::Decisions,
            updates: vec![(decision(arb, was_accepted, &[]), time, -1), (decision(arb, !was_accepted, &[]), time, 1)],
        });
        buffer.accept(SinkEvent::Frontier(time + 1)).unwrap()
    };
    // More than five runs per connection on a nearly empty table: where PostgreSQL would settle on
    // a generic plan.
    for time in 1..=20 {
        sink.write(&replace(time)).await.unwrap();
    }
    // The history grows behind the sink's back (other arbitrages), with no ANALYZE.
    sqlx::query(
        "INSERT INTO decisions (arb_id, decided_time, decided_at, symbol, long_venue, short_venue, accepted, reasons)
         SELECT 'ETH:okx:bybit:' || (i % 300), i, now(), 'ETH', 'okx', 'bybit', true, '{}' FROM generate_series(1, $1) i",
    )
    .bind(BULK)
    .execute(&pool)
    .await
    .unwrap();
    for time in 21..=28 {
        sink.write(&replace(time)).await.unwrap();
    }
    // A backend reports its counters when it exits: close the sink and wait until it is gone.
    sink.close().await;
    let mut others = 1;
    for _ in 0..100 {
        others = sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        if others == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(others, 0, "the sink's connections did not end");
    let (seq_read, index_scans): (i64, i64) = sqlx::query_as(
        "SELECT coalesce(seq_tup_read, 0), coalesce(idx_scan, 0) FROM pg_stat_user_tables WHERE relname = 'decisions'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(seq_read < BULK, "the sink read {seq_read} decisions rows sequentially ({BULK} in the table)");
    assert!(index_scans >= 8, "the sink's superseding updates went through the index {index_scans} times");
    let superseded: i64 =
        sqlx::query_scalar("SELECT count(*) FROM decisions WHERE arb_id = $1 AND superseded_time IS NOT NULL")
            .bind(arb)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(superseded, 27, "every decision but the last is superseded");

    pool.close().await;
    db.drop_database().await.unwrap();
}
