//! The configuration sections of DESIGN section 7, one struct per TOML table, with the defaults of
//! DESIGN section 5. Every struct rejects unknown keys; the error names the key and the valid ones.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::decimal::Dec;
use crate::numbers;
use crate::venue::Venue;

fn dec(text: &str) -> Dec {
    // Only called with the literal defaults below, which are valid decimals.
    Dec::parse(text).unwrap_or(Dec::ZERO)
}

/// The whole configuration file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `[reconcile]`: exchange vs scanner reconciliation (DESIGN 5.1).
    pub reconcile: ReconcileConfig,
    /// `[opportunities]`: arbitrage scoring (DESIGN 5.2).
    pub opportunities: OpportunitiesConfig,
    /// `[fees]`: venue fees used by the cost model.
    pub fees: FeesConfig,
    /// `[var]`: bars, window and stress scenarios (DESIGN 5.3).
    pub var: VarConfig,
    /// `[surveillance]`: manipulation detectors (DESIGN 5.4).
    pub surveillance: SurveillanceConfig,
    /// `[risk]`: the risk gate and order sizing (DESIGN 5.5).
    pub risk: RiskConfig,
    /// `[nats]`: where feeds come from.
    pub nats: NatsConfig,
    /// `[postgres]`: where results are persisted.
    pub postgres: PostgresConfig,
    /// `[workers]`: timely worker threads.
    pub workers: WorkersConfig,
    /// `[metrics]`: where `nexus run` serves `/metrics` and `/health`.
    pub metrics: MetricsConfig,
    /// `[funding_interval_h.<venue>]`: per-symbol funding interval overrides in hours, for feeds that
    /// do not state their interval (Binance). Keys are venue symbols or assets (`BTCUSDT` or `BTC`).
    pub funding_interval_h: BTreeMap<Venue, BTreeMap<String, Dec>>,
}

/// `[reconcile]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReconcileConfig {
    /// An observation is fresh while `t < received + stale_after_ms`.
    #[serde(deserialize_with = "numbers::u64")]
    pub stale_after_ms: u64,
    /// Absolute tolerance between fresh exchange and scanner rates.
    pub abs_tolerance: Dec,
    /// Relative tolerance, a fraction of the larger absolute rate.
    pub rel_tolerance: Dec,
}

impl Default for ReconcileConfig {
    fn default() -> Self {
        ReconcileConfig { stale_after_ms: 180_000, abs_tolerance: dec("0.00005"), rel_tolerance: dec("0.10") }
    }
}

/// `[opportunities]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OpportunitiesConfig {
    /// Minimum snapshot confidence for a venue to take part in a pair.
    pub min_confidence: Dec,
    /// Minimum net APR for a pair to be an opportunity.
    pub min_net_apr: Dec,
    /// Holding period over which round-trip costs are spread.
    pub hold_hours: Dec,
    /// Net APR at which the spread score saturates.
    pub target_apr: Dec,
    /// Depth (quote currency) at which the liquidity score saturates.
    pub target_depth: Dec,
    /// Length of the ranked list.
    #[serde(deserialize_with = "numbers::usize")]
    pub top_k: usize,
    /// `[opportunities.weights]`: weights of the three scores in the UOS.
    pub weights: WeightsConfig,
}

impl Default for OpportunitiesConfig {
    fn default() -> Self {
        OpportunitiesConfig {
            min_confidence: dec("0.5"),
            min_net_apr: dec("0.05"),
            hold_hours: dec("72"),
            target_apr: dec("0.50"),
            target_depth: dec("100000"),
            top_k: 20,
            weights: WeightsConfig::default(),
        }
    }
}

/// `[opportunities.weights]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WeightsConfig {
    /// Weight of the spread score.
    pub spread: Dec,
    /// Weight of the liquidity score.
    pub liquidity: Dec,
    /// Weight of the confidence score.
    pub confidence: Dec,
}

impl Default for WeightsConfig {
    fn default() -> Self {
        WeightsConfig { spread: dec("0.6"), liquidity: dec("0.2"), confidence: dec("0.2") }
    }
}

/// `[fees]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct FeesConfig {
    /// `[fees.taker]`: taker fee per venue, a fraction of notional.
    pub taker: TakerFees,
}

/// `[fees.taker]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TakerFees {
    /// Binance taker fee.
    pub binance: Dec,
    /// Bybit taker fee.
    pub bybit: Dec,
    /// OKX taker fee.
    pub okx: Dec,
    /// Hyperliquid taker fee.
    pub hyperliquid: Dec,
}

impl Default for TakerFees {
    fn default() -> Self {
        TakerFees { binance: dec("0.0005"), bybit: dec("0.00055"), okx: dec("0.0005"), hyperliquid: dec("0.00045") }
    }
}

impl TakerFees {
    /// The taker fee of `venue`.
    pub fn of(&self, venue: Venue) -> Dec {
        match venue {
            Venue::Binance => self.binance,
            Venue::Bybit => self.bybit,
            Venue::Okx => self.okx,
            Venue::Hyperliquid => self.hyperliquid,
        }
    }
}

/// `[var]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VarConfig {
    /// Bar length on logical time.
    #[serde(deserialize_with = "numbers::u64")]
    pub bar_ms: u64,
    /// Number of most recent complete bars in the window.
    #[serde(deserialize_with = "numbers::usize")]
    pub window_bars: usize,
    /// Minimum number of returns before a VaR is reported.
    #[serde(deserialize_with = "numbers::usize")]
    pub min_returns: usize,
    /// `[[var.stress]]`: optional shock scenarios.
    pub stress: Vec<StressScenario>,
    /// Extension: the granularity at which price history is kept; a run-time `var.bar_ms` must be
    /// a multiple of it. Fixed at start; 0 in a file means the starting `var.bar_ms`.
    #[serde(default, deserialize_with = "numbers::u64")]
    pub grain_ms: u64,
    /// Extension: how long a replaced price is kept; a run-time window must fit in it. Fixed at
    /// start; 0 in a file means `(window_bars + 2) * bar_ms`, the window and two bars.
    #[serde(default, deserialize_with = "numbers::u64")]
    pub retention_ms: u64,
}

impl VarConfig {
    /// Keys that size state built at start and cannot change at run time.
    pub const FIXED_AT_START: [&'static str; 2] = ["var.grain_ms", "var.retention_ms"];

    /// Fills `grain_ms` and `retention_ms` left at 0 from the bar length and window.
    pub fn resolve(&mut self) {
        if self.grain_ms == 0 {
            self.grain_ms = self.bar_ms;
        }
        if self.retention_ms == 0 {
            let bars = u64::try_from(self.window_bars).unwrap_or(u64::MAX).saturating_add(2);
            self.retention_ms = bars.saturating_mul(self.bar_ms);
        }
    }
}

impl Default for VarConfig {
    fn default() -> Self {
        let mut var = VarConfig {
            bar_ms: 60_000,
            window_bars: 240,
            min_returns: 20,
            stress: Vec::new(),
            grain_ms: 0,
            retention_ms: 0,
        };
        var.resolve();
        var
    }
}

/// One `[[var.stress]]` entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StressScenario {
    /// Scenario name, as it appears in the `stress` stream.
    pub name: String,
    /// Relative price shock per asset (`BTC = "-0.20"`).
    pub shocks: BTreeMap<String, Dec>,
}

/// `[surveillance]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SurveillanceConfig {
    /// Alerts on one venue within the window that make an account critical.
    #[serde(deserialize_with = "numbers::usize")]
    pub critical_count: usize,
    /// Window for the critical escalation.
    #[serde(deserialize_with = "numbers::u64")]
    pub critical_window_ms: u64,
    /// `[surveillance.account_groups]`: group name -> accounts under common control.
    pub account_groups: BTreeMap<String, Vec<String>>,
    /// `[surveillance.spoofing]`.
    pub spoofing: SpoofingConfig,
    /// `[surveillance.layering]`.
    pub layering: LayeringConfig,
    /// `[surveillance.ignition]`.
    pub ignition: IgnitionConfig,
    /// The window lengths at start, which sized the history the dataflow keeps: run-time changes
    /// may not exceed them. Not a key; set when the file is read.
    #[serde(skip)]
    pub windows_at_start: Option<SurveillanceWindows>,
}

/// Every surveillance window length, by dotted key: what the retained history must cover.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SurveillanceWindows(pub Vec<(&'static str, u64)>);

impl SurveillanceWindows {
    /// The window lengths of `s`.
    pub fn of(s: &SurveillanceConfig) -> SurveillanceWindows {
        SurveillanceWindows(vec![
            ("surveillance.critical_window_ms", s.critical_window_ms),
            ("surveillance.spoofing.baseline_ms", s.spoofing.baseline_ms),
            ("surveillance.spoofing.max_lifetime_ms", s.spoofing.max_lifetime_ms),
            ("surveillance.spoofing.window_ms", s.spoofing.window_ms),
            ("surveillance.layering.window_ms", s.layering.window_ms),
            ("surveillance.layering.cancel_ms", s.layering.cancel_ms),
            ("surveillance.ignition.window_ms", s.ignition.window_ms),
            ("surveillance.ignition.reversal_ms", s.ignition.reversal_ms),
        ])
    }
}

impl Default for SurveillanceConfig {
    fn default() -> Self {
        SurveillanceConfig {
            critical_count: 3,
            critical_window_ms: 3_600_000,
            account_groups: BTreeMap::new(),
            spoofing: SpoofingConfig::default(),
            layering: LayeringConfig::default(),
            ignition: IgnitionConfig::default(),
            windows_at_start: None,
        }
        .sized_at_start()
    }
}

impl SurveillanceConfig {
    /// Records the current window lengths as those the history is sized for.
    pub fn sized_at_start(mut self) -> SurveillanceConfig {
        self.windows_at_start = Some(SurveillanceWindows::of(&self));
        self
    }
}

/// `[surveillance.spoofing]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpoofingConfig {
    /// Minimum order notional.
    pub min_notional: Dec,
    /// Minimum size relative to the account's baseline order size.
    pub size_multiple: Dec,
    /// Look-back for the baseline order size.
    #[serde(deserialize_with = "numbers::u64")]
    pub baseline_ms: u64,
    /// Maximum lifetime of the spoof order.
    #[serde(deserialize_with = "numbers::u64")]
    pub max_lifetime_ms: u64,
    /// Maximum filled fraction of the spoof order.
    pub max_fill_ratio: Dec,
    /// Window around the cancel for the opposite-side fill.
    #[serde(deserialize_with = "numbers::u64")]
    pub window_ms: u64,
}

impl Default for SpoofingConfig {
    fn default() -> Self {
        SpoofingConfig {
            min_notional: dec("50000"),
            size_multiple: dec("10"),
            baseline_ms: 3_600_000,
            max_lifetime_ms: 5_000,
            max_fill_ratio: dec("0.1"),
            window_ms: 5_000,
        }
    }
}

/// `[surveillance.layering]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LayeringConfig {
    /// Minimum number of same-side orders.
    #[serde(deserialize_with = "numbers::usize")]
    pub min_orders: usize,
    /// Minimum number of distinct price levels.
    #[serde(deserialize_with = "numbers::usize")]
    pub min_levels: usize,
    /// Window within which the orders are placed.
    #[serde(deserialize_with = "numbers::u64")]
    pub window_ms: u64,
    /// Minimum fraction of the orders cancelled quickly.
    pub min_cancel_ratio: Dec,
    /// "Quickly": within this long of placement.
    #[serde(deserialize_with = "numbers::u64")]
    pub cancel_ms: u64,
}

impl Default for LayeringConfig {
    fn default() -> Self {
        LayeringConfig {
            min_orders: 3,
            min_levels: 3,
            window_ms: 5_000,
            min_cancel_ratio: dec("0.8"),
            cancel_ms: 10_000,
        }
    }
}

/// `[surveillance.ignition]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IgnitionConfig {
    /// Window of the aggressive burst.
    #[serde(deserialize_with = "numbers::u64")]
    pub window_ms: u64,
    /// Minimum share of the symbol's volume.
    pub min_share: Dec,
    /// Minimum price move in basis points.
    pub min_move_bps: Dec,
    /// Window for the reversal trade.
    #[serde(deserialize_with = "numbers::u64")]
    pub reversal_ms: u64,
}

impl Default for IgnitionConfig {
    fn default() -> Self {
        IgnitionConfig { window_ms: 10_000, min_share: dec("0.5"), min_move_bps: dec("50"), reversal_ms: 60_000 }
    }
}

/// `[risk]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RiskConfig {
    /// The trading account orders are sent for.
    pub account: String,
    /// Decimal places of leg quantities (rounded down).
    #[serde(deserialize_with = "numbers::u32")]
    pub qty_decimals: u32,
    /// Minimum UOS to open an arbitrage.
    pub min_uos: Dec,
    /// UOS below which an open arbitrage is closed.
    pub exit_uos: Dec,
    /// Maximum notional per arbitrage.
    pub max_notional: Dec,
    /// Fraction of the thinner book's depth an arbitrage may take.
    pub depth_fraction: Dec,
    /// Maximum notional on one venue.
    pub max_venue_exposure: Dec,
    /// Maximum gross notional in one asset.
    pub max_asset_exposure: Dec,
    /// Maximum 99% historical VaR of the account.
    pub max_var: Dec,
    /// Maximum number of open arbitrages.
    #[serde(deserialize_with = "numbers::usize")]
    pub max_open: usize,
    /// Time after which a lone leg is unwound.
    #[serde(deserialize_with = "numbers::u64")]
    pub leg_timeout_ms: u64,
}

impl Default for RiskConfig {
    fn default() -> Self {
        RiskConfig {
            account: "main".to_string(),
            qty_decimals: 4,
            min_uos: dec("60"),
            exit_uos: dec("40"),
            max_notional: dec("10000"),
            depth_fraction: dec("0.1"),
            max_venue_exposure: dec("50000"),
            max_asset_exposure: dec("100000"),
            max_var: dec("5000"),
            max_open: 10,
            leg_timeout_ms: 5_000,
        }
    }
}

/// `[nats]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NatsConfig {
    /// Server URL; `NATS_URL` overrides it.
    pub url: String,
    /// Read durable JetStream streams (true) or core NATS subjects (false).
    pub jetstream: bool,
    /// Prefix of every subject nexus reads and writes (`"<prefix>feeds.>"`, `"<prefix>out.<stream>"`),
    /// so that several deployments or tests can share one server; empty by default.
    pub prefix: String,
    /// Refuse a connection that is not TLS; default false (a `tls://` URL also requires it).
    pub tls: bool,
    /// PEM file of the certificate authorities that sign the server's certificate; default none
    /// (the system's roots).
    pub tls_ca_file: Option<std::path::PathBuf>,
    /// PEM files of a client certificate and its key, for servers that verify clients; default none.
    pub tls_cert_file: Option<std::path::PathBuf>,
    /// The key of `tls_cert_file`.
    pub tls_key_file: Option<std::path::PathBuf>,
}

impl Default for NatsConfig {
    fn default() -> Self {
        NatsConfig {
            url: "nats://127.0.0.1:4222".to_string(),
            jetstream: true,
            prefix: String::new(),
            tls: false,
            tls_ca_file: None,
            tls_cert_file: None,
            tls_key_file: None,
        }
    }
}

/// `[postgres]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PostgresConfig {
    /// Connection URL without secrets; `DATABASE_URL` overrides it.
    pub url: String,
}

impl Default for PostgresConfig {
    fn default() -> Self {
        PostgresConfig { url: "postgres://postgres@127.0.0.1:5432/test".to_string() }
    }
}

/// `[workers]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkersConfig {
    /// Timely worker threads in this process; `--workers` overrides it.
    #[serde(deserialize_with = "numbers::usize")]
    pub threads: usize,
    /// Live messages stamped with their receive time get it rounded down to this many
    /// microseconds (DESIGN 2 allows up to 1 ms), so a burst shares one logical time; 0 keeps exact
    /// times. Messages carrying `Nexus-Time`, recordings and the demo always keep exact times.
    #[serde(deserialize_with = "numbers::u64")]
    pub tick_us: u64,
}

impl Default for WorkersConfig {
    fn default() -> Self {
        WorkersConfig { threads: 1, tick_us: 1000 }
    }
}

/// `[metrics]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// `host:port` where `nexus run` serves `/metrics` (Prometheus text) and `/health`; port 0
    /// picks a free one (printed at start); empty turns the endpoint off. Default `127.0.0.1:9464`.
    pub listen: String,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig { listen: "127.0.0.1:9464".to_string() }
    }
}
