//! The `decisions` stream, read off the gate's states and, for the candidates no state stands for,
//! off the limits after those states. Kept out of the gate's reduce: the reduce runs at every
//! logical time on one worker, while a candidate's decision changes only when the candidate or the
//! limits do, and is computed wherever the candidate lives.

use std::collections::BTreeSet;

use nexus_model::records::{ArbId, Decision};
use serde::{Deserialize, Serialize};

use super::facts::{ArbState, Candidate, GateFact};
use super::limits::{Exposure, Limits};

/// What a candidate left out is measured against at one time: the limits in force and the
/// arbitrages open after that time's decisions.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RejectionContext {
    /// Parameters, halts, critical alerts and VaR.
    limits: Limits,
    /// What the open arbitrages hold.
    exposure: Exposure,
    /// Arbitrages a state stands for: open, or ended by a leg deadline and blocking re-entry.
    taken: BTreeSet<ArbId>,
}

impl RejectionContext {
    /// The context among `facts`: the limits and the gate's states (those with a positive
    /// count); `None` before the parameters arrive.
    pub fn of(facts: &[(&GateFact, isize)]) -> Option<RejectionContext> {
        let limits = Limits::of(facts)?;
        let mut exposure = Exposure::default();
        let mut taken = BTreeSet::new();
        for (fact, count) in facts {
            match fact {
                GateFact::State(ArbState::Open(open)) if *count > 0 => {
                    exposure.add(&open.arb, open.notional);
                    taken.insert(open.arb.clone());
                }
                GateFact::State(ArbState::Ended(ended)) if *count > 0 && ended.blocks => {
                    taken.insert(ended.open.arb.clone());
                }
                _ => {}
            }
        }
        Some(RejectionContext { limits, exposure, taken })
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

/// The decision a state stands for: accepted while open, rejected by `leg_timeout` while an
/// arbitrage ended by its leg deadline blocks re-entry; none for one that ended otherwise.
pub fn decision_of_state(state: &ArbState) -> Option<Decision> {
    match state {
        ArbState::Open(open) => Some(decision(&open.arb, true, Vec::new())),
        ArbState::Ended(ended) if ended.blocks => {
            Some(decision(&ended.open.arb, false, vec!["leg_timeout".to_string()]))
        }
        ArbState::Ended(_) => None,
    }
}

/// The decision on a candidate that could be entered but that no state stands for: rejected, with
/// every check it fails against the limits and what is open after this time's decisions.
pub fn rejection(candidate: &Candidate, context: &RejectionContext) -> Option<Decision> {
    if !candidate.enters(&context.limits.params) || context.taken.contains(&candidate.arb) {
        return None;
    }
    let mut reasons = Vec::new();
    context.limits.failures(candidate, &context.exposure, |reason| reasons.push(reason.to_string()));
    Some(decision(&candidate.arb, false, reasons))
}
