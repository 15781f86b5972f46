//! Records of the positions and VaR dataflow (DESIGN 5.3).

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

use crate::asset::Asset;
use crate::decimal::Dec;
use crate::float::Float;
use crate::venue::Venue;

/// A `positions` record: the net size one account holds on one venue in one asset.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Position {
    /// The account that holds it.
    pub account: CompactString,
    /// The venue it is held on.
    pub venue: Venue,
    /// The canonical asset.
    pub symbol: Asset,
    /// Sum of the account's fills there, buys positive, sells negative (0 once flat).
    pub qty: Dec,
}

/// A `var` record: one account's exposure and rolling Value-at-Risk.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct VarFigures {
    /// The account.
    pub account: CompactString,
    /// Number of bars in the window (N).
    pub returns: u64,
    /// Sum of the exposures per asset.
    pub exposure_net: Dec,
    /// Sum of the absolute exposures per asset.
    pub exposure_gross: Dec,
    /// Historical VaR at 95%.
    pub var_hist_95: Dec,
    /// Historical expected shortfall at 95%.
    pub es_hist_95: Dec,
    /// Historical VaR at 99%.
    pub var_hist_99: Dec,
    /// Historical expected shortfall at 99%.
    pub es_hist_99: Dec,
    /// Parametric (variance-covariance) VaR at 95%, floating point.
    pub var_param_95: Float,
    /// Parametric VaR at 99%, floating point.
    pub var_param_99: Float,
}

/// A `stress` record: one account's P&L under one configured shock scenario.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StressPnl {
    /// The account.
    pub account: CompactString,
    /// The scenario's name from `[[var.stress]]`.
    pub scenario: String,
    /// `sum over assets of exposure * shock`.
    pub pnl: Dec,
}
