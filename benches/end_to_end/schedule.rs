//! The open-loop schedule: message `n` of a run at `rate` messages/s is due at
//! `start + n / rate`, whatever happened to the messages before it. Latency is measured from that
//! intended time, so a sender that falls behind counts against the system (no coordinated
//! omission).

use std::time::{SystemTime, UNIX_EPOCH};

/// `workers.tick_us`: intended times are stamped rounded down to it, as a live receive time is.
pub const TICK_US: u64 = 1_000;

/// Wall clock, µs since the epoch.
pub fn wall_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

/// A fixed-rate schedule of `count` messages.
#[derive(Clone, Copy, Debug)]
pub struct Schedule {
    /// Intended time of message 0, µs since the epoch.
    pub start_us: u64,
    /// Messages per second.
    pub rate: u64,
    /// Messages in all.
    pub count: usize,
}

impl Schedule {
    /// Starts 10 ms from now.
    pub fn starting_soon(rate: u64, seconds: u64) -> Schedule {
        Schedule { start_us: wall_us() + 10_000, rate: rate.max(1), count: (rate * seconds) as usize }
    }

    /// How many messages are due by `now_us`.
    pub fn due(&self, now_us: u64) -> usize {
        let elapsed = now_us.saturating_sub(self.start_us) as u128;
        ((elapsed * self.rate as u128 / 1_000_000) as usize + 1).min(self.count)
    }

    /// Message `n`'s intended send time, µs since the epoch.
    pub fn intended(&self, n: usize) -> u64 {
        self.start_us + (n as u128 * 1_000_000 / self.rate as u128) as u64
    }

    /// Message `n`'s intended send time, rounded down to the tick: the logical time it is stamped
    /// with (so latencies include up to 1 ms of rounding).
    pub fn stamp(&self, n: usize) -> u64 {
        let intended = self.intended(n);
        intended - intended % TICK_US
    }
}

/// CPU time (user + system) of a process so far, in seconds, from /proc (0 where unavailable).
pub fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return 0.0 };
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}
