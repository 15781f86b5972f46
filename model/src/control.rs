//! Control messages: run-time parameter changes and trading halts.

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

/// A `control.params` message: set the config key `key` (dotted) to `value` at this logical time.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamChange {
    /// Dotted config key, e.g. `reconcile.stale_after_ms`.
    pub key: String,
    /// The new value, as JSON (numbers keep their exact text).
    pub value: serde_json::Value,
}

/// What a halt applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HaltScope {
    /// Everything.
    Global,
    /// One venue.
    Venue,
    /// One canonical asset.
    Symbol,
    /// One account.
    Account,
}

impl HaltScope {
    /// The scope's name, as serialized.
    pub fn name(self) -> &'static str {
        match self {
            HaltScope::Global => "global",
            HaltScope::Venue => "venue",
            HaltScope::Symbol => "symbol",
            HaltScope::Account => "account",
        }
    }
}

/// A `control.halt` message: start or end a halt of new entries.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Halt {
    /// What is halted.
    pub scope: HaltScope,
    /// The venue, asset or account id; empty for global.
    pub target: CompactString,
    /// True to halt, false to lift the halt.
    pub halted: bool,
    /// Operator's reason, kept for the record.
    pub reason: String,
}
