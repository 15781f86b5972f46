//! One comparison per dataflow, in pipeline order: each downstream dataflow takes the
//! incremental outputs of the one before it as its input.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use nexus_dataflows::opportunities::{OpportunityParams, opportunities, oracle as opportunities_oracle};
use nexus_dataflows::reconcile::{ReconcileParams, oracle as reconcile_oracle, reconcile};
use nexus_dataflows::risk_gate::oracle::{GateInput, replay};
use nexus_dataflows::risk_gate::{GateInputs, GateParams, HaltState, deadline_lead, risk_gate};
use nexus_dataflows::surveillance::oracle::{base_alerts, escalations};
use nexus_dataflows::surveillance::{
    AccountGroups, OrderFact, SurveillanceHistory, SurveillanceParams, TradeFact, surveillance,
};
use nexus_dataflows::var::{PriceHistory, PriceTick, Shock, VarParams, oracle as var_oracle, risk};
use nexus_model::LogicalTime as Time;
use nexus_model::config::Config;
use nexus_model::funding::{FundingObservation, FundingSource, ObservationKey};
use nexus_model::market::{BookTop, Fill};
use nexus_model::records::{
    Alert, Decision, Discrepancy, Opportunity, OrderIntent, Position, Ranked, Snapshot, StressPnl, VarFigures,
};
use nexus_model::{Asset, Dec, Venue};
use serde::{Deserialize, Serialize};

use crate::Ratio;
use crate::history::{Decoded, Running, upserts};
use crate::stepper::{Incremental, incremental};

/// Every dataflow's comparison.
pub fn all(config: &Config, decoded: &Decoded, from: Time, calls: usize) -> Vec<Ratio> {
    let start = decoded.funding.first().map(|f| f.0).unwrap_or(0);
    let books =
        upserts(decoded.books.iter().map(|(t, seq, b)| (*t, (b.venue, b.asset.clone()), (*seq, b.clone()))), |k, v| {
            (k.clone(), v.1.clone())
        });
    let fills = upserts(
        decoded.fills.iter().map(|(t, seq, f)| (*t, (f.venue, f.fill_id.clone()), (*seq, f.clone()))),
        |_, v| v.1.clone(),
    );
    let ticks: Vec<(Time, Asset, PriceTick)> = decoded
        .funding
        .iter()
        .filter(|(_, _, u)| u.source == FundingSource::Exchange)
        .filter_map(|(t, _, u)| {
            let mark = u.observation.mark_price?;
            Some((*t, u.asset.clone(), PriceTick { seq: u.observation.seq, time: *t, price: mark.value() }))
        })
        .collect();
    let prices =
        upserts(ticks.iter().map(|(t, a, tick)| (*t, a.clone(), tick.clone())), |a, tick| (a.clone(), tick.clone()));

    let (r1, snapshots) = reconcile_ratio(config, decoded, start, from, calls);
    let (r2, opportunities) = opportunities_ratio(config, &snapshots, &books, start, from, calls);
    let (r3, var) = var_ratio(config, &ticks, &prices, &fills, start, from, calls);
    let (r4, alerts) = surveillance_ratio(config, decoded, start, from, calls);
    let r5 = gate_ratio(config, GateHistory { opportunities, books, prices, fills, var, alerts }, start, from, calls);
    vec![r1, r2, r3, r4, r5]
}

/// Up to `calls` of the distinct `times` from `from` on, evenly spread.
fn sample(times: impl Iterator<Item = Time>, from: Time, calls: usize) -> Vec<Time> {
    let times: Vec<Time> = times.filter(|t| *t >= from).collect::<BTreeSet<_>>().into_iter().collect();
    let step = (times.len() / calls.max(1)).max(1);
    times.into_iter().step_by(step).take(calls).collect()
}

/// The mean of the timed parts, µs.
fn mean_us(durations: &[Duration]) -> f64 {
    durations.iter().map(Duration::as_secs_f64).sum::<f64>() * 1e6 / durations.len().max(1) as f64
}

/// The comparison of an incremental run with the timed from-scratch recomputations.
fn ratio<O>(dataflow: &'static str, run: &Incremental<O>, durations: &[Duration], scratch: &'static str) -> Ratio {
    Ratio {
        dataflow,
        times: run.times,
        updates: run.updates,
        incremental_us: run.seconds * 1e6 / run.times.max(1) as f64,
        calls: durations.len(),
        scratch_us: mean_us(durations),
        scratch,
    }
}

/// Times one call.
fn timed<T>(f: impl FnOnce() -> T) -> Duration {
    let started = Instant::now();
    std::hint::black_box(f());
    started.elapsed()
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum ReconcileIn {
    Observation(ObservationKey, FundingObservation),
    Params(ReconcileParams),
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum ReconcileOut {
    Snapshot(Snapshot),
    Discrepancy(Discrepancy),
}

fn reconcile_ratio(
    config: &Config,
    decoded: &Decoded,
    start: Time,
    from: Time,
    calls: usize,
) -> (Ratio, Vec<(Snapshot, Time, isize)>) {
    let params = ReconcileParams::from_config(config);
    let latest = upserts(
        decoded.funding.iter().map(|(t, _, u)| (*t, (u.source, u.venue, u.asset.clone()), u.observation.clone())),
        |k, o| (k.clone(), o.clone()),
    );
    let mut history = vec![(ReconcileIn::Params(params.clone()), start, 1)];
    history.extend(latest.iter().map(|((k, o), t, d)| (ReconcileIn::Observation(k.clone(), o.clone()), *t, *d)));
    let run = incremental(history, from, |c| {
        let latest = c.clone().flat_map(|i| match i {
            ReconcileIn::Observation(k, o) => Some((k, o)),
            ReconcileIn::Params(_) => None,
        });
        let params = c.clone().flat_map(|i| match i {
            ReconcileIn::Params(p) => Some(p),
            ReconcileIn::Observation(..) => None,
        });
        let overrides = c.flat_map(|_| None::<((Venue, Asset), Dec)>);
        let out = reconcile(latest, params, overrides);
        out.snapshots.map(ReconcileOut::Snapshot).concat(out.discrepancies.map(ReconcileOut::Discrepancy))
    });
    let mut state = Running::new();
    let durations: Vec<Duration> = sample(latest.iter().map(|u| u.1), from, calls)
        .into_iter()
        .map(|t| {
            let now = state.at(&latest, t);
            timed(|| reconcile_oracle::reconcile_at(t, &now, &params, &[]))
        })
        .collect();
    let compared = ratio(
        "reconcile",
        &run,
        &durations,
        "snapshots and discrepancies from the latest observations of every (venue, asset)",
    );
    let snapshots = run
        .outputs
        .into_iter()
        .filter_map(|(o, t, d)| match o {
            ReconcileOut::Snapshot(s) => Some((s, t, d)),
            ReconcileOut::Discrepancy(_) => None,
        })
        .collect();
    (compared, snapshots)
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum OpportunitiesIn {
    Snapshot(Snapshot),
    Book((Venue, Asset), BookTop),
    Params(OpportunityParams),
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum OpportunitiesOut {
    Opportunity(Opportunity),
    Ranked(Ranked),
}

type BookUpdate = (((Venue, Asset), BookTop), Time, isize);

fn opportunities_ratio(
    config: &Config,
    snapshots: &[(Snapshot, Time, isize)],
    books: &[BookUpdate],
    start: Time,
    from: Time,
    calls: usize,
) -> (Ratio, Vec<(Opportunity, Time, isize)>) {
    let params = OpportunityParams::from_config(config);
    let mut history = vec![(OpportunitiesIn::Params(params.clone()), start, 1)];
    history.extend(snapshots.iter().map(|(s, t, d)| (OpportunitiesIn::Snapshot(s.clone()), *t, *d)));
    history.extend(books.iter().map(|((k, b), t, d)| (OpportunitiesIn::Book(k.clone(), b.clone()), *t, *d)));
    history.sort_by_key(|u| u.1);
    let times = history.iter().map(|u| u.1).collect::<Vec<_>>();
    let run = incremental(history, from, |c| {
        let snapshots = c.clone().flat_map(|i| match i {
            OpportunitiesIn::Snapshot(s) => Some(s),
            _ => None,
        });
        let books = c.clone().flat_map(|i| match i {
            OpportunitiesIn::Book(k, b) => Some((k, b)),
            _ => None,
        });
        let params = c.flat_map(|i| match i {
            OpportunitiesIn::Params(p) => Some(p),
            _ => None,
        });
        let out = opportunities(snapshots, books, params);
        out.opportunities.map(OpportunitiesOut::Opportunity).concat(out.ranked.map(OpportunitiesOut::Ranked))
    });
    let (mut snapshots_now, mut books_now) = (Running::new(), Running::new());
    let durations: Vec<Duration> = sample(times.into_iter(), from, calls)
        .into_iter()
        .map(|t| {
            let (s, b) = (snapshots_now.at(snapshots, t), books_now.at(books, t));
            timed(|| opportunities_oracle::opportunities_at(&s, &b, &params))
        })
        .collect();
    let compared =
        ratio("opportunities", &run, &durations, "every pair of snapshots per asset scored, filtered and ranked");
    let found = run
        .outputs
        .into_iter()
        .filter_map(|(o, t, d)| match o {
            OpportunitiesOut::Opportunity(o) => Some((o, t, d)),
            OpportunitiesOut::Ranked(_) => None,
        })
        .collect();
    (compared, found)
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum VarIn {
    Price(Asset, PriceTick),
    Fill(Fill),
    Params(VarParams),
    Shock(Shock),
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum VarOut {
    Position(Position),
    Var(VarFigures),
    Stress(StressPnl),
}

fn var_ratio(
    config: &Config,
    ticks: &[(Time, Asset, PriceTick)],
    prices: &[((Asset, PriceTick), Time, isize)],
    fills: &[(Fill, Time, isize)],
    start: Time,
    from: Time,
    calls: usize,
) -> (Ratio, Vec<(VarFigures, Time, isize)>) {
    let (params, shocks, kept) =
        (VarParams::from_config(config), Shock::all_of(config), PriceHistory::from_config(config));
    let mut history = vec![(VarIn::Params(params), start, 1)];
    history.extend(shocks.iter().map(|s| (VarIn::Shock(s.clone()), start, 1)));
    history.extend(prices.iter().map(|((a, tick), t, d)| (VarIn::Price(a.clone(), tick.clone()), *t, *d)));
    history.extend(fills.iter().map(|(f, t, d)| (VarIn::Fill(f.clone()), *t, *d)));
    history.sort_by_key(|u| u.1);
    let times = history.iter().map(|u| u.1).collect::<Vec<_>>();
    let run = incremental(history, from, move |c| {
        let prices = c.clone().flat_map(|i| match i {
            VarIn::Price(a, tick) => Some((a, tick)),
            _ => None,
        });
        let fills = c.clone().flat_map(|i| match i {
            VarIn::Fill(f) => Some(f),
            _ => None,
        });
        let params = c.clone().flat_map(|i| match i {
            VarIn::Params(p) => Some(p),
            _ => None,
        });
        let shocks = c.flat_map(|i| match i {
            VarIn::Shock(s) => Some(s),
            _ => None,
        });
        let out = risk(prices, fills, params, shocks, kept);
        out.positions.map(VarOut::Position).concat(out.var.map(VarOut::Var)).concat(out.stress.map(VarOut::Stress))
    });
    // From scratch needs only the prices of the retention (every window fits in it).
    let all_ticks: Vec<(Asset, PriceTick)> = ticks.iter().map(|(_, a, tick)| (a.clone(), tick.clone())).collect();
    let mut fills_now = Running::new();
    let durations: Vec<Duration> = sample(times.into_iter(), from, calls)
        .into_iter()
        .map(|t| {
            let first = ticks.partition_point(|(time, _, _)| *time + kept.retention_us < t);
            let last = ticks.partition_point(|(time, _, _)| *time <= t);
            let f = fills_now.at(fills, t);
            timed(|| var_oracle::risk_at(&all_ticks[first..last], &f, &params, &shocks, t))
        })
        .collect();
    let compared = ratio(
        "positions_var",
        &run,
        &durations,
        "positions, VaR and stress from the fills and the retained price history",
    );
    let var = run
        .outputs
        .into_iter()
        .filter_map(|(o, t, d)| match o {
            VarOut::Var(v) => Some((v, t, d)),
            _ => None,
        })
        .collect();
    (compared, var)
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum SurveillanceIn {
    Order(OrderFact),
    Trade(TradeFact),
    Params(SurveillanceParams),
    Groups(AccountGroups),
}

fn surveillance_ratio(
    config: &Config,
    decoded: &Decoded,
    start: Time,
    from: Time,
    calls: usize,
) -> (Ratio, Vec<(Alert, Time, isize)>) {
    let (params, groups, kept) = (
        SurveillanceParams::from_config(config),
        AccountGroups::from_config(config),
        SurveillanceHistory::from_config(config),
    );
    let orders: Vec<OrderFact> = decoded
        .orders
        .iter()
        .map(|(time, seq, event)| OrderFact { time: *time, seq: *seq, event: event.clone() })
        .collect();
    let trades: Vec<TradeFact> = decoded
        .trades
        .iter()
        .map(|(time, seq, trade)| TradeFact { time: *time, seq: *seq, trade: trade.clone() })
        .collect();
    let mut history =
        vec![(SurveillanceIn::Params(params.clone()), start, 1), (SurveillanceIn::Groups(groups.clone()), start, 1)];
    history.extend(orders.iter().map(|o| (SurveillanceIn::Order(o.clone()), o.time, 1)));
    history.extend(trades.iter().map(|t| (SurveillanceIn::Trade(t.clone()), t.time, 1)));
    history.sort_by_key(|u| u.1);
    let times = history.iter().map(|u| u.1).collect::<Vec<_>>();
    let run = incremental(history, from, move |c| {
        let orders = c.clone().flat_map(|i| match i {
            SurveillanceIn::Order(o) => Some(o),
            _ => None,
        });
        let trades = c.clone().flat_map(|i| match i {
            SurveillanceIn::Trade(t) => Some(t),
            _ => None,
        });
        let params = c.clone().flat_map(|i| match i {
            SurveillanceIn::Params(p) => Some(p),
            _ => None,
        });
        let groups = c.flat_map(|i| match i {
            SurveillanceIn::Groups(g) => Some(g),
            _ => None,
        });
        surveillance(orders, trades, params, groups, kept)
    });
    // From scratch needs only the orders and trades the windows keep.
    let order_span = kept.order_us.max(kept.baseline_us);
    let durations: Vec<Duration> = sample(times.into_iter(), from, calls)
        .into_iter()
        .map(|t| {
            let o =
                &orders[orders.partition_point(|o| o.time + order_span < t)..orders.partition_point(|o| o.time <= t)];
            let tr = &trades
                [trades.partition_point(|x| x.time + kept.trade_us < t)..trades.partition_point(|x| x.time <= t)];
            timed(|| {
                let base: Vec<Alert> = base_alerts(o, tr, &params, &groups).into_iter().map(|(a, _)| a).collect();
                escalations(&base, &params)
            })
        })
        .collect();
    let compared = ratio(
        "surveillance",
        &run,
        &durations,
        "every pattern over the orders and trades the windows keep, then the escalations",
    );
    (compared, run.outputs)
}

/// The gate's inputs: the other dataflows' outputs and the latest books, prices and fills.
struct GateHistory {
    opportunities: Vec<(Opportunity, Time, isize)>,
    books: Vec<BookUpdate>,
    prices: Vec<((Asset, PriceTick), Time, isize)>,
    fills: Vec<(Fill, Time, isize)>,
    var: Vec<(VarFigures, Time, isize)>,
    alerts: Vec<(Alert, Time, isize)>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum GateIn {
    Opportunity(Opportunity),
    Book((Venue, Asset), BookTop),
    Price(Asset, PriceTick),
    Fill(Fill),
    Var(VarFigures),
    Alert(Alert),
    Params(GateParams),
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum GateOut {
    Decision(Decision),
    Order(OrderIntent),
}

impl GateIn {
    /// The same input as the oracle takes it.
    fn oracle(&self) -> GateInput {
        match self.clone() {
            GateIn::Opportunity(o) => GateInput::Opportunity(o),
            GateIn::Book(_, b) => GateInput::Book(b),
            GateIn::Price(a, tick) => GateInput::Price(a, tick.price),
            GateIn::Fill(f) => GateInput::Fill(f),
            GateIn::Var(v) => GateInput::Var(v),
            GateIn::Alert(a) => GateInput::Alert(a),
            GateIn::Params(p) => GateInput::Params(p),
        }
    }
}

fn gate_ratio(config: &Config, inputs: GateHistory, start: Time, from: Time, calls: usize) -> Ratio {
    let params = GateParams::from_config(config);
    let mut history = vec![(GateIn::Params(params), start, 1)];
    history.extend(inputs.opportunities.into_iter().map(|(o, t, d)| (GateIn::Opportunity(o), t, d)));
    history.extend(inputs.books.into_iter().map(|((k, b), t, d)| (GateIn::Book(k, b), t, d)));
    history.extend(inputs.prices.into_iter().map(|((a, tick), t, d)| (GateIn::Price(a, tick), t, d)));
    history.extend(inputs.fills.into_iter().map(|(f, t, d)| (GateIn::Fill(f), t, d)));
    history.extend(inputs.var.into_iter().map(|(v, t, d)| (GateIn::Var(v), t, d)));
    history.extend(inputs.alerts.into_iter().map(|(a, t, d)| (GateIn::Alert(a), t, d)));
    history.sort_by_key(|u| u.1);

    // From scratch: the oracle's sequential simulation over the measured stretch, which at every
    // evaluation rebuilds the input collection from its history and takes one step. Its history
    // is the collection as it stands at the stretch's start, then the stretch's updates; it is cut
    // to the first `calls` times of the stretch, since each step re-reads the whole history.
    let mut before = Running::new();
    let standing = before.at(&history, from.saturating_sub(1));
    let stretch: Vec<&(GateIn, Time, isize)> = history.iter().filter(|u| u.1 >= from).collect();
    let cut = stretch.iter().map(|u| u.1).collect::<BTreeSet<_>>().into_iter().nth(calls).unwrap_or(Time::MAX);
    let mut oracle_history: Vec<(GateInput, Time, isize)> =
        standing.iter().map(|i| (i.oracle(), from.saturating_sub(1), *before.state.get(i).unwrap_or(&1))).collect();
    oracle_history.extend(stretch.iter().filter(|u| u.1 < cut).map(|(i, t, d)| (i.oracle(), *t, *d)));
    let until = oracle_history.last().map(|u| u.1).unwrap_or(from);
    let started = Instant::now();
    let replayed = std::hint::black_box(replay(&oracle_history, until));
    let scratch_seconds = started.elapsed().as_secs_f64();
    let steps = replayed.decisions.range(from..).count().max(1);

    let run = incremental(history, from, |c| {
        let gate = risk_gate(GateInputs {
            opportunities: c.clone().flat_map(|i| if let GateIn::Opportunity(o) = i { Some(o) } else { None }),
            books: c.clone().flat_map(|i| if let GateIn::Book(k, b) = i { Some((k, b)) } else { None }),
            prices: c.clone().flat_map(|i| if let GateIn::Price(a, tick) = i { Some((a, tick)) } else { None }),
            fills: c.clone().flat_map(|i| if let GateIn::Fill(f) = i { Some(f) } else { None }),
            var: c.clone().flat_map(|i| if let GateIn::Var(v) = i { Some(v) } else { None }),
            alerts: c.clone().flat_map(|i| if let GateIn::Alert(a) = i { Some(a) } else { None }),
            halts: c.clone().flat_map(|_| None::<HaltState>),
            params: c.flat_map(|i| if let GateIn::Params(p) = i { Some(p) } else { None }),
            lead_us: deadline_lead(GateParams::from_config(&Config::default()).leg_timeout_us),
        });
        gate.decisions.map(GateOut::Decision).concat(gate.orders.map(GateOut::Order))
    });
    Ratio {
        dataflow: "risk_gate",
        times: run.times,
        updates: run.updates,
        incremental_us: run.seconds * 1e6 / run.times.max(1) as f64,
        calls: steps,
        scratch_us: scratch_seconds * 1e6 / steps as f64,
        scratch: "one step of the oracle's simulation: the input collection rebuilt from its history, every open arbitrage and candidate decided",
    }
}
