//! Helpers shared by the integration tests that run the `nexus` binary against the real services.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use sqlx::PgPool;

/// The `nexus` binary, with the environment overrides removed so the test's config applies.
pub fn nexus() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_nexus"));
    command.env_remove("NATS_URL").env_remove("DATABASE_URL");
    command
}

/// Writes `dir/nexus.toml` for a worker on a subject prefix of its own, writing to `database_url`,
/// with JetStream order dispatch on or off, followed by `extra` TOML; returns its path and the
/// prefix.
pub fn write_config(dir: &Path, database_url: &str, jetstream: bool, extra: &str) -> (PathBuf, String) {
    let prefix = unique_prefix();
    let config = dir.join("nexus.toml");
    let text = format!(
        "[nats]\nprefix = \"{prefix}\"\njetstream = {jetstream}\n\n[postgres]\nurl = \"{database_url}\"\n\n{extra}"
    );
    std::fs::write(&config, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", config.display()));
    (config, prefix)
}

/// A NATS subject prefix no other test (or run) uses.
pub fn unique_prefix() -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    format!("t{}x{}.", std::process::id(), nanos % 1_000_000_000_000)
}

/// A `nexus` process, killed if the test fails before stopping it.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `nexus <args>` and waits until it prints a line starting with `ready`.
pub fn start_ready(args: &[&str], config: &Path) -> Running {
    let mut child = nexus()
        .args(args)
        .arg("--config")
        .arg(config)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("nexus {args:?} starts: {e}"));
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    loop {
        match lines.next() {
            Some(Ok(line)) if line.starts_with("ready") => break,
            Some(Ok(_)) => continue,
            _ => panic!("nexus {args:?} exited before it was ready"),
        }
    }
    std::thread::spawn(move || for _ in lines {});
    Running(child)
}

/// Starts `nexus run --workers 2` and waits until it says it is ready.
pub fn start_worker(config: &Path) -> Running {
    start_ready(&["run", "--workers", "2"], config)
}

/// Waits (at most 60 s) until the PostgreSQL sink has committed a frontier of at least `at_least`.
pub async fn wait_for_frontier(pool: &PgPool, at_least: i64) {
    let started = Instant::now();
    loop {
        let frontier: Option<i64> = sqlx::query_scalar("SELECT frontier FROM sink_progress WHERE sink = 'postgres'")
            .fetch_optional(pool)
            .await
            .unwrap();
        if frontier.is_some_and(|f| f >= at_least) {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "frontier stuck at {frontier:?}, want {at_least}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The logical time of the last message of a recording.
pub fn last_time(recording: &Path) -> i64 {
    std::fs::read_to_string(recording)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok()?["recv_us"].as_i64())
        .max()
        .unwrap()
}
