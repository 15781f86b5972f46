//! The dataflow graph of one worker: inputs, the dataflows of `nexus-dataflows`, and the outputs
//! sent to sinks. `build` wires it; [`PipelineInputs`] is how the worker loop feeds it.

use std::sync::Arc;
use std::sync::mpsc::SyncSender;

use compact_str::CompactString;
use differential_dataflow::VecCollection;
use differential_dataflow::input::{Input, InputSession};
use nexus_dataflows::opportunities::{OpportunityParams, opportunities};
use nexus_dataflows::reconcile::{ReconcileParams, reconcile};
use nexus_dataflows::risk_gate::{GateInputs, GateParams, HaltState, risk_gate};
use nexus_dataflows::surveillance::{
    AccountGroups, OrderFact, SurveillanceHistory, SurveillanceParams, TradeFact, surveillance,
};
use nexus_dataflows::var::{PriceHistory, PriceTick, Shock, VarParams, risk};
use nexus_model::config::Config;
use nexus_model::control::{Halt, HaltScope};
use nexus_model::funding::{FundingObservation, FundingSource, FundingUpdate, ObservationKey};
use nexus_model::market::{BookTop, Fill, OrderEvent, Trade};
use nexus_model::records::{OutputStream, Parameter, Rejected};
use nexus_model::{Asset, Dec, Venue};
use nexus_operators::latest_by_key;
use nexus_operators::latest_by_key::Upsert;
use nexus_sinks::SinkEvent;
use serde::Serialize;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::Exchange;
use timely::dataflow::operators::Probe;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::probe::Handle as ProbeHandle;
use timely::dataflow::{InputHandleVec, Scope};

/// Logical time.
pub type Time = nexus_model::LogicalTime;

/// A book with the sequence of the message that carried it.
type SequencedBook = (u64, BookTop);

/// A fill with the sequence of the message that carried it; keyed by (venue, fill id), so a
/// re-delivered fill changes nothing and a corrected one replaces the original.
type SequencedFill = (u64, Fill);

/// The input handles of one worker's dataflow.
pub struct PipelineInputs {
    /// Funding observations as upserts keyed by (source, venue, asset).
    funding: InputHandleVec<Time, Upsert<ObservationKey, FundingObservation>>,
    /// Tops of book as upserts keyed by (venue, asset); the sequence makes "latest" deterministic.
    books: InputHandleVec<Time, Upsert<(Venue, Asset), SequencedBook>>,
    /// Reference prices as upserts keyed by asset: exchange mark prices only.
    prices: InputHandleVec<Time, Upsert<Asset, PriceTick>>,
    /// Our fills as upserts keyed by (venue, fill id).
    fills: InputHandleVec<Time, Upsert<(Venue, CompactString), SequencedFill>>,
    /// The VaR parameters (one record in the collection).
    var_params: InputSession<Time, VarParams, isize>,
    /// The stress scenarios' shocks.
    shocks: InputSession<Time, Shock, isize>,
    /// Order events from the venues' order feeds, never retracted.
    orders: InputSession<Time, OrderFact, isize>,
    /// Public trades, never retracted.
    trades: InputSession<Time, TradeFact, isize>,
    /// The surveillance parameters (one record in the collection).
    surveillance_params: InputSession<Time, SurveillanceParams, isize>,
    /// The account groups (one record in the collection).
    account_groups: InputSession<Time, AccountGroups, isize>,
    /// The opportunity parameters (one record in the collection).
    opportunity_params: InputSession<Time, OpportunityParams, isize>,
    /// The reconciliation parameters (one record in the collection).
    reconcile_params: InputSession<Time, ReconcileParams, isize>,
    /// Configured funding intervals.
    interval_overrides: InputSession<Time, ((Venue, Asset), Dec), isize>,
    /// Halts as upserts keyed by (scope, target).
    halts: InputHandleVec<Time, Upsert<(HaltScope, CompactString), HaltState>>,
    /// The risk gate's parameters (one record in the collection).
    gate_params: InputSession<Time, GateParams, isize>,
    /// Rejected inputs, passed through to the `rejected` stream.
    rejected: InputSession<Time, Rejected, isize>,
    /// The effective configuration, key by key, for the `parameters` table.
    parameters: InputSession<Time, Parameter, isize>,
}

/// Where a worker's outputs go.
#[derive(Clone)]
pub struct Outputs {
    /// This process's sink channel.
    pub sink: SyncSender<SinkEvent>,
    /// Send every output to the first worker first (several processes, one of which writes).
    pub gather: bool,
}

/// Builds the dataflow in `scope`; every output is sent to `outputs` and observed by `probe`.
/// `history` sizes the VaR dataflow's price history and `kept` the surveillance windows' inputs
/// (both fixed for the dataflow's life).
pub fn build<'s>(
    scope: Scope<'s, Time>,
    history: PriceHistory,
    kept: SurveillanceHistory,
    gate_lead_us: Time,
    outputs: &Outputs,
    probe: &ProbeHandle<Time>,
) -> PipelineInputs {
    let mut funding = InputHandleVec::new();
    let latest = latest_by_key(funding.to_stream(scope));
    let mut books = InputHandleVec::new();
    let latest_books = latest_by_key(books.to_stream(scope)).map(|(key, (_seq, book))| (key, book));
    let mut prices = InputHandleVec::new();
    let latest_prices = latest_by_key(prices.to_stream(scope));
    let mut fills = InputHandleVec::new();
    let latest_fills = latest_by_key(fills.to_stream(scope)).map(|(_key, (_seq, fill))| fill);
    let (var_params, var_parameters) = scope.new_collection();
    let (shocks, shock_records) = scope.new_collection();
    let (orders, order_facts) = scope.new_collection();
    let (trades, trade_facts) = scope.new_collection();
    let (surveillance_params, surveillance_parameters) = scope.new_collection();
    let (account_groups, groups) = scope.new_collection();
    let (reconcile_params, params) = scope.new_collection();
    let (opportunity_params, scoring) = scope.new_collection();
    let (interval_overrides, overrides) = scope.new_collection();
    let (rejected, rejected_records) = scope.new_collection();
    let mut halts = InputHandleVec::new();
    let latest_halts = latest_by_key(halts.to_stream(scope)).map(|(_key, state)| state);
    let halt_records = latest_halts.clone();
    let (gate_params, gate_parameters) = scope.new_collection();
    let (parameters, parameter_records) = scope.new_collection();

    let reconciled = reconcile(latest, params, overrides);
    let scored = opportunities(reconciled.snapshots.clone(), latest_books.clone(), scoring);
    let risk = risk(latest_prices.clone(), latest_fills.clone(), var_parameters, shock_records, history);
    emit(reconciled.snapshots, OutputStream::Snapshots, outputs, probe);
    emit(scored.opportunities.clone(), OutputStream::Opportunities, outputs, probe);
    emit(scored.ranked, OutputStream::Ranked, outputs, probe);
    emit(reconciled.discrepancies, OutputStream::Discrepancies, outputs, probe);
    let alerts = surveillance(order_facts, trade_facts, surveillance_parameters, groups, kept);
    let gate = risk_gate(GateInputs {
        opportunities: scored.opportunities,
        books: latest_books,
        prices: latest_prices,
        fills: latest_fills,
        var: risk.var.clone(),
        alerts: alerts.clone(),
        halts: latest_halts,
        params: gate_parameters,
        lead_us: gate_lead_us,
    });
    emit(alerts, OutputStream::Alerts, outputs, probe);
    emit(gate.decisions, OutputStream::Decisions, outputs, probe);
    emit(gate.orders, OutputStream::Orders, outputs, probe);
    emit(risk.positions, OutputStream::Positions, outputs, probe);
    emit(risk.var, OutputStream::Var, outputs, probe);
    emit(risk.stress, OutputStream::Stress, outputs, probe);
    emit(rejected_records, OutputStream::Rejected, outputs, probe);
    emit(parameter_records, OutputStream::Parameters, outputs, probe);
    emit(halt_records, OutputStream::Halts, outputs, probe);

    PipelineInputs {
        funding,
        books,
        prices,
        fills,
        var_params,
        shocks,
        orders,
        trades,
        surveillance_params,
        account_groups,
        opportunity_params,
        reconcile_params,
        interval_overrides,
        halts,
        gate_params,
        rejected,
        parameters,
    }
}

/// Sends every update of `collection` to the sink as JSON, and makes the probe wait for it. With
/// `gather`, the JSON updates move to the first worker first, so one process writes every sink.
fn emit<'s, D: Serialize + Clone + 'static>(
    collection: VecCollection<'s, Time, D>,
    stream: OutputStream,
    outputs: &Outputs,
    probe: &ProbeHandle<Time>,
) {
    let sink = outputs.sink.clone();
    let json = collection.flat_map(|record| serde_json::to_string(&record).ok()).inner;
    let json = if outputs.gather { json.exchange(|_| 0) } else { json };
    // Hands each batch of updates over as it is (no copy), and outputs nothing: the probe on its
    // empty output passes a time only once every update before it has been sent.
    json.unary::<CapacityContainerBuilder<Vec<((), Time, isize)>>, _, _, _>(
        Pipeline,
        "Emit",
        move |_default, _info| {
            move |input, _output| {
                input.for_each(|_time, updates| {
                    let updates = std::mem::take(updates);
                    // A closed sink has already failed and reports its own error; nothing to do here.
                    let _ = sink.send(SinkEvent::Updates { stream, updates });
                });
            }
        },
    )
    .probe_with(probe);
}

impl PipelineInputs {
    /// Installs the parameters of `config` at the current time (done by one worker at start).
    pub fn install_config(&mut self, config: &Config) {
        self.reconcile_params.insert(ReconcileParams::from_config(config));
        self.opportunity_params.insert(OpportunityParams::from_config(config));
        self.var_params.insert(VarParams::from_config(config));
        self.surveillance_params.insert(SurveillanceParams::from_config(config));
        self.account_groups.insert(AccountGroups::from_config(config));
        self.gate_params.insert(GateParams::from_config(config));
        for shock in Shock::all_of(config) {
            self.shocks.insert(shock);
        }
        for record in config.interval_overrides() {
            self.interval_overrides.insert(record);
        }
        for parameter in Parameter::all_of(config) {
            self.parameters.insert(parameter);
        }
    }

    /// Replaces the parameters derived from `previous` by those of `next`, at `time`.
    pub fn change_config(&mut self, previous: &Arc<Config>, next: &Arc<Config>, time: Time) {
        let (old, new) = (ReconcileParams::from_config(previous), ReconcileParams::from_config(next));
        if old != new {
            self.reconcile_params.update_at(old, time, -1);
            self.reconcile_params.update_at(new, time, 1);
        }
        let (old, new) = (OpportunityParams::from_config(previous), OpportunityParams::from_config(next));
        if old != new {
            self.opportunity_params.update_at(old, time, -1);
            self.opportunity_params.update_at(new, time, 1);
        }
        let (old, new) = (VarParams::from_config(previous), VarParams::from_config(next));
        if old != new {
            self.var_params.update_at(old, time, -1);
            self.var_params.update_at(new, time, 1);
        }
        let (old, new) = (SurveillanceParams::from_config(previous), SurveillanceParams::from_config(next));
        if old != new {
            self.surveillance_params.update_at(old, time, -1);
            self.surveillance_params.update_at(new, time, 1);
        }
        let (old, new) = (AccountGroups::from_config(previous), AccountGroups::from_config(next));
        if old != new {
            self.account_groups.update_at(old, time, -1);
            self.account_groups.update_at(new, time, 1);
        }
        let (old, new) = (GateParams::from_config(previous), GateParams::from_config(next));
        if old != new {
            self.gate_params.update_at(old, time, -1);
            self.gate_params.update_at(new, time, 1);
        }
        let (old, new) = (Shock::all_of(previous), Shock::all_of(next));
        for shock in old.iter().filter(|s| !new.contains(s)) {
            self.shocks.update_at(shock.clone(), time, -1);
        }
        for shock in new.iter().filter(|s| !old.contains(s)) {
            self.shocks.update_at(shock.clone(), time, 1);
        }
        let (old, new) = (previous.interval_overrides(), next.interval_overrides());
        for record in old.iter().filter(|r| !new.contains(r)) {
            self.interval_overrides.update_at(record.clone(), time, -1);
        }
        for record in new.iter().filter(|r| !old.contains(r)) {
            self.interval_overrides.update_at(record.clone(), time, 1);
        }
        let (old, new) = (Parameter::all_of(previous), Parameter::all_of(next));
        for parameter in old.iter().filter(|p| !new.contains(p)) {
            self.parameters.update_at(parameter.clone(), time, -1);
        }
        for parameter in new.iter().filter(|p| !old.contains(p)) {
            self.parameters.update_at(parameter.clone(), time, 1);
        }
    }

    /// A funding observation, upserted at `time`.
    /// An exchange observation's mark price also becomes the asset's reference price (DESIGN 5.3).
    pub fn funding(&mut self, update: FundingUpdate, time: Time) {
        if update.source == FundingSource::Exchange
            && let Some(mark) = update.observation.mark_price
        {
            let tick = PriceTick { seq: update.observation.seq, time, price: mark.value() };
            self.prices.send((update.asset.clone(), Some(tick), time));
        }
        self.funding.send(((update.source, update.venue, update.asset), Some(update.observation), time));
    }

    /// One of our fills, upserted at `time` by (venue, fill id).
    pub fn fill(&mut self, fill: Fill, seq: u64, time: Time) {
        self.fills.send(((fill.venue, fill.fill_id.clone()), Some((seq, fill)), time));
    }

    /// An order event at `time`; `seq` orders the events of one time.
    pub fn order(&mut self, event: OrderEvent, seq: u64, time: Time) {
        self.orders.update_at(OrderFact { time, seq, event }, time, 1);
    }

    /// A public trade at `time`; `seq` orders the trades of one time.
    pub fn trade(&mut self, trade: Trade, seq: u64, time: Time) {
        self.trades.update_at(TradeFact { time, seq, trade }, time, 1);
    }

    /// A top of book, upserted at `time`; `seq` orders books of one key at one time.
    pub fn book(&mut self, book: BookTop, seq: u64, time: Time) {
        self.books.send(((book.venue, book.asset.clone()), Some((seq, book)), time));
    }

    /// A `control.halt` at `time`: it replaces the previous halt or lift of its scope and target.
    pub fn halt(&mut self, halt: Halt, time: Time) {
        let key = (halt.scope, halt.target.clone());
        let state =
            HaltState { scope: halt.scope, target: halt.target, halted: halt.halted, since: time, reason: halt.reason };
        self.halts.send((key, Some(state), time));
    }

    /// A rejected input at `time`.
    pub fn rejected(&mut self, record: Rejected, time: Time) {
        self.rejected.update_at(record, time, 1);
    }

    /// The time every input is at.
    pub fn time(&self) -> Time {
        *self.rejected.time()
    }

    /// Promises that no later update has a time before `time`, and sends what is buffered.
    pub fn advance_to(&mut self, time: Time) {
        if time > self.time() {
            self.funding.advance_to(time);
            self.books.advance_to(time);
            self.prices.advance_to(time);
            self.fills.advance_to(time);
            self.var_params.advance_to(time);
            self.shocks.advance_to(time);
            self.orders.advance_to(time);
            self.trades.advance_to(time);
            self.surveillance_params.advance_to(time);
            self.account_groups.advance_to(time);
            self.opportunity_params.advance_to(time);
            self.reconcile_params.advance_to(time);
            self.interval_overrides.advance_to(time);
            self.halts.advance_to(time);
            self.gate_params.advance_to(time);
            self.rejected.advance_to(time);
            self.parameters.advance_to(time);
        }
        self.flush();
    }

    fn flush(&mut self) {
        self.funding.flush();
        self.books.flush();
        self.prices.flush();
        self.fills.flush();
        self.var_params.flush();
        self.shocks.flush();
        self.orders.flush();
        self.trades.flush();
        self.surveillance_params.flush();
        self.account_groups.flush();
        self.opportunity_params.flush();
        self.reconcile_params.flush();
        self.interval_overrides.flush();
        self.halts.flush();
        self.gate_params.flush();
        self.rejected.flush();
        self.parameters.flush();
    }
}
