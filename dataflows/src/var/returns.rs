//! Bar returns from the price history: the per-asset walk that the `Returns` reduce runs.

use nexus_model::Dec;
use serde::{Deserialize, Serialize};

use super::figures::bar_return;
use super::params::{PriceTick, VarParams};

/// What the `Returns` reduce says about one asset.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ReturnFact {
    /// The asset's first bar with a close (its earliest kept price).
    FirstClose(u64),
    /// The return of bar `k`, for a bar with a price of its own and a close before it (bars
    /// without a price of their own have return 0 and are not listed).
    Return(u64, Dec),
}

/// Closes and returns of one asset from its price ticks (complete bars only), in any order.
///
/// The close of bar k is the last tick in it; a bar with no tick keeps the close before it, so its
/// return is 0 and only bars with ticks can have a non-zero return: `close_k / close_prev - 1`,
/// where `close_prev` is the close of the last earlier bar with a tick.
pub fn walk(ticks: &[&PriceTick], params: &VarParams) -> Vec<ReturnFact> {
    let mut ordered: Vec<&PriceTick> = ticks.to_vec();
    ordered.sort_by_key(|tick| (tick.time, tick.seq));
    let mut closes: Vec<(u64, Dec)> = Vec::new();
    for tick in ordered {
        let bar = params.bar_of(tick.time);
        match closes.last_mut() {
            Some((last, close)) if *last == bar => *close = tick.price,
            _ => closes.push((bar, tick.price)),
        }
    }
    let mut facts = Vec::with_capacity(closes.len());
    if let Some((first, _)) = closes.first() {
        facts.push(ReturnFact::FirstClose(*first));
    }
    for pair in closes.windows(2) {
        let ((_, previous), (bar, close)) = (pair[0], pair[1]);
        if let Some(r) = bar_return(close, previous).filter(|r| !r.is_zero()) {
            facts.push(ReturnFact::Return(bar, r));
        }
    }
    facts
}
