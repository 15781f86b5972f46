//! `feeds.book.<venue>`, `feeds.trades.<venue>`, `feeds.orders.<venue>` and `exec.fills.<venue>`.

use compact_str::CompactString;
use nexus_model::market::{BookTop, Fill, OrderEvent, OrderEventKind, Side, Trade};
use nexus_model::{Dec, Price, Quantity, Venue};
use serde::Deserialize;

use super::Input;
use super::error::DecodeError;
use super::fields::{self, millis, opt_millis};

/// The normalized top-of-book format.
#[derive(Deserialize)]
struct NormalizedBook<'a> {
    symbol: &'a str,
    bid: Price,
    bid_qty: Quantity,
    ask: Price,
    ask_qty: Quantity,
    #[serde(default, deserialize_with = "opt_millis")]
    ts_ms: Option<u64>,
}

/// Binance `bookTicker`.
#[derive(Deserialize)]
struct BookTicker<'a> {
    #[serde(rename = "s")]
    symbol: &'a str,
    #[serde(rename = "b")]
    bid: Price,
    #[serde(rename = "B")]
    bid_qty: Quantity,
    #[serde(rename = "a")]
    ask: Price,
    #[serde(rename = "A")]
    ask_qty: Quantity,
    #[serde(rename = "T", default, deserialize_with = "opt_millis")]
    ts_ms: Option<u64>,
}

/// Decodes a book top in the normalized format, or a Binance `bookTicker` on `feeds.book.binance`.
pub fn book(venue: Venue, payload: &[u8]) -> Result<Input, DecodeError> {
    let is_book_ticker = venue == Venue::Binance && {
        let probe: serde_json::Map<String, serde_json::Value> = fields::parse(payload)?;
        probe.contains_key("s") && !probe.contains_key("symbol")
    };
    let (symbol, bid, bid_qty, ask, ask_qty, ts_ms) = if is_book_ticker {
        let b: BookTicker = fields::parse(payload)?;
        (b.symbol, b.bid, b.bid_qty, b.ask, b.ask_qty, b.ts_ms)
    } else {
        let b: NormalizedBook = fields::parse(payload)?;
        (b.symbol, b.bid, b.bid_qty, b.ask, b.ask_qty, b.ts_ms)
    };
    if bid > ask {
        return Err(DecodeError::InvalidField(format!("crossed book: bid {} > ask {}", bid.value(), ask.value())));
    }
    Ok(Input::Book(BookTop { venue, asset: fields::asset(symbol)?, bid, bid_qty, ask, ask_qty, ts_ms }))
}

#[derive(Deserialize)]
struct TradePayload<'a> {
    trade_id: CompactString,
    symbol: &'a str,
    price: Price,
    qty: Quantity,
    aggressor: Side,
    #[serde(default)]
    buyer: Option<CompactString>,
    #[serde(default)]
    seller: Option<CompactString>,
    #[serde(deserialize_with = "millis")]
    ts_ms: u64,
}

/// Decodes a public trade.
pub fn trade(venue: Venue, payload: &[u8]) -> Result<Input, DecodeError> {
    let t: TradePayload = fields::parse(payload)?;
    Ok(Input::Trade(Trade {
        venue,
        trade_id: t.trade_id,
        asset: fields::asset(t.symbol)?,
        price: t.price,
        qty: t.qty,
        aggressor: t.aggressor,
        buyer: t.buyer.filter(|b| !b.is_empty()),
        seller: t.seller.filter(|s| !s.is_empty()),
        ts_ms: t.ts_ms,
    }))
}

#[derive(Deserialize)]
struct OrderPayload<'a> {
    order_id: CompactString,
    account: CompactString,
    symbol: &'a str,
    side: Side,
    kind: OrderEventKind,
    price: Price,
    qty: Quantity,
    #[serde(default)]
    fill_qty: Option<Quantity>,
    #[serde(default)]
    fill_price: Option<Price>,
    #[serde(deserialize_with = "millis")]
    ts_ms: u64,
}

/// Decodes an order event; a `fill` must say how much was filled.
pub fn order(venue: Venue, payload: &[u8]) -> Result<Input, DecodeError> {
    let o: OrderPayload = fields::parse(payload)?;
    if o.kind == OrderEventKind::Fill && o.fill_qty.is_none() {
        return Err(DecodeError::InvalidField("missing field `fill_qty` on a fill".to_string()));
    }
    Ok(Input::Order(OrderEvent {
        venue,
        order_id: o.order_id,
        account: o.account,
        asset: fields::asset(o.symbol)?,
        side: o.side,
        kind: o.kind,
        price: o.price,
        qty: o.qty,
        fill_qty: o.fill_qty,
        fill_price: o.fill_price,
        ts_ms: o.ts_ms,
    }))
}

#[derive(Deserialize)]
struct FillPayload<'a> {
    fill_id: CompactString,
    client_order_id: CompactString,
    account: CompactString,
    symbol: &'a str,
    side: Side,
    price: Price,
    qty: Quantity,
    fee: Dec,
    #[serde(deserialize_with = "millis")]
    ts_ms: u64,
}

/// Decodes a fill of one of our orders.
pub fn fill(venue: Venue, payload: &[u8]) -> Result<Input, DecodeError> {
    let f: FillPayload = fields::parse(payload)?;
    Ok(Input::Fill(Fill {
        venue,
        fill_id: f.fill_id,
        client_order_id: f.client_order_id,
        account: f.account,
        asset: fields::asset(f.symbol)?,
        side: f.side,
        price: f.price,
        qty: f.qty,
        fee: f.fee,
        ts_ms: f.ts_ms,
    }))
}
