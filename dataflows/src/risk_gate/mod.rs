//! The risk gate: from scored opportunities to decisions and two-legged orders (DESIGN 5.5).
//!
//! ```text
//! opportunities ── with params ──┐
//! books (depth) ─────────────────┼─ reduce per asset: Sizing ─► candidates ─┐
//! reference prices ──────────────┘                                          │
//! halts, latest critical alerts, VaR over limit, params, fill changes ──────┤ (paced by deadlines)
//!   ┌─ deadlines (fed back `lead` early, `lead` later) ─► due ──────────────┤
//!   │                                    latest fact time ─► now ───────────┤
//!   └── open states ◄── reduce_core: Gate (reads its own output) ◄──────────┘
//!            ├─ appearances of states ─► orders
//!            ├─ the state's own decision (accepted, or leg_timeout) ─────────────────┐
//!            └─ with the limits: RejectionContext ─┐                                 ├─► decisions
//! candidates ─ with the context: rejected with reasons (if they could be entered) ┘─┘
//! ```
//!
//! Which arbitrages are open depends on earlier decisions. The `Gate` reduce reads its own output
//! as it stood just before each time (differential's `reduce_core` hands it over), so its state and
//! the fills of its open legs need no feedback loop and a whole round of logical times is evaluated
//! in one pass. Only leg deadlines come back around: an open arbitrage's deadline is scheduled
//! `lead` before it is due and fed back `lead` later, so the loop holds the gate back by `lead` of
//! logical time rather than one step per time. `lead` is at most the smallest leg timeout the gate
//! will see ([`deadline_lead`]). Orders are the appearances of states: an arbitrage that appears
//! open sends both open legs, one that appears closed both close legs, one that appears unwound its
//! filled leg's reverse. They are never retracted. Candidates are all sized for one account, so the
//! gate itself is a single reduce, and it only decides which arbitrages are open: the `decisions`
//! are read off its states, and each candidate left out is rejected, with the checks it fails,
//! against one `RejectionContext` (limits, exposure and taken arbitrages after the time's states),
//! so a rejection is recomputed when its candidate or the context changes rather than by the
//! gate at every logical time.

mod decide;
mod facts;
mod limits;
pub mod oracle;
mod orders;
mod params;
mod rejections;
mod sizing;
mod step;

use differential_dataflow::operators::iterate::VecVariable;
use differential_dataflow::trace::implementations::{ValBuilder, ValSpine};
use differential_dataflow::{AsCollection, VecCollection};
use nexus_model::market::{BookTop, Fill};
use nexus_model::records::{Alert, Decision, OrderIntent, Severity, VarFigures};
use nexus_model::{Asset, Venue};
use nexus_operators::{delay_until, latest_by_key, pace, with_params};
use timely::dataflow::operators::vec::Map;

pub use decide::decide;
pub use facts::{ArbState, Candidate, EndedArb, Ending, GateFact, GateOut, HaltState, LegFill, OpenArb};
pub use orders::orders_of;
pub use params::GateParams;
pub use sizing::{OppTerms, SizingFact, size};
pub use step::step;

use crate::Time;
use crate::opportunities::BookFigures;
use crate::var::PriceTick;
use rejections::{RejectionContext, decision_of_state, rejection};

/// What the gate reads.
pub struct GateInputs<'s> {
    /// Scored opportunities (DESIGN 5.2).
    pub opportunities: VecCollection<'s, Time, nexus_model::records::Opportunity>,
    /// The latest top of book per (venue, asset).
    pub books: VecCollection<'s, Time, ((Venue, Asset), BookTop)>,
    /// The latest reference price per asset.
    pub prices: VecCollection<'s, Time, (Asset, PriceTick)>,
    /// Our fills.
    pub fills: VecCollection<'s, Time, Fill>,
    /// VaR per account (DESIGN 5.3).
    pub var: VecCollection<'s, Time, VarFigures>,
    /// Surveillance alerts (DESIGN 5.4): the critical ones halt their account.
    pub alerts: VecCollection<'s, Time, Alert>,
    /// The latest `control.halt` per (scope, target).
    pub halts: VecCollection<'s, Time, HaltState>,
    /// Exactly one [`GateParams`] at any time.
    pub params: VecCollection<'s, Time, GateParams>,
    /// How early leg deadlines are fed back: at most every leg timeout the run will see
    /// (see [`deadline_lead`]).
    pub lead_us: Time,
}

/// The longest lead that leg deadlines may be fed back with.
pub const MAX_LEAD_US: Time = 1_000_000;

/// The deadline lead for a run whose leg timeouts are never below `leg_timeout_us`: that timeout,
/// at most a second, at least a microsecond. A longer lead lets the gate run further ahead of its
/// own deadlines; it can be no longer than a leg timeout, or a deadline would be due before its
/// arbitrage opened.
pub fn deadline_lead(leg_timeout_us: Time) -> Time {
    leg_timeout_us.clamp(1, MAX_LEAD_US)
}

/// The gate's outputs.
pub struct Gate<'s> {
    /// One decision per candidate and per open arbitrage.
    pub decisions: VecCollection<'s, Time, Decision>,
    /// Every order intent, inserted when sent and never retracted.
    pub orders: VecCollection<'s, Time, OrderIntent>,
}

/// The risk gate.
pub fn risk_gate<'s>(inputs: GateInputs<'s>) -> Gate<'s> {
    let GateInputs { opportunities, books, prices, fills, var, alerts, halts, params, lead_us } = inputs;
    let scope = params.inner.scope();
    let lead = lead_us.max(1);

    // Candidates: opportunities at or above the lower threshold, sized per asset from the books'
    // depth and the reference price.
    let terms =
        with_params(opportunities, params.clone(), OppTerms::of).map(|t| (t.arb.symbol.clone(), SizingFact::Opp(t)));
    let depths = books.flat_map(|((venue, asset), book)| {
        BookFigures::of(&book).map(|figures| (asset, SizingFact::Depth(venue, figures.depth)))
    });
    let price_facts = prices.map(|(asset, tick)| (asset, SizingFact::Price(tick.price)));
    let candidates = terms
        .concat(depths)
        .concat(price_facts)
        .reduce_named("Sizing", |_asset, facts, output| {
            output.extend(sizing::size_all(facts).into_iter().map(|c| (c, 1isize)));
        })
        .map(|(_asset, candidate)| candidate);

    // Limits that come from outside: halts, critical alerts, VaR over the limit, the parameters.
    let halt_facts = halts.map(GateFact::Halt);
    // Only each account's latest critical alert reaches the gate: an alert halts until a lift that
    // comes after it, so the latest decides. Alerts are never retracted, so without this the gate
    // would walk every critical alert ever raised at every logical time.
    let critical = alerts
        .filter(|a| a.severity == Severity::Critical)
        .map(|a| (a.account, (a.last_us, a.alert_id)))
        .reduce_named("LatestCritical", |_account, alerts, output| {
            if let Some((latest, _)) = alerts.iter().filter(|(_, count)| *count > 0).max_by(|a, b| a.0.cmp(b.0)) {
                output.push(((*latest).clone(), 1isize));
            }
        })
        .map(|(account, (last_us, alert_id))| GateFact::Critical { last_us, alert_id, account });
    let var_over = with_params(var, params.clone(), |v, p| {
        (v.account == p.account && v.var_hist_99 > p.max_var).then_some(GateFact::VarOver)
    });
    let params_facts = params.map(GateFact::Params);

    // Every change to our fills, present for one microsecond at its own time: the gate remembers
    // the fills of its open legs itself.
    let fill_changes = fills
        .inner
        .flat_map(|(fill, time, diff)| {
            let change = GateFact::FillChange {
                client_order_id: fill.client_order_id,
                fill_id: fill.fill_id,
                qty: fill.qty.value(),
                change: diff,
            };
            [(change.clone(), time, 1isize), (change, time.saturating_add(1), -1)]
        })
        .as_collection();

    // Leg deadlines, fed back: each is scheduled `lead` before it is due and arrives on time.
    let (variable, deadlines) = VecVariable::new(scope, lead);

    // Every fact, and the latest time any of them changed: the clock new arbitrages open at. The
    // facts from outside the loop wait until the deadlines have caught up with their time (see
    // `pace`).
    let limits = halt_facts.concat(critical).concat(var_over).concat(params_facts);
    let outside = candidates.clone().map(GateFact::Candidate).concat(limits.clone()).concat(fill_changes);
    let facts = pace(outside, deadlines.clone()).concat(deadlines);
    let now = latest_by_key(facts.inner.clone().map(|(_fact, time, _diff)| ((), Some(time), time)))
        .map(|((), time)| GateFact::Now(time));

    // The gate: one reduce over everything, for the one account it trades, reading its own output.
    let gate = facts
        .concat(now)
        .map(|fact| ((), fact))
        .arrange_by_key_named("Arrange: Gate")
        .reduce_core::<_, ValBuilder<(), GateOut, Time, isize>, ValSpine<(), GateOut, Time, isize>, _, _>(
            "Gate",
            |_unit, facts, current, changes| step(facts, current, changes),
            |buffer, unit, updates| {
                buffer.clear();
                buffer.extend(updates.drain(..).map(|(out, time, diff)| ((*unit, out), time, diff)));
            },
        )
        .as_collection(|_unit, out| out.clone());
    let next_state = gate.flat_map(|out| match out {
        GateOut::State(state) => Some(state),
        GateOut::LegFill(_) => None,
    });

    // Decisions: one per state that stands for an arbitrage (open, or blocked after its leg
    // deadline), and a rejection with its reasons for every other candidate that could be
    // entered, against the limits and the exposure after the time's states.
    let context = limits
        .concat(next_state.clone().map(GateFact::State))
        .map(|fact| ((), fact))
        .reduce_named("RejectionContext", |_unit, facts, output| {
            output.extend(RejectionContext::of(facts).map(|context| (context, 1isize)));
        })
        .map(|((), context)| context);
    let decisions = next_state
        .clone()
        .flat_map(|state| decision_of_state(&state))
        .concat(with_params(candidates, context, rejection));

    // Deadlines of the open arbitrages, `lead` early (never before the arbitrage opened).
    let due = next_state.clone().flat_map(move |s| match s {
        ArbState::Open(o) => Some((o.due_us.saturating_sub(lead).max(o.opened_us), o.arb, o.opened_us)),
        ArbState::Ended(_) => None,
    });
    variable.set(delay_until(due, |(early, _, _)| *early).map(|(_, arb, opened_us)| GateFact::Due { arb, opened_us }));

    // Orders: what each state sends when it appears.
    let orders = next_state
        .inner
        .flat_map(|(state, time, diff)| {
            let sent = if diff > 0 { orders_of(&state) } else { Vec::new() };
            sent.into_iter().map(move |order| (order, time, 1isize))
        })
        .as_collection();
    Gate { decisions, orders }
}
