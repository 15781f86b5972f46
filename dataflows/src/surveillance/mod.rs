//! Market surveillance: spoofing, layering, wash trading, momentum ignition and the critical
//! escalation (DESIGN 5.4).
//!
//! ```text
//! order events ─ keep for the order span ─ per (venue, account, asset) ─► OrderPatterns ─┬─► layering
//!                                                                                       └─► spoof candidates
//! placements ─ keep for the baseline span ─ by (venue, account, asset) ─ join candidates ─► SpoofBaseline ─► spoofing
//! trades ─ keep for the ignition span ─ per (venue, asset) ─► Ignition ─► momentum ignition
//! trades naming both sides ─ with account groups ─► wash trading
//! (each alert frozen once its episode settles) ─ keep for the critical window ─ per (venue, account) ─► Escalation
//! ```
//!
//! Windows are measured on the logical times the inputs carry. Each input is kept only as long as
//! an episode still open may need it (`retract_at`), so state is bounded by the windows. An alert
//! is computed from what is kept, and frozen (`freeze_at`) once its episode has settled: nothing
//! that arrives later can belong to it, so the retractions of its inputs never reach it, and it
//! stays in the `alerts` collection for good. Before it settles, an alert follows its evidence
//! (a layering alert gains the orders placed after it fired) and the parameters, which are a
//! broadcast collection: a threshold change re-evaluates every open episode at its logical time.

mod escalation;
mod facts;
pub mod oracle;
mod orders;
mod params;
mod trades;

use compact_str::CompactString;
use differential_dataflow::VecCollection;
use nexus_model::market::OrderEventKind;
use nexus_model::records::Alert;
use nexus_model::{Dec, Venue};
use nexus_operators::{freeze_at, retract_at, with_params};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

pub use facts::{OrderFact, TradeFact};
pub use params::{AccountGroups, SurveillanceHistory, SurveillanceParams};

use crate::Time;
use orders::SpoofCandidate;

/// What the order-pattern reduce finds for one (venue, account, asset).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum OrderFinding {
    /// A spoofing candidate, still to be checked against its baseline.
    Spoof(SpoofCandidate),
    /// A layering alert and when its episode settles.
    Layering(Alert, Time),
}

/// Every alert: the four patterns and the escalations.
///
/// - `orders`, `trades`: every order event and trade, inserted when it arrives and never retracted.
/// - `params`: exactly one [`SurveillanceParams`]; `groups`: exactly one [`AccountGroups`].
/// - `history`: how long inputs are kept, fixed for the dataflow's life (window lengths may
///   shrink at run time but not grow past what it covers; configuration validation refuses that).
pub fn surveillance<'s>(
    orders: VecCollection<'s, Time, OrderFact>,
    trades: VecCollection<'s, Time, TradeFact>,
    params: VecCollection<'s, Time, SurveillanceParams>,
    groups: VecCollection<'s, Time, AccountGroups>,
    history: SurveillanceHistory,
) -> VecCollection<'s, Time, Alert> {
    // Order events, each kept while an open spoofing or layering episode may need it.
    let kept_orders = retract_at(orders.clone(), move |o| history.expiry(o.time, history.order_us))
        .map(|o| ((o.event.venue, o.event.account.clone(), o.event.asset.clone()), o));

    // Per (venue, account, asset): rebuild the orders' lives, find layering episodes and spoofing
    // candidates under the parameters in force.
    let findings = with_key_params(kept_orders, params.clone())
        .reduce_named("OrderPatterns", |key, facts, output| {
            let Some((events, p)) = split(facts) else { return };
            let (lives, fills) = orders::lives(&events);
            for candidate in orders::spoof_candidates(key, &lives, &fills, p) {
                output.push((OrderFinding::Spoof(candidate), 1isize));
            }
            for (alert, settle) in orders::layering(key, &lives, &fills, p) {
                output.push((OrderFinding::Layering(alert, settle), 1isize));
            }
        })
        .map(|(_, finding)| finding);
    let layering = findings.clone().flat_map(|finding| match finding {
        OrderFinding::Layering(alert, settle) => Some((alert, settle)),
        OrderFinding::Spoof(_) => None,
    });
    let candidates = findings.flat_map(|finding| match finding {
        OrderFinding::Spoof(candidate) => Some(candidate),
        OrderFinding::Layering(..) => None,
    });

    // Placements, kept for the spoofing baseline, joined to the candidates of their account.
    let placements = retract_at(orders.filter(|o| o.event.kind == OrderEventKind::New), move |o| {
        history.expiry(o.time, history.baseline_us)
    })
    .map(|o| {
        let key = (o.event.venue, o.event.account.clone(), o.event.asset.clone());
        (key, (o.time, o.event.order_id.clone(), o.event.qty.value()))
    })
    .arrange_by_key_named("PlacementsByAccount");
    let candidates_by_account =
        candidates.clone().map(|c| (c.key.clone(), c)).arrange_by_key_named("SpoofCandidatesByAccount");
    let baseline_orders = candidates_by_account.join_core(placements, |_key, candidate, (time, order_id, qty)| {
        orders::in_baseline(candidate, order_id, *time).then(|| (candidate.clone(), Some(*qty)))
    });

    // Spoofing: each candidate against the mean size of its baseline.
    let spoofing = candidates
        .map(|c| (c, None))
        .concat(baseline_orders)
        .reduce_named("SpoofBaseline", |candidate, sizes: &[(&Option<Dec>, isize)], output| {
            let mut count = 0u64;
            let mut sum = Decimal::ZERO;
            for (size, multiplicity) in sizes {
                if let Some(size) = size {
                    count += *multiplicity as u64;
                    sum = sum.saturating_add(size.inner().saturating_mul(Decimal::from(*multiplicity)));
                }
            }
            if let Some(found) = orders::spoof_alert(candidate, count, Dec::new(sum)) {
                output.push((found, 1isize));
            }
        })
        .map(|(_, found)| found);

    // Momentum ignition: per (venue, asset), over the trades of the ignition span.
    let kept_trades = retract_at(trades.clone(), move |t| history.expiry(t.time, history.trade_us))
        .map(|t| ((t.trade.venue, t.trade.asset.clone()), t));
    let ignition = with_key_params(kept_trades, params.clone())
        .reduce_named("Ignition", |key, facts, output| {
            let Some((trades, p)) = split(facts) else { return };
            for found in trades::ignition(key, &trades, p) {
                output.push((found, 1isize));
            }
        })
        .map(|(_, found)| found);

    // Wash trading: each trade that names both sides, against the groups of its instant.
    let named = retract_at(trades.filter(|t| t.trade.buyer.is_some() && t.trade.seller.is_some()), |t| {
        t.time.saturating_add(1)
    });
    let wash = with_params(named, groups, trades::wash);

    // Every pattern's alerts, frozen once their episodes settle.
    let base = freeze_at(spoofing.concat(layering).concat(ignition).concat(wash), |(_, settle)| *settle)
        .map(|(alert, _)| alert);

    // Escalation: per (venue, account), the alerts of the critical window.
    let counted = retract_at(base.clone(), move |a| history.expiry(a.first_us, history.alert_us))
        .map(|a| ((a.venue, a.account.clone()), a));
    let escalations = with_key_params(counted, params)
        .reduce_named("Escalation", |_key: &(Venue, CompactString), facts, output| {
            let Some((mut alerts, p)) = split(facts) else { return };
            alerts.sort_by(|a, b| (a.first_us, &a.alert_id).cmp(&(b.first_us, &b.alert_id)));
            for found in escalation::escalations(&alerts, p) {
                output.push((found, 1isize));
            }
        })
        .map(|(_, found)| found);
    let critical = freeze_at(escalations, |(_, settle)| *settle).map(|(alert, _)| alert);

    base.concat(critical)
}

/// A reduce input: a kept record, or the parameters in force (one per key).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum Keyed<D> {
    /// The parameters.
    Params(SurveillanceParams),
    /// A record.
    Record(D),
}

/// The records of each key, plus one `Params` value per key present: the parameters reach every
/// reduce through its keys (a change revisits every key), while the records themselves stay
/// untouched.
fn with_key_params<'s, K, D>(
    records: VecCollection<'s, Time, (K, D)>,
    params: VecCollection<'s, Time, SurveillanceParams>,
) -> VecCollection<'s, Time, (K, Keyed<D>)>
where
    K: differential_dataflow::ExchangeData + differential_dataflow::Hashable,
    D: differential_dataflow::ExchangeData,
{
    let keys = records.clone().map(|(key, _)| key).distinct();
    let key_params =
        with_params(keys, params, |key: &K, p: &SurveillanceParams| Some((key.clone(), Keyed::Params(p.clone()))));
    records.map(|(key, record)| (key, Keyed::Record(record))).concat(key_params)
}

/// A reduce's present records, and its parameters (none before the parameters arrive).
fn split<'a, D>(facts: &[(&'a Keyed<D>, isize)]) -> Option<(Vec<&'a D>, &'a SurveillanceParams)> {
    let mut params = None;
    let mut records = Vec::with_capacity(facts.len());
    for (fact, count) in facts {
        match fact {
            Keyed::Params(p) => params = Some(p),
            Keyed::Record(record) if *count > 0 => records.push(record),
            Keyed::Record(_) => {}
        }
    }
    Some((records, params?))
}
