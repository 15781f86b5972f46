//! One evaluation of the gate: from the facts in force at a time to the next state. Pure; the
//! gate's reduce calls it whenever a fact changes.
//!
//! Order of work: open arbitrages first (unwind at the leg deadline, close when they stop
//! qualifying, else hold), then the candidates in rank order against the exposure that remains,
//! each accepted one counting toward the next. The decisions are read off the states and, for the
//! candidates left out, off the limits after this time's states (see `rejections`): the reduce
//! itself only answers which arbitrages are open.

use std::collections::{BTreeMap, BTreeSet};

use nexus_model::market::Side;
use nexus_model::records::ArbId;
use nexus_model::{Dec, Venue};

use super::facts::{ArbState, Candidate, EndedArb, Ending, GateFact, GateOut, OpenArb};
use super::limits::{Exposure, Limits};
use crate::Time;

/// The facts of one evaluation, sorted out.
struct View<'a> {
    limits: Limits,
    now: Time,
    candidates: BTreeMap<&'a ArbId, &'a Candidate>,
    open: Vec<&'a OpenArb>,
    ended: Vec<&'a EndedArb>,
    /// Filled size per (arbitrage, episode, leg venue).
    filled: BTreeMap<(&'a ArbId, Time, Venue), Dec>,
    due: BTreeSet<(&'a ArbId, Time)>,
}

impl<'a> View<'a> {
    /// Sorts the facts out; `None` before the parameters (or any clock) arrive.
    fn of(facts: &[(&'a GateFact, isize)]) -> Option<View<'a>> {
        let limits = Limits::of(facts)?;
        let mut now = None;
        let mut candidates = BTreeMap::new();
        let (mut open, mut ended) = (Vec::new(), Vec::new());
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
                GateFact::Now(t) => now = Some(*t),
                GateFact::Candidate(c) => {
                    candidates.insert(&c.arb, c);
                }
                GateFact::State(ArbState::Open(o)) => open.push(o),
                GateFact::State(ArbState::Ended(e)) => ended.push(e),
                GateFact::Due { arb, opened_us } => {
                    due.insert((arb, *opened_us));
                }
                GateFact::Params(_)
                | GateFact::Halt(_)
                | GateFact::Critical { .. }
                | GateFact::VarOver
                | GateFact::LegFill(_)
                | GateFact::FillChange { .. } => {}
            }
        }
        Some(View { limits, now: now?, candidates, open, ended, filled, due })
    }

    fn filled(&self, open: &OpenArb, venue: Venue) -> Dec {
        self.filled.get(&(&open.arb, open.opened_us, venue)).copied().unwrap_or(Dec::ZERO)
    }
}

/// The gate's next state from the facts in force.
pub fn decide(facts: &[(&GateFact, isize)], output: &mut Vec<(GateOut, isize)>) {
    let Some(view) = View::of(facts) else { return };
    let p = &view.limits.params;
    let mut states: Vec<ArbState> = Vec::new();
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
            }
            Some(ending) => {
                let blocks = ending != Ending::Close && candidate.is_some_and(|c| c.enters(p));
                if !blocks {
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
        }
    }

    // Candidates in rank order, each accepted one counting toward the limits of the next (none
    // can be once `max_open` arbitrages are open).
    if exposure.open() < p.max_open {
        let mut ranked: Vec<&Candidate> =
            view.candidates.values().copied().filter(|c| c.enters(p) && !taken.contains(&c.arb)).collect();
        ranked.sort_by(|a, b| a.rank_key().cmp(&b.rank_key()));
        for candidate in ranked {
            let Some(qty) = candidate.qty.filter(|_| view.limits.passes(candidate, &exposure)) else { continue };
            exposure.add(&candidate.arb, candidate.notional);
            states.push(ArbState::Open(OpenArb {
                arb: candidate.arb.clone(),
                account: p.account.clone(),
                opened_us: view.now,
                due_us: view.now.saturating_add(p.leg_timeout_us),
                notional: candidate.notional,
                qty,
            }));
            if exposure.open() >= p.max_open {
                break;
            }
        }
    }

    output.extend(states.into_iter().map(|s| (GateOut::State(s), 1isize)));
}
