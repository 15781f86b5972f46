//! The order dispatcher: each order intent on `<prefix>exec.orders.<venue>`, with its client order
//! id as `Nats-Msg-Id` and its logical time as `Nexus-Time`.
//!
//! With JetStream, the intents go through a stream (`<PREFIX>ORDERS`, created if missing) whose
//! duplicate window drops a re-dispatch of the same id: a replayed batch, a restarted worker.

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, stream};
use bytes::Bytes;
use nexus_model::LogicalTime;
use nexus_model::records::OrderIntent;
use nexus_model::streams::Stream;
use nexus_model::time::NEXUS_TIME_HEADER;

/// How long JetStream remembers a client order id.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// How long the orders stream keeps an order intent (a week), so it does not grow for ever.
pub const ORDERS_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

/// Why an order could not be dispatched.
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    /// The orders stream could not be created or read.
    #[error("cannot create jetstream stream {name}")]
    Stream {
        /// The stream's name.
        name: String,
        /// The cause.
        #[source]
        source: async_nats::jetstream::context::CreateStreamError,
    },
    /// An order intent was not accepted by the server.
    #[error("cannot dispatch order {client_order_id} to {subject}")]
    Publish {
        /// The order.
        client_order_id: String,
        /// The subject.
        subject: String,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An order record did not have the shape of an intent.
    #[error("malformed order record")]
    Record(#[source] serde_json::Error),
}

/// The name of the orders stream for subjects under `prefix` (`t42.` gives `T42_ORDERS`).
pub fn stream_name(prefix: &str) -> String {
    Stream::Orders.name(prefix)
}

/// Publishes order intents.
pub struct OrderDispatch {
    client: async_nats::Client,
    jetstream: Option<jetstream::Context>,
    prefix: String,
}

impl OrderDispatch {
    /// A dispatcher on `client`; with `use_jetstream`, the orders stream is created if missing.
    pub async fn new(
        client: async_nats::Client,
        prefix: &str,
        use_jetstream: bool,
    ) -> Result<OrderDispatch, DispatchError> {
        let jetstream = if use_jetstream {
            let context = jetstream::new(client.clone());
            let name = stream_name(prefix);
            context
                .get_or_create_stream(stream::Config {
                    name: name.clone(),
                    subjects: vec![Stream::Orders.subject_filter(prefix)],
                    duplicate_window: DUPLICATE_WINDOW,
                    max_age: ORDERS_MAX_AGE,
                    ..Default::default()
                })
                .await
                .map_err(|source| DispatchError::Stream { name, source })?;
            Some(context)
        } else {
            None
        };
        Ok(OrderDispatch { client, jetstream, prefix: prefix.to_string() })
    }

    /// Sends whatever the client still buffers.
    pub async fn flush(&self) {
        self.client.flush().await.ok();
    }

    /// Sends one order intent (`data` as the `orders` stream carries it) decided at `time`.
    /// Returns true when JetStream recognized it as a duplicate and dropped it.
    pub async fn dispatch(&self, data: &str, time: LogicalTime) -> Result<bool, DispatchError> {
        let order: OrderIntent = serde_json::from_str(data).map_err(DispatchError::Record)?;
        let subject = format!("{}exec.orders.{}", self.prefix, order.venue.name());
        let mut headers = HeaderMap::new();
        headers.insert("Nats-Msg-Id", order.client_order_id.as_str());
        headers.insert(NEXUS_TIME_HEADER, time.to_string().as_str());
        let payload = Bytes::from(data.to_string());
        let failed = |source: Box<dyn std::error::Error + Send + Sync>| DispatchError::Publish {
            client_order_id: order.client_order_id.to_string(),
            subject: subject.clone(),
            source,
        };
        match &self.jetstream {
            Some(context) => {
                let ack = context
                    .publish_with_headers(subject.clone(), headers, payload)
                    .await
                    .map_err(|e| failed(Box::new(e)))?
                    .await
                    .map_err(|e| failed(Box::new(e)))?;
                Ok(ack.duplicate)
            }
            None => {
                self.client
                    .publish_with_headers(subject.clone(), headers, payload)
                    .await
                    .map_err(|e| failed(Box::new(e)))?;
                Ok(false)
            }
        }
    }
}
