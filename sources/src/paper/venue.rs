//! The paper venue's matching: market orders fill whole at the top of book (the ask for a buy, the
//! bid for a sell), at the venue's mark price when it has no book, or not at all.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{DefaultHasher, Hash, Hasher};

use compact_str::CompactString;
use nexus_model::market::{BookTop, Fill, Side};
use nexus_model::records::OrderIntent;
use nexus_model::{Asset, Dec, Price, Quantity, Venue};

use super::config::PaperVenueConfig;

/// What became of an order.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Filled whole.
    Filled(Fill),
    /// Not filled, and why.
    Rejected(String),
    /// An order with this client order id was already handled: ignored.
    Duplicate,
}

/// A paper venue for all four venues: books, mark prices, our positions, the orders it has seen.
#[derive(Debug)]
pub struct PaperVenue {
    config: PaperVenueConfig,
    books: BTreeMap<(Venue, Asset), BookTop>,
    marks: BTreeMap<(Venue, Asset), Dec>,
    positions: BTreeMap<(CompactString, Venue, Asset), Dec>,
    /// Cash flows per account: sells add `price * qty`, buys subtract it, fees subtract.
    cash: BTreeMap<CompactString, Dec>,
    seen: BTreeSet<CompactString>,
}

impl PaperVenue {
    pub(super) fn new(config: PaperVenueConfig) -> PaperVenue {
        PaperVenue {
            config,
            books: BTreeMap::new(),
            marks: BTreeMap::new(),
            positions: BTreeMap::new(),
            cash: BTreeMap::new(),
            seen: BTreeSet::new(),
        }
    }

    /// The configured delay between an order and its fill.
    pub fn latency(&self) -> std::time::Duration {
        self.config.latency
    }

    /// A new top of book.
    pub fn book(&mut self, book: BookTop) {
        self.books.insert((book.venue, book.asset.clone()), book);
    }

    /// A new mark price of `asset` on `venue`.
    pub fn mark(&mut self, venue: Venue, asset: Asset, price: Dec) {
        self.marks.insert((venue, asset), price);
    }

    /// Handles one order sent at exchange time `ts_ms`.
    pub fn order(&mut self, order: &OrderIntent, ts_ms: u64) -> Outcome {
        if !self.seen.insert(order.client_order_id.clone()) {
            return Outcome::Duplicate;
        }
        if self.config.reject_venues.contains(&order.venue) {
            return Outcome::Rejected(format!("{} rejects every order", order.venue));
        }
        if self.rejects(&order.client_order_id) {
            return Outcome::Rejected("random reject".to_string());
        }
        let key = (order.account.clone(), order.venue, order.symbol.clone());
        let held = self.positions.get(&key).copied().unwrap_or(Dec::ZERO);
        let qty = if order.reduce_only {
            // Only what reduces the position: a buy against a short, a sell against a long.
            let reducible = match order.side {
                Side::Buy if held < Dec::ZERO => held.abs(),
                Side::Sell if held > Dec::ZERO => held,
                _ => Dec::ZERO,
            };
            order.qty.min(reducible)
        } else {
            order.qty
        };
        let Ok(qty) = Quantity::new(qty) else {
            return Outcome::Rejected("reduce-only order with nothing to reduce".to_string());
        };
        let Some(price) = self.price(order.venue, &order.symbol, order.side) else {
            return Outcome::Rejected(format!("no book or mark price for {} on {}", order.symbol, order.venue));
        };
        let notional = price.value().checked_mul(qty.value()).unwrap_or(Dec::ZERO);
        let fee = notional.checked_mul(self.fee(order.venue)).unwrap_or(Dec::ZERO);
        let signed = match order.side {
            Side::Buy => qty.value(),
            Side::Sell => Dec::ZERO.checked_sub(qty.value()).unwrap_or(Dec::ZERO),
        };
        let position = self.positions.entry(key).or_insert(Dec::ZERO);
        *position = position.checked_add(signed).unwrap_or(*position);
        let flow = match order.side {
            Side::Buy => Dec::ZERO.checked_sub(notional),
            Side::Sell => Some(notional),
        };
        let cash = self.cash.entry(order.account.clone()).or_insert(Dec::ZERO);
        *cash = flow.and_then(|f| f.checked_sub(fee)).and_then(|f| cash.checked_add(f)).unwrap_or(*cash);
        Outcome::Filled(Fill {
            venue: order.venue,
            fill_id: CompactString::from(format!("pf-{}", order.client_order_id)),
            client_order_id: order.client_order_id.clone(),
            account: order.account.clone(),
            asset: order.symbol.clone(),
            side: order.side,
            price,
            qty,
            fee,
            ts_ms,
        })
    }

    /// Profit and loss of `account`: its cash flows plus its positions at their venue's mark (or
    /// mid) price. Positions without any price are left out.
    pub fn pnl(&self, account: &str) -> Dec {
        let mut pnl = self.cash.get(account).copied().unwrap_or(Dec::ZERO);
        for ((holder, venue, asset), qty) in &self.positions {
            if holder != account {
                continue;
            }
            let mark = self.marks.get(&(*venue, asset.clone())).copied().or_else(|| {
                let book = self.books.get(&(*venue, asset.clone()))?;
                book.bid.value().checked_add(book.ask.value())?.checked_div(Dec::from(2i64))
            });
            if let Some(value) = mark.and_then(|m| m.checked_mul(*qty)) {
                pnl = pnl.checked_add(value).unwrap_or(pnl);
            }
        }
        pnl
    }

    fn price(&self, venue: Venue, asset: &Asset, side: Side) -> Option<Price> {
        match self.books.get(&(venue, asset.clone())) {
            Some(book) => Some(match side {
                Side::Buy => book.ask,
                Side::Sell => book.bid,
            }),
            None => self.marks.get(&(venue, asset.clone())).and_then(|mark| Price::new(*mark).ok()),
        }
    }

    fn fee(&self, venue: Venue) -> Dec {
        Venue::ALL.iter().position(|v| *v == venue).map_or(Dec::ZERO, |i| self.config.taker_fees[i])
    }

    /// Whether the reject draw for `client_order_id` falls under the reject rate.
    fn rejects(&self, client_order_id: &str) -> bool {
        if self.config.reject_rate <= 0.0 {
            return false;
        }
        let mut hasher = DefaultHasher::new();
        (self.config.seed, client_order_id).hash(&mut hasher);
        (hasher.finish() as f64 / u64::MAX as f64) < self.config.reject_rate
    }
}

#[cfg(test)]
mod tests {
    use nexus_model::records::{ArbId, OrderAction, OrderType};

    use super::*;

    fn d(text: &str) -> Dec {
        Dec::parse(text).unwrap()
    }

    fn btc() -> Asset {
        Asset::from_venue_symbol("BTC").unwrap()
    }

    fn order(id: &str, venue: Venue, side: Side, qty: &str, reduce_only: bool) -> OrderIntent {
        let arb = ArbId { symbol: btc(), long_venue: Venue::Binance, short_venue: Venue::Bybit };
        OrderIntent {
            client_order_id: id.into(),
            arb_id: arb.to_string(),
            action: if reduce_only { OrderAction::Close } else { OrderAction::Open },
            account: "main".into(),
            venue,
            symbol: btc(),
            side,
            qty: d(qty),
            order_type: OrderType::Market,
            reduce_only,
        }
    }

    fn venue(config: PaperVenueConfig) -> PaperVenue {
        let mut venue = config.build().unwrap();
        venue.book(BookTop {
            venue: Venue::Binance,
            asset: btc(),
            bid: Price::new(d("29990")).unwrap(),
            bid_qty: Quantity::new(d("3")).unwrap(),
            ask: Price::new(d("30010")).unwrap(),
            ask_qty: Quantity::new(d("3")).unwrap(),
            ts_ms: None,
        });
        venue.mark(Venue::Bybit, btc(), d("30005"));
        venue
    }

    fn filled(outcome: Outcome) -> Fill {
        match outcome {
            Outcome::Filled(fill) => fill,
            other => panic!("not filled: {other:?}"),
        }
    }

    #[test]
    fn fills_at_the_book_or_the_mark_and_charges_the_taker_fee() {
        let mut venue = venue(PaperVenueConfig::default());
        let buy = filled(venue.order(&order("o1", Venue::Binance, Side::Buy, "0.5", false), 7));
        assert_eq!((buy.price.value(), buy.qty.value(), buy.fee), (d("30010"), d("0.5"), d("7.5025")));
        assert_eq!((buy.fill_id.as_str(), buy.ts_ms), ("pf-o1", 7));
        let sell = filled(venue.order(&order("o2", Venue::Binance, Side::Sell, "0.1", false), 8));
        assert_eq!(sell.price.value(), d("29990"));
        let mark = filled(venue.order(&order("o3", Venue::Bybit, Side::Sell, "0.5", false), 9));
        assert_eq!(mark.price.value(), d("30005"), "no book: the venue's mark price");
        let none = venue.order(&order("o4", Venue::Okx, Side::Buy, "0.5", false), 9);
        assert!(matches!(none, Outcome::Rejected(_)), "no price at all: rejected");
    }

    #[test]
    fn a_client_order_id_is_handled_once() {
        let mut venue = venue(PaperVenueConfig::default());
        let o = order("o1", Venue::Binance, Side::Buy, "0.5", false);
        assert!(matches!(venue.order(&o, 1), Outcome::Filled(_)));
        assert_eq!(venue.order(&o, 2), Outcome::Duplicate);
    }

    #[test]
    fn reduce_only_orders_never_grow_a_position() {
        let mut venue = venue(PaperVenueConfig::default());
        filled(venue.order(&order("o1", Venue::Binance, Side::Buy, "0.5", false), 1));
        let partial = filled(venue.order(&order("c1", Venue::Binance, Side::Sell, "0.8", true), 2));
        assert_eq!(partial.qty.value(), d("0.5"), "clipped to the long position");
        let nothing = venue.order(&order("c2", Venue::Binance, Side::Sell, "0.1", true), 3);
        assert!(matches!(nothing, Outcome::Rejected(_)));
    }

    #[test]
    fn rejects_whole_venues_and_a_seeded_share_of_orders() {
        let config = PaperVenueConfig { reject_venues: vec![Venue::Bybit], ..PaperVenueConfig::default() };
        let mut down = venue(config);
        assert!(matches!(down.order(&order("o1", Venue::Bybit, Side::Sell, "0.5", false), 1), Outcome::Rejected(_)));
        assert!(matches!(down.order(&order("o2", Venue::Binance, Side::Buy, "0.5", false), 1), Outcome::Filled(_)));

        let config = PaperVenueConfig { reject_rate: 0.3, seed: 5, ..PaperVenueConfig::default() };
        let run = || {
            let mut v = venue(config.clone());
            (0..1000)
                .filter(|i| {
                    matches!(
                        v.order(&order(&format!("o{i}"), Venue::Binance, Side::Buy, "0.001", false), 1),
                        Outcome::Rejected(_)
                    )
                })
                .count()
        };
        let rejected = run();
        assert!((250..350).contains(&rejected), "about 30% rejected: {rejected}");
        assert_eq!(run(), rejected, "the same orders are rejected on a rerun");
        assert!(PaperVenueConfig { reject_rate: 1.5, ..PaperVenueConfig::default() }.build().is_err());
    }

    #[test]
    fn pnl_is_cash_plus_positions_at_the_mark() {
        let mut venue = venue(PaperVenueConfig { taker_fees: [Dec::ZERO; 4], ..PaperVenueConfig::default() });
        filled(venue.order(&order("o1", Venue::Binance, Side::Buy, "1", false), 1));
        // Bought at 30010; marked at the mid 30000 (no mark on binance).
        assert_eq!(venue.pnl("main"), d("-10"));
        venue.mark(Venue::Binance, btc(), d("30100"));
        assert_eq!(venue.pnl("main"), d("90"));
        assert_eq!(venue.pnl("other"), Dec::ZERO);
    }
}
