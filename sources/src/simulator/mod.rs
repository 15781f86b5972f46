//! A deterministic market simulator for `nexus demo` (and tests): four venues and the scanner,
//! emitting the venues' real payload formats.
//!
//! - Funding rates are random walks per asset with a drifting offset per venue, so cross-venue
//!   spreads open and close.
//! - Each venue's funding feed goes silent for 200 s out of every 900 s (staggered), long enough for
//!   its observations to go stale under the default 180 s horizon.
//! - The scanner mostly agrees with the venues but now and then reports a biased rate for one
//!   (venue, asset), which reconciliation flags as a discrepancy.
//! - Books drift around a mark price per asset.
//! - [`OrderFlow`]: benign order flow and trades with manipulation episodes injected now and then,
//!   and the alerts they must raise.
//!
//! The same seed and start time give the same messages, byte for byte.

mod market;
mod orders;

pub use market::{SimMessage, Simulator, SimulatorConfig};
pub use orders::{ExpectedAlert, OrderFlow, OrderFlowConfig};
