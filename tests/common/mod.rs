//! Helpers shared by the integration tests that run the `nexus` binary against the real services.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nexus_model::streams::Stream;
use serde_json::Value;

pub mod services;
use sqlx::PgPool;

/// The `nexus` binary, with the environment overrides removed so the test's config applies.
pub fn nexus() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_nexus"));
    command.env_remove("NATS_URL").env_remove("DATABASE_URL");
    command
}

/// Writes `dir/nexus.toml` for a worker on a subject prefix of its own, writing to `database_url`,
/// with JetStream (durable input, order dispatch) on or off and metrics on a free port, followed
/// by `extra` TOML; returns its path and the prefix.
pub fn write_config(dir: &Path, database_url: &str, jetstream: bool, extra: &str) -> (PathBuf, String) {
    write_config_on(dir, &nats_url(), database_url, jetstream, extra)
}

/// [`write_config`] for the NATS server at `nats_url`.
pub fn write_config_on(
    dir: &Path,
    nats_url: &str,
    database_url: &str,
    jetstream: bool,
    extra: &str,
) -> (PathBuf, String) {
    let prefix = unique_prefix();
    let config = dir.join("nexus.toml");
    let text = format!(
        "[nats]\nurl = \"{nats_url}\"\nprefix = \"{prefix}\"\njetstream = {jetstream}\n\n[postgres]\nurl = \"{database_url}\"\n\n[metrics]\nlisten = \"127.0.0.1:0\"\n\n{extra}"
    );
    std::fs::write(&config, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", config.display()));
    (config, prefix)
}

/// A NATS subject prefix no other test (or run) uses.
pub fn unique_prefix() -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    format!("t{}x{}.", std::process::id(), nanos % 1_000_000_000_000)
}

/// A `nexus` process, killed if the test fails before stopping it, and the line it said it was
/// ready with.
pub struct Running(pub Child, pub String);

impl Running {
    /// The metrics endpoint's address from the ready line (`... metrics on http://ADDR/metrics`).
    pub fn metrics_address(&self) -> String {
        let after = self.1.split("http://").nth(1).unwrap_or_else(|| panic!("no metrics address in {:?}", self.1));
        after.split('/').next().unwrap_or_default().to_string()
    }
}

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
    let ready = loop {
        match lines.next() {
            Some(Ok(line)) if line.starts_with("ready") => break line,
            Some(Ok(_)) => continue,
            _ => panic!("nexus {args:?} exited before it was ready"),
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Running(child, ready)
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
    recorded_times(recording).max().unwrap()
}

/// Deletes every JetStream stream nexus creates under `prefix` (inputs and orders), ignoring those
/// that do not exist.
pub async fn delete_streams(client: &async_nats::Client, prefix: &str) {
    let jetstream = async_nats::jetstream::new(client.clone());
    for stream in [Stream::Feeds, Stream::Exec, Stream::Control, Stream::Orders] {
        let _ = jetstream.delete_stream(stream.name(prefix)).await;
    }
}

/// The committed frontier of the PostgreSQL sink, if it has committed one.
pub async fn committed_frontier(pool: &PgPool) -> Option<i64> {
    sqlx::query_scalar("SELECT frontier FROM sink_progress WHERE sink = 'postgres'").fetch_optional(pool).await.unwrap()
}

/// Every output table's rows as sorted JSON text, by table (the progress and migration tables
/// left out): what an interrupted run must leave exactly as an uninterrupted one does.
pub async fn dump_tables(pool: &PgPool) -> std::collections::BTreeMap<String, Vec<String>> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'
         AND table_name NOT IN ('sink_progress', '_sqlx_migrations') ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut dump = std::collections::BTreeMap::new();
    for table in tables {
        let query = format!("SELECT row_to_json(t)::text AS row FROM {table} t ORDER BY 1");
        let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(query)).fetch_all(pool).await.unwrap();
        dump.insert(table, rows);
    }
    dump
}

/// Every message of the orders stream under `prefix`, in stream order, as
/// `subject | Nats-Msg-Id | Nexus-Time | payload` (the subject without the prefix).
pub async fn dump_orders(client: &async_nats::Client, prefix: &str) -> Vec<String> {
    use async_nats::jetstream::consumer::pull::OrderedConfig;
    use futures::StreamExt;
    let jetstream = async_nats::jetstream::new(client.clone());
    let Ok(mut stream) = jetstream.get_stream(Stream::Orders.name(prefix)).await else { return Vec::new() };
    let stored = stream.info().await.unwrap().state.messages;
    let consumer = stream.create_consumer(OrderedConfig::default()).await.unwrap();
    let mut messages = consumer.messages().await.unwrap().take(stored as usize);
    let mut orders = Vec::new();
    while let Some(message) = messages.next().await {
        let message = message.unwrap();
        let header = |name: &str| {
            message.headers.as_ref().and_then(|h| h.get(name)).map(|v| v.as_str().to_string()).unwrap_or_default()
        };
        orders.push(format!(
            "{} | {} | {} | {}",
            message.subject.as_str().strip_prefix(prefix).unwrap_or(message.subject.as_str()),
            header("Nats-Msg-Id"),
            header("Nexus-Time"),
            String::from_utf8_lossy(&message.payload)
        ));
    }
    orders
}

/// `nexus publish` of `recording` with `config`, asserting it succeeded.
pub fn publish(recording: &Path, config: &Path) {
    let published = nexus().args(["publish", "--input"]).arg(recording).arg("--config").arg(config).output().unwrap();
    assert!(published.status.success(), "{}", String::from_utf8_lossy(&published.stderr));
}

/// Sends SIGTERM and asserts the process then exits successfully (a graceful shutdown).
pub fn terminate(mut running: Running) {
    let pid = running.0.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = running.0.wait().unwrap();
    assert!(status.success(), "exit after SIGTERM: {status}");
}

/// Kills the process with SIGKILL: no shutdown, no flush.
pub fn kill_9(mut running: Running) {
    let pid = running.0.id().to_string();
    assert!(Command::new("kill").args(["-KILL", &pid]).status().unwrap().success());
    let _ = running.0.wait();
}

/// A market recording from the simulator, `seconds` long, with a global halt (a `control.*`
/// message) `halt_after` seconds in; returns its path and the halt's time.
pub fn recording_with_halt(dir: &Path, seconds: u64, halt_after: u64) -> (PathBuf, i64) {
    let plain = dir.join("simulated.jsonl");
    let written =
        nexus().args(["simulate", "--duration", &seconds.to_string(), "--output"]).arg(&plain).output().unwrap();
    assert!(written.status.success(), "{}", String::from_utf8_lossy(&written.stderr));
    let mut lines: Vec<(i64, String)> = std::fs::read_to_string(&plain)
        .unwrap()
        .lines()
        .map(|l| (serde_json::from_str::<Value>(l).unwrap()["recv_us"].as_i64().unwrap(), l.to_string()))
        .collect();
    let halt_at = lines[0].0 + (halt_after * 1_000_000) as i64;
    let halt = serde_json::json!({"recv_us": halt_at, "subject": "control.halt",
        "payload": {"scope": "global", "target": "", "halted": true, "reason": "integration test"}});
    lines.push((halt_at, halt.to_string()));
    lines.sort_by_key(|(t, _)| *t);
    let path = dir.join("with_halt.jsonl");
    std::fs::write(&path, lines.into_iter().map(|(_, l)| l + "\n").collect::<String>()).unwrap();
    (path, halt_at)
}

/// The first logical time of a recording.
pub fn first_time(recording: &Path) -> i64 {
    recorded_times(recording).min().unwrap()
}

/// Every line's `recv_us` in a recording.
fn recorded_times(recording: &Path) -> impl Iterator<Item = i64> {
    let text = std::fs::read_to_string(recording).unwrap();
    let times: Vec<i64> =
        text.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()?["recv_us"].as_i64()).collect();
    times.into_iter()
}

/// The NATS server the tests use (`NATS_URL`, else the local default).
pub fn nats_url() -> String {
    std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_string())
}

/// `GET path` from `address` (host:port) over plain HTTP/1.1: the status code and the body.
pub fn http_get(address: &str, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).unwrap_or_else(|e| panic!("connect {address}: {e}"));
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

/// The value of the first metric line that starts with `name` (name plus labels), if any.
pub fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find(|l| l.starts_with(name))?.rsplit(' ').next()?.parse().ok()
}

/// Splits a recording about `fraction` of its lines in, between two logical times (a worker that
/// has seen the first part idle moves its clock past its last time, so the rest must start later).
pub fn split_recording(recording: &Path, fraction: f64) -> (PathBuf, PathBuf) {
    let text = std::fs::read_to_string(recording).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let time = |line: &str| serde_json::from_str::<Value>(line).ok().and_then(|l| l["recv_us"].as_i64());
    let mut at = (lines.len() as f64 * fraction) as usize;
    while at < lines.len() && at > 0 && time(lines[at]) == time(lines[at - 1]) {
        at += 1;
    }
    let (head, tail) = (recording.with_extension("head.jsonl"), recording.with_extension("tail.jsonl"));
    std::fs::write(&head, lines[..at].iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
    std::fs::write(&tail, lines[at..].iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
    (head, tail)
}

/// Waits until the committed frontier reaches `at_least` (at most 60 s) and returns it, whatever
/// it is then: for tests that act in the middle of a run.
pub async fn frontier_reaches(pool: &PgPool, at_least: i64) -> i64 {
    let started = Instant::now();
    loop {
        let frontier = committed_frontier(pool).await.unwrap_or(0);
        if frontier >= at_least || started.elapsed() > Duration::from_secs(60) {
            return frontier;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
