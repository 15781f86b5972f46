//! Checked value types for prices and quantities, in the manner of NautilusTrader's `Price` and
//! `Quantity`: the constructor is the only way in, and it enforces the invariant once so that no
//! downstream computation has to re-check it.

use serde::{Deserialize, Serialize};

use crate::decimal::Dec;

/// Why a value was refused by a checked constructor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// A price must be strictly positive.
    #[error("price must be > 0, got {0}")]
    NonPositivePrice(Dec),
    /// A size must be strictly positive.
    #[error("quantity must be > 0, got {0}")]
    NonPositiveQuantity(Dec),
}

/// A strictly positive price in quote currency per unit of base asset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "Dec", into = "Dec")]
pub struct Price(Dec);

impl Price {
    /// Accepts `value` if it is > 0.
    pub fn new(value: Dec) -> Result<Price, ValueError> {
        if value.is_positive() { Ok(Price(value)) } else { Err(ValueError::NonPositivePrice(value)) }
    }

    /// The price as a plain decimal.
    pub fn value(self) -> Dec {
        self.0
    }
}

impl TryFrom<Dec> for Price {
    type Error = ValueError;
    fn try_from(value: Dec) -> Result<Price, ValueError> {
        Price::new(value)
    }
}

impl From<Price> for Dec {
    fn from(price: Price) -> Dec {
        price.0
    }
}

/// A strictly positive size in base-asset units (orders, fills, book levels).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "Dec", into = "Dec")]
pub struct Quantity(Dec);

impl Quantity {
    /// Accepts `value` if it is > 0.
    pub fn new(value: Dec) -> Result<Quantity, ValueError> {
        if value.is_positive() { Ok(Quantity(value)) } else { Err(ValueError::NonPositiveQuantity(value)) }
    }

    /// The quantity as a plain decimal.
    pub fn value(self) -> Dec {
        self.0
    }
}

impl TryFrom<Dec> for Quantity {
    type Error = ValueError;
    fn try_from(value: Dec) -> Result<Quantity, ValueError> {
        Quantity::new(value)
    }
}

impl From<Quantity> for Dec {
    fn from(quantity: Quantity) -> Dec {
        quantity.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_enforce_positivity() {
        assert!(Price::new(Dec::parse("0.01").unwrap()).is_ok());
        assert!(Price::new(Dec::ZERO).is_err());
        assert!(Quantity::new(Dec::parse("-1").unwrap()).is_err());
        assert!(serde_json::from_str::<Quantity>("\"0\"").is_err());
        assert!(serde_json::from_str::<Price>("\"12.5\"").is_ok());
    }
}
