//! Reconciliation of exchange and scanner funding rates (DESIGN 5.1).
//!
//! ```text
//! latest observations ──┬──────────────────────────────────────────── Observed ─┐
//!   (source,venue,asset)│                                                       ├─ reduce per (venue, asset): classify ─► snapshots ─► discrepancies
//!                       └─ receipt time ─ with params ─ retract_at ─ Fresh ─────┤          (Reconcile)
//! interval overrides ──────────────────────────────────────── IntervalOverride ─┘
//! ```
//!
//! A `Fresh` fact carries the tolerances in force, so a parameter change re-derives the facts at its
//! time and the reduce reclassifies; no second join with the parameters is needed.

mod classify;
pub mod oracle;
mod params;

use differential_dataflow::VecCollection;
use nexus_model::funding::{FundingObservation, FundingSource, ObservationKey};
use nexus_model::records::{Discrepancy, Snapshot};
use nexus_model::{Asset, Dec, Venue};
use nexus_operators::{retract_at, with_params};
use serde::{Deserialize, Serialize};

pub use classify::{SourcePair, classify, discrepancy_of};
pub use params::{ReconcileParams, Tolerances};

use crate::Time;

/// What the per-(venue, asset) reduce is told.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum Fact {
    /// The latest observation of a source.
    Observed(FundingSource, FundingObservation),
    /// The source's latest observation is fresh; the tolerances in force come along.
    Fresh(FundingSource, Tolerances),
    /// A configured funding interval for this venue and asset.
    IntervalOverride(Dec),
}

/// The outputs of reconciliation.
pub struct Reconciled<'s> {
    /// One record per (venue, asset) that any source has reported.
    pub snapshots: VecCollection<'s, Time, Snapshot>,
    /// One record per (venue, asset) whose fresh sources disagree.
    pub discrepancies: VecCollection<'s, Time, Discrepancy>,
}

/// Reconciles the latest exchange and scanner observations into snapshots and discrepancies.
///
/// - `latest`: the latest observation per (source, venue, asset) (see `nexus_operators::latest_by_key`).
/// - `params`: exactly one [`ReconcileParams`] at any time; a change takes effect at its time.
/// - `interval_overrides`: configured funding intervals per (venue, asset).
pub fn reconcile<'s>(
    latest: VecCollection<'s, Time, (ObservationKey, FundingObservation)>,
    params: VecCollection<'s, Time, ReconcileParams>,
    interval_overrides: VecCollection<'s, Time, ((Venue, Asset), Dec)>,
) -> Reconciled<'s> {
    // Freshness: each observation's receipt time, paired with the current parameters, is fresh until
    // received + stale_after; the retraction is scheduled when the pair appears.
    let receipts = latest.clone().map(|(key, obs)| (key, obs.recv_us));
    let with_expiry = with_params(receipts, params, |(key, received), p| {
        Some((key.clone(), received.saturating_add(p.stale_after_us), p.tolerances()))
    });
    let fresh = retract_at(with_expiry, |(_, expires, _)| *expires)
        .map(|((source, venue, asset), _, tolerances)| ((venue, asset), Fact::Fresh(source, tolerances)));

    // Everything known per (venue, asset): both sources' latest observations, their freshness and
    // the configured interval, classified into the snapshot.
    let observed = latest.map(|((source, venue, asset), obs)| ((venue, asset), Fact::Observed(source, obs)));
    let overrides = interval_overrides.map(|(key, hours)| (key, Fact::IntervalOverride(hours)));
    let snapshots = observed
        .concat(fresh)
        .concat(overrides)
        .reduce_named("Reconcile", |(venue, asset), facts, output| {
            if let Some(snapshot) = classify(*venue, asset, &gather(facts)) {
                output.push((snapshot, 1));
            }
        })
        .map(|(_key, snapshot)| snapshot);

    // Discrepancies are the snapshots in that status.
    let discrepancies = snapshots.clone().flat_map(|snapshot| discrepancy_of(&snapshot));

    Reconciled { snapshots, discrepancies }
}

/// Folds the facts of one (venue, asset) into a [`SourcePair`]. Should a source appear twice (it does
/// not, given an upsert input), the greatest observation, the latest, wins.
fn gather(facts: &[(&Fact, isize)]) -> SourcePair {
    let mut pair = SourcePair::default();
    for (fact, count) in facts {
        if *count <= 0 {
            continue;
        }
        match fact {
            Fact::Observed(FundingSource::Exchange, obs) => pair.exchange = pair.exchange.take().max(Some(obs.clone())),
            Fact::Observed(FundingSource::Scanner, obs) => pair.scanner = pair.scanner.take().max(Some(obs.clone())),
            Fact::Fresh(source, tolerances) => {
                match source {
                    FundingSource::Exchange => pair.exchange_fresh = true,
                    FundingSource::Scanner => pair.scanner_fresh = true,
                }
                pair.tolerances = Some(*tolerances);
            }
            Fact::IntervalOverride(hours) => pair.interval_override = Some(*hours),
        }
    }
    pair
}
