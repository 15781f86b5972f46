//! One evaluation of the gate: from the facts in force at a time to the next state and the
//! decisions. Pure; the gate's reduce calls it whenever a fact changes.
//!
//! Order of work: open arbitrages first (unwind at the leg deadline, close when they stop
//! qualifying, else hold), then the candidates in rank order against the exposure that remains,
//! each accepted one counting toward the next. A rejected candidate's reasons are the checks it
//! fails against everything open once the time's decisions are made, so that re-evaluating one
//! microsecond later (when the new state is fed back) gives the same decisions.

use std::collections::{BTreeMap, BTreeSet};

use nexus_model::control::HaltScope;
use nexus_model::market::Side;
use nexus_model::records::{ArbId, Decision};
use nexus_model::{Asset, Dec, Venue};

use super::facts::{ArbState, Candidate, EndedArb, Ending, GateFact, GateOut, HaltState, OpenArb};
use super::params::GateParams;
use crate::Time;

/// The facts of one evaluation, sorted out.
struct View<'a> {
    params: &'a GateParams,
    now: Time,
    candidates: BTreeMap<&'a ArbId, &'a Candidate>,
    halts: Vec<&'a HaltState>,
    /// Critical alerts on the gate account: (latest evidence, alert id).
    critical: Vec<(Time, &'a str)>,
    var_over: bool,
    open: Vec<&'a OpenArb>,
    ended: Vec<&'a EndedArb>,
    /// Filled size per (arbitrage, episode, leg venue).
    filled: BTreeMap<(&'a ArbId, Time, Venue), Dec>,
    due: BTreeSet<(&'a ArbId, Time)>,
}

impl<'a> View<'a> {
    /// Sorts the facts out; `None` before the parameters (or any clock) arrive.
    fn of(facts: &[(&'a GateFact, isize)]) -> Option<View<'a>> {
        let (mut params, mut now, mut var_over) = (None, None, false);
        let mut candidates = BTreeMap::new();
        let (mut halts, mut critical, mut open, mut ended) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut filled: BTreeMap<(&ArbId, Time, Venue), Dec> = BTreeMap::new();
        let mut due = BTreeSet::new();
        for (fact, count) in facts {
            if let GateFact::LegFill(fill) = fact {
                let signed = fill.qty.checked_mul(Dec::from(*count as i64)).unwrap_or(Dec::ZERO);
                let sum = filled.entry((&fill.arb, fill.opened_us, fill.venue)).or_insert(Dec::ZERO);
                *sum = sum.checked_add(signed).unwrap_or(*sum);
                continue;
            }
            if *count <= 0 {
                continue;
            }
            match fact {
                GateFact::Params(p) => params = Some(p),
                GateFact::Now(t) => now = Some(*t),
                GateFact::Candidate(c) => {
                    candidates.insert(&c.arb, c);
                }
                GateFact::Halt(h) => halts.push(h),
                GateFact::Critical { last_us, alert_id, account } => critical.push((*last_us, alert_id, account)),
                GateFact::VarOver => var_over = true,
                GateFact::State(ArbState::Open(o)) => open.push(o),
                GateFact::State(ArbState::Ended(e)) => ended.push(e),
                GateFact::LegFill(_) | GateFact::FillChange { .. } => {}
                GateFact::Due { arb, opened_us } => {
                    due.insert((arb, *opened_us));
                }
            }
        }
        let params: &GateParams = params?;
        let critical = critical
            .into_iter()
            .filter(|(_, _, account)| **account == params.account)
            .map(|(last_us, id, _)| (last_us, id.as_str()))
            .collect();
        Some(View { params, now: now?, candidates, halts, critical, var_over, open, ended, filled, due })
    }

    fn filled(&self, open: &OpenArb, venue: Venue) -> Dec {
        self.filled.get(&(&open.arb, open.opened_us, venue)).copied().unwrap_or(Dec::ZERO)
    }

    /// The halts that stop `arb` from being entered, as reasons.
    fn halt_reasons(&self, arb: &ArbId) -> Vec<String> {
        let p = self.params;
        let mut reasons = Vec::new();
        let halted = |scope: HaltScope, target: &str| {
            self.halts
                .iter()
                .any(|h| h.halted && h.scope == scope && (scope == HaltScope::Global || h.target == target))
        };
        if halted(HaltScope::Global, "") {
            reasons.push("halt:global".to_string());
        }
        for venue in [arb.long_venue, arb.short_venue] {
            if halted(HaltScope::Venue, venue.name()) {
                reasons.push(format!("halt:venue:{}", venue.name()));
            }
        }
        if halted(HaltScope::Symbol, arb.symbol.as_str()) {
            reasons.push(format!("halt:symbol:{}", arb.symbol.as_str()));
        }
        if halted(HaltScope::Account, &p.account) {
            reasons.push(format!("halt:account:{}", p.account));
        }
        // A critical alert halts the account until a lift of the account that comes after it.
        let lifted_at = self
            .halts
            .iter()
            .filter(|h| !h.halted && h.scope == HaltScope::Account && h.target == p.account)
            .map(|h| h.since)
            .max();
        let standing = self.critical.iter().filter(|(last_us, _)| lifted_at.is_none_or(|lift| *last_us >= lift)).max();
        if let Some((_, alert_id)) = standing {
            reasons.push(format!("halt:alert:{alert_id}"));
        }
        reasons
    }

    /// Every check `candidate` fails against `exposure`, in a fixed order.
    fn failures(&self, candidate: &Candidate, exposure: &Exposure) -> Vec<String> {
        let p = self.params;
        let mut reasons = self.halt_reasons(&candidate.arb);
        match candidate.qty {
            None => reasons.push("no_price".to_string()),
            Some(qty) if !qty.is_positive() => reasons.push("zero_qty".to_string()),
            Some(_) => {}
        }
        for venue in [candidate.arb.long_venue, candidate.arb.short_venue] {
            if exposure.venue_after(venue, candidate.notional) > p.max_venue_exposure {
                reasons.push(format!("venue_exposure:{}", venue.name()));
            }
        }
        if exposure.asset_after(&candidate.arb.symbol, candidate.notional) > p.max_asset_exposure {
            reasons.push("asset_exposure".to_string());
        }
        if self.var_over {
            reasons.push("var_limit".to_string());
        }
        if exposure.open >= p.max_open {
            reasons.push("max_open".to_string());
        }
        reasons
    }
}

/// What the open arbitrages hold: notional per venue, per asset, and their number.
#[derive(Default)]
struct Exposure {
    venues: BTreeMap<Venue, Dec>,
    assets: BTreeMap<Asset, Dec>,
    open: usize,
}

impl Exposure {
    fn add(&mut self, arb: &ArbId, notional: Dec) {
        for venue in [arb.long_venue, arb.short_venue] {
            let sum = self.venues.entry(venue).or_insert(Dec::ZERO);
            *sum = sum.checked_add(notional).unwrap_or(Dec::MAX_INPUT);
        }
        let sum = self.assets.entry(arb.symbol.clone()).or_insert(Dec::ZERO);
        *sum = sum.checked_add(notional).unwrap_or(Dec::MAX_INPUT);
        self.open += 1;
    }

    /// The venue's exposure with one more leg of `notional`.
    fn venue_after(&self, venue: Venue, notional: Dec) -> Dec {
        let now = self.venues.get(&venue).copied().unwrap_or(Dec::ZERO);
        now.checked_add(notional).unwrap_or(Dec::MAX_INPUT)
    }

    /// The asset's gross exposure (twice the notional of its arbitrages) with one more of `notional`.
    fn asset_after(&self, asset: &Asset, notional: Dec) -> Dec {
        let now = self.assets.get(asset).copied().unwrap_or(Dec::ZERO);
        now.checked_add(notional).and_then(|sum| sum.checked_mul(Dec::from(2i64))).unwrap_or(Dec::MAX_INPUT)
    }
}

fn decision(arb: &ArbId, accepted: bool, reasons: Vec<String>) -> GateOut {
    GateOut::Decision(Decision {
        arb_id: arb.to_string(),
        symbol: arb.symbol.clone(),
        long_venue: arb.long_venue,
        short_venue: arb.short_venue,
        accepted,
        reasons,
    })
}

/// The gate's next state and decisions from the facts in force.
pub fn decide(facts: &[(&GateFact, isize)], output: &mut Vec<(GateOut, isize)>) {
    let Some(view) = View::of(facts) else { return };
    let p = view.params;
    let mut states: Vec<ArbState> = Vec::new();
    let mut decisions: Vec<GateOut> = Vec::new();
    let mut exposure = Exposure::default();
    // Arbitrages that may not be entered now: open, or ended by a leg deadline and still qualifying.
    let mut taken: BTreeSet<&ArbId> = BTreeSet::new();

    // Open arbitrages: unwind at the deadline, close when no longer qualifying, else hold.
    for open in &view.open {
        taken.insert(&open.arb);
        let candidate = view.candidates.get(&open.arb);
        let (long, short) = (view.filled(open, open.arb.long_venue), view.filled(open, open.arb.short_venue));
        let ending = if view.due.contains(&(&open.arb, open.opened_us)) && !(long.is_positive() && short.is_positive())
        {
            Some(if long.is_positive() {
                Ending::Unwind { venue: open.arb.long_venue, side: Side::Sell, qty: long }
            } else if short.is_positive() {
                Ending::Unwind { venue: open.arb.short_venue, side: Side::Buy, qty: short }
            } else {
                Ending::Expired
            })
        } else if !candidate.is_some_and(|c| c.holds(p)) {
            Some(Ending::Close)
        } else {
            None
        };
        match ending {
            None => {
                exposure.add(&open.arb, open.notional);
                states.push(ArbState::Open((*open).clone()));
                decisions.push(decision(&open.arb, true, Vec::new()));
            }
            Some(ending) => {
                let blocks = ending != Ending::Close && candidate.is_some_and(|c| c.enters(p));
                if blocks {
                    decisions.push(decision(&open.arb, false, vec!["leg_timeout".to_string()]));
                } else {
                    taken.remove(&open.arb);
                }
                states.push(ArbState::Ended(EndedArb { open: (*open).clone(), ending, blocks }));
            }
        }
    }
    // Ended arbitrages stay (blocking re-entry) while they still qualify for entry.
    for ended in &view.ended {
        let still = ended.blocks && view.candidates.get(&ended.open.arb).is_some_and(|c| c.enters(p));
        if still && taken.insert(&ended.open.arb) {
            states.push(ArbState::Ended((*ended).clone()));
            decisions.push(decision(&ended.open.arb, false, vec!["leg_timeout".to_string()]));
        }
    }

    // Candidates in rank order, each accepted one counting toward the limits of the next.
    let mut ranked: Vec<&Candidate> =
        view.candidates.values().copied().filter(|c| c.enters(p) && !taken.contains(&c.arb)).collect();
    ranked.sort_by(|a, b| a.rank_key().cmp(&b.rank_key()));
    let mut rejected = Vec::new();
    for candidate in ranked {
        let qty = match candidate.qty {
            Some(qty) if view.failures(candidate, &exposure).is_empty() => qty,
            _ => {
                rejected.push(candidate);
                continue;
            }
        };
        exposure.add(&candidate.arb, candidate.notional);
        states.push(ArbState::Open(OpenArb {
            arb: candidate.arb.clone(),
            account: p.account.clone(),
            opened_us: view.now,
            due_us: view.now.saturating_add(p.leg_timeout_us),
            notional: candidate.notional,
            qty,
        }));
        decisions.push(decision(&candidate.arb, true, Vec::new()));
    }
    // Reasons against everything open after this time's decisions.
    for candidate in rejected {
        decisions.push(decision(&candidate.arb, false, view.failures(candidate, &exposure)));
    }

    output.extend(states.into_iter().map(|s| (GateOut::State(s), 1isize)));
    output.extend(decisions.into_iter().map(|d| (d, 1isize)));
}
