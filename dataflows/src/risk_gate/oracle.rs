//! The risk gate recomputed from scratch: a plain sequential simulation of DESIGN 5.5 over the
//! input history, with no differential machinery. The oracle tests compare the dataflow with it at
//! every time.
//!
//! At every input time and every leg deadline, in time order, the whole input collection is
//! accumulated from the history and the gate takes one step from its previous state:
//! unwind or expire open arbitrages at their deadline, close those that no longer qualify, then
//! take candidates in rank order against the exposure that remains.

use std::collections::{BTreeMap, BTreeSet};

use compact_str::CompactString;
use nexus_model::control::HaltScope;
use nexus_model::market::{BookTop, Fill, Side};
use nexus_model::records::{
    Alert, ArbId, Decision, Opportunity, OrderAction, OrderIntent, OrderType, Severity, VarFigures,
};
use nexus_model::{Asset, Dec, Venue};
use serde::{Deserialize, Serialize};

use super::facts::HaltState;
use super::params::GateParams;
use crate::Time;

/// One input of the gate, as the tests record it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum GateInput {
    /// An opportunity.
    Opportunity(Opportunity),
    /// A venue's top of book.
    Book(BookTop),
    /// An asset's reference price.
    Price(Asset, Dec),
    /// One of our fills.
    Fill(Fill),
    /// An account's VaR.
    Var(VarFigures),
    /// A surveillance alert.
    Alert(Alert),
    /// The latest halt of a scope and target.
    Halt(HaltState),
    /// The parameters.
    Params(GateParams),
}

/// What the gate did, recomputed.
#[derive(Debug, Default)]
pub struct Replayed {
    /// The decisions in force after each evaluation time.
    pub decisions: BTreeMap<Time, BTreeSet<Decision>>,
    /// Every order sent, with its time.
    pub orders: Vec<(Time, OrderIntent)>,
}

impl Replayed {
    /// The decisions in force at `t`.
    pub fn decisions_at(&self, t: Time) -> BTreeSet<Decision> {
        self.decisions.range(..=t).next_back().map(|(_, d)| d.clone()).unwrap_or_default()
    }
}

/// An arbitrage the gate has opened (and not yet forgotten).
#[derive(Clone, Debug)]
struct Episode {
    opened_us: Time,
    due_us: Time,
    notional: Dec,
    qty: Dec,
    account: CompactString,
    /// Ended by its leg deadline: kept only to stop re-entry while it still qualifies.
    timed_out: bool,
}

fn two() -> Dec {
    Dec::from(2i64)
}

fn order(arb: &ArbId, e: &Episode, action: OrderAction, venue: Venue, side: Side, qty: Dec) -> OrderIntent {
    OrderIntent {
        client_order_id: OrderIntent::client_id(arb, e.opened_us, action, venue),
        arb_id: arb.to_string(),
        action,
        account: e.account.clone(),
        venue,
        symbol: arb.symbol.clone(),
        side,
        qty,
        order_type: OrderType::Market,
        reduce_only: action != OrderAction::Open,
    }
}

fn decision(arb: &ArbId, accepted: bool, reasons: Vec<String>) -> Decision {
    Decision {
        arb_id: arb.to_string(),
        symbol: arb.symbol.clone(),
        long_venue: arb.long_venue,
        short_venue: arb.short_venue,
        accepted,
        reasons,
    }
}

/// The inputs in force at one time.
struct Inputs {
    params: GateParams,
    opportunities: Vec<Opportunity>,
    depth: BTreeMap<(Venue, Asset), Dec>,
    price: BTreeMap<Asset, Dec>,
    fills: Vec<Fill>,
    var: Vec<VarFigures>,
    alerts: Vec<Alert>,
    halts: Vec<HaltState>,
}

impl Inputs {
    fn at(history: &[(GateInput, Time, isize)], t: Time) -> Option<Inputs> {
        let mut counts: BTreeMap<&GateInput, isize> = BTreeMap::new();
        for (input, time, diff) in history {
            if *time <= t {
                *counts.entry(input).or_insert(0) += diff;
            }
        }
        let mut inputs = Inputs {
            params: counts.keys().find_map(|i| match i {
                GateInput::Params(p) if counts[i] > 0 => Some(p.clone()),
                _ => None,
            })?,
            opportunities: Vec::new(),
            depth: BTreeMap::new(),
            price: BTreeMap::new(),
            fills: Vec::new(),
            var: Vec::new(),
            alerts: Vec::new(),
            halts: Vec::new(),
        };
        for (input, count) in counts {
            if count <= 0 {
                continue;
            }
            match input.clone() {
                GateInput::Opportunity(o) => inputs.opportunities.push(o),
                GateInput::Book(b) => {
                    let bid = b.bid.value().checked_mul(b.bid_qty.value());
                    let ask = b.ask.value().checked_mul(b.ask_qty.value());
                    if let (Some(bid), Some(ask)) = (bid, ask) {
                        inputs.depth.insert((b.venue, b.asset.clone()), if bid < ask { bid } else { ask });
                    }
                }
                GateInput::Price(asset, price) => {
                    inputs.price.insert(asset, price);
                }
                GateInput::Fill(f) => inputs.fills.push(f),
                GateInput::Var(v) => inputs.var.push(v),
                GateInput::Alert(a) => inputs.alerts.push(a),
                GateInput::Halt(h) => inputs.halts.push(h),
                GateInput::Params(_) => {}
            }
        }
        Some(inputs)
    }

    fn halted(&self, scope: HaltScope, target: &str) -> bool {
        self.halts.iter().any(|h| h.halted && h.scope == scope && (scope == HaltScope::Global || h.target == target))
    }

    /// The halt reasons for `arb`.
    fn halts_of(&self, arb: &ArbId) -> Vec<String> {
        let account = self.params.account.as_str();
        let mut reasons = Vec::new();
        if self.halted(HaltScope::Global, "") {
            reasons.push("halt:global".to_string());
        }
        for venue in [arb.long_venue, arb.short_venue] {
            if self.halted(HaltScope::Venue, venue.name()) {
                reasons.push(format!("halt:venue:{venue}"));
            }
        }
        if self.halted(HaltScope::Symbol, arb.symbol.as_str()) {
            reasons.push(format!("halt:symbol:{}", arb.symbol.as_str()));
        }
        if self.halted(HaltScope::Account, account) {
            reasons.push(format!("halt:account:{account}"));
        }
        let lift = self
            .halts
            .iter()
            .filter(|h| !h.halted && h.scope == HaltScope::Account && h.target == account)
            .map(|h| h.since)
            .max();
        let latest = self
            .alerts
            .iter()
            .filter(|a| a.severity == Severity::Critical && a.account == account)
            .filter(|a| lift.is_none_or(|lift| a.last_us >= lift))
            .map(|a| (a.last_us, a.alert_id.clone()))
            .max();
        if let Some((_, id)) = latest {
            reasons.push(format!("halt:alert:{id}"));
        }
        reasons
    }

    fn var_over(&self) -> bool {
        self.var.iter().any(|v| v.account == self.params.account && v.var_hist_99 > self.params.max_var)
    }

    /// The opportunity of `arb`, if it is one now.
    fn opportunity(&self, arb: &ArbId) -> Option<&Opportunity> {
        self.opportunities
            .iter()
            .find(|o| o.symbol == arb.symbol && o.long_venue == arb.long_venue && o.short_venue == arb.short_venue)
    }

    fn enters(&self, o: &Opportunity) -> bool {
        o.uos >= self.params.min_uos && o.net_apr > Dec::ZERO
    }

    fn holds(&self, o: &Opportunity) -> bool {
        self.enters(o) || (o.uos >= self.params.exit_uos && o.net_apr > Dec::ZERO)
    }

    /// `(notional, qty)` of `arb`; qty `None` without a reference price.
    fn size(&self, arb: &ArbId) -> (Dec, Option<Dec>) {
        let p = &self.params;
        let depths: Vec<Dec> = [arb.long_venue, arb.short_venue]
            .iter()
            .filter_map(|v| self.depth.get(&(*v, arb.symbol.clone())).copied())
            .collect();
        let notional = match depths.iter().min() {
            None => p.max_notional,
            Some(depth) => {
                let share = depth.checked_mul(p.depth_fraction).unwrap_or(p.max_notional);
                if share < p.max_notional { share } else { p.max_notional }
            }
        };
        let qty = self
            .price
            .get(&arb.symbol)
            .and_then(|price| notional.checked_div(*price))
            .map(|q| q.truncate_to(p.qty_decimals));
        (notional, qty)
    }

    fn filled(&self, arb: &ArbId, e: &Episode, venue: Venue) -> Dec {
        let id = OrderIntent::client_id(arb, e.opened_us, OrderAction::Open, venue);
        self.fills
            .iter()
            .filter(|f| f.client_order_id == id)
            .fold(Dec::ZERO, |sum, f| sum.checked_add(f.qty.value()).unwrap_or(sum))
    }
}

/// Everything open: (arbitrage, notional) pairs.
fn failures(inputs: &Inputs, arb: &ArbId, notional: Dec, qty: Option<Dec>, open: &[(ArbId, Dec)]) -> Vec<String> {
    let p = &inputs.params;
    let mut reasons = inputs.halts_of(arb);
    match qty {
        None => reasons.push("no_price".to_string()),
        Some(q) if q <= Dec::ZERO => reasons.push("zero_qty".to_string()),
        Some(_) => {}
    }
    for venue in [arb.long_venue, arb.short_venue] {
        let on_venue = open
            .iter()
            .filter(|(a, _)| a.long_venue == venue || a.short_venue == venue)
            .fold(notional, |sum, (_, n)| sum.checked_add(*n).unwrap_or(Dec::MAX_INPUT));
        if on_venue > p.max_venue_exposure {
            reasons.push(format!("venue_exposure:{venue}"));
        }
    }
    let on_asset = open
        .iter()
        .filter(|(a, _)| a.symbol == arb.symbol)
        .fold(notional, |sum, (_, n)| sum.checked_add(*n).unwrap_or(Dec::MAX_INPUT));
    if on_asset.checked_mul(two()).unwrap_or(Dec::MAX_INPUT) > p.max_asset_exposure {
        reasons.push("asset_exposure".to_string());
    }
    if inputs.var_over() {
        reasons.push("var_limit".to_string());
    }
    if open.len() >= p.max_open {
        reasons.push("max_open".to_string());
    }
    reasons
}

/// Runs the gate from scratch over `history` up to `until`.
pub fn replay(history: &[(GateInput, Time, isize)], until: Time) -> Replayed {
    let mut replayed = Replayed::default();
    let mut episodes: BTreeMap<ArbId, Episode> = BTreeMap::new();
    let input_times: BTreeSet<Time> = history.iter().map(|(_, t, _)| *t).filter(|t| *t <= until).collect();
    let mut last = None;
    loop {
        // The next time: an input, or the first deadline of an open arbitrage after the last step.
        let after = |t: &Time| last.is_none_or(|l| *t > l);
        let next_input = input_times.iter().copied().find(after);
        let next_due =
            episodes.values().filter(|e| !e.timed_out).map(|e| e.due_us).filter(after).filter(|t| *t <= until).min();
        let Some(t) = [next_input, next_due].into_iter().flatten().min() else { break };
        last = Some(t);
        let Some(inputs) = Inputs::at(history, t) else { continue };
        let p = inputs.params.clone();
        let mut decisions = BTreeSet::new();
        let mut open: Vec<(ArbId, Dec)> = Vec::new();

        // Open arbitrages: deadline, then qualification.
        for (arb, e) in std::mem::take(&mut episodes) {
            let opportunity = inputs.opportunity(&arb);
            if e.timed_out {
                if opportunity.is_some_and(|o| inputs.enters(o)) {
                    decisions.insert(decision(&arb, false, vec!["leg_timeout".to_string()]));
                    episodes.insert(arb, e);
                }
                continue;
            }
            let (long, short) = (inputs.filled(&arb, &e, arb.long_venue), inputs.filled(&arb, &e, arb.short_venue));
            if t >= e.due_us && !(long > Dec::ZERO && short > Dec::ZERO) {
                if long > Dec::ZERO {
                    replayed.orders.push((t, order(&arb, &e, OrderAction::Unwind, arb.long_venue, Side::Sell, long)));
                } else if short > Dec::ZERO {
                    replayed.orders.push((t, order(&arb, &e, OrderAction::Unwind, arb.short_venue, Side::Buy, short)));
                }
                if opportunity.is_some_and(|o| inputs.enters(o)) {
                    decisions.insert(decision(&arb, false, vec!["leg_timeout".to_string()]));
                    episodes.insert(arb, Episode { timed_out: true, ..e });
                }
            } else if opportunity.is_some_and(|o| inputs.holds(o)) {
                decisions.insert(decision(&arb, true, Vec::new()));
                open.push((arb.clone(), e.notional));
                episodes.insert(arb, e);
            } else {
                replayed.orders.push((t, order(&arb, &e, OrderAction::Close, arb.long_venue, Side::Sell, e.qty)));
                replayed.orders.push((t, order(&arb, &e, OrderAction::Close, arb.short_venue, Side::Buy, e.qty)));
            }
        }

        // Candidates, best first.
        let mut candidates: Vec<&Opportunity> = inputs
            .opportunities
            .iter()
            .filter(|o| inputs.enters(o))
            .filter(|o| {
                let arb = ArbId { symbol: o.symbol.clone(), long_venue: o.long_venue, short_venue: o.short_venue };
                !episodes.contains_key(&arb)
            })
            .collect();
        candidates.sort_by(|a, b| {
            (b.uos, b.net_apr)
                .cmp(&(a.uos, a.net_apr))
                .then_with(|| (&a.symbol, a.long_venue, a.short_venue).cmp(&(&b.symbol, b.long_venue, b.short_venue)))
        });
        let mut rejected = Vec::new();
        for o in candidates {
            let arb = ArbId { symbol: o.symbol.clone(), long_venue: o.long_venue, short_venue: o.short_venue };
            let (notional, qty) = inputs.size(&arb);
            match qty {
                Some(qty) if failures(&inputs, &arb, notional, Some(qty), &open).is_empty() => {
                    let e = Episode {
                        opened_us: t,
                        due_us: t.saturating_add(p.leg_timeout_us),
                        notional,
                        qty,
                        account: p.account.clone(),
                        timed_out: false,
                    };
                    replayed.orders.push((t, order(&arb, &e, OrderAction::Open, arb.long_venue, Side::Buy, qty)));
                    replayed.orders.push((t, order(&arb, &e, OrderAction::Open, arb.short_venue, Side::Sell, qty)));
                    decisions.insert(decision(&arb, true, Vec::new()));
                    open.push((arb.clone(), notional));
                    episodes.insert(arb, e);
                }
                _ => rejected.push((arb, notional, qty)),
            }
        }
        for (arb, notional, qty) in rejected {
            let reasons = failures(&inputs, &arb, notional, qty, &open);
            decisions.insert(decision(&arb, false, reasons));
        }
        replayed.decisions.insert(t, decisions);
    }
    replayed
}
