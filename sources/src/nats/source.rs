//! The core-NATS source: one subscription, logical time from `Nexus-Time` or the receive time.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures::StreamExt;
use nexus_model::LogicalTime;
use tokio::sync::watch;

use super::NEXUS_TIME_HEADER;
use super::config::NatsSourceConfig;
use super::rounds::{Incoming, Stamp, WorkerFeeds, feed_rounds};

/// Why a NATS source stopped.
#[derive(Debug, thiserror::Error)]
pub enum NatsSourceError {
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
    /// A JetStream stream could not be created or read.
    #[error("cannot create or read jetstream stream {stream}")]
    Stream {
        /// The stream's name.
        stream: String,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A JetStream consumer could not be created.
    #[error("cannot create a consumer on jetstream stream {stream}")]
    Consumer {
        /// The stream's name.
        stream: String,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A worker hung up.
    #[error("worker {0} stopped receiving input")]
    WorkerGone(usize),
}

/// Subjects counted by name; messages on further subjects are counted under [`OTHER_SUBJECTS`],
/// so a stray publisher cannot grow the metrics without bound.
pub const MAX_COUNTED_SUBJECTS: usize = 256;
/// The name under which subjects past [`MAX_COUNTED_SUBJECTS`] are counted.
pub const OTHER_SUBJECTS: &str = "other";

/// Counters the source keeps while it runs (read by the metrics endpoint).
#[derive(Debug, Default)]
pub struct NatsSourceStats {
    /// Messages received.
    pub messages: AtomicU64,
    /// Messages whose time was older than the clock.
    pub late: AtomicU64,
    /// Slow-consumer events reported by the client: messages were dropped (core NATS only).
    pub slow_consumer_events: AtomicU64,
    /// The input clock: the watermark of the last round sent to the workers.
    pub clock: AtomicU64,
    /// Messages skipped on a restart because they fall before the lookback.
    pub skipped: AtomicU64,
    /// Messages received per subject (without the prefix).
    by_subject: Mutex<BTreeMap<String, u64>>,
    /// Rounds with items not yet known complete: their watermark and when they were sent.
    rounds: Mutex<VecDeque<(LogicalTime, Instant)>>,
}

/// Rounds remembered for the latency measurement; older ones are forgotten unmeasured.
const MAX_TRACKED_ROUNDS: usize = 1 << 16;

impl NatsSourceStats {
    /// Counts one message on `subject`.
    pub fn count_subject(&self, subject: &str) {
        if let Ok(mut counts) = self.by_subject.lock() {
            if let Some(count) = counts.get_mut(subject) {
                *count += 1;
            } else if counts.len() < MAX_COUNTED_SUBJECTS {
                counts.insert(subject.to_string(), 1);
            } else {
                *counts.entry(OTHER_SUBJECTS.to_string()).or_default() += 1;
            }
        }
    }

    /// Messages received per subject so far.
    pub fn by_subject(&self) -> Vec<(String, u64)> {
        self.by_subject.lock().map(|c| c.iter().map(|(s, n)| (s.clone(), *n)).collect()).unwrap_or_default()
    }

    /// Remembers that a round with items and `watermark` went to the workers now.
    pub fn round_sent(&self, watermark: LogicalTime) {
        if let Ok(mut rounds) = self.rounds.lock() {
            if rounds.len() >= MAX_TRACKED_ROUNDS {
                rounds.pop_front();
            }
            rounds.push_back((watermark, Instant::now()));
        }
    }

    /// The send instants of the rounds whose items are all complete once `frontier` is (their
    /// watermark is before it), forgetting them.
    pub fn rounds_completed(&self, frontier: LogicalTime) -> Vec<Instant> {
        let Ok(mut rounds) = self.rounds.lock() else { return Vec::new() };
        let done = rounds.iter().take_while(|(watermark, _)| *watermark < frontier).count();
        rounds.drain(..done).map(|(_, sent)| sent).collect()
    }

    /// The input clock.
    pub fn clock(&self) -> LogicalTime {
        self.clock.load(Ordering::Relaxed)
    }
}

/// Counts the client's slow-consumer events (logged at the 1st, 2nd, 4th, 8th... event: a flood of
/// them, one per dropped message, must not flood the log too) and logs other connection events.
pub(crate) fn connection_events(
    stats: &Arc<NatsSourceStats>,
) -> impl Fn(async_nats::Event) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send + Sync>> + Send + Sync + 'static {
    let stats = Arc::clone(stats);
    move |event| {
        let stats = Arc::clone(&stats);
        Box::pin(async move {
            match event {
                async_nats::Event::SlowConsumer(sid) => {
                    let count = stats.slow_consumer_events.fetch_add(1, Ordering::Relaxed) + 1;
                    if count.is_power_of_two() {
                        tracing::warn!(
                            subscription = sid,
                            events_so_far = count,
                            "nats slow consumer: messages dropped"
                        );
                    }
                }
                async_nats::Event::Disconnected => tracing::warn!("nats connection lost: reconnecting"),
                other => tracing::info!(event = %other, "nats connection event"),
            }
        })
    }
}

/// A connected, subscribed core-NATS source.
pub struct NatsSource {
    config: NatsSourceConfig,
    client: async_nats::Client,
    subscription: async_nats::Subscriber,
    stats: Arc<NatsSourceStats>,
}

impl NatsSource {
    pub(super) async fn connect(config: NatsSourceConfig) -> Result<NatsSource, NatsSourceError> {
        let stats = Arc::new(NatsSourceStats::default());
        let client = config
            .connection
            .options()
            .subscription_capacity(config.subscription_capacity)
            .event_callback(connection_events(&stats))
            .connect(config.connection.url.as_str())
            .await
            .map_err(|source| NatsSourceError::Connect { url: config.connection.redacted_url(), source })?;
        let subject = format!("{}>", config.prefix);
        let subscription = client
            .subscribe(subject.clone())
            .await
            .map_err(|source| NatsSourceError::Subscribe { subject: subject.clone(), source })?;
        client.flush().await.ok();
        Ok(NatsSource { config, client, subscription, stats })
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
        let NatsSource { config, subscription, stats, client: _client } = self;
        let prefix = config.prefix.clone();
        let families = config.families.clone();
        let incoming = subscription.filter_map(move |message| {
            let subject = message.subject.as_str();
            let subject = subject.strip_prefix(prefix.as_str()).unwrap_or(subject);
            let wanted = families.iter().any(|family| subject.starts_with(family.as_str()));
            let stamped = message
                .headers
                .as_ref()
                .and_then(|h| h.get(NEXUS_TIME_HEADER))
                .and_then(|v| v.as_str().trim().parse::<u64>().ok());
            let incoming = wanted.then(|| Incoming {
                subject: subject.to_string(),
                payload: message.payload,
                stamp: stamped.map_or(Stamp::Received, Stamp::Recorded),
            });
            std::future::ready(incoming)
        });
        feed_rounds(Box::pin(incoming), &config.rounds(), &stats, feeds, shutdown).await
    }
}
