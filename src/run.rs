//! `nexus run`: the long-running worker. Core NATS in; PostgreSQL and `out.<stream>` subjects out;
//! graceful shutdown on SIGINT or SIGTERM that ends the input at the current logical time, lets the
//! workers finish and flushes both sinks.
//!
//! Threads and tasks: a tokio runtime runs the NATS source, the signal handler and the sink writer;
//! N timely workers compute; one dispatcher thread turns worker output into complete batches.

use std::sync::atomic::Ordering;
use std::sync::mpsc::sync_channel;
use std::thread;
use std::time::{Duration, Instant};

use nexus_model::LogicalTime as Time;
use nexus_model::config::Config;
use nexus_model::records::OutputStream;
use nexus_sinks::complete::{CompleteBatch, CompletedTimes};
use nexus_sinks::nats::{DispatchError, NatsOutError, NatsOutSink, OrderDispatch};
use nexus_sinks::postgres::{PostgresError, PostgresSink, PostgresSinkConfig};
use nexus_sources::bridge::{self, Completed, Wakers};
use nexus_sources::nats::{NatsSourceConfig, NatsSourceError};
use tokio::sync::{mpsc, watch};

use crate::worker;

/// Rounds that may wait in a worker's channel.
const FEED_CAPACITY: usize = 64;
/// Sink events that may wait for the dispatcher.
const SINK_CAPACITY: usize = 4096;
/// Complete batches that may wait for the writer.
const BATCH_CAPACITY: usize = 256;
/// How often the committed frontier is recorded when nothing else is written.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// Why the worker stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The tokio runtime could not start.
    #[error("cannot start the async runtime")]
    Runtime(#[source] std::io::Error),
    /// The NATS source failed.
    #[error(transparent)]
    Source(#[from] NatsSourceError),
    /// The PostgreSQL sink failed.
    #[error(transparent)]
    Postgres(#[from] PostgresError),
    /// The NATS output sink failed.
    #[error(transparent)]
    NatsOut(#[from] NatsOutError),
    /// Order intents could not be dispatched.
    #[error(transparent)]
    Dispatch(#[from] DispatchError),
    /// Timely could not start, or a worker failed.
    #[error("dataflow worker failed: {0}")]
    Worker(String),
    /// A helper thread or task panicked.
    #[error("{0} panicked")]
    Panicked(&'static str),
}

/// What a run consumed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunSummary {
    /// Messages received.
    pub messages: u64,
    /// Messages older than the clock, processed at the current time.
    pub late: u64,
    /// Slow-consumer events: the client dropped messages (raise the capacity or use JetStream).
    pub slow_consumer_events: u64,
}

/// Runs until SIGINT or SIGTERM; calls `ready` once connected and subscribed.
pub fn run(config: Config, workers: usize, ready: impl FnOnce()) -> Result<RunSummary, RunError> {
    let workers = workers.max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("nexus-io")
        .enable_all()
        .build()
        .map_err(RunError::Runtime)?;

    // Connect everything before starting, so a bad URL fails fast with its name.
    let source_config = NatsSourceConfig {
        tick_us: config.workers.tick_us,
        ..NatsSourceConfig::new(&config.nats.url, &config.nats.prefix)
    };
    let source = runtime.block_on(source_config.build())?;
    let postgres = runtime.block_on(PostgresSinkConfig::new(&config.postgres.url).build())?;
    let nats_out = runtime.block_on(NatsOutSink::connect(&config.nats.url, &config.nats.prefix))?;
    let order_dispatch =
        runtime.block_on(OrderDispatch::new(nats_out.client(), &config.nats.prefix, config.nats.jetstream))?;
    tracing::info!(
        nats = %config.nats.url,
        committed_frontier = postgres.committed_frontier(),
        workers,
        "nexus run connected"
    );

    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    runtime.spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutdown requested: finishing the current input and flushing sinks");
        let _ = shutdown_tx.send(true);
    });

    let (senders, receivers) = bridge::channels(workers, FEED_CAPACITY);
    let stats = source.stats();
    let wakers = Wakers::default();
    let completed = Completed::default();
    let source_task = runtime.spawn(source.run(senders, wakers.clone(), completed.clone(), shutdown_rx));

    let (sink_tx, sink_rx) = sync_channel(SINK_CAPACITY);
    let (batch_tx, batch_rx) = mpsc::channel::<CompleteBatch>(BATCH_CAPACITY);
    // Order intents leave as soon as their time is complete, on a task of their own: they wait
    // neither for PostgreSQL nor for the other streams (a crash re-dispatches them, as duplicates).
    let (orders_tx, orders_rx) = mpsc::channel::<Vec<(Time, String)>>(BATCH_CAPACITY);
    let dispatcher = thread::Builder::new()
        .name("nexus-sink".into())
        .spawn(move || {
            let mut buffer = CompletedTimes::new();
            let orders_of = |batch: &CompleteBatch| -> Vec<(Time, String)> {
                batch
                    .stream(OutputStream::Orders)
                    .filter(|u| u.2 > 0)
                    .map(|(t, data, _)| (t, data.to_string()))
                    .collect()
            };
            for event in sink_rx {
                if let Some(batch) = buffer.accept(event) {
                    let orders = orders_of(&batch);
                    if (!orders.is_empty() && orders_tx.blocking_send(orders).is_err())
                        || batch_tx.blocking_send(batch).is_err()
                    {
                        return;
                    }
                }
            }
            let last = buffer.finish();
            let _ = orders_tx.blocking_send(orders_of(&last));
            let _ = batch_tx.blocking_send(last);
        })
        .map_err(|_| RunError::Panicked("sink dispatcher"))?;
    let orders_task = runtime.spawn(order_dispatch.run(orders_rx));
    let writer_task = runtime.spawn(write_batches(batch_rx, postgres, nats_out));

    ready();
    let guards = worker::start(receivers, config, sink_tx, None, wakers, completed).map_err(RunError::Worker)?;
    let worker_results = guards.join();
    dispatcher.join().map_err(|_| RunError::Panicked("sink dispatcher"))?;
    let written = runtime.block_on(writer_task).map_err(|_| RunError::Panicked("sink writer"))?;
    let dispatched = runtime.block_on(orders_task).map_err(|_| RunError::Panicked("order dispatcher"))?;
    let sourced = runtime.block_on(source_task).map_err(|_| RunError::Panicked("nats source"))?;
    if let Some(Err(message)) = worker_results.into_iter().find(Result::is_err) {
        return Err(RunError::Worker(message));
    }
    sourced?;
    written?;
    dispatched?;
    let summary = RunSummary {
        messages: stats.messages.load(Ordering::Relaxed),
        late: stats.late.load(Ordering::Relaxed),
        slow_consumer_events: stats.slow_consumer_events.load(Ordering::Relaxed),
    };
    tracing::info!(
        messages = summary.messages,
        late = summary.late,
        slow_consumer_events = summary.slow_consumer_events,
        "nexus run stopped cleanly"
    );
    Ok(summary)
}

/// Writes batches to PostgreSQL and NATS in order, merging whatever has queued up meanwhile.
/// A batch with no updates only moves the frontier: it waits (merged with what follows) until
/// `PROGRESS_EVERY` has passed since the last write, and is written then even if nothing follows,
/// so the committed frontier always catches up.
async fn write_batches(
    mut batches: mpsc::Receiver<CompleteBatch>,
    mut postgres: PostgresSink,
    nats_out: NatsOutSink,
) -> Result<(), RunError> {
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
        postgres.write(&batch).await?;
        nats_out.write(&batch).await?;
        last_progress = Instant::now();
    }
    if let Some(batch) = held {
        postgres.write(&batch).await?;
        nats_out.write(&batch).await?;
    }
    Ok(())
}

pub async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
