//! The ranking order of DESIGN 5.2: uos descending, then net_apr descending, then symbol, long
//! venue and short venue ascending.

use std::cmp::Ordering;

use nexus_model::records::{Opportunity, Ranked};
use nexus_model::{Asset, Dec, Venue};
use serde::{Deserialize, Serialize};

/// An opportunity as the ranking sees it; sorts best first.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RankKey {
    /// UOS (higher ranks first).
    pub uos: Dec,
    /// Net APR (higher ranks first on equal UOS).
    pub net_apr: Dec,
    /// Asset, then venues, ascending.
    pub symbol: Asset,
    /// Long venue.
    pub long_venue: Venue,
    /// Short venue.
    pub short_venue: Venue,
}

impl RankKey {
    /// The ranking key of an opportunity.
    pub fn of(o: &Opportunity) -> RankKey {
        RankKey {
            uos: o.uos,
            net_apr: o.net_apr,
            symbol: o.symbol.clone(),
            long_venue: o.long_venue,
            short_venue: o.short_venue,
        }
    }

    /// A hash of the pair (asset, long venue, short venue), which its rescorings keep.
    pub fn identity(&self) -> u64 {
        use differential_dataflow::Hashable;
        (&self.symbol, self.long_venue, self.short_venue).hashed()
    }

    /// The `ranked` record at `rank`.
    pub fn ranked(&self, rank: u32) -> Ranked {
        Ranked {
            rank,
            symbol: self.symbol.clone(),
            long_venue: self.long_venue,
            short_venue: self.short_venue,
            uos: self.uos,
            net_apr: self.net_apr,
        }
    }
}

impl Ord for RankKey {
    fn cmp(&self, other: &RankKey) -> Ordering {
        other
            .uos
            .cmp(&self.uos)
            .then_with(|| other.net_apr.cmp(&self.net_apr))
            .then_with(|| self.symbol.cmp(&other.symbol))
            .then_with(|| self.long_venue.cmp(&other.long_venue))
            .then_with(|| self.short_venue.cmp(&other.short_venue))
    }
}

impl PartialOrd for RankKey {
    fn partial_cmp(&self, other: &RankKey) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
