//! `control.params` and `control.halt`.

use std::sync::Arc;

use compact_str::CompactString;
use nexus_model::config::Config;
use nexus_model::control::{Halt, HaltScope};
use nexus_model::{Asset, Venue};
use serde::Deserialize;

use super::Input;
use super::error::DecodeError;
use super::fields;

#[derive(Deserialize)]
struct ParamsPayload {
    key: String,
    value: serde_json::Value,
}

/// Applies a parameter change to `config`, returning the new configuration. The change goes through
/// the same validation as the config file, and may not set `risk.leg_timeout_ms` below
/// `min_leg_timeout_us` (the running gate's deadline lead); a refused change leaves `config` as it
/// was.
pub fn params(config: &mut Arc<Config>, payload: &[u8], min_leg_timeout_us: u64) -> Result<Input, DecodeError> {
    let change: ParamsPayload = fields::parse(payload)?;
    let next = config.with_param(&change.key, &change.value).map_err(|e| DecodeError::InvalidParam(e.to_string()))?;
    if next.risk.leg_timeout_ms.saturating_mul(1000) < min_leg_timeout_us {
        return Err(DecodeError::InvalidParam(format!(
            "risk.leg_timeout_ms: at least {} while this worker runs (it schedules leg deadlines that far ahead); start it with the shorter timeout in its config file",
            min_leg_timeout_us.div_ceil(1000)
        )));
    }
    *config = Arc::new(next);
    Ok(Input::Config(Arc::clone(config)))
}

#[derive(Deserialize)]
struct HaltPayload {
    scope: HaltScope,
    #[serde(default)]
    target: CompactString,
    halted: bool,
    #[serde(default)]
    reason: String,
}

/// Decodes a halt; every scope but `global` needs a target. Targets are made canonical: a venue
/// must be one nexus knows, a symbol becomes its asset (`BTCUSDT` halts `BTC`), and a global
/// halt's target is ignored.
pub fn halt(payload: &[u8]) -> Result<Input, DecodeError> {
    let h: HaltPayload = fields::parse(payload)?;
    if h.scope != HaltScope::Global && h.target.is_empty() {
        return Err(DecodeError::InvalidField("a venue, symbol or account halt needs a `target`".to_string()));
    }
    let target = match h.scope {
        HaltScope::Global => CompactString::default(),
        HaltScope::Venue => {
            let venue = h.target.parse::<Venue>().map_err(|_| DecodeError::UnknownVenue(h.target.to_string()))?;
            CompactString::from(venue.name())
        }
        HaltScope::Symbol => CompactString::from(
            Asset::from_venue_symbol(&h.target)
                .map_err(|_| DecodeError::InvalidField(format!("halt target {:?} is not a symbol", h.target)))?
                .as_str(),
        ),
        HaltScope::Account => h.target,
    };
    Ok(Input::Halt(Halt { scope: h.scope, target, halted: h.halted, reason: h.reason }))
}
