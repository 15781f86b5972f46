//! `nexus run`: the long-running worker. JetStream (or core NATS) in; PostgreSQL, `out.<stream>`
//! subjects and order intents out; `/metrics` and `/health` over HTTP; graceful shutdown on SIGINT
//! or SIGTERM that ends the input at the current logical time, lets the workers finish and
//! flushes every sink.
//!
//! Threads and tasks: a tokio runtime runs the source, the signal handler, the HTTP endpoint and
//! the writers; N timely workers compute; one dispatcher thread turns worker output into complete
//! batches. With several processes (timely's cluster mode), every process reads the streams and
//! feeds its own workers their share; outputs are gathered on the first process, which alone
//! writes the sinks.
//!
//! - `input.rs`: the source, durable or core. - `dispatch.rs`: the dispatcher thread.
//! - `writer.rs`: retried writes. - `telemetry.rs`: metrics and health. - `http.rs`: the endpoint.
//! - `signal.rs`: SIGINT and SIGTERM.

mod dispatch;
mod http;
mod input;
mod signal;
pub mod telemetry;
pub(crate) mod writer;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::mpsc::sync_channel;

use nexus_model::LogicalTime as Time;
use nexus_model::config::Config;
use nexus_sinks::complete::CompleteBatch;
use nexus_sinks::nats::{DispatchError, NatsOutSink, OrderDispatch};
use nexus_sinks::postgres::{PostgresError, PostgresSinkConfig};
use nexus_sources::bridge::{self, Completed, Wakers};
use nexus_sources::nats::{NatsAuthError, NatsConnection, NatsSourceError, WorkerFeeds};
use tokio::sync::{mpsc, watch};

pub use signal::wait_for_signal;
use telemetry::Telemetry;

use crate::worker::{self, Placement};

/// Rounds that may wait in a worker's channel.
const FEED_CAPACITY: usize = 64;
/// Sink events that may wait for the dispatcher.
const SINK_CAPACITY: usize = 4096;
/// Complete batches that may wait for the writer.
const BATCH_CAPACITY: usize = 256;

/// Why the worker stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The tokio runtime could not start.
    #[error("cannot start the async runtime")]
    Runtime(#[source] std::io::Error),
    /// The NATS credentials in the environment are unusable.
    #[error(transparent)]
    NatsAuth(#[from] NatsAuthError),
    /// The NATS source failed.
    #[error(transparent)]
    Source(#[from] NatsSourceError),
    /// A NATS client for the sinks could not connect.
    #[error("cannot connect to nats at {url}")]
    NatsConnect {
        /// The URL, without credentials.
        url: String,
        /// The cause.
        #[source]
        source: async_nats::ConnectError,
    },
    /// The PostgreSQL sink failed.
    #[error(transparent)]
    Postgres(#[from] PostgresError),
    /// Order intents could not be dispatched.
    #[error(transparent)]
    Dispatch(#[from] DispatchError),
    /// The metrics endpoint could not listen.
    #[error("cannot listen on metrics.listen = {listen}")]
    Metrics {
        /// The configured address.
        listen: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
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
    /// Slow-consumer events: the core-NATS client dropped messages (never with JetStream).
    pub slow_consumer_events: u64,
    /// Feed messages skipped on a restart because they fall before frontier minus lookback.
    pub skipped: u64,
}

/// What the worker tells its caller once it is connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Started {
    /// Where `/metrics` and `/health` are served, if anywhere.
    pub metrics: Option<SocketAddr>,
    /// The committed frontier it resumed at (0: a first start).
    pub resumed_at: Time,
    /// Reading JetStream streams (durable) rather than core subjects.
    pub durable: bool,
}

/// Runs until SIGINT or SIGTERM; calls `ready` once connected and subscribed.
pub fn run(config: Config, placement: Placement, ready: impl FnOnce(Started)) -> Result<RunSummary, RunError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("nexus-io")
        .enable_all()
        .build()
        .map_err(RunError::Runtime)?;

    // Connect everything before starting, so a bad URL fails fast with its name. Every process
    // reads the committed frontier, so all of them resume at the same place.
    let connection = NatsConnection::from_config(&config.nats)?;
    let postgres = runtime.block_on(PostgresSinkConfig::new(&config.postgres.url).build())?;
    let committed = postgres.committed_frontier();
    let source = runtime.block_on(input::InputSource::connect(&config, &connection, committed))?;
    let writes = placement.writes_sinks();
    let sink_client = if writes {
        let sinks = connection.named("nexus-sinks");
        let client = runtime
            .block_on(sinks.connect())
            .map_err(|source| RunError::NatsConnect { url: sinks.redacted_url(), source })?;
        Some(client)
    } else {
        None
    };
    let order_dispatch = match &sink_client {
        Some(client) => {
            Some(runtime.block_on(OrderDispatch::new(client.clone(), &config.nats.prefix, config.nats.jetstream))?)
        }
        None => None,
    };
    let stats = source.stats();
    let completed = Completed::default();
    let clients = [Some(source.client()), sink_client.clone()].into_iter().flatten().collect();
    let telemetry = Telemetry::new(stats.clone(), completed.clone(), clients, committed);
    let listener = match config.metrics.listen.as_str() {
        "" => None,
        listen => Some(
            runtime
                .block_on(http::bind_or_fallback(listen))
                .map_err(|source| RunError::Metrics { listen: listen.to_string(), source })?,
        ),
    };
    let started = Started {
        metrics: listener.as_ref().and_then(http::address),
        resumed_at: committed,
        durable: config.nats.jetstream,
    };
    tracing::info!(
        nats = %connection.redacted_url(),
        auth = ?connection.auth,
        durable = config.nats.jetstream,
        resumed_at = committed,
        lookback_us = config.lookback_us(),
        threads = placement.threads,
        process = placement.process,
        processes = placement.processes(),
        metrics = ?started.metrics,
        "nexus run connected"
    );

    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    runtime.spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutdown requested: finishing the current input and flushing sinks");
        let _ = shutdown_tx.send(true);
    });
    let server = listener.map(|listener| runtime.spawn(http::serve(listener, telemetry.clone(), shutdown_rx.clone())));

    let (senders, receivers) = bridge::channels(placement.threads, FEED_CAPACITY);
    let wakers = Wakers::default();
    let feeds = WorkerFeeds {
        senders,
        wakers: wakers.clone(),
        completed: completed.clone(),
        first_worker: placement.first_worker(),
        total_workers: placement.total_workers(),
    };
    let source_task = runtime.spawn(source.run(feeds, shutdown_rx));

    let (sink_tx, sink_rx) = sync_channel(SINK_CAPACITY);
    let (batch_tx, batch_rx) = mpsc::channel::<CompleteBatch>(BATCH_CAPACITY);
    // Order intents leave as soon as their time is complete, on a task of their own: they wait
    // neither for PostgreSQL nor for the other streams. PostgreSQL waits for them instead: a
    // frontier is committed only after the orders before it are out (a crash after dispatch but
    // before the commit re-dispatches them, and JetStream drops the duplicates).
    let (orders_tx, orders_rx) = mpsc::channel::<(Vec<(Time, String)>, Time)>(BATCH_CAPACITY);
    let (dispatched_tx, dispatched_rx) = watch::channel(0);
    let destinations = dispatch::Destinations { orders: orders_tx, batches: batch_tx };
    let dispatcher = dispatch::start(sink_rx, committed, destinations, telemetry.clone(), stats.clone())
        .map_err(|_| RunError::Panicked("sink dispatcher"))?;
    let orders_dispatched = order_dispatch.is_some().then_some(dispatched_rx);
    let orders_task = order_dispatch
        .map(|dispatch| runtime.spawn(writer::dispatch_orders(dispatch, orders_rx, dispatched_tx, telemetry.clone())));
    let sinks = writer::BatchSinks {
        postgres: writes.then_some(postgres),
        nats_out: sink_client.map(|client| NatsOutSink::new(client, &config.nats.prefix)),
        orders_dispatched,
    };
    let writer_task = runtime.spawn(writer::write_batches(batch_rx, sinks, telemetry.clone()));

    ready(started);
    let guards = worker::start_placed(receivers, &placement, config, sink_tx, Default::default(), wakers, completed)
        .map_err(RunError::Worker)?;
    let worker_results = guards.join();
    dispatcher.join().map_err(|_| RunError::Panicked("sink dispatcher"))?;
    runtime.block_on(writer_task).map_err(|_| RunError::Panicked("sink writer"))?;
    if let Some(task) = orders_task {
        runtime.block_on(task).map_err(|_| RunError::Panicked("order dispatcher"))?;
    }
    let sourced = runtime.block_on(source_task).map_err(|_| RunError::Panicked("nats source"))?;
    if let Some(server) = server {
        server.abort();
    }
    if let Some(Err(message)) = worker_results.into_iter().find(Result::is_err) {
        return Err(RunError::Worker(message));
    }
    sourced?;
    let summary = RunSummary {
        messages: stats.messages.load(Ordering::Relaxed),
        late: stats.late.load(Ordering::Relaxed),
        slow_consumer_events: stats.slow_consumer_events.load(Ordering::Relaxed),
        skipped: stats.skipped.load(Ordering::Relaxed),
    };
    tracing::info!(
        messages = summary.messages,
        late = summary.late,
        slow_consumer_events = summary.slow_consumer_events,
        skipped = summary.skipped,
        "nexus run stopped cleanly"
    );
    Ok(summary)
}
