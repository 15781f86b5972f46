//! The part both NATS sources share: stamp each incoming message with its logical time, batch
//! messages into rounds while the workers are busy, send a round at once while they are idle, and
//! move the clock on when nothing arrives.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures::{Stream, StreamExt};
use nexus_model::LogicalTime;
use tokio::sync::watch;

use super::source::{NatsSourceError, NatsSourceStats};
use crate::bridge::{Clock, Completed, Feed, FeedSender, Wakers, route};
use crate::message::{Item, Message};

/// Where a message's logical time comes from (DESIGN section 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stamp {
    /// The `Nexus-Time` header: a published recording, our orders' fills. Kept exactly.
    Recorded(LogicalTime),
    /// JetStream's stored timestamp: the same on every read of the stream. Rounded down to the tick.
    Stored(LogicalTime),
    /// Core NATS: the wall clock on receipt, rounded down to the tick.
    Received,
}

impl Stamp {
    /// The time the stamp carries, if it carries one.
    pub fn time(self) -> Option<LogicalTime> {
        match self {
            Stamp::Recorded(time) | Stamp::Stored(time) => Some(time),
            Stamp::Received => None,
        }
    }
}

/// A message on its way to the workers.
#[derive(Clone, Debug)]
pub struct Incoming {
    /// The subject without the deployment prefix.
    pub subject: String,
    /// The payload as published.
    pub payload: Bytes,
    /// Where its logical time comes from.
    pub stamp: Stamp,
}

/// How rounds are formed (fields of the source's config).
#[derive(Clone, Debug)]
pub struct RoundsConfig {
    /// Items per round.
    pub max_batch: usize,
    /// How often pending messages are looked at.
    pub linger: Duration,
    /// The longest pending messages wait for busy workers.
    pub max_hold: Duration,
    /// Without messages for this long the clock moves on.
    pub idle_advance: Duration,
    /// Receive and stored times are rounded down to this many microseconds.
    pub tick_us: u64,
}

/// `time` rounded down to a multiple of `tick` (unchanged for a tick of 0).
pub(crate) fn round_down(time: LogicalTime, tick: u64) -> LogicalTime {
    if tick == 0 { time } else { time - time % tick }
}

/// Microseconds since the Unix epoch, now.
pub fn wall_clock_us() -> LogicalTime {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or_default()
}

/// The channels to the workers and what they share with the source.
pub struct WorkerFeeds {
    /// One feed per local worker.
    pub senders: Vec<FeedSender>,
    /// Wakes the workers after a round is sent.
    pub wakers: Wakers,
    /// The frontier the workers have completed.
    pub completed: Completed,
    /// This process's workers are `first_worker..first_worker + senders.len()` of `total_workers`;
    /// a message routed to another process's worker is left to that process.
    pub first_worker: usize,
    /// Workers over every process.
    pub total_workers: usize,
}

/// Feeds the workers from `incoming` until it ends or `shutdown` turns true, then ends their
/// input at the current time.
pub async fn feed_rounds<S>(
    mut incoming: S,
    config: &RoundsConfig,
    stats: &Arc<NatsSourceStats>,
    feeds: WorkerFeeds,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), NatsSourceError>
where
    S: Stream<Item = Incoming> + Unpin,
{
    let WorkerFeeds { senders, wakers, completed, first_worker, total_workers } = feeds;
    let local = first_worker..first_worker + senders.len();
    let mut clock = Clock::default();
    let mut batches: Vec<Vec<Item>> = vec![Vec::new(); senders.len()];
    let mut pending = 0usize;
    let mut seq = 0u64;
    // Feeds carry recorded times (a published recording): the clock runs on them alone.
    let mut recorded_time = false;
    // Some message was stamped on receipt: the clock follows the wall clock.
    let mut received_live = false;
    // The last message, or the end of the last round the workers made us wait for: silence while
    // the workers held the source up (a sink retrying, say) says nothing about the input.
    let mut last_activity = Instant::now();
    // Before the first message the clock stays put: a recording published into a worker that has
    // waited a while must not find its clock already at the wall clock.
    let mut idle_advanced = true;
    let mut heard = false;
    let mut last_round = Instant::now();
    // The watermark of the last round sent: the workers are idle once they have completed it.
    let mut last_sent: LogicalTime = 0;
    let mut linger = tokio::time::interval(config.linger);
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
            next = incoming.next() => {
                let Some(Incoming { subject, payload, stamp }) = next else { break };
                stats.messages.fetch_add(1, Ordering::Relaxed);
                stats.count_subject(&subject);
                // Our own fills echo the logical time of their order; only feeds say whether the
                // clock runs on recorded times.
                recorded_time |= matches!(stamp, Stamp::Recorded(_)) && !subject.starts_with("exec.");
                received_live |= stamp == Stamp::Received;
                let late_before = clock.late();
                let time = match stamp {
                    Stamp::Recorded(time) => clock.stamp(time),
                    Stamp::Stored(time) => clock.stamp(round_down(time, config.tick_us)),
                    Stamp::Received => {
                        let received = wall_clock_us();
                        clock.stamp_rounded(round_down(received, config.tick_us), received)
                    }
                };
                if clock.late() > late_before {
                    stats.late.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(subject = %subject, stamp = ?stamp, clock = clock.now(), "late message: processed at the clock");
                }
                let worker = route(&subject, seq, total_workers);
                if local.contains(&worker) {
                    batches[worker - first_worker].push(Item::Message(Message { seq, time, subject, payload }));
                    pending += 1;
                }
                seq += 1;
                last_activity = Instant::now();
                idle_advanced = false;
                heard = true;
                // Workers idle: send at once. Busy: batch until they are done (or a round is full).
                pending >= config.max_batch
                    || ((pending > 0 || clock.now() > last_sent) && completed.frontier() >= last_sent)
            }
            _ = linger.tick() => {
                if pending > 0 {
                    // Busy workers get the batch once done, or once it has waited `max_hold`.
                    completed.frontier() >= last_sent || last_round.elapsed() >= config.max_hold
                } else {
                    if heard && last_activity.elapsed() >= config.idle_advance {
                        // Nothing is arriving: let the frontier pass the last message. A published
                        // recording's clock runs on its own times only, so it moves just past the
                        // last one; a live feed's clock follows the wall clock, and a stream's
                        // stored times the wall clock less the idle time (anything stored before
                        // that has arrived by now).
                        let target = if recorded_time {
                            clock.now().saturating_add(1)
                        } else if received_live {
                            round_down(wall_clock_us(), config.tick_us)
                        } else {
                            let quiet = config.idle_advance.as_micros() as u64;
                            round_down(wall_clock_us().saturating_sub(quiet), config.tick_us)
                        };
                        if !(recorded_time && idle_advanced) && target > clock.now() {
                            clock.advance_to(target);
                            stats.clock.store(clock.now(), Ordering::Relaxed);
                            send_round(&senders, &wakers, &mut batches, clock.now(), stats).await?;
                            last_sent = clock.now();
                            idle_advanced = true;
                        }
                    }
                    false
                }
            }
        };
        if send_pending {
            if received_live && !recorded_time {
                // Let the frontier pass these live messages at once: every later message is
                // received after this instant (stamped no earlier than it, which still rounds its
                // receive time down).
                clock.advance_to(wall_clock_us());
            }
            stats.clock.store(clock.now(), Ordering::Relaxed);
            send_round(&senders, &wakers, &mut batches, clock.now(), stats).await?;
            pending = 0;
            last_round = Instant::now();
            last_activity = last_round;
            last_sent = clock.now();
        }
    }
    send_round(&senders, &wakers, &mut batches, clock.now(), stats).await?;
    for (index, sender) in senders.iter().enumerate() {
        sender.send(Feed::End { last_time: clock.now() }).await.map_err(|_| NatsSourceError::WorkerGone(index))?;
    }
    Ok(())
}

async fn send_round(
    senders: &[FeedSender],
    wakers: &Wakers,
    batches: &mut [Vec<Item>],
    watermark: LogicalTime,
    stats: &NatsSourceStats,
) -> Result<(), NatsSourceError> {
    if batches.iter().any(|batch| !batch.is_empty()) {
        stats.round_sent(watermark);
    }
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
