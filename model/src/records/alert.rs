//! The `alerts` stream (DESIGN 5.4): one record per manipulation episode.

use compact_str::CompactString;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::asset::Asset;
use crate::decimal::Dec;
use crate::time::LogicalTime;
use crate::venue::Venue;

/// The manipulation pattern an alert reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pattern {
    /// A large order cancelled quickly while the account trades the other side.
    Spoofing,
    /// Several same-side orders at several prices, mostly cancelled, while the account trades the other side.
    Layering,
    /// A trade between one account, or accounts of one group, on both sides.
    WashTrading,
    /// An aggressive burst that moves the price, then a trade the other way.
    MomentumIgnition,
    /// Enough alerts on one venue within the critical window: the escalation.
    RepeatedManipulation,
}

impl Pattern {
    /// The pattern's name in records and tables.
    pub fn name(self) -> &'static str {
        match self {
            Pattern::Spoofing => "spoofing",
            Pattern::Layering => "layering",
            Pattern::WashTrading => "wash_trading",
            Pattern::MomentumIgnition => "momentum_ignition",
            Pattern::RepeatedManipulation => "repeated_manipulation",
        }
    }

    /// Every pattern, in the order summaries list them.
    pub const ALL: [Pattern; 5] = [
        Pattern::Spoofing,
        Pattern::Layering,
        Pattern::WashTrading,
        Pattern::MomentumIgnition,
        Pattern::RepeatedManipulation,
    ];
}

/// How serious an alert is; `critical` halts the account in the risk gate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Informational.
    Low,
    /// Worth a look (wash trades within an account group).
    Medium,
    /// A manipulation pattern matched.
    High,
    /// Repeated manipulation: the account is halted.
    Critical,
}

impl Severity {
    /// The severity's name in records and tables.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// The figures each pattern measured, as JSON fields of `details`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AlertDetails {
    /// Spoofing.
    Spoofing {
        /// Price times size of the order when it was cancelled.
        notional: Dec,
        /// The order's size when it was cancelled.
        qty: Dec,
        /// Mean size of the account's other orders over the baseline, if it had any.
        baseline_mean_qty: Option<Dec>,
        /// How many orders the baseline holds.
        baseline_orders: u64,
        /// Placement to cancel, ms (fractional when logical times are finer).
        lifetime_ms: Dec,
        /// Filled size over size, at the cancel.
        fill_ratio: Dec,
        /// Logical time of the cancel, µs.
        cancel_us: LogicalTime,
        /// Logical time of the opposite-side fill, µs.
        fill_us: LogicalTime,
    },
    /// Layering.
    Layering {
        /// Same-side orders placed in the window.
        orders: u64,
        /// Distinct prices among them.
        levels: u64,
        /// How many were cancelled within `cancel_ms` of placement.
        cancelled: u64,
        /// `cancelled / orders`.
        cancel_ratio: Dec,
        /// Logical time of the first opposite-side fill in the window, µs.
        fill_us: LogicalTime,
    },
    /// Wash trading.
    WashTrading {
        /// The buying account.
        buyer: CompactString,
        /// The selling account.
        seller: CompactString,
        /// The group both belong to, when they differ.
        group: Option<CompactString>,
        /// Trade price.
        price: Dec,
        /// Trade size.
        qty: Dec,
    },
    /// Momentum ignition.
    MomentumIgnition {
        /// `buy` or `sell`: the side of the burst.
        side: crate::market::Side,
        /// The account's aggressive volume on that side within the window.
        account_volume: Dec,
        /// The symbol's whole volume within the window.
        volume: Dec,
        /// `account_volume / volume`.
        share: Dec,
        /// Price move of the burst that way, basis points.
        move_bps: Dec,
        /// Logical time of the first opposite-side trade, µs.
        reversal_us: LogicalTime,
    },
    /// Repeated manipulation.
    RepeatedManipulation {
        /// Alerts counted within the critical window (the critical count).
        alerts: u64,
        /// The critical window, ms.
        window_ms: u64,
    },
}

/// One `alerts` record.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Alert {
    /// Deterministic id: a digest of the pattern, venue, account, symbol and the episode's first
    /// piece of evidence, so a replay or a restart gives the same id.
    pub alert_id: CompactString,
    /// What was detected.
    pub pattern: Pattern,
    /// How serious it is.
    pub severity: Severity,
    /// The venue.
    pub venue: Venue,
    /// The account.
    pub account: CompactString,
    /// The canonical asset.
    pub symbol: Asset,
    /// Logical time of the earliest evidence, µs.
    pub first_us: LogicalTime,
    /// Logical time of the latest evidence, µs.
    pub last_us: LogicalTime,
    /// Order ids, trade ids or (for escalations) alert ids, the episode's first one leading.
    pub evidence: Vec<CompactString>,
    /// The measured figures.
    #[serde(with = "details_wire")]
    pub details: AlertDetails,
}

/// `details` is untagged in JSON (its fields sit directly under `details`), which serde can only
/// read back through `deserialize_any`; timely's inter-process format (bincode) has no such thing,
/// so between processes the details travel as their JSON text.
mod details_wire {
    use serde::de::Error as _;
    use serde::ser::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::AlertDetails;

    pub fn serialize<S: Serializer>(details: &AlertDetails, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            details.serialize(serializer)
        } else {
            serde_json::to_string(details).map_err(S::Error::custom)?.serialize(serializer)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<AlertDetails, D::Error> {
        if deserializer.is_human_readable() {
            AlertDetails::deserialize(deserializer)
        } else {
            let text = String::deserialize(deserializer)?;
            serde_json::from_str(&text).map_err(D::Error::custom)
        }
    }
}

impl Alert {
    /// The deterministic id of an episode: the first 16 bytes of SHA-256 over its identity, as hex.
    pub fn id_of(pattern: Pattern, venue: Venue, account: &str, symbol: &Asset, anchor: &str) -> CompactString {
        let mut hasher = Sha256::new();
        for part in [pattern.name(), venue.name(), account, symbol.as_str(), anchor] {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
        let digest = hasher.finalize();
        let mut id = CompactString::with_capacity(32);
        for byte in &digest[..16] {
            id.push_str(&format!("{byte:02x}"));
        }
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_deterministic_and_distinguish_every_part() {
        let btc = Asset::from_venue_symbol("BTC").unwrap_or_else(|e| panic!("{e}"));
        let eth = Asset::from_venue_symbol("ETH").unwrap_or_else(|e| panic!("{e}"));
        let a = Alert::id_of(Pattern::Spoofing, Venue::Binance, "acct-1", &btc, "o1");
        assert_eq!(a, Alert::id_of(Pattern::Spoofing, Venue::Binance, "acct-1", &btc, "o1"));
        assert_eq!(a.len(), 32);
        let others = [
            Alert::id_of(Pattern::Layering, Venue::Binance, "acct-1", &btc, "o1"),
            Alert::id_of(Pattern::Spoofing, Venue::Bybit, "acct-1", &btc, "o1"),
            Alert::id_of(Pattern::Spoofing, Venue::Binance, "acct-2", &btc, "o1"),
            Alert::id_of(Pattern::Spoofing, Venue::Binance, "acct-1", &eth, "o1"),
            Alert::id_of(Pattern::Spoofing, Venue::Binance, "acct-1", &btc, "o2"),
            // Length-prefixed parts: moving a character between parts changes the id.
            Alert::id_of(Pattern::Spoofing, Venue::Binance, "acct-1o", &btc, "1"),
        ];
        for other in others {
            assert_ne!(a, other);
        }
    }

    #[test]
    fn alerts_cross_processes_in_bincode_and_stay_untagged_in_json() {
        let btc = Asset::from_venue_symbol("BTC").unwrap_or_else(|e| panic!("{e}"));
        let alert = Alert {
            alert_id: Alert::id_of(Pattern::WashTrading, Venue::Binance, "acct-1", &btc, "t1"),
            pattern: Pattern::WashTrading,
            severity: Severity::High,
            venue: Venue::Binance,
            account: "acct-1".into(),
            symbol: btc,
            first_us: 1,
            last_us: 2,
            evidence: vec!["t1".into()],
            details: AlertDetails::WashTrading {
                buyer: "acct-1".into(),
                seller: "acct-2".into(),
                group: None,
                price: crate::Dec::parse("2.5").unwrap_or_else(|e| panic!("{e}")),
                qty: crate::Dec::ONE,
            },
        };
        let bytes = bincode::serialize(&alert).unwrap_or_else(|e| panic!("{e}"));
        let back: Alert = bincode::deserialize(&bytes).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, alert);
        let json = serde_json::to_value(&alert).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(json["details"]["buyer"], "acct-1");
        let back: Alert = serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, alert);
    }
}
