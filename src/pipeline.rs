//! The dataflow graph of one worker: inputs, the dataflows of `nexus-dataflows`, and the outputs
//! sent to sinks. `build` wires it; [`PipelineInputs`] is how the worker loop feeds it.

use std::sync::Arc;
use std::sync::mpsc::SyncSender;

use differential_dataflow::VecCollection;
use differential_dataflow::input::{Input, InputSession};
use nexus_dataflows::opportunities::{OpportunityParams, opportunities};
use nexus_dataflows::reconcile::{ReconcileParams, reconcile};
use nexus_model::config::Config;
use nexus_model::funding::{FundingObservation, FundingUpdate, ObservationKey};
use nexus_model::market::BookTop;
use nexus_model::records::{OutputStream, Parameter, Rejected};
use nexus_model::{Asset, Dec, Venue};
use nexus_operators::latest_by_key;
use nexus_operators::latest_by_key::Upsert;
use nexus_sinks::SinkEvent;
use serde::Serialize;
use timely::dataflow::operators::probe::Handle as ProbeHandle;
use timely::dataflow::{InputHandleVec, Scope};

/// Logical time.
pub type Time = nexus_model::LogicalTime;

/// A book with the sequence of the message that carried it.
type SequencedBook = (u64, BookTop);

/// The input handles of one worker's dataflow.
pub struct PipelineInputs {
    /// Funding observations as upserts keyed by (source, venue, asset).
    funding: InputHandleVec<Time, Upsert<ObservationKey, FundingObservation>>,
    /// Tops of book as upserts keyed by (venue, asset); the sequence makes "latest" deterministic.
    books: InputHandleVec<Time, Upsert<(Venue, Asset), SequencedBook>>,
    /// The opportunity parameters (one record in the collection).
    opportunity_params: InputSession<Time, OpportunityParams, isize>,
    /// The reconciliation parameters (one record in the collection).
    reconcile_params: InputSession<Time, ReconcileParams, isize>,
    /// Configured funding intervals.
    interval_overrides: InputSession<Time, ((Venue, Asset), Dec), isize>,
    /// Rejected inputs, passed through to the `rejected` stream.
    rejected: InputSession<Time, Rejected, isize>,
    /// The effective configuration, key by key, for the `parameters` table.
    parameters: InputSession<Time, Parameter, isize>,
}

/// Builds the dataflow in `scope`; every output is sent to `sink` and observed by `probe`.
pub fn build<'s>(scope: Scope<'s, Time>, sink: &SyncSender<SinkEvent>, probe: &ProbeHandle<Time>) -> PipelineInputs {
    let mut funding = InputHandleVec::new();
    let latest = latest_by_key(funding.to_stream(scope));
    let mut books = InputHandleVec::new();
    let latest_books = latest_by_key(books.to_stream(scope)).map(|(key, (_seq, book))| (key, book));
    let (reconcile_params, params) = scope.new_collection();
    let (opportunity_params, scoring) = scope.new_collection();
    let (interval_overrides, overrides) = scope.new_collection();
    let (rejected, rejected_records) = scope.new_collection();
    let (parameters, parameter_records) = scope.new_collection();

    let reconciled = reconcile(latest, params, overrides);
    let scored = opportunities(reconciled.snapshots.clone(), latest_books, scoring);
    emit(reconciled.snapshots, OutputStream::Snapshots, sink, probe);
    emit(scored.opportunities, OutputStream::Opportunities, sink, probe);
    emit(scored.ranked, OutputStream::Ranked, sink, probe);
    emit(reconciled.discrepancies, OutputStream::Discrepancies, sink, probe);
    emit(rejected_records, OutputStream::Rejected, sink, probe);
    emit(parameter_records, OutputStream::Parameters, sink, probe);

    PipelineInputs { funding, books, opportunity_params, reconcile_params, interval_overrides, rejected, parameters }
}

/// Sends every update of `collection` to the sink as JSON, and makes the probe wait for it.
fn emit<'s, D: Serialize + Clone + 'static>(
    collection: VecCollection<'s, Time, D>,
    stream: OutputStream,
    sink: &SyncSender<SinkEvent>,
    probe: &ProbeHandle<Time>,
) {
    let sink = sink.clone();
    collection
        .inspect_batch(move |_time, updates| {
            let updates = updates
                .iter()
                .filter_map(|(record, time, diff)| serde_json::to_string(record).ok().map(|json| (json, *time, *diff)))
                .collect();
            // A closed sink has already failed and reports its own error; nothing to do here.
            let _ = sink.send(SinkEvent::Updates { stream, updates });
        })
        .probe_with(probe);
}

impl PipelineInputs {
    /// Installs the parameters of `config` at the current time (done by one worker at start).
    pub fn install_config(&mut self, config: &Config) {
        self.reconcile_params.insert(ReconcileParams::from_config(config));
        self.opportunity_params.insert(OpportunityParams::from_config(config));
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
    pub fn funding(&mut self, update: FundingUpdate, time: Time) {
        self.funding.send(((update.source, update.venue, update.asset), Some(update.observation), time));
    }

    /// A top of book, upserted at `time`; `seq` orders books of one key at one time.
    pub fn book(&mut self, book: BookTop, seq: u64, time: Time) {
        self.books.send(((book.venue, book.asset.clone()), Some((seq, book)), time));
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
            self.opportunity_params.advance_to(time);
            self.reconcile_params.advance_to(time);
            self.interval_overrides.advance_to(time);
            self.rejected.advance_to(time);
            self.parameters.advance_to(time);
        }
        self.flush();
    }

    fn flush(&mut self) {
        self.funding.flush();
        self.books.flush();
        self.opportunity_params.flush();
        self.reconcile_params.flush();
        self.interval_overrides.flush();
        self.rejected.flush();
        self.parameters.flush();
    }
}
