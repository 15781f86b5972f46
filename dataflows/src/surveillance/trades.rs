//! Momentum ignition from the trades of one (venue, asset), and wash trades from single trades.

use std::collections::BTreeMap;

use compact_str::CompactString;
use nexus_model::market::Side;
use nexus_model::records::{Alert, AlertDetails, Pattern, Severity};
use nexus_model::{Asset, Dec, Venue};
use rust_decimal::Decimal;

use super::facts::{TradeFact, opposite};
use super::params::{AccountGroups, SurveillanceParams};
use crate::Time;

/// What ignition measures over the window from one aggressive trade on.
struct Burst {
    /// The aggressive account and side.
    account: CompactString,
    side: Side,
    /// Indices of the account's aggressive trades on that side within the window.
    own: Vec<usize>,
    /// The account's aggressive volume and the symbol's whole volume within the window.
    account_volume: Decimal,
    volume: Decimal,
    /// Price move from the first to the last of the account's trades, basis points, signed so
    /// that a move the burst's way is positive.
    move_bps: Option<Decimal>,
    /// The first trade after the first one in which the account takes the other side, within the
    /// window and the reversal span after it.
    reversal: usize,
}

/// Ignition episodes among the trades of `key` (in arrival order), one alert (with its settle
/// time) per anchor: an aggressive trade whose window qualifies while no earlier aggressive trade
/// of the same account and side within the window before it does.
///
/// One pass: the symbol's volume in a window is a difference of prefix sums, and each account's
/// aggressive trades on one side are a list with prefix sums of their own, walked with a pointer
/// to the window's end; the reversal is looked for only where share and move are met.
pub fn ignition(key: &(Venue, Asset), trades: &[&TradeFact], p: &SurveillanceParams) -> Vec<(Alert, Time)> {
    let n = trades.len();
    // prefix[i]: volume of trades[..i]; end[i]: one past the last trade in the window from i.
    let mut prefix = Vec::with_capacity(n + 1);
    prefix.push(Decimal::ZERO);
    for t in trades {
        let last = prefix.last().copied().unwrap_or_default();
        prefix.push(last.saturating_add(t.trade.qty.value().inner()));
    }
    let mut end = vec![0; n];
    let mut j = 0;
    for (i, t) in trades.iter().enumerate() {
        let limit = t.time.saturating_add(p.ignition_window_us);
        j = j.max(i);
        while j < n && trades[j].time <= limit {
            j += 1;
        }
        end[i] = j;
    }
    // The aggressive trades of each (account, side), in order.
    let mut lists: BTreeMap<(&str, Side), Vec<usize>> = BTreeMap::new();
    for (i, t) in trades.iter().enumerate() {
        if let Some(account) = t.aggressive_account() {
            lists.entry((account, t.trade.aggressor)).or_default().push(i);
        }
    }
    let mut alerts = Vec::new();
    for ((account, side), list) in &lists {
        let mut own_prefix = Vec::with_capacity(list.len() + 1);
        own_prefix.push(Decimal::ZERO);
        for &i in list {
            let last = own_prefix.last().copied().unwrap_or_default();
            own_prefix.push(last.saturating_add(trades[i].trade.qty.value().inner()));
        }
        let mut last_qualifying: Option<usize> = None;
        let mut stop = 0;
        for (k, &i) in list.iter().enumerate() {
            stop = stop.max(k + 1);
            while stop < list.len() && list[stop] < end[i] {
                stop += 1;
            }
            let Some(burst) = burst(trades, i, &list[k..stop], &own_prefix, k, &prefix, end[i], account, *side, p)
            else {
                continue;
            };
            let start = trades[i].time;
            let earlier = last_qualifying.is_some_and(|q| trades[q].time >= start.saturating_sub(p.ignition_window_us));
            last_qualifying = Some(i);
            if !earlier {
                alerts.extend(ignition_alert(key, trades, i, &burst, p));
            }
        }
    }
    alerts
}

/// The burst from `trades[i]`, when it qualifies: `own` are the account's aggressive trades on
/// `side` in the window (from `i`), at positions `k..` of its list.
#[allow(clippy::too_many_arguments)]
fn burst(
    trades: &[&TradeFact],
    i: usize,
    own: &[usize],
    own_prefix: &[Decimal],
    k: usize,
    prefix: &[Decimal],
    end: usize,
    account: &str,
    side: Side,
    p: &SurveillanceParams,
) -> Option<Burst> {
    let volume = prefix[end] - prefix[i];
    let account_volume = own_prefix[k + own.len()] - own_prefix[k];
    if account_volume < p.ignition_min_share.inner().checked_mul(volume)? {
        return None;
    }
    let start_price = trades[i].trade.price.value().inner();
    let last_price = own.last().map(|&j| trades[j].trade.price.value().inner()).unwrap_or(start_price);
    let moved = match side {
        Side::Buy => last_price - start_price,
        Side::Sell => start_price - last_price,
    };
    let move_bps = moved.checked_mul(Decimal::from(10_000u64)).and_then(|m| m.checked_div(start_price));
    if move_bps.is_none_or(|m| m < p.ignition_min_move_bps.inner()) {
        return None;
    }
    let reversal_end = trades[i].time.saturating_add(p.ignition_window_us).saturating_add(p.ignition_reversal_us);
    let reversal = (i + 1..trades.len())
        .take_while(|&j| trades[j].time <= reversal_end)
        .find(|&j| trades[j].has_on_side(account, opposite(side)))?;
    let account = CompactString::from(account);
    Some(Burst { account, side, own: own.to_vec(), account_volume, volume, move_bps, reversal })
}

fn ignition_alert(
    key: &(Venue, Asset),
    trades: &[&TradeFact],
    i: usize,
    b: &Burst,
    p: &SurveillanceParams,
) -> Option<(Alert, Time)> {
    let (venue, symbol) = key.clone();
    let reversal = trades[b.reversal];
    let last_own = b.own.last().map(|&j| trades[j].time).unwrap_or(trades[i].time);
    let mut evidence: Vec<CompactString> = b.own.iter().map(|&j| trades[j].trade.trade_id.clone()).collect();
    evidence.push(reversal.trade.trade_id.clone());
    let alert = Alert {
        alert_id: Alert::id_of(Pattern::MomentumIgnition, venue, &b.account, &symbol, &trades[i].trade.trade_id),
        pattern: Pattern::MomentumIgnition,
        severity: Severity::High,
        venue,
        account: b.account.clone(),
        symbol,
        first_us: trades[i].time,
        last_us: last_own.max(reversal.time),
        evidence,
        details: AlertDetails::MomentumIgnition {
            side: b.side,
            account_volume: Dec::new(b.account_volume),
            volume: Dec::new(b.volume),
            share: Dec::new(b.account_volume.checked_div(b.volume)?),
            move_bps: Dec::new(b.move_bps?),
            reversal_us: reversal.time,
        },
    };
    Some((alert, trades[i].time.saturating_add(p.ignition_settle_after_first())))
}

/// The wash-trading alert of one trade, with its settle time (right after the trade): the same
/// account on both sides (high), or two accounts of one group (medium).
pub fn wash(fact: &TradeFact, groups: &AccountGroups) -> Option<(Alert, Time)> {
    let t = &fact.trade;
    let (buyer, seller) = (t.buyer.as_ref()?, t.seller.as_ref()?);
    let (severity, group) = if buyer == seller {
        (Severity::High, None)
    } else {
        (Severity::Medium, Some(groups.common_group(buyer, seller)?))
    };
    let alert = Alert {
        alert_id: Alert::id_of(Pattern::WashTrading, t.venue, buyer, &t.asset, &t.trade_id),
        pattern: Pattern::WashTrading,
        severity,
        venue: t.venue,
        account: buyer.clone(),
        symbol: t.asset.clone(),
        first_us: fact.time,
        last_us: fact.time,
        evidence: vec![t.trade_id.clone()],
        details: AlertDetails::WashTrading {
            buyer: buyer.clone(),
            seller: seller.clone(),
            group,
            price: t.price.value(),
            qty: t.qty.value(),
        },
    };
    Some((alert, fact.time.saturating_add(1)))
}
