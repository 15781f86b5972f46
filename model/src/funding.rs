//! Funding-rate observations: what an exchange feed or the scanner said about one (venue, asset).

use serde::{Deserialize, Serialize};

use crate::asset::Asset;
use crate::decimal::Dec;
use crate::money::Price;
use crate::time::LogicalTime;
use crate::venue::Venue;

/// Who reported a funding rate. Reconciliation keeps the latest observation per source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FundingSource {
    /// The venue's own feed (`feeds.funding.<venue>`).
    Exchange,
    /// The third-party scanner (`feeds.scanner.*`).
    Scanner,
}

impl FundingSource {
    /// The name used in output records.
    pub fn name(self) -> &'static str {
        match self {
            FundingSource::Exchange => "exchange",
            FundingSource::Scanner => "scanner",
        }
    }
}

/// The key under which the latest observation is kept: (source, venue, asset).
pub type ObservationKey = (FundingSource, Venue, Asset);

/// One funding-rate observation, as decoded from a feed.
///
/// Field order matters: the derived `Ord` puts `recv_us` then `seq` first, so "the greatest value"
/// among observations of one key at one logical time is the one received last (the upsert operator
/// resolves ties that way).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FundingObservation {
    /// Logical time at which the observation was received; freshness is measured from it.
    pub recv_us: LogicalTime,
    /// Position of the message in its input (recording line, stream sequence); breaks ties.
    pub seq: u64,
    /// Funding rate as a decimal fraction per the venue's native interval.
    pub rate: Dec,
    /// Native funding interval in hours when the feed states it (Bybit, OKX, Hyperliquid);
    /// `None` means "the configured override, else the venue default" (Binance, scanner).
    pub interval_h: Option<Dec>,
    /// Next settlement time, exchange milliseconds, when known.
    pub next_funding_ms: Option<u64>,
    /// Mark price, when the feed carries one.
    pub mark_price: Option<Price>,
}

/// A decoded funding observation with its key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FundingUpdate {
    /// Exchange feed or scanner.
    pub source: FundingSource,
    /// The venue the rate applies to.
    pub venue: Venue,
    /// The canonical asset.
    pub asset: Asset,
    /// The observation itself.
    pub observation: FundingObservation,
}
