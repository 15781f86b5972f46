//! Reads a recording line by line. A line that is not a recorded message becomes
//! [`RecordedLine::Unreadable`] and reading goes on; only I/O failures stop the reader.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::decode::DecodeError;
use crate::message::excerpt;

/// Why a recording could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    /// The file could not be opened.
    #[error("cannot open recording {path}")]
    Open {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Reading failed part-way (including a corrupt zstd stream).
    #[error("cannot read recording at line {line}")]
    Read {
        /// 1-based line number.
        line: u64,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

/// One line of a recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordedLine {
    /// A recorded message.
    Message {
        /// Receive time, microseconds.
        recv_us: u64,
        /// NATS subject.
        subject: String,
        /// The payload exactly as it appears in the line.
        payload: Bytes,
    },
    /// A line that is not a recorded message.
    Unreadable {
        /// The subject, if the line had one.
        subject: String,
        /// Receive time, if the line had a valid one.
        recv_us: Option<u64>,
        /// What is wrong.
        error: DecodeError,
        /// The first bytes of the line.
        excerpt: String,
    },
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(deserialize_with = "nexus_model::numbers::u64")]
    recv_us: u64,
    subject: String,
    #[serde(borrow)]
    payload: &'a RawValue,
}

/// Loose view of a bad line, to keep what can be kept for the rejection record.
#[derive(Deserialize, Default)]
struct LooseEnvelope {
    #[serde(default)]
    subject: Option<serde_json::Value>,
    #[serde(default)]
    recv_us: Option<serde_json::Value>,
}

/// Counts the bytes pulled from the underlying file (compressed bytes for `.zst`), for progress.
struct CountingReader<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// A recording being read.
pub struct RecordingReader {
    lines: Box<dyn BufRead + Send>,
    line_number: u64,
    buffer: Vec<u8>,
    bytes_read: Arc<AtomicU64>,
    total_bytes: Option<u64>,
}

impl RecordingReader {
    /// Opens a recording file; a `.zst` extension means zstd.
    pub fn open(path: &Path) -> Result<RecordingReader, RecordingError> {
        let open_error = |source| RecordingError::Open { path: path.display().to_string(), source };
        let file = File::open(path).map_err(open_error)?;
        let total = file.metadata().ok().map(|m| m.len());
        let bytes_read = Arc::new(AtomicU64::new(0));
        let counted = CountingReader { inner: file, count: Arc::clone(&bytes_read) };
        let lines: Box<dyn BufRead + Send> = if path.extension().is_some_and(|e| e == "zst") {
            Box::new(BufReader::with_capacity(1 << 20, zstd::Decoder::new(counted).map_err(open_error)?))
        } else {
            Box::new(BufReader::with_capacity(1 << 20, counted))
        };
        Ok(RecordingReader { lines, line_number: 0, buffer: Vec::with_capacity(4096), bytes_read, total_bytes: total })
    }

    /// Reads a recording from any byte source (uncompressed).
    pub fn from_reader(reader: impl Read + Send + 'static) -> RecordingReader {
        let bytes_read = Arc::new(AtomicU64::new(0));
        let counted = CountingReader { inner: reader, count: Arc::clone(&bytes_read) };
        RecordingReader {
            lines: Box::new(BufReader::with_capacity(1 << 20, counted)),
            line_number: 0,
            buffer: Vec::with_capacity(4096),
            bytes_read,
            total_bytes: None,
        }
    }

    /// A live counter of bytes read from the file, for progress display.
    pub fn progress_counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.bytes_read)
    }

    /// The file's size in bytes, when known.
    pub fn total_bytes(&self) -> Option<u64> {
        self.total_bytes
    }

    /// The next non-blank line, or `None` at the end of the recording.
    pub fn next_line(&mut self) -> Option<Result<RecordedLine, RecordingError>> {
        loop {
            self.buffer.clear();
            match self.lines.read_until(b'\n', &mut self.buffer) {
                Ok(0) => return None,
                Ok(_) => {
                    self.line_number += 1;
                    let line = trim(&self.buffer);
                    if line.is_empty() {
                        continue;
                    }
                    return Some(Ok(parse_line(line)));
                }
                Err(source) => return Some(Err(RecordingError::Read { line: self.line_number + 1, source })),
            }
        }
    }
}

fn trim(line: &[u8]) -> &[u8] {
    let start = line.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(line.len());
    let end = line.iter().rposition(|b| !b.is_ascii_whitespace()).map_or(start, |i| i + 1);
    &line[start..end]
}

/// Parses one line into a message, or explains why it is not one.
pub(crate) fn parse_line(line: &[u8]) -> RecordedLine {
    match serde_json::from_slice::<Envelope>(line) {
        Ok(envelope) => RecordedLine::Message {
            recv_us: envelope.recv_us,
            subject: envelope.subject,
            payload: Bytes::copy_from_slice(envelope.payload.get().as_bytes()),
        },
        Err(error) => {
            let loose: LooseEnvelope = serde_json::from_slice(line).unwrap_or_default();
            let subject = match loose.subject {
                Some(serde_json::Value::String(subject)) => subject,
                _ => String::new(),
            };
            let recv_us = loose.recv_us.and_then(|v| serde_json::from_value::<u64>(v).ok());
            RecordedLine::Unreadable {
                subject,
                recv_us,
                error: DecodeError::UnreadableLine(DecodeError::from_json(&error).to_string()),
                excerpt: excerpt(line),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_messages_and_keeps_going_after_bad_lines() {
        let text = "{\"recv_us\": 5, \"subject\": \"a.b\", \"payload\": {\"x\": 1}}\n\nnot json\n{\"recv_us\": -3, \"subject\": \"a.b\", \"payload\": 1}\n{\"recv_us\": \"7\", \"subject\": \"c\", \"payload\": [1, 2]}\n";
        let mut reader = RecordingReader::from_reader(std::io::Cursor::new(text.as_bytes().to_vec()));
        let mut lines = Vec::new();
        while let Some(line) = reader.next_line() {
            lines.push(line.unwrap());
        }
        assert_eq!(lines.len(), 4);
        assert!(
            matches!(&lines[0], RecordedLine::Message { recv_us: 5, payload, .. } if &payload[..] == b"{\"x\": 1}")
        );
        assert!(matches!(&lines[1], RecordedLine::Unreadable { subject, .. } if subject.is_empty()));
        assert!(
            matches!(&lines[2], RecordedLine::Unreadable { subject, error, .. } if subject == "a.b" && error.to_string().contains("non-negative"))
        );
        assert!(matches!(&lines[3], RecordedLine::Message { recv_us: 7, .. }));
    }
}
