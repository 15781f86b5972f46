//! The net effect of a batch on a current-state table.

use std::collections::BTreeMap;

use nexus_model::LogicalTime;
use nexus_model::records::OutputStream;
use serde::de::DeserializeOwned;

use super::sink::{PostgresError, parse};
use crate::complete::CompleteBatch;

/// What a batch leaves in one row of a current-state table: the record and the time it took
/// effect, or `None` when the row is to be deleted.
pub(super) type Change<R> = Option<(R, LogicalTime)>;

/// Per key, the last change of `stream` in `batch`: within one time retractions come before
/// insertions, so a replaced record ends as its replacement and a retracted one as `None`.
pub(super) fn net_changes<R, K, F>(
    batch: &CompleteBatch,
    stream: OutputStream,
    key: F,
) -> Result<BTreeMap<K, Change<R>>, PostgresError>
where
    R: DeserializeOwned,
    K: Ord,
    F: Fn(&R) -> K,
{
    let mut changes = BTreeMap::new();
    for (time, streams) in &batch.times {
        let Some(updates) = streams.get(&stream) else { continue };
        for removal in [true, false] {
            for (data, diff) in updates.iter().filter(|(_, diff)| (*diff < 0) == removal) {
                let record: R = parse(stream, data)?;
                changes.insert(key(&record), if *diff > 0 { Some((record, *time)) } else { None });
            }
        }
    }
    Ok(changes)
}

/// Every record inserted into `stream` in `batch`, with its time (for append-only history).
pub(super) fn insertions<R: DeserializeOwned>(
    batch: &CompleteBatch,
    stream: OutputStream,
) -> Result<Vec<(R, LogicalTime)>, PostgresError> {
    let mut rows = Vec::new();
    for (time, streams) in &batch.times {
        let Some(updates) = streams.get(&stream) else { continue };
        for (data, _) in updates.iter().filter(|(_, diff)| *diff > 0) {
            rows.push((parse(stream, data)?, *time));
        }
    }
    Ok(rows)
}
