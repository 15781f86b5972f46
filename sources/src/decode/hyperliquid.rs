//! `feeds.funding.hyperliquid`: `metaAndAssetCtxs` responses, `[{"universe": [...]}, [ctx, ...]]`,
//! matched by position. Interval 1 h; next settlement is the next top of the hour after receipt.

use nexus_model::funding::{FundingObservation, FundingSource, FundingUpdate};
use nexus_model::time::{MICROS_PER_MILLI, MILLIS_PER_HOUR};
use nexus_model::{Dec, Price, Venue};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::error::DecodeError;
use super::fields;
use super::{Context, Input};

#[derive(Deserialize)]
struct Meta<'a> {
    #[serde(borrow)]
    universe: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct UniverseEntry<'a> {
    name: &'a str,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AssetCtx {
    funding: Dec,
    mark_px: Price,
}

/// Decodes each (universe entry, context) pair on its own.
pub fn decode(ctx: &Context, payload: &[u8], out: &mut Vec<Result<Input, DecodeError>>) {
    let (meta, contexts): (Meta, Vec<&RawValue>) = match fields::parse(payload) {
        Ok(parsed) => parsed,
        Err(error) => return out.push(Err(error)),
    };
    let next_funding_ms = (ctx.time / MICROS_PER_MILLI / MILLIS_PER_HOUR + 1) * MILLIS_PER_HOUR;
    let count = meta.universe.len().max(contexts.len());
    for index in 0..count {
        let decoded = match (meta.universe.get(index), contexts.get(index)) {
            (Some(entry), Some(context)) => decode_one(ctx, entry, context, next_funding_ms),
            _ => Err(DecodeError::InvalidField("universe and asset contexts differ in length".to_string())),
        };
        out.push(decoded.map_err(|e| e.in_element(index)));
    }
}

fn decode_one(ctx: &Context, entry: &RawValue, context: &RawValue, next_funding_ms: u64) -> Result<Input, DecodeError> {
    let entry: UniverseEntry = fields::parse(entry.get().as_bytes())?;
    let context: AssetCtx = fields::parse(context.get().as_bytes())?;
    Ok(Input::Funding(FundingUpdate {
        source: FundingSource::Exchange,
        venue: Venue::Hyperliquid,
        asset: fields::asset(entry.name)?,
        observation: FundingObservation {
            recv_us: ctx.time,
            seq: ctx.seq,
            rate: context.funding,
            interval_h: Some(Venue::Hyperliquid.default_interval_h()),
            next_funding_ms: Some(next_funding_ms),
            mark_price: Some(context.mark_px),
        },
    }))
}
