//! Subscribes, stamps logical time, and sends rounds to the workers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use nexus_model::LogicalTime;
use tokio::sync::watch;

use super::NEXUS_TIME_HEADER;
use super::config::NatsSourceConfig;
use crate::bridge::{Clock, Completed, Feed, FeedSender, Wakers, route};
use crate::message::{Item, Message};

/// Why the NATS source stopped.
#[derive(Debug, thiserror::Error)]
pub enum NatsSourceError {
    /// The server could not be reached.
    #[error("cannot connect to nats at {url}")]
    Connect {
        /// The URL.
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
    /// A worker hung up.
    #[error("worker {0} stopped receiving input")]
    WorkerGone(usize),
}

/// Counters the source keeps while it runs.
#[derive(Debug, Default)]
pub struct NatsSourceStats {
    /// Messages received.
    pub messages: AtomicU64,
    /// Messages whose time was older than the clock.
    pub late: AtomicU64,
    /// Slow-consumer events reported by the client: messages were dropped.
    pub slow_consumer_events: AtomicU64,
}

/// A connected, subscribed source.
pub struct NatsSource {
    config: NatsSourceConfig,
    subscription: async_nats::Subscriber,
    stats: Arc<NatsSourceStats>,
}

/// `time` rounded down to a multiple of `tick` (unchanged for a tick of 0).
fn round_down(time: LogicalTime, tick: u64) -> LogicalTime {
    if tick == 0 { time } else { time - time % tick }
}

fn wall_clock_us() -> LogicalTime {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or_default()
}

impl NatsSource {
    pub(super) async fn connect(config: NatsSourceConfig) -> Result<NatsSource, NatsSourceError> {
        let stats = Arc::new(NatsSourceStats::default());
        let events = Arc::clone(&stats);
        let client = async_nats::ConnectOptions::new()
            .subscription_capacity(config.subscription_capacity)
            .connection_timeout(config.connect_timeout)
            .event_callback(move |event| {
                let events = Arc::clone(&events);
                async move {
                    match event {
                        async_nats::Event::SlowConsumer(sid) => {
                            let count = events.slow_consumer_events.fetch_add(1, Ordering::Relaxed) + 1;
                            // Logged at the 1st, 2nd, 4th, 8th... event: a flood of them (one per
                            // dropped message) must not flood the log too.
                            if count.is_power_of_two() {
                                tracing::warn!(
                                    subscription = sid,
                                    events_so_far = count,
                                    "nats slow consumer: messages dropped"
                                );
                            }
                        }
                        other => tracing::info!(event = %other, "nats connection event"),
                    }
                }
            })
            .connect(config.url.as_str())
            .await
            .map_err(|source| NatsSourceError::Connect { url: config.url.clone(), source })?;
        let subject = format!("{}>", config.prefix);
        let subscription = client
            .subscribe(subject.clone())
            .await
            .map_err(|source| NatsSourceError::Subscribe { subject: subject.clone(), source })?;
        client.flush().await.ok();
        Ok(NatsSource { config, subscription, stats })
    }

    /// Live counters.
    pub fn stats(&self) -> Arc<NatsSourceStats> {
        Arc::clone(&self.stats)
    }

    /// Feeds the workers until `shutdown` turns true, then ends their input at the current time.
    pub async fn run(
        mut self,
        senders: Vec<FeedSender>,
        wakers: Wakers,
        completed: Completed,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<(), NatsSourceError> {
        let workers = senders.len();
        let mut clock = Clock::default();
        let mut batches: Vec<Vec<Item>> = vec![Vec::new(); workers];
        let mut pending = 0usize;
        let mut seq = 0u64;
        let mut recorded_time = false;
        let mut last_message = Instant::now();
        // Before the first message the clock stays put: a recording published into a worker
        // that has waited a while must not find its clock already at the wall clock.
        let mut idle_advanced = true;
        let mut heard = false;
        let mut last_round = Instant::now();
        // The watermark of the last round sent: the workers are idle once they have completed it.
        let mut last_sent: LogicalTime = 0;
        let mut linger = tokio::time::interval(self.config.linger);
        linger.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            // Whether the pending messages go to the workers now.
            let send_pending = tokio::select! {
                biased;
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        break;
                    }
                    false
                }
                next = self.subscription.next() => {
                    let Some(message) = next else { break };
                    let subject = message.subject.as_str();
                    let subject = subject.strip_prefix(self.config.prefix.as_str()).unwrap_or(subject);
                    if !self.config.families.iter().any(|family| subject.starts_with(family.as_str())) {
                        continue;
                    }
                    let subject = subject.to_string();
                    self.stats.messages.fetch_add(1, Ordering::Relaxed);
                    let stamped = message
                        .headers
                        .as_ref()
                        .and_then(|h| h.get(NEXUS_TIME_HEADER))
                        .and_then(|v| v.as_str().trim().parse::<u64>().ok());
                    // Our own fills echo the logical time of their order; only feeds say whether
                    // the clock runs on recorded times.
                    recorded_time |= stamped.is_some() && !subject.starts_with("exec.");
                    let late_before = clock.late();
                    let time = match stamped {
                        Some(stamped) => clock.stamp(stamped),
                        None => {
                            let received = wall_clock_us();
                            clock.stamp_rounded(round_down(received, self.config.tick_us), received)
                        }
                    };
                    if clock.late() > late_before {
                        self.stats.late.fetch_add(1, Ordering::Relaxed);
                    }
                    let worker = route(&subject, seq, workers);
                    batches[worker].push(Item::Message(Message { seq, time, subject, payload: message.payload }));
                    seq += 1;
                    pending += 1;
                    last_message = Instant::now();
                    idle_advanced = false;
                    heard = true;
                    // Workers idle: send at once. Busy: batch until they are done (or a round is full).
                    pending >= self.config.max_batch || completed.frontier() >= last_sent
                }
                _ = linger.tick() => {
                    if pending > 0 {
                        // Busy workers get the batch once done, or once it has waited `max_hold`.
                        completed.frontier() >= last_sent || last_round.elapsed() >= self.config.max_hold
                    } else {
                        if heard && last_message.elapsed() >= self.config.idle_advance {
                            // Nothing is arriving: let the frontier pass the last message. A
                            // published recording's clock runs on its own times only, so it moves
                            // just past the last one; a live feed's clock follows the wall clock.
                            let target = if recorded_time {
                                clock.now().saturating_add(1)
                            } else {
                                round_down(wall_clock_us(), self.config.tick_us)
                            };
                            if !(recorded_time && idle_advanced) && target > clock.now() {
                                clock.advance_to(target);
                                send_round(&senders, &wakers, &mut batches, clock.now()).await?;
                                idle_advanced = true;
                            }
                        }
                        false
                    }
                }
            };
            if send_pending {
                if !recorded_time {
                    // Let the frontier pass these live messages at once: every later message is
                    // received after this instant (stamped no earlier than it, which still rounds
                    // its receive time down).
                    clock.advance_to(wall_clock_us());
                }
                send_round(&senders, &wakers, &mut batches, clock.now()).await?;
                pending = 0;
                last_round = Instant::now();
                last_sent = clock.now();
            }
        }
        send_round(&senders, &wakers, &mut batches, clock.now()).await?;
        for (index, sender) in senders.iter().enumerate() {
            sender.send(Feed::End { last_time: clock.now() }).await.map_err(|_| NatsSourceError::WorkerGone(index))?;
        }
        Ok(())
    }
}

async fn send_round(
    senders: &[FeedSender],
    wakers: &Wakers,
    batches: &mut [Vec<Item>],
    watermark: LogicalTime,
) -> Result<(), NatsSourceError> {
    for (index, (sender, batch)) in senders.iter().zip(batches.iter_mut()).enumerate() {
        let items = std::mem::take(batch);
        sender.send(Feed::Batch { items, watermark }).await.map_err(|_| NatsSourceError::WorkerGone(index))?;
    }
    wakers.wake_all();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::round_down;

    #[test]
    fn receive_times_round_down_never_up() {
        assert_eq!(round_down(1_763_596_800_123_456, 1000), 1_763_596_800_123_000);
        assert_eq!(round_down(1_763_596_800_123_000, 1000), 1_763_596_800_123_000);
        assert_eq!(round_down(1_763_596_800_123_456, 0), 1_763_596_800_123_456);
    }
}
