//! The parameters of the surveillance dataflow and the spans of logical time they imply.

use std::collections::BTreeMap;

use compact_str::CompactString;
use nexus_model::Dec;
use nexus_model::config::Config;
use serde::{Deserialize, Serialize};

use crate::Time;

/// Microseconds per millisecond: parameters are in ms, logical time in µs.
const US_PER_MS: u64 = 1_000;

/// Every `[surveillance]` parameter but the account groups. The collection holds exactly one.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SurveillanceParams {
    /// `spoofing.min_notional`.
    pub spoof_min_notional: Dec,
    /// `spoofing.size_multiple`.
    pub spoof_size_multiple: Dec,
    /// `spoofing.baseline_ms`, in µs.
    pub spoof_baseline_us: Time,
    /// `spoofing.max_lifetime_ms`, in µs.
    pub spoof_max_lifetime_us: Time,
    /// `spoofing.max_fill_ratio`.
    pub spoof_max_fill_ratio: Dec,
    /// `spoofing.window_ms`, in µs.
    pub spoof_window_us: Time,
    /// `layering.min_orders`.
    pub layer_min_orders: u64,
    /// `layering.min_levels`.
    pub layer_min_levels: u64,
    /// `layering.window_ms`, in µs.
    pub layer_window_us: Time,
    /// `layering.min_cancel_ratio`.
    pub layer_min_cancel_ratio: Dec,
    /// `layering.cancel_ms`, in µs.
    pub layer_cancel_us: Time,
    /// `ignition.window_ms`, in µs.
    pub ignition_window_us: Time,
    /// `ignition.min_share`.
    pub ignition_min_share: Dec,
    /// `ignition.min_move_bps`.
    pub ignition_min_move_bps: Dec,
    /// `ignition.reversal_ms`, in µs.
    pub ignition_reversal_us: Time,
    /// `surveillance.critical_count`.
    pub critical_count: u64,
    /// `surveillance.critical_window_ms`, in µs.
    pub critical_window_us: Time,
}

fn us(ms: u64) -> Time {
    ms.saturating_mul(US_PER_MS)
}

impl SurveillanceParams {
    /// The run-time surveillance parameters of a configuration.
    pub fn from_config(config: &Config) -> SurveillanceParams {
        let s = &config.surveillance;
        SurveillanceParams {
            spoof_min_notional: s.spoofing.min_notional,
            spoof_size_multiple: s.spoofing.size_multiple,
            spoof_baseline_us: us(s.spoofing.baseline_ms),
            spoof_max_lifetime_us: us(s.spoofing.max_lifetime_ms),
            spoof_max_fill_ratio: s.spoofing.max_fill_ratio,
            spoof_window_us: us(s.spoofing.window_ms),
            layer_min_orders: s.layering.min_orders as u64,
            layer_min_levels: s.layering.min_levels as u64,
            layer_window_us: us(s.layering.window_ms),
            layer_min_cancel_ratio: s.layering.min_cancel_ratio,
            layer_cancel_us: us(s.layering.cancel_ms),
            ignition_window_us: us(s.ignition.window_ms),
            ignition_min_share: s.ignition.min_share,
            ignition_min_move_bps: s.ignition.min_move_bps,
            ignition_reversal_us: us(s.ignition.reversal_ms),
            critical_count: s.critical_count as u64,
            critical_window_us: us(s.critical_window_ms),
        }
    }

    /// A spoofing episode (anchored at the order's placement) settles this long after its cancel:
    /// no later fill is within the window.
    pub fn spoof_settle_after_cancel(&self) -> Time {
        self.spoof_window_us.saturating_add(1)
    }

    /// A layering episode settles this long after its first placement: its orders are all placed
    /// and each had its `cancel_ms` to be cancelled.
    pub fn layer_settle_after_first(&self) -> Time {
        self.layer_window_us.saturating_add(self.layer_cancel_us).saturating_add(1)
    }

    /// An ignition episode settles this long after its first trade: the window and the reversal
    /// span after it are over.
    pub fn ignition_settle_after_first(&self) -> Time {
        self.ignition_window_us.saturating_add(self.ignition_reversal_us).saturating_add(1)
    }

    /// Every pattern's alert has settled this long after its `first_us`.
    pub fn settle_span(&self) -> Time {
        let spoof = self.spoof_max_lifetime_us.saturating_add(self.spoof_settle_after_cancel());
        spoof.max(self.layer_settle_after_first()).max(self.ignition_settle_after_first())
    }

    /// How long an order event is kept: the spoofing order's life and the fill window on both
    /// sides of its cancel, or a layering episode's span plus the window before it (its
    /// predecessors).
    pub fn order_retention(&self) -> Time {
        let spoof =
            self.spoof_max_lifetime_us.max(self.spoof_window_us).saturating_add(self.spoof_settle_after_cancel());
        spoof.max(self.layer_window_us.saturating_add(self.layer_settle_after_first()))
    }

    /// How long a placement is kept for the spoofing baseline: the baseline before a spoofing
    /// order and its episode after.
    pub fn baseline_retention(&self) -> Time {
        self.spoof_baseline_us
            .saturating_add(self.spoof_max_lifetime_us)
            .saturating_add(self.spoof_settle_after_cancel())
    }

    /// How long a trade is kept: an ignition episode's span plus the window before it.
    pub fn trade_retention(&self) -> Time {
        self.ignition_window_us.saturating_add(self.ignition_settle_after_first())
    }

    /// How long an alert is counted for the escalation: the critical window, plus the time the
    /// latest alert in it may still take to settle.
    pub fn alert_retention(&self) -> Time {
        self.critical_window_us.saturating_add(self.settle_span()).saturating_add(1)
    }
}

/// How long the surveillance dataflow keeps its inputs: fixed when it is built, from the
/// parameters at start, because it sizes the state. Run-time window changes may only shrink the
/// windows (configuration validation refuses longer ones), so these spans always cover them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SurveillanceHistory {
    /// Order events, for spoofing and layering.
    pub order_us: Time,
    /// Placements, for the spoofing baseline.
    pub baseline_us: Time,
    /// Trades, for momentum ignition.
    pub trade_us: Time,
    /// Alerts, for the escalation (counted from their `first_us`).
    pub alert_us: Time,
    /// Inputs leave on multiples of this: those that leave together cost one scheduled time.
    pub grain_us: Time,
}

impl SurveillanceHistory {
    /// The spans the windows of `params` need.
    pub fn for_params(params: &SurveillanceParams) -> SurveillanceHistory {
        SurveillanceHistory {
            order_us: params.order_retention(),
            baseline_us: params.baseline_retention(),
            trade_us: params.trade_retention(),
            alert_us: params.alert_retention(),
            grain_us: Self::GRAIN_US,
        }
    }

    /// Inputs leave on whole seconds by default.
    pub const GRAIN_US: Time = 1_000_000;

    /// When an input that arrived at `time` leaves: `span` later, rounded up to the grain.
    /// Keeping an input longer than its windows need changes no result (every rule looks at its
    /// windows only, and settled alerts are frozen).
    pub fn expiry(&self, time: Time, span: Time) -> Time {
        let grain = self.grain_us.max(1);
        time.saturating_add(span).div_ceil(grain).saturating_mul(grain)
    }

    /// The spans the windows of a configuration need.
    pub fn from_config(config: &Config) -> SurveillanceHistory {
        SurveillanceHistory::for_params(&SurveillanceParams::from_config(config))
    }
}

/// `[surveillance.account_groups]` turned around: each account's groups. The collection holds
/// exactly one.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AccountGroups {
    /// Account -> the names of its groups, sorted.
    pub groups_of: BTreeMap<CompactString, Vec<CompactString>>,
}

impl AccountGroups {
    /// The account groups of a configuration.
    pub fn from_config(config: &Config) -> AccountGroups {
        let mut groups_of: BTreeMap<CompactString, Vec<CompactString>> = BTreeMap::new();
        for (group, accounts) in &config.surveillance.account_groups {
            for account in accounts {
                groups_of.entry(CompactString::from(account.as_str())).or_default().push(CompactString::from(group));
            }
        }
        for groups in groups_of.values_mut() {
            groups.sort();
            groups.dedup();
        }
        AccountGroups { groups_of }
    }

    /// The first group (by name) that both accounts belong to.
    pub fn common_group(&self, a: &str, b: &str) -> Option<CompactString> {
        let (left, right) = (self.groups_of.get(a)?, self.groups_of.get(b)?);
        left.iter().find(|g| right.contains(g)).cloned()
    }
}
