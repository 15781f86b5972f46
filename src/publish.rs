//! `nexus publish`: sends a recording into NATS in order, each message with the header
//! `Nexus-Time: <recv_us>`, so that `nexus run` processes it exactly as `nexus replay` would.

use std::path::Path;
use std::time::{Duration, Instant};

use std::collections::VecDeque;

use async_nats::HeaderMap;
use nexus_model::streams::Stream;
use nexus_sources::jetstream::ensure_input_streams;
use nexus_sources::nats::{NEXUS_TIME_HEADER, NatsConnection};
use nexus_sources::recording::{RecordedLine, RecordingError, RecordingReader};

use crate::error_chain::error_chain;

/// How fast to publish.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pace {
    /// As fast as the connection allows.
    Unlimited,
    /// A fixed number of messages per second.
    Rate(f64),
    /// The recording's own timing, sped up by this factor.
    Speed(f64),
}

/// Why publishing failed.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The recording could not be read.
    #[error(transparent)]
    Recording(#[from] RecordingError),
    /// The server could not be reached.
    #[error("cannot connect to nats at {url}")]
    Connect {
        /// The URL, without credentials.
        url: String,
        /// The cause.
        #[source]
        source: async_nats::ConnectError,
    },
    /// A publish, its acknowledgement or the final flush failed.
    #[error("cannot publish to nats: {0}")]
    Publish(String),
}

/// What was published.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PublishSummary {
    /// Messages published.
    pub published: u64,
    /// Recording lines skipped because they are not recorded messages.
    pub skipped: u64,
}

/// Acknowledgements a JetStream publish may have outstanding before the next waits.
const MAX_PENDING_ACKS: usize = 4096;

/// Publishes every message of the recording at `path` under `prefix`. With `jetstream`, the input
/// streams are created if missing and every message on their subjects waits for the server's
/// acknowledgement (stored, so a worker started later still reads it); other subjects, and every
/// message without `jetstream`, go out on core NATS.
pub async fn publish(
    path: &Path,
    connection: &NatsConnection,
    prefix: &str,
    jetstream: bool,
    pace: Pace,
) -> Result<PublishSummary, PublishError> {
    let mut reader = RecordingReader::open(path)?;
    let client = connection
        .connect()
        .await
        .map_err(|source| PublishError::Connect { url: connection.redacted_url(), source })?;
    let context = match jetstream {
        true => {
            let context = async_nats::jetstream::new(client.clone());
            ensure_input_streams(&context, prefix).await.map_err(|e| PublishError::Publish(error_chain(&e)))?;
            Some(context)
        }
        false => None,
    };
    let mut acks = VecDeque::new();
    let started = Instant::now();
    let mut first_time: Option<u64> = None;
    let mut summary = PublishSummary::default();
    while let Some(line) = reader.next_line() {
        let (recv_us, subject, payload) = match line? {
            RecordedLine::Message { recv_us, subject, payload } => (recv_us, subject, payload),
            RecordedLine::Unreadable { .. } => {
                summary.skipped += 1;
                continue;
            }
        };
        let due = match pace {
            Pace::Unlimited => None,
            Pace::Rate(per_second) => Some(Duration::from_secs_f64(summary.published as f64 / per_second)),
            Pace::Speed(factor) => {
                let first = *first_time.get_or_insert(recv_us);
                Some(Duration::from_secs_f64(recv_us.saturating_sub(first) as f64 / 1e6 / factor))
            }
        };
        if let Some(due) = due
            && let Some(wait) = due.checked_sub(started.elapsed())
        {
            tokio::time::sleep(wait).await;
        }
        let mut headers = HeaderMap::new();
        headers.insert(NEXUS_TIME_HEADER, recv_us.to_string().as_str());
        let stored = Stream::INPUTS.iter().any(|s| subject.starts_with(s.subjects().trim_end_matches('>')));
        match &context {
            Some(context) if stored => {
                let ack = context
                    .publish_with_headers(format!("{prefix}{subject}"), headers, payload)
                    .await
                    .map_err(|e| PublishError::Publish(error_chain(&e)))?;
                acks.push_back(ack);
                if acks.len() >= MAX_PENDING_ACKS
                    && let Some(ack) = acks.pop_front()
                {
                    ack.await.map_err(|e| PublishError::Publish(error_chain(&e)))?;
                }
            }
            _ => client
                .publish_with_headers(format!("{prefix}{subject}"), headers, payload)
                .await
                .map_err(|e| PublishError::Publish(error_chain(&e)))?,
        }
        summary.published += 1;
    }
    for ack in acks {
        ack.await.map_err(|e| PublishError::Publish(error_chain(&e)))?;
    }
    client.flush().await.map_err(|e| PublishError::Publish(error_chain(&e)))?;
    Ok(summary)
}
