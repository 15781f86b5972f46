//! The inputs and parameters of the positions and VaR dataflow.

use nexus_model::config::Config;
use nexus_model::{Asset, Dec};
use serde::{Deserialize, Serialize};

use crate::Time;

/// Microseconds per millisecond: parameters are in ms, logical time in µs.
const US_PER_MS: u64 = 1_000;

/// `[var]` parameters that can change at run time. The collection holds exactly one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct VarParams {
    /// Bar length, ms: bar k covers `[k * bar, (k + 1) * bar)` of logical time.
    pub bar_ms: u64,
    /// The window holds at most this many complete bars.
    pub window_bars: u64,
    /// No `var` record below this many bars in the window.
    pub min_returns: u64,
}

impl VarParams {
    /// The run-time VaR parameters of a configuration.
    pub fn from_config(config: &Config) -> VarParams {
        let v = &config.var;
        VarParams { bar_ms: v.bar_ms, window_bars: v.window_bars as u64, min_returns: v.min_returns as u64 }
    }

    /// Bar length in logical time.
    pub fn bar_us(&self) -> Time {
        self.bar_ms.saturating_mul(US_PER_MS).max(1)
    }

    /// The bar that `time` falls in.
    pub fn bar_of(&self, time: Time) -> u64 {
        time / self.bar_us()
    }

    /// When bar `k` is complete: `(k + 1) * bar`.
    pub fn bar_end(&self, k: u64) -> Time {
        k.saturating_add(1).saturating_mul(self.bar_us())
    }
}

/// How the dataflow keeps price history: fixed when it is built (`var.grain_ms`,
/// `var.retention_ms`), because it sizes the state rather than the figures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PriceHistory {
    /// History is kept as the last price of each grain; every bar length is a multiple.
    pub grain_us: Time,
    /// A price is kept this long after it was replaced; every window fits in it.
    pub retention_us: Time,
}

impl PriceHistory {
    /// The history settings of a configuration.
    pub fn from_config(config: &Config) -> PriceHistory {
        PriceHistory {
            grain_us: config.var.grain_ms.saturating_mul(US_PER_MS).max(1),
            retention_us: config.var.retention_ms.saturating_mul(US_PER_MS),
        }
    }
}

/// A reference price: the latest exchange mark price of an asset, with when it arrived.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PriceTick {
    /// Arrival sequence: among ticks at one logical time the greatest is the latest.
    pub seq: u64,
    /// Logical time it arrived: decides its bar.
    pub time: Time,
    /// The mark price.
    pub price: Dec,
}

/// One asset's shock in one `[[var.stress]]` scenario.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Shock {
    /// Scenario name.
    pub scenario: String,
    /// The shocked asset.
    pub asset: Asset,
    /// Relative price change (`-0.20`).
    pub shock: Dec,
}

impl Shock {
    /// Every shock of every configured scenario (assets named by any venue symbol).
    pub fn all_of(config: &Config) -> Vec<Shock> {
        let mut shocks = Vec::new();
        for scenario in &config.var.stress {
            for (symbol, shock) in &scenario.shocks {
                if let Ok(asset) = Asset::from_venue_symbol(symbol) {
                    shocks.push(Shock { scenario: scenario.name.clone(), asset, shock: *shock });
                }
            }
        }
        shocks.sort();
        shocks.dedup_by(|a, b| a.scenario == b.scenario && a.asset == b.asset);
        shocks
    }
}
