//! Reconciliation of exchange and scanner funding rates (DESIGN 5.1).
//!
//! ```text
//! latest observations ──┬─────────────────────────────── Observed ─┐
//!   (source,venue,asset)│                                          ├─ reduce per (venue, asset) ─ classify ─► snapshots ─► discrepancies
//!                       └─ with stale_after ─ retract_at ─ Fresh ──┤        (GatherSources)       (tolerances)
//! interval overrides ───────────────────────────── IntervalOverride┘
//! ```

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
pub use params::ReconcileParams;

use crate::Time;

/// What the per-(venue, asset) reduce is told.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum Fact {
    /// The latest observation of a source.
    Observed(FundingSource, FundingObservation),
    /// The source's latest observation is fresh.
    Fresh(FundingSource),
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
    // Freshness: each observation, paired with the current horizon, is fresh until it was received
    // plus `stale_after`; the retraction is scheduled when the pair appears.
    let with_expiry = with_params(latest.clone(), params.clone(), |(key, obs), p| {
        Some((key.clone(), obs.recv_us.saturating_add(p.stale_after_us)))
    });
    let fresh = retract_at(with_expiry, |(_, expires)| *expires)
        .map(|((source, venue, asset), _)| ((venue, asset), Fact::Fresh(source)));

    // Everything known per (venue, asset): both sources' latest observations, their freshness and
    // the configured interval.
    let observed = latest.map(|((source, venue, asset), obs)| ((venue, asset), Fact::Observed(source, obs)));
    let overrides = interval_overrides.map(|(key, hours)| (key, Fact::IntervalOverride(hours)));
    let pairs = observed.concat(fresh).concat(overrides).reduce_named("GatherSources", |_key, facts, output| {
        let pair = gather(facts);
        if pair.exchange.is_some() || pair.scanner.is_some() {
            output.push((pair, 1));
        }
    });

    // Classification with the current tolerances.
    let snapshots = with_params(pairs, params, |((venue, asset), pair), p| classify(*venue, asset, pair, p));

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
            Fact::Fresh(FundingSource::Exchange) => pair.exchange_fresh = true,
            Fact::Fresh(FundingSource::Scanner) => pair.scanner_fresh = true,
            Fact::IntervalOverride(hours) => pair.interval_override = Some(*hours),
        }
    }
    pair
}
