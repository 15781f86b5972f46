//! The core-NATS source: subscribes to the input subjects and feeds the workers through the input
//! bridge. Logical time is the `Nexus-Time` header when a message carries one (a published
//! recording), else the receive time.

mod config;
mod source;

pub use config::NatsSourceConfig;
pub use source::{NatsSource, NatsSourceError, NatsSourceStats};

/// The header that carries a message's logical time (microseconds), as `nexus publish` sends it.
pub const NEXUS_TIME_HEADER: &str = "Nexus-Time";
