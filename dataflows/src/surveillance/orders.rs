//! Spoofing candidates and layering episodes from the order events of one (venue, account, asset).
//!
//! Both are computed by one reduce over the events of the key that are still retained. The
//! functions here see those events in arrival order and rebuild each order's life from them.

use std::collections::{BTreeMap, BTreeSet};

use compact_str::CompactString;
use nexus_model::market::{OrderEventKind, Side};
use nexus_model::records::{Alert, AlertDetails, Pattern, Severity};
use nexus_model::{Asset, Dec, Venue};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::facts::{OrderFact, opposite};
use super::params::SurveillanceParams;
use crate::Time;

/// An order's life as far as the retained events tell.
#[derive(Clone, Debug)]
pub struct OrderLife {
    /// The order id.
    pub order_id: CompactString,
    /// Its side.
    pub side: Side,
    /// Logical time and sequence of its `new` event.
    pub placed: (Time, u64),
    /// Price when placed.
    pub placed_price: Dec,
    /// Price and size as last set before the cancel (or now).
    pub price: Dec,
    /// Size as last set before the cancel (or now).
    pub qty: Dec,
    /// Filled size before the cancel (or now).
    pub filled: Dec,
    /// Logical time of its first cancel.
    pub cancel_us: Option<Time>,
}

/// A fill on the order feed: the evidence that the account traded a side.
#[derive(Clone, Debug)]
pub struct FillSeen {
    /// When, and in what order.
    pub at: (Time, u64),
    /// The side that was filled.
    pub side: Side,
    /// The filled order.
    pub order_id: CompactString,
}

/// Orders (by placement) and fills of one key, from its events in arrival order.
/// Events before an order's `new`, and after its cancel, do not change it.
pub fn lives(events: &[&OrderFact]) -> (Vec<OrderLife>, Vec<FillSeen>) {
    let mut orders: BTreeMap<&str, OrderLife> = BTreeMap::new();
    let mut fills = Vec::new();
    for fact in events {
        let e = &fact.event;
        if e.kind == OrderEventKind::Fill {
            fills.push(FillSeen { at: (fact.time, fact.seq), side: e.side, order_id: e.order_id.clone() });
        }
        match (e.kind, orders.get_mut(e.order_id.as_str())) {
            (OrderEventKind::New, None) => {
                let life = OrderLife {
                    order_id: e.order_id.clone(),
                    side: e.side,
                    placed: (fact.time, fact.seq),
                    placed_price: e.price.value(),
                    price: e.price.value(),
                    qty: e.qty.value(),
                    filled: Dec::ZERO,
                    cancel_us: None,
                };
                orders.insert(e.order_id.as_str(), life);
            }
            (OrderEventKind::Amend, Some(life)) if life.cancel_us.is_none() => {
                life.price = e.price.value();
                life.qty = e.qty.value();
            }
            (OrderEventKind::Fill, Some(life)) if life.cancel_us.is_none() => {
                let filled = e.fill_qty.map(|q| q.value().inner()).unwrap_or_default();
                life.filled = Dec::new(life.filled.inner().saturating_add(filled));
            }
            (OrderEventKind::Cancel, Some(life)) if life.cancel_us.is_none() => life.cancel_us = Some(fact.time),
            _ => {}
        }
    }
    let mut placed: Vec<OrderLife> = orders.into_values().collect();
    placed.sort_by(|a, b| a.placed.cmp(&b.placed).then_with(|| a.order_id.cmp(&b.order_id)));
    (placed, fills)
}

/// A cancelled order that passes every spoofing test but the baseline, which needs the account's
/// placements over a much longer span and is joined in afterwards.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SpoofCandidate {
    /// Venue, account and asset of the order.
    pub key: (Venue, CompactString, Asset),
    /// The order.
    pub order_id: CompactString,
    /// Logical time of its placement.
    pub placed_us: Time,
    /// Logical time of its cancel.
    pub cancel_us: Time,
    /// Price at the cancel.
    pub price: Dec,
    /// Size at the cancel.
    pub qty: Dec,
    /// Filled size at the cancel.
    pub filled: Dec,
    /// The earliest opposite-side fill within the window: (time, order id).
    pub fill: (Time, CompactString),
    /// `spoofing.size_multiple` in force.
    pub size_multiple: Dec,
    /// `spoofing.baseline_ms` in force, µs.
    pub baseline_us: Time,
    /// When the episode settles: `cancel + window + 1`.
    pub settle_us: Time,
}

/// Spoofing candidates among `lives`: cancelled within the lifetime, notional at least the minimum,
/// filled fraction at most the maximum, and an opposite-side fill within the window of the cancel.
pub fn spoof_candidates(
    key: &(Venue, CompactString, Asset),
    lives: &[OrderLife],
    fills: &[FillSeen],
    p: &SurveillanceParams,
) -> Vec<SpoofCandidate> {
    let mut candidates = Vec::new();
    for life in lives {
        let Some(cancel_us) = life.cancel_us else { continue };
        if cancel_us.saturating_sub(life.placed.0) > p.spoof_max_lifetime_us {
            continue;
        }
        let Some(notional) = life.price.inner().checked_mul(life.qty.inner()) else { continue };
        if Dec::new(notional) < p.spoof_min_notional {
            continue;
        }
        let Some(allowed) = p.spoof_max_fill_ratio.inner().checked_mul(life.qty.inner()) else { continue };
        if life.filled.inner() > allowed {
            continue;
        }
        let near = |f: &&FillSeen| f.side != life.side && f.at.0.abs_diff(cancel_us) <= p.spoof_window_us;
        let Some(fill) = fills.iter().find(near) else { continue };
        candidates.push(SpoofCandidate {
            key: key.clone(),
            order_id: life.order_id.clone(),
            placed_us: life.placed.0,
            cancel_us,
            price: life.price,
            qty: life.qty,
            filled: life.filled,
            fill: (fill.at.0, fill.order_id.clone()),
            size_multiple: p.spoof_size_multiple,
            baseline_us: p.spoof_baseline_us,
            settle_us: cancel_us.saturating_add(p.spoof_settle_after_cancel()),
        });
    }
    candidates
}

/// Whether a placement at `time` falls in a candidate's baseline: the `baseline_ms` before its
/// own placement.
pub fn in_baseline(candidate: &SpoofCandidate, order_id: &str, time: Time) -> bool {
    order_id != candidate.order_id
        && time < candidate.placed_us
        && time >= candidate.placed_us.saturating_sub(candidate.baseline_us)
}

/// The spoofing alert of a candidate whose baseline holds `count` orders of total size `sum`:
/// none if its size is below `size_multiple` times the baseline mean.
pub fn spoof_alert(candidate: &SpoofCandidate, count: u64, sum: Dec) -> Option<(Alert, Time)> {
    let c = candidate;
    let mean = if count == 0 {
        None
    } else {
        let needed = c.size_multiple.inner().checked_mul(sum.inner())?;
        if c.qty.inner().checked_mul(Decimal::from(count))? < needed {
            return None;
        }
        Some(Dec::new(sum.inner().checked_div(Decimal::from(count))?))
    };
    let (venue, account, symbol) = c.key.clone();
    let details = AlertDetails::Spoofing {
        notional: Dec::new(c.price.inner().checked_mul(c.qty.inner())?),
        qty: c.qty,
        baseline_mean_qty: mean,
        baseline_orders: count,
        lifetime_ms: millis(c.cancel_us.saturating_sub(c.placed_us)),
        fill_ratio: Dec::new(c.filled.inner().checked_div(c.qty.inner())?),
        cancel_us: c.cancel_us,
        fill_us: c.fill.0,
    };
    let alert = Alert {
        alert_id: Alert::id_of(Pattern::Spoofing, venue, &account, &symbol, &c.order_id),
        pattern: Pattern::Spoofing,
        severity: Severity::High,
        venue,
        account,
        symbol,
        first_us: c.placed_us,
        last_us: c.cancel_us.max(c.fill.0),
        evidence: vec![c.order_id.clone(), c.fill.1.clone()],
        details,
    };
    Some((alert, c.settle_us))
}

/// A span of logical time in milliseconds, exactly.
pub fn millis(us: Time) -> Dec {
    Dec::new(Decimal::from(us) / Decimal::from(1_000u64))
}

/// What layering measures over the orders placed in the window from one order on.
struct LayerWindow {
    /// Indices (into the side's placements) of the orders in the window.
    members: std::ops::Range<usize>,
    /// Distinct prices.
    levels: u64,
    /// Orders cancelled within `cancel_ms` of placement.
    cancelled: u64,
    /// The first opposite-side fill in the window.
    fill: Option<(Time, CompactString)>,
}

impl LayerWindow {
    fn qualifies(&self, p: &SurveillanceParams) -> bool {
        let orders = self.members.len() as u64;
        orders >= p.layer_min_orders
            && self.levels >= p.layer_min_levels
            && self.fill.is_some()
            && p.layer_min_cancel_ratio
                .inner()
                .checked_mul(Decimal::from(orders))
                .is_some_and(|needed| Decimal::from(self.cancelled) >= needed)
    }
}

/// Layering episodes among `lives`, one alert (with its settle time) per anchor: an order whose
/// window qualifies while no earlier same-side order within the window before it does.
pub fn layering(
    key: &(Venue, CompactString, Asset),
    lives: &[OrderLife],
    fills: &[FillSeen],
    p: &SurveillanceParams,
) -> Vec<(Alert, Time)> {
    let mut alerts = Vec::new();
    for side in [Side::Buy, Side::Sell] {
        let placed: Vec<&OrderLife> = lives.iter().filter(|l| l.side == side).collect();
        let windows: Vec<LayerWindow> = (0..placed.len()).map(|i| layer_window(&placed, i, fills, p)).collect();
        for (i, window) in windows.iter().enumerate() {
            if !window.qualifies(p) {
                continue;
            }
            let start = placed[i].placed.0;
            let earlier_qualifies = (0..i)
                .rev()
                .take_while(|&j| placed[j].placed.0 >= start.saturating_sub(p.layer_window_us))
                .any(|j| windows[j].qualifies(p));
            if !earlier_qualifies {
                alerts.push(layering_alert(key, &placed, window, p));
            }
        }
    }
    alerts
}

fn quick_cancel(life: &OrderLife, p: &SurveillanceParams) -> Option<Time> {
    life.cancel_us.filter(|c| c.saturating_sub(life.placed.0) <= p.layer_cancel_us)
}

fn layer_window(placed: &[&OrderLife], i: usize, fills: &[FillSeen], p: &SurveillanceParams) -> LayerWindow {
    let start = placed[i].placed.0;
    let end = start.saturating_add(p.layer_window_us);
    let last = (i..placed.len()).take_while(|&j| placed[j].placed.0 <= end).last().unwrap_or(i);
    let members = i..last + 1;
    let levels = placed[members.clone()].iter().map(|l| l.placed_price).collect::<BTreeSet<Dec>>().len() as u64;
    let cancelled = placed[members.clone()].iter().filter(|l| quick_cancel(l, p).is_some()).count() as u64;
    let side = placed[i].side;
    let fill = fills
        .iter()
        .find(|f| f.side == opposite(side) && f.at.0 >= start && f.at.0 <= end)
        .map(|f| (f.at.0, f.order_id.clone()));
    LayerWindow { members, levels, cancelled, fill }
}

fn layering_alert(
    key: &(Venue, CompactString, Asset),
    placed: &[&OrderLife],
    window: &LayerWindow,
    p: &SurveillanceParams,
) -> (Alert, Time) {
    let (venue, account, symbol) = key.clone();
    let members = &placed[window.members.clone()];
    let anchor = members[0];
    let fill = window.fill.clone().unwrap_or_default();
    let mut last_us = fill.0;
    for life in members {
        last_us = last_us.max(life.placed.0).max(quick_cancel(life, p).unwrap_or(0));
    }
    let orders = members.len() as u64;
    let mut evidence: Vec<CompactString> = members.iter().map(|l| l.order_id.clone()).collect();
    evidence.push(fill.1);
    let alert = Alert {
        alert_id: Alert::id_of(Pattern::Layering, venue, &account, &symbol, &anchor.order_id),
        pattern: Pattern::Layering,
        severity: Severity::High,
        venue,
        account,
        symbol,
        first_us: anchor.placed.0,
        last_us,
        evidence,
        details: AlertDetails::Layering {
            orders,
            levels: window.levels,
            cancelled: window.cancelled,
            cancel_ratio: Dec::new(Decimal::from(window.cancelled) / Decimal::from(orders.max(1))),
            fill_us: fill.0,
        },
    };
    (alert, anchor.placed.0.saturating_add(p.layer_settle_after_first()))
}
