//! The order intents of a change of state: both legs on open and close, one on unwind.

use nexus_model::market::Side;
use nexus_model::records::{OrderAction, OrderIntent, OrderType};
use nexus_model::{Dec, Venue};

use super::facts::{ArbState, Ending, OpenArb};

fn leg(open: &OpenArb, action: OrderAction, venue: Venue, side: Side, qty: Dec) -> OrderIntent {
    OrderIntent {
        client_order_id: OrderIntent::client_id(&open.arb, open.opened_us, action, venue),
        arb_id: open.arb.to_string(),
        action,
        account: open.account.clone(),
        venue,
        symbol: open.arb.symbol.clone(),
        side,
        qty,
        order_type: OrderType::Market,
        reduce_only: action != OrderAction::Open,
    }
}

/// The orders sent when `state` appears: an arbitrage opened (buy the long venue, sell the short),
/// closed (the reverse, reduce-only), unwound (the filled leg's reverse, reduce-only) or expired
/// (nothing filled, nothing to send).
pub fn orders_of(state: &ArbState) -> Vec<OrderIntent> {
    match state {
        ArbState::Open(open) => vec![
            leg(open, OrderAction::Open, open.arb.long_venue, Side::Buy, open.qty),
            leg(open, OrderAction::Open, open.arb.short_venue, Side::Sell, open.qty),
        ],
        ArbState::Ended(ended) => {
            let open = &ended.open;
            match &ended.ending {
                Ending::Close => vec![
                    leg(open, OrderAction::Close, open.arb.long_venue, Side::Sell, open.qty),
                    leg(open, OrderAction::Close, open.arb.short_venue, Side::Buy, open.qty),
                ],
                Ending::Unwind { venue, side, qty } => vec![leg(open, OrderAction::Unwind, *venue, *side, *qty)],
                Ending::Expired => Vec::new(),
            }
        }
    }
}
