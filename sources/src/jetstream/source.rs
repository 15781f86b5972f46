//! The JetStream source: one reader task per input stream, merged by time, fed in rounds.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::{DeliverPolicy, pull::OrderedConfig};
use async_nats::jetstream::{self, stream};
use futures::StreamExt;
use nexus_model::LogicalTime;
use nexus_model::streams::Stream;
use tokio::sync::{mpsc, watch};

use super::config::JetStreamSourceConfig;
use super::merge::{Delivery, Merge, Probe};
use super::streams::ensure_input_streams;
use crate::nats::rounds::{Incoming, Stamp, WorkerFeeds, feed_rounds};
use crate::nats::source::connection_events;
use crate::nats::{NEXUS_TIME_HEADER, NatsSourceError, NatsSourceStats};

/// The longest wait before a reader recreates a consumer that stopped.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// A connected source whose streams exist.
pub struct JetStreamSource {
    config: JetStreamSourceConfig,
    client: async_nats::Client,
    streams: Vec<(Stream, stream::Stream)>,
    stats: Arc<NatsSourceStats>,
}

impl JetStreamSource {
    pub(super) async fn connect(config: JetStreamSourceConfig) -> Result<JetStreamSource, NatsSourceError> {
        let stats = Arc::new(NatsSourceStats::default());
        let connection = &config.nats.connection;
        let client = connection
            .connect_with(|options| options.event_callback(connection_events(&stats)))
            .await
            .map_err(|source| NatsSourceError::Connect { url: connection.redacted_url(), source })?;
        let context = jetstream::new(client.clone());
        let streams = ensure_input_streams(&context, &config.nats.prefix).await?;
        let streams = Stream::INPUTS.into_iter().zip(streams).collect();
        Ok(JetStreamSource { config, client, streams, stats })
    }

    /// Live counters.
    pub fn stats(&self) -> Arc<NatsSourceStats> {
        Arc::clone(&self.stats)
    }

    /// The connection (for health checks).
    pub fn client(&self) -> async_nats::Client {
        self.client.clone()
    }

    /// Feeds the workers until `shutdown` turns true, then ends their input at the current time.
    pub async fn run(self, feeds: WorkerFeeds, shutdown: watch::Receiver<bool>) -> Result<(), NatsSourceError> {
        let JetStreamSource { config, client: _client, streams, stats } = self;
        let feeds_from = config.resume.feeds_from();
        let mut readers = Vec::new();
        let mut tasks = Vec::new();
        for (input, stream) in streams {
            let (tx, rx) = mpsc::channel(config.read_ahead.max(1));
            let handed_over = Arc::new(AtomicU64::new(0));
            readers.push((rx, Some(Probe { stream: stream.clone(), handed_over: Arc::clone(&handed_over) })));
            let reader = Reader {
                handed_over,
                input,
                stream,
                prefix: config.nats.prefix.clone(),
                // Fills and control from the start: positions and parameters need all of them.
                from: if input == Stream::Feeds { feeds_from } else { None },
                stats: Arc::clone(&stats),
            };
            tasks.push(tokio::spawn(reader.run(tx)));
        }
        let merge = Merge::new(readers);
        let incoming =
            futures::stream::unfold(merge, |mut merge| async move { merge.next().await.map(|m| (m, merge)) });
        let result = feed_rounds(Box::pin(incoming), &config.nats.rounds(), &stats, feeds, shutdown).await;
        for task in tasks {
            task.abort();
        }
        result
    }
}

/// Reads one stream from where the restart needs it, for ever.
struct Reader {
    /// The last stream sequence handed to the merge (or skipped), for its questions.
    handed_over: Arc<AtomicU64>,
    input: Stream,
    stream: stream::Stream,
    prefix: String,
    /// Messages with an earlier logical time are skipped (and the read starts at this stored time).
    from: Option<LogicalTime>,
    stats: Arc<NatsSourceStats>,
}

impl Reader {
    /// Delivers the stream's messages to `out` until the merge hangs up. A consumer that stops
    /// (the server restarted, the consumer was deleted) is recreated after the last sequence read.
    async fn run(self, out: mpsc::Sender<Delivery>) {
        let name = self.stream.cached_info().config.name.clone();
        let mut next_sequence: Option<u64> = None;
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.read(&out, &mut next_sequence).await {
                Ok(()) => return,
                Err(error) => {
                    tracing::warn!(stream = %name, error = %error, retry_in_ms = backoff.as_millis() as u64, "jetstream read stopped: recreating the consumer");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
            if out.is_closed() {
                return;
            }
        }
    }

    /// One consumer's life. `Ok` when the merge hung up; `Err` when the consumer must be recreated.
    async fn read(
        &self,
        out: &mpsc::Sender<Delivery>,
        next_sequence: &mut Option<u64>,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let deliver_policy = match (*next_sequence, self.from) {
            (Some(start_sequence), _) => DeliverPolicy::ByStartSequence { start_sequence },
            (None, Some(from)) => DeliverPolicy::ByStartTime { start_time: to_datetime(from)? },
            (None, None) => DeliverPolicy::All,
        };
        let stored_before = self.stream.get_info().await?.state.last_sequence;
        let mut consumer = self
            .stream
            .create_consumer(OrderedConfig {
                filter_subject: self.input.subject_filter(&self.prefix),
                deliver_policy,
                ..Default::default()
            })
            .await?;
        if consumer.info().await?.num_pending == 0 {
            // Everything stored before the consumer lies before where it starts.
            self.handed_over.fetch_max(stored_before, Ordering::AcqRel);
            if out.send(Delivery::CaughtUp).await.is_err() {
                return Ok(());
            }
        }
        let mut messages = consumer.messages().await?;
        while let Some(message) = messages.next().await {
            let message = message?;
            let received = Instant::now();
            let info = message.info()?;
            let sequence = info.stream_sequence;
            *next_sequence = Some(info.stream_sequence + 1);
            let last = info.pending == 0;
            let stored = info.published.unix_timestamp_nanos().max(0) as u128 / 1000;
            let stamped = message
                .headers
                .as_ref()
                .and_then(|h| h.get(NEXUS_TIME_HEADER))
                .and_then(|v| v.as_str().trim().parse::<u64>().ok());
            let (stamp, time) = match stamped {
                Some(time) => (Stamp::Recorded(time), time),
                None => (Stamp::Stored(stored as u64), stored as u64),
            };
            let delivery = if self.from.is_some_and(|from| time < from) {
                self.stats.skipped.fetch_add(1, Ordering::Relaxed);
                self.handed_over.fetch_max(sequence, Ordering::AcqRel);
                if !last {
                    continue;
                }
                Delivery::CaughtUp
            } else {
                let subject = message.subject.as_str();
                let subject = subject.strip_prefix(self.prefix.as_str()).unwrap_or(subject).to_string();
                let incoming = Incoming { subject, payload: message.payload.clone(), stamp };
                Delivery::Message { incoming, time, last, received }
            };
            if out.send(delivery).await.is_err() {
                return Ok(());
            }
            // Only once it is in the merge's channel: until then the merge must wait for it.
            self.handed_over.fetch_max(sequence, Ordering::AcqRel);
        }
        Err("the consumer's message stream ended".into())
    }
}

/// A logical time as JetStream's timestamp type.
fn to_datetime(time: LogicalTime) -> Result<time::OffsetDateTime, time::error::ComponentRange> {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(time) * 1000)
}
