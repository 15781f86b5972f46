//! One measured run per (path, rate), the JSON report and the latency-percentile plot.

use std::path::Path;

use hdrhistogram::Histogram;
use plotters::prelude::*;
use serde_json::{Value, json};

/// Latencies are recorded in µs, from 1 µs to 10 minutes, to 3 significant digits.
pub fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).unwrap_or_else(|e| panic!("histogram bounds: {e}"))
}

/// What one run at one rate measured.
pub struct RateRun {
    /// `nats` (the whole path) or `in-process` (the dataflows alone).
    pub path: &'static str,
    /// Messages/s asked for.
    pub rate: u64,
    /// Messages sent.
    pub sent: u64,
    /// Wall time the sender took to send them (longer than planned when it fell behind).
    pub send_seconds: f64,
    /// From the first intended send time to the last output.
    pub drain_seconds: f64,
    /// Intended send time to output, per output update, µs.
    pub latency: Histogram<u64>,
    /// Output updates observed.
    pub output_updates: u64,
    /// CPU used by the measured process over the run, in cores.
    pub cpu_cores: f64,
    /// Messages the worker received, by its own count (NATS only).
    pub received: Option<u64>,
    /// Slow-consumer events the worker's NATS client reported (NATS only).
    pub slow_consumer_events: Option<u64>,
    /// Rounds sent to the workers (in-process only; the NATS source batches the same way).
    pub rounds: Option<u64>,
}

impl RateRun {
    /// The run as a JSON object; latencies in ms.
    pub fn json(&self) -> Value {
        let ms = |us: u64| us as f64 / 1000.0;
        let h = &self.latency;
        json!({
            "path": self.path,
            "rate": self.rate,
            "sent": self.sent,
            "achieved_send_rate": self.sent as f64 / self.send_seconds.max(1e-9),
            "processed_rate": self.received.unwrap_or(self.sent) as f64 / self.drain_seconds.max(1e-9),
            "received": self.received,
            "lost": self.received.map(|received| self.sent.saturating_sub(received)),
            "slow_consumer_events": self.slow_consumer_events,
            "output_updates": self.output_updates,
            "rounds": self.rounds,
            "latency_ms": {
                "p50": ms(h.value_at_quantile(0.5)),
                "p99": ms(h.value_at_quantile(0.99)),
                "p999": ms(h.value_at_quantile(0.999)),
                "max": ms(h.max()),
            },
            "cpu_cores": self.cpu_cores,
        })
    }

    /// One line for the terminal.
    pub fn summary(&self) -> String {
        let h = &self.latency;
        let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
        format!(
            "{:>10} {:>7}/s: sent {} in {:.1} s, p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms, {} updates, {:.2} cores{}",
            self.path,
            self.rate,
            self.sent,
            self.send_seconds,
            ms(0.5),
            ms(0.99),
            ms(0.999),
            h.max() as f64 / 1000.0,
            self.output_updates,
            self.cpu_cores,
            match (self.received, self.rounds) {
                (Some(received), _) => format!(", lost {}", self.sent.saturating_sub(received)),
                (None, Some(rounds)) => format!(", {rounds} rounds"),
                (None, None) => String::new(),
            }
        )
    }
}

/// The percentile curve of every run: latency against 1/(1-q) on log scales, so p50, p90, p99,
/// p99.9 and p99.99 are equally spaced.
pub fn plot(runs: &[RateRun], path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (960, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let curves: Vec<(String, Vec<(f64, f64)>)> = runs
        .iter()
        .filter(|run| !run.latency.is_empty())
        .map(|run| {
            let points = (0..=200)
                .map(|k| {
                    let nines = k as f64 / 50.0; // 1/(1-q) from 10^0 to 10^4
                    let q = 1.0 - 10f64.powf(-nines);
                    (10f64.powf(nines), run.latency.value_at_quantile(q).max(1) as f64 / 1000.0)
                })
                .collect();
            (format!("{} {}/s", run.path, run.rate), points)
        })
        .collect();
    let highest = curves.iter().flat_map(|(_, p)| p.iter().map(|(_, y)| *y)).fold(1.0f64, f64::max);
    let mut chart = ChartBuilder::on(&root)
        .caption("nexus end-to-end latency: intended send time -> output", ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d((1f64..10_000f64).log_scale(), (0.01f64..highest * 2.0).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("percentile")
        .y_desc("latency (ms)")
        .x_label_formatter(&|x| format!("{}%", 100.0 - 100.0 / x))
        .draw()?;
    for (index, (label, points)) in curves.into_iter().enumerate() {
        let color = Palette99::pick(index).to_rgba();
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
    }
    chart.configure_series_labels().position(SeriesLabelPosition::UpperLeft).border_style(BLACK).draw()?;
    root.present()?;
    Ok(())
}
