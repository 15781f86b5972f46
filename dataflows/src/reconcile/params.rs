//! The run-time parameters of reconciliation, as one record of a parameter collection.

use nexus_model::Dec;
use nexus_model::config::Config;
use nexus_model::time::millis_to_micros;
use serde::{Deserialize, Serialize};

/// `[reconcile]` in the units the dataflow uses. The parameter collection holds exactly one.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ReconcileParams {
    /// Freshness horizon in logical-time microseconds (`reconcile.stale_after_ms` * 1000).
    pub stale_after_us: u64,
    /// `reconcile.abs_tolerance`.
    pub abs_tolerance: Dec,
    /// `reconcile.rel_tolerance`.
    pub rel_tolerance: Dec,
}

/// The tolerances in force when an observation was judged fresh: they travel with the freshness
/// fact, so classification needs no second join with the parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Tolerances {
    /// `reconcile.abs_tolerance`.
    pub abs: Dec,
    /// `reconcile.rel_tolerance`.
    pub rel: Dec,
}

impl ReconcileParams {
    /// The agreement tolerances.
    pub fn tolerances(&self) -> Tolerances {
        Tolerances { abs: self.abs_tolerance, rel: self.rel_tolerance }
    }

    /// The reconciliation parameters of a configuration.
    pub fn from_config(config: &Config) -> ReconcileParams {
        ReconcileParams {
            stale_after_us: millis_to_micros(config.reconcile.stale_after_ms),
            abs_tolerance: config.reconcile.abs_tolerance,
            rel_tolerance: config.reconcile.rel_tolerance,
        }
    }
}
