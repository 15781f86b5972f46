//! `Dec`: the one exact decimal type of nexus.
//!
//! Every price, quantity, rate and money figure is a `Dec`. It wraps [`rust_decimal::Decimal`] and adds
//! what the rest of the system relies on:
//!
//! - **Exact parsing.** JSON strings and JSON numbers are read from their text (serde_json's
//!   `arbitrary_precision`), never through `f64`; a value that cannot be held exactly is an error, not a
//!   rounding. Magnitudes are capped at [`Dec::MAX_INPUT`] so that sums of inputs cannot overflow.
//! - **One canonical form.** Values are normalized on construction, so `10.5` and `10.50` are the same
//!   record (same `Eq`, `Hash`, `Ord` and the same JSON text).
//! - **Two wire formats.** Human-readable serializers (JSON, TOML) see a normalized decimal string;
//!   binary serializers (bincode, timely's inter-process format) see the 16-byte `Decimal` encoding, so
//!   a `Dec` crosses timely processes without `deserialize_any`.
//! - **A differential difference type.** `Dec` implements `Semigroup`, `Monoid`, `Abelian` and
//!   `Multiply<isize>`, so exact decimal sums can be maintained as diffs that cancel exactly.

use std::fmt;
use std::str::FromStr;

use differential_dataflow::difference::{Abelian, IsZero, Monoid, Multiply, Semigroup};
use rust_decimal::Decimal;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An exact, normalized decimal number.
///
/// Every constructor normalizes, so equal numbers have equal bits. Differential sorts and
/// consolidates records by their `Ord` and `Eq` all the time, so both take a short cut:
/// `Eq` compares the 16-byte encoding, and `Ord` compares the integer mantissas once they are at
/// one scale (falling back to `Decimal`'s comparison when rescaling would overflow).
#[derive(Clone, Copy, Default)]
pub struct Dec(Decimal);

impl PartialEq for Dec {
    fn eq(&self, other: &Dec) -> bool {
        self.0.serialize() == other.0.serialize()
    }
}

impl std::hash::Hash for Dec {
    /// The bits `Eq` compares, so equal values hash alike.
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.serialize().hash(state);
    }
}

impl Eq for Dec {}

impl Ord for Dec {
    fn cmp(&self, other: &Dec) -> std::cmp::Ordering {
        let (scale, other_scale) = (self.0.scale(), other.0.scale());
        let (mantissa, other_mantissa) = (self.0.mantissa(), other.0.mantissa());
        // A scale is at most 28, so 10^28 fits an i128; a mantissa times it may not.
        let rescaled = match scale.cmp(&other_scale) {
            std::cmp::Ordering::Equal => Some((mantissa, other_mantissa)),
            std::cmp::Ordering::Less => {
                mantissa.checked_mul(10i128.pow(other_scale - scale)).map(|m| (m, other_mantissa))
            }
            std::cmp::Ordering::Greater => {
                other_mantissa.checked_mul(10i128.pow(scale - other_scale)).map(|m| (mantissa, m))
            }
        };
        match rescaled {
            Some((a, b)) => a.cmp(&b),
            None => self.0.cmp(&other.0),
        }
    }
}

impl PartialOrd for Dec {
    fn partial_cmp(&self, other: &Dec) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Why a text could not be read as a [`Dec`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecError {
    /// The text is not a decimal number at all (`"abc"`, `"NaN"`, `""`).
    #[error("not a decimal number: {0:?}")]
    NotANumber(String),
    /// The number is valid but cannot be held exactly, or exceeds [`Dec::MAX_INPUT`].
    #[error("number out of range: {0:?}")]
    OutOfRange(String),
}

/// The map key serde_json uses to hand over the exact text of a number under `arbitrary_precision`.
const JSON_NUMBER_TOKEN: &str = "$serde_json::private::Number";

impl Dec {
    /// Zero.
    pub const ZERO: Dec = Dec(Decimal::ZERO);
    /// One.
    pub const ONE: Dec = Dec(Decimal::ONE);
    /// Largest accepted input magnitude (exclusive): 10^20. Sums of up to ~10^8 such inputs still fit
    /// the 96-bit mantissa, which is why [`Semigroup::plus_equals`] can never saturate in practice.
    pub const MAX_INPUT: Dec = Dec(Decimal::from_parts(1_661_992_960, 1_808_227_885, 5, false, 0));

    /// Wraps a `Decimal`, normalizing it.
    pub fn new(value: Decimal) -> Dec {
        Dec(value.normalize())
    }

    /// Parses decimal text exactly: plain (`-0.00012`) or scientific (`1.2e-4`) notation.
    ///
    /// Fails on anything that is not a finite number (`NaN`, `inf`, `""`), on values that would need
    /// rounding to fit, and on magnitudes of [`Dec::MAX_INPUT`] or more (`1e400`).
    pub fn parse(text: &str) -> Result<Dec, DecError> {
        let trimmed = text.trim();
        let is_numeric_shape = !trimmed.is_empty()
            && trimmed.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'))
            && trimmed.chars().any(|c| c.is_ascii_digit());
        if !is_numeric_shape {
            return Err(DecError::NotANumber(truncate(text)));
        }
        let parsed = if trimmed.contains(['e', 'E']) {
            Decimal::from_scientific(trimmed)
        } else {
            Decimal::from_str_exact(trimmed.strip_prefix('+').unwrap_or(trimmed))
        };
        let value = parsed.map_err(|_| DecError::OutOfRange(truncate(text)))?;
        let dec = Dec::new(value);
        if dec.abs() >= Dec::MAX_INPUT {
            return Err(DecError::OutOfRange(truncate(text)));
        }
        Ok(dec)
    }

    /// Converts an `f64` through its shortest round-trip text, so `0.08` becomes exactly `0.08`.
    /// Used only where a format hands us a float (TOML); never for arithmetic.
    pub fn from_f64_text(value: f64) -> Result<Dec, DecError> {
        if !value.is_finite() {
            return Err(DecError::NotANumber(value.to_string()));
        }
        Dec::parse(&format!("{value}"))
    }

    /// The wrapped `Decimal`.
    pub fn inner(self) -> Decimal {
        self.0
    }

    /// Absolute value.
    pub fn abs(self) -> Dec {
        Dec(self.0.abs())
    }

    /// True for exactly zero.
    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    /// True for values strictly greater than zero.
    pub fn is_positive(self) -> bool {
        self.0 > Decimal::ZERO
    }

    /// The larger of two values.
    pub fn max(self, other: Dec) -> Dec {
        if self >= other { self } else { other }
    }

    /// Exact sum, `None` on overflow.
    pub fn checked_add(self, rhs: Dec) -> Option<Dec> {
        self.0.checked_add(rhs.0).map(Dec::new)
    }

    /// Exact difference, `None` on overflow.
    pub fn checked_sub(self, rhs: Dec) -> Option<Dec> {
        self.0.checked_sub(rhs.0).map(Dec::new)
    }

    /// Exact product, `None` on overflow. Products that need more than 28 fractional digits are
    /// rounded (banker's rounding) to 28 digits, the most a `Decimal` holds.
    pub fn checked_mul(self, rhs: Dec) -> Option<Dec> {
        self.0.checked_mul(rhs.0).map(Dec::new)
    }

    /// Quotient, `None` on division by zero or overflow. Quotients that do not terminate within 28
    /// significant digits are rounded (banker's rounding).
    pub fn checked_div(self, rhs: Dec) -> Option<Dec> {
        self.0.checked_div(rhs.0).map(Dec::new)
    }

    /// Rounded toward zero to `decimals` places: a size never exceeds what was asked for.
    pub fn truncate_to(self, decimals: u32) -> Dec {
        Dec::new(self.0.round_dp_with_strategy(decimals, rust_decimal::RoundingStrategy::ToZero))
    }

    /// The smaller of two values.
    pub fn min(self, other: Dec) -> Dec {
        if self <= other { self } else { other }
    }

    /// The nearest `f64`, for the few definitions that ask for floating point.
    pub fn to_f64(self) -> f64 {
        use rust_decimal::prelude::ToPrimitive;
        self.0.to_f64().unwrap_or(f64::NAN)
    }
}

fn truncate(text: &str) -> String {
    text.chars().take(40).collect()
}

impl From<i64> for Dec {
    fn from(value: i64) -> Dec {
        Dec(Decimal::from(value))
    }
}

impl From<u64> for Dec {
    fn from(value: u64) -> Dec {
        Dec(Decimal::from(value))
    }
}

impl From<Decimal> for Dec {
    fn from(value: Decimal) -> Dec {
        Dec::new(value)
    }
}

impl FromStr for Dec {
    type Err = DecError;
    fn from_str(text: &str) -> Result<Dec, DecError> {
        Dec::parse(text)
    }
}

impl fmt::Display for Dec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for Dec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// Room for the longest text of a `Dec`: a sign, 29 digits, a point and 27 leading zeros.
const TEXT_CAPACITY: usize = 64;

impl Dec {
    /// The value's text, written into `buffer`: the mantissa's digits with the point `scale`
    /// places from the right. For a normalized value that is exactly what `Decimal`'s `Display`
    /// writes, without its formatting machinery (outputs serialize many of these).
    fn text(self, buffer: &mut [u8; TEXT_CAPACITY]) -> &str {
        let mut digits = itoa::Buffer::new();
        let digits = digits.format(self.0.mantissa().unsigned_abs()).as_bytes();
        let scale = self.0.scale() as usize;
        let mut len = 0;
        let mut push = |bytes: &[u8]| {
            buffer[len..len + bytes.len()].copy_from_slice(bytes);
            len += bytes.len();
        };
        if self.0.is_sign_negative() && !self.0.is_zero() {
            push(b"-");
        }
        if scale == 0 {
            push(digits);
        } else if digits.len() > scale {
            let (whole, fraction) = digits.split_at(digits.len() - scale);
            push(whole);
            push(b".");
            push(fraction);
        } else {
            push(b"0.");
            for _ in digits.len()..scale {
                push(b"0");
            }
            push(digits);
        }
        // Only ASCII digits, signs and points were written.
        std::str::from_utf8(&buffer[..len]).unwrap_or_default()
    }
}

impl Serialize for Dec {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(self.text(&mut [0; TEXT_CAPACITY]))
        } else {
            serializer.serialize_bytes(&self.0.serialize())
        }
    }
}

impl<'de> Deserialize<'de> for Dec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Dec, D::Error> {
        if deserializer.is_human_readable() {
            deserializer.deserialize_any(DecVisitor)
        } else {
            deserializer.deserialize_bytes(BinaryDecVisitor)
        }
    }
}

/// Reads a `Dec` from a JSON/TOML string or number, exactly.
struct DecVisitor;

impl<'de> Visitor<'de> for DecVisitor {
    type Value = Dec;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a decimal number or a string holding one")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Dec, E> {
        Dec::parse(value).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Dec, E> {
        Dec::parse(&value.to_string()).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Dec, E> {
        Dec::parse(&value.to_string()).map_err(E::custom)
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Dec, E> {
        Dec::from_f64_text(value).map_err(E::custom)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Dec, A::Error> {
        let text = number_text_from_map(&mut map)?;
        Dec::parse(&text).map_err(de::Error::custom)
    }
}

/// Extracts the exact number text serde_json hands over as a one-entry map under
/// `arbitrary_precision`; any other map is a type error.
pub(crate) fn number_text_from_map<'de, A: MapAccess<'de>>(map: &mut A) -> Result<String, A::Error> {
    match map.next_key::<String>()? {
        Some(key) if key == JSON_NUMBER_TOKEN => map.next_value::<String>(),
        _ => Err(de::Error::custom("expected a number, found an object")),
    }
}

/// Reads the 16-byte binary encoding used between timely processes.
struct BinaryDecVisitor;

impl<'de> Visitor<'de> for BinaryDecVisitor {
    type Value = Dec;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("16 bytes of a serialized Decimal")
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<Dec, E> {
        let array: [u8; 16] = bytes.try_into().map_err(|_| E::invalid_length(bytes.len(), &self))?;
        Ok(Dec::new(Decimal::deserialize(array)))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Dec, A::Error> {
        let mut array = [0u8; 16];
        for (i, byte) in array.iter_mut().enumerate() {
            *byte = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(i, &self))?;
        }
        Ok(Dec::new(Decimal::deserialize(array)))
    }
}

// --- differential difference type -------------------------------------------------------------

impl IsZero for Dec {
    fn is_zero(&self) -> bool {
        self.0.is_zero()
    }
}

impl Semigroup for Dec {
    /// Exact addition. Saturation cannot happen for sums of ingested values (see [`Dec::MAX_INPUT`]).
    fn plus_equals(&mut self, rhs: &Dec) {
        self.0 = self.0.saturating_add(rhs.0).normalize();
    }
}

impl Monoid for Dec {
    fn zero() -> Dec {
        Dec::ZERO
    }
}

impl Abelian for Dec {
    fn negate(&mut self) {
        // Normalized, so that zero never becomes a negative zero.
        self.0 = (-self.0).normalize();
    }
}

impl Multiply<isize> for Dec {
    type Output = Dec;
    fn multiply(self, rhs: &isize) -> Dec {
        Dec::new(self.0.saturating_mul(Decimal::from(*rhs as i64)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_scientific_and_signed_text_exactly() {
        assert_eq!(Dec::parse("0.0001").map(|d| d.to_string()), Ok("0.0001".to_string()));
        assert_eq!(Dec::parse("1.2e-4").map(|d| d.to_string()), Ok("0.00012".to_string()));
        assert_eq!(Dec::parse("+10.500").map(|d| d.to_string()), Ok("10.5".to_string()));
        assert_eq!(Dec::parse("-3").map(|d| d.to_string()), Ok("-3".to_string()));
    }

    #[test]
    fn rejects_non_numbers_and_out_of_range() {
        for bad in ["", "NaN", "nan", "inf", "-Infinity", "abc", "1.2.3", "--1", "e5"] {
            assert!(Dec::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        for huge in ["1e400", "1e20", "-1e20", "100000000000000000000", "0.1234567890123456789012345678901"] {
            assert!(matches!(Dec::parse(huge), Err(DecError::OutOfRange(_))), "{huge:?} should be out of range");
        }
        assert!(Dec::parse("99999999999999999999").is_ok());
    }

    #[test]
    fn json_numbers_and_strings_are_read_exactly() {
        let from_number: Dec = serde_json::from_str("0.1").unwrap();
        let from_string: Dec = serde_json::from_str("\"0.10\"").unwrap();
        assert_eq!(from_number, from_string);
        assert_eq!(serde_json::to_string(&from_number).unwrap(), "\"0.1\"");
        let tiny: Dec = serde_json::from_str("0.00000000000000000001").unwrap();
        assert_eq!(tiny.to_string(), "0.00000000000000000001");
        assert!(serde_json::from_str::<Dec>("1e400").is_err());
        assert!(serde_json::from_str::<Dec>("{\"a\":1}").is_err());
    }

    #[test]
    fn toml_floats_are_read_as_written() {
        #[derive(Deserialize)]
        struct Holder {
            x: Dec,
        }
        let holder: Holder = toml::from_str("x = 0.08").unwrap();
        assert_eq!(holder.x, Dec::parse("0.08").unwrap());
    }

    #[test]
    fn normalization_makes_equal_values_identical() {
        let a = Dec::parse("10.50").unwrap();
        let b = Dec::parse("10.5").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), b.to_string());
    }

    #[test]
    fn diffs_cancel_exactly() {
        let mut sum = Dec::ZERO;
        let values = ["0.1", "0.2", "-0.3", "1234.5678", "-1234.5678"];
        for v in values {
            sum.plus_equals(&Dec::parse(v).unwrap());
        }
        assert!(IsZero::is_zero(&sum));
        assert_eq!(Dec::parse("0.1").unwrap().multiply(&-3), Dec::parse("-0.3").unwrap());
    }

    #[test]
    fn zero_is_one_value_however_it_is_reached() {
        let mut negated = Dec::ZERO;
        negated.negate();
        let cancelled = Dec::parse("0.10").unwrap().checked_sub(Dec::parse("0.1").unwrap()).unwrap();
        let signed = Dec::parse("-0.000").unwrap();
        for zero in [negated, cancelled, signed, Dec::ZERO.multiply(&-1)] {
            assert_eq!(zero, Dec::ZERO);
            assert_eq!(zero.to_string(), "0");
        }
    }

    #[test]
    fn binary_encoding_round_trips_through_bincode() {
        let value = Dec::parse("-1234.000056").unwrap();
        let bytes = bincode::serialize(&value).unwrap();
        assert_eq!(bincode::deserialize::<Dec>(&bytes).unwrap(), value);
        let pair = (Dec::parse("0.5").unwrap(), 7u64);
        let bytes = bincode::serialize(&pair).unwrap();
        assert_eq!(bincode::deserialize::<(Dec, u64)>(&bytes).unwrap(), pair);
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(text in ".{0,40}") {
            let _ = Dec::parse(&text);
        }

        /// Equality is bitwise, so it must agree with the numeric order for values reached by
        /// any constructor or operation: equal numbers, equal bits.
        #[test]
        fn equality_agrees_with_the_numeric_order(
            a in -1_000_000_000i64..1_000_000_000, sa in 0u32..12,
            b in -1_000_000_000i64..1_000_000_000, sb in 0u32..12,
        ) {
            let (x, y) = (Dec::new(Decimal::new(a, sa)), Dec::new(Decimal::new(b, sb)));
            let results = [
                x, y,
                x.checked_add(y).unwrap(), x.checked_sub(y).unwrap(), x.checked_mul(y).unwrap(),
                y.checked_add(x).unwrap().checked_sub(y).unwrap(), x.multiply(&-1).multiply(&-1),
                { let mut n = x; n.negate(); n.negate(); n },
                { let mut s = x; s.plus_equals(&y); s.plus_equals(&y.multiply(&-1)); s },
                bincode::deserialize::<Dec>(&bincode::serialize(&x).unwrap()).unwrap(),
                Dec::parse(&format!("{x}000")).unwrap_or(x),
            ];
            for p in &results {
                for q in &results {
                    proptest::prop_assert_eq!(p == q, p.cmp(q) == std::cmp::Ordering::Equal, "{} and {}", p, q);
                    proptest::prop_assert_eq!(p.cmp(q), p.inner().cmp(&q.inner()), "{} and {}", p, q);
                }
            }
        }

        /// The short cut in `Ord` agrees with `Decimal`'s order, also where rescaling overflows
        /// (mantissas up to 96 bits, scales up to 28).
        #[test]
        fn order_agrees_with_decimal(
            a in proptest::prop_oneof![proptest::num::i128::ANY, -1_000_000_000i128..1_000_000_000], sa in 0u32..=28,
            b in proptest::prop_oneof![proptest::num::i128::ANY, -1_000_000_000i128..1_000_000_000], sb in 0u32..=28,
        ) {
            let bounded = |m: i128, s: u32| Decimal::try_from_i128_with_scale(m % (1i128 << 96), s).ok();
            if let (Some(x), Some(y)) = (bounded(a, sa), bounded(b, sb)) {
                let (p, q) = (Dec::new(x), Dec::new(y));
                proptest::prop_assert_eq!(p.cmp(&q), x.cmp(&y), "{} and {}", x, y);
                proptest::prop_assert_eq!(p == q, x == y, "{} and {}", x, y);
            }
        }

        /// The serialized text is `Decimal`'s own, for every normalized value.
        #[test]
        fn serialized_text_is_the_display_text(
            m in proptest::prop_oneof![proptest::num::i128::ANY, -1_000_000_000i128..1_000_000_000], scale in 0u32..=28,
        ) {
            if let Ok(value) = Decimal::try_from_i128_with_scale(m % (1i128 << 96), scale) {
                let dec = Dec::new(value);
                proptest::prop_assert_eq!(serde_json::to_string(&dec).unwrap(), format!("\"{}\"", value.normalize()));
            }
        }

        #[test]
        fn display_round_trips(mantissa in -1_000_000_000_000i64..1_000_000_000_000, scale in 0u32..18) {
            let dec = Dec::new(Decimal::new(mantissa, scale));
            proptest::prop_assert_eq!(Dec::parse(&dec.to_string()), Ok(dec));
        }
    }
}
