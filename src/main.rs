//! The `nexus` command line.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use nexus::introspection::Introspection;
use nexus::publish::Pace;
use nexus::record::RecordLimits;
use nexus::replay::{ReplayOptions, ReplaySummary, replay};
use nexus_model::config::Config;

/// `println!` that ignores a closed stdout (`nexus replay ... | head`) instead of panicking.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// mimalloc instead of the system allocator: differential moves large batches, and glibc returns
/// them to the kernel and faults them back in on every round.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Incremental stream processor for crypto funding-rate arbitrage.
#[derive(Parser)]
#[command(name = "nexus", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the pipeline on a recording, as fast as possible and deterministically, writing
    /// DIR/<stream>.jsonl for every output stream.
    Replay {
        /// Recording to replay (JSON lines, optionally .zst).
        #[arg(long, value_name = "FILE")]
        input: PathBuf,
        /// Output directory (created if missing).
        #[arg(long, value_name = "DIR")]
        output: PathBuf,
        /// Configuration file (TOML); defaults apply to every key it leaves out.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Timely worker threads [default: workers.threads from the config, else 1].
        #[arg(long, value_name = "N")]
        workers: Option<usize>,
        /// Do not draw a progress bar.
        #[arg(long)]
        quiet: bool,
        /// Also write the results to this PostgreSQL database (migrated with `nexus migrate`).
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
        /// Report the updates held in arrangements, sampled every SECONDS of logical time
        /// (slows the replay down).
        #[arg(long, value_name = "SECONDS")]
        arrangement_sizes: Option<u64>,
        /// Report the time every operator took (its own, summed over workers), sampled every
        /// SECONDS of logical time to show how it changes as the replay goes on (slows the
        /// replay down).
        #[arg(long, value_name = "SECONDS")]
        operator_times: Option<u64>,
    },
    /// The long-running worker: NATS in, PostgreSQL and out.<stream> subjects out, until SIGINT
    /// or SIGTERM.
    Run {
        /// Configuration file (TOML); NATS_URL and DATABASE_URL override it.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Timely worker threads [default: workers.threads from the config, else 1].
        #[arg(long, value_name = "N")]
        workers: Option<usize>,
        /// This process's index in a cluster of --processes (0 writes the sinks).
        #[arg(long, value_name = "I", default_value_t = 0, requires = "hosts")]
        process: usize,
        /// Number of processes in the cluster (each started with the same --hosts and --workers).
        #[arg(long, value_name = "N", default_value_t = 1, requires = "hosts")]
        processes: usize,
        /// File with one host:port per line, one line per process, for timely's cluster mode.
        #[arg(long, value_name = "FILE")]
        hosts: Option<PathBuf>,
    },
    /// Send a recording into NATS in order, each message stamped with its recv_us (Nexus-Time).
    Publish {
        /// Recording to publish (JSON lines, optionally .zst).
        #[arg(long, value_name = "FILE")]
        input: PathBuf,
        /// Messages per second [default: as fast as possible].
        #[arg(long, value_name = "N", conflicts_with = "speed")]
        rate: Option<f64>,
        /// Follow the recording's own timing, sped up by this factor.
        #[arg(long, value_name = "X")]
        speed: Option<f64>,
        /// Configuration file (for nats.url and nats.prefix).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Write messages from NATS to a recording until Ctrl-C (or --count / --duration).
    Record {
        /// Subject patterns, comma separated.
        #[arg(long, value_name = "SUBJECTS", default_value = "feeds.>,exec.fills.>,control.>", value_delimiter = ',')]
        subjects: Vec<String>,
        /// Recording to write (.zst compresses).
        #[arg(long, value_name = "FILE")]
        output: PathBuf,
        /// Stop after this many messages.
        #[arg(long, value_name = "N")]
        count: Option<u64>,
        /// Stop after this many seconds.
        #[arg(long, value_name = "SECONDS")]
        duration: Option<f64>,
        /// Configuration file (for nats.url and nats.prefix).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// The whole pipeline on a built-in simulator of four venues and the scanner, in-process, with a
    /// live terminal view; no NATS or PostgreSQL needed. Outputs go to ./nexus-out.
    Demo {
        /// Output directory for the <stream>.jsonl files.
        #[arg(long, value_name = "DIR", default_value = "nexus-out")]
        output: PathBuf,
        /// Configuration file (TOML) for the dataflow parameters; without it, the defaults with 5 s
        /// VaR bars (`var.bar_ms = 5000`) so that VaR appears within seconds.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Timely worker threads.
        #[arg(long, value_name = "N", default_value_t = 2)]
        workers: usize,
        /// Simulator seed: the same seed gives the same market.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Simulated seconds per real second.
        #[arg(long, value_name = "X", default_value_t = 20.0)]
        speed: f64,
        /// Stop by itself after this many seconds.
        #[arg(long, value_name = "SECONDS")]
        duration: Option<f64>,
        /// Print plain summaries instead of the live view, even on a terminal.
        #[arg(long)]
        plain: bool,
    },
    /// Publish the built-in market simulator into NATS (real payload formats, Nexus-Time stamped)
    /// until Ctrl-C or --duration.
    Simulate {
        /// Simulator seed.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Simulated seconds per real second.
        #[arg(long, value_name = "X", default_value_t = 1.0)]
        speed: f64,
        /// Stop after this many seconds.
        #[arg(long, value_name = "SECONDS")]
        duration: Option<f64>,
        /// Configuration file (for nats.url and nats.prefix).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Write a recording of --duration simulated seconds to FILE instead of publishing (as fast
        /// as possible; no NATS needed).
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// With --output: write order flow alone (orders and trades with a manipulation episode
        /// every minute) until the recording holds N messages: a historical-scan input.
        #[arg(long, value_name = "N", requires = "output")]
        order_events: Option<u64>,
    },
    /// A paper venue on NATS: fills the market orders of exec.orders.> at the current book (the
    /// ask for a buy, the bid for a sell, the mark price without a book) and publishes the fills on
    /// exec.fills.<venue>, until Ctrl-C or SIGTERM.
    PaperVenue {
        /// Configuration file (for nats.url, nats.prefix and the taker fees charged).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Delay before each fill, milliseconds (also added to the order's logical time).
        #[arg(long, value_name = "MS", default_value_t = 50)]
        latency_ms: u64,
        /// Share of orders rejected (not filled), between 0 and 1.
        #[arg(long, value_name = "SHARE", default_value_t = 0.0)]
        reject_rate: f64,
        /// A venue that rejects every order (repeat for several).
        #[arg(long, value_name = "VENUE")]
        reject_venue: Vec<nexus_model::Venue>,
        /// Seed of the reject choice: the same seed rejects the same orders.
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Apply the PostgreSQL schema migrations.
    Migrate {
        /// Configuration file (for postgres.url).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Check the configuration, NATS, PostgreSQL and the migrations; names the part that fails.
    Validate {
        /// Configuration file.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

/// A tokio runtime for the commands that only do I/O.
fn io_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// The demo's configuration without `--config`: the defaults and the environment, with 5-second
/// VaR bars so that a window (and VaR figures) fill within seconds of simulated trading.
fn demo_config() -> anyhow::Result<Config> {
    let mut config = load_config(None)?;
    config.var.bar_ms = 5_000;
    config.var.grain_ms = 0;
    config.var.retention_ms = 0;
    config.var.resolve();
    config.validate().context("invalid demo configuration")?;
    Ok(config)
}

fn load_config(path: Option<&std::path::Path>) -> anyhow::Result<Config> {
    Config::load(path).context("invalid configuration")
}

/// The NATS connection `[nats]` and the environment's credentials describe.
fn connection(config: &Config) -> anyhow::Result<nexus_sources::nats::NatsConnection> {
    Ok(nexus_sources::nats::NatsConnection::from_config(&config.nats)?)
}

/// Where this process's workers sit: one process, or one of `processes` listed in `hosts`.
fn placement(
    workers: usize,
    process: usize,
    processes: usize,
    hosts: Option<&std::path::Path>,
) -> anyhow::Result<nexus::worker::Placement> {
    let Some(hosts) = hosts else {
        return Ok(nexus::worker::Placement::single(workers));
    };
    let text = std::fs::read_to_string(hosts).with_context(|| format!("cannot read --hosts {}", hosts.display()))?;
    let addresses: Vec<String> =
        text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(str::to_string).collect();
    anyhow::ensure!(processes >= 1, "--processes must be at least 1");
    anyhow::ensure!(
        addresses.len() >= processes,
        "--hosts {} lists {} addresses; --processes {processes} needs one per process",
        hosts.display(),
        addresses.len()
    );
    anyhow::ensure!(process < processes, "--process must be below --processes ({processes}), got {process}");
    Ok(nexus::worker::Placement { threads: workers, process, addresses: addresses[..processes].to_vec() })
}

fn main() -> std::process::ExitCode {
    match run_cli() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            // One line with the whole cause chain; no backtrace noise for operators.
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run_cli() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Replay { input, output, config, workers, quiet, database_url, arrangement_sizes, operator_times } => {
            let config = Config::load(config.as_deref()).context("invalid configuration")?;
            let workers = workers.unwrap_or(config.workers.threads);
            anyhow::ensure!(workers >= 1, "--workers must be at least 1");
            let progress = !quiet && std::io::stderr().is_terminal();
            anyhow::ensure!(arrangement_sizes != Some(0), "--arrangement-sizes must be at least 1 second");
            anyhow::ensure!(operator_times != Some(0), "--operator-times must be at least 1 second");
            let mut introspection = Introspection::default();
            if let Some(seconds) = arrangement_sizes {
                introspection = introspection.with_arrangement_sizes(seconds.saturating_mul(1_000_000));
            }
            if let Some(seconds) = operator_times {
                introspection = introspection.with_operator_times(seconds.saturating_mul(1_000_000));
            }
            let options = ReplayOptions { input, output, config, workers, progress, database_url, introspection };
            tracing::info!(input = %options.input.display(), output = %options.output.display(), workers, "replay starting");
            let summary = replay(&options).context("replay failed")?;
            print_summary(&summary, &options);
            Ok(())
        }
        Command::Demo { output, config, workers, seed, speed, duration, plain } => {
            let config = match config {
                Some(path) => load_config(Some(&path))?,
                None => demo_config()?,
            };
            anyhow::ensure!(workers >= 1, "--workers must be at least 1");
            anyhow::ensure!(speed > 0.0, "--speed must be positive");
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let on_signal = std::sync::Arc::clone(&stop);
            ctrlc::set_handler(move || on_signal.store(true, std::sync::atomic::Ordering::SeqCst))
                .context("cannot install the Ctrl-C handler")?;
            let options = nexus::demo::DemoOptions {
                output: output.clone(),
                config,
                workers,
                seed,
                speed,
                duration: duration.map(std::time::Duration::from_secs_f64),
                interactive: !plain && std::io::stdout().is_terminal(),
            };
            let summary = nexus::demo::demo(&options, stop)?;
            say!("{summary}");
            say!("outputs written to {}/<stream>.jsonl", output.display());
            Ok(())
        }
        Command::Run { config, workers, process, processes, hosts } => {
            let config = load_config(config.as_deref())?;
            let workers = workers.unwrap_or(config.workers.threads);
            anyhow::ensure!(workers >= 1, "--workers must be at least 1");
            let placement = placement(workers, process, processes, hosts.as_deref())?;
            let summary = nexus::run::run(config, placement, |started| {
                let input = match (started.durable, started.resumed_at) {
                    (false, _) => "core NATS subjects".to_string(),
                    (true, 0) => "JetStream streams from their start".to_string(),
                    (true, frontier) => format!("JetStream streams, resuming at frontier {frontier}"),
                };
                let metrics = started.metrics.map(|a| format!("; metrics on http://{a}/metrics")).unwrap_or_default();
                say!("ready: consuming {input}{metrics}; Ctrl-C or SIGTERM stops")
            })?;
            say!(
                "stopped: {} messages, {} late, {} slow-consumer events, {} skipped before the lookback",
                summary.messages,
                summary.late,
                summary.slow_consumer_events,
                summary.skipped
            );
            Ok(())
        }
        Command::Publish { input, rate, speed, config } => {
            let config = load_config(config.as_deref())?;
            let pace = match (rate, speed) {
                (Some(rate), _) if rate > 0.0 => Pace::Rate(rate),
                (_, Some(speed)) if speed > 0.0 => Pace::Speed(speed),
                (None, None) => Pace::Unlimited,
                _ => anyhow::bail!("--rate and --speed must be positive"),
            };
            let summary = io_runtime()?.block_on(nexus::publish::publish(
                &input,
                &connection(&config)?,
                &config.nats.prefix,
                config.nats.jetstream,
                pace,
            ))?;
            say!("published {} messages ({} unreadable lines skipped)", summary.published, summary.skipped);
            Ok(())
        }
        Command::Record { subjects, output, count, duration, config } => {
            let config = load_config(config.as_deref())?;
            let limits = RecordLimits { count, duration: duration.map(std::time::Duration::from_secs_f64) };
            let written = io_runtime()?.block_on(nexus::record::record(
                &output,
                &connection(&config)?,
                &config.nats.prefix,
                &subjects,
                limits,
                || eprintln!("recording {}; Ctrl-C stops", subjects.join(", ")),
            ))?;
            say!("recorded {written} messages to {}", output.display());
            Ok(())
        }
        Command::PaperVenue { config, latency_ms, reject_rate, reject_venue, seed } => {
            let config = load_config(config.as_deref())?;
            let venue = nexus_sources::paper::PaperVenueConfig {
                latency: std::time::Duration::from_millis(latency_ms),
                reject_rate,
                reject_venues: reject_venue,
                taker_fees: nexus_model::Venue::ALL.map(|v| config.fees.taker.of(v)),
                seed,
            }
            .build()
            .context("invalid paper venue options")?;
            let runtime = io_runtime()?;
            let (stop, shutdown) = tokio::sync::watch::channel(false);
            runtime.spawn(async move {
                nexus::run::wait_for_signal().await;
                let _ = stop.send(true);
            });
            let summary = runtime.block_on(nexus_sources::paper::service::run(&config, venue, shutdown, || {
                say!("ready: filling exec.orders.> ; Ctrl-C or SIGTERM stops")
            }))?;
            say!(
                "stopped: {} orders, {} fills, {} rejected, {} duplicates ignored",
                summary.orders,
                summary.fills,
                summary.rejected,
                summary.duplicates
            );
            Ok(())
        }
        Command::Simulate { seed, speed, duration, config, output, order_events } => {
            if let (Some(path), Some(events)) = (&output, order_events) {
                let (written, expected) = nexus::simulate::write_order_flow(path, seed, events)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                say!("wrote {written} order-flow messages to {}; injected episodes must raise:", path.display());
                for pattern in nexus_model::records::Pattern::ALL {
                    let count = expected.iter().filter(|e| e.pattern == pattern).count();
                    say!("  {:<24} {count}", pattern.name());
                }
                return Ok(());
            }
            if let Some(path) = output {
                let seconds = duration.context("--output needs --duration (simulated seconds)")?;
                anyhow::ensure!(seconds >= 1.0, "--duration must be at least 1 second");
                let written = nexus::simulate::write_recording(&path, seed, seconds as u64)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                say!("wrote {written} simulated messages ({seconds} s of logical time) to {}", path.display());
                return Ok(());
            }
            let config = load_config(config.as_deref())?;
            anyhow::ensure!(speed > 0.0, "--speed must be positive");
            let duration = duration.map(std::time::Duration::from_secs_f64);
            let published = io_runtime()?.block_on(nexus::simulate::simulate(
                &connection(&config)?,
                &config.nats.prefix,
                seed,
                speed,
                duration,
            ))?;
            say!("published {published} simulated messages");
            Ok(())
        }
        Command::Migrate { config } => {
            let config = load_config(config.as_deref())?;
            let count = io_runtime()?.block_on(nexus::admin::migrate(&config.postgres.url))?;
            say!(
                "migrations: all {count} applied to {}",
                nexus_sources::nats::connection::redact_url(&config.postgres.url)
            );
            Ok(())
        }
        Command::Validate { config } => {
            let config = match load_config(config.as_deref()) {
                Ok(config) => {
                    say!("ok    config");
                    config
                }
                Err(error) => {
                    say!("FAIL  config: {error:#}");
                    std::process::exit(1);
                }
            };
            let checks = io_runtime()?.block_on(nexus::admin::validate(&config));
            let mut failed = false;
            for check in checks {
                match check.outcome {
                    Ok(detail) => say!("ok    {}: {detail}", check.part),
                    Err(problem) => {
                        failed = true;
                        say!("FAIL  {}: {problem}", check.part);
                    }
                }
            }
            if failed {
                std::process::exit(1);
            }
            Ok(())
        }
    }
}

fn print_summary(summary: &ReplaySummary, options: &ReplayOptions) {
    say!(
        "replayed {} events in {:.3} s ({:.0} events/s) with {} worker(s); clock stopped at {} us",
        summary.events,
        summary.elapsed.as_secs_f64(),
        summary.events_per_second(),
        options.workers,
        summary.last_time
    );
    if summary.late > 0 {
        say!("late events (processed at the current time): {}", summary.late);
    }
    let rejected: u64 = summary.outputs.rejected_by_kind.values().sum();
    say!("rejected: {rejected}");
    for (kind, count) in &summary.outputs.rejected_by_kind {
        say!("  {kind:<24} {count}");
    }
    let alerts: i64 = summary.outputs.alerts_by_pattern.values().sum();
    say!("alerts: {alerts}");
    for (pattern, count) in summary.outputs.alerts_by_pattern.iter().filter(|(_, count)| **count != 0) {
        say!("  {:<24} {count}", pattern.name());
    }
    say!("outputs in {}:", options.output.display());
    for (stream, lines) in &summary.outputs.lines {
        say!("  {:<24} {lines} updates", format!("{stream}.jsonl"));
    }
    if let Some(report) = &summary.arrangements {
        say!("updates held in arrangements (logical time since the first input):");
        let start = report.samples.first().map_or(0, |(time, _)| *time);
        for (time, total) in &report.samples {
            say!("  {:>10.1} h  {total:>12}", (time - start) as f64 / 3.6e9);
        }
        say!("largest arrangements at the last sample:");
        for (name, records) in report.by_name.iter().take(12) {
            say!("  {name:<40} {records:>12}");
        }
    }
    if let (Some(operators), Some(times)) = (&summary.operators, options.introspection.operators()) {
        print_operator_times(operators, times.every_us(), options.workers);
    }
}

/// Operators that took the most time, with their time in the first and last intervals of
/// logical time (growth there is state or work building up as the replay went on).
fn print_operator_times(operators: &[nexus::introspection::OperatorTime], every_us: u64, workers: usize) {
    let all: f64 = operators.iter().map(|op| op.total.as_secs_f64()).sum();
    let intervals = operators.first().map_or(0, |op| op.per_interval.len());
    say!(
        "time per operator ({all:.3} s in all: own time, nested operators left out, summed over {workers} \
         worker(s); first and last of {intervals} intervals of {} s of logical time):",
        every_us / 1_000_000
    );
    say!("  {:<40} {:>5} {:>10} {:>7} {:>9} {:>9}", "operator", "count", "total s", "share", "first s", "last s");
    for op in operators.iter().take(25) {
        let total = op.total.as_secs_f64();
        let first = op.per_interval.first().map_or(0.0, |d| d.as_secs_f64());
        let last = op.per_interval.last().map_or(0.0, |d| d.as_secs_f64());
        say!(
            "  {:<40} {:>5} {total:>10.3} {:>6.1}% {first:>9.3} {last:>9.3}",
            op.name,
            op.operators,
            total / all.max(1e-9) * 100.0
        );
    }
}
