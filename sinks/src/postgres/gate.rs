//! The `decisions` and `orders` tables, the risk gate's history (append-only), and `halts`, the
//! halts in force.

use nexus_model::records::{Decision, OrderIntent, OutputStream};
use rust_decimal::Decimal;
use sqlx::{Postgres, Transaction};

use super::changes::{insertions, net_changes};
use super::sink::{PostgresError, parse, to_i64};
use crate::complete::CompleteBatch;

/// Appends the batch's decisions and orders, and upserts its halts.
pub(super) async fn write(tx: &mut Transaction<'_, Postgres>, batch: &CompleteBatch) -> Result<(), PostgresError> {
    write_decisions(tx, batch).await?;
    write_orders(tx, batch).await?;
    write_halts(tx, batch).await
}

/// A `halts` record as the pipeline emits it.
#[derive(serde::Deserialize)]
struct HaltRecord {
    scope: nexus_model::control::HaltScope,
    target: String,
    halted: bool,
    since: u64,
    reason: String,
}

/// The latest halt per (scope, target), replaced in place.
async fn write_halts(tx: &mut Transaction<'_, Postgres>, batch: &CompleteBatch) -> Result<(), PostgresError> {
    let changes = net_changes(batch, OutputStream::Halts, |h: &HaltRecord| (h.scope.name(), h.target.clone()))?;
    let (mut scope, mut target, mut halted, mut reason, mut since) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for ((s, t), change) in changes {
        // Halts are replaced, never removed: a retraction without a replacement cannot happen.
        let Some((record, _)) = change else { continue };
        scope.push(s);
        target.push(t);
        halted.push(record.halted);
        reason.push(record.reason);
        since.push(to_i64(record.since));
    }
    if scope.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO halts (scope, target, halted, reason, since_time, since_at)
         SELECT s, t, h, r, x, to_timestamp(x / 1000000.0)
         FROM UNNEST($1::text[], $2::text[], $3::bool[], $4::text[], $5::bigint[]) AS n(s, t, h, r, x)
         ON CONFLICT (scope, target) DO UPDATE SET halted = EXCLUDED.halted, reason = EXCLUDED.reason,
             since_time = EXCLUDED.since_time, since_at = EXCLUDED.since_at",
    )
    .bind(&scope)
    .bind(&target)
    .bind(&halted)
    .bind(&reason)
    .bind(&since)
    .execute(&mut **tx)
    .await
    .map_err(PostgresError::Write)?;
    Ok(())
}

/// A row per decision that appears; a retraction marks the arbitrage's latest earlier row.
async fn write_decisions(tx: &mut Transaction<'_, Postgres>, batch: &CompleteBatch) -> Result<(), PostgresError> {
    let mut rows = DecisionRows::default();
    for (decision, time) in insertions::<Decision>(batch, OutputStream::Decisions)? {
        rows.push(decision, to_i64(time));
    }
    let (mut gone, mut gone_time) = (Vec::new(), Vec::new());
    for (time, streams) in &batch.times {
        let Some(updates) = streams.get(&OutputStream::Decisions) else { continue };
        for (data, _) in updates.iter().filter(|(_, diff)| *diff < 0) {
            let decision: Decision = parse(OutputStream::Decisions, data)?;
            gone.push(decision.arb_id);
            gone_time.push(to_i64(*time));
        }
    }
    if !rows.arb_id.is_empty() {
        sqlx::query(
            "INSERT INTO decisions (arb_id, decided_time, decided_at, symbol, long_venue, short_venue, accepted, reasons)
             SELECT r.a, r.t, to_timestamp(r.t / 1000000.0), r.s, r.l, r.h, r.c,
                 ARRAY(SELECT jsonb_array_elements_text(r.r))
             FROM UNNEST($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::bool[], $7::jsonb[])
                 AS r(a, t, s, l, h, c, r)
             ON CONFLICT (arb_id, decided_time) DO NOTHING",
        )
        .bind(&rows.arb_id)
        .bind(&rows.time)
        .bind(&rows.symbol)
        .bind(&rows.long_venue)
        .bind(&rows.short_venue)
        .bind(&rows.accepted)
        .bind(&rows.reasons)
        .execute(&mut **tx)
        .await
        .map_err(PostgresError::Write)?;
    }
    if !gone.is_empty() {
        sqlx::query(
            "UPDATE decisions d SET superseded_time = g.t, superseded_at = to_timestamp(g.t / 1000000.0)
             FROM UNNEST($1::text[], $2::bigint[]) AS g(a, t)
             WHERE d.arb_id = g.a AND d.decided_time =
                 (SELECT max(e.decided_time) FROM decisions e WHERE e.arb_id = g.a AND e.decided_time < g.t)",
        )
        .bind(&gone)
        .bind(&gone_time)
        .execute(&mut **tx)
        .await
        .map_err(PostgresError::Write)?;
    }
    Ok(())
}

/// Column arrays for one UNNEST of decision rows.
#[derive(Default)]
struct DecisionRows {
    arb_id: Vec<String>,
    time: Vec<i64>,
    symbol: Vec<String>,
    long_venue: Vec<String>,
    short_venue: Vec<String>,
    accepted: Vec<bool>,
    reasons: Vec<serde_json::Value>,
}

impl DecisionRows {
    fn push(&mut self, decision: Decision, time: i64) {
        self.time.push(time);
        self.symbol.push(decision.symbol.to_string());
        self.long_venue.push(decision.long_venue.name().to_string());
        self.short_venue.push(decision.short_venue.name().to_string());
        self.accepted.push(decision.accepted);
        self.reasons.push(serde_json::Value::from(decision.reasons));
        self.arb_id.push(decision.arb_id);
    }
}

/// A row per order, once.
async fn write_orders(tx: &mut Transaction<'_, Postgres>, batch: &CompleteBatch) -> Result<(), PostgresError> {
    let mut rows = OrderRows::default();
    for (order, time) in insertions::<OrderIntent>(batch, OutputStream::Orders)? {
        rows.push(order, to_i64(time));
    }
    if rows.id.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO orders (client_order_id, arb_id, action, account, venue, symbol, side, qty, order_type,
             reduce_only, logical_time, sent_at)
         SELECT o.i, o.a, o.c, o.u, o.v, o.s, o.d, o.q, 'market', o.r, o.t, to_timestamp(o.t / 1000000.0)
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
             $8::numeric[], $9::bool[], $10::bigint[]) AS o(i, a, c, u, v, s, d, q, r, t)
         ON CONFLICT (client_order_id) DO NOTHING",
    )
    .bind(&rows.id)
    .bind(&rows.arb_id)
    .bind(&rows.action)
    .bind(&rows.account)
    .bind(&rows.venue)
    .bind(&rows.symbol)
    .bind(&rows.side)
    .bind(&rows.qty)
    .bind(&rows.reduce_only)
    .bind(&rows.time)
    .execute(&mut **tx)
    .await
    .map_err(PostgresError::Write)?;
    Ok(())
}

/// Column arrays for one UNNEST of order rows (all market orders).
#[derive(Default)]
struct OrderRows {
    id: Vec<String>,
    arb_id: Vec<String>,
    action: Vec<&'static str>,
    account: Vec<String>,
    venue: Vec<&'static str>,
    symbol: Vec<String>,
    side: Vec<&'static str>,
    qty: Vec<Decimal>,
    reduce_only: Vec<bool>,
    time: Vec<i64>,
}

impl OrderRows {
    fn push(&mut self, order: OrderIntent, time: i64) {
        self.id.push(order.client_order_id.to_string());
        self.arb_id.push(order.arb_id);
        self.action.push(order.action.name());
        self.account.push(order.account.to_string());
        self.venue.push(order.venue.name());
        self.symbol.push(order.symbol.to_string());
        self.side.push(order.side.name());
        self.qty.push(order.qty.inner());
        self.reduce_only.push(order.reduce_only);
        self.time.push(time);
    }
}
