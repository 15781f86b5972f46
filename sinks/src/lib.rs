//! # nexus-sinks
//!
//! Where output collections go. Workers send [`SinkEvent`]s (serialized updates of each stream, and
//! the frontier before which everything has been sent); a sink writes each time once it is complete.
//!
//! - [`event`]: the events workers send to sinks.
//! - [`complete`]: buffering updates until their time is complete, consolidated and in order.
//! - [`jsonl`]: the `DIR/<stream>.jsonl` files of DESIGN section 6.
//! - [`nats`]: the `out.<stream>` subjects.
//! - [`postgres`]: current-state and history tables with the committed frontier, and the migrations.

pub mod complete;
pub mod event;
pub mod jsonl;
pub mod nats;
pub mod postgres;

pub use event::{SinkEvent, Update};
