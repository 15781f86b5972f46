//! The demo's paper venue, in the simulator's thread: it follows the simulated books and mark
//! prices, fills the orders the risk gate sends, and returns the fills to the pipeline as
//! `exec.fills.<venue>` messages, closing the loop without NATS.

use std::sync::Arc;
use std::sync::mpsc::Receiver;

use nexus_model::config::Config;
use nexus_model::funding::FundingSource;
use nexus_model::records::OrderIntent;
use nexus_model::{Dec, LogicalTime};
use nexus_sources::decode::{Decoder, Input};
use nexus_sources::message::Message;
use nexus_sources::paper::{Outcome, PaperVenue, PaperVenueConfig, fill_payload};
use nexus_sources::simulator::SimMessage;

/// An order intent and the logical time it was sent at.
pub type SentOrder = (LogicalTime, OrderIntent);

/// A fill waiting for its time: (logical time, subject, payload).
type PendingFill = (LogicalTime, String, String);

/// The paper venue between the gate's orders and the simulated feeds.
pub struct PaperLoop {
    venue: PaperVenue,
    decoder: Decoder,
    orders: Receiver<SentOrder>,
    pending: Vec<PendingFill>,
    latency_us: LogicalTime,
    account: String,
    /// Fills so far.
    pub fills: u64,
    /// Orders the venue refused so far.
    pub rejected: u64,
}

impl PaperLoop {
    /// A paper venue with the config's taker fees, filling `orders`.
    pub fn new(config: &Config, orders: Receiver<SentOrder>) -> PaperLoop {
        let venue_config = PaperVenueConfig {
            taker_fees: nexus_model::Venue::ALL.map(|v| config.fees.taker.of(v)),
            ..PaperVenueConfig::default()
        };
        let latency_us = venue_config.latency.as_micros() as LogicalTime;
        // The defaults are valid: no reject rate, non-negative configured fees.
        let venue = venue_config.build().unwrap_or_else(|_| {
            PaperVenueConfig::default().build().unwrap_or_else(|e| unreachable!("default paper venue: {e}"))
        });
        PaperLoop {
            venue,
            decoder: Decoder::new(Arc::new(config.clone())),
            orders,
            pending: Vec::new(),
            latency_us,
            account: config.risk.account.clone(),
            fills: 0,
            rejected: 0,
        }
    }

    /// Follows a simulated book or exchange mark price.
    pub fn observe(&mut self, message: &SimMessage) {
        if !(message.subject.starts_with("feeds.book.") || message.subject.starts_with("feeds.funding.")) {
            return;
        }
        let message = Message {
            seq: 0,
            time: message.recv_us,
            subject: message.subject.to_string(),
            payload: message.payload.clone().into(),
        };
        let venue = &mut self.venue;
        self.decoder.decode(&message, |input| match input {
            Ok(Input::Book(book)) => venue.book(book),
            Ok(Input::Funding(update)) if update.source == FundingSource::Exchange => {
                if let Some(mark) = update.observation.mark_price {
                    venue.mark(update.venue, update.asset, mark.value());
                }
            }
            _ => {}
        });
    }

    /// Fills the orders sent since the last call; each fill is due `latency` after its order.
    pub fn take_orders(&mut self) {
        while let Ok((time, order)) = self.orders.try_recv() {
            match self.venue.order(&order, time / 1000) {
                Outcome::Filled(fill) => {
                    self.fills += 1;
                    let subject = format!("exec.fills.{}", fill.venue.name());
                    self.pending.push((time + self.latency_us, subject, fill_payload(&fill)));
                }
                Outcome::Rejected(_) => self.rejected += 1,
                Outcome::Duplicate => {}
            }
        }
    }

    /// The fills due by `until`, oldest first.
    pub fn due(&mut self, until: LogicalTime) -> Vec<PendingFill> {
        self.pending.sort_by_key(|(time, _, _)| *time);
        let split = self.pending.partition_point(|(time, _, _)| *time <= until);
        self.pending.drain(..split).collect()
    }

    /// The gate account's profit and loss at the venue's prices.
    pub fn pnl(&self) -> Dec {
        self.venue.pnl(&self.account)
    }
}
