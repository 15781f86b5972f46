//! The DESIGN 5.2 arithmetic for one pair of venues on one asset. Exact decimals throughout.

use nexus_model::market::BookTop;
use nexus_model::records::Opportunity;
use nexus_model::{Asset, Dec, Venue};
use serde::{Deserialize, Serialize};

use super::params::OpportunityParams;

/// Hours per year.
const HOURS_PER_YEAR: i64 = 8760;

/// What a venue's top of book contributes: its half-spread and its depth.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BookFigures {
    /// `(ask - bid) / (ask + bid)`.
    pub half_spread: Dec,
    /// `min(bid * bid_qty, ask * ask_qty)`, quote currency.
    pub depth: Dec,
}

impl BookFigures {
    /// The figures of a book, `None` only on arithmetic overflow.
    pub fn of(book: &BookTop) -> Option<BookFigures> {
        let (bid, ask) = (book.bid.value(), book.ask.value());
        let half_spread = ask.checked_sub(bid)?.checked_div(ask.checked_add(bid)?)?;
        let bid_side = bid.checked_mul(book.bid_qty.value())?;
        let ask_side = ask.checked_mul(book.ask_qty.value())?;
        Some(BookFigures { half_spread, depth: if bid_side <= ask_side { bid_side } else { ask_side } })
    }
}

/// One venue's side of a pair: its non-stale snapshot and its book, if known.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Leg {
    /// The venue.
    pub venue: Venue,
    /// Funding rate per hour from the snapshot.
    pub rate_per_hour: Dec,
    /// Snapshot confidence.
    pub confidence: Dec,
    /// Next settlement, when known.
    pub next_funding_ms: Option<u64>,
    /// Book figures, when the venue's book is known.
    pub book: Option<BookFigures>,
}

fn clamp_unit(value: Dec) -> Dec {
    if value < Dec::ZERO {
        Dec::ZERO
    } else if value > Dec::ONE {
        Dec::ONE
    } else {
        value
    }
}

fn min(a: Dec, b: Dec) -> Dec {
    if a <= b { a } else { b }
}

/// The opportunity of a pair of legs on `asset`, or `None` when a leg's confidence is below the
/// minimum or the net APR is below the threshold. Long the lower rate per hour (on equal rates,
/// the venue first in `Venue` order).
pub fn score(asset: &Asset, a: &Leg, b: &Leg, p: &OpportunityParams) -> Option<Opportunity> {
    if a.confidence < p.min_confidence || b.confidence < p.min_confidence || a.venue == b.venue {
        return None;
    }
    let (long, short) = if (a.rate_per_hour, a.venue) < (b.rate_per_hour, b.venue) { (a, b) } else { (b, a) };
    let hours = Dec::from(HOURS_PER_YEAR);
    let two = Dec::from(2i64);
    let gross_apr = short.rate_per_hour.checked_sub(long.rate_per_hour)?.checked_mul(hours)?;
    let fees = p.fee(long.venue).checked_add(p.fee(short.venue))?;
    let mut round_trip = two.checked_mul(fees)?;
    if let (Some(lb), Some(sb)) = (long.book, short.book) {
        round_trip = round_trip.checked_add(two.checked_mul(lb.half_spread.checked_add(sb.half_spread)?)?)?;
    }
    let cost_apr = round_trip.checked_mul(hours)?.checked_div(p.hold_hours)?;
    let net_apr = gross_apr.checked_sub(cost_apr)?;
    if net_apr < p.min_net_apr {
        return None;
    }
    let spread_score = clamp_unit(net_apr.checked_div(p.target_apr)?);
    let depth = min(long.book.map_or(Dec::ZERO, |b| b.depth), short.book.map_or(Dec::ZERO, |b| b.depth));
    let liquidity_score = clamp_unit(depth.checked_div(p.target_depth)?);
    let confidence_score = min(long.confidence, short.confidence);
    let weighted = p
        .weight_spread
        .checked_mul(spread_score)?
        .checked_add(p.weight_liquidity.checked_mul(liquidity_score)?)?
        .checked_add(p.weight_confidence.checked_mul(confidence_score)?)?;
    let uos = Dec::new(Dec::from(100i64).checked_mul(weighted)?.inner().round_dp(4));
    Some(Opportunity {
        symbol: asset.clone(),
        long_venue: long.venue,
        short_venue: short.venue,
        long_rate_per_hour: long.rate_per_hour,
        short_rate_per_hour: short.rate_per_hour,
        gross_apr,
        cost_apr,
        net_apr,
        spread_score,
        liquidity_score,
        confidence_score,
        uos,
        long_next_funding_ms: long.next_funding_ms,
        short_next_funding_ms: short.next_funding_ms,
    })
}
