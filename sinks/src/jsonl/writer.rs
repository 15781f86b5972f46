//! Writes complete times to one file per stream.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use nexus_model::records::{OutputStream, Pattern, Rejected};

use crate::complete::CompleteBatch;

/// Why the JSONL sink failed.
#[derive(Debug, thiserror::Error)]
pub enum JsonlError {
    /// The output directory could not be created.
    #[error("cannot create output directory {path}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A stream file could not be created or written.
    #[error("cannot write {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// What the sink wrote.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SinkSummary {
    /// Lines written per stream.
    pub lines: BTreeMap<OutputStream, u64>,
    /// Rejected inputs per reason kind.
    pub rejected_by_kind: BTreeMap<String, u64>,
    /// Alerts standing at the end, per pattern (the historical scan's summary).
    pub alerts_by_pattern: BTreeMap<Pattern, i64>,
}

/// The one field of an alert the summary needs.
#[derive(serde::Deserialize)]
struct AlertPattern {
    pattern: Pattern,
}

struct StreamFile {
    path: PathBuf,
    writer: BufWriter<File>,
}

/// Writes every output stream to its own file.
pub struct JsonlSink {
    files: BTreeMap<OutputStream, StreamFile>,
    summary: SinkSummary,
}

impl JsonlSink {
    /// Creates `dir` if missing and an empty file for each stream (written even if nothing happens).
    pub fn create(dir: &Path, streams: &[OutputStream]) -> Result<JsonlSink, JsonlError> {
        std::fs::create_dir_all(dir).map_err(|source| JsonlError::CreateDir { path: dir.to_path_buf(), source })?;
        let mut files = BTreeMap::new();
        for stream in streams {
            let path = dir.join(format!("{}.jsonl", stream.name()));
            let file = File::create(&path).map_err(|source| JsonlError::Write { path: path.clone(), source })?;
            files.insert(*stream, StreamFile { path, writer: BufWriter::with_capacity(1 << 20, file) });
        }
        let summary = SinkSummary { lines: streams.iter().map(|s| (*s, 0)).collect(), ..SinkSummary::default() };
        Ok(JsonlSink { files, summary })
    }

    /// Appends a batch of complete times.
    pub fn write(&mut self, batch: &CompleteBatch) -> Result<(), JsonlError> {
        for (time, streams) in &batch.times {
            for (stream, updates) in streams {
                let Some(file) = self.files.get_mut(stream) else { continue };
                for (data, diff) in updates {
                    writeln!(file.writer, "{{\"time\":{time},\"diff\":{diff},\"data\":{data}}}")
                        .map_err(|source| JsonlError::Write { path: file.path.clone(), source })?;
                    *self.summary.lines.entry(*stream).or_insert(0) += 1;
                    if *stream == OutputStream::Rejected
                        && *diff > 0
                        && let Ok(rejected) = serde_json::from_str::<Rejected>(data)
                    {
                        *self.summary.rejected_by_kind.entry(rejected.kind().to_string()).or_insert(0) += *diff as u64;
                    }
                    if *stream == OutputStream::Alerts
                        && let Ok(alert) = serde_json::from_str::<AlertPattern>(data)
                    {
                        *self.summary.alerts_by_pattern.entry(alert.pattern).or_insert(0) += *diff as i64;
                    }
                }
            }
        }
        Ok(())
    }

    /// Flushes the files and returns what was written.
    pub fn finish(mut self) -> Result<SinkSummary, JsonlError> {
        for file in self.files.values_mut() {
            file.writer.flush().map_err(|source| JsonlError::Write { path: file.path.clone(), source })?;
        }
        Ok(self.summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::complete::CompletedTimes;
    use crate::event::{SinkEvent, Update};

    fn update(data: &str, time: u64, diff: isize) -> Update {
        (data.to_string(), time, diff)
    }

    fn read(dir: &Path, stream: &str) -> Vec<String> {
        std::fs::read_to_string(dir.join(format!("{stream}.jsonl"))).unwrap().lines().map(str::to_string).collect()
    }

    #[test]
    fn writes_every_stream_file_in_time_order() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("nested/out");
        let sink = JsonlSink::create(&out, &[OutputStream::Snapshots, OutputStream::Discrepancies]).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let updates = vec![update("{\"b\":1}", 20, 1), update("{\"a\":1}", 10, 1), update("{\"z\":1}", 40, 1)];
        tx.send(SinkEvent::Updates { stream: OutputStream::Snapshots, updates }).unwrap();
        tx.send(SinkEvent::Frontier(15)).unwrap();
        tx.send(SinkEvent::Stop(30)).unwrap();
        drop(tx);
        let mut buffer = CompletedTimes::new();
        let mut sink = sink;
        for event in rx {
            if let Some(batch) = buffer.accept(event) {
                sink.write(&batch).unwrap();
            }
        }
        sink.write(&buffer.finish()).unwrap();
        let summary = sink.finish().unwrap();
        assert_eq!(
            read(&out, "snapshots"),
            vec!["{\"time\":10,\"diff\":1,\"data\":{\"a\":1}}", "{\"time\":20,\"diff\":1,\"data\":{\"b\":1}}"]
        );
        assert_eq!(read(&out, "discrepancies"), Vec::<String>::new(), "every stream's file exists");
        assert_eq!(summary.lines[&OutputStream::Snapshots], 2);
    }
}
