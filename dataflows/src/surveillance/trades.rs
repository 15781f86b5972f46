//! Momentum ignition from the trades of one (venue, asset), and wash trades from single trades.

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
    reversal: Option<usize>,
}

impl Burst {
    fn share_and_move_met(&self, p: &SurveillanceParams) -> bool {
        let share_met = p.ignition_min_share.inner().checked_mul(self.volume).is_some_and(|v| self.account_volume >= v);
        share_met && self.move_bps.is_some_and(|m| m >= p.ignition_min_move_bps.inner())
    }

    fn qualifies(&self, p: &SurveillanceParams) -> bool {
        self.share_and_move_met(p) && self.reversal.is_some()
    }
}

fn burst(trades: &[&TradeFact], i: usize, p: &SurveillanceParams) -> Option<Burst> {
    let first = trades[i];
    let account = CompactString::from(first.aggressive_account()?);
    let side = first.trade.aggressor;
    let end = first.time.saturating_add(p.ignition_window_us);
    let mut own = Vec::new();
    let mut volume = Decimal::ZERO;
    let mut account_volume = Decimal::ZERO;
    for (j, t) in trades.iter().enumerate().skip(i).take_while(|(_, t)| t.time <= end) {
        volume = volume.saturating_add(t.trade.qty.value().inner());
        if t.trade.aggressor == side && t.aggressive_account() == Some(account.as_str()) {
            account_volume = account_volume.saturating_add(t.trade.qty.value().inner());
            own.push(j);
        }
    }
    let start_price = first.trade.price.value().inner();
    let last_price = own.last().map(|&j| trades[j].trade.price.value().inner()).unwrap_or(start_price);
    let moved = match side {
        Side::Buy => last_price - start_price,
        Side::Sell => start_price - last_price,
    };
    let move_bps = moved.checked_mul(Decimal::from(10_000u64)).and_then(|m| m.checked_div(start_price));
    let mut burst = Burst { account, side, own, account_volume, volume, move_bps, reversal: None };
    // The reversal is looked for only where the burst itself qualifies: most trades stop here.
    if burst.share_and_move_met(p) {
        let reversal_end = end.saturating_add(p.ignition_reversal_us);
        burst.reversal = (i + 1..trades.len())
            .take_while(|&j| trades[j].time <= reversal_end)
            .find(|&j| trades[j].has_on_side(&burst.account, opposite(side)));
    }
    Some(burst)
}

/// Ignition episodes among the trades of `key` (in arrival order), one alert (with its settle
/// time) per anchor: an aggressive trade whose window qualifies while no earlier aggressive trade
/// of the same account and side within the window before it does.
pub fn ignition(key: &(Venue, Asset), trades: &[&TradeFact], p: &SurveillanceParams) -> Vec<(Alert, Time)> {
    let bursts: Vec<Option<Burst>> = (0..trades.len()).map(|i| burst(trades, i, p)).collect();
    let mut alerts = Vec::new();
    for (i, b) in bursts.iter().enumerate() {
        let Some(b) = b.as_ref().filter(|b| b.qualifies(p)) else { continue };
        let start = trades[i].time;
        let earlier_qualifies = (0..i)
            .rev()
            .take_while(|&j| trades[j].time >= start.saturating_sub(p.ignition_window_us))
            .filter_map(|j| bursts[j].as_ref())
            .any(|e| e.account == b.account && e.side == b.side && e.qualifies(p));
        if !earlier_qualifies {
            alerts.extend(ignition_alert(key, trades, i, b, p));
        }
    }
    alerts
}

fn ignition_alert(
    key: &(Venue, Asset),
    trades: &[&TradeFact],
    i: usize,
    b: &Burst,
    p: &SurveillanceParams,
) -> Option<(Alert, Time)> {
    let (venue, symbol) = key.clone();
    let reversal = trades[b.reversal?];
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
