//! From-scratch recomputation of DESIGN 5.1 at one logical time, written straight from the text and
//! sharing no code with the dataflow. Oracle tests compare the incremental output with it at every
//! time; the benchmark uses it as the "recompute everything on each update" baseline.

use std::collections::BTreeMap;

use nexus_model::funding::{FundingObservation, FundingSource, ObservationKey};
use nexus_model::records::{Discrepancy, Snapshot, SnapshotStatus};
use nexus_model::{Asset, Dec, Venue};

use super::ReconcileParams;
use crate::Time;

/// The latest exchange and scanner observations of one (venue, asset).
type Sources<'a> = (Option<&'a FundingObservation>, Option<&'a FundingObservation>);

/// The `snapshots` and `discrepancies` collections at time `t`, given the latest observations, the
/// parameters and the interval overrides in force at `t`.
pub fn reconcile_at(
    t: Time,
    latest: &[(ObservationKey, FundingObservation)],
    params: &ReconcileParams,
    overrides: &[((Venue, Asset), Dec)],
) -> (Vec<Snapshot>, Vec<Discrepancy>) {
    let mut by_pair: BTreeMap<(Venue, Asset), Sources> = BTreeMap::new();
    for ((source, venue, asset), obs) in latest {
        let entry = by_pair.entry((*venue, asset.clone())).or_default();
        match source {
            FundingSource::Exchange => entry.0 = entry.0.max(Some(obs)),
            FundingSource::Scanner => entry.1 = entry.1.max(Some(obs)),
        }
    }
    let override_of = |venue: Venue, asset: &Asset| {
        overrides.iter().find(|((v, a), _)| *v == venue && a == asset).map(|(_, hours)| *hours)
    };
    let is_fresh = |obs: &FundingObservation| t < obs.recv_us + params.stale_after_us;

    let mut snapshots = Vec::new();
    let mut discrepancies = Vec::new();
    for ((venue, asset), (exchange, scanner)) in by_pair {
        let ex_fresh = exchange.is_some_and(is_fresh);
        let sc_fresh = scanner.is_some_and(is_fresh);
        // Interval: the venue's own latest observation's, else configured, else the venue default.
        let interval = exchange
            .and_then(|o| o.interval_h)
            .or_else(|| override_of(venue, &asset))
            .unwrap_or_else(|| venue.default_interval_h());
        let (chosen, source, status) = if ex_fresh && sc_fresh {
            let (ex, sc) = (exchange.map(|o| o.rate).unwrap_or_default(), scanner.map(|o| o.rate).unwrap_or_default());
            let diff = (ex.inner() - sc.inner()).abs();
            let tolerance =
                params.abs_tolerance.inner().max(params.rel_tolerance.inner() * ex.inner().abs().max(sc.inner().abs()));
            let status = if diff > tolerance { SnapshotStatus::Discrepancy } else { SnapshotStatus::Ok };
            (exchange, FundingSource::Exchange, status)
        } else if ex_fresh {
            (exchange, FundingSource::Exchange, SnapshotStatus::SingleSource)
        } else if sc_fresh {
            (scanner, FundingSource::Scanner, SnapshotStatus::SingleSource)
        } else {
            let scanner_newer = match (exchange, scanner) {
                (Some(ex), Some(sc)) => (sc.recv_us, sc.seq) > (ex.recv_us, ex.seq),
                (None, Some(_)) => true,
                _ => false,
            };
            if scanner_newer {
                (scanner, FundingSource::Scanner, SnapshotStatus::Stale)
            } else {
                (exchange, FundingSource::Exchange, SnapshotStatus::Stale)
            }
        };
        let Some(chosen) = chosen else { continue };
        let confidence = match status {
            SnapshotStatus::Ok => "1",
            SnapshotStatus::Discrepancy => "0.5",
            SnapshotStatus::SingleSource => "0.8",
            SnapshotStatus::Stale => "0",
        };
        let rate_per_hour = Dec::new(chosen.rate.inner() / interval.inner());
        let snapshot = Snapshot {
            venue,
            symbol: asset.clone(),
            rate: chosen.rate,
            interval_h: interval,
            rate_per_hour,
            apr: Dec::new(rate_per_hour.inner() * rust_decimal::Decimal::from(8760)),
            next_funding_ms: chosen.next_funding_ms,
            mark_price: exchange.and_then(|o| o.mark_price).map(|p| p.value()),
            source,
            status,
            confidence: Dec::parse(confidence).unwrap_or_default(),
            exchange_rate: exchange.map(|o| o.rate),
            scanner_rate: scanner.map(|o| o.rate),
        };
        if status == SnapshotStatus::Discrepancy
            && let (Some(ex), Some(sc)) = (exchange, scanner)
        {
            discrepancies.push(Discrepancy {
                venue,
                symbol: asset.clone(),
                exchange_rate: ex.rate,
                scanner_rate: sc.rate,
                abs_diff: Dec::new((ex.rate.inner() - sc.rate.inner()).abs()),
            });
        }
        snapshots.push(snapshot);
    }
    (snapshots, discrepancies)
}
