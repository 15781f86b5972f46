//! The `positions`, `var`, `var_history` and `stress` tables.

use nexus_model::LogicalTime;
use nexus_model::records::{OutputStream, Position, StressPnl, VarFigures};
use rust_decimal::Decimal;
use sqlx::{Postgres, Transaction};

use super::changes::{insertions, net_changes};
use super::sink::{PostgresError, to_i64};
use crate::complete::CompleteBatch;

/// Upserts positions, VaR and stress P&L, and appends the VaR history.
pub(super) async fn write(tx: &mut Transaction<'_, Postgres>, batch: &CompleteBatch) -> Result<(), PostgresError> {
    write_positions(tx, batch).await?;
    write_var(tx, batch).await?;
    write_stress(tx, batch).await
}

async fn write_positions(tx: &mut Transaction<'_, Postgres>, batch: &CompleteBatch) -> Result<(), PostgresError> {
    let changes = net_changes(batch, OutputStream::Positions, |p: &Position| {
        (p.account.to_string(), p.venue.name().to_string(), p.symbol.to_string())
    })?;
    let (mut gone_a, mut gone_v, mut gone_s) = (Vec::new(), Vec::new(), Vec::new());
    let (mut account, mut venue, mut symbol, mut qty, mut time) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for ((a, v, s), change) in changes {
        match change {
            None => {
                gone_a.push(a);
                gone_v.push(v);
                gone_s.push(s);
            }
            Some((position, at)) => {
                account.push(a);
                venue.push(v);
                symbol.push(s);
                qty.push(position.qty.inner());
                time.push(to_i64(at));
            }
        }
    }
    if !gone_a.is_empty() {
        sqlx::query(
            "DELETE FROM positions p USING UNNEST($1::text[], $2::text[], $3::text[]) AS g(a, v, s)
             WHERE p.account = g.a AND p.venue = g.v AND p.symbol = g.s",
        )
        .bind(&gone_a)
        .bind(&gone_v)
        .bind(&gone_s)
        .execute(&mut **tx)
        .await
        .map_err(PostgresError::Write)?;
    }
    if !account.is_empty() {
        sqlx::query(
            "INSERT INTO positions (account, venue, symbol, qty, logical_time, updated_at)
             SELECT *, to_timestamp(t / 1000000.0)
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::numeric[], $5::bigint[]) AS r(a, v, s, q, t)
             ON CONFLICT (account, venue, symbol) DO UPDATE SET qty = EXCLUDED.qty,
                 logical_time = EXCLUDED.logical_time, updated_at = EXCLUDED.updated_at",
        )
        .bind(&account)
        .bind(&venue)
        .bind(&symbol)
        .bind(&qty)
        .bind(&time)
        .execute(&mut **tx)
        .await
        .map_err(PostgresError::Write)?;
    }
    Ok(())
}

/// Column arrays for one UNNEST of VaR rows.
#[derive(Default)]
struct VarRows {
    account: Vec<String>,
    returns: Vec<i32>,
    exposure_net: Vec<Decimal>,
    exposure_gross: Vec<Decimal>,
    var_hist_95: Vec<Decimal>,
    es_hist_95: Vec<Decimal>,
    var_hist_99: Vec<Decimal>,
    es_hist_99: Vec<Decimal>,
    var_param_95: Vec<f64>,
    var_param_99: Vec<f64>,
    time: Vec<i64>,
}

impl VarRows {
    fn push(&mut self, v: &VarFigures, time: LogicalTime) {
        self.account.push(v.account.to_string());
        self.returns.push(i32::try_from(v.returns).unwrap_or(i32::MAX));
        self.exposure_net.push(v.exposure_net.inner());
        self.exposure_gross.push(v.exposure_gross.inner());
        self.var_hist_95.push(v.var_hist_95.inner());
        self.es_hist_95.push(v.es_hist_95.inner());
        self.var_hist_99.push(v.var_hist_99.inner());
        self.es_hist_99.push(v.es_hist_99.inner());
        self.var_param_95.push(v.var_param_95.0);
        self.var_param_99.push(v.var_param_99.0);
        self.time.push(to_i64(time));
    }

    /// Runs `sql`, whose UNNEST takes the columns as $1..$11 in field order.
    async fn execute(&self, tx: &mut Transaction<'_, Postgres>, sql: &'static str) -> Result<(), PostgresError> {
        if self.account.is_empty() {
            return Ok(());
        }
        sqlx::query(sql)
            .bind(&self.account)
            .bind(&self.returns)
            .bind(&self.exposure_net)
            .bind(&self.exposure_gross)
            .bind(&self.var_hist_95)
            .bind(&self.es_hist_95)
            .bind(&self.var_hist_99)
            .bind(&self.es_hist_99)
            .bind(&self.var_param_95)
            .bind(&self.var_param_99)
            .bind(&self.time)
            .execute(&mut **tx)
            .await
            .map_err(PostgresError::Write)?;
        Ok(())
    }
}

async fn write_var(tx: &mut Transaction<'_, Postgres>, batch: &CompleteBatch) -> Result<(), PostgresError> {
    let changes = net_changes(batch, OutputStream::Var, |v: &VarFigures| v.account.to_string())?;
    let mut gone = Vec::new();
    let mut current = VarRows::default();
    for (account, change) in changes {
        match change {
            None => gone.push(account),
            Some((figures, time)) => current.push(&figures, time),
        }
    }
    if !gone.is_empty() {
        sqlx::query("DELETE FROM var WHERE account = ANY($1::text[])")
            .bind(&gone)
            .execute(&mut **tx)
            .await
            .map_err(PostgresError::Write)?;
    }
    current
        .execute(
            tx,
            "INSERT INTO var (account, returns, exposure_net, exposure_gross, var_hist_95, es_hist_95, var_hist_99,
                 es_hist_99, var_param_95, var_param_99, logical_time, updated_at)
             SELECT *, to_timestamp(t / 1000000.0) FROM UNNEST($1::text[], $2::int4[], $3::numeric[], $4::numeric[],
                 $5::numeric[], $6::numeric[], $7::numeric[], $8::numeric[], $9::float8[], $10::float8[], $11::bigint[])
                 AS r(a, n, en, eg, v95, e95, v99, e99, p95, p99, t)
             ON CONFLICT (account) DO UPDATE SET returns = EXCLUDED.returns, exposure_net = EXCLUDED.exposure_net,
                 exposure_gross = EXCLUDED.exposure_gross, var_hist_95 = EXCLUDED.var_hist_95,
                 es_hist_95 = EXCLUDED.es_hist_95, var_hist_99 = EXCLUDED.var_hist_99, es_hist_99 = EXCLUDED.es_hist_99,
                 var_param_95 = EXCLUDED.var_param_95, var_param_99 = EXCLUDED.var_param_99,
                 logical_time = EXCLUDED.logical_time, updated_at = EXCLUDED.updated_at",
        )
        .await?;
    let mut history = VarRows::default();
    for (figures, time) in insertions::<VarFigures>(batch, OutputStream::Var)? {
        history.push(&figures, time);
    }
    history
        .execute(
            tx,
            "INSERT INTO var_history (account, returns, exposure_net, exposure_gross, var_hist_95, es_hist_95,
                 var_hist_99, es_hist_99, var_param_95, var_param_99, logical_time, computed_at)
             SELECT *, to_timestamp(t / 1000000.0) FROM UNNEST($1::text[], $2::int4[], $3::numeric[], $4::numeric[],
                 $5::numeric[], $6::numeric[], $7::numeric[], $8::numeric[], $9::float8[], $10::float8[], $11::bigint[])
                 AS r(a, n, en, eg, v95, e95, v99, e99, p95, p99, t)
             ON CONFLICT (account, logical_time) DO NOTHING",
        )
        .await
}

async fn write_stress(tx: &mut Transaction<'_, Postgres>, batch: &CompleteBatch) -> Result<(), PostgresError> {
    let changes =
        net_changes(batch, OutputStream::Stress, |s: &StressPnl| (s.account.to_string(), s.scenario.clone()))?;
    let (mut gone_a, mut gone_s) = (Vec::new(), Vec::new());
    let (mut account, mut scenario, mut pnl, mut time) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for ((a, s), change) in changes {
        match change {
            None => {
                gone_a.push(a);
                gone_s.push(s);
            }
            Some((record, at)) => {
                account.push(a);
                scenario.push(s);
                pnl.push(record.pnl.inner());
                time.push(to_i64(at));
            }
        }
    }
    if !gone_a.is_empty() {
        sqlx::query(
            "DELETE FROM stress x USING UNNEST($1::text[], $2::text[]) AS g(a, s) WHERE x.account = g.a AND x.scenario = g.s",
        )
        .bind(&gone_a)
        .bind(&gone_s)
        .execute(&mut **tx)
        .await
        .map_err(PostgresError::Write)?;
    }
    if !account.is_empty() {
        sqlx::query(
            "INSERT INTO stress (account, scenario, pnl, logical_time, updated_at)
             SELECT *, to_timestamp(t / 1000000.0) FROM UNNEST($1::text[], $2::text[], $3::numeric[], $4::bigint[])
                 AS r(a, s, p, t)
             ON CONFLICT (account, scenario) DO UPDATE SET pnl = EXCLUDED.pnl, logical_time = EXCLUDED.logical_time,
                 updated_at = EXCLUDED.updated_at",
        )
        .bind(&account)
        .bind(&scenario)
        .bind(&pnl)
        .bind(&time)
        .execute(&mut **tx)
        .await
        .map_err(PostgresError::Write)?;
    }
    Ok(())
}
