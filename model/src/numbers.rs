//! Lenient readers for whole numbers: DESIGN section 7 lets a numeric parameter be a TOML integer,
//! float or string, `control.params` sends JSON numbers or strings, and payload times are integer
//! milliseconds "as number or string". Whatever the form, the value must be whole and non-negative.

use std::fmt;

use serde::Deserializer;
use serde::de::{self, MapAccess, Visitor};

use crate::decimal::{Dec, number_text_from_map};

/// Reads a non-negative whole number given as an integer, an integral float or a string.
pub fn u64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    deserializer.deserialize_any(WholeNumberVisitor)
}

/// As [`u64`], for counts held as `usize`.
pub fn usize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<usize, D::Error> {
    let value = u64(deserializer)?;
    usize::try_from(value).map_err(|_| de::Error::custom("number out of range"))
}

/// As [`u64`], for small counts held as `u32`.
pub fn u32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    let value = u64(deserializer)?;
    u32::try_from(value).map_err(|_| de::Error::custom("number out of range"))
}

struct WholeNumberVisitor;

impl WholeNumberVisitor {
    fn from_text<E: de::Error>(text: &str) -> Result<u64, E> {
        let dec = Dec::parse(text).map_err(E::custom)?;
        let inner = dec.inner();
        if inner.is_sign_negative() && !inner.is_zero() {
            return Err(E::custom(format!("expected a non-negative whole number, got {dec}")));
        }
        if !inner.fract().is_zero() {
            return Err(E::custom(format!("expected a whole number, got {dec}")));
        }
        use rust_decimal::prelude::ToPrimitive;
        inner.to_u64().ok_or_else(|| E::custom("number out of range"))
    }
}

impl<'de> Visitor<'de> for WholeNumberVisitor {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a non-negative whole number (integer, float or string)")
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<u64, E> {
        Ok(value)
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<u64, E> {
        u64::try_from(value).map_err(|_| E::custom(format!("expected a non-negative whole number, got {value}")))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<u64, E> {
        let dec = Dec::from_f64_text(value).map_err(E::custom)?;
        Self::from_text(&dec.to_string())
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<u64, E> {
        Self::from_text(value)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<u64, A::Error> {
        let text = number_text_from_map(&mut map)?;
        Self::from_text(&text)
    }
}
