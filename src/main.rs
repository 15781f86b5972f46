//! The `nexus` command line.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use nexus::replay::{ReplayOptions, ReplaySummary, replay};
use nexus_model::config::Config;

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
    },
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Replay { input, output, config, workers, quiet } => {
            let config = Config::load(config.as_deref()).context("invalid configuration")?;
            let workers = workers.unwrap_or(config.workers.threads);
            anyhow::ensure!(workers >= 1, "--workers must be at least 1");
            let options =
                ReplayOptions { input, output, config, workers, progress: !quiet && std::io::stderr().is_terminal() };
            tracing::info!(input = %options.input.display(), output = %options.output.display(), workers, "replay starting");
            let summary = replay(&options).context("replay failed")?;
            print_summary(&summary, &options);
            Ok(())
        }
    }
}

fn print_summary(summary: &ReplaySummary, options: &ReplayOptions) {
    println!(
        "replayed {} events in {:.3} s ({:.0} events/s) with {} worker(s); clock stopped at {} us",
        summary.events,
        summary.elapsed.as_secs_f64(),
        summary.events_per_second(),
        options.workers,
        summary.last_time
    );
    if summary.late > 0 {
        println!("late events (processed at the current time): {}", summary.late);
    }
    let rejected: u64 = summary.outputs.rejected_by_kind.values().sum();
    println!("rejected: {rejected}");
    for (kind, count) in &summary.outputs.rejected_by_kind {
        println!("  {kind:<24} {count}");
    }
    println!("outputs in {}:", options.output.display());
    for (stream, lines) in &summary.outputs.lines {
        println!("  {:<24} {lines} updates", format!("{stream}.jsonl"));
    }
}
