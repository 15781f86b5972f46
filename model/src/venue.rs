//! Trading venues and the facts about them that the contract fixes (names, default funding intervals).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::decimal::Dec;

/// A derivatives venue whose funding rates, books and trades nexus reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Venue {
    /// Binance USDⓈ-M futures.
    Binance,
    /// Bybit v5 linear perpetuals.
    Bybit,
    /// OKX v5 swaps.
    Okx,
    /// Hyperliquid perpetuals.
    Hyperliquid,
}

/// A venue name that nexus does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown venue {0:?} (valid: binance, bybit, okx, hyperliquid)")]
pub struct UnknownVenue(pub String);

impl Venue {
    /// Every venue, in a fixed order.
    pub const ALL: [Venue; 4] = [Venue::Binance, Venue::Bybit, Venue::Okx, Venue::Hyperliquid];

    /// The venue's name as used in subjects, config keys and outputs.
    pub fn name(self) -> &'static str {
        match self {
            Venue::Binance => "binance",
            Venue::Bybit => "bybit",
            Venue::Okx => "okx",
            Venue::Hyperliquid => "hyperliquid",
        }
    }

    /// The native funding interval in hours when neither the feed nor the config says otherwise.
    pub fn default_interval_h(self) -> Dec {
        match self {
            Venue::Hyperliquid => Dec::from(1i64),
            Venue::Binance | Venue::Bybit | Venue::Okx => Dec::from(8i64),
        }
    }

    /// The venue named by an ArbitrageScanner `exchange` slug, if it is one nexus follows.
    pub fn from_scanner_slug(slug: &str) -> Option<Venue> {
        match slug {
            "binance_futures" => Some(Venue::Binance),
            "bybit_futures" => Some(Venue::Bybit),
            "okex_futures" => Some(Venue::Okx),
            "hyperliquid_futures" => Some(Venue::Hyperliquid),
            _ => None,
        }
    }
}

impl FromStr for Venue {
    type Err = UnknownVenue;
    fn from_str(name: &str) -> Result<Venue, UnknownVenue> {
        Venue::ALL.into_iter().find(|v| v.name() == name).ok_or_else(|| UnknownVenue(name.to_string()))
    }
}

impl fmt::Display for Venue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
