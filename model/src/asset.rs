//! Canonical assets and the mapping from venue symbols to them (DESIGN section 4, "Symbols").

use std::fmt;

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

/// A canonical base asset (`BTC`): the `symbol` of every output record. Quote currencies USDT, USDC
/// and USD are treated as equivalent, so `BTCUSDT`, `BTC-USDT-SWAP` and `BTC` are all `BTC`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Asset(CompactString);

/// A venue symbol that names no asset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid symbol {0:?}")]
pub struct InvalidSymbol(pub String);

/// Quote suffixes stripped from concatenated symbols, longest first so `USDT` wins over `USD`.
const QUOTE_SUFFIXES: [&str; 4] = ["USDT", "USDC", "PERP", "USD"];

impl Asset {
    /// Maps any venue's symbol to its canonical asset: `BTCUSDT` (Binance, Bybit), `BTC-USDT-SWAP`
    /// (OKX), `BTC` (Hyperliquid, scanner) all give `BTC`. Case is folded to upper case.
    pub fn from_venue_symbol(symbol: &str) -> Result<Asset, InvalidSymbol> {
        let valid = !symbol.is_empty()
            && symbol.len() <= 40
            && symbol.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/'));
        if !valid {
            return Err(InvalidSymbol(symbol.chars().take(40).collect()));
        }
        let upper = symbol.to_ascii_uppercase();
        let base = match upper.split(['-', '_', '/']).next() {
            Some(first) if first.len() < upper.len() => first,
            _ => QUOTE_SUFFIXES
                .iter()
                .find_map(|suffix| upper.strip_suffix(suffix).filter(|rest| !rest.is_empty()))
                .unwrap_or(&upper),
        };
        if base.is_empty() {
            return Err(InvalidSymbol(symbol.to_string()));
        }
        Ok(Asset(CompactString::from(base)))
    }

    /// The asset's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Asset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asset(symbol: &str) -> String {
        Asset::from_venue_symbol(symbol).map(|a| a.to_string()).unwrap_or_else(|e| e.to_string())
    }

    #[test]
    fn maps_every_venue_format_to_the_canonical_asset() {
        assert_eq!(asset("BTCUSDT"), "BTC");
        assert_eq!(asset("ETHUSDC"), "ETH");
        assert_eq!(asset("BTC-USDT-SWAP"), "BTC");
        assert_eq!(asset("BTC-USD-SWAP"), "BTC");
        assert_eq!(asset("BTC"), "BTC");
        assert_eq!(asset("btcusdt"), "BTC");
        assert_eq!(asset("1000PEPEUSDT"), "1000PEPE");
        assert_eq!(asset("BTCPERP"), "BTC");
        assert_eq!(asset("USDT"), "USDT");
    }

    #[test]
    fn rejects_empty_and_odd_symbols() {
        assert!(Asset::from_venue_symbol("").is_err());
        assert!(Asset::from_venue_symbol("BTC USDT").is_err());
        assert!(Asset::from_venue_symbol("-USDT").is_err());
    }
}
