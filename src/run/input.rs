//! The worker's input: durable JetStream streams (`nats.jetstream = true`, the default) or core
//! NATS subjects.

use std::sync::Arc;

use nexus_model::LogicalTime as Time;
use nexus_model::config::Config;
use nexus_sources::jetstream::{JetStreamSource, JetStreamSourceConfig, Resume};
use nexus_sources::nats::{
    NatsConnection, NatsSource, NatsSourceConfig, NatsSourceError, NatsSourceStats, WorkerFeeds,
};
use tokio::sync::watch;

/// A connected source of either kind.
pub enum InputSource {
    /// JetStream: replayed from the committed frontier after a restart.
    Durable(JetStreamSource),
    /// Core NATS: what arrives while the worker is down is not seen.
    Core(NatsSource),
}

impl InputSource {
    /// Connects the source `config` asks for; a durable one resumes at `committed`.
    pub async fn connect(
        config: &Config,
        connection: &NatsConnection,
        committed: Time,
    ) -> Result<InputSource, NatsSourceError> {
        let nats = NatsSourceConfig {
            tick_us: config.workers.tick_us,
            ..NatsSourceConfig::new(connection.named("nexus-source"), &config.nats.prefix)
        };
        if config.nats.jetstream {
            let resume = Resume { frontier: committed, lookback_us: config.lookback_us() };
            Ok(InputSource::Durable(JetStreamSourceConfig::new(nats, resume).build().await?))
        } else {
            Ok(InputSource::Core(nats.build().await?))
        }
    }

    /// Live counters.
    pub fn stats(&self) -> Arc<NatsSourceStats> {
        match self {
            InputSource::Durable(source) => source.stats(),
            InputSource::Core(source) => source.stats(),
        }
    }

    /// The connection (for health checks).
    pub fn client(&self) -> async_nats::Client {
        match self {
            InputSource::Durable(source) => source.client(),
            InputSource::Core(source) => source.client(),
        }
    }

    /// Feeds the workers until `shutdown`.
    pub async fn run(self, feeds: WorkerFeeds, shutdown: watch::Receiver<bool>) -> Result<(), NatsSourceError> {
        match self {
            InputSource::Durable(source) => source.run(feeds, shutdown).await,
            InputSource::Core(source) => source.run(feeds, shutdown).await,
        }
    }
}
