//! `nexus paper-venue` on NATS: reads `<prefix>exec.orders.>`, follows books and mark prices on
//! `<prefix>feeds.book.>` and `<prefix>feeds.funding.>`, and publishes each fill on
//! `<prefix>exec.fills.<venue>` after the configured latency.
//!
//! A fill carries `Nexus-Time` = the order's `Nexus-Time` plus the latency, so a worker running
//! on a published recording's clock places it in that clock, not at the wall-clock time.

use std::sync::Arc;

use async_nats::HeaderMap;
use bytes::Bytes;
use futures::StreamExt;
use nexus_model::config::Config;
use nexus_model::funding::FundingSource;
use nexus_model::market::Fill;
use nexus_model::records::OrderIntent;
use nexus_model::time::NEXUS_TIME_HEADER;
use serde_json::json;
use tokio::sync::watch;

use crate::nats::NatsConnection;
use tokio::task::JoinSet;

use super::venue::{Outcome, PaperVenue};
use crate::decode::{Decoder, Input};
use crate::message::Message;

/// Why the paper venue stopped.
#[derive(Debug, thiserror::Error)]
pub enum PaperServiceError {
    /// The NATS credentials in the environment are unusable.
    #[error(transparent)]
    Auth(#[from] crate::nats::NatsAuthError),
    /// The server could not be reached.
    #[error("cannot connect to nats at {url}")]
    Connect {
        /// The URL, without credentials.
        url: String,
        /// The cause.
        #[source]
        source: async_nats::ConnectError,
    },
    /// A subscription was refused.
    #[error("cannot subscribe to {subject}")]
    Subscribe {
        /// The subject.
        subject: String,
        /// The cause.
        #[source]
        source: async_nats::SubscribeError,
    },
}

/// What the paper venue did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PaperSummary {
    /// Order intents received (duplicates included).
    pub orders: u64,
    /// Fills published.
    pub fills: u64,
    /// Orders rejected (no fill).
    pub rejected: u64,
    /// Orders ignored because their client order id was seen before.
    pub duplicates: u64,
    /// Order messages that were not order intents.
    pub unreadable: u64,
}

/// The JSON of a fill as `exec.fills.<venue>` carries it (DESIGN section 4).
pub fn fill_payload(fill: &Fill) -> String {
    json!({"fill_id": fill.fill_id, "client_order_id": fill.client_order_id, "account": fill.account,
        "symbol": fill.asset.as_str(), "side": fill.side.name(), "price": fill.price.value(),
        "qty": fill.qty.value(), "fee": fill.fee, "ts_ms": fill.ts_ms})
    .to_string()
}

fn wall_clock_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Runs the paper venue until `shutdown` turns true; calls `ready` once subscribed. Fills still
/// waiting out their latency are published before it returns.
pub async fn run(
    config: &Config,
    mut venue: PaperVenue,
    mut shutdown: watch::Receiver<bool>,
    ready: impl FnOnce(),
) -> Result<PaperSummary, PaperServiceError> {
    let prefix = config.nats.prefix.as_str();
    let connection = NatsConnection::from_config(&config.nats)?.named("nexus-paper-venue");
    let client = connection
        .connect()
        .await
        .map_err(|source| PaperServiceError::Connect { url: connection.redacted_url(), source })?;
    let mut subscriptions = Vec::new();
    for family in ["exec.orders.>", "feeds.book.>", "feeds.funding.>"] {
        let subject = format!("{prefix}{family}");
        let subscription = client
            .subscribe(subject.clone())
            .await
            .map_err(|source| PaperServiceError::Subscribe { subject: subject.clone(), source })?;
        subscriptions.push(subscription);
    }
    client.flush().await.ok();
    let mut messages = futures::stream::select_all(subscriptions);
    let mut decoder = Decoder::new(Arc::new(config.clone()));
    let mut summary = PaperSummary::default();
    let mut in_flight = JoinSet::new();
    let latency = venue.latency();
    let latency_us = latency.as_micros() as u64;
    tracing::info!(nats = %connection.redacted_url(), prefix, latency_ms = latency.as_millis() as u64, "paper venue ready");
    ready();
    loop {
        let message = tokio::select! {
            biased;
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break;
                }
                continue;
            }
            next = messages.next() => match next {
                Some(message) => message,
                None => break,
            },
        };
        let subject = message.subject.as_str().strip_prefix(prefix).unwrap_or(message.subject.as_str()).to_string();
        if !subject.starts_with("exec.orders.") {
            let message = Message { seq: 0, time: 0, subject, payload: message.payload };
            decoder.decode(&message, |input| match input {
                Ok(Input::Book(book)) => venue.book(book),
                Ok(Input::Funding(update)) if update.source == FundingSource::Exchange => {
                    if let Some(mark) = update.observation.mark_price {
                        venue.mark(update.venue, update.asset, mark.value());
                    }
                }
                _ => {}
            });
            continue;
        }
        summary.orders += 1;
        let order: OrderIntent = match serde_json::from_slice(&message.payload) {
            Ok(order) => order,
            Err(error) => {
                summary.unreadable += 1;
                tracing::warn!(subject, %error, "not an order intent: ignored");
                continue;
            }
        };
        match venue.order(&order, wall_clock_ms()) {
            Outcome::Duplicate => {
                summary.duplicates += 1;
                tracing::info!(client_order_id = %order.client_order_id, "duplicate order ignored");
            }
            Outcome::Rejected(reason) => {
                summary.rejected += 1;
                tracing::info!(client_order_id = %order.client_order_id, venue = %order.venue, reason, "order rejected");
            }
            Outcome::Filled(fill) => {
                summary.fills += 1;
                let stamped = message
                    .headers
                    .as_ref()
                    .and_then(|h| h.get(NEXUS_TIME_HEADER))
                    .and_then(|v| v.as_str().trim().parse::<u64>().ok());
                let mut headers = HeaderMap::new();
                if let Some(time) = stamped {
                    headers.insert(NEXUS_TIME_HEADER, time.saturating_add(latency_us).to_string().as_str());
                }
                let subject = format!("{prefix}exec.fills.{}", fill.venue.name());
                let payload = Bytes::from(fill_payload(&fill));
                let client = client.clone();
                in_flight.spawn(async move {
                    tokio::time::sleep(latency).await;
                    if let Err(error) = client.publish_with_headers(subject.clone(), headers, payload).await {
                        tracing::warn!(subject, %error, "fill not published");
                    }
                });
            }
        }
    }
    while in_flight.join_next().await.is_some() {}
    client.flush().await.ok();
    tracing::info!(
        orders = summary.orders,
        fills = summary.fills,
        rejected = summary.rejected,
        duplicates = summary.duplicates,
        "paper venue stopped"
    );
    Ok(summary)
}
