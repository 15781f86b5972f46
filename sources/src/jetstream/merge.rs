//! Several streams merged into one sequence in logical-time order.
//!
//! Each stream's messages arrive in its own order with non-decreasing times. A stream that still
//! has a backlog must show its next message before anything later is released, so a replay after a
//! restart interleaves the streams exactly by time (ties: the order of the inputs).
//!
//! A stream that has caught up may still be about to deliver a message stored before the one the
//! merge would release (publishers write several streams; each is delivered on its own). So before
//! releasing a message, the merge asks each idle stream's server for its last stored sequence, once
//! per message received after the last such question: if the stream holds more than its reader has
//! delivered, the merge waits for it. Messages published in time order are then merged by time
//! live exactly as a replay merges them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use futures::future::{join_all, select_all};
use nexus_model::LogicalTime;
use tokio::sync::mpsc;

use crate::nats::rounds::Incoming;

/// What a stream's reader hands to the merge.
#[derive(Debug)]
pub enum Delivery {
    /// The next message, its logical time, and whether the stream had nothing after it.
    Message {
        /// The message.
        incoming: Incoming,
        /// Its logical time before rounding.
        time: LogicalTime,
        /// The stream had no further message when this one was delivered.
        last: bool,
        /// When the reader received it.
        received: Instant,
    },
    /// The stream has nothing more for now (sent when no message says so).
    CaughtUp,
}

/// A message waiting in the merge: its time, the message, whether its stream had nothing after
/// it, and when its reader received it.
type Head = (LogicalTime, Incoming, bool, Instant);

/// How the merge asks whether a caught-up stream really has nothing more.
pub struct Probe {
    /// The stream, for its last stored sequence.
    pub stream: async_nats::jetstream::stream::Stream,
    /// The last stream sequence the reader has handed over (or skipped).
    pub handed_over: Arc<AtomicU64>,
}

impl Probe {
    /// Whether the stream has stored a message its reader has not handed over; an unanswered
    /// question counts as no (the reader's own `pending` said it had caught up).
    async fn holds_more(&self) -> bool {
        match self.stream.get_info().await {
            Ok(info) => info.state.last_sequence > self.handed_over.load(Ordering::Acquire),
            Err(error) => {
                tracing::debug!(error = %error, "stream info unanswered: trusting the reader");
                false
            }
        }
    }
}

/// One stream's side of the merge.
struct Input {
    deliveries: mpsc::Receiver<Delivery>,
    head: Option<Head>,
    caught_up: bool,
    closed: bool,
    probe: Option<Probe>,
    /// When the last question to the server that found nothing more was sent: messages of other
    /// streams received before it cannot be preceded by anything of this one.
    verified: Option<Instant>,
}

impl Input {
    fn accept(&mut self, delivery: Option<Delivery>) {
        match delivery {
            Some(Delivery::Message { incoming, time, last, received }) => {
                self.head = Some((time, incoming, last, received));
            }
            Some(Delivery::CaughtUp) => self.caught_up = true,
            None => self.closed = true,
        }
    }

    /// Takes what has arrived, without waiting, until there is a head.
    fn take_ready(&mut self) {
        while self.head.is_none() && !self.closed {
            match self.deliveries.try_recv() {
                Ok(delivery) => self.accept(Some(delivery)),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => self.closed = true,
            }
        }
    }

    /// Has a backlog whose next message is not here yet.
    fn must_wait(&self) -> bool {
        self.head.is_none() && !self.caught_up && !self.closed
    }
}

/// The merge of several readers' deliveries.
pub struct Merge {
    inputs: Vec<Input>,
}

impl Merge {
    /// Merges `readers` (deliveries, and how to ask the server about them), in tie-breaking
    /// order. Without a probe a caught-up stream is taken at its reader's word.
    pub fn new(readers: Vec<(mpsc::Receiver<Delivery>, Option<Probe>)>) -> Merge {
        let inputs = readers
            .into_iter()
            .map(|(deliveries, probe)| Input {
                deliveries,
                head: None,
                caught_up: false,
                closed: false,
                probe,
                verified: None,
            })
            .collect();
        Merge { inputs }
    }

    /// Asks every idle stream other than `index` not yet verified since `received` whether it
    /// holds more; true when one does (it is then waited for).
    async fn confirm_idle(&mut self, index: usize, received: Instant) -> bool {
        let unverified: Vec<usize> = (0..self.inputs.len())
            .filter(|i| {
                let input = &self.inputs[*i];
                *i != index
                    && input.head.is_none()
                    && !input.closed
                    && input.probe.is_some()
                    && input.verified.is_none_or(|verified| verified < received)
            })
            .collect();
        if unverified.is_empty() {
            return false;
        }
        // Ask every such stream at once.
        let asked = Instant::now();
        let inputs = &self.inputs;
        let answers: Vec<Option<bool>> =
            join_all(unverified.iter().map(|i| async move { Some(inputs[*i].probe.as_ref()?.holds_more().await) }))
                .await;
        let mut found = false;
        for (i, holds_more) in unverified.into_iter().zip(answers) {
            let input = &mut self.inputs[i];
            if holds_more == Some(true) {
                input.caught_up = false;
                found = true;
            } else {
                input.verified = Some(asked);
            }
        }
        found
    }

    /// The next message in time order; `None` once every reader has stopped. Cancel-safe: the
    /// state lives in `self`, and only receiving is awaited.
    pub async fn next(&mut self) -> Option<Incoming> {
        loop {
            for input in &mut self.inputs {
                input.take_ready();
            }
            if let Some(waiting) = self.inputs.iter_mut().find(|input| input.must_wait()) {
                let delivery = waiting.deliveries.recv().await;
                waiting.accept(delivery);
                continue;
            }
            let earliest = (0..self.inputs.len())
                .filter(|i| self.inputs[*i].head.is_some())
                .min_by_key(|i| self.inputs[*i].head.as_ref().map(|head| head.0));
            if let Some(index) = earliest {
                let received = self.inputs[index].head.as_ref().map(|head| head.3);
                if let Some(received) = received
                    && self.confirm_idle(index, received).await
                {
                    continue;
                }
                let input = &mut self.inputs[index];
                if let Some((_, incoming, last, _)) = input.head.take() {
                    input.caught_up = last;
                    return Some(incoming);
                }
            }
            if self.inputs.iter().all(|input| input.closed) {
                return None;
            }
            // Everything caught up and nothing held: wait for whichever stream speaks next.
            let open = self.inputs.iter_mut().filter(|input| !input.closed).map(|input| {
                Box::pin(async move {
                    let delivery = input.deliveries.recv().await;
                    input.accept(delivery);
                })
            });
            select_all(open).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nats::rounds::Stamp;

    fn message(subject: &str, time: LogicalTime, last: bool) -> Delivery {
        let incoming =
            Incoming { subject: subject.to_string(), payload: Default::default(), stamp: Stamp::Stored(time) };
        Delivery::Message { incoming, time, last, received: Instant::now() }
    }

    #[tokio::test]
    async fn backlogs_merge_in_time_order_and_caught_up_streams_do_not_block() {
        let (control_tx, control_rx) = mpsc::channel(16);
        let (feeds_tx, feeds_rx) = mpsc::channel(16);
        let mut merge = Merge::new(vec![(control_rx, None), (feeds_rx, None)]);
        // The feeds arrive first, but control has a backlog: its earlier message goes first.
        feeds_tx.send(message("feeds.a", 10, false)).await.unwrap();
        feeds_tx.send(message("feeds.b", 20, true)).await.unwrap();
        let control = tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            control_tx.send(message("control.x", 5, false)).await.unwrap();
            control_tx.send(message("control.y", 15, true)).await.unwrap();
            control_tx
        });
        let mut order = Vec::new();
        for _ in 0..4 {
            order.push(merge.next().await.unwrap().subject);
        }
        assert_eq!(order, ["control.x", "feeds.a", "control.y", "feeds.b"]);
        // Both caught up: a later message on either is released as it comes.
        let control_tx = control.await.unwrap();
        control_tx.send(message("control.z", 30, true)).await.unwrap();
        assert_eq!(merge.next().await.unwrap().subject, "control.z");
        drop(control_tx);
        drop(feeds_tx);
        assert!(merge.next().await.is_none());
    }

    #[tokio::test]
    async fn an_empty_stream_that_says_so_does_not_block() {
        let (control_tx, control_rx) = mpsc::channel(4);
        let (feeds_tx, feeds_rx) = mpsc::channel(4);
        let mut merge = Merge::new(vec![(control_rx, None), (feeds_rx, None)]);
        control_tx.send(Delivery::CaughtUp).await.unwrap();
        feeds_tx.send(message("feeds.a", 10, true)).await.unwrap();
        assert_eq!(merge.next().await.unwrap().subject, "feeds.a");
    }
}
