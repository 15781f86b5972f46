//! Decoders for every subject of DESIGN section 4.
//!
//! A [`Decoder`] turns one [`Message`] into zero or more typed [`Input`]s and rejections. It is
//! stateful in two places only, both pinned to one worker by the bridge's routing: Bybit deltas are
//! merged onto their symbol's last snapshot, and `control.params` changes are applied to the current
//! configuration.

mod binance;
mod bybit;
mod control;
pub mod error;
mod fields;
mod hyperliquid;
mod market;
mod okx;
mod scanner;

use std::sync::Arc;

use nexus_model::config::Config;
use nexus_model::control::Halt;
use nexus_model::funding::FundingUpdate;
use nexus_model::market::{BookTop, Fill, OrderEvent, Trade};
use nexus_model::records::Rejected;
use nexus_model::{LogicalTime, Venue};

pub use error::DecodeError;

use crate::message::{MAX_PAYLOAD_BYTES, Message, excerpt};

/// A decoded, validated input.
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    /// A funding-rate observation from an exchange feed or the scanner.
    Funding(FundingUpdate),
    /// A top of book.
    Book(BookTop),
    /// A public trade.
    Trade(Trade),
    /// An order event.
    Order(OrderEvent),
    /// A fill of one of our orders.
    Fill(Fill),
    /// The configuration after an accepted `control.params` change.
    Config(Arc<Config>),
    /// A halt or the end of one.
    Halt(Halt),
}

/// The subject families of DESIGN section 4.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    /// `feeds.funding.<venue>`.
    Funding(Venue),
    /// `feeds.scanner.<name>`.
    Scanner,
    /// `feeds.book.<venue>`.
    Book(Venue),
    /// `feeds.trades.<venue>`.
    Trades(Venue),
    /// `feeds.orders.<venue>`.
    Orders(Venue),
    /// `exec.fills.<venue>`.
    Fills(Venue),
    /// `control.params`.
    Params,
    /// `control.halt`.
    Halt,
}

impl Subject {
    /// Parses a subject, naming the unknown part when it is not one of DESIGN section 4.
    pub fn parse(subject: &str) -> Result<Subject, DecodeError> {
        let parts: Vec<&str> = subject.split('.').collect();
        let venue = |name: &str| name.parse::<Venue>().map_err(|_| DecodeError::UnknownVenue(name.to_string()));
        match parts.as_slice() {
            ["feeds", "funding", name] => Ok(Subject::Funding(venue(name)?)),
            ["feeds", "scanner", name] if !name.is_empty() => Ok(Subject::Scanner),
            ["feeds", "book", name] => Ok(Subject::Book(venue(name)?)),
            ["feeds", "trades", name] => Ok(Subject::Trades(venue(name)?)),
            ["feeds", "orders", name] => Ok(Subject::Orders(venue(name)?)),
            ["exec", "fills", name] => Ok(Subject::Fills(venue(name)?)),
            ["control", "params"] => Ok(Subject::Params),
            ["control", "halt"] => Ok(Subject::Halt),
            _ => Err(DecodeError::UnknownSubject(subject.chars().take(200).collect())),
        }
    }

    /// Whether decoding depends on earlier messages of the same subject, so that all of them must
    /// be decoded by one worker, in order.
    pub fn is_stateful(self) -> bool {
        matches!(self, Subject::Funding(Venue::Bybit) | Subject::Params)
    }
}

/// What a decoder needs to know about the message besides its payload.
pub struct Context {
    /// Logical time of the message.
    pub time: LogicalTime,
    /// Sequence of the message in its input.
    pub seq: u64,
}

/// Decodes messages into inputs and rejections.
pub struct Decoder {
    /// The configuration `control.params` changes apply to.
    config: Arc<Config>,
    /// Bybit tickers merged so far.
    bybit: bybit::BybitState,
    /// Scratch space reused across messages.
    scratch: Vec<Result<Input, DecodeError>>,
    /// The shortest `risk.leg_timeout_ms` a `control.params` change may set, µs: the running risk
    /// gate schedules leg deadlines this far ahead.
    min_leg_timeout_us: u64,
}

impl Decoder {
    /// A decoder starting from `config`.
    pub fn new(config: Arc<Config>) -> Decoder {
        Decoder { config, bybit: bybit::BybitState::default(), scratch: Vec::new(), min_leg_timeout_us: 0 }
    }

    /// Refuses `control.params` changes that set `risk.leg_timeout_ms` below `floor_us`.
    pub fn with_min_leg_timeout_us(mut self, floor_us: u64) -> Decoder {
        self.min_leg_timeout_us = floor_us;
        self
    }

    /// Decodes `message`, passing each input or rejection to `emit` in payload order.
    pub fn decode(&mut self, message: &Message, mut emit: impl FnMut(Result<Input, Rejected>)) {
        let mut results = std::mem::take(&mut self.scratch);
        self.decode_into(message, &mut results);
        for result in results.drain(..) {
            emit(result.map_err(|error| rejection(&message.subject, &error, &message.payload)));
        }
        self.scratch = results;
    }

    fn decode_into(&mut self, message: &Message, out: &mut Vec<Result<Input, DecodeError>>) {
        let payload: &[u8] = &message.payload;
        if payload.len() > MAX_PAYLOAD_BYTES {
            return out.push(Err(DecodeError::TooLarge { size: payload.len(), limit: MAX_PAYLOAD_BYTES }));
        }
        let subject = match Subject::parse(&message.subject) {
            Ok(subject) => subject,
            Err(error) => return out.push(Err(error)),
        };
        let ctx = Context { time: message.time, seq: message.seq };
        match subject {
            Subject::Funding(Venue::Binance) => binance::decode(&ctx, payload, out),
            Subject::Funding(Venue::Bybit) => out.push(self.bybit.decode(&ctx, payload)),
            Subject::Funding(Venue::Okx) => okx::decode(&ctx, payload, out),
            Subject::Funding(Venue::Hyperliquid) => hyperliquid::decode(&ctx, payload, out),
            Subject::Scanner => scanner::decode(&ctx, payload, out),
            Subject::Book(venue) => out.push(market::book(venue, payload)),
            Subject::Trades(venue) => out.push(market::trade(venue, payload)),
            Subject::Orders(venue) => out.push(market::order(venue, payload)),
            Subject::Fills(venue) => out.push(market::fill(venue, payload)),
            Subject::Params => out.push(control::params(&mut self.config, payload, self.min_leg_timeout_us)),
            Subject::Halt => out.push(control::halt(payload)),
        }
    }
}

/// The `rejected` record for an input that failed with `error`.
pub fn rejection(subject: &str, error: &DecodeError, payload: &[u8]) -> Rejected {
    Rejected { subject: subject.to_string(), reason: error.to_string(), excerpt: excerpt(payload) }
}
