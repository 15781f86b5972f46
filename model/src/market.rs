//! Market-data and execution events: books, trades, order events and our own fills. Their dataflows
//! (opportunities, surveillance, positions) arrive in later issues; the types and their validation
//! live here so that every subject of DESIGN section 4 is decoded and checked today.

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

use crate::asset::Asset;
use crate::decimal::Dec;
use crate::money::{Price, Quantity};
use crate::venue::Venue;

/// Buy or sell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// Buying the base asset.
    Buy,
    /// Selling the base asset.
    Sell,
}

impl Side {
    /// `buy` or `sell`, as serialized.
    pub fn name(self) -> &'static str {
        match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }
    }

    /// The side that undoes this one.
    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }
}

/// Top of a venue's order book for one symbol.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BookTop {
    /// The venue.
    pub venue: Venue,
    /// The canonical asset.
    pub asset: Asset,
    /// Best bid price.
    pub bid: Price,
    /// Size at the best bid, base-asset units.
    pub bid_qty: Quantity,
    /// Best ask price.
    pub ask: Price,
    /// Size at the best ask, base-asset units.
    pub ask_qty: Quantity,
    /// Exchange timestamp in milliseconds, when given.
    pub ts_ms: Option<u64>,
}

/// A public trade print.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Trade {
    /// The venue.
    pub venue: Venue,
    /// Venue trade id: evidence in alerts.
    pub trade_id: CompactString,
    /// The canonical asset.
    pub asset: Asset,
    /// Trade price.
    pub price: Price,
    /// Trade size, base-asset units.
    pub qty: Quantity,
    /// The side of the taker.
    pub aggressor: Side,
    /// Buyer account id, where the venue reveals it.
    pub buyer: Option<CompactString>,
    /// Seller account id, where the venue reveals it.
    pub seller: Option<CompactString>,
    /// Exchange timestamp in milliseconds.
    pub ts_ms: u64,
}

/// What happened to an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderEventKind {
    /// Placed.
    New,
    /// Price or size changed; `qty` is the new total size.
    Amend,
    /// Cancelled by the account.
    Cancel,
    /// (Partially) filled.
    Fill,
    /// Expired by the venue.
    Expire,
}

/// One event in an order's life on a venue's order feed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OrderEvent {
    /// The venue.
    pub venue: Venue,
    /// Venue order id: evidence in alerts.
    pub order_id: CompactString,
    /// The account that owns the order.
    pub account: CompactString,
    /// The canonical asset.
    pub asset: Asset,
    /// Order side.
    pub side: Side,
    /// What happened.
    pub kind: OrderEventKind,
    /// Limit price.
    pub price: Price,
    /// The order's (new) total size.
    pub qty: Quantity,
    /// Size filled by this event (fills only).
    pub fill_qty: Option<Quantity>,
    /// Price of this fill (fills only).
    pub fill_price: Option<Price>,
    /// Exchange timestamp in milliseconds.
    pub ts_ms: u64,
}

/// A fill of one of our own orders (`exec.fills.<venue>`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Fill {
    /// The venue.
    pub venue: Venue,
    /// Venue fill id, unique per venue.
    pub fill_id: CompactString,
    /// The client order id we sent, linking the fill to an arbitrage leg.
    pub client_order_id: CompactString,
    /// Our account that traded.
    pub account: CompactString,
    /// The canonical asset.
    pub asset: Asset,
    /// Buy (+) or sell (-) for positions.
    pub side: Side,
    /// Fill price.
    pub price: Price,
    /// Fill size, base-asset units.
    pub qty: Quantity,
    /// Fee paid (negative for a rebate), quote currency.
    pub fee: Dec,
    /// Exchange timestamp in milliseconds.
    pub ts_ms: u64,
}
