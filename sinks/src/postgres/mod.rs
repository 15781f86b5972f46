//! The PostgreSQL sink (DESIGN section 6): current-state tables upserted from the diffs, append-only
//! history, and the committed logical-time frontier, all in one transaction per batch. Writing the
//! same batch twice leaves the tables unchanged.

mod alerts;
mod changes;
mod config;
mod gate;
mod opportunities;
mod risk;
mod sink;
pub mod testing;

pub use config::PostgresSinkConfig;
pub use sink::{PostgresError, PostgresSink, pending_migrations};

/// The embedded schema migrations (`migrations/` at the workspace root).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");
