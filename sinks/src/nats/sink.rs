//! Publishes complete batches.

use bytes::Bytes;

use crate::complete::CompleteBatch;

/// Why publishing failed.
#[derive(Debug, thiserror::Error)]
pub enum NatsOutError {
    /// A publish failed.
    #[error("cannot publish to {subject}")]
    Publish {
        /// The subject.
        subject: String,
        /// The cause.
        #[source]
        source: async_nats::PublishError,
    },
    /// Flushing to the server failed.
    #[error("cannot flush to nats")]
    Flush(#[source] async_nats::client::FlushError),
}

/// Publishes `out.<stream>` subjects.
pub struct NatsOutSink {
    client: async_nats::Client,
    prefix: String,
}

impl NatsOutSink {
    /// Publishes on `client`; subjects get `prefix` in front.
    pub fn new(client: async_nats::Client, prefix: &str) -> NatsOutSink {
        NatsOutSink { client, prefix: prefix.to_string() }
    }

    /// Publishes every update of the batch on `out.<stream>`, then flushes.
    pub async fn write(&self, batch: &CompleteBatch) -> Result<(), NatsOutError> {
        for (time, streams) in &batch.times {
            for (stream, updates) in streams {
                if stream.is_internal() {
                    continue;
                }
                let subject = format!("{}out.{}", self.prefix, stream.name());
                for (data, diff) in updates {
                    let line = format!("{{\"time\":{time},\"diff\":{diff},\"data\":{data}}}");
                    self.client
                        .publish(subject.clone(), Bytes::from(line))
                        .await
                        .map_err(|source| NatsOutError::Publish { subject: subject.clone(), source })?;
                }
            }
        }
        self.client.flush().await.map_err(NatsOutError::Flush)
    }
}
