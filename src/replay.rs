//! `nexus replay`: runs the pipeline on a recording as fast as possible, deterministically, and
//! writes every output stream to `DIR/<stream>.jsonl`.
//!
//! Threads: one feeder reads the recording and stamps logical time (the input bridge), N timely
//! workers decode and compute, one writer consolidates and writes the files (and, with a database
//! URL, the PostgreSQL tables, as `nexus run` would).

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, sync_channel};
use std::thread;
use std::time::{Duration, Instant};

use nexus_model::LogicalTime;
use nexus_model::config::Config;
use nexus_model::records::OutputStream;
use nexus_sinks::SinkEvent;
use nexus_sinks::complete::{CompleteBatch, CompletedTimes};
use nexus_sinks::jsonl::{JsonlError, JsonlSink, SinkSummary};
use nexus_sinks::postgres::{PostgresError, PostgresSink, PostgresSinkConfig};
use nexus_sources::bridge::{self, BridgeError};
use nexus_sources::recording::{RecordingError, RecordingReader};

use crate::introspection::{Introspection, OperatorTime};
use crate::progress::Progress;
use crate::worker;

/// Items per round of the feeder (spread over the workers).
const BATCH_ITEMS: usize = 4096;
/// Rounds that may wait in a worker's channel.
const FEED_CAPACITY: usize = 16;
/// Sink events that may wait for the writer.
const SINK_CAPACITY: usize = 1024;

/// What to replay and how.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    /// The recording (`.jsonl` or `.jsonl.zst`).
    pub input: PathBuf,
    /// Directory for the `<stream>.jsonl` files; created if missing.
    pub output: PathBuf,
    /// Configuration (parameters at the start of the recording).
    pub config: Config,
    /// Timely worker threads.
    pub workers: usize,
    /// Draw a progress bar (only shown on a terminal).
    pub progress: bool,
    /// Also write every batch to this (migrated) PostgreSQL database.
    pub database_url: Option<String>,
    /// What to measure of the dataflow as logical time advances (arrangement sizes, operator
    /// times); each measure slows the replay down.
    pub introspection: Introspection,
}

/// Why a replay failed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The recording could not be opened.
    #[error(transparent)]
    Recording(#[from] RecordingError),
    /// Feeding stopped early.
    #[error(transparent)]
    Feed(#[from] BridgeError),
    /// The output files could not be written.
    #[error(transparent)]
    Output(#[from] JsonlError),
    /// PostgreSQL could not be written.
    #[error(transparent)]
    Postgres(#[from] PostgresError),
    /// The async runtime for PostgreSQL could not start.
    #[error("cannot start the async runtime")]
    Runtime(#[source] std::io::Error),
    /// Timely could not start, or a worker failed.
    #[error("dataflow worker failed: {0}")]
    Worker(String),
    /// A helper thread panicked.
    #[error("{0} thread panicked")]
    Panicked(&'static str),
}

/// What a replay did.
#[derive(Debug, Clone)]
pub struct ReplaySummary {
    /// Input messages (non-blank recording lines).
    pub events: u64,
    /// Lines that were not recorded messages.
    pub unreadable: u64,
    /// Messages older than the clock, processed at the current time.
    pub late: u64,
    /// Logical time of the last input: no output is dated after it.
    pub last_time: LogicalTime,
    /// Wall-clock duration.
    pub elapsed: Duration,
    /// Lines written per stream and rejections per reason kind.
    pub outputs: SinkSummary,
    /// Arrangement sizes over logical time, when asked for.
    pub arrangements: Option<ArrangementReport>,
    /// Time per operator name, the most first, when asked for.
    pub operators: Option<Vec<OperatorTime>>,
}

/// Updates held in arrangements while the replay ran.
#[derive(Debug, Clone, Default)]
pub struct ArrangementReport {
    /// (logical time, updates held by all arrangements), sampled as time advanced.
    pub samples: Vec<(LogicalTime, i64)>,
    /// Updates held per arrangement at the end, largest first.
    pub by_name: Vec<(String, i64)>,
}

impl ReplaySummary {
    /// Input messages per wall-clock second.
    pub fn events_per_second(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Writes complete batches to the files and, when configured, to PostgreSQL, until the workers hang
/// up; then writes what remains up to the stop time.
fn write_outputs(
    events: Receiver<SinkEvent>,
    mut files: JsonlSink,
    mut database: Option<(tokio::runtime::Runtime, PostgresSink)>,
) -> Result<SinkSummary, ReplayError> {
    let mut buffer = CompletedTimes::new();
    let mut write = |batch: CompleteBatch| -> Result<(), ReplayError> {
        files.write(&batch)?;
        if let Some((runtime, sink)) = database.as_mut() {
            runtime.block_on(sink.write(&batch))?;
        }
        Ok(())
    };
    for event in events {
        if let Some(batch) = buffer.accept(event) {
            write(batch)?;
        }
    }
    write(buffer.finish())?;
    Ok(files.finish()?)
}

/// Replays a recording; see the module documentation.
pub fn replay(options: &ReplayOptions) -> Result<ReplaySummary, ReplayError> {
    let started = Instant::now();
    let workers = options.workers.max(1);
    let mut reader = RecordingReader::open(&options.input)?;
    let progress = options.progress.then(|| Progress::start(reader.total_bytes(), reader.progress_counter()));

    let files = JsonlSink::create(&options.output, &OutputStream::files(!options.config.var.stress.is_empty()))?;
    let database = match &options.database_url {
        None => None,
        Some(url) => {
            let runtime =
                tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(ReplayError::Runtime)?;
            let sink = runtime.block_on(PostgresSinkConfig::new(url).build())?;
            Some((runtime, sink))
        }
    };
    let (sink_tx, sink_rx) = sync_channel(SINK_CAPACITY);
    let writer = thread::Builder::new()
        .name("nexus-writer".into())
        .spawn(move || write_outputs(sink_rx, files, database))
        .map_err(|_| ReplayError::Panicked("writer"))?;

    let (senders, receivers) = bridge::channels(workers, FEED_CAPACITY);
    let feeder = thread::Builder::new()
        .name("nexus-feeder".into())
        .spawn(move || bridge::feed_recording(&mut reader, &senders, BATCH_ITEMS))
        .map_err(|_| ReplayError::Panicked("feeder"))?;

    let guards = worker::start(
        receivers,
        options.config.clone(),
        sink_tx,
        options.introspection.clone(),
        Default::default(),
        Default::default(),
    )
    .map_err(ReplayError::Worker)?;
    let worker_results = guards.join();

    let fed = feeder.join().map_err(|_| ReplayError::Panicked("feeder"))?;
    let outputs = writer.join().map_err(|_| ReplayError::Panicked("writer"))?;
    if let Some(progress) = progress {
        progress.finish();
    }
    if let Some(Err(message)) = worker_results.into_iter().find(Result::is_err) {
        return Err(ReplayError::Worker(message));
    }
    let fed = fed?;
    let outputs = outputs?;
    Ok(ReplaySummary {
        events: fed.lines,
        unreadable: fed.unreadable,
        late: fed.late,
        last_time: fed.last_time,
        elapsed: started.elapsed(),
        outputs,
        arrangements: options
            .introspection
            .arrangements()
            .map(|sizes| ArrangementReport { samples: sizes.samples(), by_name: sizes.by_name() }),
        operators: options.introspection.operators().map(|times| times.report()),
    })
}
