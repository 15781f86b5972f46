//! # nexus-model
//!
//! The vocabulary every other nexus crate speaks. No I/O and no dataflow logic lives here.
//!
//! - [`decimal`]: `Dec`, the exact decimal used for every price, size, rate and money figure; it is a
//!   differential key, value and difference type, and has separate JSON and inter-process encodings.
//! - [`float`]: `Float`, an `f64` with a total order for the few figures defined in floating point.
//! - [`money`]: `Price` and `Quantity`, positive by construction.
//! - [`numbers`]: lenient whole-number readers (integer, float or string) for config and payload times.
//! - [`time`]: logical time (microseconds) and unit helpers.
//! - [`venue`] and [`asset`]: venues, canonical assets and the venue-symbol mapping.
//! - [`funding`], [`market`], [`control`]: decoded inputs (funding observations, books, trades, order
//!   events, fills, parameter changes, halts).
//! - [`records`]: output records and stream names (DESIGN section 6).
//! - [`config`]: the TOML configuration with every default of DESIGN section 5.
//! - [`streams`]: JetStream stream names and subjects (DESIGN section 8).

pub mod asset;
pub mod config;
pub mod control;
pub mod decimal;
pub mod float;
pub mod funding;
pub mod market;
pub mod money;
pub mod numbers;
pub mod records;
pub mod streams;
pub mod time;
pub mod venue;

pub use asset::Asset;
pub use decimal::Dec;
pub use float::Float;
pub use money::{Price, Quantity};
pub use time::LogicalTime;
pub use venue::Venue;
