//! The dispatcher thread: turns the workers' updates and frontiers into complete batches, drops
//! what the sinks committed before a restart, counts rejections and latency, and hands orders
//! and batches to the writers.

use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::thread::{self, JoinHandle};

use nexus_model::LogicalTime as Time;
use nexus_model::records::{OutputStream, Rejected};
use nexus_sinks::SinkEvent;
use nexus_sinks::complete::{CompleteBatch, CompletedTimes};
use nexus_sources::nats::NatsSourceStats;
use tokio::sync::mpsc;

use super::telemetry::Telemetry;

/// Where complete batches go.
pub struct Destinations {
    /// Order intents (positive updates of `orders`) as soon as their time is complete, with the
    /// frontier they complete (sent for every batch, so the dispatcher can say how far it got).
    pub orders: mpsc::Sender<(Vec<(Time, String)>, Time)>,
    /// Every complete batch, for PostgreSQL and `out.*`.
    pub batches: mpsc::Sender<CompleteBatch>,
}

/// Starts the dispatcher on `events`; outputs at times before `resume_from` (the committed
/// frontier of an earlier run) are dropped: they were written then.
pub fn start(
    events: Receiver<SinkEvent>,
    resume_from: Time,
    destinations: Destinations,
    telemetry: Arc<Telemetry>,
    source: Arc<NatsSourceStats>,
) -> std::io::Result<JoinHandle<()>> {
    thread::Builder::new().name("nexus-sink".into()).spawn(move || {
        let mut buffer = CompletedTimes::new();
        let forward = |mut batch: CompleteBatch| -> bool {
            for sent in source.rounds_completed(batch.frontier) {
                telemetry.latency.observe(sent.elapsed().as_secs_f64());
            }
            batch.times.retain(|(time, _)| *time >= resume_from);
            for (_, data, diff) in batch.stream(OutputStream::Rejected) {
                if diff > 0
                    && let Ok(rejected) = serde_json::from_str::<Rejected>(data)
                {
                    telemetry.rejected(&rejected.reason);
                }
            }
            let orders: Vec<(Time, String)> = batch
                .stream(OutputStream::Orders)
                .filter(|u| u.2 > 0)
                .map(|(t, data, _)| (t, data.to_string()))
                .collect();
            destinations.orders.blocking_send((orders, batch.frontier)).is_ok()
                && destinations.batches.blocking_send(batch).is_ok()
        };
        for event in events {
            if let Some(batch) = buffer.accept(event)
                && !forward(batch)
            {
                return;
            }
        }
        forward(buffer.finish());
    })
}
