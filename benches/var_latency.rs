//! VaR latency: from one reference-price tick to the updated VaR of a 100-position portfolio with a
//! 240-bar window (DESIGN 5.3 defaults: 60 s bars), incremental versus recomputing from scratch.
//!
//! The warm-up fills the window: 250 bars with `--ticks-per-bar` ticks per asset (default 6, one
//! every 10 s). Then each measured tick moves one asset's price 10 ms after the previous tick, so
//! the measurement crosses bar boundaries as a live feed does (a boundary adds a return per asset).
//! From scratch means: bucket the kept ticks into bar closes, compute returns, scenario P&L per bar
//! and the figures, after every tick.
//!
//! Run: `cargo bench --bench var_latency` (options `--updates N`, `--ticks-per-bar N`).
//! Writes `target/bench-report/var_latency.json` and prints it.

use std::path::PathBuf;
use std::time::Instant;

use compact_str::CompactString;
use differential_dataflow::input::{Input, InputSession};
use hdrhistogram::Histogram;
use nexus_dataflows::var::figures::{pnl_term, var_record};
use nexus_dataflows::var::{PriceHistory, PriceTick, Shock, VarParams, risk};
use nexus_model::config::Config;
use nexus_model::market::{Fill, Side};
use nexus_model::records::VarFigures;
use nexus_model::{Asset, Dec, Price, Quantity, Venue};
use rust_decimal::Decimal;
use timely::dataflow::ProbeHandle;

const ASSETS: usize = 100;
const WARM_BARS: u64 = 250;
const BAR_US: u64 = 60_000_000;
const TICK_GAP_US: u64 = 10_000;

fn asset(index: usize) -> Asset {
    Asset::from_venue_symbol(&format!("A{index:03}")).unwrap_or_else(|_| unreachable!())
}

/// A deterministic price walk in cents: 100.00 +/- a few percent.
fn price(asset: usize, step: u64) -> Dec {
    let x = (asset as u64 * 7919 + step * 2_654_435_761) % 1_000;
    Dec::new(Decimal::new(10_000 + x as i64 - 500, 2))
}

fn position(index: usize) -> Fill {
    let qty = Quantity::new(Dec::from(1 + (index % 7) as i64)).unwrap_or_else(|_| unreachable!());
    Fill {
        venue: Venue::ALL[index % 4],
        fill_id: CompactString::from(format!("f{index}")),
        client_order_id: CompactString::from(format!("c{index}")),
        account: CompactString::from("desk"),
        asset: asset(index),
        side: if index.is_multiple_of(3) { Side::Sell } else { Side::Buy },
        price: Price::new(Dec::from(100i64)).unwrap_or_else(|_| unreachable!()),
        qty,
        fee: Dec::ZERO,
        ts_ms: 0,
    }
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

/// The tick history a from-scratch recomputation reads: per asset, (time, price) in time order.
struct Paths(Vec<Vec<(u64, Dec)>>);

impl Paths {
    /// DESIGN 5.3 for one account from the raw ticks: closes, returns, P&L per bar, figures.
    fn var(&self, fills: &[Fill], params: &VarParams, at: u64) -> Option<VarFigures> {
        let bar = params.bar_us();
        let last = at / bar - 1;
        let first = last + 1 - params.window_bars;
        let mut pnl = vec![Dec::ZERO; params.window_bars as usize];
        let (mut net, mut gross) = (Dec::ZERO, Dec::ZERO);
        for fill in fills {
            let index = fill.asset.as_str()[1..].parse::<usize>().ok()?;
            let path = &self.0[index];
            // Bucket the ticks of the window (and the close before it) into bar closes.
            let mut closes: Vec<Option<Dec>> = vec![None; params.window_bars as usize + 1];
            let mut before = None;
            for (time, p) in path {
                let k = time / bar;
                if k > last {
                    break;
                }
                if k + 1 < first {
                    before = Some(*p);
                } else {
                    closes[(k + 1 - first) as usize] = Some(*p);
                }
            }
            let mut previous = before;
            let qty = match fill.side {
                Side::Buy => fill.qty.value(),
                Side::Sell => Dec::new(-fill.qty.value().inner()),
            };
            let exposure = qty.checked_mul(path.last()?.1)?;
            net = net.checked_add(exposure)?;
            gross = gross.checked_add(exposure.abs())?;
            for (slot, close) in closes.iter().enumerate() {
                let close = close.or(previous);
                if slot > 0
                    && let (Some(now), Some(then)) = (close, previous)
                {
                    let r = now.checked_div(then)?.checked_sub(Dec::ONE)?;
                    pnl[slot - 1] = pnl[slot - 1].checked_add(pnl_term(exposure, r)?)?;
                }
                previous = close;
            }
        }
        pnl.sort();
        let values: Vec<f64> = pnl.iter().map(|l| l.to_f64()).collect();
        var_record(CompactString::from("desk"), net, gross, &pnl, &values)
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let updates: u64 = arg("--updates").map(|u| u.parse()).transpose()?.unwrap_or(20_000);
    let ticks_per_bar: u64 = arg("--ticks-per-bar").map(|u| u.parse()).transpose()?.unwrap_or(6).max(1);
    let scratch_updates: u64 = (updates / 20).max(20);
    let config = Config::default();
    let params = VarParams::from_config(&config);
    let history = PriceHistory::from_config(&config);
    let fills: Vec<Fill> = (0..ASSETS).map(position).collect();

    // The warm-up ticks and the measured ones, shared by both sides.
    let mut ticks: Vec<(u64, usize, Dec)> = Vec::new();
    for b in 0..WARM_BARS {
        for i in 0..ticks_per_bar {
            let time = b * BAR_US + i * (BAR_US / ticks_per_bar);
            for a in 0..ASSETS {
                ticks.push((time + a as u64, a, price(a, b * ticks_per_bar + i)));
            }
        }
    }
    let warm = ticks.len();
    let start = WARM_BARS * BAR_US;
    for step in 0..updates {
        let a = step as usize % ASSETS;
        ticks.push((start + (step + 1) * TICK_GAP_US, a, price(a, 1_000_000 + step)));
    }

    // Incremental: one worker; latency from sending a tick until the probe passes its time.
    let (latency, seconds, var_at_end) = {
        let ticks = ticks.clone();
        let fills = fills.clone();
        timely::execute_directly(move |worker| {
            let probe = ProbeHandle::new();
            let last = std::rc::Rc::new(std::cell::RefCell::new(None::<VarFigures>));
            let seen = std::rc::Rc::clone(&last);
            let (mut prices, mut fill_in, mut param_in, mut shock_in) = worker.dataflow::<u64, _, _>(|scope| {
                let (p_in, p) = scope.new_collection::<(Asset, PriceTick), isize>();
                let (f_in, f) = scope.new_collection::<Fill, isize>();
                let (v_in, v) = scope.new_collection::<VarParams, isize>();
                let (s_in, s) = scope.new_collection::<Shock, isize>();
                let out = risk(p, f, v, s, history);
                out.var
                    .inspect(move |(figures, _, diff)| {
                        if *diff > 0 {
                            *seen.borrow_mut() = Some(figures.clone());
                        }
                    })
                    .probe_with(&probe);
                (p_in, f_in, v_in, s_in)
            });
            param_in.insert(params);
            for fill in fills {
                fill_in.insert(fill);
            }
            let mut latest: Vec<Option<(Asset, PriceTick)>> = vec![None; ASSETS];
            let mut settle = |time: u64,
                              prices: &mut InputSession<u64, (Asset, PriceTick), isize>,
                              worker: &mut timely::worker::Worker| {
                prices.advance_to(time);
                prices.flush();
                fill_in.advance_to(time);
                fill_in.flush();
                param_in.advance_to(time);
                param_in.flush();
                shock_in.advance_to(time);
                shock_in.flush();
                while probe.less_than(&time) {
                    worker.step();
                }
            };
            let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap_or_else(|_| unreachable!());
            let mut started = Instant::now();
            for (seq, (time, a, p)) in ticks.into_iter().enumerate() {
                if seq == warm {
                    started = Instant::now();
                }
                let sent = Instant::now();
                let tick = (asset(a), PriceTick { seq: seq as u64, time, price: p });
                if let Some(old) = latest[a].replace(tick.clone()) {
                    prices.update_at(old, time, -1);
                }
                prices.update_at(tick, time, 1);
                settle(time + 1, &mut prices, worker);
                if seq >= warm {
                    let _ = histogram.record(sent.elapsed().as_micros().max(1) as u64);
                }
            }
            let var = last.borrow().clone();
            (histogram, started.elapsed().as_secs_f64(), var)
        })
    };

    // From scratch: the whole computation from the kept ticks after every tick.
    let mut paths = Paths(vec![Vec::new(); ASSETS]);
    for (time, a, p) in &ticks[..warm] {
        paths.0[*a].push((*time, *p));
    }
    let started = Instant::now();
    for (time, a, p) in &ticks[warm..warm + scratch_updates as usize] {
        paths.0[*a].push((*time, *p));
        std::hint::black_box(paths.var(&fills, &params, time + 1));
    }
    let scratch_seconds = started.elapsed().as_secs_f64();
    // Both sides agree on the figures at the same point.
    let mut check = Paths(vec![Vec::new(); ASSETS]);
    for (time, a, p) in &ticks {
        check.0[*a].push((*time, *p));
    }
    let end = ticks.last().map(|t| t.0 + 1).unwrap_or(0);
    let agree = check.var(&fills, &params, end).map(|v| (v.var_hist_99, v.exposure_net))
        == var_at_end.as_ref().map(|v| (v.var_hist_99, v.exposure_net));

    let incremental_rate = updates as f64 / seconds;
    let scratch_rate = scratch_updates as f64 / scratch_seconds;
    let us = |q: f64| latency.value_at_quantile(q);
    let report = format!(
        "{{\"bench\":\"var_latency\",\"assets\":{ASSETS},\"window_bars\":{},\"bar_ms\":{},\"ticks_per_bar\":{ticks_per_bar},\"kept_ticks\":{warm},\"updates\":{updates},\"incremental\":{{\"updates_per_second\":{incremental_rate:.0},\"latency_us\":{{\"p50\":{},\"p99\":{},\"p999\":{},\"max\":{}}}}},\"from_scratch\":{{\"updates\":{scratch_updates},\"updates_per_second\":{scratch_rate:.1},\"latency_us_mean\":{:.0}}},\"ratio\":{:.1},\"figures_agree\":{agree},\"var_hist_99_at_end\":\"{}\"}}",
        params.window_bars,
        params.bar_ms,
        us(0.5),
        us(0.99),
        us(0.999),
        latency.max(),
        1e6 / scratch_rate,
        incremental_rate / scratch_rate,
        var_at_end.map(|v| v.var_hist_99.to_string()).unwrap_or_default(),
    );
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-report");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("var_latency.json"), &report)?;
    println!("{report}");
    Ok(())
}
