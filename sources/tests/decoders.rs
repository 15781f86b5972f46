//! Decoder tests: every venue format, every kind of bad input, and fuzzing without a panic.

use std::sync::Arc;

use bytes::Bytes;
use nexus_model::config::Config;
use nexus_model::funding::{FundingSource, FundingUpdate};
use nexus_model::records::Rejected;
use nexus_model::{Dec, Venue};
use nexus_sources::decode::{Decoder, Input};
use nexus_sources::message::Message;
use proptest::prelude::*;

fn decode_with(decoder: &mut Decoder, time: u64, subject: &str, payload: &str) -> (Vec<Input>, Vec<Rejected>) {
    let message = Message { seq: 1, time, subject: subject.to_string(), payload: Bytes::from(payload.to_string()) };
    let (mut inputs, mut rejected) = (Vec::new(), Vec::new());
    decoder.decode(&message, |result| match result {
        Ok(input) => inputs.push(input),
        Err(rejection) => rejected.push(rejection),
    });
    (inputs, rejected)
}

fn decode(subject: &str, payload: &str) -> (Vec<Input>, Vec<Rejected>) {
    decode_with(&mut Decoder::new(Arc::new(Config::default())), 1_763_596_800_000_000, subject, payload)
}

fn funding(inputs: &[Input]) -> Vec<&FundingUpdate> {
    inputs.iter().filter_map(|i| if let Input::Funding(f) = i { Some(f) } else { None }).collect()
}

fn dec(text: &str) -> Dec {
    Dec::parse(text).unwrap()
}

#[test]
fn binance_single_event_and_array() {
    let event = r#"{"e":"markPriceUpdate","E":1562305380000,"s":"BTCUSDT","p":"11794.15000000","i":"11784.6","P":"11784.25","r":"0.00038167","T":1562306400000}"#;
    let (inputs, rejected) = decode("feeds.funding.binance", event);
    assert!(rejected.is_empty());
    let f = funding(&inputs)[0];
    assert_eq!((f.venue, f.asset.as_str(), f.source), (Venue::Binance, "BTC", FundingSource::Exchange));
    assert_eq!(f.observation.rate, dec("0.00038167"));
    assert_eq!(f.observation.mark_price.map(|p| p.value()), Some(dec("11794.15")));
    assert_eq!(f.observation.next_funding_ms, Some(1562306400000));
    assert_eq!(f.observation.interval_h, None);

    let array = format!(
        "[{event}, {{\"s\":\"ETHUSDT\",\"p\":2000,\"r\":-0.0001,\"T\":\"1562306400000\"}}, {{\"s\":\"XRPUSDT\",\"p\":\"1\",\"r\":\"NaN\",\"T\":1}}]"
    );
    let (inputs, rejected) = decode("feeds.funding.binance", &array);
    assert_eq!(funding(&inputs).len(), 2, "the good elements are kept");
    assert_eq!(funding(&inputs)[1].observation.rate, dec("-0.0001"));
    assert_eq!(rejected.len(), 1);
    assert!(rejected[0].reason.starts_with("invalid field: element 2"), "{}", rejected[0].reason);
}

#[test]
fn bybit_snapshot_then_delta_merges_fields() {
    let mut decoder = Decoder::new(Arc::new(Config::default()));
    let delta_first =
        r#"{"topic":"tickers.ETHUSDT","type":"delta","data":{"symbol":"ETHUSDT","fundingRate":"0.0002"},"ts":1}"#;
    let (_, rejected) = decode_with(&mut decoder, 1, "feeds.funding.bybit", delta_first);
    assert!(rejected[0].reason.starts_with("delta before snapshot"), "{}", rejected[0].reason);

    let snapshot = r#"{"topic":"tickers.BTCUSDT","type":"snapshot","data":{"symbol":"BTCUSDT","markPrice":"60000.5","fundingRate":"0.0001","nextFundingTime":"1700000000000","fundingIntervalHour":"4","bid1Price":""},"ts":1}"#;
    let (inputs, rejected) = decode_with(&mut decoder, 2, "feeds.funding.bybit", snapshot);
    assert!(rejected.is_empty(), "{rejected:?}");
    assert_eq!(funding(&inputs)[0].observation.interval_h, Some(dec("4")));

    let delta = r#"{"topic":"tickers.BTCUSDT","type":"delta","data":{"fundingRate":"-0.00025"},"ts":2}"#;
    let (inputs, rejected) = decode_with(&mut decoder, 3, "feeds.funding.bybit", delta);
    assert!(rejected.is_empty(), "{rejected:?}");
    let obs = &funding(&inputs)[0].observation;
    assert_eq!(obs.rate, dec("-0.00025"));
    assert_eq!(obs.mark_price.map(|p| p.value()), Some(dec("60000.5")), "unchanged fields come from the snapshot");
    assert_eq!(obs.interval_h, Some(dec("4")));
    assert_eq!(obs.next_funding_ms, Some(1700000000000));
}

#[test]
fn okx_interval_from_next_funding_time_and_blank_sentinels() {
    let push = r#"{"arg":{"channel":"funding-rate","instId":"BTC-USDT-SWAP"},"data":[{"fundingRate":"0.0001","fundingTime":"1703088000000","instId":"BTC-USDT-SWAP","instType":"SWAP","method":"current_period","nextFundingRate":"","nextFundingTime":"1703102400000","premium":"","settFundingRate":"","settState":"","ts":"1703070685309"}]}"#;
    let (inputs, rejected) = decode("feeds.funding.okx", push);
    assert!(rejected.is_empty(), "{rejected:?}");
    let f = funding(&inputs)[0];
    assert_eq!(f.asset.as_str(), "BTC");
    assert_eq!(f.observation.interval_h, Some(dec("4")));
    assert_eq!(f.observation.next_funding_ms, Some(1703088000000));
    assert_eq!(f.observation.mark_price, None);

    let no_next = r#"{"arg":{},"data":[{"fundingRate":"0.0001","fundingTime":"1703088000000","instId":"ETH-USDT-SWAP","nextFundingTime":""}]}"#;
    let (inputs, _) = decode("feeds.funding.okx", no_next);
    assert_eq!(funding(&inputs)[0].observation.interval_h, None);
}

#[test]
fn hyperliquid_pairs_universe_and_contexts_by_position() {
    let payload = r#"[{"universe":[{"name":"BTC","szDecimals":5},{"name":"ETH","szDecimals":4},{"name":"SOL"}]},[{"funding":"0.0000125","markPx":"60000.0","openInterest":""},{"funding":"-0.00001","markPx":"3000"},{"funding":"x","markPx":"1"}]]"#;
    // 1_763_596_800_000_000 us is exactly 2025-11-20T00:00:00Z, a top of the hour.
    let (inputs, rejected) = decode("feeds.funding.hyperliquid", payload);
    let f = funding(&inputs);
    assert_eq!(f.len(), 2);
    assert_eq!(f[0].observation.interval_h, Some(dec("1")));
    assert_eq!(f[0].observation.next_funding_ms, Some(1_763_596_800_000 + 3_600_000));
    assert_eq!(f[1].asset.as_str(), "ETH");
    assert_eq!(rejected.len(), 1);
    assert!(rejected[0].reason.contains("element 2"));
}

#[test]
fn scanner_rates_are_percent_and_unknown_slugs_are_skipped() {
    let payload = r#"[{"symbol":"BTC","ticker":"BTC","maxSpread":0.02,"rates":[{"exchange":"binance_futures","rate":"0.01","symbol":"BTCUSDT","nextFundingTime":1700000000000},{"exchange":"kraken_futures","rate":"0.5","symbol":"PF_XBTUSD"},{"exchange":"okex_futures","rate":-0.0125,"symbol":"BTC-USDT-SWAP","nextFundingTime":"1700000000000"}]},{"symbol":"ETHUSDT","rates":[{"exchange":"hyperliquid_futures","rate":"0.001","symbol":"ETH"}]}]"#;
    let (inputs, rejected) = decode("feeds.scanner.arbitragescanner", payload);
    assert!(rejected.is_empty(), "{rejected:?}");
    let f = funding(&inputs);
    assert_eq!(f.len(), 3);
    assert_eq!((f[0].venue, f[0].observation.rate), (Venue::Binance, dec("0.0001")));
    assert_eq!((f[1].venue, f[1].observation.rate), (Venue::Okx, dec("-0.000125")));
    assert_eq!((f[2].venue, f[2].asset.as_str()), (Venue::Hyperliquid, "ETH"));
    assert!(f.iter().all(|u| u.source == FundingSource::Scanner && u.observation.interval_h.is_none()));
}

#[test]
fn books_in_both_formats() {
    let (inputs, rejected) = decode(
        "feeds.book.okx",
        r#"{"symbol":"BTC-USDT-SWAP","bid":"100","bid_qty":"2","ask":"101","ask_qty":3,"ts_ms":5}"#,
    );
    assert!(rejected.is_empty(), "{rejected:?}");
    assert!(matches!(&inputs[0], Input::Book(b) if b.asset.as_str() == "BTC" && b.ask.value() == dec("101")));
    let (inputs, rejected) = decode(
        "feeds.book.binance",
        r#"{"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}"#,
    );
    assert!(rejected.is_empty(), "{rejected:?}");
    assert!(matches!(&inputs[0], Input::Book(b) if b.bid_qty.value() == dec("31.21")));
}

#[test]
fn trades_orders_fills_params_and_halts() {
    let (inputs, rejected) = decode(
        "feeds.trades.bybit",
        r#"{"trade_id":"t1","symbol":"BTCUSDT","price":"100","qty":"0.5","aggressor":"buy","buyer":"a","seller":"b","ts_ms":1}"#,
    );
    assert!(rejected.is_empty() && matches!(&inputs[0], Input::Trade(_)));
    let (inputs, rejected) = decode(
        "feeds.orders.binance",
        r#"{"order_id":"o1","account":"a","symbol":"BTCUSDT","side":"sell","kind":"fill","price":"100","qty":"2","fill_qty":"1","fill_price":"100","ts_ms":"2"}"#,
    );
    assert!(rejected.is_empty() && matches!(&inputs[0], Input::Order(_)));
    let (inputs, rejected) = decode(
        "exec.fills.okx",
        r#"{"fill_id":"f1","client_order_id":"c1","account":"main","symbol":"BTC-USDT-SWAP","side":"buy","price":"100","qty":"1","fee":"-0.01","ts_ms":3}"#,
    );
    assert!(rejected.is_empty() && matches!(&inputs[0], Input::Fill(_)));
    let (inputs, rejected) = decode("control.params", r#"{"key":"reconcile.abs_tolerance","value":0.0001}"#);
    assert!(rejected.is_empty());
    assert!(matches!(&inputs[0], Input::Config(c) if c.reconcile.abs_tolerance == dec("0.0001")));
    let (inputs, rejected) =
        decode("control.halt", r#"{"scope":"venue","target":"okx","halted":true,"reason":"maintenance"}"#);
    assert!(rejected.is_empty() && matches!(&inputs[0], Input::Halt(_)));
}

/// Each bad input yields exactly one rejection whose reason starts with the expected kind.
#[test]
fn every_kind_of_bad_input_is_one_rejection_with_a_reason() {
    let huge = format!("{{\"s\":\"{}\"}}", "x".repeat(2 << 20));
    let cases: Vec<(&str, String, &str)> = vec![
        ("feeds.funding.binance", "{not json".into(), "malformed json"),
        ("feeds.funding.binance", "".into(), "malformed json"),
        ("feeds.funding.binance", r#"{"s":"BTCUSDT","p":"1","T":1}"#.into(), "invalid field"),
        ("feeds.funding.binance", r#"{"s":"BTCUSDT","p":"1","r":"abc","T":1}"#.into(), "invalid field"),
        ("feeds.funding.binance", r#"{"s":"BTCUSDT","p":"1","r":1e400,"T":1}"#.into(), "invalid field"),
        ("feeds.funding.binance", r#"{"s":"BTCUSDT","p":"1","r":"NaN","T":1}"#.into(), "invalid field"),
        ("feeds.funding.binance", r#"{"s":"BTCUSDT","p":"1","r":"0.1","T":-5}"#.into(), "invalid field"),
        ("feeds.funding.binance", r#"{"s":"BTCUSDT","p":"0","r":"0.1","T":5}"#.into(), "invalid field"),
        ("feeds.funding.binance", r#"{"s":"","p":"1","r":"0.1","T":5}"#.into(), "invalid symbol"),
        ("feeds.funding.binance", huge, "payload too large"),
        ("feeds.funding.kraken", "{}".into(), "unknown venue"),
        ("feeds.weather.binance", "{}".into(), "unknown subject"),
        ("feeds.funding.bybit", r#"{"topic":"tickers.SOLUSDT","type":"delta","data":{"fundingRate":"0.1"}}"#.into(), "delta before snapshot"),
        ("feeds.funding.bybit", r#"{"topic":"tickers.SOLUSDT","type":"partial","data":{}}"#.into(), "invalid field"),
        ("feeds.trades.okx", r#"{"trade_id":"t","symbol":"BTC-USDT-SWAP","price":"1","qty":"1","aggressor":"hold","ts_ms":1}"#.into(), "invalid field"),
        ("feeds.orders.okx", r#"{"order_id":"o","account":"a","symbol":"BTC","side":"buy","kind":"new","price":"1","qty":"-1","ts_ms":1}"#.into(), "invalid field"),
        ("feeds.orders.okx", r#"{"order_id":"o","account":"a","symbol":"BTC","side":"buy","kind":"fill","price":"1","qty":"1","ts_ms":1}"#.into(), "invalid field"),
        ("exec.fills.okx", r#"{"fill_id":"f","client_order_id":"c","account":"a","symbol":"BTC","side":"buy","price":"1","qty":"0","fee":"0","ts_ms":1}"#.into(), "invalid field"),
        ("feeds.book.bybit", r#"{"symbol":"BTCUSDT","bid":"101","bid_qty":"1","ask":"100","ask_qty":"1"}"#.into(), "invalid field"),
        ("control.params", r#"{"key":"reconcile.nope","value":1}"#.into(), "invalid param"),
        ("control.params", r#"{"key":"reconcile.stale_after_ms","value":"soon"}"#.into(), "invalid param"),
        ("control.halt", r#"{"scope":"planet","target":"x","halted":true}"#.into(), "invalid field"),
        ("feeds.scanner.arbitragescanner", r#"{"symbol":"BTC"}"#.into(), "invalid field"),
    ];
    for (subject, payload, kind) in cases {
        let (inputs, rejected) = decode(subject, &payload);
        assert!(inputs.is_empty(), "{subject} {payload:.80}: unexpected input {inputs:?}");
        assert_eq!(rejected.len(), 1, "{subject} {payload:.80}");
        assert!(
            rejected[0].reason.starts_with(kind),
            "{subject} {payload:.80}: reason {:?}, expected {kind}",
            rejected[0].reason
        );
        assert_eq!(rejected[0].subject, subject);
        assert!(rejected[0].excerpt.len() <= 256);
    }
}

const SUBJECTS: [&str; 12] = [
    "feeds.funding.binance",
    "feeds.funding.bybit",
    "feeds.funding.okx",
    "feeds.funding.hyperliquid",
    "feeds.scanner.arbitragescanner",
    "feeds.book.binance",
    "feeds.book.okx",
    "feeds.trades.bybit",
    "feeds.orders.okx",
    "exec.fills.binance",
    "control.params",
    "control.halt",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Arbitrary bytes on every subject: decoding never panics, and bytes that are not JSON give
    /// exactly one rejection.
    #[test]
    fn arbitrary_bytes_never_panic(subject in 0..SUBJECTS.len(), bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let mut decoder = Decoder::new(Arc::new(Config::default()));
        let is_json = serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_ok();
        let message = Message { seq: 0, time: 0, subject: SUBJECTS[subject].to_string(), payload: Bytes::from(bytes) };
        let mut rejections = 0;
        decoder.decode(&message, |result| rejections += usize::from(result.is_err()));
        if !is_json {
            prop_assert_eq!(rejections, 1);
        }
    }

    /// JSON-shaped mutations of valid payloads: never a panic.
    #[test]
    fn mutated_json_never_panics(subject in 0..SUBJECTS.len(), keys in prop::collection::vec("[a-zA-Z]{1,12}", 0..6), values in prop::collection::vec(prop_oneof![
        Just("\"\"".to_string()), Just("null".to_string()), Just("-1".to_string()), Just("1e400".to_string()),
        Just("\"0.1\"".to_string()), Just("[]".to_string()), Just("{}".to_string()), Just("\"buy\"".to_string()),
        "-?[0-9]{1,25}(\\.[0-9]{1,30})?".prop_map(|s| s),
    ], 0..6)) {
        let fields: Vec<String> = keys.iter().zip(values.iter()).map(|(k, v)| format!("\"{k}\":{v}")).collect();
        let object = format!("{{{}}}", fields.join(","));
        for payload in [object.clone(), format!("[{object},{object}]"), format!("[{{\"universe\":[{object}]}},[{object}]]")] {
            let mut decoder = Decoder::new(Arc::new(Config::default()));
            let message = Message { seq: 0, time: 0, subject: SUBJECTS[subject].to_string(), payload: Bytes::from(payload) };
            decoder.decode(&message, |_| ());
        }
    }
}

/// A running gate schedules leg deadlines a fixed lead ahead, so a change may not shorten the leg
/// timeout below it; at or above it the change is taken, and a refusal leaves the config as it was.
#[test]
fn a_leg_timeout_below_the_running_gates_lead_is_refused() {
    let mut decoder = Decoder::new(Arc::new(Config::default())).with_min_leg_timeout_us(1_000_000);
    let time = 1_763_596_800_000_000;
    let (inputs, rejected) =
        decode_with(&mut decoder, time, "control.params", r#"{"key":"risk.leg_timeout_ms","value":500}"#);
    assert!(inputs.is_empty());
    assert_eq!(rejected.len(), 1);
    assert!(rejected[0].reason.contains("risk.leg_timeout_ms: at least 1000"), "{}", rejected[0].reason);
    let (inputs, rejected) = decode_with(&mut decoder, time, "control.params", r#"{"key":"risk.max_open","value":3}"#);
    assert!(rejected.is_empty());
    assert!(matches!(&inputs[0], Input::Config(c) if c.risk.leg_timeout_ms == 5_000 && c.risk.max_open == 3));
    let (inputs, rejected) =
        decode_with(&mut decoder, time, "control.params", r#"{"key":"risk.leg_timeout_ms","value":1000}"#);
    assert!(rejected.is_empty());
    assert!(matches!(&inputs[0], Input::Config(c) if c.risk.leg_timeout_ms == 1_000));
}
