//! Logical time (DESIGN section 2): microseconds since the Unix epoch at which a message entered the
//! system. Payload timestamps are data and stay in milliseconds.

/// Logical time in microseconds since the Unix epoch; the timestamp of every dataflow.
pub type LogicalTime = u64;

/// Microseconds per millisecond.
pub const MICROS_PER_MILLI: u64 = 1_000;

/// Milliseconds per hour, used for funding intervals and settlement times.
pub const MILLIS_PER_HOUR: u64 = 3_600_000;

/// Converts a millisecond duration (as configured) into logical-time microseconds, saturating.
pub fn millis_to_micros(millis: u64) -> LogicalTime {
    millis.saturating_mul(MICROS_PER_MILLI)
}
