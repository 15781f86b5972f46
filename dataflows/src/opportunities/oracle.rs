//! From-scratch recomputation of DESIGN 5.2 at one time, straight from the text: every pair of
//! non-stale snapshots per asset, scored, filtered and ranked. Shares no code with the dataflow.

use std::collections::BTreeMap;

use nexus_model::market::BookTop;
use nexus_model::records::{Opportunity, Ranked, Snapshot, SnapshotStatus};
use nexus_model::{Asset, Dec, Venue};
use rust_decimal::Decimal;

use super::OpportunityParams;

/// `opportunities` and `ranked` for the given snapshots, books and parameters.
pub fn opportunities_at(
    snapshots: &[Snapshot],
    books: &[((Venue, Asset), BookTop)],
    p: &OpportunityParams,
) -> (Vec<Opportunity>, Vec<Ranked>) {
    let book_of =
        |venue: Venue, asset: &Asset| books.iter().find(|((v, a), _)| *v == venue && a == asset).map(|(_, b)| b);
    let mut by_asset: BTreeMap<&Asset, Vec<&Snapshot>> = BTreeMap::new();
    for s in snapshots.iter().filter(|s| s.status != SnapshotStatus::Stale && s.confidence >= p.min_confidence) {
        by_asset.entry(&s.symbol).or_default().push(s);
    }
    let d = |x: Dec| x.inner();
    let h = Decimal::from(8760);
    let mut out = Vec::new();
    for (asset, legs) in by_asset {
        for (i, x) in legs.iter().enumerate() {
            for y in legs.iter().skip(i + 1) {
                let (long, short) =
                    if (x.rate_per_hour, x.venue) < (y.rate_per_hour, y.venue) { (x, y) } else { (y, x) };
                let gross = (d(short.rate_per_hour) - d(long.rate_per_hour)) * h;
                let fee = |v: Venue| d(p.taker_fees[Venue::ALL.iter().position(|w| *w == v).unwrap_or(0)]);
                let mut round_trip = Decimal::from(2) * (fee(long.venue) + fee(short.venue));
                let (lb, sb) = (book_of(long.venue, asset), book_of(short.venue, asset));
                let half = |b: &BookTop| (d(b.ask.value()) - d(b.bid.value())) / (d(b.ask.value()) + d(b.bid.value()));
                let depth = |b: Option<&BookTop>| {
                    b.map_or(Decimal::ZERO, |b| {
                        (d(b.bid.value()) * d(b.bid_qty.value())).min(d(b.ask.value()) * d(b.ask_qty.value()))
                    })
                };
                if let (Some(lb), Some(sb)) = (lb, sb) {
                    round_trip += Decimal::from(2) * (half(lb) + half(sb));
                }
                let cost = round_trip * h / d(p.hold_hours);
                let net = gross - cost;
                if net < d(p.min_net_apr) {
                    continue;
                }
                let unit = |v: Decimal| v.max(Decimal::ZERO).min(Decimal::ONE);
                let spread = unit(net / d(p.target_apr));
                let liquidity = unit(depth(lb).min(depth(sb)) / d(p.target_depth));
                let confidence = d(long.confidence).min(d(short.confidence));
                let uos = (Decimal::from(100)
                    * (d(p.weight_spread) * spread
                        + d(p.weight_liquidity) * liquidity
                        + d(p.weight_confidence) * confidence))
                    .round_dp(4);
                out.push(Opportunity {
                    symbol: asset.clone(),
                    long_venue: long.venue,
                    short_venue: short.venue,
                    long_rate_per_hour: long.rate_per_hour,
                    short_rate_per_hour: short.rate_per_hour,
                    gross_apr: Dec::new(gross),
                    cost_apr: Dec::new(cost),
                    net_apr: Dec::new(net),
                    spread_score: Dec::new(spread),
                    liquidity_score: Dec::new(liquidity),
                    confidence_score: Dec::new(confidence),
                    uos: Dec::new(uos),
                    long_next_funding_ms: long.next_funding_ms,
                    short_next_funding_ms: short.next_funding_ms,
                });
            }
        }
    }
    let mut order: Vec<&Opportunity> = out.iter().collect();
    order.sort_by(|a, b| {
        b.uos
            .cmp(&a.uos)
            .then(b.net_apr.cmp(&a.net_apr))
            .then(a.symbol.cmp(&b.symbol))
            .then(a.long_venue.cmp(&b.long_venue))
            .then(a.short_venue.cmp(&b.short_venue))
    });
    let ranked = order
        .iter()
        .take(p.top_k)
        .enumerate()
        .map(|(i, o)| Ranked {
            rank: i as u32 + 1,
            symbol: o.symbol.clone(),
            long_venue: o.long_venue,
            short_venue: o.short_venue,
            uos: o.uos,
            net_apr: o.net_apr,
        })
        .collect();
    (out, ranked)
}
