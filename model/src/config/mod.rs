//! Configuration (DESIGN section 7): one TOML file, every key optional, unknown keys rejected by name,
//! `NATS_URL` / `DATABASE_URL` from the environment, and dotted-key changes at run time
//! (`control.params`) that go through the very same validation as the file.

mod sections;

use std::path::Path;

use serde::de::DeserializeOwned;

use crate::asset::Asset;
use crate::decimal::Dec;
use crate::venue::Venue;

pub use sections::*;

/// Why a configuration (file, environment or run-time change) was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("config file is not valid TOML: {0}")]
    Syntax(String),
    /// A key is unknown or its value has the wrong type; the message names the valid choices.
    #[error("config key `{key}`: {message}")]
    Key {
        /// Dotted key.
        key: String,
        /// What is wrong and what is valid.
        message: String,
    },
    /// A value has the right type but is outside its valid range.
    #[error("config key `{key}`: {message}")]
    Invalid {
        /// Dotted key.
        key: String,
        /// What is valid.
        message: String,
    },
}

impl Config {
    /// Reads and validates a TOML file, then applies the environment overrides.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let mut config = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
                Config::from_toml(&text)?
            }
            None => Config::default(),
        };
        config.apply_env(|name| std::env::var(name).ok());
        Ok(config)
    }

    /// Parses and validates TOML text (no environment).
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let table: toml::Table = toml::from_str(text).map_err(|e| ConfigError::Syntax(e.message().to_string()))?;
        let mut config: Config = deserialize_with_path(toml::Value::Table(table))?;
        config.var.resolve();
        config.surveillance = config.surveillance.sized_at_start();
        config.validate()?;
        Ok(config)
    }

    /// Applies `NATS_URL` and `DATABASE_URL` (secrets live only in the environment).
    pub fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) {
        if let Some(url) = env("NATS_URL").filter(|u| !u.is_empty()) {
            self.nats.url = url;
        }
        if let Some(url) = env("DATABASE_URL").filter(|u| !u.is_empty()) {
            self.postgres.url = url;
        }
    }

    /// Returns the configuration with the dotted `key` set to `value`, validated exactly like a file.
    /// `self` is left untouched when the change is refused.
    pub fn with_param(&self, key: &str, value: &serde_json::Value) -> Result<Config, ConfigError> {
        let invalid_key = |message: &str| ConfigError::Key { key: key.to_string(), message: message.to_string() };
        let section = key.split('.').next().unwrap_or_default();
        if VarConfig::FIXED_AT_START.contains(&key) || Self::DEPLOYMENT_SECTIONS.contains(&section) {
            return Err(ConfigError::Invalid { key: key.to_string(), message: "is fixed at start".to_string() });
        }
        let mut tree = serde_json::to_value(self).map_err(|e| invalid_key(&e.to_string()))?;
        let segments: Vec<&str> = key.split('.').collect();
        if segments.iter().any(|s| s.is_empty()) {
            return Err(invalid_key("empty key segment"));
        }
        let (last, parents) = segments.split_last().ok_or_else(|| invalid_key("empty key"))?;
        let mut node = &mut tree;
        for segment in parents {
            let object = node.as_object_mut().ok_or_else(|| invalid_key("not a table"))?;
            node = object.entry(segment.to_string()).or_insert_with(|| serde_json::Value::Object(Default::default()));
        }
        node.as_object_mut().ok_or_else(|| invalid_key("not a table"))?.insert(last.to_string(), value.clone());
        let mut config: Config = deserialize_with_path(tree)?;
        config.surveillance.windows_at_start = self.surveillance.windows_at_start.clone();
        config.validate()?;
        Ok(config)
    }

    /// How far before the committed frontier a restarted durable worker replays its feeds
    /// (DESIGN section 8): the longest window in the configuration, in microseconds. Every window
    /// that decides an output at or after the frontier starts no earlier than this.
    pub fn lookback_us(&self) -> crate::LogicalTime {
        let windows = SurveillanceWindows::of(&self.surveillance).0.into_iter().map(|(_, ms)| ms);
        let longest = windows
            .chain([self.reconcile.stale_after_ms, self.var.retention_ms, self.risk.leg_timeout_ms])
            .max()
            .unwrap_or_default();
        crate::time::millis_to_micros(longest)
    }

    /// The sections that say where and how the worker runs rather than what it computes: they are
    /// fixed at start, and their URLs may carry credentials, so they never reach the `parameters`
    /// table or `out.parameters`.
    pub const DEPLOYMENT_SECTIONS: [&'static str; 4] = ["nats", "postgres", "workers", "metrics"];

    /// Every dataflow key as a dotted path with its JSON value (arrays and the stress list stay
    /// whole), for the `parameters` table; the [`DEPLOYMENT_SECTIONS`](Self::DEPLOYMENT_SECTIONS)
    /// are left out.
    pub fn flatten(&self) -> Vec<(String, serde_json::Value)> {
        fn walk(prefix: &str, value: &serde_json::Value, out: &mut Vec<(String, serde_json::Value)>) {
            match value {
                serde_json::Value::Object(map) => {
                    for (key, child) in map {
                        let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                        walk(&path, child, out);
                    }
                }
                leaf => out.push((prefix.to_string(), leaf.clone())),
            }
        }
        let mut out = Vec::new();
        if let Ok(serde_json::Value::Object(mut tree)) = serde_json::to_value(self) {
            tree.retain(|section, _| !Self::DEPLOYMENT_SECTIONS.contains(&section.as_str()));
            walk("", &serde_json::Value::Object(tree), &mut out);
        }
        out
    }

    /// The per-(venue, asset) funding interval overrides of `[funding_interval_h.<venue>]`.
    pub fn interval_overrides(&self) -> Vec<((Venue, Asset), Dec)> {
        let mut overrides = Vec::new();
        for (venue, symbols) in &self.funding_interval_h {
            for (symbol, hours) in symbols {
                if let Ok(asset) = Asset::from_venue_symbol(symbol) {
                    overrides.push(((*venue, asset), *hours));
                }
            }
        }
        overrides.sort();
        overrides.dedup_by(|a, b| a.0 == b.0);
        overrides
    }

    /// Range checks that types alone cannot express. Each error names its key and the valid range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let zero = Dec::ZERO;
        let one = Dec::ONE;
        let positive = |key: &str, v: Dec| check(key, v > zero, "must be > 0");
        let non_negative = |key: &str, v: Dec| check(key, v >= zero, "must be >= 0");
        let fraction = |key: &str, v: Dec| check(key, v >= zero && v <= one, "must be between 0 and 1");

        check(
            "nats.tls_key_file",
            self.nats.tls_cert_file.is_some() == self.nats.tls_key_file.is_some(),
            "must be given together with nats.tls_cert_file",
        )?;
        check(
            "metrics.listen",
            self.metrics.listen.is_empty() || self.metrics.listen.parse::<std::net::SocketAddr>().is_ok(),
            "must be host:port with an IP address (port 0 picks a free one), or empty to turn it off",
        )?;
        check("reconcile.stale_after_ms", self.reconcile.stale_after_ms > 0, "must be > 0")?;
        non_negative("reconcile.abs_tolerance", self.reconcile.abs_tolerance)?;
        non_negative("reconcile.rel_tolerance", self.reconcile.rel_tolerance)?;

        let o = &self.opportunities;
        fraction("opportunities.min_confidence", o.min_confidence)?;
        positive("opportunities.hold_hours", o.hold_hours)?;
        positive("opportunities.target_apr", o.target_apr)?;
        positive("opportunities.target_depth", o.target_depth)?;
        check("opportunities.top_k", o.top_k >= 1, "must be >= 1")?;
        non_negative("opportunities.weights.spread", o.weights.spread)?;
        non_negative("opportunities.weights.liquidity", o.weights.liquidity)?;
        non_negative("opportunities.weights.confidence", o.weights.confidence)?;
        for venue in Venue::ALL {
            non_negative(&format!("fees.taker.{venue}"), self.fees.taker.of(venue))?;
        }

        check("var.bar_ms", self.var.bar_ms > 0, "must be > 0")?;
        check("var.window_bars", self.var.window_bars >= 2, "must be >= 2")?;
        check("var.min_returns", self.var.min_returns >= 2, "must be >= 2")?;
        let v = &self.var;
        check("var.grain_ms", v.grain_ms > 0, "must be > 0")?;
        let grain = format!("must be a multiple of var.grain_ms ({})", v.grain_ms);
        check("var.bar_ms", v.bar_ms.is_multiple_of(v.grain_ms.max(1)), &grain)?;
        let span = (v.window_bars as u64).saturating_add(1).saturating_mul(v.bar_ms);
        let fits =
            format!("needs (var.window_bars + 1) * var.bar_ms = {span} <= var.retention_ms ({})", v.retention_ms);
        check("var.window_bars", span <= v.retention_ms, &fits)?;

        let s = &self.surveillance;
        check("surveillance.critical_count", s.critical_count >= 1, "must be >= 1")?;
        fraction("surveillance.spoofing.max_fill_ratio", s.spoofing.max_fill_ratio)?;
        positive("surveillance.spoofing.size_multiple", s.spoofing.size_multiple)?;
        fraction("surveillance.layering.min_cancel_ratio", s.layering.min_cancel_ratio)?;
        check("surveillance.layering.min_orders", s.layering.min_orders >= 1, "must be >= 1")?;
        check("surveillance.layering.min_levels", s.layering.min_levels >= 1, "must be >= 1")?;
        fraction("surveillance.ignition.min_share", s.ignition.min_share)?;
        if let Some(SurveillanceWindows(at_start)) = &s.windows_at_start {
            for ((key, now), (_, start)) in SurveillanceWindows::of(s).0.iter().zip(at_start) {
                let message =
                    format!("must be at most {start} at run time (the history kept was sized for it at start)");
                check(key, now <= start, &message)?;
            }
        }

        let r = &self.risk;
        check("risk.account", !r.account.is_empty(), "must not be empty")?;
        check("risk.qty_decimals", r.qty_decimals <= 18, "must be between 0 and 18")?;
        fraction("risk.depth_fraction", r.depth_fraction)?;
        positive("risk.max_notional", r.max_notional)?;
        check("risk.exit_uos", r.exit_uos <= r.min_uos, "must be <= risk.min_uos")?;

        check("workers.threads", self.workers.threads >= 1, "must be >= 1")?;
        check("workers.tick_us", self.workers.tick_us <= 1000, "must be between 0 and 1000 (at most 1 ms)")?;
        for (venue, symbols) in &self.funding_interval_h {
            for (symbol, hours) in symbols {
                let key = format!("funding_interval_h.{venue}.{symbol}");
                check(&key, Asset::from_venue_symbol(symbol).is_ok(), "is not a valid symbol")?;
                positive(&key, *hours)?;
            }
        }
        Ok(())
    }
}

fn check(key: &str, ok: bool, message: &str) -> Result<(), ConfigError> {
    if ok { Ok(()) } else { Err(ConfigError::Invalid { key: key.to_string(), message: message.to_string() }) }
}

/// Deserializes keeping track of the path, so errors name the dotted key.
fn deserialize_with_path<'de, T: DeserializeOwned, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<T, ConfigError>
where
    D::Error: std::fmt::Display,
{
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let key = error.path().to_string();
        ConfigError::Key { key, message: error.into_inner().to_string() }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        Config::from_toml(text).map(|_| String::from("accepted")).unwrap_or_else(|e| e.to_string())
    }

    #[test]
    fn empty_file_gives_every_default() {
        let config = Config::from_toml("").unwrap();
        assert_eq!(config, Config::default());
        assert_eq!(config.reconcile.stale_after_ms, 180_000);
        assert_eq!(config.reconcile.abs_tolerance.to_string(), "0.00005");
        assert_eq!(config.opportunities.top_k, 20);
        assert_eq!(config.fees.taker.bybit.to_string(), "0.00055");
        assert_eq!(config.risk.account, "main");
    }

    #[test]
    fn unknown_keys_are_named_with_the_valid_choices() {
        let message = err("[reconcile]\nstale_after = 5\n");
        assert!(message.contains("reconcile.stale_after"), "{message}");
        assert!(message.contains("stale_after_ms"), "{message}");
        let message = err("[bogus]\nx = 1\n");
        assert!(message.contains("bogus") && message.contains("reconcile"), "{message}");
        let message = err("[funding_interval_h.kraken]\nBTCUSDT = 4\n");
        assert!(message.contains("kraken") && message.contains("binance"), "{message}");
    }

    #[test]
    fn numbers_may_be_integers_floats_or_strings() {
        let config = Config::from_toml(
            "[reconcile]\nstale_after_ms = \"60000\"\nabs_tolerance = 0.08\nrel_tolerance = \"0.2\"\n[opportunities]\ntop_k = 5.0\n",
        )
        .unwrap();
        assert_eq!(config.reconcile.stale_after_ms, 60_000);
        assert_eq!(config.reconcile.abs_tolerance, Dec::parse("0.08").unwrap());
        assert_eq!(config.opportunities.top_k, 5);
        assert!(err("[reconcile]\nstale_after_ms = 1.5\n").contains("whole number"));
        assert!(err("[reconcile]\nstale_after_ms = -1\n").contains("non-negative"));
        assert!(err("[reconcile]\nabs_tolerance = \"abc\"\n").contains("reconcile.abs_tolerance"));
    }

    #[test]
    fn ranges_are_checked_by_key() {
        assert!(err("[reconcile]\nstale_after_ms = 0\n").contains("reconcile.stale_after_ms"));
        assert!(err("[opportunities]\nmin_confidence = 2\n").contains("between 0 and 1"));
        assert!(err("[funding_interval_h.binance]\nBTCUSDT = 0\n").contains("funding_interval_h.binance.BTCUSDT"));
    }

    #[test]
    fn special_tables_have_their_own_shape() {
        let config = Config::from_toml(
            "[surveillance.account_groups]\ng1 = [\"acct-7\", \"acct-9\"]\n\n[[var.stress]]\nname = \"crash\"\nshocks = { BTC = \"-0.20\", ETH = -0.25 }\n\n[funding_interval_h.binance]\nBTCUSDT = 4\n",
        )
        .unwrap();
        assert_eq!(config.surveillance.account_groups["g1"], vec!["acct-7", "acct-9"]);
        assert_eq!(config.var.stress[0].shocks["ETH"], Dec::parse("-0.25").unwrap());
        assert_eq!(
            config.interval_overrides(),
            vec![((Venue::Binance, Asset::from_venue_symbol("BTC").unwrap()), Dec::from(4i64))]
        );
    }

    #[test]
    fn environment_overrides_the_file() {
        let mut config = Config::from_toml("[nats]\nurl = \"nats://file:4222\"\n").unwrap();
        config.apply_env(|name| (name == "NATS_URL").then(|| "nats://env:4222".to_string()));
        assert_eq!(config.nats.url, "nats://env:4222");
        assert_eq!(config.postgres.url, PostgresConfig::default().url);
    }

    #[test]
    fn run_time_changes_are_validated_like_the_file() {
        let config = Config::default();
        let value: serde_json::Value = serde_json::from_str("0.0001").unwrap();
        let changed = config.with_param("reconcile.abs_tolerance", &value).unwrap();
        assert_eq!(changed.reconcile.abs_tolerance, Dec::parse("0.0001").unwrap());
        let changed = config.with_param("funding_interval_h.binance.ETHUSDT", &serde_json::json!("4")).unwrap();
        assert_eq!(changed.funding_interval_h[&Venue::Binance]["ETHUSDT"], Dec::from(4i64));
        let unknown = config.with_param("reconcile.nope", &value).unwrap_err().to_string();
        assert!(unknown.contains("reconcile.nope") && unknown.contains("abs_tolerance"), "{unknown}");
        let bad = config.with_param("reconcile.stale_after_ms", &serde_json::json!("soon")).unwrap_err().to_string();
        assert!(bad.contains("reconcile.stale_after_ms"), "{bad}");
        assert!(config.with_param("reconcile.stale_after_ms", &serde_json::json!(0)).is_err());
        assert!(config.with_param("", &value).is_err());
    }

    #[test]
    fn surveillance_windows_may_shrink_at_run_time_but_not_grow() {
        let config = Config::from_toml("[surveillance.layering]\nwindow_ms = 8000\n").unwrap();
        let shorter = config.with_param("surveillance.layering.window_ms", &serde_json::json!(2000)).unwrap();
        let back = shorter.with_param("surveillance.layering.window_ms", &serde_json::json!(8000)).unwrap();
        assert_eq!(back.surveillance.layering.window_ms, 8000);
        let error = config.with_param("surveillance.layering.window_ms", &serde_json::json!(8001)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "config key `surveillance.layering.window_ms`: must be at most 8000 at run time (the history kept was sized for it at start)"
        );
        // Thresholds are free.
        assert!(config.with_param("surveillance.spoofing.min_notional", &serde_json::json!("1")).is_ok());
    }
}
