//! Publishes complete batches.

use bytes::Bytes;

use nexus_model::records::OutputStream;

use super::orders::{DispatchError, OrderDispatch};
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
    /// An order intent could not be dispatched.
    #[error(transparent)]
    Dispatch(#[from] DispatchError),
}

/// Publishes `out.<stream>` subjects, and dispatches order intents.
pub struct NatsOutSink {
    client: async_nats::Client,
    prefix: String,
    orders: OrderDispatch,
}

impl NatsOutSink {
    /// Connects to `url`; subjects get `prefix` in front. With `jetstream`, order intents go
    /// through the orders stream, whose duplicate window drops a re-dispatch.
    pub async fn connect(url: &str, prefix: &str, jetstream: bool) -> Result<NatsOutSink, NatsOutError> {
        let client =
            async_nats::connect(url).await.map_err(|source| NatsOutError::Connect { url: url.to_string(), source })?;
        let orders = OrderDispatch::new(client.clone(), prefix, jetstream).await?;
        Ok(NatsOutSink { client, prefix: prefix.to_string(), orders })
    }

    /// Publishes every update of the batch and dispatches its new order intents, then flushes.
    pub async fn write(&self, batch: &CompleteBatch) -> Result<(), NatsOutError> {
        for (time, streams) in &batch.times {
            for (stream, updates) in streams {
                if *stream == OutputStream::Parameters {
                    continue;
                }
                let subject = format!("{}out.{}", self.prefix, stream.name());
                for (data, diff) in updates {
                    let line = format!("{{\"time\":{time},\"diff\":{diff},\"data\":{data}}}");
                    self.client
                        .publish(subject.clone(), Bytes::from(line))
                        .await
                        .map_err(|source| NatsOutError::Publish { subject: subject.clone(), source })?;
                    if *stream == OutputStream::Orders && *diff > 0 && self.orders.dispatch(data, *time).await? {
                        tracing::info!(time, order = %data, "order intent already dispatched: dropped as a duplicate");
                    }
                }
            }
        }
        self.client.flush().await.map_err(NatsOutError::Flush)
    }
}
