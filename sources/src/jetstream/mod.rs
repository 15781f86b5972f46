//! The durable JetStream source (DESIGN section 8).
//!
//! Inputs live in three streams, created if missing: `FEEDS` (`feeds.>`), `EXEC` (`exec.fills.>`)
//! and `CONTROL` (`control.>`), each name carrying the deployment prefix. A message's logical time
//! is its `Nexus-Time` header if it has one, else the stream's stored timestamp, so every read of
//! a stream gives every message the same time.
//!
//! Nothing is acknowledged: what has been done is the sinks' committed frontier `F`. A (re)started
//! source reads `FEEDS` from `F - lookback` (the longest window in the configuration) and `EXEC`
//! and `CONTROL` from their start, through ordered consumers that recreate themselves after a lost
//! connection; the sinks drop outputs before `F`. Same input, same times, same outputs.
//!
//! - `config.rs`: where to resume and how to batch; `build` creates the streams and consumers.
//! - `merge.rs`: the three streams merged in time order.
//! - `source.rs`: one reader task per stream, then the shared rounds of [`crate::nats::rounds`].

mod config;
mod merge;
mod source;
mod streams;

pub use config::{JetStreamSourceConfig, Resume};
pub use source::JetStreamSource;
pub use streams::{INPUT_MAX_AGE, ensure_input_streams};
