//! The risk gate: from scored opportunities to decisions and two-legged orders (DESIGN 5.5).
//!
//! ```text
//! opportunities ── with params ──┐
//! books (depth) ─────────────────┼─ reduce per asset: Sizing ─► candidates ─┐
//! reference prices ──────────────┘                                          │
//! halts, critical alerts, VaR over limit, params ───────────────────────────┤
//!   ┌─ state (one microsecond later) ─┬─ legs ⋈ fills ─► leg fills ────────┤
//!   │                                 └─ delay to leg deadline ─► due ─────┤
//!   │                                        latest fact time ─► now ──────┤
//!   └──────────────────────── state ◄── reduce: Gate ◄─────────────────────┘ ─► decisions
//!                                 └─ appearances ─► orders
//! ```
//!
//! Which arbitrages are open depends on earlier decisions, so the gate's state is a differential
//! `Variable` fed back one microsecond later: the `Gate` reduce at time t reads the state of t - 1µs
//! and writes the state of t. Everything else is an ordinary collection. Re-reading its own output
//! one microsecond later changes nothing (the decisions are defined so that it does not), so the
//! loop settles at once and no output is dated after the input that caused it. Orders are the
//! appearances of states: an arbitrage that appears open sends both open legs, one that appears
//! closed both close legs, one that appears unwound its filled leg's reverse. They are never
//! retracted. Candidates are all sized for one account, so the gate itself is a single reduce.

mod decide;
mod facts;
pub mod oracle;
mod orders;
mod params;
mod sizing;

use compact_str::CompactString;
use differential_dataflow::operators::iterate::VecVariable;
use differential_dataflow::{AsCollection, VecCollection};
use nexus_model::market::{BookTop, Fill};
use nexus_model::records::{Alert, Decision, OrderIntent, Severity, VarFigures};
use nexus_model::{Asset, Venue};
use nexus_operators::{delay_until, latest_by_key, pace, with_params};
use timely::dataflow::operators::vec::Map;

pub use decide::decide;
pub use facts::{ArbState, Candidate, EndedArb, Ending, GateFact, GateOut, HaltState, OpenArb};
pub use orders::orders_of;
pub use params::GateParams;
pub use sizing::{OppTerms, SizingFact, size};

use crate::Time;
use crate::opportunities::BookFigures;
use crate::var::PriceTick;

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
    let GateInputs { opportunities, books, prices, fills, var, alerts, halts, params } = inputs;
    let scope = params.inner.scope();

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
        .map(|(_asset, candidate)| GateFact::Candidate(candidate));

    // Limits that come from outside: halts, critical alerts, VaR over the limit, the parameters.
    let halt_facts = halts.map(GateFact::Halt);
    let critical = alerts.filter(|a| a.severity == Severity::Critical).map(|a| GateFact::Critical {
        last_us: a.last_us,
        alert_id: a.alert_id,
        account: a.account,
    });
    let var_over = with_params(var, params.clone(), |v, p| {
        (v.account == p.account && v.var_hist_99 > p.max_var).then_some(GateFact::VarOver)
    });
    let params_facts = params.map(GateFact::Params);

    // The gate's own state, one microsecond late; its open legs' fills; their deadlines.
    let (variable, state) = VecVariable::new(scope, 1);
    let open = state.clone().flat_map(|s| match s {
        ArbState::Open(open) => Some(open),
        ArbState::Ended(_) => None,
    });
    let legs = open.clone().flat_map(|o| {
        [o.arb.long_venue, o.arb.short_venue].map(|venue| {
            let id = OrderIntent::client_id(&o.arb, o.opened_us, nexus_model::records::OrderAction::Open, venue);
            (id, (o.arb.clone(), o.opened_us, venue))
        })
    });
    let fills_by_order = fills.map(|f| (f.client_order_id.clone(), (f.fill_id, f.qty.value())));
    let leg_fills = legs.join_map(fills_by_order, |_id: &CompactString, (arb, opened_us, venue), (fill_id, qty)| {
        GateFact::LegFill {
            arb: arb.clone(),
            opened_us: *opened_us,
            venue: *venue,
            fill_id: fill_id.clone(),
            qty: *qty,
        }
    });
    let due = delay_until(open.map(|o| (o.due_us, o.arb, o.opened_us)), |(due_us, _, _)| *due_us)
        .map(|(_, arb, opened_us)| GateFact::Due { arb, opened_us });
    let state_facts = state.clone().map(GateFact::State);

    // Every fact, and the latest time any of them changed: the clock new arbitrages open at. The
    // facts from outside the loop wait until the loop reaches their time (see `pace`).
    let outside = candidates.concat(halt_facts).concat(critical).concat(var_over).concat(params_facts);
    let facts = pace(outside, state.clone()).concat(state_facts).concat(leg_fills).concat(due);
    let now = latest_by_key(facts.inner.clone().map(|(_fact, time, _diff)| ((), Some(time), time)))
        .map(|((), time)| GateFact::Now(time));

    // The gate: one reduce over everything, for the one account it trades.
    let gate =
        facts.concat(now).map(|fact| ((), fact)).reduce_named("Gate", |_unit, facts, output| decide(facts, output));
    let next_state = gate.clone().flat_map(|((), out)| match out {
        GateOut::State(state) => Some(state),
        GateOut::Decision(_) => None,
    });
    variable.set(next_state.clone());
    let decisions = gate.flat_map(|((), out)| match out {
        GateOut::Decision(decision) => Some(decision),
        GateOut::State(_) => None,
    });

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
