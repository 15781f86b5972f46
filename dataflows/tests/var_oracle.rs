//! Oracle test for positions and VaR: random price paths (irregular gaps, assets that start late,
//! several ticks at one time), fills with corrections and cancellations, and run-time parameter
//! changes; the incremental output must equal `oracle::risk_at` at every input time and every bar
//! boundary, with 1 and 4 workers. The history retention is tight, so forgetting is exercised too.

use std::collections::{BTreeMap, BTreeSet};

use compact_str::CompactString;
use nexus_dataflows::var::{PriceHistory, PriceTick, Shock, VarParams, oracle, risk};
use nexus_model::market::{Fill, Side};
use nexus_model::records::{Position, StressPnl, VarFigures};
use nexus_model::{Asset, Dec, Price, Quantity, Venue};
use nexus_operators::harness::{self, collection_at};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum In {
    Price(Asset, PriceTick),
    Fill(Fill),
    Params(VarParams),
    Shock(Shock),
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum Out {
    Position(Position),
    Var(VarFigures),
    Stress(StressPnl),
}

/// Grain of 1 ms; bars of 1, 2 or 3 ms; windows of up to 5 bars: retention of 20 ms covers them.
const HISTORY: PriceHistory = PriceHistory { grain_us: 1_000, retention_us: 20_000 };
const PRICES: [&str; 8] = ["100", "101", "99.5", "102.25", "97", "100.125", "98", "103"];
const SIZES: [&str; 5] = ["1", "0.5", "2", "3.25", "0.001"];

#[derive(Clone, Debug)]
enum Event {
    Tick { asset: usize, price: usize },
    Fill { account: usize, venue: usize, asset: usize, buy: bool, size: usize },
    Correct { which: usize, size: usize },
    Cancel { which: usize },
    Params { bar: usize, window: usize, min: usize },
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        8 => (0..3usize, 0..PRICES.len()).prop_map(|(asset, price)| Event::Tick { asset, price }),
        4 => (0..2usize, 0..2usize, 0..3usize, any::<bool>(), 0..SIZES.len())
            .prop_map(|(account, venue, asset, buy, size)| Event::Fill { account, venue, asset, buy, size }),
        1 => (0..8usize, 0..SIZES.len()).prop_map(|(which, size)| Event::Correct { which, size }),
        1 => (0..8usize).prop_map(|which| Event::Cancel { which }),
        1 => (0..3usize, 0..3usize, 0..2usize).prop_map(|(bar, window, min)| Event::Params { bar, window, min }),
    ]
}

/// Gaps in µs: mostly within a bar, sometimes several bars, sometimes none (same time).
fn gap() -> impl Strategy<Value = u64> {
    prop_oneof![3 => 0u64..1_500, 1 => Just(0u64), 1 => 1_500u64..9_000]
}

fn dec(text: &str) -> Dec {
    Dec::parse(text).unwrap()
}

fn asset(index: usize) -> Asset {
    Asset::from_venue_symbol(["BTC", "ETH", "SOL"][index]).unwrap()
}

fn params(bar: usize, window: usize, min: usize) -> VarParams {
    VarParams { bar_ms: [1, 2, 3][bar], window_bars: [2, 3, 5][window], min_returns: [2, 3][min] }
}

fn fill(id: usize, account: usize, venue: usize, asset_index: usize, buy: bool, size: usize) -> Fill {
    Fill {
        venue: Venue::ALL[venue],
        fill_id: CompactString::from(format!("f{id}")),
        client_order_id: CompactString::from(format!("c{id}")),
        account: CompactString::from(["desk-a", "desk-b"][account]),
        asset: asset(asset_index),
        side: if buy { Side::Buy } else { Side::Sell },
        price: Price::new(dec("100")).unwrap(),
        qty: Quantity::new(dec(SIZES[size])).unwrap(),
        fee: Dec::ZERO,
        ts_ms: 0,
    }
}

fn history(events: &[(u64, Event)]) -> Vec<(In, u64, isize)> {
    let mut updates = Vec::new();
    let mut current = params(0, 1, 0);
    updates.push((In::Params(current), 0, 1));
    for (scenario, shocks) in
        [("crash", [("BTC", "-0.2"), ("ETH", "-0.25")]), ("squeeze", [("SOL", "0.3"), ("BTC", "0.05")])]
    {
        for (symbol, shock) in shocks {
            let shock = Shock {
                scenario: scenario.to_string(),
                asset: Asset::from_venue_symbol(symbol).unwrap(),
                shock: dec(shock),
            };
            updates.push((In::Shock(shock), 0, 1));
        }
    }
    let mut latest: BTreeMap<usize, PriceTick> = BTreeMap::new();
    let mut fills: Vec<Fill> = Vec::new();
    let (mut time, mut seq) = (0u64, 0u64);
    for (position, (gap, event)) in events.iter().enumerate() {
        time += gap;
        seq += 1;
        match event {
            Event::Tick { asset: a, price } => {
                let tick = PriceTick { seq, time, price: dec(PRICES[*price]) };
                if let Some(old) = latest.insert(*a, tick.clone()) {
                    updates.push((In::Price(asset(*a), old), time, -1));
                }
                updates.push((In::Price(asset(*a), tick), time, 1));
            }
            Event::Fill { account, venue, asset, buy, size } => {
                let new = fill(position, *account, *venue, *asset, *buy, *size);
                updates.push((In::Fill(new.clone()), time, 1));
                fills.push(new);
            }
            Event::Correct { which, size } if !fills.is_empty() => {
                let index = which % fills.len();
                let old = fills[index].clone();
                let new = Fill { qty: Quantity::new(dec(SIZES[*size])).unwrap(), ..old.clone() };
                if new != old {
                    updates.push((In::Fill(old), time, -1));
                    updates.push((In::Fill(new.clone()), time, 1));
                    fills[index] = new;
                }
            }
            Event::Cancel { which } if !fills.is_empty() => {
                let old = fills.remove(which % fills.len());
                updates.push((In::Fill(old), time, -1));
            }
            Event::Params { bar, window, min } => {
                let new = params(*bar, *window, *min);
                if new != current {
                    updates.push((In::Params(current), time, -1));
                    updates.push((In::Params(new), time, 1));
                    current = new;
                }
            }
            Event::Correct { .. } | Event::Cancel { .. } => {}
        }
    }
    updates
}

fn expected_at(t: u64, updates: &[(In, u64, isize)]) -> (BTreeSet<Out>, BTreeMap<CompactString, VarFigures>) {
    let ticks: Vec<(Asset, PriceTick)> = updates
        .iter()
        .filter_map(|(record, time, diff)| match record {
            In::Price(asset, tick) if *diff > 0 && *time <= t => Some((asset.clone(), tick.clone())),
            _ => None,
        })
        .collect();
    let (mut fills, mut shocks, mut current) = (Vec::new(), Vec::new(), None);
    for record in collection_at(updates, t).into_keys() {
        match record {
            In::Fill(fill) => fills.push(fill),
            In::Shock(shock) => shocks.push(shock),
            In::Params(p) => current = Some(p),
            In::Price(..) => {}
        }
    }
    let state = oracle::risk_at(&ticks, &fills, &current.expect("parameters are always present"), &shocks, t);
    let exact =
        state.positions.into_iter().map(Out::Position).chain(state.stress.into_iter().map(Out::Stress)).collect();
    (exact, state.var)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()) + 1e-9
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn positions_var_and_stress_match_the_definition_at_every_time(
        events in prop::collection::vec((gap(), event()), 1..60),
    ) {
        let updates = history(&events);
        let last = updates.iter().map(|u| u.1).max().unwrap_or(0);
        // Input times, and every grain boundary until well after every window has slid past.
        let mut times: BTreeSet<u64> = updates.iter().map(|u| u.1).collect();
        times.extend((0..=(last + 30_000) / 1_000).map(|k| k * 1_000));
        for workers in [1, 4] {
            let output = harness::run(workers, updates.clone(), |input| {
                let prices = input.clone().flat_map(|x| match x { In::Price(a, t) => Some((a, t)), _ => None });
                let fills = input.clone().flat_map(|x| match x { In::Fill(f) => Some(f), _ => None });
                let params = input.clone().flat_map(|x| match x { In::Params(p) => Some(p), _ => None });
                let shocks = input.flat_map(|x| match x { In::Shock(s) => Some(s), _ => None });
                let result = risk(prices, fills, params, shocks, HISTORY);
                result.positions.map(Out::Position).concat(result.var.map(Out::Var)).concat(result.stress.map(Out::Stress))
            });
            let mut all_times = times.clone();
            all_times.extend(output.iter().map(|u| u.1));
            for &t in &all_times {
                let (exact, var) = expected_at(t, &updates);
                let actual = collection_at(&output, t);
                prop_assert!(actual.values().all(|count| *count == 1), "workers {} time {}: multiplicities {:?}", workers, t, actual);
                let actual_exact: BTreeSet<Out> = actual.keys().filter(|o| !matches!(o, Out::Var(_))).cloned().collect();
                prop_assert_eq!(&actual_exact, &exact, "workers {} time {}", workers, t);
                let actual_var: BTreeMap<CompactString, VarFigures> = actual.keys().filter_map(|o| match o {
                    Out::Var(v) => Some((v.account.clone(), v.clone())),
                    _ => None,
                }).collect();
                prop_assert_eq!(actual_var.keys().collect::<Vec<_>>(), var.keys().collect::<Vec<_>>(), "workers {} time {}", workers, t);
                for (account, expected) in &var {
                    let got = &actual_var[account];
                    let decimals = |v: &VarFigures| (v.returns, v.exposure_net, v.exposure_gross, v.var_hist_95, v.es_hist_95, v.var_hist_99, v.es_hist_99);
                    prop_assert_eq!(decimals(got), decimals(expected), "workers {} time {} account {}", workers, t, account);
                    prop_assert!(close(got.var_param_95.0, expected.var_param_95.0) && close(got.var_param_99.0, expected.var_param_99.0),
                        "workers {} time {} account {}: parametric {:?} vs {:?}", workers, t, account, got, expected);
                }
            }
        }
    }
}
