//! End-to-end tests of `nexus replay` on recordings that mix every venue format and the scanner.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use nexus::replay::{ReplayOptions, ReplaySummary, replay};
use nexus_model::config::Config;
use serde_json::{Value, json};

const T0: u64 = 1_763_596_800_000_000;
const SECOND: u64 = 1_000_000;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn fixture_config() -> Config {
    Config::load(Some(&fixture("mixed_venues.toml"))).expect("fixture config")
}

fn run(input: &Path, output: &Path, workers: usize) -> ReplaySummary {
    let options = ReplayOptions {
        input: input.to_path_buf(),
        output: output.to_path_buf(),
        config: fixture_config(),
        workers,
        progress: false,
        database_url: None,
        introspection: Default::default(),
    };
    replay(&options).expect("replay succeeds")
}

fn lines(dir: &Path, stream: &str) -> Vec<Value> {
    std::fs::read_to_string(dir.join(format!("{stream}.jsonl")))
        .expect("stream file exists")
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect()
}

/// The collection a stream file describes at its end: data -> accumulated diff.
fn final_collection(dir: &Path, stream: &str) -> BTreeMap<String, i64> {
    let mut counts = BTreeMap::new();
    for line in lines(dir, stream) {
        *counts.entry(line["data"].to_string()).or_insert(0) += line["diff"].as_i64().unwrap_or(0);
    }
    counts.retain(|_, c| *c != 0);
    counts
}

fn snapshot_of<'a>(snapshots: &'a [Value], venue: &str, symbol: &str) -> &'a Value {
    snapshots
        .iter()
        .find(|s| s["venue"] == venue && s["symbol"] == symbol)
        .unwrap_or_else(|| panic!("no snapshot for {venue} {symbol}"))
}

#[test]
fn mixed_venue_recording_reconciles_per_the_definition() {
    let out = tempfile::tempdir().unwrap();
    let summary = run(&fixture("mixed_venues.jsonl"), out.path(), 1);
    assert_eq!(summary.events, 14);
    assert_eq!(summary.last_time, T0 + 200 * SECOND);

    let snapshots: Vec<Value> = final_collection(out.path(), "snapshots")
        .into_iter()
        .map(|(data, count)| {
            assert_eq!(count, 1, "each snapshot present once");
            serde_json::from_str(&data).unwrap()
        })
        .collect();
    assert_eq!(snapshots.len(), 8, "{snapshots:#?}");

    // Binance BTC: exchange and scanner fresh and equal.
    let s = snapshot_of(&snapshots, "binance", "BTC");
    assert_eq!(
        s,
        &json!({"venue":"binance","symbol":"BTC","rate":"0.0001","interval_h":"8","rate_per_hour":"0.0000125","apr":"0.1095",
                "next_funding_ms":1763625600000u64,"mark_price":"60000","source":"exchange","status":"ok","confidence":1.0,
                "exchange_rate":"0.0001","scanner_rate":"0.0001"})
    );
    // Binance ETH: only an exchange observation, 200 s old: stale; 4 h interval from the config.
    let s = snapshot_of(&snapshots, "binance", "ETH");
    assert_eq!((&s["status"], &s["confidence"], &s["source"]), (&json!("stale"), &json!(0.0), &json!("exchange")));
    assert_eq!((&s["interval_h"], &s["rate_per_hour"], &s["apr"]), (&json!("4"), &json!("0.00005"), &json!("0.438")));
    // Binance SOL: scanner only.
    let s = snapshot_of(&snapshots, "binance", "SOL");
    assert_eq!(
        (&s["status"], &s["source"], &s["confidence"]),
        (&json!("single_source"), &json!("scanner"), &json!(0.8))
    );
    assert_eq!(
        (&s["rate"], &s["interval_h"], &s["mark_price"], &s["exchange_rate"]),
        (&json!("0.0001"), &json!("8"), &Value::Null, &Value::Null)
    );
    // Bybit BTC: the delta's rate (0.00012) against the scanner's 0.02% is a discrepancy.
    let s = snapshot_of(&snapshots, "bybit", "BTC");
    assert_eq!((&s["status"], &s["confidence"], &s["rate"]), (&json!("discrepancy"), &json!(0.5), &json!("0.00012")));
    assert_eq!(
        (&s["mark_price"], &s["scanner_rate"], &s["apr"]),
        (&json!("60010"), &json!("0.0002"), &json!("0.1314"))
    );
    // OKX BTC: 4 h interval from nextFundingTime - fundingTime; 0.0003 vs 0.000305 agree.
    let s = snapshot_of(&snapshots, "okx", "BTC");
    assert_eq!(
        (&s["status"], &s["interval_h"], &s["rate_per_hour"], &s["apr"]),
        (&json!("ok"), &json!("4"), &json!("0.000075"), &json!("0.657"))
    );
    assert_eq!(s["next_funding_ms"], json!(1763611200000u64));
    assert_eq!(s["mark_price"], Value::Null);
    // OKX ETH: blank nextFundingTime, venue default interval.
    let s = snapshot_of(&snapshots, "okx", "ETH");
    assert_eq!(
        (&s["status"], &s["interval_h"], &s["rate_per_hour"]),
        (&json!("single_source"), &json!("8"), &json!("-0.0000125"))
    );
    // Hyperliquid: 1 h interval; next settlement is the top of the hour after receipt.
    let s = snapshot_of(&snapshots, "hyperliquid", "BTC");
    assert_eq!(
        (&s["status"], &s["interval_h"], &s["rate_per_hour"], &s["apr"]),
        (&json!("single_source"), &json!("1"), &json!("0.0000125"), &json!("0.1095"))
    );
    assert_eq!(s["next_funding_ms"], json!(T0 / 1000 + 3_600_000));
    let s = snapshot_of(&snapshots, "hyperliquid", "ETH");
    assert_eq!((&s["status"], &s["scanner_rate"]), (&json!("ok"), &json!("-0.00001")));

    let discrepancies = final_collection(out.path(), "discrepancies");
    let expected =
        json!({"venue":"bybit","symbol":"BTC","exchange_rate":"0.00012","scanner_rate":"0.0002","abs_diff":"0.00008"});
    assert_eq!(discrepancies.keys().cloned().collect::<Vec<_>>(), vec![expected.to_string()]);

    // Every stream's file exists; none dated after the last input.
    for stream in [
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
    ] {
        for line in lines(out.path(), stream) {
            assert!(line["time"].as_u64().unwrap() <= summary.last_time, "{stream}: {line}");
        }
    }
}

#[test]
fn staleness_is_emitted_at_its_logical_time_while_the_clock_runs() {
    // Binance ETH was received at T0 and goes stale at T0 + 180 s, which is before the last input.
    let out = tempfile::tempdir().unwrap();
    run(&fixture("mixed_venues.jsonl"), out.path(), 1);
    let eth_changes: Vec<Value> = lines(out.path(), "snapshots")
        .into_iter()
        .filter(|l| l["data"]["venue"] == "binance" && l["data"]["symbol"] == "ETH")
        .collect();
    let times: Vec<(u64, i64, String)> = eth_changes
        .iter()
        .map(|l| {
            (
                l["time"].as_u64().unwrap(),
                l["diff"].as_i64().unwrap(),
                l["data"]["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        times,
        vec![
            (T0, 1, "single_source".to_string()),
            (T0 + 180 * SECOND, -1, "single_source".to_string()),
            (T0 + 180 * SECOND, 1, "stale".to_string())
        ]
    );
}

/// Bad lines, each of a different kind, inserted between the fixture's lines at the times of their
/// neighbours, so that the valid results must come out byte for byte the same.
fn bad_lines() -> Vec<(usize, String)> {
    let at = |s: u64| T0 + s * SECOND;
    let msg = |t: u64, subject: &str, payload: Value| {
        json!({"recv_us": t, "subject": subject, "payload": payload}).to_string()
    };
    let huge = "X".repeat(2 << 20);
    vec![
        (1, "this line is not JSON at all".to_string()),
        (1, format!("{{\"recv_us\": {}, \"subject\": \"feeds.funding.binance\", \"payload\": {{\"s\": \"BTC", at(0))),
        (1, json!({"recv_us": -5, "subject": "feeds.funding.binance", "payload": {}}).to_string()),
        (1, json!({"subject": "feeds.funding.binance", "payload": {}}).to_string()),
        (1, msg(at(0), "feeds.funding.binance", json!({"s": huge, "p": "1", "r": "0.1", "T": 1}))),
        (
            1,
            msg(
                at(0),
                "feeds.funding.bybit",
                json!({"topic": "tickers.ETHUSDT", "type": "delta", "data": {"fundingRate": "0.1"}}),
            ),
        ),
        (
            2,
            format!(
                "{{\"recv_us\":{},\"subject\":\"feeds.funding.binance\",\"payload\":{{\"s\":\"ETHUSDT\",\"p\":\"1\",\"r\":NaN,\"T\":1}}}}",
                at(150)
            ),
        ),
        (
            2,
            format!(
                "{{\"recv_us\":{},\"subject\":\"feeds.funding.binance\",\"payload\":{{\"s\":\"ETHUSDT\",\"p\":\"1\",\"r\":1e400,\"T\":1}}}}",
                at(150)
            ),
        ),
        (3, msg(at(151), "feeds.funding.binance", json!({"s": "ETHUSDT", "p": "1", "r": "NaN", "T": 1}))),
        (3, msg(at(151), "feeds.funding.binance", json!({"s": "ETHUSDT", "p": "1", "r": "0.1", "T": -1}))),
        (
            4,
            msg(
                at(152),
                "feeds.trades.okx",
                json!({"trade_id": "t", "symbol": "BTC-USDT-SWAP", "price": "1", "qty": "1", "aggressor": "hold", "ts_ms": 1}),
            ),
        ),
        (
            4,
            msg(
                at(152),
                "feeds.orders.okx",
                json!({"order_id": "o", "account": "a", "symbol": "BTC", "side": "hold", "kind": "new", "price": "1", "qty": "1", "ts_ms": 1}),
            ),
        ),
        (
            5,
            msg(
                at(153),
                "exec.fills.okx",
                json!({"fill_id": "f", "client_order_id": "c", "account": "main", "symbol": "BTC", "side": "buy", "price": "1", "qty": "0", "fee": "0", "ts_ms": 1}),
            ),
        ),
        (
            5,
            msg(
                at(153),
                "feeds.book.binance",
                json!({"symbol": "BTCUSDT", "bid": "0", "bid_qty": "1", "ask": "1", "ask_qty": "1"}),
            ),
        ),
        (6, msg(at(160), "feeds.weather.binance", json!({}))),
        (6, msg(at(160), "feeds.funding.kraken", json!({}))),
        (
            7,
            msg(
                at(161),
                "feeds.funding.okx",
                json!({"arg": {}, "data": [{"instId": "BTC-USDT-SWAP", "fundingTime": "1"}]}),
            ),
        ),
        (8, msg(at(170), "control.params", json!({"key": "reconcile.no_such_key", "value": 1}))),
        (9, msg(at(171), "control.halt", json!({"scope": "planet", "target": "x", "halted": true}))),
        // After the Binance array at T0+190 s: an array with one bad element and a good element
        // identical to the valid line before it.
        (
            12,
            msg(
                at(190),
                "feeds.funding.binance",
                json!([
            {"e":"markPriceUpdate","s":"BTCUSDT","p":"60000.00","r":"0.00010000","T":T0 / 1000 + 8 * 3_600_000},
            {"e":"markPriceUpdate","s":"BTCUSDT","p":"-1","r":"0.0001","T":1}]),
            ),
        ),
        (
            13,
            msg(
                at(195),
                "feeds.scanner.arbitragescanner",
                json!([{"symbol": "BTC", "rates": [{"exchange": "okex_futures", "rate": "abc"}]}]),
            ),
        ),
    ]
}

fn write_with_bad_lines(path: &Path) -> usize {
    let clean = std::fs::read_to_string(fixture("mixed_venues.jsonl")).unwrap();
    let mut out: Vec<String> = clean.lines().map(str::to_string).collect();
    let bad = bad_lines();
    for (position, line) in bad.iter().rev() {
        out.insert(*position, line.clone());
    }
    std::fs::write(path, out.join("\n") + "\n").unwrap();
    bad.len()
}

#[test]
fn every_bad_input_is_one_rejection_and_valid_results_are_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let dirty = dir.path().join("dirty.jsonl");
    let bad = write_with_bad_lines(&dirty);
    assert!(bad >= 15);
    let clean_out = dir.path().join("clean");
    let dirty_out = dir.path().join("dirty");
    run(&fixture("mixed_venues.jsonl"), &clean_out, 1);
    let summary = run(&dirty, &dirty_out, 1);

    for stream in ["snapshots", "discrepancies", "opportunities", "ranked"] {
        let clean = std::fs::read_to_string(clean_out.join(format!("{stream}.jsonl"))).unwrap();
        let dirty = std::fs::read_to_string(dirty_out.join(format!("{stream}.jsonl"))).unwrap();
        assert_eq!(clean, dirty, "{stream} differ");
    }
    let rejected = lines(&dirty_out, "rejected");
    assert_eq!(rejected.len(), bad, "{rejected:#?}");
    assert!(rejected.iter().all(|r| r["diff"] == 1 && r["data"]["reason"].as_str().is_some_and(|s| !s.is_empty())));
    assert!(rejected.iter().all(|r| r["data"]["excerpt"].as_str().is_some_and(|e| e.len() <= 256)));
    let kinds: Vec<&String> = summary.outputs.rejected_by_kind.keys().collect();
    for kind in [
        "unreadable line",
        "payload too large",
        "delta before snapshot",
        "invalid field",
        "unknown subject",
        "unknown venue",
        "invalid param",
    ] {
        assert!(kinds.iter().any(|k| k.as_str() == kind), "missing {kind} in {kinds:?}");
    }
    assert!(lines(&clean_out, "rejected").is_empty());
}

#[test]
fn one_and_four_workers_write_identical_files() {
    let dir = tempfile::tempdir().unwrap();
    let dirty = dir.path().join("dirty.jsonl");
    write_with_bad_lines(&dirty);
    let one = dir.path().join("one");
    let four = dir.path().join("four");
    run(&dirty, &one, 1);
    run(&dirty, &four, 4);
    for stream in ["snapshots", "discrepancies", "opportunities", "ranked", "rejected"] {
        let a = std::fs::read_to_string(one.join(format!("{stream}.jsonl"))).unwrap();
        let b = std::fs::read_to_string(four.join(format!("{stream}.jsonl"))).unwrap();
        assert!(!a.is_empty());
        assert_eq!(a, b, "{stream} differs between 1 and 4 workers");
    }
}

#[test]
fn zstd_recordings_replay_like_plain_ones() {
    let dir = tempfile::tempdir().unwrap();
    let compressed = dir.path().join("mixed.jsonl.zst");
    let plain = std::fs::read(fixture("mixed_venues.jsonl")).unwrap();
    std::fs::write(&compressed, zstd::encode_all(&plain[..], 3).unwrap()).unwrap();
    run(&fixture("mixed_venues.jsonl"), &dir.path().join("plain"), 1);
    run(&compressed, &dir.path().join("zst"), 1);
    let a = std::fs::read_to_string(dir.path().join("plain/snapshots.jsonl")).unwrap();
    let b = std::fs::read_to_string(dir.path().join("zst/snapshots.jsonl")).unwrap();
    assert_eq!(a, b);
}

#[test]
fn run_time_parameter_changes_apply_at_their_logical_time() {
    // Tightening the tolerances at T0+196 s turns OKX BTC (0.0003 vs 0.000305) into a discrepancy
    // from that time on; extending stale_after keeps Binance ETH fresh again.
    let dir = tempfile::tempdir().unwrap();
    let recording = dir.path().join("params.jsonl");
    let mut text = std::fs::read_to_string(fixture("mixed_venues.jsonl")).unwrap();
    let change = |key: &str, value: Value| {
        json!({"recv_us": T0 + 196 * SECOND, "subject": "control.params", "payload": {"key": key, "value": value}})
            .to_string()
            + "\n"
    };
    let insert_at = text.rfind("{\"recv_us\":").unwrap();
    let changes = change("reconcile.abs_tolerance", json!(0.000001))
        + &change("reconcile.rel_tolerance", json!("0.01"))
        + &change("reconcile.stale_after_ms", json!("600000"));
    text.insert_str(insert_at, &changes);
    std::fs::write(&recording, text).unwrap();
    let out = dir.path().join("out");
    run(&recording, &out, 2);
    let discrepancies: Vec<Value> =
        final_collection(&out, "discrepancies").keys().map(|k| serde_json::from_str(k).unwrap()).collect();
    assert!(
        discrepancies.iter().any(|d| d["venue"] == "okx" && d["symbol"] == "BTC" && d["abs_diff"] == "0.000005"),
        "{discrepancies:#?}"
    );
    let okx_line = lines(&out, "discrepancies").into_iter().find(|l| l["data"]["venue"] == "okx").unwrap();
    assert_eq!(okx_line["time"], json!(T0 + 196 * SECOND));
    let snapshots: Vec<Value> =
        final_collection(&out, "snapshots").keys().map(|k| serde_json::from_str(k).unwrap()).collect();
    assert_eq!(snapshot_of(&snapshots, "binance", "ETH")["status"], json!("single_source"));
}

#[test]
fn the_binary_replays_prints_a_summary_and_names_bad_config_keys() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("new/dir");
    let output = Command::new(env!("CARGO_BIN_EXE_nexus"))
        .args(["replay", "--input"])
        .arg(fixture("mixed_venues.jsonl"))
        .arg("--output")
        .arg(&out)
        .arg("--config")
        .arg(fixture("mixed_venues.toml"))
        .args(["--workers", "2"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("replayed 14 events") && stdout.contains("snapshots.jsonl"), "{stdout}");
    assert!(out.join("rejected.jsonl").exists());

    let bad_config = dir.path().join("bad.toml");
    std::fs::write(&bad_config, "[reconcile]\nstale_after = 1\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_nexus"))
        .args(["replay", "--input"])
        .arg(fixture("mixed_venues.jsonl"))
        .arg("--output")
        .arg(&out)
        .arg("--config")
        .arg(&bad_config)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("reconcile.stale_after") && stderr.contains("stale_after_ms"), "{stderr}");

    let output = Command::new(env!("CARGO_BIN_EXE_nexus"))
        .args(["replay", "--input", "/nonexistent/recording.jsonl", "--output"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/recording.jsonl"));
}

#[test]
fn late_messages_are_processed_at_the_current_time_and_counted() {
    // An OKX observation stamped 100 s in the past, placed after the T0+195 s scanner line, takes
    // effect at T0+195 s, not at its own time.
    let dir = tempfile::tempdir().unwrap();
    let recording = dir.path().join("late.jsonl");
    let mut lines: Vec<String> =
        std::fs::read_to_string(fixture("mixed_venues.jsonl")).unwrap().lines().map(str::to_string).collect();
    let late = json!({"recv_us": T0 + 95 * SECOND, "subject": "feeds.funding.okx",
        "payload": {"arg": {}, "data": [{"instId": "SOL-USDT-SWAP", "fundingRate": "0.0004", "fundingTime": "1763625600000", "nextFundingTime": "1763654400000"}]}});
    let position = lines.len() - 1;
    lines.insert(position, late.to_string());
    std::fs::write(&recording, lines.join("\n") + "\n").unwrap();
    let out = dir.path().join("out");
    let summary = run(&recording, &out, 1);
    assert_eq!(summary.late, 1);
    let sol: Vec<Value> = lines_of(&out, "snapshots", "okx", "SOL");
    assert_eq!(sol.len(), 1);
    assert_eq!(sol[0]["time"], json!(T0 + 195 * SECOND));
    assert_eq!(sol[0]["data"]["status"], json!("single_source"));
}

fn lines_of(dir: &Path, stream: &str, venue: &str, symbol: &str) -> Vec<Value> {
    lines(dir, stream).into_iter().filter(|l| l["data"]["venue"] == venue && l["data"]["symbol"] == symbol).collect()
}

fn dec(value: &Value) -> rust_decimal::Decimal {
    value.as_str().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("not a decimal string: {value}"))
}

/// Asserts `value` is within 1e-24 of `expected` (for quotients that do not terminate).
fn close(value: &Value, expected: &str) {
    let expected: rust_decimal::Decimal = expected.parse().unwrap();
    let error = (dec(value) - expected).abs();
    assert!(error < rust_decimal::Decimal::new(1, 24), "{value} vs {expected}");
}

#[test]
fn opportunities_follow_design_5_2_with_configured_fees_weights_and_a_run_time_top_k() {
    // The fixture plus `opportunities.top_k = 2` at its last time.
    let dir = tempfile::tempdir().unwrap();
    let recording = dir.path().join("opportunities.jsonl");
    let change = json!({"recv_us": T0 + 200 * SECOND, "subject": "control.params", "payload": {"key": "opportunities.top_k", "value": 2}});
    std::fs::write(
        &recording,
        std::fs::read_to_string(fixture("mixed_venues.jsonl")).unwrap() + &change.to_string() + "\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let options = ReplayOptions {
        input: recording,
        output: out.clone(),
        config: Config::load(Some(&fixture("opportunities.toml"))).unwrap(),
        workers: 2,
        progress: false,
        database_url: None,
        introspection: Default::default(),
    };
    replay(&options).unwrap();

    let opportunities: Vec<Value> =
        final_collection(&out, "opportunities").keys().map(|k| serde_json::from_str(k).unwrap()).collect();
    assert_eq!(opportunities.len(), 3, "{opportunities:#?}");
    let find =
        |long: &str| opportunities.iter().find(|o| o["long_venue"] == long && o["short_venue"] == "okx").unwrap();

    // Binance/OKX: both books known, so half-spreads count; depth min(60000*... ) >= target.
    let o = find("binance");
    assert_eq!(
        (&o["symbol"], &o["long_rate_per_hour"], &o["short_rate_per_hour"]),
        (&json!("BTC"), &json!("0.0000125"), &json!("0.000075"))
    );
    assert_eq!(
        (&o["gross_apr"], &o["uos"], &o["liquidity_score"], &o["confidence_score"]),
        (&json!("0.5475"), &json!("87.4733"), &json!("1"), &json!("1"))
    );
    close(&o["cost_apr"], "0.17276661597348955165009763644797768944665272257083");
    close(&o["net_apr"], "0.37473338402651044834990236355202231055334727742917");
    close(&o["spread_score"], "0.74946676805302089669980472710404462110669455485834");
    assert_eq!(
        (&o["long_next_funding_ms"], &o["short_next_funding_ms"]),
        (&json!(1763625600000u64), &json!(1763611200000u64))
    );
    // Hyperliquid/OKX: no Hyperliquid book, so no half-spread cost and no liquidity.
    let o = find("hyperliquid");
    assert_eq!(
        (&o["gross_apr"], &o["uos"], &o["liquidity_score"], &o["confidence_score"]),
        (&json!("0.5475"), &json!("58.5833"), &json!("0"), &json!("0.8"))
    );
    close(&o["cost_apr"], "0.12166666666666666666666666666666666666666666666667");
    close(&o["net_apr"], "0.42583333333333333333333333333333333333333333333333");
    // Bybit/OKX: Bybit's discrepancy status gives confidence 0.5.
    let o = find("bybit");
    assert_eq!(
        (&o["gross_apr"], &o["uos"], &o["confidence_score"]),
        (&json!("0.5256"), &json!("43.0933"), &json!("0.5"))
    );
    close(&o["net_apr"], "0.33093333333333333333333333333333333333333333333333");

    // Ranking by uos; at the last time top_k drops to 2 and rank 3 is retracted.
    let ranked: Vec<Value> =
        final_collection(&out, "ranked").keys().map(|k| serde_json::from_str(k).unwrap()).collect();
    let mut ranks: Vec<(u64, String, String)> = ranked
        .iter()
        .map(|r| {
            (
                r["rank"].as_u64().unwrap(),
                r["long_venue"].as_str().unwrap().to_string(),
                r["uos"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    ranks.sort();
    assert_eq!(
        ranks,
        vec![(1, "binance".to_string(), "87.4733".to_string()), (2, "hyperliquid".to_string(), "58.5833".to_string())]
    );
    let third = lines(&out, "ranked").into_iter().filter(|l| l["data"]["rank"] == 3).collect::<Vec<_>>();
    assert_eq!(
        third.last().map(|l| (l["time"].clone(), l["diff"].clone())),
        Some((json!(T0 + 200 * SECOND), json!(-1)))
    );
}

#[test]
fn operator_times_and_arrangement_sizes_are_measured_together() {
    // Both measures listen to timely's log, which takes one logger per worker: both must fill.
    let dir = tempfile::tempdir().expect("tempdir");
    let recording = dir.path().join("simulated.jsonl");
    nexus::simulate::write_recording(&recording, 11, 300).expect("recording written");
    let introspection = nexus::introspection::Introspection::default()
        .with_arrangement_sizes(30 * SECOND)
        .with_operator_times(30 * SECOND);
    let workers = 2;
    let options = ReplayOptions {
        input: recording,
        output: dir.path().join("out"),
        config: Config::default(),
        workers,
        progress: false,
        database_url: None,
        introspection: introspection.clone(),
    };
    let summary = replay(&options).expect("replay succeeds");

    let sizes = summary.arrangements.expect("arrangement sizes reported");
    // The recording covers about 200 s of logical time, fed in rounds of 4,096 messages that each
    // cover tens of seconds: a sample is taken at the first round past each 30 s.
    assert!(sizes.samples.len() >= 3, "{:?}", sizes.samples);
    assert!(sizes.by_name.iter().any(|(name, held)| name.starts_with("Arrange") && *held > 0), "{:?}", sizes.by_name);

    let operators = summary.operators.expect("operator times reported");
    let samples = operators[0].per_interval.len();
    assert_eq!(samples, sizes.samples.len(), "one interval per sample, both every 30 s");
    // Every worker builds the same dataflow: the risk gate's reduce once per worker.
    let gate = operators.iter().find(|op| op.name == "Gate").expect("the Gate reduce is timed");
    assert_eq!(gate.operators, workers);
    for op in &operators {
        assert_eq!(op.per_interval.len(), samples, "{}", op.name);
        let sampled: std::time::Duration = op.per_interval.iter().sum();
        assert!(sampled <= op.total, "{}: intervals {sampled:?} > total {:?}", op.name, op.total);
    }
    assert!(operators.windows(2).all(|pair| pair[0].total >= pair[1].total), "the most time first");
    // Own times leave nested operators out, so together they cannot exceed the workers' time
    // (counting a subgraph's children in it as well would, about twice over).
    let own: std::time::Duration = operators.iter().map(|op| op.total).sum();
    assert!(own > std::time::Duration::ZERO);
    assert!(
        own <= summary.elapsed * workers as u32,
        "{own:?} of own time in {:?} with {workers} workers",
        summary.elapsed
    );
}
