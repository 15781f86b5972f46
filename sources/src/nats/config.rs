//! Configuration of the NATS source.

use std::time::Duration;

use super::connection::NatsConnection;
use super::rounds::RoundsConfig;
use super::source::{NatsSource, NatsSourceError};

/// Where to read and how to batch.
#[derive(Clone, Debug)]
pub struct NatsSourceConfig {
    /// Server, credentials and TLS.
    pub connection: NatsConnection,
    /// Subject prefix (`nats.prefix`), stripped before decoding.
    pub prefix: String,
    /// Subject families to read, without the prefix; default `feeds.`, `exec.fills.`, `control.`.
    /// One subscription (`<prefix>>`) carries them all, so messages keep the order the server saw
    /// them in (separate subscriptions would interleave arbitrarily); other subjects are ignored.
    pub families: Vec<String>,
    /// Messages the client may buffer per subscription before it drops them and reports a slow
    /// consumer; default 1,048,576 (the library default of 65,536 loses messages under load).
    pub subscription_capacity: usize,
    /// Items per round sent to the workers; default 1024.
    pub max_batch: usize,
    /// How often pending messages are looked at; default 1 ms. They are sent at once while the
    /// workers are idle, and batched while the workers are busy.
    pub linger: Duration,
    /// The longest pending messages wait for busy workers before a round is sent anyway;
    /// default 50 ms.
    pub max_hold: Duration,
    /// Without messages for this long the clock moves on: to the wall clock for live feeds, to just
    /// after the last message for a published recording; default 100 ms.
    pub idle_advance: Duration,
    /// Receive times are rounded down to this many microseconds (0: exact); default 1000.
    /// `Nexus-Time` stamps are always kept exactly.
    pub tick_us: u64,
}

impl NatsSourceConfig {
    /// The defaults for a connection and prefix.
    pub fn new(connection: NatsConnection, prefix: impl Into<String>) -> NatsSourceConfig {
        NatsSourceConfig {
            connection,
            prefix: prefix.into(),
            families: vec!["feeds.".to_string(), "exec.fills.".to_string(), "control.".to_string()],
            subscription_capacity: 1 << 20,
            max_batch: 1024,
            linger: Duration::from_millis(1),
            max_hold: Duration::from_millis(50),
            idle_advance: Duration::from_millis(100),
            tick_us: 1000,
        }
    }

    /// How rounds are formed.
    pub fn rounds(&self) -> RoundsConfig {
        RoundsConfig {
            max_batch: self.max_batch,
            linger: self.linger,
            max_hold: self.max_hold,
            idle_advance: self.idle_advance,
            tick_us: self.tick_us,
        }
    }

    /// Connects and subscribes.
    pub async fn build(&self) -> Result<NatsSource, NatsSourceError> {
        NatsSource::connect(self.clone()).await
    }
}
