//! Buffers updates until their time is complete, then writes them.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;

use nexus_model::LogicalTime;
use nexus_model::records::{OutputStream, Rejected};

use crate::event::SinkEvent;

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
}

struct StreamFile {
    path: PathBuf,
    writer: BufWriter<File>,
    /// Updates not yet written, by time.
    pending: BTreeMap<LogicalTime, Vec<(String, isize)>>,
}

/// Writes every output stream to its own file.
pub struct JsonlSink {
    files: BTreeMap<OutputStream, StreamFile>,
    stop: Option<LogicalTime>,
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
            let writer = BufWriter::with_capacity(1 << 20, file);
            files.insert(*stream, StreamFile { path, writer, pending: BTreeMap::new() });
        }
        let summary = SinkSummary { lines: streams.iter().map(|s| (*s, 0)).collect(), ..SinkSummary::default() };
        Ok(JsonlSink { files, stop: None, summary })
    }

    /// Consumes events until every sender is gone, then writes what remains up to the stop time.
    pub fn run(mut self, events: Receiver<SinkEvent>) -> Result<SinkSummary, JsonlError> {
        for event in events {
            self.accept(event)?;
        }
        self.finish()
    }

    /// Handles one event.
    pub fn accept(&mut self, event: SinkEvent) -> Result<(), JsonlError> {
        match event {
            SinkEvent::Updates { stream, updates } => {
                if let Some(file) = self.files.get_mut(&stream) {
                    for (data, time, diff) in updates {
                        file.pending.entry(time).or_default().push((data, diff));
                    }
                }
                Ok(())
            }
            SinkEvent::Frontier(frontier) => self.write_before(frontier),
            SinkEvent::Stop(time) => {
                self.stop = Some(time);
                Ok(())
            }
        }
    }

    /// Writes everything still pending (up to the stop time) and flushes the files.
    pub fn finish(mut self) -> Result<SinkSummary, JsonlError> {
        self.write_before(LogicalTime::MAX)?;
        for file in self.files.values_mut() {
            file.writer.flush().map_err(|source| JsonlError::Write { path: file.path.clone(), source })?;
        }
        Ok(self.summary)
    }

    /// Writes the complete times: those before `frontier` and not after the stop time.
    fn write_before(&mut self, frontier: LogicalTime) -> Result<(), JsonlError> {
        let stop = self.stop;
        for (stream, file) in self.files.iter_mut() {
            let later = if frontier == LogicalTime::MAX { BTreeMap::new() } else { file.pending.split_off(&frontier) };
            let complete = std::mem::replace(&mut file.pending, later);
            for (time, updates) in complete {
                if stop.is_some_and(|stop| time > stop) {
                    continue;
                }
                write_time(*stream, file, time, updates, &mut self.summary)?;
            }
        }
        Ok(())
    }
}

fn write_time(
    stream: OutputStream,
    file: &mut StreamFile,
    time: LogicalTime,
    mut updates: Vec<(String, isize)>,
    summary: &mut SinkSummary,
) -> Result<(), JsonlError> {
    updates.sort_unstable();
    let mut consolidated: Vec<(String, isize)> = Vec::with_capacity(updates.len());
    for (data, diff) in updates {
        match consolidated.last_mut() {
            Some((last, sum)) if *last == data => *sum += diff,
            _ => consolidated.push((data, diff)),
        }
    }
    for (data, diff) in consolidated.into_iter().filter(|(_, diff)| *diff != 0) {
        writeln!(file.writer, "{{\"time\":{time},\"diff\":{diff},\"data\":{data}}}")
            .map_err(|source| JsonlError::Write { path: file.path.clone(), source })?;
        *summary.lines.entry(stream).or_insert(0) += 1;
        if stream == OutputStream::Rejected
            && diff > 0
            && let Ok(rejected) = serde_json::from_str::<Rejected>(&data)
        {
            *summary.rejected_by_kind.entry(rejected.kind().to_string()).or_insert(0) += diff as u64;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Update;

    fn update(data: &str, time: LogicalTime, diff: isize) -> Update {
        (data.to_string(), time, diff)
    }

    fn read(dir: &Path, stream: &str) -> Vec<String> {
        std::fs::read_to_string(dir.join(format!("{stream}.jsonl"))).unwrap().lines().map(str::to_string).collect()
    }

    #[test]
    fn writes_complete_times_in_order_consolidated_and_not_after_stop() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("nested/out");
        let mut sink = JsonlSink::create(&out, &[OutputStream::Snapshots, OutputStream::Discrepancies]).unwrap();
        let updates = vec![
            update("{\"b\":1}", 20, 1),
            update("{\"a\":1}", 10, 1),
            update("{\"a\":1}", 20, -1),
            update("{\"c\":1}", 20, 1),
            update("{\"c\":1}", 20, -1),
            update("{\"z\":1}", 40, 1),
        ];
        sink.accept(SinkEvent::Updates { stream: OutputStream::Snapshots, updates }).unwrap();
        sink.accept(SinkEvent::Frontier(15)).unwrap();
        assert_eq!(read(&out, "snapshots").len(), 0, "buffered until flushed");
        sink.accept(SinkEvent::Stop(30)).unwrap();
        let summary = sink.finish().unwrap();
        assert_eq!(
            read(&out, "snapshots"),
            vec![
                "{\"time\":10,\"diff\":1,\"data\":{\"a\":1}}",
                "{\"time\":20,\"diff\":-1,\"data\":{\"a\":1}}",
                "{\"time\":20,\"diff\":1,\"data\":{\"b\":1}}",
            ]
        );
        assert_eq!(read(&out, "discrepancies"), Vec::<String>::new(), "every stream's file exists");
        assert_eq!(summary.lines[&OutputStream::Snapshots], 3);
    }
}
