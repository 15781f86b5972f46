//! The paper venue: fills our market orders at the current book, so the whole loop (gate, orders,
//! fills, positions, VaR, gate) runs on one machine.
//!
//! - [`config`]: latency, reject rate, venues that reject everything, fees; validated by
//!   [`PaperVenueConfig::build`].
//! - [`venue`]: the matching logic, free of I/O: books and mark prices in, an order in, a fill (or
//!   a rejection, or "already seen") out. The demo uses it in-process.
//! - [`service`]: `nexus paper-venue` on NATS: `exec.orders.>` in, `exec.fills.<venue>` out.

mod config;
pub mod service;
mod venue;

pub use config::{PaperVenueConfig, PaperVenueConfigError};
pub use service::fill_payload;
pub use venue::{Outcome, PaperVenue};
