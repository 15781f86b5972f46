//! Output records (DESIGN section 6) and the names of the output streams.
//!
//! Each stream is a differential collection of one record type; sinks write `{"time","diff","data"}`
//! lines where `data` is the record serialized here. Decimals serialize as normalized strings
//! (through [`Dec`]); figures the definitions give as floating point serialize as JSON numbers.

mod alert;
mod gate;
mod risk;

use std::fmt;

use serde::{Deserialize, Serialize, Serializer};

use crate::asset::Asset;
use crate::decimal::Dec;
use crate::funding::FundingSource;
use crate::venue::Venue;

pub use alert::{Alert, AlertDetails, Pattern, Severity};
pub use gate::{ArbId, Decision, OrderAction, OrderIntent, OrderType};
pub use risk::{Position, StressPnl, VarFigures};

/// Every output stream of DESIGN section 6, in the order their files are listed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OutputStream {
    /// Reconciled funding snapshot per (venue, asset).
    Snapshots,
    /// Exchange and scanner rates that disagree.
    Discrepancies,
    /// Scored arbitrage opportunities.
    Opportunities,
    /// Top-k opportunities.
    Ranked,
    /// Positions per account, venue and asset.
    Positions,
    /// Value-at-Risk per account.
    Var,
    /// Market-manipulation alerts.
    Alerts,
    /// Risk-gate decisions.
    Decisions,
    /// Order intents.
    Orders,
    /// Inputs that could not be used, with the reason.
    Rejected,
    /// Stress-scenario P&L, written only when scenarios are configured.
    Stress,
    /// The effective configuration, one record per dotted key: not a file stream, it feeds the
    /// `parameters` table so that run-time changes are persisted at their logical time.
    Parameters,
    /// The latest `control.halt` per scope and target: not a file stream, it feeds the `halts`
    /// table.
    Halts,
}

impl OutputStream {
    /// The streams whose files are always written (every stream but `stress`).
    pub const ALWAYS_WRITTEN: [OutputStream; 10] = [
        OutputStream::Snapshots,
        OutputStream::Discrepancies,
        OutputStream::Opportunities,
        OutputStream::Ranked,
        OutputStream::Positions,
        OutputStream::Var,
        OutputStream::Alerts,
        OutputStream::Decisions,
        OutputStream::Orders,
        OutputStream::Rejected,
    ];

    /// Streams that only feed PostgreSQL tables (`parameters`, `halts`): never published on
    /// `out.<stream>` nor written to files.
    pub fn is_internal(self) -> bool {
        matches!(self, OutputStream::Parameters | OutputStream::Halts)
    }

    /// The streams written to files: every stream but `stress`, and `stress` when scenarios are
    /// configured.
    pub fn files(stress_configured: bool) -> Vec<OutputStream> {
        let mut streams = OutputStream::ALWAYS_WRITTEN.to_vec();
        if stress_configured {
            streams.push(OutputStream::Stress);
        }
        streams
    }

    /// The stream's name: file stem, `out.<name>` subject, table name.
    pub fn name(self) -> &'static str {
        match self {
            OutputStream::Snapshots => "snapshots",
            OutputStream::Discrepancies => "discrepancies",
            OutputStream::Opportunities => "opportunities",
            OutputStream::Ranked => "ranked",
            OutputStream::Positions => "positions",
            OutputStream::Var => "var",
            OutputStream::Alerts => "alerts",
            OutputStream::Decisions => "decisions",
            OutputStream::Orders => "orders",
            OutputStream::Rejected => "rejected",
            OutputStream::Stress => "stress",
            OutputStream::Parameters => "parameters",
            OutputStream::Halts => "halts",
        }
    }
}

impl fmt::Display for OutputStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Reconciliation status of a snapshot (DESIGN 5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotStatus {
    /// Both sources fresh and within tolerance.
    Ok,
    /// Both sources fresh and out of tolerance.
    Discrepancy,
    /// Exactly one source fresh.
    SingleSource,
    /// No source fresh.
    Stale,
}

impl SnapshotStatus {
    /// The confidence the definition attaches to the status: 1.0, 0.5, 0.8, 0.0.
    pub fn confidence(self) -> Dec {
        match self {
            SnapshotStatus::Ok => Dec::ONE,
            SnapshotStatus::Discrepancy => Dec::new(rust_decimal::Decimal::new(5, 1)),
            SnapshotStatus::SingleSource => Dec::new(rust_decimal::Decimal::new(8, 1)),
            SnapshotStatus::Stale => Dec::ZERO,
        }
    }
}

/// The reconciled funding state of one (venue, asset): a `snapshots` record.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Snapshot {
    /// The venue.
    pub venue: Venue,
    /// The canonical asset.
    pub symbol: Asset,
    /// The chosen funding rate, per native interval.
    pub rate: Dec,
    /// The native interval of the chosen rate, in hours.
    pub interval_h: Dec,
    /// `rate / interval_h`.
    pub rate_per_hour: Dec,
    /// `rate_per_hour * 8760`.
    pub apr: Dec,
    /// Next settlement of the chosen observation, exchange milliseconds.
    pub next_funding_ms: Option<u64>,
    /// Latest mark price from the venue's own feed, if any.
    pub mark_price: Option<Dec>,
    /// Which source the rate was taken from.
    pub source: FundingSource,
    /// Reconciliation status.
    pub status: SnapshotStatus,
    /// Confidence of the status, a figure in [0, 1] (a JSON number).
    #[serde(serialize_with = "serialize_as_f64")]
    pub confidence: Dec,
    /// Rate of the latest exchange observation, fresh or not.
    pub exchange_rate: Option<Dec>,
    /// Rate of the latest scanner observation, fresh or not.
    pub scanner_rate: Option<Dec>,
}

/// A `discrepancies` record: present while a snapshot's status is `discrepancy`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Discrepancy {
    /// The venue.
    pub venue: Venue,
    /// The canonical asset.
    pub symbol: Asset,
    /// The fresh exchange rate.
    pub exchange_rate: Dec,
    /// The fresh scanner rate.
    pub scanner_rate: Dec,
    /// `|exchange_rate - scanner_rate|`.
    pub abs_diff: Dec,
}

/// An `opportunities` record (DESIGN 5.2): a scored funding-rate arbitrage on one asset, long the
/// venue with the lower hourly rate and short the higher.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Opportunity {
    /// The canonical asset.
    pub symbol: Asset,
    /// The venue to be long on (lower rate per hour).
    pub long_venue: Venue,
    /// The venue to be short on (higher rate per hour).
    pub short_venue: Venue,
    /// Long venue's rate per hour.
    pub long_rate_per_hour: Dec,
    /// Short venue's rate per hour.
    pub short_rate_per_hour: Dec,
    /// `(short - long) * 8760`.
    pub gross_apr: Dec,
    /// Round-trip cost spread over the holding period, annualized.
    pub cost_apr: Dec,
    /// `gross_apr - cost_apr`.
    pub net_apr: Dec,
    /// `min(net_apr / target_apr, 1)`, in [0, 1].
    pub spread_score: Dec,
    /// `min(min(depth) / target_depth, 1)`, 0 without books.
    pub liquidity_score: Dec,
    /// The lower of the two snapshot confidences.
    pub confidence_score: Dec,
    /// Weighted score in [0, 100], rounded to 4 decimal places.
    pub uos: Dec,
    /// Next settlement on the long venue, when known.
    pub long_next_funding_ms: Option<u64>,
    /// Next settlement on the short venue, when known.
    pub short_next_funding_ms: Option<u64>,
}

/// A `ranked` record: an opportunity's place in the top-k.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Ranked {
    /// 1 is best.
    pub rank: u32,
    /// The canonical asset.
    pub symbol: Asset,
    /// Long venue.
    pub long_venue: Venue,
    /// Short venue.
    pub short_venue: Venue,
    /// The opportunity's UOS.
    pub uos: Dec,
    /// The opportunity's net APR.
    pub net_apr: Dec,
}

/// A `parameters` record: one configuration key and its value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Parameter {
    /// Dotted key, e.g. `reconcile.stale_after_ms`.
    pub key: String,
    /// The value as JSON text.
    pub value: String,
}

impl Parameter {
    /// Every key of a configuration.
    pub fn all_of(config: &crate::config::Config) -> Vec<Parameter> {
        config.flatten().into_iter().map(|(key, value)| Parameter { key, value: value.to_string() }).collect()
    }
}

/// A `rejected` record: one input that could not be used, and why.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Rejected {
    /// The subject the input arrived on (empty when the recording line had none).
    pub subject: String,
    /// `"<kind>: <detail>"`; the kind groups rejections in summaries and metrics.
    pub reason: String,
    /// The first 256 bytes of the payload (lossy UTF-8).
    pub excerpt: String,
}

impl Rejected {
    /// The reason's kind: the text before the first `:`.
    pub fn kind(&self) -> &str {
        self.reason.split(':').next().unwrap_or(&self.reason)
    }
}

fn serialize_as_f64<S: Serializer>(value: &Dec, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(value.to_f64())
}
