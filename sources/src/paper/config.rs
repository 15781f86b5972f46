//! What the paper venue is told.

use std::time::Duration;

use nexus_model::{Dec, Venue};

use super::venue::PaperVenue;

/// How the paper venue fills.
#[derive(Clone, Debug, PartialEq)]
pub struct PaperVenueConfig {
    /// Delay between an order and its fill (wall clock, and added to the order's logical time).
    /// Default 50 ms.
    pub latency: Duration,
    /// Share of orders rejected (no fill), chosen by a hash of the client order id and `seed` so a
    /// rerun rejects the same orders. Default 0.
    pub reject_rate: f64,
    /// Venues that reject every order (a venue that is down). Default none.
    pub reject_venues: Vec<Venue>,
    /// Taker fee per venue, in `Venue::ALL` order; the fee is `price * qty * fee`. Default: the
    /// DESIGN 5.2 taker fees.
    pub taker_fees: [Dec; 4],
    /// Seed of the reject choice. Default 0.
    pub seed: u64,
}

impl Default for PaperVenueConfig {
    fn default() -> Self {
        let fees = nexus_model::config::Config::default().fees.taker;
        PaperVenueConfig {
            latency: Duration::from_millis(50),
            reject_rate: 0.0,
            reject_venues: Vec::new(),
            taker_fees: Venue::ALL.map(|v| fees.of(v)),
            seed: 0,
        }
    }
}

/// A paper venue configuration that cannot work.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PaperVenueConfigError {
    /// The reject rate is not a share.
    #[error("reject rate {0} is not between 0 and 1")]
    RejectRate(f64),
    /// A fee is negative.
    #[error("taker fee {fee} of {venue} is negative")]
    Fee {
        /// The venue.
        venue: Venue,
        /// The fee.
        fee: Dec,
    },
}

impl PaperVenueConfig {
    /// Checks the configuration and returns an empty venue.
    pub fn build(self) -> Result<PaperVenue, PaperVenueConfigError> {
        if !(0.0..=1.0).contains(&self.reject_rate) {
            return Err(PaperVenueConfigError::RejectRate(self.reject_rate));
        }
        for (venue, fee) in Venue::ALL.into_iter().zip(self.taker_fees) {
            if fee < Dec::ZERO {
                return Err(PaperVenueConfigError::Fee { venue, fee });
            }
        }
        Ok(PaperVenue::new(self))
    }
}
