//! Drives the risk gate on a recorded history of [`GateInput`]s: shared by the oracle and case tests.

#![allow(dead_code)]

use nexus_dataflows::risk_gate::oracle::GateInput;
use nexus_dataflows::risk_gate::{GateInputs, GateParams, HaltState, deadline_lead, risk_gate};
use nexus_dataflows::var::PriceTick;
use nexus_model::config::Config;
use nexus_model::control::HaltScope;
use nexus_model::market::{BookTop, Fill};
use nexus_model::records::{
    Alert, AlertDetails, ArbId, Decision, Opportunity, OrderIntent, Pattern, Severity, VarFigures,
};
use nexus_model::{Asset, Dec, Float, Price, Quantity, Venue};
use nexus_operators::harness;
use serde::{Deserialize, Serialize};

/// Logical time, µs.
pub type Time = u64;

/// What the gate outputs, in one collection.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Out {
    /// A decision.
    Decision(Decision),
    /// An order intent.
    Order(OrderIntent),
}

/// Runs the gate on `history` with `workers` workers; every output update, consolidated.
pub fn run(workers: usize, history: Vec<(GateInput, Time, isize)>) -> Vec<(Out, Time, isize)> {
    harness::run(workers, history, |input| {
        let gate = risk_gate(GateInputs {
            opportunities: input.clone().flat_map(|i| match i {
                GateInput::Opportunity(o) => Some(o),
                _ => None,
            }),
            books: input.clone().flat_map(|i| match i {
                GateInput::Book(b) => Some(((b.venue, b.asset.clone()), b)),
                _ => None,
            }),
            prices: input.clone().flat_map(|i| match i {
                GateInput::Price(asset, price) => Some((asset, PriceTick { seq: 0, time: 0, price })),
                _ => None,
            }),
            fills: input.clone().flat_map(|i| match i {
                GateInput::Fill(f) => Some(f),
                _ => None,
            }),
            var: input.clone().flat_map(|i| match i {
                GateInput::Var(v) => Some(v),
                _ => None,
            }),
            alerts: input.clone().flat_map(|i| match i {
                GateInput::Alert(a) => Some(a),
                _ => None,
            }),
            halts: input.clone().flat_map(|i| match i {
                GateInput::Halt(h) => Some(h),
                _ => None,
            }),
            params: input.flat_map(|i| match i {
                GateInput::Params(p) => Some(p),
                _ => None,
            }),
            lead_us: deadline_lead(default_params().leg_timeout_us),
        });
        gate.decisions.map(Out::Decision).concat(gate.orders.map(Out::Order))
    })
}

/// The decisions in force at `t` in the output of [`run`].
pub fn decisions_at(output: &[(Out, Time, isize)], t: Time) -> std::collections::BTreeMap<Decision, isize> {
    harness::collection_at(output, t)
        .into_iter()
        .filter_map(|(out, count)| match out {
            Out::Decision(d) => Some((d, count)),
            Out::Order(_) => None,
        })
        .collect()
}

/// Every order in the output of [`run`] with its time, in time order; panics on a retraction.
pub fn orders(output: &[(Out, Time, isize)]) -> Vec<(Time, OrderIntent)> {
    let mut orders = Vec::new();
    for (out, time, diff) in output {
        if let Out::Order(order) = out {
            assert_eq!(*diff, 1, "orders are sent once and never retracted: {order:?} at {time}");
            orders.push((*time, order.clone()));
        }
    }
    orders.sort();
    orders
}

pub fn d(text: &str) -> Dec {
    Dec::parse(text).unwrap()
}

pub fn asset(name: &str) -> Asset {
    Asset::from_venue_symbol(name).unwrap()
}

pub fn arb(symbol: &str, long: Venue, short: Venue) -> ArbId {
    ArbId { symbol: asset(symbol), long_venue: long, short_venue: short }
}

/// The DESIGN 5.5 defaults.
pub fn default_params() -> GateParams {
    GateParams::from_config(&Config::default())
}

/// An opportunity on `arb` with the figures the gate reads.
pub fn opportunity(arb: &ArbId, uos: &str, net_apr: &str) -> Opportunity {
    Opportunity {
        symbol: arb.symbol.clone(),
        long_venue: arb.long_venue,
        short_venue: arb.short_venue,
        long_rate_per_hour: d("0.00001"),
        short_rate_per_hour: d("0.00005"),
        gross_apr: d("0.35"),
        cost_apr: d("0.05"),
        net_apr: d(net_apr),
        spread_score: d("0.6"),
        liquidity_score: d("1"),
        confidence_score: d("1"),
        uos: d(uos),
        long_next_funding_ms: None,
        short_next_funding_ms: None,
    }
}

/// A book whose depth is `price * qty` on both sides.
pub fn book(venue: Venue, symbol: &str, price: &str, qty: &str) -> BookTop {
    BookTop {
        venue,
        asset: asset(symbol),
        bid: Price::new(d(price)).unwrap(),
        bid_qty: Quantity::new(d(qty)).unwrap(),
        ask: Price::new(d(price)).unwrap(),
        ask_qty: Quantity::new(d(qty)).unwrap(),
        ts_ms: None,
    }
}

/// A fill of `order`, all of it.
pub fn fill_of(order: &OrderIntent, fill_id: &str) -> Fill {
    Fill {
        venue: order.venue,
        fill_id: fill_id.into(),
        client_order_id: order.client_order_id.clone(),
        account: order.account.clone(),
        asset: order.symbol.clone(),
        side: order.side,
        price: Price::new(d("100")).unwrap(),
        qty: Quantity::new(order.qty).unwrap(),
        fee: Dec::ZERO,
        ts_ms: 0,
    }
}

/// A VaR record of `account` with `var_hist_99`.
pub fn var(account: &str, var_hist_99: &str) -> VarFigures {
    VarFigures {
        account: account.into(),
        returns: 20,
        exposure_net: Dec::ZERO,
        exposure_gross: Dec::ZERO,
        var_hist_95: Dec::ZERO,
        es_hist_95: Dec::ZERO,
        var_hist_99: d(var_hist_99),
        es_hist_99: Dec::ZERO,
        var_param_95: Float(0.0),
        var_param_99: Float(0.0),
    }
}

/// A critical alert on `account` with its latest evidence at `last_us`.
pub fn critical_alert(id: &str, account: &str, last_us: Time) -> Alert {
    Alert {
        alert_id: id.into(),
        pattern: Pattern::RepeatedManipulation,
        severity: Severity::Critical,
        venue: Venue::Binance,
        account: account.into(),
        symbol: asset("BTC"),
        first_us: last_us,
        last_us,
        evidence: vec!["a1".into(), "a2".into(), "a3".into()],
        details: AlertDetails::RepeatedManipulation { alerts: 3, window_ms: 3_600_000 },
    }
}

/// A halt (or, with `halted` false, a lift) sent at `since`.
pub fn halt(scope: HaltScope, target: &str, halted: bool, since: Time) -> HaltState {
    HaltState { scope, target: target.into(), halted, since, reason: "test".into() }
}
