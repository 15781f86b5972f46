//! `feeds.funding.bybit`: v5 `tickers.<symbol>` snapshots and deltas. A delta updates only the fields
//! it carries, merged onto the last snapshot of its symbol; a delta with no snapshot is rejected.

use std::collections::HashMap;

use nexus_model::funding::{FundingObservation, FundingSource, FundingUpdate};
use nexus_model::{Dec, Price, Venue};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::error::DecodeError;
use super::fields::{self, millis, opt_blank};
use super::{Context, Input};

/// The message envelope.
#[derive(Deserialize)]
struct TickerMessage {
    /// `tickers.<symbol>`; the symbol is taken from it when `data` lacks one.
    #[serde(default)]
    topic: String,
    /// Snapshot or delta.
    #[serde(rename = "type")]
    kind: MessageKind,
    /// Ticker fields (all strings).
    data: Map<String, Value>,
}

#[derive(Deserialize, PartialEq)]
#[serde(rename_all = "lowercase")]
enum MessageKind {
    Snapshot,
    Delta,
}

/// The merged ticker fields that nexus uses.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Ticker {
    /// Venue symbol.
    symbol: String,
    /// Current funding rate.
    funding_rate: Dec,
    /// Next settlement, ms.
    #[serde(deserialize_with = "millis")]
    next_funding_time: u64,
    /// Mark price, when carried.
    #[serde(default, deserialize_with = "opt_blank")]
    mark_price: Option<Price>,
    /// Funding interval in hours, when carried.
    #[serde(default, deserialize_with = "opt_blank")]
    funding_interval_hour: Option<Dec>,
}

/// The merged state per symbol: Bybit deltas are only meaningful against it.
#[derive(Default)]
pub struct BybitState {
    tickers: HashMap<String, Map<String, Value>>,
}

impl BybitState {
    /// Decodes one message, merging deltas onto the symbol's last snapshot.
    pub fn decode(&mut self, ctx: &Context, payload: &[u8]) -> Result<Input, DecodeError> {
        let message: TickerMessage = fields::parse(payload)?;
        let symbol = match message.data.get("symbol").and_then(Value::as_str) {
            Some(symbol) => symbol.to_string(),
            None => message.topic.strip_prefix("tickers.").unwrap_or_default().to_string(),
        };
        if symbol.is_empty() {
            return Err(DecodeError::InvalidField("missing field `symbol`".to_string()));
        }
        let merged = match (message.kind, self.tickers.get(&symbol)) {
            (MessageKind::Snapshot, _) => message.data,
            (MessageKind::Delta, None) => return Err(DecodeError::DeltaBeforeSnapshot(symbol)),
            (MessageKind::Delta, Some(previous)) => {
                let mut merged = previous.clone();
                merged.extend(message.data);
                merged
            }
        };
        let mut fields_with_symbol = merged.clone();
        fields_with_symbol.insert("symbol".to_string(), Value::String(symbol.clone()));
        let ticker: Ticker = fields::from_value(Value::Object(fields_with_symbol))?;
        if let Some(hours) = ticker.funding_interval_hour
            && !hours.is_positive()
        {
            return Err(DecodeError::InvalidField(format!("fundingIntervalHour must be > 0, got {hours}")));
        }
        let asset = fields::asset(&ticker.symbol)?;
        self.tickers.insert(symbol, merged);
        Ok(Input::Funding(FundingUpdate {
            source: FundingSource::Exchange,
            venue: Venue::Bybit,
            asset,
            observation: FundingObservation {
                recv_us: ctx.time,
                seq: ctx.seq,
                rate: ticker.funding_rate,
                interval_h: ticker.funding_interval_hour,
                next_funding_ms: Some(ticker.next_funding_time),
                mark_price: ticker.mark_price,
            },
        }))
    }
}
