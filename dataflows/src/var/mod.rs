//! Positions, exposures and rolling Value-at-Risk per account (DESIGN 5.3).
//!
//! ```text
//! fills ── sum per (account, venue, asset) ─► positions
//!   └──── sum per (account, asset) ── join prices ─► exposures ──┬──────────────┬─► VarPerAccount ─► var
//! prices (latest per asset) ─┘                                   │              └─► StressPerAccount ─► stress
//!   └─ sample_every(grain) ─ linger(retention) ─ with params ─ delay to bar end ─► Returns (per asset)
//!        returns ─ retract after window ─ join exposures ─ sum per (account, bar) ─► P&L ─┘
//!        first closes ─ min ─ window slots (revealed bar by bar) ─ count ─► N ─┘
//! ```
//!
//! Everything time-based is an ordinary update at a scheduled time: a price reaches the bar
//! computation when its bar completes, a return leaves the window `window_bars` bars later, a
//! replaced price is forgotten after `retention`. A price tick costs one exposure update per
//! holding account and `window_bars` P&L updates; a completed bar costs one return per asset that
//! moved. Parameters are a broadcast collection: a change recomputes from its logical time on.

mod account;
pub mod figures;
pub mod oracle;
mod params;
mod returns;
mod series;

use compact_str::CompactString;
use differential_dataflow::VecCollection;
use nexus_model::market::{Fill, Side};
use nexus_model::records::{Position, StressPnl, VarFigures};
use nexus_model::{Asset, Dec, Venue};
use nexus_operators::{delay_until, linger, retract_at, sample_every, sum_by_key, with_params};

pub use account::AccountFact;
pub use params::{PriceHistory, PriceTick, Shock, VarParams};
pub use returns::ReturnFact;
pub use series::Series;

use crate::Time;
use figures::pnl_term_fixed;

/// The outputs of the positions and VaR dataflow.
pub struct Risk<'s> {
    /// Net size per (account, venue, asset).
    pub positions: VecCollection<'s, Time, Position>,
    /// VaR per account holding a non-zero position.
    pub var: VecCollection<'s, Time, VarFigures>,
    /// P&L per account and configured stress scenario.
    pub stress: VecCollection<'s, Time, StressPnl>,
}

/// The signed size of a fill: buys add, sells subtract.
pub fn signed_qty(fill: &Fill) -> Dec {
    match fill.side {
        Side::Buy => fill.qty.value(),
        Side::Sell => Dec::new(-fill.qty.value().inner()),
    }
}

/// Positions, VaR and stress P&L.
///
/// - `prices`: the latest reference price per asset (each value inserted when it arrives and
///   retracted when replaced).
/// - `fills`: our fills; a correction is a retraction of the old fill and an insertion of the new.
/// - `params`: exactly one [`VarParams`] at any time; `shocks`: the stress scenarios.
/// - `history`: how price history is kept, fixed for the dataflow's life.
pub fn risk<'s>(
    prices: VecCollection<'s, Time, (Asset, PriceTick)>,
    fills: VecCollection<'s, Time, Fill>,
    params: VecCollection<'s, Time, VarParams>,
    shocks: VecCollection<'s, Time, Shock>,
    history: PriceHistory,
) -> Risk<'s> {
    // Positions: exact sums of signed fill sizes per (account, venue, asset).
    let positions = sum_by_key(fills.clone().map(|f| ((f.account.clone(), f.venue, f.asset.clone()), signed_qty(&f))));

    // Net size per (account, asset) across venues, and the accounts holding anything at all.
    let net = sum_by_key(fills.map(|f| ((f.account.clone(), f.asset.clone()), signed_qty(&f))))
        .filter(|(_, qty)| !qty.is_zero());
    let holders = positions.clone().filter(|(_, qty)| !qty.is_zero()).map(|((account, _, _), _)| account).distinct();

    // Exposures: net size times the latest reference price (unpriced assets drop out here).
    let net_by_asset = net.map(|((account, asset), qty)| (asset, (account, qty))).arrange_by_key_named("NetByAsset");
    let price_by_asset = prices.clone().map(|(asset, tick)| (asset, tick.price)).arrange_by_key_named("PriceByAsset");
    let exposures = net_by_asset
        .join_core(price_by_asset, |asset, (account, qty), price| {
            qty.checked_mul(*price).map(|exposure| (asset.clone(), (account.clone(), exposure)))
        })
        .filter(|(_, (_, exposure))| !exposure.is_zero());

    // Price history: the price at each grain's end, kept `retention` after it was replaced.
    let kept = linger(sample_every(prices, history.grain_us), history.retention_us);

    // Under the parameters in force, each kept price is revealed once its bar is complete.
    let tagged = with_params(kept, params.clone(), |(asset, tick), p| Some(((asset.clone(), *p), tick.clone())));
    let complete = delay_until(tagged, |((_, p), tick)| p.bar_end(p.bar_of(tick.time)));

    // Returns: per asset, closes of the complete bars and the return of each bar that moved.
    let facts = complete.reduce_named("Returns", |(_, p), ticks, output| {
        let present: Vec<&PriceTick> = ticks.iter().filter(|(_, count)| *count > 0).map(|(tick, _)| *tick).collect();
        for fact in returns::walk(&present, p) {
            output.push((fact, 1isize));
        }
    });

    // The window: each return stays until `window_bars` later bars are complete.
    let window_returns = retract_at(
        facts.clone().flat_map(|((asset, p), fact)| match fact {
            ReturnFact::Return(bar, r) => Some((asset, p, bar, r)),
            ReturnFact::FirstClose(_) => None,
        }),
        |(_, p, bar, _)| p.bar_end(bar.saturating_add(p.window_bars)),
    )
    .map(|(asset, _, bar, r)| (asset, (bar, r)));

    // N: bars k0 .. k0 + window_bars - 1 (k0 = first close + 1), each counted once complete.
    let first_bar = facts
        .flat_map(|((_, p), fact)| match fact {
            ReturnFact::FirstClose(bar) => Some((p, bar)),
            ReturnFact::Return(..) => None,
        })
        .reduce_named("FirstReturnBar", |_p, bars, output| {
            if let Some((bar, _)) = bars.iter().find(|(_, count)| *count > 0) {
                output.push((**bar + 1, 1isize));
            }
        });
    let slots = delay_until(
        first_bar.flat_map(|(p, k0)| (k0..k0.saturating_add(p.window_bars)).map(move |bar| (p, bar))),
        |(p, bar)| p.bar_end(*bar),
    );
    let windows = slots
        .map(|(p, _)| p)
        .count()
        .map(|(p, bars)| AccountFact::Window { bars: bars as u64, min_returns: p.min_returns });

    // Each asset's window of returns as one series, rebuilt when a bar enters or leaves.
    let series_by_asset = window_returns
        .reduce_named("ReturnSeries", |_asset, returns, output| {
            let present = returns.iter().filter(|(_, count)| *count > 0).map(|((bar, r), _)| (*bar, *r));
            output.push((present.collect::<Vec<(u64, Dec)>>(), 1isize));
        })
        .arrange_by_key_named("SeriesByAsset");

    // Scenario P&L per account and bar, `sum_s E_s * r_(s,k)`, as one series per account: a
    // changed exposure adds `E_s * r_s` for the whole window in one update.
    let exposure_by_asset = exposures.clone().arrange_by_key_named("ExposureByAsset");
    let pnl = exposure_by_asset
        .join_core(series_by_asset, |_asset, (account, exposure), returns| {
            let terms = returns.iter().filter_map(|(bar, r)| Some((*bar, pnl_term_fixed(*exposure, *r)?)));
            Some((account.clone(), Series::from_values(terms)))
        })
        .explode(|(account, series)| Some((account, series)))
        .count();

    // VaR per account: its exposures, its P&L per bar and the window.
    let account_exposures =
        exposures.map(|(asset, (account, exposure))| (account, AccountFact::Exposure(asset, exposure)));
    let account_windows = with_params(holders.clone(), windows, |account: &CompactString, window| {
        Some((account.clone(), window.clone()))
    });
    let var = account_exposures
        .clone()
        .concat(pnl.map(|(account, series)| (account, AccountFact::Pnl(series))))
        .concat(account_windows)
        .reduce_named("VarPerAccount", |account, facts, output| {
            if let Some(figures) = account::var_figures(account, facts) {
                output.push((figures, 1isize));
            }
        })
        .map(|(_, figures)| figures);

    // Stress P&L per account and scenario.
    let account_shocks = with_params(holders, shocks, |account: &CompactString, s: &Shock| {
        Some((account.clone(), AccountFact::Shock(s.scenario.clone(), s.asset.clone(), s.shock)))
    });
    let stress = account_exposures
        .concat(account_shocks)
        .reduce_named("StressPerAccount", |account, facts, output| {
            for record in account::stress_pnl(account, facts) {
                output.push((record, 1isize));
            }
        })
        .map(|(_, record)| record);

    let positions = positions.map(|((account, venue, symbol), qty): ((CompactString, Venue, Asset), Dec)| Position {
        account,
        venue,
        symbol,
        qty,
    });
    Risk { positions, var, stress }
}
