//! The `opportunities`, `opportunity_events` and `ranked` tables.

use std::collections::BTreeMap;

use nexus_model::LogicalTime;
use nexus_model::records::{Opportunity, OutputStream, Ranked};
use rust_decimal::Decimal;
use sqlx::{Postgres, Transaction};

use super::sink::{PostgresError, parse, to_i64};
use crate::complete::CompleteBatch;

/// (symbol, long venue, short venue).
type PairKey = (String, String, String);

fn key_of(o: &Opportunity) -> PairKey {
    (o.symbol.to_string(), o.long_venue.name().to_string(), o.short_venue.name().to_string())
}

/// Upserts current opportunities, appends lifecycle events, and replaces the ranking.
pub(super) async fn write(tx: &mut Transaction<'_, Postgres>, batch: &CompleteBatch) -> Result<(), PostgresError> {
    let mut current: BTreeMap<PairKey, Option<(Opportunity, LogicalTime)>> = BTreeMap::new();
    let mut events: Vec<Event<'_>> = Vec::new();
    for (time, streams) in &batch.times {
        let Some(updates) = streams.get(&OutputStream::Opportunities) else { continue };
        let mut removed: BTreeMap<PairKey, (Opportunity, &str)> = BTreeMap::new();
        let mut added: BTreeMap<PairKey, (Opportunity, &str)> = BTreeMap::new();
        for (data, diff) in updates {
            let record: Opportunity = parse(OutputStream::Opportunities, data)?;
            let side = if *diff < 0 { &mut removed } else { &mut added };
            side.insert(key_of(&record), (record, data.as_str()));
        }
        for (key, (old, json)) in &removed {
            if !added.contains_key(key) {
                events.push(Event { key: key.clone(), kind: "expired", time: *time, record: old.clone(), json });
                current.insert(key.clone(), None);
            }
        }
        for (key, (new, json)) in added {
            let kind = if removed.contains_key(&key) { "updated" } else { "discovered" };
            current.insert(key.clone(), Some((new.clone(), *time)));
            events.push(Event { key, kind, time: *time, record: new, json });
        }
    }
    write_current(tx, current).await?;
    write_events(tx, events).await?;
    write_ranked(tx, batch).await
}

async fn write_current(
    tx: &mut Transaction<'_, Postgres>,
    current: BTreeMap<PairKey, Option<(Opportunity, LogicalTime)>>,
) -> Result<(), PostgresError> {
    let (mut gone_s, mut gone_l, mut gone_h) = (Vec::new(), Vec::new(), Vec::new());
    let mut rows: Vec<(Opportunity, LogicalTime)> = Vec::new();
    for ((symbol, long, short), change) in current {
        match change {
            None => {
                gone_s.push(symbol);
                gone_l.push(long);
                gone_h.push(short);
            }
            Some(row) => rows.push(row),
        }
    }
    if !gone_s.is_empty() {
        sqlx::query(
            "DELETE FROM opportunities o USING UNNEST($1::text[], $2::text[], $3::text[]) AS g(s, l, h)
             WHERE o.symbol = g.s AND o.long_venue = g.l AND o.short_venue = g.h",
        )
        .bind(&gone_s)
        .bind(&gone_l)
        .bind(&gone_h)
        .execute(&mut **tx)
        .await
        .map_err(PostgresError::Write)?;
    }
    if rows.is_empty() {
        return Ok(());
    }
    let text = |f: fn(&Opportunity) -> String| rows.iter().map(|(o, _)| f(o)).collect::<Vec<String>>();
    let num = |f: fn(&Opportunity) -> Decimal| rows.iter().map(|(o, _)| f(o)).collect::<Vec<Decimal>>();
    let ms = |f: fn(&Opportunity) -> Option<u64>| {
        rows.iter().map(|(o, _)| f(o).and_then(|v| i64::try_from(v).ok())).collect::<Vec<Option<i64>>>()
    };
    let times: Vec<i64> = rows.iter().map(|(_, t)| to_i64(*t)).collect();
    sqlx::query(
        "INSERT INTO opportunities (symbol, long_venue, short_venue, long_rate_per_hour, short_rate_per_hour, gross_apr,
             cost_apr, net_apr, spread_score, liquidity_score, confidence_score, uos, long_next_funding_ms,
             short_next_funding_ms, logical_time, updated_at)
         SELECT *, to_timestamp(t / 1000000.0) FROM UNNEST($1::text[], $2::text[], $3::text[], $4::numeric[], $5::numeric[],
             $6::numeric[], $7::numeric[], $8::numeric[], $9::numeric[], $10::numeric[], $11::numeric[], $12::numeric[],
             $13::bigint[], $14::bigint[], $15::bigint[]) AS r(s, l, h, lr, sr, g, c, n, ss, ls, cs, u, ln, sn, t)
         ON CONFLICT (symbol, long_venue, short_venue) DO UPDATE SET long_rate_per_hour = EXCLUDED.long_rate_per_hour,
             short_rate_per_hour = EXCLUDED.short_rate_per_hour, gross_apr = EXCLUDED.gross_apr,
             cost_apr = EXCLUDED.cost_apr, net_apr = EXCLUDED.net_apr, spread_score = EXCLUDED.spread_score,
             liquidity_score = EXCLUDED.liquidity_score, confidence_score = EXCLUDED.confidence_score,
             uos = EXCLUDED.uos, long_next_funding_ms = EXCLUDED.long_next_funding_ms,
             short_next_funding_ms = EXCLUDED.short_next_funding_ms, logical_time = EXCLUDED.logical_time,
             updated_at = EXCLUDED.updated_at",
    )
    .bind(text(|o| o.symbol.to_string()))
    .bind(text(|o| o.long_venue.name().to_string()))
    .bind(text(|o| o.short_venue.name().to_string()))
    .bind(num(|o| o.long_rate_per_hour.inner()))
    .bind(num(|o| o.short_rate_per_hour.inner()))
    .bind(num(|o| o.gross_apr.inner()))
    .bind(num(|o| o.cost_apr.inner()))
    .bind(num(|o| o.net_apr.inner()))
    .bind(num(|o| o.spread_score.inner()))
    .bind(num(|o| o.liquidity_score.inner()))
    .bind(num(|o| o.confidence_score.inner()))
    .bind(num(|o| o.uos.inner()))
    .bind(ms(|o| o.long_next_funding_ms))
    .bind(ms(|o| o.short_next_funding_ms))
    .bind(&times)
    .execute(&mut **tx)
    .await
    .map_err(PostgresError::Write)?;
    Ok(())
}

/// One row of `opportunity_events`.
struct Event<'a> {
    /// The pair it is about.
    key: PairKey,
    /// `discovered`, `updated` or `expired`.
    kind: &'static str,
    /// When it happened.
    time: LogicalTime,
    /// The figures after it (before it, for `expired`).
    record: Opportunity,
    /// The same record as the stream's JSON, stored as is in the `record` column.
    json: &'a str,
}

async fn write_events(tx: &mut Transaction<'_, Postgres>, events: Vec<Event<'_>>) -> Result<(), PostgresError> {
    if events.is_empty() {
        return Ok(());
    }
    let symbols: Vec<&str> = events.iter().map(|e| e.key.0.as_str()).collect();
    let longs: Vec<&str> = events.iter().map(|e| e.key.1.as_str()).collect();
    let shorts: Vec<&str> = events.iter().map(|e| e.key.2.as_str()).collect();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind).collect();
    let times: Vec<i64> = events.iter().map(|e| to_i64(e.time)).collect();
    let nets: Vec<Decimal> = events.iter().map(|e| e.record.net_apr.inner()).collect();
    let scores: Vec<Decimal> = events.iter().map(|e| e.record.uos.inner()).collect();
    let records: Vec<&str> = events.iter().map(|e| e.json).collect();
    sqlx::query(
        "INSERT INTO opportunity_events (symbol, long_venue, short_venue, event, logical_time, event_at, net_apr, uos, record)
         SELECT s, l, h, e, t, to_timestamp(t / 1000000.0), n, u, r::jsonb
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::numeric[], $7::numeric[], $8::text[])
             AS x(s, l, h, e, t, n, u, r)
         ON CONFLICT (symbol, long_venue, short_venue, logical_time) DO NOTHING",
    )
    .bind(&symbols)
    .bind(&longs)
    .bind(&shorts)
    .bind(&kinds)
    .bind(&times)
    .bind(&nets)
    .bind(&scores)
    .bind(&records)
    .execute(&mut **tx)
    .await
    .map_err(PostgresError::Write)?;
    Ok(())
}

async fn write_ranked(tx: &mut Transaction<'_, Postgres>, batch: &CompleteBatch) -> Result<(), PostgresError> {
    let mut current: BTreeMap<u32, Option<(Ranked, LogicalTime)>> = BTreeMap::new();
    for (time, streams) in &batch.times {
        let Some(updates) = streams.get(&OutputStream::Ranked) else { continue };
        for removal in [true, false] {
            for (data, diff) in updates.iter().filter(|(_, diff)| (*diff < 0) == removal) {
                let record: Ranked = parse(OutputStream::Ranked, data)?;
                current.insert(record.rank, if *diff > 0 { Some((record, *time)) } else { None });
            }
        }
    }
    let gone: Vec<i32> = current.iter().filter(|(_, c)| c.is_none()).map(|(rank, _)| *rank as i32).collect();
    if !gone.is_empty() {
        sqlx::query("DELETE FROM ranked WHERE rank = ANY($1)")
            .bind(&gone)
            .execute(&mut **tx)
            .await
            .map_err(PostgresError::Write)?;
    }
    let rows: Vec<(Ranked, LogicalTime)> = current.into_values().flatten().collect();
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO ranked (rank, symbol, long_venue, short_venue, uos, net_apr, logical_time, updated_at)
         SELECT *, to_timestamp(t / 1000000.0) FROM UNNEST($1::int4[], $2::text[], $3::text[], $4::text[], $5::numeric[],
             $6::numeric[], $7::bigint[]) AS r(k, s, l, h, u, n, t)
         ON CONFLICT (rank) DO UPDATE SET symbol = EXCLUDED.symbol, long_venue = EXCLUDED.long_venue,
             short_venue = EXCLUDED.short_venue, uos = EXCLUDED.uos, net_apr = EXCLUDED.net_apr,
             logical_time = EXCLUDED.logical_time, updated_at = EXCLUDED.updated_at",
    )
    .bind(rows.iter().map(|(r, _)| r.rank as i32).collect::<Vec<i32>>())
    .bind(rows.iter().map(|(r, _)| r.symbol.to_string()).collect::<Vec<String>>())
    .bind(rows.iter().map(|(r, _)| r.long_venue.name().to_string()).collect::<Vec<String>>())
    .bind(rows.iter().map(|(r, _)| r.short_venue.name().to_string()).collect::<Vec<String>>())
    .bind(rows.iter().map(|(r, _)| r.uos.inner()).collect::<Vec<Decimal>>())
    .bind(rows.iter().map(|(r, _)| r.net_apr.inner()).collect::<Vec<Decimal>>())
    .bind(rows.iter().map(|(_, t)| to_i64(*t)).collect::<Vec<i64>>())
    .execute(&mut **tx)
    .await
    .map_err(PostgresError::Write)?;
    Ok(())
}
