//! NATS input.
//!
//! - [`connection`]: server URL, TLS and credentials (from the environment only) for every client.
//! - [`rounds`]: what both sources share: stamping logical time, batching rounds for the workers,
//!   moving the clock on when nothing arrives.
//! - [`NatsSource`] (`source.rs`, `config.rs`): the core-NATS subscriber. Logical time is the
//!   `Nexus-Time` header when a message carries one (a published recording), else the receive time.
//!   Nothing is replayed after a crash: use the JetStream source for that.

mod config;
pub mod connection;
pub mod rounds;
pub(crate) mod source;

pub use config::NatsSourceConfig;
pub use connection::{NatsAuth, NatsAuthError, NatsConnection};
pub use rounds::WorkerFeeds;
pub use source::{NatsSource, NatsSourceError, NatsSourceStats};

pub use nexus_model::time::NEXUS_TIME_HEADER;
