//! Scored funding-rate arbitrage opportunities and their ranking (DESIGN 5.2).
//!
//! ```text
//! snapshots (not stale) ──┐
//!                         ├─ reduce per asset: Pairs (each venue's leg, then every two) ──┐
//! latest books ───────────┘                                                               ├─ join per asset: score ─► opportunities
//! params ── with each asset that has a leg: ParamsByAsset ────────────────────────────────┘           │
//! params (top_k) ── top_k: best per bucket, then TopK ◄───────────────────────────────────────────────┘ ─► ranked
//! ```
//!
//! The confidence filter, fees, weights and thresholds come from the parameter collection, paired
//! with every asset that has a leg, so a `control.params` change rescores every pair at its logical
//! time while a changed pair looks up only its own asset's parameters. The ranking keeps the best
//! `top_k` per hash bucket, then ranks the bucket winners in one reduce: a change outside its
//! bucket's best never reaches the global stage.

pub mod oracle;
mod params;
mod rank;
mod score;

use differential_dataflow::VecCollection;
use differential_dataflow::trace::implementations::{ValBuilder, ValSpine};
use nexus_model::market::BookTop;
use nexus_model::records::{Opportunity, Ranked, Snapshot, SnapshotStatus};
use nexus_model::{Asset, Venue};
use nexus_operators::{top_k, with_params};
use serde::{Deserialize, Serialize};

pub use params::OpportunityParams;
pub use rank::RankKey;
pub use score::{BookFigures, Leg, score};

use crate::Time;

/// What the per-asset `Pairs` reduce is told about a venue.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum LegFact {
    /// The venue's non-stale snapshot.
    Snapshot(Leg),
    /// The venue's current book.
    Book(BookFigures),
}

/// The `Pairs` reduce's output: pairs of legs arranged by asset, for the scoring join.
type PairsBuilder = ValBuilder<Asset, (Leg, Leg), Time, isize>;
/// The trace of [`PairsBuilder`]'s batches.
type PairsSpine = ValSpine<Asset, (Leg, Leg), Time, isize>;

/// Hash buckets of the first ranking stage.
const RANK_BUCKETS: u64 = 16;

/// The outputs of the opportunity dataflow.
pub struct Opportunities<'s> {
    /// Every pair that qualifies, scored.
    pub opportunities: VecCollection<'s, Time, Opportunity>,
    /// The best `top_k` with their ranks.
    pub ranked: VecCollection<'s, Time, Ranked>,
}

/// Scores every pair of venues per asset and ranks the opportunities.
///
/// - `snapshots`: the reconciled snapshots (DESIGN 5.1).
/// - `books`: the latest top of book per (venue, asset).
/// - `params`: exactly one [`OpportunityParams`] at any time.
pub fn opportunities<'s>(
    snapshots: VecCollection<'s, Time, Snapshot>,
    books: VecCollection<'s, Time, ((Venue, Asset), BookTop)>,
    params: VecCollection<'s, Time, OpportunityParams>,
) -> Opportunities<'s> {
    // Legs: each venue's non-stale snapshot of an asset, and its book's figures, by asset.
    let snapshot_facts = snapshots.filter(|s| s.status != SnapshotStatus::Stale).map(|s| {
        let leg = Leg {
            venue: s.venue,
            rate_per_hour: s.rate_per_hour,
            confidence: s.confidence,
            next_funding_ms: s.next_funding_ms,
            book: None,
        };
        (s.symbol, (s.venue, LegFact::Snapshot(leg)))
    });
    let book_facts = books.flat_map(|((venue, asset), book)| {
        BookFigures::of(&book).map(|figures| (asset, (venue, LegFact::Book(figures))))
    });

    // The parameters in force, once per asset that has a leg (a non-stale snapshot): a handful of
    // records that change when an asset appears or goes, or the parameters change (a snapshot
    // replaced at a time cancels before `distinct` sees it).
    let assets = snapshot_facts.clone().map(|(asset, _fact)| asset).distinct();
    let params_by_asset = with_params(assets, params.clone(), |asset, p| Some((asset.clone(), p.clone())))
        .arrange_by_key_named("ParamsByAsset");

    // Pairs: every two venues quoting the same asset, once per unordered pair, from one reduce over
    // the asset's snapshots and books (at most four of each): a changed snapshot or book revisits
    // its asset, not a join's history. Its output stays arranged by asset, for the scoring join to
    // read.
    let pairs = snapshot_facts
        .concat(book_facts)
        .arrange_by_key_named("Arrange: Pairs")
        .reduce_abelian::<_, PairsBuilder, PairsSpine, _, _>(
            "Pairs",
            |_asset, facts, output| {
                let legs = legs_of(facts);
                for (index, a) in legs.iter().enumerate() {
                    for b in &legs[index + 1..] {
                        if a.venue < b.venue {
                            output.push(((a.clone(), b.clone()), 1isize));
                        }
                    }
                }
            },
            |buffer, asset, updates| {
                buffer.clear();
                buffer.extend(updates.drain(..).map(|(pair, time, diff)| ((asset.clone(), pair), time, diff)));
            },
        );

    // Scoring: each changed pair looks up its asset's parameters; a parameter change rescores
    // every pair of every asset at its time.
    let opportunities = pairs.join_core(params_by_asset, |asset, (a, b), p| score(asset, a, b, p));

    // Ranking: the best `top_k` by the ranking order, in two stages (per hash bucket, then global).
    let ranked =
        top_k(opportunities.clone().map(|o| RankKey::of(&o)), params.map(|p| p.top_k), RANK_BUCKETS, RankKey::identity)
            .map(|(rank, key)| key.ranked(rank));

    Opportunities { opportunities, ranked }
}

/// The legs of one asset, by venue: each venue's present snapshot with its present book's figures,
/// if any (`facts` come sorted by venue, as a reduce hands them over).
fn legs_of(facts: &[(&(Venue, LegFact), isize)]) -> Vec<Leg> {
    facts
        .chunk_by(|(a, _), (b, _)| a.0 == b.0)
        .filter_map(|venue_facts| {
            let book = venue_facts.iter().find_map(|((_venue, fact), count)| match fact {
                LegFact::Book(figures) if *count > 0 => Some(*figures),
                _ => None,
            });
            let snapshot = venue_facts.iter().find_map(|((_venue, fact), count)| match fact {
                LegFact::Snapshot(leg) if *count > 0 => Some(leg),
                _ => None,
            });
            snapshot.map(|leg| Leg { book, ..leg.clone() })
        })
        .collect()
}
