//! Messages as they enter the system.

use bytes::Bytes;
use nexus_model::LogicalTime;
use nexus_model::records::Rejected;

/// Largest accepted payload (DESIGN section 4): 1 MiB. Larger payloads are rejected before parsing.
pub const MAX_PAYLOAD_BYTES: usize = 1 << 20;

/// Bytes of payload kept in a rejection's excerpt.
pub const EXCERPT_BYTES: usize = 256;

/// One message on a subject, stamped with its logical time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Position in the input (recording line number, stream sequence): makes "latest" deterministic.
    pub seq: u64,
    /// Logical time (DESIGN section 2), already clamped to the input's clock.
    pub time: LogicalTime,
    /// NATS subject.
    pub subject: String,
    /// Raw payload bytes, exactly as published.
    pub payload: Bytes,
}

/// What travels from a source to a worker: a message to decode, or an input that was already
/// found unusable (a recording line that is not a message at all).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// A message to decode.
    Message(Message),
    /// An input rejected before decoding, at the given logical time.
    Unusable {
        /// Position in the input.
        seq: u64,
        /// Logical time of the rejection.
        time: LogicalTime,
        /// The rejection record.
        rejected: Rejected,
    },
}

impl Item {
    /// Position in the input.
    pub fn seq(&self) -> u64 {
        match self {
            Item::Message(message) => message.seq,
            Item::Unusable { seq, .. } => *seq,
        }
    }
}

/// The first [`EXCERPT_BYTES`] of a payload, as lossy UTF-8.
pub fn excerpt(payload: &[u8]) -> String {
    let end = payload.len().min(EXCERPT_BYTES);
    String::from_utf8_lossy(&payload[..end]).into_owned()
}
