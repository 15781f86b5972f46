//! What the benches that drive `nexus run` share.

use std::io::{BufRead, BufReader, Lines};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

/// Starts `nexus run --workers N --config FILE` and waits until it is ready; returns the process,
/// its ready line (which names the metrics address) and the rest of its standard output (its
/// closing counts come last).
pub fn start_run(config: &Path, workers: usize) -> (Child, String, Lines<BufReader<ChildStdout>>) {
    let mut worker = Command::new(env!("CARGO_BIN_EXE_nexus"))
        .args(["run", "--workers", &workers.to_string(), "--config"])
        .arg(config)
        .env_remove("NATS_URL")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("nexus run: {e}"));
    let stdout = worker.stdout.take().unwrap_or_else(|| panic!("nexus run has no stdout"));
    let mut lines = BufReader::new(stdout).lines();
    let ready = lines.by_ref().map_while(Result::ok).find(|l| l.starts_with("ready")).unwrap_or_default();
    (worker, ready, lines)
}
