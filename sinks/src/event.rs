//! What workers tell sinks.

use nexus_model::LogicalTime;
use nexus_model::records::OutputStream;

/// One update of an output collection: the record as JSON, its time and its diff.
pub type Update = (String, LogicalTime, isize);

/// A message from the workers to a sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkEvent {
    /// Updates of one stream, in any order.
    Updates {
        /// The stream.
        stream: OutputStream,
        /// The updates.
        updates: Vec<Update>,
    },
    /// Every update at a time before this one has been sent: those times are complete.
    Frontier(LogicalTime),
    /// The input ended at this time; updates after it describe a future that replay does not show.
    Stop(LogicalTime),
}
