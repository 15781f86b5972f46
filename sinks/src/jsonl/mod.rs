//! The JSON-lines sink (DESIGN section 6): `DIR/<stream>.jsonl`, one
//! `{"time": T, "diff": D, "data": {...}}` line per update, in time order. Within a time, updates are
//! consolidated (diffs of equal records summed, zeros dropped) and sorted by record, so the files are
//! the same whatever the number of workers.

mod writer;

pub use writer::{JsonlError, JsonlSink, SinkSummary};
