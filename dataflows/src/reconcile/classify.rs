//! The per-(venue, asset) decision of DESIGN 5.1: which rate to publish and how much to trust it.

use nexus_model::funding::{FundingObservation, FundingSource};
use nexus_model::records::{Discrepancy, Snapshot, SnapshotStatus};
use nexus_model::{Asset, Dec, Venue};
use serde::{Deserialize, Serialize};

use super::params::Tolerances;

/// Hours per year, for `apr = rate_per_hour * 8760`.
const HOURS_PER_YEAR: i64 = 8760;

/// Everything reconciliation knows about one (venue, asset) at one time.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SourcePair {
    /// Latest exchange observation, fresh or not.
    pub exchange: Option<FundingObservation>,
    /// Latest scanner observation, fresh or not.
    pub scanner: Option<FundingObservation>,
    /// Whether the exchange observation is fresh now.
    pub exchange_fresh: bool,
    /// Whether the scanner observation is fresh now.
    pub scanner_fresh: bool,
    /// Configured interval for feeds that do not state one (`funding_interval_h.<venue>.<symbol>`).
    pub interval_override: Option<Dec>,
    /// The tolerances in force, known whenever a source is fresh.
    pub tolerances: Option<Tolerances>,
}

/// The snapshot of one (venue, asset), or `None` when no source ever reported it.
pub fn classify(venue: Venue, asset: &Asset, pair: &SourcePair) -> Option<Snapshot> {
    let exchange = pair.exchange.as_ref().map(|obs| (obs, pair.exchange_fresh));
    let scanner = pair.scanner.as_ref().map(|obs| (obs, pair.scanner_fresh));
    let exchange_fresh = matches!(exchange, Some((_, true)));
    let scanner_fresh = matches!(scanner, Some((_, true)));

    // The venue's own interval (stated by the feed, else configured, else the venue default) also
    // applies to the scanner's rate for that venue.
    let fallback_interval = pair.interval_override.unwrap_or_else(|| venue.default_interval_h());
    let venue_interval = pair.exchange.as_ref().and_then(|obs| obs.interval_h).unwrap_or(fallback_interval);

    let (status, source) = match (exchange_fresh, scanner_fresh) {
        (true, true) => {
            let (ex, sc) = (exchange?.0.rate, scanner?.0.rate);
            (agreement(ex, sc, &pair.tolerances?)?, FundingSource::Exchange)
        }
        (true, false) => (SnapshotStatus::SingleSource, FundingSource::Exchange),
        (false, true) => (SnapshotStatus::SingleSource, FundingSource::Scanner),
        (false, false) => {
            let newest = match (&pair.exchange, &pair.scanner) {
                (Some(ex), Some(sc)) if (sc.recv_us, sc.seq) > (ex.recv_us, ex.seq) => FundingSource::Scanner,
                (Some(_), _) => FundingSource::Exchange,
                (None, Some(_)) => FundingSource::Scanner,
                (None, None) => return None,
            };
            (SnapshotStatus::Stale, newest)
        }
    };
    let chosen = match source {
        FundingSource::Exchange => pair.exchange.as_ref()?,
        FundingSource::Scanner => pair.scanner.as_ref()?,
    };
    let interval_h = venue_interval;
    let rate_per_hour = chosen.rate.checked_div(interval_h)?;
    let apr = rate_per_hour.checked_mul(Dec::from(HOURS_PER_YEAR))?;
    Some(Snapshot {
        venue,
        symbol: asset.clone(),
        rate: chosen.rate,
        interval_h,
        rate_per_hour,
        apr,
        next_funding_ms: chosen.next_funding_ms,
        mark_price: pair.exchange.as_ref().and_then(|obs| obs.mark_price).map(|p| p.value()),
        source,
        status,
        confidence: status.confidence(),
        exchange_rate: pair.exchange.as_ref().map(|obs| obs.rate),
        scanner_rate: pair.scanner.as_ref().map(|obs| obs.rate),
    })
}

/// `Ok` or `Discrepancy` for two fresh rates: they disagree when
/// `|ex - sc| > max(abs_tolerance, rel_tolerance * max(|ex|, |sc|))`.
fn agreement(ex: Dec, sc: Dec, tolerances: &Tolerances) -> Option<SnapshotStatus> {
    let diff = ex.checked_sub(sc)?.abs();
    let relative = tolerances.rel.checked_mul(ex.abs().max(sc.abs()))?;
    let tolerance = tolerances.abs.max(relative);
    Some(if diff > tolerance { SnapshotStatus::Discrepancy } else { SnapshotStatus::Ok })
}

/// The `discrepancies` record of a snapshot whose status is `discrepancy`.
pub fn discrepancy_of(snapshot: &Snapshot) -> Option<Discrepancy> {
    if snapshot.status != SnapshotStatus::Discrepancy {
        return None;
    }
    let exchange_rate = snapshot.exchange_rate?;
    let scanner_rate = snapshot.scanner_rate?;
    Some(Discrepancy {
        venue: snapshot.venue,
        symbol: snapshot.symbol.clone(),
        exchange_rate,
        scanner_rate,
        abs_diff: exchange_rate.checked_sub(scanner_rate)?.abs(),
    })
}
