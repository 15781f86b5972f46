//! The per-account step: what the `VarPerAccount` and `StressPerAccount` reduces see and compute.

use compact_str::CompactString;
use nexus_model::records::{StressPnl, VarFigures};
use nexus_model::{Asset, Dec};
use serde::{Deserialize, Serialize};

use super::figures::{TERM_DECIMALS, from_fixed, var_record};
use super::series::Series;

/// One fact about an account, as the per-account reduces receive them.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AccountFact {
    /// The window in force: N bars, and the least N that gives a record.
    Window {
        /// Bars in the window.
        bars: u64,
        /// `var.min_returns`.
        min_returns: u64,
    },
    /// Exposure `E_s` to one priced asset.
    Exposure(Asset, Dec),
    /// Scenario P&L `L_k` of the window's bars (bars absent from the series have `L_k = 0`).
    Pnl(Series),
    /// One asset's shock in one stress scenario.
    Shock(String, Asset, Dec),
}

/// The `var` record of an account from its facts, when its window has enough bars.
pub fn var_figures(account: &CompactString, facts: &[(&AccountFact, isize)]) -> Option<VarFigures> {
    let present = || facts.iter().filter(|(_, count)| *count > 0).map(|(fact, _)| *fact);
    let (bars, min_returns) = present().find_map(|fact| match fact {
        AccountFact::Window { bars, min_returns } => Some((*bars, *min_returns)),
        _ => None,
    })?;
    if bars == 0 || bars < min_returns {
        return None;
    }
    let (mut net, mut gross) = (Dec::ZERO, Dec::ZERO);
    let mut units: Vec<i128> = Vec::with_capacity(bars as usize);
    for fact in present() {
        match fact {
            AccountFact::Exposure(_, exposure) => {
                net = net.checked_add(*exposure)?;
                gross = gross.checked_add(exposure.abs())?;
            }
            AccountFact::Pnl(series) => units.extend(series.0.iter().map(|(_, value)| *value)),
            AccountFact::Window { .. } | AccountFact::Shock(..) => {}
        }
    }
    // Bars of the window without a P&L record had no non-zero return on a held asset.
    units.resize(units.len().max(bars as usize), 0);
    units.sort_unstable();
    let pnl: Vec<Dec> = units.iter().map(|u| from_fixed(*u)).collect();
    let scale = 10f64.powi(TERM_DECIMALS as i32);
    let values: Vec<f64> = units.iter().map(|u| *u as f64 / scale).collect();
    var_record(account.clone(), net, gross, &pnl, &values)
}

/// The `stress` records of an account: for each scenario, `sum_s E_s * shock_s`.
pub fn stress_pnl(account: &CompactString, facts: &[(&AccountFact, isize)]) -> Vec<StressPnl> {
    let present: Vec<&AccountFact> = facts.iter().filter(|(_, count)| *count > 0).map(|(fact, _)| *fact).collect();
    let exposure = |asset: &Asset| {
        present.iter().find_map(|fact| match fact {
            AccountFact::Exposure(a, e) if a == asset => Some(*e),
            _ => None,
        })
    };
    let mut out: Vec<StressPnl> = Vec::new();
    for fact in &present {
        if let AccountFact::Shock(scenario, asset, shock) = fact {
            let term = exposure(asset).and_then(|e| e.checked_mul(*shock)).unwrap_or(Dec::ZERO);
            match out.last_mut() {
                Some(last) if last.scenario == *scenario => last.pnl = last.pnl.checked_add(term).unwrap_or(last.pnl),
                _ => out.push(StressPnl { account: account.clone(), scenario: scenario.clone(), pnl: term }),
            }
        }
    }
    out
}
