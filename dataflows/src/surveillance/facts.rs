//! The inputs of the surveillance dataflow: order events and trades, each with the logical time and
//! sequence that order them. Windows are measured on these times, so they are part of the data.

use nexus_model::market::{OrderEvent, Side, Trade};
use serde::{Deserialize, Serialize};

use crate::Time;

/// One order event as it arrived.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OrderFact {
    /// Logical time of arrival, µs: what every window is measured on.
    pub time: Time,
    /// Arrival sequence: orders the events of one logical time.
    pub seq: u64,
    /// The event.
    pub event: OrderEvent,
}

/// One trade as it arrived.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TradeFact {
    /// Logical time of arrival, µs.
    pub time: Time,
    /// Arrival sequence: orders the trades of one logical time.
    pub seq: u64,
    /// The trade.
    pub trade: Trade,
}

impl TradeFact {
    /// The account on the aggressor's side, where the venue reveals it.
    pub fn aggressive_account(&self) -> Option<&str> {
        match self.trade.aggressor {
            Side::Buy => self.trade.buyer.as_deref(),
            Side::Sell => self.trade.seller.as_deref(),
        }
    }

    /// Whether `account` is on `side` of this trade (as buyer or seller, aggressive or not).
    pub fn has_on_side(&self, account: &str, side: Side) -> bool {
        match side {
            Side::Buy => self.trade.buyer.as_deref() == Some(account),
            Side::Sell => self.trade.seller.as_deref() == Some(account),
        }
    }
}

/// The other side.
pub fn opposite(side: Side) -> Side {
    match side {
        Side::Buy => Side::Sell,
        Side::Sell => Side::Buy,
    }
}
