//! The same load fed to the workers in-process, with no NATS and no PostgreSQL: the dataflows
//! alone. A feeder thread sends rounds the way the NATS source does (at once while the workers
//! are idle, batched while they are busy), and a sink thread records, for every output update,
//! the moment its time is complete minus its input's intended send time.

use std::sync::mpsc::sync_channel;
use std::thread;
use std::time::{Duration, Instant};

use nexus::worker;
use nexus_model::config::Config;
use nexus_sinks::complete::CompletedTimes;
use nexus_sources::bridge::{self, Completed, Feed, Wakers, route};
use nexus_sources::message::{Item, Message};
use nexus_sources::nats::{NatsConnection, NatsSourceConfig};

use crate::market::Load;
use crate::report::{RateRun, latency_histogram};
use crate::schedule::{Schedule, cpu_seconds, wall_us};

/// Runs `rate` messages/s for `seconds` through fresh workers and measures it.
pub fn run(load: &Load, rate: u64, seconds: u64, workers: usize) -> RateRun {
    // The NATS source's batching, so both paths send the same rounds.
    let batching = NatsSourceConfig::new(NatsConnection::new(""), "");
    let (senders, receivers) = bridge::channels(workers, 64);
    let (wakers, completed) = (Wakers::default(), Completed::default());
    let (sink_tx, sink_rx) = sync_channel(4096);
    let recorder = thread::spawn(move || {
        let (mut latency, mut updates, mut last_output) = (latency_histogram(), 0u64, 0u64);
        let mut buffer = CompletedTimes::new();
        for event in sink_rx {
            let Some(batch) = buffer.accept(event) else { continue };
            let now = wall_us();
            for (time, streams) in &batch.times {
                let count: usize =
                    streams.iter().filter(|(stream, _)| !stream.is_internal()).map(|(_, u)| u.len()).sum();
                if count > 0 {
                    let _ = latency.record_n(now.saturating_sub(*time).max(1), count as u64);
                    updates += count as u64;
                    last_output = now;
                }
            }
        }
        (latency, updates, last_output)
    });
    let guards =
        worker::start(receivers, Config::default(), sink_tx, Default::default(), wakers.clone(), completed.clone())
            .unwrap_or_else(|e| panic!("workers: {e}"));
    // Let the workers install their dataflows before the clock starts.
    thread::sleep(Duration::from_millis(200));

    let cpu_before = cpu_seconds(std::process::id());
    let schedule = Schedule::starting_soon(rate, seconds);
    let started = Instant::now();
    let mut batches: Vec<Vec<Item>> = vec![Vec::new(); workers];
    let (mut sent, mut pending, mut last_sent, mut last_time) = (0usize, 0usize, 0u64, 0u64);
    let (mut last_round, mut rounds) = (Instant::now(), 0u64);
    while sent < schedule.count || pending > 0 {
        let due = schedule.due(wall_us());
        while sent < due {
            let n = sent;
            let (subject, payload) = load.get(n);
            let (seq, time) = (n as u64, schedule.stamp(n));
            let message = Message { seq, time, subject: subject.to_string(), payload: payload.clone() };
            batches[route(subject, seq, workers)].push(Item::Message(message));
            (sent, pending, last_time) = (n + 1, pending + 1, time);
        }
        let idle = completed.frontier() >= last_sent;
        if pending > 0 && (idle || pending >= batching.max_batch || last_round.elapsed() >= batching.max_hold) {
            // Every later message is stamped at or after the next one's time, so the round's
            // times before it are complete (as a live round's are, up to the wall clock).
            let watermark = schedule.stamp(sent).max(last_time);
            for (sender, batch) in senders.iter().zip(batches.iter_mut()) {
                let items = std::mem::take(batch);
                sender.blocking_send(Feed::Batch { items, watermark }).unwrap_or_else(|e| panic!("{e}"));
            }
            wakers.wake_all();
            (pending, last_sent, last_round, rounds) = (0, watermark, Instant::now(), rounds + 1);
        }
        // Sleep until the next message is due (at most 1 ms, at least 50 µs).
        thread::sleep(Duration::from_micros(schedule.intended(sent).saturating_sub(wall_us()).clamp(50, 1_000)));
    }
    let send_seconds = started.elapsed().as_secs_f64();
    for sender in &senders {
        sender.blocking_send(Feed::End { last_time }).unwrap_or_else(|e| panic!("{e}"));
    }
    for result in guards.join() {
        result.unwrap_or_else(|e| panic!("worker: {e}"));
    }
    let cpu = cpu_seconds(std::process::id()) - cpu_before;
    let (latency, output_updates, last_output) = recorder.join().unwrap_or_else(|_| panic!("recorder panicked"));
    let drain_seconds = last_output.saturating_sub(schedule.start_us) as f64 / 1e6;
    RateRun {
        path: "in-process",
        rate,
        sent: sent as u64,
        send_seconds,
        drain_seconds,
        latency,
        output_updates,
        cpu_cores: cpu / started.elapsed().as_secs_f64(),
        received: None,
        slow_consumer_events: None,
        rounds: Some(rounds),
    }
}
