//! `feeds.scanner.<name>`: ArbitrageScanner tables. Rates are in percent per the venue's native
//! interval; the entry's asset is the canonical asset of its `symbol`; rates on venues nexus does not
//! follow are skipped, not rejected. Each entry, and each rate within it, is decoded on its own.

use nexus_model::funding::{FundingObservation, FundingSource, FundingUpdate};
use nexus_model::{Dec, Venue};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::error::DecodeError;
use super::fields::{self, opt_millis};
use super::{Context, Input};

#[derive(Deserialize)]
struct Entry<'a> {
    symbol: &'a str,
    #[serde(borrow)]
    rates: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct Slug<'a> {
    exchange: &'a str,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Rate {
    rate: Dec,
    #[serde(default, deserialize_with = "opt_millis")]
    next_funding_time: Option<u64>,
}

/// Decodes every rate of every entry.
pub fn decode(ctx: &Context, payload: &[u8], out: &mut Vec<Result<Input, DecodeError>>) {
    let entries: Vec<&RawValue> = match fields::parse(payload) {
        Ok(entries) => entries,
        Err(error) => return out.push(Err(error)),
    };
    for (index, entry) in entries.into_iter().enumerate() {
        if let Err(error) = decode_entry(ctx, entry, out) {
            out.push(Err(error.in_element(index)));
        }
    }
}

fn decode_entry(ctx: &Context, entry: &RawValue, out: &mut Vec<Result<Input, DecodeError>>) -> Result<(), DecodeError> {
    let entry: Entry = fields::parse(entry.get().as_bytes())?;
    let asset = fields::asset(entry.symbol)?;
    for rate in entry.rates {
        let slug: Slug = match fields::parse(rate.get().as_bytes()) {
            Ok(slug) => slug,
            Err(error) => {
                out.push(Err(error));
                continue;
            }
        };
        let Some(venue) = Venue::from_scanner_slug(slug.exchange) else { continue };
        let decoded = fields::parse::<Rate>(rate.get().as_bytes()).and_then(|rate| {
            let fraction = rate
                .rate
                .checked_div(Dec::from(100i64))
                .ok_or_else(|| DecodeError::InvalidField(format!("rate {} out of range", rate.rate)))?;
            Ok(Input::Funding(FundingUpdate {
                source: FundingSource::Scanner,
                venue,
                asset: asset.clone(),
                observation: FundingObservation {
                    recv_us: ctx.time,
                    seq: ctx.seq,
                    rate: fraction,
                    interval_h: None,
                    next_funding_ms: rate.next_funding_time,
                    mark_price: None,
                },
            }))
        });
        out.push(decoded);
    }
    Ok(())
}
