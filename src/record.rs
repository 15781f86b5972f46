//! `nexus record`: writes messages from NATS as a recording (DESIGN section 3). The receive time is
//! the `Nexus-Time` header when present, else the wall clock. A payload that is not JSON is kept as a
//! JSON string, so the line stays valid and replay rejects it with a reason.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use nexus_sources::nats::{NEXUS_TIME_HEADER, NatsConnection};
use serde_json::value::RawValue;

/// Why recording failed.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The output file could not be written.
    #[error("cannot write {path}")]
    Write {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The server could not be reached.
    #[error("cannot connect to nats at {url}")]
    Connect {
        /// The URL.
        url: String,
        /// The cause.
        #[source]
        source: async_nats::ConnectError,
    },
    /// The subscription was refused.
    #[error("cannot subscribe to {subject}")]
    Subscribe {
        /// The subject.
        subject: String,
        /// The cause.
        #[source]
        source: async_nats::SubscribeError,
    },
}

/// NATS subject matching: `*` matches one token, a final `>` matches one or more.
pub fn subject_matches(pattern: &str, subject: &str) -> bool {
    let mut tokens = subject.split('.');
    for part in pattern.split('.') {
        match (part, tokens.next()) {
            (">", Some(_)) => return true,
            ("*", Some(_)) => {}
            (literal, Some(token)) if literal == token => {}
            _ => return false,
        }
    }
    tokens.next().is_none()
}

/// When to stop recording (besides Ctrl-C).
#[derive(Clone, Copy, Debug, Default)]
pub struct RecordLimits {
    /// Stop after this many messages.
    pub count: Option<u64>,
    /// Stop after this long.
    pub duration: Option<Duration>,
}

/// Records `subjects` (each under `prefix`, which is stripped in the file) into `path`; a `.zst`
/// extension compresses. Returns the number of messages written.
pub async fn record(
    path: &Path,
    connection: &NatsConnection,
    prefix: &str,
    subjects: &[String],
    limits: RecordLimits,
    ready: impl FnOnce(),
) -> Result<u64, RecordError> {
    let write_error = |source| RecordError::Write { path: path.display().to_string(), source };
    let file = File::create(path).map_err(write_error)?;
    let mut out: Box<dyn Write> = if path.extension().is_some_and(|e| e == "zst") {
        Box::new(zstd::Encoder::new(file, 3).map_err(write_error)?.auto_finish())
    } else {
        Box::new(BufWriter::new(file))
    };
    let client =
        connection.connect().await.map_err(|source| RecordError::Connect { url: connection.redacted_url(), source })?;
    // One subscription keeps the server's order; several would interleave arbitrarily.
    let pattern = match subjects {
        [one] => format!("{prefix}{one}"),
        _ => format!("{prefix}>"),
    };
    let mut messages = client
        .subscribe(pattern.clone())
        .await
        .map_err(|source| RecordError::Subscribe { subject: pattern, source })?;
    client.flush().await.ok();
    ready();
    let deadline = limits.duration.map(|d| tokio::time::Instant::now() + d);
    let mut written = 0u64;
    let stop = crate::run::wait_for_signal();
    tokio::pin!(stop);
    loop {
        if limits.count.is_some_and(|count| written >= count) {
            break;
        }
        let sleep = async {
            match deadline {
                Some(deadline) => tokio::time::sleep_until(deadline).await,
                None => std::future::pending().await,
            }
        };
        let message = tokio::select! {
            message = messages.next() => message,
            _ = &mut stop => None,
            _ = sleep => None,
        };
        let Some(message) = message else { break };
        let recv_us = message
            .headers
            .as_ref()
            .and_then(|h| h.get(NEXUS_TIME_HEADER))
            .and_then(|v| v.as_str().trim().parse::<u64>().ok())
            .unwrap_or_else(|| SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0));
        let subject = message.subject.as_str();
        let subject = subject.strip_prefix(prefix).unwrap_or(subject);
        if !subjects.iter().any(|pattern| subject_matches(pattern, subject)) {
            continue;
        }
        let payload = String::from_utf8_lossy(&message.payload);
        let payload_json = match serde_json::from_str::<&RawValue>(&payload) {
            Ok(raw) => raw.get().to_string(),
            Err(_) => serde_json::Value::String(payload.into_owned()).to_string(),
        };
        let subject_json = serde_json::Value::String(subject.to_string());
        writeln!(out, "{{\"recv_us\":{recv_us},\"subject\":{subject_json},\"payload\":{payload_json}}}")
            .map_err(write_error)?;
        written += 1;
    }
    out.flush().map_err(write_error)?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::subject_matches;

    #[test]
    fn nats_wildcards() {
        assert!(subject_matches("feeds.>", "feeds.funding.binance"));
        assert!(!subject_matches("feeds.>", "feeds"));
        assert!(subject_matches("feeds.*.binance", "feeds.book.binance"));
        assert!(!subject_matches("feeds.*", "feeds.book.binance"));
        assert!(subject_matches("control.params", "control.params"));
        assert!(!subject_matches("control.params", "control.halt"));
        assert!(!subject_matches("exec.fills.>", "out.snapshots"));
    }
}
