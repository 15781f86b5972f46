//! The run-time parameters of the opportunity dataflow, as one record of a parameter collection.

use nexus_model::config::Config;
use nexus_model::{Dec, Venue};
use serde::{Deserialize, Serialize};

/// `[opportunities]`, `[opportunities.weights]` and `[fees.taker]`. The collection holds exactly one.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OpportunityParams {
    /// Minimum confidence of both legs' snapshots.
    pub min_confidence: Dec,
    /// Minimum net APR of an opportunity.
    pub min_net_apr: Dec,
    /// Holding period that amortizes the round trip, hours.
    pub hold_hours: Dec,
    /// Net APR at which the spread score saturates.
    pub target_apr: Dec,
    /// Depth at which the liquidity score saturates.
    pub target_depth: Dec,
    /// Weight of the spread score.
    pub weight_spread: Dec,
    /// Weight of the liquidity score.
    pub weight_liquidity: Dec,
    /// Weight of the confidence score.
    pub weight_confidence: Dec,
    /// Length of the ranked list.
    pub top_k: usize,
    /// Taker fee per venue, in `Venue::ALL` order.
    pub taker_fees: [Dec; 4],
}

impl OpportunityParams {
    /// The opportunity parameters of a configuration.
    pub fn from_config(config: &Config) -> OpportunityParams {
        let o = &config.opportunities;
        OpportunityParams {
            min_confidence: o.min_confidence,
            min_net_apr: o.min_net_apr,
            hold_hours: o.hold_hours,
            target_apr: o.target_apr,
            target_depth: o.target_depth,
            weight_spread: o.weights.spread,
            weight_liquidity: o.weights.liquidity,
            weight_confidence: o.weights.confidence,
            top_k: o.top_k,
            taker_fees: Venue::ALL.map(|v| config.fees.taker.of(v)),
        }
    }

    /// The taker fee of `venue`.
    pub fn fee(&self, venue: Venue) -> Dec {
        let index = Venue::ALL.iter().position(|v| *v == venue).unwrap_or(0);
        self.taker_fees[index]
    }
}
