//! What `nexus run` reports about itself: Prometheus metrics and the health verdict.
//!
//! Counters the source keeps (events in, late, slow consumer, skipped) are read at scrape time by
//! a collector; what the sinks see (rejections, latency, batch sizes, retries) is recorded here as
//! it happens.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nexus_model::LogicalTime;
use nexus_sources::bridge::Completed;
use nexus_sources::nats::NatsSourceStats;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use serde::Serialize;

/// The frontier counts as stuck when it has not moved for this long while input waits.
pub const STUCK_AFTER: Duration = Duration::from_secs(30);

/// A rejection's kind (the part of its reason before `:`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    /// The kind, e.g. `malformed json`.
    pub reason: String,
}

/// A sink's name.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SinkLabel {
    /// `postgres`, `nats_out` or `orders`.
    pub sink: &'static str,
}

/// Everything `/metrics` and `/health` report.
#[derive(Debug)]
pub struct Telemetry {
    registry: Registry,
    /// Rejected inputs by kind of reason.
    pub rejected: Family<ReasonLabel, Counter>,
    /// Seconds from a round's dispatch to the workers until its outputs were complete.
    pub latency: Histogram,
    /// Updates per batch written to the sinks.
    pub batch_updates: Histogram,
    /// Failed sink writes (each retried with backoff).
    pub sink_errors: Family<SinkLabel, Counter>,
    state: Arc<State>,
}

/// Readings shared with the collector.
#[derive(Debug)]
struct State {
    source: Arc<NatsSourceStats>,
    completed: Completed,
    committed: AtomicU64,
    postgres_up: AtomicBool,
    nats: Vec<async_nats::Client>,
    /// The committed frontier and when it last moved.
    progress: Mutex<(LogicalTime, Instant)>,
}

/// The `/health` verdict.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Health {
    /// Every client connected to NATS.
    pub nats: bool,
    /// The last PostgreSQL write (or the start-up check) succeeded.
    pub postgres: bool,
    /// The committed frontier moved in the last 30 s, or has nothing to catch up with.
    pub frontier_advancing: bool,
    /// The committed frontier (microseconds).
    pub frontier: LogicalTime,
    /// The input clock: the time of the latest round given to the workers.
    pub input_clock: LogicalTime,
}

impl Health {
    /// All three checks pass.
    pub fn ok(&self) -> bool {
        self.nats && self.postgres && self.frontier_advancing
    }
}

impl Telemetry {
    /// Metrics over the source's counters and the workers' frontier; `nats` are the clients whose
    /// connection `/health` checks; `committed` the frontier PostgreSQL holds at start.
    pub fn new(
        source: Arc<NatsSourceStats>,
        completed: Completed,
        nats: Vec<async_nats::Client>,
        committed: LogicalTime,
    ) -> Arc<Telemetry> {
        let mut registry = Registry::with_prefix("nexus");
        let rejected = Family::<ReasonLabel, Counter>::default();
        registry.register("rejected_inputs", "Inputs rejected, by kind of reason", rejected.clone());
        // 100 µs to about 210 s.
        let latency = Histogram::new(exponential_buckets(0.0001, 2.0, 22));
        registry.register(
            "input_to_output_latency_seconds",
            "From a round's dispatch to the workers until its outputs are complete",
            latency.clone(),
        );
        let batch_updates = Histogram::new(exponential_buckets(1.0, 4.0, 10));
        registry.register("sink_batch_updates", "Updates per batch written to the sinks", batch_updates.clone());
        let sink_errors = Family::<SinkLabel, Counter>::default();
        registry.register("sink_errors", "Failed sink writes, each retried with backoff", sink_errors.clone());
        let state = Arc::new(State {
            source,
            completed,
            committed: AtomicU64::new(committed),
            postgres_up: AtomicBool::new(true),
            nats,
            progress: Mutex::new((committed, Instant::now())),
        });
        registry.register_collector(Box::new(Readings(Arc::clone(&state))));
        Arc::new(Telemetry { registry, rejected, latency, batch_updates, sink_errors, state })
    }

    /// Records a successful PostgreSQL commit up to `frontier`.
    pub fn committed(&self, frontier: LogicalTime) {
        self.state.postgres_up.store(true, Ordering::Relaxed);
        let before = self.state.committed.fetch_max(frontier, Ordering::Relaxed);
        if frontier > before
            && let Ok(mut progress) = self.state.progress.lock()
        {
            *progress = (frontier, Instant::now());
        }
    }

    /// Records a failed write to `sink`.
    pub fn sink_failed(&self, sink: &'static str) {
        if sink == "postgres" {
            self.state.postgres_up.store(false, Ordering::Relaxed);
        }
        self.sink_errors.get_or_create(&SinkLabel { sink }).inc();
    }

    /// Counts a rejection with reason `reason` (`"<kind>: <detail>"`).
    pub fn rejected(&self, reason: &str) {
        let kind = reason.split(':').next().unwrap_or(reason).trim().to_string();
        self.rejected.get_or_create(&ReasonLabel { reason: kind }).inc();
    }

    /// The health verdict now.
    pub fn health(&self) -> Health {
        let state = &self.state;
        let frontier = state.committed.load(Ordering::Relaxed);
        let input_clock = state.source.clock();
        let moved_recently = state.progress.lock().map(|p| p.1.elapsed() < STUCK_AFTER).unwrap_or(false);
        Health {
            nats: state.nats.iter().all(|c| c.connection_state() == async_nats::connection::State::Connected),
            postgres: state.postgres_up.load(Ordering::Relaxed),
            frontier_advancing: moved_recently || frontier > input_clock,
            frontier,
            input_clock,
        }
    }

    /// The metrics in Prometheus text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &self.registry).is_err() {
            text.clear();
        }
        text
    }
}

/// The collector that reads the counters kept elsewhere at scrape time.
#[derive(Debug)]
struct Readings(Arc<State>);

impl Collector for Readings {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let state = &self.0;
        let source = &state.source;
        let counter = |encoder: &mut DescriptorEncoder, name: &str, help: &str, value: u64| {
            let metric = ConstCounter::new(value);
            metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
        };
        let gauge = |encoder: &mut DescriptorEncoder, name: &str, help: &str, value: i64| {
            let metric = ConstGauge::new(value);
            metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
        };
        {
            let metric = ConstCounter::new(0u64);
            let mut family = encoder.encode_descriptor(
                "events_in",
                "Input messages received, by subject",
                None,
                metric.metric_type(),
            )?;
            for (subject, count) in source.by_subject() {
                let labels = [("subject", subject)];
                ConstCounter::new(count).encode(family.encode_family(&labels)?)?;
            }
        }
        counter(
            &mut encoder,
            "late_events",
            "Messages older than the clock, processed at the current time",
            source.late.load(Ordering::Relaxed),
        )?;
        counter(
            &mut encoder,
            "slow_consumer_events",
            "Messages the core-NATS client dropped (never in JetStream mode)",
            source.slow_consumer_events.load(Ordering::Relaxed),
        )?;
        counter(
            &mut encoder,
            "skipped_before_lookback",
            "Feed messages skipped on restart: older than frontier minus lookback",
            source.skipped.load(Ordering::Relaxed),
        )?;
        let as_gauge = |time: LogicalTime| i64::try_from(time).unwrap_or(i64::MAX);
        let committed = state.committed.load(Ordering::Relaxed);
        let input_clock = source.clock();
        gauge(
            &mut encoder,
            "input_clock_us",
            "Logical time of the latest round given to the workers",
            as_gauge(input_clock),
        )?;
        gauge(
            &mut encoder,
            "worker_frontier_us",
            "Every time before this is computed",
            as_gauge(state.completed.frontier()),
        )?;
        gauge(
            &mut encoder,
            "committed_frontier_us",
            "Every output before this is committed to PostgreSQL",
            as_gauge(committed),
        )?;
        gauge(
            &mut encoder,
            "sink_lag_us",
            "Input clock minus committed frontier",
            as_gauge(input_clock.saturating_sub(committed)),
        )?;
        gauge(
            &mut encoder,
            "postgres_up",
            "1 while PostgreSQL writes succeed",
            i64::from(state.postgres_up.load(Ordering::Relaxed)),
        )?;
        let connected = state.nats.iter().all(|c| c.connection_state() == async_nats::connection::State::Connected);
        gauge(&mut encoder, "nats_up", "1 while every NATS client is connected", i64::from(connected))?;
        Ok(())
    }
}
