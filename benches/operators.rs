//! Operator micro-benchmarks (criterion): what one update costs in each shared operator, with the
//! state it holds in steady use, on one worker. An iteration is one round: an update at a new
//! logical time, stepped until the probe passes it.
//!
//! Run: `cargo bench --bench operators` (criterion options after `--`, e.g. `-- top_k`).

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use differential_dataflow::VecCollection;
use differential_dataflow::input::{Input, InputSession};
use nexus_dataflows::risk_gate::{Candidate, GateFact, GateOut, GateParams, OpenArb, decide};
use nexus_model::config::Config;
use nexus_model::records::ArbId;
use nexus_model::{Asset, Dec, Venue};
use nexus_operators::{latest_by_key, retract_at, sum_by_key, top_k, with_params};
use timely::communication::Allocator;
use timely::communication::allocator::thread::Thread;
use timely::dataflow::InputHandleVec;
use timely::dataflow::operators::probe::Handle as ProbeHandle;
use timely::worker::Worker;

type Time = u64;

fn worker() -> Worker {
    Worker::new(timely::WorkerConfig::default(), Allocator::Thread(Thread::default()), Some(Instant::now()))
}

/// A one-worker dataflow fed through a collection input.
struct Rounds<D: differential_dataflow::ExchangeData> {
    worker: Worker,
    input: InputSession<Time, D, isize>,
    probe: ProbeHandle<Time>,
}

impl<D: differential_dataflow::ExchangeData> Rounds<D> {
    fn new<O: differential_dataflow::Data>(
        build: impl for<'s> FnOnce(VecCollection<'s, Time, D>) -> VecCollection<'s, Time, O>,
    ) -> Rounds<D> {
        let mut worker = worker();
        let probe = ProbeHandle::new();
        let input = worker.dataflow::<Time, _, _>(|scope| {
            let (input, collection) = scope.new_collection();
            build(collection).probe_with(&probe);
            input
        });
        Rounds { worker, input, probe }
    }

    /// Applies `updates` at the next time and steps until they are through.
    fn round(&mut self, updates: impl IntoIterator<Item = (D, isize)>) {
        let time = *self.input.time();
        for (record, diff) in updates {
            self.input.update_at(record, time, diff);
        }
        self.input.advance_to(time + 1);
        self.input.flush();
        while self.probe.less_than(self.input.time()) {
            self.worker.step();
        }
    }
}

fn dec(units: i64) -> Dec {
    Dec::new(rust_decimal::Decimal::new(units, 4))
}

fn latest(c: &mut Criterion) {
    const KEYS: u64 = 10_000;
    let mut worker = worker();
    let probe = ProbeHandle::new();
    let mut input = worker.dataflow::<Time, _, _>(|scope| {
        let mut input = InputHandleVec::new();
        latest_by_key::<u64, u64>(input.to_stream(scope)).probe_with(&probe);
        input
    });
    let mut time = 0;
    let step = |worker: &mut Worker, input: &mut InputHandleVec<Time, _>, key: u64, time: &mut u64| {
        input.send((key, Some(*time), *time));
        *time += 1;
        input.advance_to(*time);
        while probe.less_than(input.time()) {
            worker.step();
        }
    };
    for key in 0..KEYS {
        step(&mut worker, &mut input, key, &mut time);
    }
    let mut key = 0;
    c.bench_function("latest_by_key: one upsert among 10,000 keys", |b| {
        b.iter(|| {
            key = (key + 7919) % KEYS;
            step(&mut worker, &mut input, key, &mut time);
        })
    });
}

fn expiry(c: &mut Criterion) {
    // Each record lives 1,000 rounds: about 1,000 wait in the schedule.
    let mut rounds = Rounds::<(u64, Time)>::new(|records| retract_at(records, |(_, expires)| *expires));
    let mut n = 0u64;
    c.bench_function("retract_at: one insertion, 1,000 pending retractions", |b| {
        b.iter(|| {
            n += 1;
            rounds.round([((n, n + 1_000), 1)]);
        })
    });
}

fn sums(c: &mut Criterion) {
    let mut rounds = Rounds::<(u64, Dec)>::new(sum_by_key);
    // Value i belongs to key i % 1,000; `values` holds each one's current amount.
    let mut values: Vec<i64> = (0..10_000).collect();
    rounds.round(values.iter().enumerate().map(|(i, v)| ((i as u64 % 1_000, dec(*v)), 1)));
    let mut n = 0u64;
    c.bench_function("sum_by_key: replace one of 10 values of one of 1,000 keys", |b| {
        b.iter(|| {
            n += 1;
            let i = ((n * 7919) % 10_000) as usize;
            let (old, new) = (values[i], values[i] + 1);
            values[i] = new;
            rounds.round([((i as u64 % 1_000, dec(old)), -1), ((i as u64 % 1_000, dec(new)), 1)]);
        })
    });
}

fn ranking(c: &mut Criterion) {
    // (score, id) pairs; the least 20 are ranked. Limit fixed through the data: a record `u64::MAX`
    // stands for the limit collection's one value.
    let mut rounds = Rounds::<(u64, u64)>::new(|records| {
        let limit = records.clone().filter(|(_, id)| *id == u64::MAX).map(|_| 20usize);
        top_k(records.filter(|(_, id)| *id != u64::MAX), limit, 16, |(_, id): &(u64, u64)| *id)
    });
    rounds.round(std::iter::once(((0, u64::MAX), 1)).chain((0..10_000u64).map(|i| ((i * 7 % 10_007, i), 1))));
    let mut scores: Vec<u64> = (0..10_000u64).map(|i| i * 7 % 10_007).collect();
    let mut n = 0u64;
    c.bench_function("top_k: rescore one of 10,000 records, k = 20, 16 buckets", |b| {
        b.iter(|| {
            n += 1;
            let id = (n * 7919) % 10_000;
            let old = scores[id as usize];
            let new = (old + 5_003) % 10_007;
            scores[id as usize] = new;
            rounds.round([((old, id), -1), ((new, id), 1)]);
        })
    });
}

fn parameters(c: &mut Criterion) {
    // Records (id, value) and one parameter record (u64::MAX, threshold): a record passes when its
    // value is at least the threshold.
    let mut rounds = Rounds::<(u64, u64)>::new(|records| {
        let params = records.clone().filter(|(id, _)| *id == u64::MAX).map(|(_, threshold)| threshold);
        with_params(records.filter(|(id, _)| *id != u64::MAX), params, |(id, value), threshold| {
            (*value >= *threshold).then_some(*id)
        })
    });
    let mut values: Vec<u64> = (0..10_000u64).map(|i| i % 1_000).collect();
    rounds.round(
        std::iter::once(((u64::MAX, 500), 1)).chain(values.iter().enumerate().map(|(i, v)| ((i as u64, *v), 1))),
    );
    let mut n = 0u64;
    c.bench_function("with_params: change one of 10,000 records", |b| {
        b.iter(|| {
            n += 1;
            let id = (n * 7919) % 10_000;
            let old = values[id as usize];
            let new = (old + 1) % 1_000;
            values[id as usize] = new;
            rounds.round([((id, old), -1), ((id, new), 1)]);
        })
    });
}

fn gate(c: &mut Criterion) {
    // One evaluation of the gate: 100 candidates on 25 assets, 10 of them open.
    let params = GateParams::from_config(&Config::default());
    let mut facts = vec![GateFact::Params(params.clone()), GateFact::Now(1_000)];
    let pairs = [
        (Venue::Binance, Venue::Bybit),
        (Venue::Okx, Venue::Hyperliquid),
        (Venue::Bybit, Venue::Okx),
        (Venue::Binance, Venue::Hyperliquid),
    ];
    for a in 0..25 {
        let symbol = Asset::from_venue_symbol(&format!("A{a:02}")).unwrap_or_else(|e| panic!("{e}"));
        for (p, (long, short)) in pairs.iter().enumerate() {
            let arb = ArbId { symbol: symbol.clone(), long_venue: *long, short_venue: *short };
            let uos = Dec::from(50 + ((a * 4 + p) % 50) as i64);
            facts.push(GateFact::Candidate(Candidate {
                arb: arb.clone(),
                uos,
                net_apr: dec(3_000),
                notional: Dec::from(10_000i64),
                qty: Some(dec(3_333)),
            }));
            if a < 10 && p == 0 {
                facts.push(GateFact::State(nexus_dataflows::risk_gate::ArbState::Open(OpenArb {
                    arb,
                    account: params.account.clone(),
                    opened_us: 10,
                    due_us: 5_000_010,
                    notional: Dec::from(10_000i64),
                    qty: dec(3_333),
                })));
            }
        }
    }
    facts.sort();
    let input: Vec<(&GateFact, isize)> = facts.iter().map(|f| (f, 1)).collect();
    let mut output: Vec<(GateOut, isize)> = Vec::new();
    c.bench_function("risk_gate decide: 100 candidates, 10 open", |b| {
        b.iter(|| {
            output.clear();
            decide(black_box(&input), &mut output);
            black_box(output.len())
        })
    });
}

criterion_group!(benches, latest, expiry, sums, ranking, parameters, gate);
criterion_main!(benches);
