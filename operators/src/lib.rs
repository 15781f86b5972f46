//! # nexus-operators
//!
//! Differential operators that several dataflows share. Each is a function from collections (or an
//! upsert stream) to collections; none does I/O.
//!
//! - [`harness`]: runs a fragment on a recorded history with N workers (oracle tests, benchmarks).
//! - [`latest_by_key`]: turns a stream of keyed upserts into the collection of each key's latest value.
//! - [`pace`]: holds a loop's inputs back until the loop reaches their time, so its batcher does
//!   not walk the times still ahead on every trip.
//! - [`retract_at`]: keeps each record only until a time computed from the record itself (freshness,
//!   sliding windows), by scheduling its retraction when it is inserted.
//! - [`top_k`]: the `k` least records, ranked, in two stages so that most changes stay local.
//! - [`schedule`]: moves updates to later logical times, holding them cheaply until they are due;
//!   the primitive under every time-based rule.
//! - [`time_shift`]: [`delay_until`] (hide a record until a time of its own), [`sample_every`] (the
//!   collection as of the last grain boundary) and [`linger`] (the values of the last span).
//! - [`freeze_at`]: keeps each record as it was just before a time of its own (an alert whose
//!   episode has settled), whatever its inputs do later.
//! - [`decimal_sum`]: exact decimal sums per key as differential differences, so that a retraction
//!   cancels its insertion to the last digit.
//! - [`with_params`]: joins a collection with a small, global parameter collection that is broadcast
//!   to every worker, so parameters can change at run time without funnelling the data to one worker.

pub mod decimal_sum;
pub mod freeze;
pub mod harness;
pub mod latest_by_key;
pub mod pace;
pub mod retract_at;
pub mod schedule;
pub mod time_shift;
pub mod top_k;
pub mod with_params;

pub use decimal_sum::{DecimalSum, sum_by_key};
pub use freeze::freeze_at;
pub use latest_by_key::latest_by_key;
pub use pace::pace;
pub use retract_at::retract_at;
pub use schedule::schedule;
pub use time_shift::{delay_until, linger, sample_every};
pub use top_k::top_k;
pub use with_params::with_params;

/// Logical time of every nexus dataflow (microseconds).
pub type Time = nexus_model::LogicalTime;
