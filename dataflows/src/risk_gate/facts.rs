//! What the gate's reduce is told, and what it answers.

use compact_str::CompactString;
use nexus_model::control::HaltScope;
use nexus_model::market::Side;
use nexus_model::records::ArbId;
use nexus_model::{Dec, Venue};
use serde::{Deserialize, Serialize};

use super::params::GateParams;
use crate::Time;

/// The latest `control.halt` for one scope and target.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct HaltState {
    /// What the halt applies to.
    pub scope: HaltScope,
    /// Venue name, canonical asset or account; empty for global.
    pub target: CompactString,
    /// True while halted.
    pub halted: bool,
    /// Logical time of the message: a lift clears the critical alerts raised before it.
    pub since: Time,
    /// The operator's reason, kept for the record (the `halts` table).
    pub reason: String,
}

/// An opportunity the gate may enter or hold, sized.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Candidate {
    /// The arbitrage.
    pub arb: ArbId,
    /// Its UOS: the rank order, entry and exit.
    pub uos: Dec,
    /// Its net APR: ties in the rank order, and it must stay positive.
    pub net_apr: Dec,
    /// `min(max_notional, depth_fraction * thinner known depth)`.
    pub notional: Dec,
    /// Leg size `notional / reference price`, rounded down; `None` without a reference price.
    pub qty: Option<Dec>,
}

impl Candidate {
    /// Rank order: best first (UOS, then net APR descending; then asset, long, short ascending).
    pub fn rank_key(&self) -> (std::cmp::Reverse<(Dec, Dec)>, &ArbId) {
        (std::cmp::Reverse((self.uos, self.net_apr)), &self.arb)
    }

    /// May be entered: UOS at least `min_uos` and a positive net APR.
    pub fn enters(&self, p: &GateParams) -> bool {
        self.uos >= p.min_uos && self.net_apr.is_positive()
    }

    /// May stay open: it could be entered, or its UOS is at least `exit_uos` with a positive net APR.
    pub fn holds(&self, p: &GateParams) -> bool {
        self.enters(p) || (self.uos >= p.exit_uos && self.net_apr.is_positive())
    }
}

/// An open arbitrage: sized once, when it was opened.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OpenArb {
    /// The arbitrage.
    pub arb: ArbId,
    /// The account it trades for.
    pub account: CompactString,
    /// Logical time of its open orders: with the arbitrage, it names the episode.
    pub opened_us: Time,
    /// When a leg without a filled twin is unwound.
    pub due_us: Time,
    /// Its notional: what it adds to venue and asset exposure.
    pub notional: Dec,
    /// Size of each leg.
    pub qty: Dec,
}

/// How an arbitrage ended.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Ending {
    /// It stopped qualifying: both legs are closed.
    Close,
    /// Only one leg had filled by the deadline: that leg is undone.
    Unwind {
        /// The filled leg's venue.
        venue: Venue,
        /// The side that undoes it.
        side: Side,
        /// Its filled size.
        qty: Dec,
    },
    /// Neither leg had filled by the deadline: nothing to undo.
    Expired,
}

/// An arbitrage that has ended. After an unwind or expiry it is kept (and not re-entered) while its
/// opportunity still qualifies for entry, so a failed entry is not retried in a loop.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EndedArb {
    /// The arbitrage as it was open.
    pub open: OpenArb,
    /// How it ended.
    pub ending: Ending,
    /// Ended by its deadline while qualifying for entry: it blocks re-entry while it qualifies.
    /// One that does not block is forgotten at the gate's next step; it lives in the state only
    /// so that its orders are sent when it appears.
    pub blocks: bool,
}

/// The gate's state: what it feeds back to itself one microsecond later.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ArbState {
    /// Open.
    Open(OpenArb),
    /// Ended.
    Ended(EndedArb),
}

impl ArbState {
    /// The arbitrage, if it is open.
    pub fn open(&self) -> Option<&OpenArb> {
        match self {
            ArbState::Open(open) => Some(open),
            ArbState::Ended(_) => None,
        }
    }
}

/// Everything the gate's single reduce reads.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum GateFact {
    /// The parameters in force.
    Params(GateParams),
    /// The latest logical time at which any fact changed: when a newly accepted arbitrage opens.
    Now(Time),
    /// An opportunity at or above the lower of the entry and exit thresholds.
    Candidate(Candidate),
    /// A halt (or lift) from `control.halt`.
    Halt(HaltState),
    /// A critical surveillance alert.
    Critical {
        /// Logical time of the alert's latest evidence.
        last_us: Time,
        /// The alert, for the reason.
        alert_id: CompactString,
        /// The account it is about.
        account: CompactString,
    },
    /// The gate account's 99% historical VaR is above `risk.max_var`.
    VarOver,
    /// The gate's own state, as of one microsecond earlier.
    State(ArbState),
    /// A fill of one leg of an open arbitrage, as the gate remembers it; its multiplicity is signed
    /// (a retracted fill counts against its insertion).
    LegFill(LegFill),
    /// A change to our fills, present for one microsecond at the time it happened: the gate adds
    /// it to what it remembers of the open leg it fills.
    FillChange {
        /// The client order id of the filled order.
        client_order_id: CompactString,
        /// The venue's fill id.
        fill_id: CompactString,
        /// Filled size.
        qty: Dec,
        /// +1 for a new fill, -1 for a retracted one.
        change: isize,
    },
    /// An open arbitrage has reached its leg deadline.
    Due {
        /// The arbitrage.
        arb: ArbId,
        /// Its episode.
        opened_us: Time,
    },
}

/// A fill of one leg of an open arbitrage.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LegFill {
    /// The arbitrage.
    pub arb: ArbId,
    /// Its episode.
    pub opened_us: Time,
    /// The leg's venue.
    pub venue: Venue,
    /// The venue's fill id (two equal fills are two fills).
    pub fill_id: CompactString,
    /// Filled size.
    pub qty: Dec,
}

/// What the gate's reduce outputs. Its state and the fills of its open legs are what it reads back
/// at its next time.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum GateOut {
    /// Its next state.
    State(ArbState),
    /// A fill of an open leg, kept while the arbitrage is open.
    LegFill(LegFill),
}
