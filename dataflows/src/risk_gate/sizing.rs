//! Sizing an opportunity: its notional from the books' depth, its leg size from the reference
//! price (DESIGN 5.5).

use nexus_model::records::{ArbId, Opportunity};
use nexus_model::{Dec, Venue};
use serde::{Deserialize, Serialize};

use super::facts::Candidate;
use super::params::GateParams;

/// An opportunity at or above the gate's lower threshold, with the sizing parameters in force.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OppTerms {
    /// The arbitrage.
    pub arb: ArbId,
    /// Its UOS.
    pub uos: Dec,
    /// Its net APR.
    pub net_apr: Dec,
    /// `risk.max_notional`.
    pub max_notional: Dec,
    /// `risk.depth_fraction`.
    pub depth_fraction: Dec,
    /// `risk.qty_decimals`.
    pub qty_decimals: u32,
}

impl OppTerms {
    /// The terms of `o`, or `None` when its UOS is below both the entry and the exit threshold.
    pub fn of(o: &Opportunity, p: &GateParams) -> Option<OppTerms> {
        (o.uos >= p.floor_uos()).then(|| OppTerms {
            arb: ArbId { symbol: o.symbol.clone(), long_venue: o.long_venue, short_venue: o.short_venue },
            uos: o.uos,
            net_apr: o.net_apr,
            max_notional: p.max_notional,
            depth_fraction: p.depth_fraction,
            qty_decimals: p.qty_decimals,
        })
    }
}

/// What the per-asset sizing reduce is told.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SizingFact {
    /// An opportunity on the asset.
    Opp(OppTerms),
    /// A venue's book depth `min(bid * bid_qty, ask * ask_qty)`.
    Depth(Venue, Dec),
    /// The asset's reference price.
    Price(Dec),
}

/// The candidate of `terms`: `notional = min(max_notional, depth_fraction * min(known depths))`
/// (`max_notional` when neither book is known) and leg size `notional / price` rounded down.
pub fn size(terms: &OppTerms, long_depth: Option<Dec>, short_depth: Option<Dec>, price: Option<Dec>) -> Candidate {
    let thinner = match (long_depth, short_depth) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let notional = match thinner.and_then(|depth| depth.checked_mul(terms.depth_fraction)) {
        Some(share) => share.min(terms.max_notional),
        None => terms.max_notional,
    };
    let qty = price.and_then(|price| notional.checked_div(price)).map(|qty| qty.truncate_to(terms.qty_decimals));
    Candidate { arb: terms.arb.clone(), uos: terms.uos, net_apr: terms.net_apr, notional, qty }
}

/// The candidates of one asset from its facts.
pub fn size_all(facts: &[(&SizingFact, isize)]) -> Vec<Candidate> {
    let mut depths = [None; Venue::ALL.len()];
    let mut price = None;
    let mut opportunities = Vec::new();
    for (fact, count) in facts {
        if *count <= 0 {
            continue;
        }
        match fact {
            SizingFact::Opp(terms) => opportunities.push(terms),
            SizingFact::Depth(venue, depth) => depths[venue_index(*venue)] = Some(*depth),
            SizingFact::Price(p) => price = Some(*p),
        }
    }
    opportunities
        .into_iter()
        .map(|t| size(t, depths[venue_index(t.arb.long_venue)], depths[venue_index(t.arb.short_venue)], price))
        .collect()
}

fn venue_index(venue: Venue) -> usize {
    Venue::ALL.iter().position(|v| *v == venue).unwrap_or(0)
}
