//! Publishes complete batches.

use bytes::Bytes;

use crate::complete::CompleteBatch;

/// Why publishing failed.
#[derive(Debug, thiserror::Error)]
pub enum NatsOutError {
    /// The server could not be reached.
    #[error("cannot connect to nats at {url}")]
    Connect {
        /// The URL.
        url: String,
        /// The cause.
        #[source]
        source: async_nats::ConnectError,
    },
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
    /// Connects to `url`; subjects get `prefix` in front.
    pub async fn connect(url: &str, prefix: &str) -> Result<NatsOutSink, NatsOutError> {
        let client =
            async_nats::connect(url).await.map_err(|source| NatsOutError::Connect { url: url.to_string(), source })?;
        Ok(NatsOutSink { client, prefix: prefix.to_string() })
    }

    /// The connection, to share with the order dispatcher.
    pub fn client(&self) -> async_nats::Client {
        self.client.clone()
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
