//! Writes complete batches to PostgreSQL.

use std::borrow::Cow;
use std::collections::BTreeMap;

use nexus_model::LogicalTime;
use nexus_model::records::{Discrepancy, OutputStream, Parameter, Rejected, Snapshot};
use rust_decimal::Decimal;
use sqlx::{PgPool, Postgres, Transaction};

use crate::complete::CompleteBatch;

use super::MIGRATOR;
use super::changes::net_changes;

/// Why the PostgreSQL sink failed.
#[derive(Debug, thiserror::Error)]
pub enum PostgresError {
    /// PostgreSQL could not be reached.
    #[error("cannot connect to postgresql")]
    Connect(#[source] sqlx::Error),
    /// The schema is missing migrations.
    #[error("database schema is not migrated: {pending} migration(s) pending (run `nexus migrate`)")]
    NotMigrated {
        /// Migrations not yet applied.
        pending: usize,
    },
    /// A statement failed.
    #[error("postgresql write failed")]
    Write(#[source] sqlx::Error),
    /// An output record did not have the shape of its stream.
    #[error("malformed {stream} record")]
    Record {
        /// The stream.
        stream: &'static str,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
}

/// A connected, migrated PostgreSQL sink.
pub struct PostgresSink {
    pool: PgPool,
    name: String,
    committed: LogicalTime,
}

impl PostgresSink {
    /// Wraps a pool after checking migrations and reading the committed frontier.
    pub async fn new(pool: PgPool, name: String) -> Result<PostgresSink, PostgresError> {
        let pending = pending_migrations(&pool).await?;
        if pending > 0 {
            return Err(PostgresError::NotMigrated { pending });
        }
        let committed: Option<i64> = sqlx::query_scalar("SELECT frontier FROM sink_progress WHERE sink = $1")
            .bind(&name)
            .fetch_optional(&pool)
            .await
            .map_err(PostgresError::Write)?;
        Ok(PostgresSink { pool, name, committed: committed.map_or(0, |f| f.max(0) as u64) })
    }

    /// Closes the connections and waits until they have ended, so the server sees a clean exit.
    pub async fn close(self) {
        self.pool.close().await;
    }

    /// The frontier committed by earlier runs: outputs before it are already written.
    pub fn committed_frontier(&self) -> LogicalTime {
        self.committed
    }

    /// Writes a batch and its frontier in one transaction; times before the committed frontier are
    /// skipped, so a batch written twice changes nothing.
    pub async fn write(&mut self, batch: &CompleteBatch) -> Result<(), PostgresError> {
        if batch.frontier <= self.committed {
            return Ok(());
        }
        let committed = self.committed;
        // Times are in increasing order: only a batch that starts before the committed frontier
        // (the first after a restart) needs a copy without its written times.
        let fresh: Cow<'_, CompleteBatch> = if batch.times.first().is_some_and(|(time, _)| *time < committed) {
            let mut fresh = batch.clone();
            fresh.times.retain(|(time, _)| *time >= committed);
            Cow::Owned(fresh)
        } else {
            Cow::Borrowed(batch)
        };
        let mut tx = self.pool.begin().await.map_err(PostgresError::Write)?;
        write_snapshots(&mut tx, &fresh).await?;
        write_discrepancies(&mut tx, &fresh).await?;
        write_rejected(&mut tx, &fresh).await?;
        write_parameters(&mut tx, &fresh).await?;
        super::opportunities::write(&mut tx, &fresh).await?;
        super::risk::write(&mut tx, &fresh).await?;
        super::alerts::write(&mut tx, &fresh).await?;
        super::gate::write(&mut tx, &fresh).await?;
        sqlx::query(
            "INSERT INTO sink_progress (sink, frontier, updated_at) VALUES ($1, $2, now())
             ON CONFLICT (sink) DO UPDATE SET frontier = EXCLUDED.frontier, updated_at = EXCLUDED.updated_at",
        )
        .bind(&self.name)
        .bind(to_i64(batch.frontier))
        .execute(&mut *tx)
        .await
        .map_err(PostgresError::Write)?;
        tx.commit().await.map_err(PostgresError::Write)?;
        self.committed = batch.frontier;
        Ok(())
    }
}

/// Number of embedded migrations not applied to the database behind `pool`.
pub async fn pending_migrations(pool: &PgPool) -> Result<usize, PostgresError> {
    let table: Option<String> = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations')::text")
        .fetch_one(pool)
        .await
        .map_err(PostgresError::Connect)?;
    if table.is_none() {
        return Ok(MIGRATOR.iter().count());
    }
    let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
        .fetch_all(pool)
        .await
        .map_err(PostgresError::Write)?;
    Ok(MIGRATOR.iter().filter(|m| !applied.contains(&m.version)).count())
}

pub(super) fn to_i64(time: LogicalTime) -> i64 {
    i64::try_from(time).unwrap_or(i64::MAX)
}

pub(super) fn parse<T: serde::de::DeserializeOwned>(stream: OutputStream, data: &str) -> Result<T, PostgresError> {
    serde_json::from_str(data).map_err(|source| PostgresError::Record { stream: stream.name(), source })
}

async fn write_snapshots(tx: &mut Transaction<'_, Postgres>, batch: &CompleteBatch) -> Result<(), PostgresError> {
    // Net effect per (venue, asset).
    let changes =
        net_changes(batch, OutputStream::Snapshots, |s: &Snapshot| (s.venue.name().to_string(), s.symbol.to_string()))?;
    let (mut gone_venues, mut gone_symbols) = (Vec::new(), Vec::new());
    let mut rows = SnapshotRows::default();
    for ((venue, symbol), change) in changes {
        match change {
            None => {
                gone_venues.push(venue);
                gone_symbols.push(symbol);
            }
            Some((snapshot, time)) => rows.push(&snapshot, time),
        }
    }
    if !gone_venues.is_empty() {
        sqlx::query("DELETE FROM snapshots s USING UNNEST($1::text[], $2::text[]) AS g(venue, symbol) WHERE s.venue = g.venue AND s.symbol = g.symbol")
            .bind(&gone_venues)
            .bind(&gone_symbols)
            .execute(&mut **tx)
            .await
            .map_err(PostgresError::Write)?;
    }
    if !rows.venue.is_empty() {
        sqlx::query(
            "INSERT INTO snapshots (venue, symbol, rate, interval_h, rate_per_hour, apr, next_funding_ms, mark_price,
                 source, status, confidence, exchange_rate, scanner_rate, logical_time, updated_at)
             SELECT *, to_timestamp(t / 1000000.0) FROM UNNEST($1::text[], $2::text[], $3::numeric[], $4::numeric[],
                 $5::numeric[], $6::numeric[], $7::bigint[], $8::numeric[], $9::text[], $10::text[], $11::float8[],
                 $12::numeric[], $13::numeric[], $14::bigint[]) AS r(venue, symbol, rate, interval_h, rate_per_hour, apr,
                 next_funding_ms, mark_price, source, status, confidence, exchange_rate, scanner_rate, t)
             ON CONFLICT (venue, symbol) DO UPDATE SET rate = EXCLUDED.rate, interval_h = EXCLUDED.interval_h,
                 rate_per_hour = EXCLUDED.rate_per_hour, apr = EXCLUDED.apr, next_funding_ms = EXCLUDED.next_funding_ms,
                 mark_price = EXCLUDED.mark_price, source = EXCLUDED.source, status = EXCLUDED.status,
                 confidence = EXCLUDED.confidence, exchange_rate = EXCLUDED.exchange_rate,
                 scanner_rate = EXCLUDED.scanner_rate, logical_time = EXCLUDED.logical_time,
                 updated_at = EXCLUDED.updated_at",
        )
        .bind(&rows.venue)
        .bind(&rows.symbol)
        .bind(&rows.rate)
        .bind(&rows.interval_h)
        .bind(&rows.rate_per_hour)
        .bind(&rows.apr)
        .bind(&rows.next_funding_ms)
        .bind(&rows.mark_price)
        .bind(&rows.source)
        .bind(&rows.status)
        .bind(&rows.confidence)
        .bind(&rows.exchange_rate)
        .bind(&rows.scanner_rate)
        .bind(&rows.time)
        .execute(&mut **tx)
        .await
        .map_err(PostgresError::Write)?;
    }
    Ok(())
}

/// Column arrays for one UNNEST upsert of snapshots.
#[derive(Default)]
struct SnapshotRows {
    venue: Vec<String>,
    symbol: Vec<String>,
    rate: Vec<Decimal>,
    interval_h: Vec<Decimal>,
    rate_per_hour: Vec<Decimal>,
    apr: Vec<Decimal>,
    next_funding_ms: Vec<Option<i64>>,
    mark_price: Vec<Option<Decimal>>,
    source: Vec<String>,
    status: Vec<String>,
    confidence: Vec<f64>,
    exchange_rate: Vec<Option<Decimal>>,
    scanner_rate: Vec<Option<Decimal>>,
    time: Vec<i64>,
}

impl SnapshotRows {
    fn push(&mut self, s: &Snapshot, time: LogicalTime) {
        let status =
            serde_json::to_value(s.status).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        self.venue.push(s.venue.name().to_string());
        self.symbol.push(s.symbol.to_string());
        self.rate.push(s.rate.inner());
        self.interval_h.push(s.interval_h.inner());
        self.rate_per_hour.push(s.rate_per_hour.inner());
        self.apr.push(s.apr.inner());
        self.next_funding_ms.push(s.next_funding_ms.and_then(|ms| i64::try_from(ms).ok()));
        self.mark_price.push(s.mark_price.map(|p| p.inner()));
        self.source.push(s.source.name().to_string());
        self.status.push(status);
        self.confidence.push(s.confidence.to_f64());
        self.exchange_rate.push(s.exchange_rate.map(|r| r.inner()));
        self.scanner_rate.push(s.scanner_rate.map(|r| r.inner()));
        self.time.push(to_i64(time));
    }
}

async fn write_discrepancies(tx: &mut Transaction<'_, Postgres>, batch: &CompleteBatch) -> Result<(), PostgresError> {
    // A (venue, asset) has at most one discrepancy record at a time. Pair each retraction with the
    // record it closes: opened in this batch (closed on insert) or still open in the table.
    let mut opened_here: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut inserts: Vec<(Discrepancy, LogicalTime, Option<LogicalTime>)> = Vec::new();
    let (mut close_venue, mut close_symbol, mut close_time) = (Vec::new(), Vec::new(), Vec::new());
    for (time, streams) in &batch.times {
        let Some(updates) = streams.get(&OutputStream::Discrepancies) else { continue };
        for removal in [true, false] {
            for (data, _) in updates.iter().filter(|(_, diff)| (*diff < 0) == removal) {
                let record: Discrepancy = parse(OutputStream::Discrepancies, data)?;
                let key = (record.venue.name().to_string(), record.symbol.to_string());
                if removal {
                    match opened_here.remove(&key) {
                        Some(index) => inserts[index].2 = Some(*time),
                        None => {
                            close_venue.push(key.0);
                            close_symbol.push(key.1);
                            close_time.push(to_i64(*time));
                        }
                    }
                } else {
                    opened_here.insert(key, inserts.len());
                    inserts.push((record, *time, None));
                }
            }
        }
    }
    if !close_venue.is_empty() {
        sqlx::query(
            "UPDATE discrepancy_history d SET closed_time = c.t, closed_at = to_timestamp(c.t / 1000000.0)
             FROM UNNEST($1::text[], $2::text[], $3::bigint[]) AS c(venue, symbol, t)
             WHERE d.venue = c.venue AND d.symbol = c.symbol AND d.closed_time IS NULL AND d.opened_time < c.t",
        )
        .bind(&close_venue)
        .bind(&close_symbol)
        .bind(&close_time)
        .execute(&mut **tx)
        .await
        .map_err(PostgresError::Write)?;
    }
    if !inserts.is_empty() {
        let venue: Vec<String> = inserts.iter().map(|(r, _, _)| r.venue.name().to_string()).collect();
        let symbol: Vec<String> = inserts.iter().map(|(r, _, _)| r.symbol.to_string()).collect();
        let ex: Vec<Decimal> = inserts.iter().map(|(r, _, _)| r.exchange_rate.inner()).collect();
        let sc: Vec<Decimal> = inserts.iter().map(|(r, _, _)| r.scanner_rate.inner()).collect();
        let diff: Vec<Decimal> = inserts.iter().map(|(r, _, _)| r.abs_diff.inner()).collect();
        let opened: Vec<i64> = inserts.iter().map(|(_, t, _)| to_i64(*t)).collect();
        let closed: Vec<Option<i64>> = inserts.iter().map(|(_, _, c)| c.map(to_i64)).collect();
        sqlx::query(
            "INSERT INTO discrepancy_history (venue, symbol, exchange_rate, scanner_rate, abs_diff, opened_time,
                 opened_at, closed_time, closed_at)
             SELECT venue, symbol, ex, sc, diff, o, to_timestamp(o / 1000000.0), c, to_timestamp(c / 1000000.0)
             FROM UNNEST($1::text[], $2::text[], $3::numeric[], $4::numeric[], $5::numeric[], $6::bigint[], $7::bigint[])
                 AS r(venue, symbol, ex, sc, diff, o, c)
             ON CONFLICT (venue, symbol, opened_time) DO NOTHING",
        )
        .bind(&venue)
        .bind(&symbol)
        .bind(&ex)
        .bind(&sc)
        .bind(&diff)
        .bind(&opened)
        .bind(&closed)
        .execute(&mut **tx)
        .await
        .map_err(PostgresError::Write)?;
    }
    Ok(())
}

async fn write_rejected(tx: &mut Transaction<'_, Postgres>, batch: &CompleteBatch) -> Result<(), PostgresError> {
    let (mut times, mut ordinals, mut subjects, mut reasons, mut excerpts) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (time, streams) in &batch.times {
        let Some(updates) = streams.get(&OutputStream::Rejected) else { continue };
        let mut ordinal = 0i32;
        for (data, diff) in updates {
            let record: Rejected = parse(OutputStream::Rejected, data)?;
            for _ in 0..(*diff).max(0) {
                times.push(to_i64(*time));
                ordinals.push(ordinal);
                subjects.push(record.subject.clone());
                reasons.push(record.reason.clone());
                excerpts.push(record.excerpt.replace('\0', ""));
                ordinal += 1;
            }
        }
    }
    if times.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO rejected_inputs (logical_time, ordinal, subject, reason, excerpt, received_at)
         SELECT t, o, s, r, e, to_timestamp(t / 1000000.0)
         FROM UNNEST($1::bigint[], $2::int4[], $3::text[], $4::text[], $5::text[]) AS x(t, o, s, r, e)
         ON CONFLICT (logical_time, ordinal) DO NOTHING",
    )
    .bind(&times)
    .bind(&ordinals)
    .bind(&subjects)
    .bind(&reasons)
    .bind(&excerpts)
    .execute(&mut **tx)
    .await
    .map_err(PostgresError::Write)?;
    Ok(())
}

async fn write_parameters(tx: &mut Transaction<'_, Postgres>, batch: &CompleteBatch) -> Result<(), PostgresError> {
    // Net effect per key; within a time, removals first so a changed value is replaced.
    let mut changes: BTreeMap<String, Option<(serde_json::Value, LogicalTime)>> = BTreeMap::new();
    for (time, streams) in &batch.times {
        let Some(updates) = streams.get(&OutputStream::Parameters) else { continue };
        for removal in [true, false] {
            for (data, diff) in updates.iter().filter(|(_, diff)| (*diff < 0) == removal) {
                let parameter: Parameter = parse(OutputStream::Parameters, data)?;
                let value = if *diff > 0 {
                    let json = serde_json::from_str(&parameter.value)
                        .map_err(|source| PostgresError::Record { stream: "parameters", source })?;
                    Some((json, *time))
                } else {
                    None
                };
                changes.insert(parameter.key, value);
            }
        }
    }
    let (mut keys, mut values, mut times, mut gone) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (key, change) in changes {
        match change {
            Some((value, time)) => {
                keys.push(key);
                values.push(value);
                times.push(to_i64(time));
            }
            None => gone.push(key),
        }
    }
    if !gone.is_empty() {
        sqlx::query("DELETE FROM parameters WHERE key = ANY($1)")
            .bind(&gone)
            .execute(&mut **tx)
            .await
            .map_err(PostgresError::Write)?;
    }
    if !keys.is_empty() {
        sqlx::query(
            "INSERT INTO parameters (key, value, logical_time, updated_at)
             SELECT k, v, t, to_timestamp(t / 1000000.0) FROM UNNEST($1::text[], $2::jsonb[], $3::bigint[]) AS p(k, v, t)
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, logical_time = EXCLUDED.logical_time,
                 updated_at = EXCLUDED.updated_at",
        )
        .bind(&keys)
        .bind(&values)
        .bind(&times)
        .execute(&mut **tx)
        .await
        .map_err(PostgresError::Write)?;
    }
    Ok(())
}
