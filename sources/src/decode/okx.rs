//! `feeds.funding.okx`: v5 `funding-rate` pushes. Next settlement is `fundingTime`; the interval is
//! `nextFundingTime - fundingTime` (the venue default when `nextFundingTime` is blank). No mark price.

use nexus_model::funding::{FundingObservation, FundingSource, FundingUpdate};
use nexus_model::time::MILLIS_PER_HOUR;
use nexus_model::{Dec, Venue};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::error::DecodeError;
use super::fields::{self, millis, opt_millis};
use super::{Context, Input};

#[derive(Deserialize)]
struct Push<'a> {
    #[serde(borrow)]
    data: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FundingRate<'a> {
    inst_id: &'a str,
    funding_rate: Dec,
    #[serde(deserialize_with = "millis")]
    funding_time: u64,
    #[serde(default, deserialize_with = "opt_millis")]
    next_funding_time: Option<u64>,
}

/// Decodes each element of `data` on its own.
pub fn decode(ctx: &Context, payload: &[u8], out: &mut Vec<Result<Input, DecodeError>>) {
    let push: Push = match fields::parse(payload) {
        Ok(push) => push,
        Err(error) => return out.push(Err(error)),
    };
    let many = push.data.len() > 1;
    for (index, element) in push.data.into_iter().enumerate() {
        let decoded = decode_one(ctx, element.get().as_bytes());
        out.push(if many { decoded.map_err(|e| e.in_element(index)) } else { decoded });
    }
}

fn decode_one(ctx: &Context, text: &[u8]) -> Result<Input, DecodeError> {
    let rate: FundingRate = fields::parse(text)?;
    let interval_h = match rate.next_funding_time {
        None => None,
        Some(next) if next > rate.funding_time => {
            Dec::from(next - rate.funding_time).checked_div(Dec::from(MILLIS_PER_HOUR))
        }
        Some(next) => {
            return Err(DecodeError::InvalidField(format!(
                "nextFundingTime {next} is not after fundingTime {}",
                rate.funding_time
            )));
        }
    };
    Ok(Input::Funding(FundingUpdate {
        source: FundingSource::Exchange,
        venue: Venue::Okx,
        asset: fields::asset(rate.inst_id)?,
        observation: FundingObservation {
            recv_us: ctx.time,
            seq: ctx.seq,
            rate: rate.funding_rate,
            interval_h,
            next_funding_ms: Some(rate.funding_time),
            mark_price: None,
        },
    }))
}
