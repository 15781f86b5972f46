//! Configuration of the JetStream source.

use nexus_model::LogicalTime;

use super::source::JetStreamSource;
use crate::nats::{NatsSourceConfig, NatsSourceError};

/// Where a (re)started source picks up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resume {
    /// The sinks' committed frontier: every output before it is written (0: a first start).
    pub frontier: LogicalTime,
    /// How far before the frontier the feeds are replayed, in microseconds (the longest window).
    pub lookback_us: u64,
}

impl Resume {
    /// The first feed time replayed: `frontier - lookback`, or everything on a first start.
    pub fn feeds_from(&self) -> Option<LogicalTime> {
        (self.frontier > 0).then(|| self.frontier.saturating_sub(self.lookback_us))
    }
}

/// Where to read, where to resume and how to batch.
#[derive(Clone, Debug)]
pub struct JetStreamSourceConfig {
    /// Connection, prefix and batching, as for core NATS (`families` and `subscription_capacity`
    /// do not apply: the streams say what is read).
    pub nats: NatsSourceConfig,
    /// Where to resume.
    pub resume: Resume,
    /// Messages each stream's reader may hold ahead of the merge; default 8192.
    pub read_ahead: usize,
}

impl JetStreamSourceConfig {
    /// The defaults around a core-NATS configuration.
    pub fn new(nats: NatsSourceConfig, resume: Resume) -> JetStreamSourceConfig {
        JetStreamSourceConfig { nats, resume, read_ahead: 8192 }
    }

    /// Connects, creates missing streams and the consumers that replay them.
    pub async fn build(&self) -> Result<JetStreamSource, NatsSourceError> {
        JetStreamSource::connect(self.clone()).await
    }
}
