//! The `alerts` table: one row per alert id, never deleted.

use std::collections::BTreeMap;

use nexus_model::LogicalTime;
use nexus_model::records::{Alert, OutputStream};
use sqlx::{Postgres, Transaction};

use super::changes::{insertions, net_changes};
use super::sink::{PostgresError, to_i64};
use crate::complete::CompleteBatch;

/// Raises new alerts, revises those whose evidence grew, and marks withdrawn ones.
pub(super) async fn write(tx: &mut Transaction<'_, Postgres>, batch: &CompleteBatch) -> Result<(), PostgresError> {
    let changes = net_changes(batch, OutputStream::Alerts, |a: &Alert| a.alert_id.to_string())?;
    // When each alert first appeared in the batch: its raise time, if it is new.
    let mut raised: BTreeMap<String, LogicalTime> = BTreeMap::new();
    for (alert, time) in insertions::<Alert>(batch, OutputStream::Alerts)? {
        raised.entry(alert.alert_id.to_string()).or_insert(time);
    }
    let (mut withdrawn, mut withdrawn_time) = (Vec::new(), Vec::new());
    let mut rows = AlertRows::default();
    // An alert absent at the end of the batch was withdrawn within it: dated at the batch's end.
    let end = batch.times.last().map(|(time, _)| *time).unwrap_or_default();
    for (id, change) in changes {
        match change {
            None => {
                withdrawn.push(id);
                withdrawn_time.push(to_i64(end));
            }
            Some((alert, time)) => {
                let first = raised.get(&id).copied().unwrap_or(time);
                rows.push(alert, to_i64(first), to_i64(time))?;
            }
        }
    }
    if !rows.id.is_empty() {
        sqlx::query(
            "INSERT INTO alerts (alert_id, pattern, severity, venue, account, symbol, first_us, last_us, evidence,
                 details, raised_time, raised_at, revised_time)
             SELECT r.i, r.p, r.s, r.v, r.a, r.y, r.f, r.l, ARRAY(SELECT jsonb_array_elements_text(r.e)), r.d,
                 r.t, to_timestamp(r.t / 1000000.0), r.u
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[],
                 $8::bigint[], $9::jsonb[], $10::jsonb[], $11::bigint[], $12::bigint[])
                 AS r(i, p, s, v, a, y, f, l, e, d, t, u)
             ON CONFLICT (alert_id) DO UPDATE SET severity = EXCLUDED.severity, last_us = EXCLUDED.last_us,
                 evidence = EXCLUDED.evidence, details = EXCLUDED.details, revised_time = EXCLUDED.revised_time,
                 withdrawn_time = NULL, withdrawn_at = NULL",
        )
        .bind(&rows.id)
        .bind(&rows.pattern)
        .bind(&rows.severity)
        .bind(&rows.venue)
        .bind(&rows.account)
        .bind(&rows.symbol)
        .bind(&rows.first_us)
        .bind(&rows.last_us)
        .bind(&rows.evidence)
        .bind(&rows.details)
        .bind(&rows.raised)
        .bind(&rows.revised)
        .execute(&mut **tx)
        .await
        .map_err(PostgresError::Write)?;
    }
    if !withdrawn.is_empty() {
        sqlx::query(
            "UPDATE alerts a SET withdrawn_time = w.t, withdrawn_at = to_timestamp(w.t / 1000000.0)
             FROM UNNEST($1::text[], $2::bigint[]) AS w(i, t) WHERE a.alert_id = w.i",
        )
        .bind(&withdrawn)
        .bind(&withdrawn_time)
        .execute(&mut **tx)
        .await
        .map_err(PostgresError::Write)?;
    }
    Ok(())
}

/// Column arrays for one UNNEST of alert rows.
#[derive(Default)]
struct AlertRows {
    id: Vec<String>,
    pattern: Vec<String>,
    severity: Vec<String>,
    venue: Vec<String>,
    account: Vec<String>,
    symbol: Vec<String>,
    first_us: Vec<i64>,
    last_us: Vec<i64>,
    evidence: Vec<serde_json::Value>,
    details: Vec<serde_json::Value>,
    raised: Vec<i64>,
    revised: Vec<i64>,
}

impl AlertRows {
    fn push(&mut self, alert: Alert, raised: i64, revised: i64) -> Result<(), PostgresError> {
        let json = |value: serde_json::Result<serde_json::Value>| {
            value.map_err(|source| PostgresError::Record { stream: OutputStream::Alerts.name(), source })
        };
        self.id.push(alert.alert_id.to_string());
        self.pattern.push(alert.pattern.name().to_string());
        self.severity.push(alert.severity.name().to_string());
        self.venue.push(alert.venue.name().to_string());
        self.account.push(alert.account.to_string());
        self.symbol.push(alert.symbol.to_string());
        self.first_us.push(to_i64(alert.first_us));
        self.last_us.push(to_i64(alert.last_us));
        self.evidence.push(json(serde_json::to_value(&alert.evidence))?);
        self.details.push(json(serde_json::to_value(&alert.details))?);
        self.raised.push(raised);
        self.revised.push(revised);
        Ok(())
    }
}
