//! The surveillance definitions recomputed from scratch, for oracle tests: every quantifier of
//! DESIGN 5.4 evaluated over the whole history, with no windows kept, nothing retracted and
//! nothing frozen. [`alerts_at`] then applies the one rule the dataflow adds: an alert keeps the
//! state it had just before its episode settled.

use std::collections::{BTreeMap, BTreeSet};

use compact_str::CompactString;
use nexus_model::market::{OrderEventKind, Side};
use nexus_model::records::{Alert, AlertDetails, Pattern, Severity};
use nexus_model::{Asset, Dec, Venue};
use rust_decimal::Decimal;

use super::facts::{OrderFact, TradeFact, opposite};
use super::orders::millis;
use super::params::{AccountGroups, SurveillanceParams};
use crate::Time;

type OrderKey = (Venue, CompactString, Asset);

fn at(o: &OrderFact) -> (Time, u64) {
    (o.time, o.seq)
}

fn key_of(o: &OrderFact) -> OrderKey {
    (o.event.venue, o.event.account.clone(), o.event.asset.clone())
}

/// An order of one key: its first `new`, its first cancel after it, and the events between.
struct Order<'a> {
    new: &'a OrderFact,
    cancel: Option<&'a OrderFact>,
    /// Amends and fills between the placement and the cancel (or now).
    between: Vec<&'a OrderFact>,
}

impl Order<'_> {
    fn id(&self) -> &str {
        &self.new.event.order_id
    }
    fn placed(&self) -> (Time, u64) {
        at(self.new)
    }
    /// Price and size as last set by the `new` or an amend before the cancel.
    fn state(&self) -> (Dec, Dec) {
        let last = self.between.iter().rev().find(|e| e.event.kind == OrderEventKind::Amend).copied();
        let e = last.unwrap_or(self.new);
        (e.event.price.value(), e.event.qty.value())
    }
    fn filled(&self) -> Decimal {
        self.between
            .iter()
            .filter(|e| e.event.kind == OrderEventKind::Fill)
            .map(|e| e.event.fill_qty.map(|q| q.value().inner()).unwrap_or_default())
            .sum()
    }
    fn quick_cancel(&self, p: &SurveillanceParams) -> Option<Time> {
        self.cancel.map(|c| c.time).filter(|c| c - self.new.time <= p.layer_cancel_us)
    }
}

fn orders_of<'a>(events: &[&'a OrderFact]) -> Vec<Order<'a>> {
    let mut orders = Vec::new();
    let ids: BTreeSet<&str> = events.iter().map(|e| e.event.order_id.as_str()).collect();
    for id in ids {
        let own: Vec<&OrderFact> = events.iter().copied().filter(|e| e.event.order_id == id).collect();
        let Some(new) = own.iter().copied().filter(|e| e.event.kind == OrderEventKind::New).min_by_key(|e| at(e))
        else {
            continue;
        };
        let cancel = own
            .iter()
            .copied()
            .filter(|e| e.event.kind == OrderEventKind::Cancel && at(e) > at(new))
            .min_by_key(|e| at(e));
        let before_cancel = |e: &&OrderFact| cancel.is_none_or(|c| at(e) < at(c));
        let mut between: Vec<&OrderFact> =
            own.iter().copied().filter(|e| at(e) > at(new)).filter(before_cancel).collect();
        between.sort_by_key(|e| at(e));
        orders.push(Order { new, cancel, between });
    }
    orders.sort_by(|a, b| a.placed().cmp(&b.placed()).then_with(|| a.id().cmp(b.id())));
    orders
}

/// The earliest fill event of the key on `side` whose time satisfies `when`.
fn first_fill<'a>(events: &[&'a OrderFact], side: Side, when: impl Fn(Time) -> bool) -> Option<&'a OrderFact> {
    events
        .iter()
        .copied()
        .filter(|e| e.event.kind == OrderEventKind::Fill && e.event.side == side && when(e.time))
        .min_by_key(|e| at(e))
}

fn spoofing(key: &OrderKey, events: &[&OrderFact], p: &SurveillanceParams) -> Vec<(Alert, Time)> {
    let mut alerts = Vec::new();
    for order in orders_of(events) {
        let Some(cancel) = order.cancel else { continue };
        let (price, qty) = order.state();
        let lifetime = cancel.time - order.new.time;
        let notional = price.inner() * qty.inner();
        let fill_ratio = order.filled() / qty.inner();
        let side = order.new.event.side;
        let fill = first_fill(events, opposite(side), |t| t.abs_diff(cancel.time) <= p.spoof_window_us);
        let placed = order.new.time;
        let baseline: Vec<Decimal> = events
            .iter()
            .filter(|e| e.event.kind == OrderEventKind::New && e.event.order_id != order.id())
            .filter(|e| e.time < placed && e.time + p.spoof_baseline_us >= placed)
            .map(|e| e.event.qty.value().inner())
            .collect();
        let mean = (!baseline.is_empty())
            .then(|| baseline.iter().copied().sum::<Decimal>() / Decimal::from(baseline.len() as u64));
        let big = match mean {
            None => true,
            Some(_) => {
                qty.inner() * Decimal::from(baseline.len() as u64)
                    >= p.spoof_size_multiple.inner() * baseline.iter().copied().sum::<Decimal>()
            }
        };
        let Some(fill) = fill else { continue };
        if lifetime > p.spoof_max_lifetime_us
            || Dec::new(notional) < p.spoof_min_notional
            || fill_ratio > p.spoof_max_fill_ratio.inner()
            || !big
        {
            continue;
        }
        let (venue, account, symbol) = key.clone();
        let alert = Alert {
            alert_id: Alert::id_of(Pattern::Spoofing, venue, &account, &symbol, order.id()),
            pattern: Pattern::Spoofing,
            severity: Severity::High,
            venue,
            account,
            symbol,
            first_us: placed,
            last_us: cancel.time.max(fill.time),
            evidence: vec![CompactString::from(order.id()), fill.event.order_id.clone()],
            details: AlertDetails::Spoofing {
                notional: Dec::new(notional),
                qty,
                baseline_mean_qty: mean.map(Dec::new),
                baseline_orders: baseline.len() as u64,
                lifetime_ms: millis(lifetime),
                fill_ratio: Dec::new(fill_ratio),
                cancel_us: cancel.time,
                fill_us: fill.time,
            },
        };
        alerts.push((alert, cancel.time + p.spoof_window_us + 1));
    }
    alerts
}

fn layering(key: &OrderKey, events: &[&OrderFact], p: &SurveillanceParams) -> Vec<(Alert, Time)> {
    let orders = orders_of(events);
    // The window from `o` on: the same-side orders placed in it and the first opposite fill.
    let window = |o: &Order| -> (Vec<usize>, Option<&OrderFact>) {
        let side = o.new.event.side;
        let members = (0..orders.len())
            .filter(|&j| orders[j].new.event.side == side)
            .filter(|&j| orders[j].placed() >= o.placed() && orders[j].new.time <= o.new.time + p.layer_window_us)
            .collect();
        let fill = first_fill(events, opposite(side), |t| t >= o.new.time && t <= o.new.time + p.layer_window_us);
        (members, fill)
    };
    let qualifies = |o: &Order| -> bool {
        let (members, fill) = window(o);
        let levels: BTreeSet<Dec> = members.iter().map(|&j| orders[j].new.event.price.value()).collect();
        let cancelled = members.iter().filter(|&&j| orders[j].quick_cancel(p).is_some()).count();
        members.len() as u64 >= p.layer_min_orders
            && levels.len() as u64 >= p.layer_min_levels
            && Decimal::from(cancelled as u64) >= p.layer_min_cancel_ratio.inner() * Decimal::from(members.len() as u64)
            && fill.is_some()
    };
    let mut alerts = Vec::new();
    for o in &orders {
        if !qualifies(o) {
            continue;
        }
        let earlier = orders.iter().any(|q| {
            q.new.event.side == o.new.event.side
                && q.placed() < o.placed()
                && q.new.time + p.layer_window_us >= o.new.time
                && qualifies(q)
        });
        if earlier {
            continue;
        }
        let (members, fill) = window(o);
        let Some(fill) = fill else { continue };
        let levels: BTreeSet<Dec> = members.iter().map(|&j| orders[j].new.event.price.value()).collect();
        let cancelled = members.iter().filter(|&&j| orders[j].quick_cancel(p).is_some()).count() as u64;
        let mut last_us = fill.time;
        for &j in &members {
            last_us = last_us.max(orders[j].new.time).max(orders[j].quick_cancel(p).unwrap_or(0));
        }
        let mut evidence: Vec<CompactString> = members.iter().map(|&j| CompactString::from(orders[j].id())).collect();
        evidence.push(fill.event.order_id.clone());
        let (venue, account, symbol) = key.clone();
        let count = members.len() as u64;
        let alert = Alert {
            alert_id: Alert::id_of(Pattern::Layering, venue, &account, &symbol, o.id()),
            pattern: Pattern::Layering,
            severity: Severity::High,
            venue,
            account,
            symbol,
            first_us: o.new.time,
            last_us,
            evidence,
            details: AlertDetails::Layering {
                orders: count,
                levels: levels.len() as u64,
                cancelled,
                cancel_ratio: Dec::new(Decimal::from(cancelled) / Decimal::from(count)),
                fill_us: fill.time,
            },
        };
        alerts.push((alert, o.new.time + p.layer_window_us + p.layer_cancel_us + 1));
    }
    alerts
}

fn aggressor_account(t: &TradeFact) -> Option<&CompactString> {
    match t.trade.aggressor {
        Side::Buy => t.trade.buyer.as_ref(),
        Side::Sell => t.trade.seller.as_ref(),
    }
}

fn ignition(key: &(Venue, Asset), trades: &[&TradeFact], p: &SurveillanceParams) -> Vec<(Alert, Time)> {
    let tat = |t: &TradeFact| (t.time, t.seq);
    // The burst from trade `a` on: own trades in the window, volumes, move, reversal.
    let burst = |a: &TradeFact| {
        let account = aggressor_account(a)?;
        let side = a.trade.aggressor;
        let window: Vec<&TradeFact> =
            trades.iter().copied().filter(|t| tat(t) >= tat(a) && t.time <= a.time + p.ignition_window_us).collect();
        let own: Vec<&TradeFact> = window
            .iter()
            .copied()
            .filter(|t| t.trade.aggressor == side && aggressor_account(t) == Some(account))
            .collect();
        let volume: Decimal = window.iter().map(|t| t.trade.qty.value().inner()).sum();
        let account_volume: Decimal = own.iter().map(|t| t.trade.qty.value().inner()).sum();
        let start = a.trade.price.value().inner();
        let last = own.iter().max_by_key(|t| tat(t)).map(|t| t.trade.price.value().inner()).unwrap_or(start);
        let moved = if side == Side::Buy { last - start } else { start - last };
        let move_bps = moved * Decimal::from(10_000u64) / start;
        let reversal = trades
            .iter()
            .copied()
            .filter(|t| tat(t) > tat(a) && t.time <= a.time + p.ignition_window_us + p.ignition_reversal_us)
            .filter(|t| match side {
                Side::Buy => t.trade.seller.as_ref() == Some(account),
                Side::Sell => t.trade.buyer.as_ref() == Some(account),
            })
            .min_by_key(|t| tat(t));
        let qualifies = account_volume >= p.ignition_min_share.inner() * volume
            && move_bps >= p.ignition_min_move_bps.inner()
            && reversal.is_some();
        Some((account.clone(), side, own, account_volume, volume, move_bps, reversal, qualifies))
    };
    let mut alerts = Vec::new();
    for a in trades {
        let Some((account, side, own, account_volume, volume, move_bps, Some(reversal), true)) = burst(a) else {
            continue;
        };
        let earlier = trades.iter().any(|q| {
            tat(q) < tat(a)
                && q.time + p.ignition_window_us >= a.time
                && q.trade.aggressor == side
                && aggressor_account(q) == Some(&account)
                && burst(q).is_some_and(|b| b.7)
        });
        if earlier {
            continue;
        }
        let (venue, symbol) = key.clone();
        let last_own = own.iter().map(|t| t.time).max().unwrap_or(a.time);
        let mut evidence: Vec<CompactString> = own.iter().map(|t| t.trade.trade_id.clone()).collect();
        evidence.push(reversal.trade.trade_id.clone());
        let alert = Alert {
            alert_id: Alert::id_of(Pattern::MomentumIgnition, venue, &account, &symbol, &a.trade.trade_id),
            pattern: Pattern::MomentumIgnition,
            severity: Severity::High,
            venue,
            account,
            symbol,
            first_us: a.time,
            last_us: last_own.max(reversal.time),
            evidence,
            details: AlertDetails::MomentumIgnition {
                side,
                account_volume: Dec::new(account_volume),
                volume: Dec::new(volume),
                share: Dec::new(account_volume / volume),
                move_bps: Dec::new(move_bps),
                reversal_us: reversal.time,
            },
        };
        alerts.push((alert, a.time + p.ignition_window_us + p.ignition_reversal_us + 1));
    }
    alerts
}

fn wash(t: &TradeFact, groups: &AccountGroups) -> Option<(Alert, Time)> {
    let (buyer, seller) = (t.trade.buyer.as_ref()?, t.trade.seller.as_ref()?);
    let group = if buyer == seller {
        None
    } else {
        let common =
            groups.groups_of.get(buyer)?.iter().filter(|g| groups.groups_of.get(seller).is_some_and(|s| s.contains(g)));
        Some(common.min()?.clone())
    };
    let alert = Alert {
        alert_id: Alert::id_of(Pattern::WashTrading, t.trade.venue, buyer, &t.trade.asset, &t.trade.trade_id),
        pattern: Pattern::WashTrading,
        severity: if group.is_none() { Severity::High } else { Severity::Medium },
        venue: t.trade.venue,
        account: buyer.clone(),
        symbol: t.trade.asset.clone(),
        first_us: t.time,
        last_us: t.time,
        evidence: vec![t.trade.trade_id.clone()],
        details: AlertDetails::WashTrading {
            buyer: buyer.clone(),
            seller: seller.clone(),
            group,
            price: t.trade.price.value(),
            qty: t.trade.qty.value(),
        },
    };
    Some((alert, t.time + 1))
}

/// Every pattern's alerts over all of `orders` and `trades`, with when each episode settles.
pub fn base_alerts(
    orders: &[OrderFact],
    trades: &[TradeFact],
    p: &SurveillanceParams,
    groups: &AccountGroups,
) -> Vec<(Alert, Time)> {
    let mut by_key: BTreeMap<OrderKey, Vec<&OrderFact>> = BTreeMap::new();
    for o in orders {
        by_key.entry(key_of(o)).or_default().push(o);
    }
    let mut alerts = Vec::new();
    for (key, events) in &by_key {
        alerts.extend(spoofing(key, events, p));
        alerts.extend(layering(key, events, p));
    }
    let mut by_symbol: BTreeMap<(Venue, Asset), Vec<&TradeFact>> = BTreeMap::new();
    for t in trades {
        by_symbol.entry((t.trade.venue, t.trade.asset.clone())).or_default().push(t);
    }
    for (key, list) in &by_symbol {
        alerts.extend(ignition(key, list, p));
    }
    alerts.extend(trades.iter().filter_map(|t| wash(t, groups)));
    alerts
}

/// The escalations among `alerts`, with when each settles.
pub fn escalations(alerts: &[Alert], p: &SurveillanceParams) -> Vec<(Alert, Time)> {
    let mut found = Vec::new();
    for a in alerts {
        let mut counted: Vec<&Alert> = alerts
            .iter()
            .filter(|b| b.venue == a.venue && b.account == a.account)
            .filter(|b| (b.first_us, &b.alert_id) <= (a.first_us, &a.alert_id))
            .filter(|b| b.first_us + p.critical_window_us >= a.first_us)
            .collect();
        if counted.len() as u64 != p.critical_count {
            continue;
        }
        counted.sort_by(|x, y| (x.first_us, &x.alert_id).cmp(&(y.first_us, &y.alert_id)));
        let alert = Alert {
            alert_id: Alert::id_of(Pattern::RepeatedManipulation, a.venue, &a.account, &a.symbol, &a.alert_id),
            pattern: Pattern::RepeatedManipulation,
            severity: Severity::Critical,
            venue: a.venue,
            account: a.account.clone(),
            symbol: a.symbol.clone(),
            first_us: counted.iter().map(|b| b.first_us).min().unwrap_or(a.first_us),
            last_us: counted.iter().map(|b| b.last_us).max().unwrap_or(a.last_us),
            evidence: counted.iter().map(|b| b.alert_id.clone()).collect(),
            details: AlertDetails::RepeatedManipulation {
                alerts: counted.len() as u64,
                window_ms: p.critical_window_us / 1_000,
            },
        };
        let settle_span = (p.spoof_max_lifetime_us + p.spoof_window_us + 1)
            .max(p.layer_window_us + p.layer_cancel_us + 1)
            .max(p.ignition_window_us + p.ignition_reversal_us + 1);
        found.push((alert, a.first_us + settle_span + 1));
    }
    found
}

/// A recorded history: inputs with their logical times, and the parameters and groups in force
/// from each time on (the first entries at or before the first input).
pub struct History {
    /// Every order event.
    pub orders: Vec<OrderFact>,
    /// Every trade.
    pub trades: Vec<TradeFact>,
    /// Parameters from each time on, in time order.
    pub params: Vec<(Time, SurveillanceParams)>,
    /// Account groups from each time on, in time order.
    pub groups: Vec<(Time, AccountGroups)>,
}

impl History {
    fn in_force<T: Clone>(list: &[(Time, T)], time: Time) -> Option<T> {
        list.iter().rev().find(|(from, _)| *from <= time).map(|(_, v)| v.clone())
    }

    /// Every time at which an input or a parameter arrived, ascending.
    pub fn times(&self) -> Vec<Time> {
        let mut times: BTreeSet<Time> = self.orders.iter().map(|o| o.time).collect();
        times.extend(self.trades.iter().map(|t| t.time));
        times.extend(self.params.iter().map(|(t, _)| *t));
        times.extend(self.groups.iter().map(|(t, _)| *t));
        times.into_iter().collect()
    }

    /// The definitions evaluated on everything that arrived up to `time`.
    fn base_now(&self, time: Time) -> Vec<(Alert, Time)> {
        let (Some(p), Some(g)) = (Self::in_force(&self.params, time), Self::in_force(&self.groups, time)) else {
            return Vec::new();
        };
        let orders: Vec<OrderFact> = self.orders.iter().filter(|o| o.time <= time).cloned().collect();
        let trades: Vec<TradeFact> = self.trades.iter().filter(|t| t.time <= time).cloned().collect();
        base_alerts(&orders, &trades, &p, &g)
    }

    /// The alerts at every input time and at `end`: the pattern alerts and the escalations, each
    /// alert as it was just before its episode settled.
    pub fn alerts_at_times(&self, end: Time) -> BTreeMap<Time, BTreeSet<Alert>> {
        let mut checks = self.times();
        checks.push(end);
        // The unfrozen definitions change only when something arrives: evaluate them once per time.
        let times = self.times();
        let base_now: BTreeMap<Time, Vec<(Alert, Time)>> = times.iter().map(|t| (*t, self.base_now(*t))).collect();
        let base = |t: Time| freeze(&base_now, t);
        let critical_now: BTreeMap<Time, Vec<(Alert, Time)>> = times
            .iter()
            .map(|t| {
                let found = match Self::in_force(&self.params, *t) {
                    Some(p) => escalations(&base(*t).into_iter().collect::<Vec<_>>(), &p),
                    None => Vec::new(),
                };
                (*t, found)
            })
            .collect();
        checks.into_iter().map(|t| (t, base(t).into_iter().chain(freeze(&critical_now, t)).collect())).collect()
    }
}

/// The collection at `time` of alerts that follow `now` (the unfrozen definition at each input
/// time) until their settle time and then keep their last state.
fn freeze(now: &BTreeMap<Time, Vec<(Alert, Time)>>, time: Time) -> BTreeSet<Alert> {
    let as_of = |t: Time| now.range(..=t).next_back().map(|(_, v)| v.as_slice()).unwrap_or(&[]);
    let mut out = BTreeSet::new();
    for (_, alerts) in now.range(..=time) {
        for (alert, settle) in alerts {
            if as_of(time.min(settle - 1)).iter().any(|(a, t)| a == alert && t == settle) {
                out.insert(alert.clone());
            }
        }
    }
    out
}
