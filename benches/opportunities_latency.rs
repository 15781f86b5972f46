//! Opportunity latency: from one funding update (a changed snapshot) to the changed opportunities
//! and ranking, on 500 assets x 4 venues with books, incremental versus recomputing DESIGN 5.2 from
//! scratch on every update.
//!
//! Run: `cargo bench --bench opportunities_latency` (optionally `-- --updates N`).
//! Writes `target/bench-report/opportunities_latency.json` and prints it.

use std::path::PathBuf;
use std::time::Instant;

use differential_dataflow::input::{Input, InputSession};
use hdrhistogram::Histogram;
use nexus_dataflows::opportunities::{OpportunityParams, opportunities, oracle};
use nexus_model::config::Config;
use nexus_model::funding::FundingSource;
use nexus_model::market::BookTop;
use nexus_model::records::{Snapshot, SnapshotStatus};
use nexus_model::{Asset, Dec, Price, Quantity, Venue};
use timely::dataflow::ProbeHandle;

const ASSETS: usize = 500;

fn snapshot(asset: usize, venue: usize, millionths: i64) -> Snapshot {
    let rph = Dec::new(rust_decimal::Decimal::new(millionths, 6) / rust_decimal::Decimal::from(8));
    Snapshot {
        venue: Venue::ALL[venue],
        symbol: Asset::from_venue_symbol(&format!("A{asset:03}")).unwrap_or_else(|_| unreachable!()),
        rate: Dec::new(rust_decimal::Decimal::new(millionths, 6)),
        interval_h: Dec::from(8i64),
        rate_per_hour: rph,
        apr: rph,
        next_funding_ms: Some(1_763_625_600_000),
        mark_price: None,
        source: FundingSource::Exchange,
        status: SnapshotStatus::Ok,
        confidence: Dec::ONE,
        exchange_rate: None,
        scanner_rate: None,
    }
}

fn book(asset: usize, venue: usize) -> ((Venue, Asset), BookTop) {
    let a = Asset::from_venue_symbol(&format!("A{asset:03}")).unwrap_or_else(|_| unreachable!());
    let price =
        |cents: i64| Price::new(Dec::new(rust_decimal::Decimal::new(cents, 2))).unwrap_or_else(|_| unreachable!());
    let qty = Quantity::new(Dec::from(500i64 + venue as i64)).unwrap_or_else(|_| unreachable!());
    let top = BookTop {
        venue: Venue::ALL[venue],
        asset: a.clone(),
        bid: price(9999),
        bid_qty: qty,
        ask: price(10001),
        ask_qty: qty,
        ts_ms: None,
    };
    ((Venue::ALL[venue], a), top)
}

/// Deterministic rate for (asset, venue) at update `step`.
fn rate(asset: usize, venue: usize, step: u64) -> i64 {
    let x = (asset as u64 * 7919 + venue as u64 * 104_729 + step * 2_654_435_761) % 1000;
    x as i64 - 300
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let updates: u64 = arg("--updates").map(|u| u.parse()).transpose()?.unwrap_or(20_000);
    let scratch_updates: u64 = (updates / 100).max(20);
    let params = OpportunityParams::from_config(&Config::default());
    let books: Vec<((Venue, Asset), BookTop)> = (0..ASSETS).flat_map(|a| (0..4).map(move |v| book(a, v))).collect();
    let mut current: Vec<Snapshot> =
        (0..ASSETS).flat_map(|a| (0..4).map(move |v| snapshot(a, v, rate(a, v, 0)))).collect();

    // Incremental: one worker, one update per logical time, latency until the probe passes it.
    let params_in = params.clone();
    let books_in = books.clone();
    let initial = current.clone();
    let (latency, seconds, opportunities_at_end) = timely::execute_directly(move |worker| {
        let probe = ProbeHandle::new();
        let (mut snapshots, mut book_input, mut param_input, count) = worker.dataflow::<u64, _, _>(|scope| {
            let (s_in, s) = scope.new_collection::<Snapshot, isize>();
            let (b_in, b) = scope.new_collection::<((Venue, Asset), BookTop), isize>();
            let (p_in, p) = scope.new_collection::<OpportunityParams, isize>();
            let out = opportunities(s, b, p);
            let count = std::rc::Rc::new(std::cell::Cell::new(0i64));
            let seen = std::rc::Rc::clone(&count);
            out.opportunities.inspect(move |(_, _, diff)| seen.set(seen.get() + *diff as i64)).probe_with(&probe);
            out.ranked.probe_with(&probe);
            (s_in, b_in, p_in, count)
        });
        param_input.insert(params_in);
        for b in books_in {
            book_input.insert(b);
        }
        let mut state = initial;
        for s in &state {
            snapshots.insert(s.clone());
        }
        // Moves every input to `time` and steps until the outputs before it are complete.
        let mut settle =
            |time: u64, snapshots: &mut InputSession<u64, Snapshot, isize>, worker: &mut timely::worker::Worker| {
                snapshots.advance_to(time);
                snapshots.flush();
                book_input.advance_to(time);
                book_input.flush();
                param_input.advance_to(time);
                param_input.flush();
                while probe.less_than(&time) {
                    worker.step();
                }
            };
        let mut time = 1u64;
        settle(time, &mut snapshots, worker);
        let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap_or_else(|_| unreachable!());
        let started = Instant::now();
        for step in 1..=updates {
            let index = (step as usize * 7) % state.len();
            let (asset, venue) = (index / 4, index % 4);
            let next = snapshot(asset, venue, rate(asset, venue, step));
            let sent = Instant::now();
            snapshots.remove(std::mem::replace(&mut state[index], next.clone()));
            snapshots.insert(next);
            time += 1;
            settle(time, &mut snapshots, worker);
            let _ = histogram.record(sent.elapsed().as_micros().max(1) as u64);
        }
        (histogram, started.elapsed().as_secs_f64(), count.get())
    });

    // From scratch: the whole DESIGN 5.2 computation after every update.
    let started = Instant::now();
    let mut scratch_opportunities = 0;
    for step in 1..=scratch_updates {
        let index = (step as usize * 7) % current.len();
        let (asset, venue) = (index / 4, index % 4);
        current[index] = snapshot(asset, venue, rate(asset, venue, step));
        let (found, _ranked) = oracle::opportunities_at(&current, &books, &params);
        scratch_opportunities = found.len();
    }
    let scratch_seconds = started.elapsed().as_secs_f64();

    let incremental_rate = updates as f64 / seconds;
    let scratch_rate = scratch_updates as f64 / scratch_seconds;
    let us = |q: f64| latency.value_at_quantile(q) as f64;
    let report = format!(
        "{{\"bench\":\"opportunities_latency\",\"assets\":{ASSETS},\"venues\":4,\"updates\":{updates},\"open_opportunities_at_end\":{opportunities_at_end},\"incremental\":{{\"updates_per_second\":{incremental_rate:.0},\"latency_us\":{{\"p50\":{},\"p99\":{},\"p999\":{},\"max\":{}}}}},\"from_scratch\":{{\"updates\":{scratch_updates},\"updates_per_second\":{scratch_rate:.1},\"opportunities_after_its_updates\":{scratch_opportunities}}},\"ratio\":{:.1}}}",
        us(0.5),
        us(0.99),
        us(0.999),
        latency.max(),
        incremental_rate / scratch_rate
    );
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-report");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("opportunities_latency.json"), &report)?;
    println!("{report}");
    Ok(())
}
