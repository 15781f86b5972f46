//! The run-time parameters of the risk gate, as one record of a parameter collection.

use compact_str::CompactString;
use nexus_model::Dec;
use nexus_model::config::Config;
use serde::{Deserialize, Serialize};

use crate::Time;

/// `[risk]`. The collection holds exactly one.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct GateParams {
    /// The account orders are sent for, and whose VaR, halts and alerts count.
    pub account: CompactString,
    /// Decimal places of leg quantities (rounded down).
    pub qty_decimals: u32,
    /// Minimum UOS to open an arbitrage.
    pub min_uos: Dec,
    /// An open arbitrage stays open while its UOS is at least this (and its net APR positive).
    pub exit_uos: Dec,
    /// Largest notional of one arbitrage.
    pub max_notional: Dec,
    /// Share of the thinner book's depth one arbitrage may take.
    pub depth_fraction: Dec,
    /// Largest notional of the open legs on one venue.
    pub max_venue_exposure: Dec,
    /// Largest gross notional (both legs) of the open arbitrages on one asset.
    pub max_asset_exposure: Dec,
    /// Largest 99% historical VaR of the account at which new arbitrages are opened.
    pub max_var: Dec,
    /// Most arbitrages open at once.
    pub max_open: usize,
    /// How long a leg may wait for its twin's first fill before it is unwound, µs.
    pub leg_timeout_us: Time,
}

impl GateParams {
    /// The gate parameters of a configuration.
    pub fn from_config(config: &Config) -> GateParams {
        let r = &config.risk;
        GateParams {
            account: CompactString::from(r.account.as_str()),
            qty_decimals: r.qty_decimals,
            min_uos: r.min_uos,
            exit_uos: r.exit_uos,
            max_notional: r.max_notional,
            depth_fraction: r.depth_fraction,
            max_venue_exposure: r.max_venue_exposure,
            max_asset_exposure: r.max_asset_exposure,
            max_var: r.max_var,
            max_open: r.max_open,
            leg_timeout_us: r.leg_timeout_ms.saturating_mul(1000),
        }
    }

    /// The lowest UOS at which an opportunity matters to the gate (entry or holding).
    pub fn floor_uos(&self) -> Dec {
        self.min_uos.min(self.exit_uos)
    }
}
