//! Records of the risk gate (DESIGN 5.5): its decisions and the order intents it dispatches.

use std::fmt;

use compact_str::CompactString;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::LogicalTime;
use crate::asset::Asset;
use crate::decimal::Dec;
use crate::market::Side;
use crate::venue::Venue;

/// One arbitrage: an asset, the venue to be long on and the venue to be short on.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ArbId {
    /// The canonical asset.
    pub symbol: Asset,
    /// The venue bought (lower funding rate per hour).
    pub long_venue: Venue,
    /// The venue sold (higher funding rate per hour).
    pub short_venue: Venue,
}

impl fmt::Display for ArbId {
    /// `BTC:binance:bybit`: asset, long venue, short venue.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.symbol.as_str(), self.long_venue.name(), self.short_venue.name())
    }
}

/// A `decisions` record: whether the gate takes (or keeps) one candidate, and every check it fails.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Decision {
    /// `symbol:long_venue:short_venue`.
    pub arb_id: String,
    /// The canonical asset.
    pub symbol: Asset,
    /// The venue bought.
    pub long_venue: Venue,
    /// The venue sold.
    pub short_venue: Venue,
    /// True while the arbitrage is open (from the time it was accepted).
    pub accepted: bool,
    /// The checks it fails, empty when accepted (README, "Risk gate", lists the codes).
    pub reasons: Vec<String>,
}

/// Why an order is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderAction {
    /// Entering an arbitrage: both legs.
    Open,
    /// Leaving an arbitrage that stopped qualifying: both legs, reduce-only.
    Close,
    /// Undoing the one leg that filled when its twin did not: reduce-only.
    Unwind,
}

impl OrderAction {
    /// The action's name, as serialized.
    pub fn name(self) -> &'static str {
        match self {
            OrderAction::Open => "open",
            OrderAction::Close => "close",
            OrderAction::Unwind => "unwind",
        }
    }
}

/// How an order is priced. The gate sends market orders only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderType {
    /// Fill at the venue's best price.
    Market,
}

/// An `orders` record: one order intent, published on `exec.orders.<venue>`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OrderIntent {
    /// Deterministic id (see [`OrderIntent::client_id`]): the venue's and JetStream's dedup key.
    pub client_order_id: CompactString,
    /// The arbitrage the order belongs to.
    pub arb_id: String,
    /// Open, close or unwind.
    pub action: OrderAction,
    /// The account the order trades for (`risk.account`).
    pub account: CompactString,
    /// Where the order goes.
    pub venue: Venue,
    /// The canonical asset.
    pub symbol: Asset,
    /// Buy or sell.
    pub side: Side,
    /// Size in base-asset units, rounded down to `risk.qty_decimals`.
    pub qty: Dec,
    /// Always market.
    pub order_type: OrderType,
    /// True for close and unwind orders: they may only shrink a position.
    pub reduce_only: bool,
}

impl OrderIntent {
    /// The deterministic client order id of one leg: the first 15 bytes of SHA-256 over the
    /// arbitrage, the logical time it was opened, the action and the venue, as `nx` and 30 hex
    /// digits (32 characters, within every venue's limit). A replay or a restart gives the same id.
    pub fn client_id(arb: &ArbId, opened_us: LogicalTime, action: OrderAction, venue: Venue) -> CompactString {
        let mut hasher = Sha256::new();
        let arb = arb.to_string();
        for part in [arb.as_bytes(), &opened_us.to_le_bytes(), action.name().as_bytes(), venue.name().as_bytes()] {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part);
        }
        let digest = hasher.finalize();
        let mut id = CompactString::with_capacity(32);
        id.push_str("nx");
        for byte in &digest[..15] {
            id.push_str(&format!("{byte:02x}"));
        }
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn btc() -> Asset {
        Asset::from_venue_symbol("BTC").unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn client_ids_are_deterministic_and_distinguish_every_part() {
        let arb = ArbId { symbol: btc(), long_venue: Venue::Binance, short_venue: Venue::Bybit };
        let id = OrderIntent::client_id(&arb, 7, OrderAction::Open, Venue::Binance);
        assert_eq!(id, OrderIntent::client_id(&arb, 7, OrderAction::Open, Venue::Binance));
        assert_eq!(id.len(), 32);
        assert!(id.starts_with("nx"));
        let others = [
            OrderIntent::client_id(&arb, 8, OrderAction::Open, Venue::Binance),
            OrderIntent::client_id(&arb, 7, OrderAction::Close, Venue::Binance),
            OrderIntent::client_id(&arb, 7, OrderAction::Open, Venue::Bybit),
            OrderIntent::client_id(
                &ArbId { symbol: btc(), long_venue: Venue::Bybit, short_venue: Venue::Binance },
                7,
                OrderAction::Open,
                Venue::Binance,
            ),
        ];
        assert!(others.iter().all(|other| *other != id));
    }

    #[test]
    fn arb_ids_read_asset_long_short() {
        let arb = ArbId { symbol: btc(), long_venue: Venue::Okx, short_venue: Venue::Hyperliquid };
        assert_eq!(arb.to_string(), "BTC:okx:hyperliquid");
    }
}
