//! Risk-gate latency on the real path: from publishing the funding update that makes an
//! opportunity qualify to the open order intent arriving on `exec.orders.<venue>`, through
//! `nexus run` (NATS in, PostgreSQL and NATS out).
//!
//! Each cycle publishes a Bybit funding rate far above Binance's (the BTC binance/bybit pair
//! qualifies: an open), then an equal rate (it stops qualifying: a close), and times the open from
//! the publish to the first open order received. Needs the nats-server and PostgreSQL of the
//! README; starts `nexus run` on a fresh database and subject prefix and removes both afterwards.
//!
//! Run: `cargo bench --bench gate_latency` (optionally `-- --cycles N`).
//! Writes `target/bench-report/gate_latency.json` and prints it.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use hdrhistogram::Histogram;
use nexus_sinks::nats::stream_name;
use nexus_sinks::postgres::testing::TestDatabase;
use serde_json::{Value, json};

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

fn binance(rate: &str) -> Vec<u8> {
    let ms = now_ms();
    json!({"e": "markPriceUpdate", "E": ms, "s": "BTCUSDT", "p": "60000", "i": "60000", "P": "60000", "r": rate,
        "T": ms + 3_600_000})
    .to_string()
    .into_bytes()
}

fn bybit(rate: &str) -> Vec<u8> {
    let ms = now_ms();
    json!({"topic": "tickers.BTCUSDT", "type": "snapshot", "data": {"symbol": "BTCUSDT", "markPrice": "60000",
        "fundingRate": rate, "nextFundingTime": (ms + 3_600_000).to_string(), "fundingIntervalHour": "8"}, "ts": ms})
    .to_string()
    .into_bytes()
}

/// Waits for the next order intent with `action`, at most 10 s.
async fn next_order(orders: &mut async_nats::Subscriber, action: &str) -> Option<Instant> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        let message = tokio::time::timeout(left, orders.next()).await.ok()??;
        let order: Value = serde_json::from_slice(&message.payload).ok()?;
        if order["action"] == action {
            return Some(Instant::now());
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let cycles: u64 = args
        .iter()
        .position(|a| a == "--cycles")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("tokio: {e}"));
    runtime.block_on(async move {
        let db = TestDatabase::create(true).await.unwrap_or_else(|e| panic!("postgres: {e}"));
        let prefix = format!("bench{}.", std::process::id());
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let config = dir.path().join("nexus.toml");
        let toml = format!(
            "[nats]\nprefix = \"{prefix}\"\njetstream = true\n\n[postgres]\nurl = \"{}\"\n\n[risk]\nleg_timeout_ms = 3600000\n",
            db.url
        );
        std::fs::write(&config, toml).unwrap_or_else(|e| panic!("config: {e}"));
        let url = std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_string());
        let client = async_nats::connect(url).await.unwrap_or_else(|e| panic!("nats: {e}"));
        let mut orders = client.subscribe(format!("{prefix}exec.orders.>")).await.unwrap_or_else(|e| panic!("{e}"));
        client.flush().await.ok();

        let (mut worker, _ready, lines) = support::start_run(&config, 1);
        std::thread::spawn(move || for _ in lines {});

        let publish = |subject: &str, payload: Vec<u8>| {
            let client = client.clone();
            let subject = format!("{prefix}{subject}");
            async move { client.publish(subject, payload.into()).await.unwrap_or_else(|e| panic!("{e}")) }
        };
        publish("feeds.funding.binance", binance("0.0001")).await;
        publish("feeds.funding.bybit", bybit("0.0001")).await;
        client.flush().await.ok();
        tokio::time::sleep(Duration::from_millis(500)).await;

        let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap_or_else(|e| panic!("{e}"));
        let mut missed = 0u64;
        let started = Instant::now();
        for _ in 0..cycles {
            // Qualify: Bybit pays 0.3% per 8 h more than Binance.
            let sent = Instant::now();
            publish("feeds.funding.bybit", bybit("0.0031")).await;
            client.flush().await.ok();
            match next_order(&mut orders, "open").await {
                Some(received) => {
                    let _ = histogram.record(received.duration_since(sent).as_micros().max(1) as u64);
                }
                None => missed += 1,
            }
            // Stop qualifying: the close follows.
            publish("feeds.funding.bybit", bybit("0.0001")).await;
            client.flush().await.ok();
            if next_order(&mut orders, "close").await.is_none() {
                missed += 1;
            }
        }
        let elapsed = started.elapsed().as_secs_f64();
        let _ = Command::new("kill").args(["-TERM", &worker.id().to_string()]).status();
        let _ = worker.wait();
        let _ = async_nats::jetstream::new(client.clone()).delete_stream(stream_name(&prefix)).await;
        drop(db);

        let ms = |us: u64| us as f64 / 1000.0;
        let report = json!({
            "bench": "gate_latency",
            "what": "funding update that makes an opportunity qualify -> open order intent on exec.orders (via nexus run, NATS, PostgreSQL)",
            "cycles": cycles,
            "missed": missed,
            "elapsed_s": elapsed,
            "latency_ms": {
                "p50": ms(histogram.value_at_quantile(0.5)),
                "p90": ms(histogram.value_at_quantile(0.9)),
                "p99": ms(histogram.value_at_quantile(0.99)),
                "max": ms(histogram.max()),
            },
            "machine": format!("{} cores", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)),
        });
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-report");
        let _ = std::fs::create_dir_all(&dir);
        let text = serde_json::to_string_pretty(&report).unwrap_or_default();
        let _ = std::fs::write(dir.join("gate_latency.json"), &text);
        println!("{text}");
    });
}
