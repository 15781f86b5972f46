//! From-scratch recomputation of DESIGN 5.3 at one logical time, for the oracle tests: every figure
//! is rebuilt from the full price history, the fills and the parameters, with none of the
//! dataflow's intermediate state.

use std::collections::{BTreeMap, BTreeSet};

use compact_str::CompactString;
use nexus_model::market::Fill;
use nexus_model::records::{Position, StressPnl, VarFigures};
use nexus_model::{Asset, Dec, Float, Venue};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::figures::{Z_95, Z_99, bar_return, pnl_term};
use super::params::{PriceTick, Shock, VarParams};
use super::signed_qty;
use crate::Time;

/// Everything DESIGN 5.3 defines, as of one time.
#[derive(Debug, Default, PartialEq)]
pub struct RiskState {
    /// The `positions` collection.
    pub positions: BTreeSet<Position>,
    /// The `var` collection, by account.
    pub var: BTreeMap<CompactString, VarFigures>,
    /// The `stress` collection.
    pub stress: BTreeSet<StressPnl>,
}

/// The state at time `at` from every reference price that arrived up to `at` (`ticks`, in any
/// order), the fills present at `at`, and the parameters and shocks in force.
pub fn risk_at(
    ticks: &[(Asset, PriceTick)],
    fills: &[Fill],
    params: &VarParams,
    shocks: &[Shock],
    at: Time,
) -> RiskState {
    let mut state = RiskState::default();

    // Positions and net sizes.
    let mut positions: BTreeMap<(CompactString, Venue, Asset), Dec> = BTreeMap::new();
    for fill in fills {
        let slot = positions.entry((fill.account.clone(), fill.venue, fill.asset.clone())).or_insert(Dec::ZERO);
        *slot = slot.checked_add(signed_qty(fill)).unwrap_or(*slot);
    }
    let mut net: BTreeMap<CompactString, BTreeMap<Asset, Dec>> = BTreeMap::new();
    for ((account, _, asset), qty) in &positions {
        let slot = net.entry(account.clone()).or_default().entry(asset.clone()).or_insert(Dec::ZERO);
        *slot = slot.checked_add(*qty).unwrap_or(*slot);
    }
    let holders: BTreeSet<CompactString> =
        positions.iter().filter(|(_, qty)| !qty.is_zero()).map(|((account, _, _), _)| account.clone()).collect();
    for ((account, venue, symbol), qty) in positions {
        state.positions.insert(Position { account, venue, symbol, qty });
    }

    // Price paths, latest prices and closes.
    let mut paths: BTreeMap<Asset, Vec<&PriceTick>> = BTreeMap::new();
    for (asset, tick) in ticks.iter().filter(|(_, tick)| tick.time <= at) {
        paths.entry(asset.clone()).or_default().push(tick);
    }
    for path in paths.values_mut() {
        path.sort_by_key(|tick| (tick.time, tick.seq));
    }
    let latest: BTreeMap<&Asset, Dec> =
        paths.iter().filter_map(|(asset, path)| path.last().map(|tick| (asset, tick.price))).collect();
    let bar = params.bar_us() as i128;
    let close = |asset: &Asset, k: i128| -> Option<Dec> {
        paths.get(asset)?.iter().rev().find(|tick| (tick.time as i128) < (k + 1) * bar).map(|tick| tick.price)
    };
    let ret = |asset: &Asset, k: i128| -> Dec {
        match (close(asset, k), close(asset, k - 1)) {
            (Some(now), Some(before)) => bar_return(now, before).unwrap_or(Dec::ZERO),
            _ => Dec::ZERO,
        }
    };

    // The window: K, k0 and N.
    let last_complete = at as i128 / bar - 1;
    let first_return = paths.values().filter_map(|path| path.first()).map(|tick| tick.time as i128 / bar + 1).min();
    let window: Vec<i128> = match first_return {
        Some(k0) => (k0.max(last_complete - params.window_bars as i128 + 1)..=last_complete).collect(),
        None => Vec::new(),
    };

    for account in holders {
        let exposures: BTreeMap<&Asset, Dec> = net
            .get(&account)
            .into_iter()
            .flatten()
            .filter_map(|(asset, qty)| Some((asset, qty.checked_mul(*latest.get(asset)?)?)))
            .filter(|(_, exposure)| !exposure.is_zero())
            .collect();

        for (scenario, scenario_shocks) in group_shocks(shocks) {
            let mut pnl = Dec::ZERO;
            for (asset, shock) in scenario_shocks {
                if let Some(exposure) = exposures.get(asset) {
                    pnl = pnl.checked_add(exposure.checked_mul(shock).unwrap_or(Dec::ZERO)).unwrap_or(pnl);
                }
            }
            state.stress.insert(StressPnl { account: account.clone(), scenario, pnl });
        }

        let n = window.len();
        if n == 0 || (n as u64) < params.min_returns {
            continue;
        }
        let mut losses: Vec<Dec> = window
            .iter()
            .map(|k| {
                exposures.iter().fold(Dec::ZERO, |sum, (asset, exposure)| {
                    let term = pnl_term(*exposure, ret(asset, *k)).unwrap_or(Dec::ZERO);
                    sum.checked_add(term).unwrap_or(sum)
                })
            })
            .collect();
        losses.sort();
        let tail = |level: i64| {
            let j = (Decimal::new(100 - level, 2) * Decimal::from(n as u64)).ceil().to_usize().unwrap_or(1).clamp(1, n);
            let var = Dec::ZERO.max(Dec::new(-losses[j - 1].inner()));
            let sum = losses[..j].iter().fold(Decimal::ZERO, |s, l| s + l.inner());
            let es = Dec::ZERO.max(Dec::new(-(sum / Decimal::from(j as u64))));
            (var, es)
        };
        let (var_hist_95, es_hist_95) = tail(95);
        let (var_hist_99, es_hist_99) = tail(99);

        // Parametric: the literal double sum over assets of E_s E_s' cov(r_s, r_s').
        let series: Vec<(f64, Vec<f64>)> = exposures
            .iter()
            .map(|(asset, exposure)| (exposure.to_f64(), window.iter().map(|k| ret(asset, *k).to_f64()).collect()))
            .collect();
        let mean = |xs: &[f64]| xs.iter().sum::<f64>() / n as f64;
        let mut variance = 0.0;
        for (e1, r1) in &series {
            for (e2, r2) in &series {
                let (m1, m2) = (mean(r1), mean(r2));
                let cov = r1.iter().zip(r2).map(|(a, b)| (a - m1) * (b - m2)).sum::<f64>() / (n as f64 - 1.0);
                variance += e1 * e2 * cov;
            }
        }
        let sigma = if n >= 2 { variance.max(0.0).sqrt() } else { 0.0 };

        let (net_sum, gross) = exposures.values().fold((Dec::ZERO, Dec::ZERO), |(net, gross), e| {
            (net.checked_add(*e).unwrap_or(net), gross.checked_add(e.abs()).unwrap_or(gross))
        });
        state.var.insert(
            account.clone(),
            VarFigures {
                account,
                returns: n as u64,
                exposure_net: net_sum,
                exposure_gross: gross,
                var_hist_95,
                es_hist_95,
                var_hist_99,
                es_hist_99,
                var_param_95: Float(Z_95 * sigma),
                var_param_99: Float(Z_99 * sigma),
            },
        );
    }
    state
}

/// Shocks grouped by scenario.
fn group_shocks(shocks: &[Shock]) -> BTreeMap<String, Vec<(&Asset, Dec)>> {
    let mut grouped: BTreeMap<String, Vec<(&Asset, Dec)>> = BTreeMap::new();
    for shock in shocks {
        grouped.entry(shock.scenario.clone()).or_default().push((&shock.asset, shock.shock));
    }
    grouped
}
