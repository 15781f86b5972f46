//! Turning the workers' stream of updates and frontiers into batches of complete times.
//!
//! Workers send updates in any order and, separately, the frontier before which everything has
//! been sent. [`CompletedTimes`] holds updates until their time is complete, then hands them out in
//! time order, consolidated (equal records' diffs summed, zeros dropped) and sorted by record, so
//! every sink writes the same thing whatever the number of workers.

use std::collections::BTreeMap;

use nexus_model::LogicalTime;
use nexus_model::records::OutputStream;

use crate::event::SinkEvent;

/// The consolidated updates of one stream at one time: (record JSON, diff).
pub type TimeUpdates = Vec<(String, isize)>;

/// Every update at times in `[.., frontier)` not handed out before.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CompleteBatch {
    /// All times before this are complete (for sinks that record their progress).
    pub frontier: LogicalTime,
    /// Per time, in increasing order: per stream, the consolidated updates.
    pub times: Vec<(LogicalTime, BTreeMap<OutputStream, TimeUpdates>)>,
}

impl CompleteBatch {
    /// True when there is nothing to write (the frontier may still have moved).
    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    /// Updates of one stream, in time order.
    pub fn stream(&self, stream: OutputStream) -> impl Iterator<Item = (LogicalTime, &str, isize)> + '_ {
        self.times.iter().flat_map(move |(time, streams)| {
            streams.get(&stream).into_iter().flatten().map(move |(data, diff)| (*time, data.as_str(), *diff))
        })
    }
}

/// Buffers updates until their time is complete.
#[derive(Debug, Default)]
pub struct CompletedTimes {
    pending: BTreeMap<LogicalTime, BTreeMap<OutputStream, TimeUpdates>>,
    frontier: LogicalTime,
    stop: Option<LogicalTime>,
}

impl CompletedTimes {
    /// An empty buffer.
    pub fn new() -> CompletedTimes {
        CompletedTimes::default()
    }

    /// Takes one event; returns the times it completed, if the frontier moved.
    pub fn accept(&mut self, event: SinkEvent) -> Option<CompleteBatch> {
        match event {
            SinkEvent::Updates { stream, updates } => {
                for (data, time, diff) in updates {
                    self.pending.entry(time).or_default().entry(stream).or_default().push((data, diff));
                }
                None
            }
            SinkEvent::Frontier(frontier) if frontier > self.frontier => {
                self.frontier = frontier;
                Some(self.take_before(frontier))
            }
            SinkEvent::Frontier(_) => None,
            SinkEvent::Stop(time) => {
                self.stop = Some(time);
                None
            }
        }
    }

    /// Everything still pending, up to the stop time if one was given (at the end of the input).
    pub fn finish(&mut self) -> CompleteBatch {
        self.take_before(LogicalTime::MAX)
    }

    fn take_before(&mut self, frontier: LogicalTime) -> CompleteBatch {
        let later = if frontier == LogicalTime::MAX { BTreeMap::new() } else { self.pending.split_off(&frontier) };
        let complete = std::mem::replace(&mut self.pending, later);
        let stop = self.stop;
        let times = complete
            .into_iter()
            .filter(|(time, _)| stop.is_none_or(|stop| *time <= stop))
            .map(|(time, streams)| {
                let streams = streams
                    .into_iter()
                    .map(|(stream, updates)| (stream, consolidate(updates)))
                    .filter(|(_, updates)| !updates.is_empty())
                    .collect::<BTreeMap<_, _>>();
                (time, streams)
            })
            .filter(|(_, streams)| !streams.is_empty())
            .collect();
        CompleteBatch { frontier: frontier.min(stop.map_or(LogicalTime::MAX, |s| s.saturating_add(1))), times }
    }
}

/// Sums diffs of equal records, drops zeros, sorts by record.
fn consolidate(mut updates: TimeUpdates) -> TimeUpdates {
    updates.sort_unstable();
    let mut out: TimeUpdates = Vec::with_capacity(updates.len());
    for (data, diff) in updates {
        match out.last_mut() {
            Some((last, sum)) if *last == data => *sum += diff,
            _ => out.push((data, diff)),
        }
    }
    out.retain(|(_, diff)| *diff != 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn updates(list: &[(&str, LogicalTime, isize)]) -> SinkEvent {
        SinkEvent::Updates {
            stream: OutputStream::Snapshots,
            updates: list.iter().map(|(d, t, r)| (d.to_string(), *t, *r)).collect(),
        }
    }

    #[test]
    fn hands_out_complete_times_consolidated_and_respects_stop() {
        let mut buffer = CompletedTimes::new();
        assert!(
            buffer.accept(updates(&[("b", 20, 1), ("a", 10, 1), ("a", 20, -1), ("c", 20, 1), ("c", 20, -1)])).is_none()
        );
        assert!(buffer.accept(updates(&[("z", 40, 1)])).is_none());
        let first = buffer.accept(SinkEvent::Frontier(15)).unwrap();
        assert_eq!(first.stream(OutputStream::Snapshots).collect::<Vec<_>>(), vec![(10, "a", 1)]);
        assert!(buffer.accept(SinkEvent::Frontier(15)).is_none(), "a frontier that does not move completes nothing");
        buffer.accept(SinkEvent::Stop(30));
        let rest = buffer.finish();
        assert_eq!(rest.stream(OutputStream::Snapshots).collect::<Vec<_>>(), vec![(20, "a", -1), (20, "b", 1)]);
        assert_eq!(rest.frontier, 31);
    }
}
