//! `feeds.funding.binance`: USDⓈ-M `markPriceUpdate` events, one or an array (`!markPrice@arr`).

use nexus_model::funding::{FundingObservation, FundingSource, FundingUpdate};
use nexus_model::{Dec, Price, Venue};
use serde::Deserialize;

use super::error::DecodeError;
use super::fields::{self, millis};
use super::{Context, Input};

/// The fields of a `markPriceUpdate` that nexus uses.
#[derive(Deserialize)]
struct MarkPriceUpdate<'a> {
    /// Venue symbol, e.g. `BTCUSDT`.
    #[serde(rename = "s")]
    symbol: &'a str,
    /// Mark price.
    #[serde(rename = "p")]
    mark_price: Price,
    /// Funding rate per the symbol's interval.
    #[serde(rename = "r")]
    rate: Dec,
    /// Next funding time, ms.
    #[serde(rename = "T", deserialize_with = "millis")]
    next_funding_ms: u64,
}

/// Decodes each event of the payload on its own.
pub fn decode(ctx: &Context, payload: &[u8], out: &mut Vec<Result<Input, DecodeError>>) {
    let elements = match fields::one_or_many(payload) {
        Ok(elements) => elements,
        Err(error) => return out.push(Err(error)),
    };
    let many = elements.len() > 1;
    for (index, element) in elements.into_iter().enumerate() {
        let decoded = decode_one(ctx, element.get().as_bytes());
        out.push(if many { decoded.map_err(|e| e.in_element(index)) } else { decoded });
    }
}

fn decode_one(ctx: &Context, text: &[u8]) -> Result<Input, DecodeError> {
    let event: MarkPriceUpdate = fields::parse(text)?;
    Ok(Input::Funding(FundingUpdate {
        source: FundingSource::Exchange,
        venue: Venue::Binance,
        asset: fields::asset(event.symbol)?,
        observation: FundingObservation {
            recv_us: ctx.time,
            seq: ctx.seq,
            rate: event.rate,
            interval_h: None,
            next_funding_ms: Some(event.next_funding_ms),
            mark_price: Some(event.mark_price),
        },
    }))
}
