//! Logical time (DESIGN section 2): microseconds since the Unix epoch at which a message entered the
//! system. Payload timestamps are data and stay in milliseconds.

/// Logical time in microseconds since the Unix epoch; the timestamp of every dataflow.
pub type LogicalTime = u64;

/// The NATS header that carries a message's logical time (a published recording, our orders and
/// the paper venue's fills), so that the receiving worker uses it instead of the receive time.
pub const NEXUS_TIME_HEADER: &str = "Nexus-Time";

/// Microseconds per millisecond.
pub const MICROS_PER_MILLI: u64 = 1_000;

/// Milliseconds per hour, used for funding intervals and settlement times.
pub const MILLIS_PER_HOUR: u64 = 3_600_000;

/// Converts a millisecond duration (as configured) into logical-time microseconds, saturating.
pub fn millis_to_micros(millis: u64) -> LogicalTime {
    millis.saturating_mul(MICROS_PER_MILLI)
}
