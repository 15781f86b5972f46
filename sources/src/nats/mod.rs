//! The core-NATS source: subscribes to the input subjects and feeds the workers through the input
//! bridge. Logical time is the `Nexus-Time` header when a message carries one (a published
//! recording), else the receive time.

mod config;
mod source;

pub use config::NatsSourceConfig;
pub use source::{NatsSource, NatsSourceError, NatsSourceStats};

pub use nexus_model::time::NEXUS_TIME_HEADER;
