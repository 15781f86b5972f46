//! `control.params` and `control.halt`.

use std::sync::Arc;

use compact_str::CompactString;
use nexus_model::config::Config;
use nexus_model::control::{Halt, HaltScope};
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
/// the same validation as the config file; a refused change leaves `config` as it was.
pub fn params(config: &mut Arc<Config>, payload: &[u8]) -> Result<Input, DecodeError> {
    let change: ParamsPayload = fields::parse(payload)?;
    let next = config.with_param(&change.key, &change.value).map_err(|e| DecodeError::InvalidParam(e.to_string()))?;
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

/// Decodes a halt; every scope but `global` needs a target.
pub fn halt(payload: &[u8]) -> Result<Input, DecodeError> {
    let h: HaltPayload = fields::parse(payload)?;
    if h.scope != HaltScope::Global && h.target.is_empty() {
        return Err(DecodeError::InvalidField("a venue, symbol or account halt needs a `target`".to_string()));
    }
    Ok(Input::Halt(Halt { scope: h.scope, target: h.target, halted: h.halted, reason: h.reason }))
}
