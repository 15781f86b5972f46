//! Small helpers shared by the decoders: typed parsing with classified errors, array-or-object
//! payloads, blank-tolerant optional fields and symbol mapping.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use nexus_model::Asset;

use super::error::DecodeError;

/// Parses JSON text into `T`, classifying the error.
pub fn parse<'a, T: Deserialize<'a>>(text: &'a [u8]) -> Result<T, DecodeError> {
    serde_json::from_slice(text).map_err(|e| DecodeError::from_json(&e))
}

/// Parses a JSON value into `T`, classifying the error.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, DecodeError> {
    serde_json::from_value(value).map_err(|e| DecodeError::from_json(&e))
}

/// The elements of a payload that is either one object or an array of them.
pub fn one_or_many(payload: &[u8]) -> Result<Vec<&RawValue>, DecodeError> {
    let first = payload.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'[') {
        parse::<Vec<&RawValue>>(payload)
    } else {
        parse::<&RawValue>(payload).map(|one| vec![one])
    }
}

/// Maps a venue symbol to its asset, as a decode error when it names none.
pub fn asset(symbol: &str) -> Result<Asset, DecodeError> {
    Asset::from_venue_symbol(symbol).map_err(|e| DecodeError::InvalidSymbol(e.0))
}

/// Integer milliseconds given as a number or a string.
pub fn millis<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    nexus_model::numbers::u64(deserializer)
}

/// Like [`millis`], with `null`, `""` or an absent field meaning "unknown".
pub fn opt_millis<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    match given(deserializer)? {
        None => Ok(None),
        Some(value) => nexus_model::numbers::u64(value).map(Some).map_err(serde::de::Error::custom),
    }
}

/// An optional value where `null`, `""` or an absent field mean "not given" (OKX and Bybit send
/// `""` for fields they have no value for).
pub fn opt_blank<'de, D: Deserializer<'de>, T: DeserializeOwned>(deserializer: D) -> Result<Option<T>, D::Error> {
    match given(deserializer)? {
        None => Ok(None),
        Some(value) => serde_json::from_value(value).map(Some).map_err(serde::de::Error::custom),
    }
}

/// The field's value, or `None` for `null` and `""`.
fn given<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<serde_json::Value>, D::Error> {
    let value: Option<serde_json::Value> = Option::deserialize(deserializer)?;
    Ok(value.filter(|v| !v.is_null() && v.as_str() != Some("")))
}
