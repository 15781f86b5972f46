//! One step of the gate's reduce: the facts in force at a time and what the gate output just
//! before it (its state) give the output at that time.
//!
//! The gate's state is its own output. Differential's `reduce_core` hands the logic the output as
//! it stands at the time being evaluated, before that time's changes: for a totally ordered time
//! that is the output of the previous evaluation, the state "one instant earlier". So the gate
//! reads its state without a feedback loop, and many logical times are evaluated in one go.

use nexus_model::records::{OrderAction, OrderIntent};

use super::decide::decide;
use super::facts::{GateFact, GateOut, LegFill, OpenArb};

/// The leg of `open` that `client_order_id` names, if any: the venue of its open order.
fn leg_of(open: &OpenArb, client_order_id: &str) -> Option<nexus_model::Venue> {
    [open.arb.long_venue, open.arb.short_venue]
        .into_iter()
        .find(|venue| OrderIntent::client_id(&open.arb, open.opened_us, OrderAction::Open, *venue) == client_order_id)
}

/// The fills among `changes` of the legs of `open`, with their signed multiplicity.
fn leg_fills(open: &[&OpenArb], changes: &[(&GateFact, isize)]) -> Vec<(LegFill, isize)> {
    let mut fills = Vec::new();
    for (fact, count) in changes {
        let GateFact::FillChange { client_order_id, fill_id, qty, change } = fact else { continue };
        for arb in open {
            if let Some(venue) = leg_of(arb, client_order_id) {
                let fill = LegFill {
                    arb: arb.arb.clone(),
                    opened_us: arb.opened_us,
                    venue,
                    fill_id: fill_id.clone(),
                    qty: *qty,
                };
                fills.push((fill, change * count));
            }
        }
    }
    fills
}

/// The gate at one time. `facts` are the inputs in force; `current` is the gate's output before
/// this time (state and leg fills); `changes` receives what turns `current` into the
/// output at this time.
///
/// - The previous state and the remembered leg fills join the facts, with the fills that arrive
///   now on the legs that were open before now.
/// - [`decide`] gives the next state.
/// - The leg fills are remembered while their arbitrage stays open, with the fills that arrive
///   now on any leg open after this time (an arbitrage opened now counts them from its next step,
///   as the definition's "fills in force" does).
pub fn step(facts: &[(&GateFact, isize)], current: &mut Vec<(GateOut, isize)>, changes: &mut Vec<(GateOut, isize)>) {
    let mut remembered: Vec<(GateFact, isize)> = Vec::new();
    for (out, count) in current.iter() {
        match out {
            GateOut::State(state) if *count > 0 => remembered.push((GateFact::State(state.clone()), *count)),
            GateOut::LegFill(fill) => remembered.push((GateFact::LegFill(fill.clone()), *count)),
            GateOut::State(_) => {}
        }
    }
    let open_before: Vec<&OpenArb> = remembered
        .iter()
        .filter_map(|(fact, _)| match fact {
            GateFact::State(state) => state.open(),
            _ => None,
        })
        .collect();
    let arriving: Vec<(GateFact, isize)> =
        leg_fills(&open_before, facts).into_iter().map(|(fill, count)| (GateFact::LegFill(fill), count)).collect();

    let mut all: Vec<(&GateFact, isize)> = facts.to_vec();
    all.extend(remembered.iter().chain(arriving.iter()).map(|(fact, count)| (fact, *count)));
    let mut next = Vec::new();
    decide(&all, &mut next);

    // Leg fills stay while their arbitrage is open.
    let open_after: Vec<&OpenArb> = next
        .iter()
        .filter_map(|(out, _)| match out {
            GateOut::State(state) => state.open(),
            _ => None,
        })
        .collect();
    let still_open = |fill: &LegFill| open_after.iter().any(|o| o.arb == fill.arb && o.opened_us == fill.opened_us);
    let mut kept: Vec<(GateOut, isize)> = remembered
        .iter()
        .filter_map(|(fact, count)| match fact {
            GateFact::LegFill(fill) if still_open(fill) => Some((GateOut::LegFill(fill.clone()), *count)),
            _ => None,
        })
        .collect();
    kept.extend(leg_fills(&open_after, facts).into_iter().map(|(fill, count)| (GateOut::LegFill(fill), count)));

    changes.extend(next);
    changes.extend(kept);
    changes.extend(current.drain(..).map(|(out, count)| (out, -count)));
    differential_dataflow::consolidation::consolidate(changes);
}
