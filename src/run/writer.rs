//! The writers: complete batches into PostgreSQL then `out.*`, order intents into
//! `exec.orders.*`. A failed write is retried with backoff for as long as it takes: the queues
//! behind it fill, the workers stop, and the source stops reading (backpressure, not loss; in
//! durable mode the streams keep what is not yet read).

use std::sync::Arc;
use std::time::{Duration, Instant};

use nexus_model::LogicalTime as Time;
use nexus_sinks::complete::CompleteBatch;
use nexus_sinks::nats::{DispatchError, NatsOutSink, OrderDispatch};
use nexus_sinks::postgres::PostgresSink;
use tokio::sync::{mpsc, watch};

use super::telemetry::Telemetry;
use crate::error_chain::error_chain;

/// How often the committed frontier is recorded when nothing else is written.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);
/// The first wait before retrying a failed write.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// The longest wait between retries.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Doubling waits between retries, capped at [`MAX_BACKOFF`].
struct Backoff(Duration);

impl Backoff {
    fn new() -> Backoff {
        Backoff(FIRST_BACKOFF)
    }

    async fn wait(&mut self) {
        tokio::time::sleep(self.0).await;
        self.0 = (self.0 * 2).min(MAX_BACKOFF);
    }
}

/// The sinks a batch goes to, in order.
pub struct BatchSinks {
    /// PostgreSQL, with the committed frontier (absent in processes that do not write).
    pub postgres: Option<PostgresSink>,
    /// `out.<stream>` on NATS.
    pub nats_out: Option<NatsOutSink>,
    /// How far the order dispatcher has dispatched: a frontier is committed only once every order
    /// before it has gone out, or a restart (which skips what is committed) would never send them.
    pub orders_dispatched: Option<watch::Receiver<Time>>,
}

impl BatchSinks {
    /// Writes one batch: PostgreSQL (batch and frontier in one transaction) until it succeeds, then
    /// `out.*`.
    async fn write(&mut self, batch: &CompleteBatch, telemetry: &Telemetry) {
        let updates: usize = batch.times.iter().map(|(_, streams)| streams.values().map(Vec::len).sum::<usize>()).sum();
        if let Some(dispatched) = &mut self.orders_dispatched {
            // The dispatcher gone means the run is ending; write what there is.
            let _ = dispatched.wait_for(|through| *through >= batch.frontier).await;
        }
        if let Some(postgres) = &mut self.postgres {
            let mut backoff = Backoff::new();
            let mut failures = 0u32;
            while let Err(error) = postgres.write(batch).await {
                telemetry.sink_failed("postgres");
                failures += 1;
                tracing::warn!(
                    sink = "postgres",
                    error = %error_chain(&error),
                    failures,
                    retry_in_ms = backoff.0.as_millis() as u64,
                    "postgres write failed: holding the batch and retrying"
                );
                backoff.wait().await;
            }
            if failures > 0 {
                tracing::info!(
                    sink = "postgres",
                    failures,
                    frontier = batch.frontier,
                    "postgres write succeeded after retries"
                );
            }
            telemetry.committed(postgres.committed_frontier());
        } else {
            // A process that does not write (cluster mode, not process 0): its frontier is what
            // its workers completed, for /health and the gauges.
            telemetry.committed(batch.frontier);
        }
        if !batch.is_empty() {
            telemetry.batch_updates.observe(updates as f64);
        }
        if let Some(nats_out) = &self.nats_out {
            let mut backoff = Backoff::new();
            while let Err(error) = nats_out.write(batch).await {
                telemetry.sink_failed("nats_out");
                tracing::warn!(sink = "nats_out", error = %error_chain(&error), "publishing out.* failed: retrying");
                backoff.wait().await;
            }
        }
    }
}

/// Writes batches in order, merging whatever has queued up meanwhile. A batch with no updates only
/// moves the frontier: it waits (merged with what follows) until `PROGRESS_EVERY` has passed since
/// the last write, and is written then even if nothing follows, so the committed frontier always
/// catches up.
pub async fn write_batches(
    mut batches: mpsc::Receiver<CompleteBatch>,
    mut sinks: BatchSinks,
    telemetry: Arc<Telemetry>,
) {
    let mut last_progress = Instant::now();
    let mut held: Option<CompleteBatch> = None;
    loop {
        let next = match &held {
            None => batches.recv().await,
            Some(_) => {
                let wait = PROGRESS_EVERY.saturating_sub(last_progress.elapsed());
                match tokio::time::timeout(wait, batches.recv()).await {
                    Ok(next) => next,
                    // Nothing followed: write the frontier now.
                    Err(_) => held.take(),
                }
            }
        };
        let Some(mut batch) = next else { break };
        if let Some(mut earlier) = held.take() {
            earlier.frontier = earlier.frontier.max(batch.frontier);
            earlier.times.append(&mut batch.times);
            batch = earlier;
        }
        while let Ok(more) = batches.try_recv() {
            batch.frontier = batch.frontier.max(more.frontier);
            batch.times.extend(more.times);
        }
        if batch.is_empty() && last_progress.elapsed() < PROGRESS_EVERY {
            held = Some(batch);
            continue;
        }
        sinks.write(&batch, &telemetry).await;
        last_progress = Instant::now();
    }
    if let Some(batch) = held {
        sinks.write(&batch, &telemetry).await;
    }
    if let Some(postgres) = sinks.postgres {
        postgres.close().await;
    }
}

/// Dispatches order intents as they come, each retried until the server takes it (JetStream drops
/// a re-dispatched id as a duplicate), and reports on `dispatched` the frontier each batch
/// completes. A record that is not an order intent is logged and skipped.
pub async fn dispatch_orders(
    dispatch: OrderDispatch,
    mut orders: mpsc::Receiver<(Vec<(Time, String)>, Time)>,
    dispatched: watch::Sender<Time>,
    telemetry: Arc<Telemetry>,
) {
    while let Some((batch, frontier)) = orders.recv().await {
        for (time, data) in batch {
            let mut backoff = Backoff::new();
            loop {
                match dispatch.dispatch(&data, time).await {
                    Ok(true) => {
                        tracing::info!(time, order = %data, "order intent already dispatched: dropped as a duplicate");
                        break;
                    }
                    Ok(false) => break,
                    Err(error @ DispatchError::Record(_)) => {
                        tracing::error!(time, order = %data, error = %error_chain(&error), "not an order intent: skipped");
                        break;
                    }
                    Err(error) => {
                        telemetry.sink_failed("orders");
                        tracing::warn!(time, error = %error_chain(&error), "order dispatch failed: retrying");
                        backoff.wait().await;
                    }
                }
            }
        }
        dispatched.send_replace(frontier);
    }
    dispatch.flush().await;
}
