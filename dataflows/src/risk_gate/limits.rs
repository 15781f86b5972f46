//! The checks a candidate must pass to be entered, and the exposure they are measured against.
//! The gate's reduce asks only whether a candidate passes; the reasons a candidate is rejected are
//! written outside it (see `rejections`), against the same limits.

use std::collections::BTreeMap;
use std::fmt;

use compact_str::CompactString;
use nexus_model::control::HaltScope;
use nexus_model::records::ArbId;
use nexus_model::{Asset, Dec, Venue};
use serde::{Deserialize, Serialize};

use super::facts::{Candidate, GateFact, HaltState};
use super::params::GateParams;
use crate::Time;

/// What the open arbitrages hold: notional per venue, per asset, and their number.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Exposure {
    /// Notional of the open legs per venue.
    venues: BTreeMap<Venue, Dec>,
    /// Notional of the open arbitrages per asset.
    assets: BTreeMap<Asset, Dec>,
    /// Open arbitrages.
    open: usize,
}

impl Exposure {
    /// Counts one more open arbitrage of `notional`.
    pub fn add(&mut self, arb: &ArbId, notional: Dec) {
        for venue in [arb.long_venue, arb.short_venue] {
            let sum = self.venues.entry(venue).or_insert(Dec::ZERO);
            *sum = sum.checked_add(notional).unwrap_or(Dec::MAX_INPUT);
        }
        let sum = self.assets.entry(arb.symbol.clone()).or_insert(Dec::ZERO);
        *sum = sum.checked_add(notional).unwrap_or(Dec::MAX_INPUT);
        self.open += 1;
    }

    /// How many arbitrages are open.
    pub fn open(&self) -> usize {
        self.open
    }

    /// The venue's exposure with one more leg of `notional`.
    fn venue_after(&self, venue: Venue, notional: Dec) -> Dec {
        let now = self.venues.get(&venue).copied().unwrap_or(Dec::ZERO);
        now.checked_add(notional).unwrap_or(Dec::MAX_INPUT)
    }

    /// The asset's gross exposure (twice the notional of its arbitrages) with one more of `notional`.
    fn asset_after(&self, asset: &Asset, notional: Dec) -> Dec {
        let now = self.assets.get(asset).copied().unwrap_or(Dec::ZERO);
        now.checked_add(notional).and_then(|sum| sum.checked_mul(Dec::from(2i64))).unwrap_or(Dec::MAX_INPUT)
    }
}

/// One check a candidate fails; its text is the reason code of the `decisions` stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason<'a> {
    /// `halt:global`.
    HaltGlobal,
    /// `halt:venue:<venue>`.
    HaltVenue(Venue),
    /// `halt:symbol:<asset>`.
    HaltSymbol(&'a Asset),
    /// `halt:account:<account>`.
    HaltAccount(&'a str),
    /// `halt:alert:<alert id>`: a critical alert not lifted since.
    HaltAlert(&'a str),
    /// `no_price`: no reference price to size the legs.
    NoPrice,
    /// `zero_qty`: the legs round down to nothing.
    ZeroQty,
    /// `venue_exposure:<venue>`.
    VenueExposure(Venue),
    /// `asset_exposure`.
    AssetExposure,
    /// `var_limit`.
    VarLimit,
    /// `max_open`.
    MaxOpen,
}

impl fmt::Display for Reason<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::HaltGlobal => f.write_str("halt:global"),
            Reason::HaltVenue(venue) => write!(f, "halt:venue:{}", venue.name()),
            Reason::HaltSymbol(asset) => write!(f, "halt:symbol:{}", asset.as_str()),
            Reason::HaltAccount(account) => write!(f, "halt:account:{account}"),
            Reason::HaltAlert(alert_id) => write!(f, "halt:alert:{alert_id}"),
            Reason::NoPrice => f.write_str("no_price"),
            Reason::ZeroQty => f.write_str("zero_qty"),
            Reason::VenueExposure(venue) => write!(f, "venue_exposure:{}", venue.name()),
            Reason::AssetExposure => f.write_str("asset_exposure"),
            Reason::VarLimit => f.write_str("var_limit"),
            Reason::MaxOpen => f.write_str("max_open"),
        }
    }
}

/// The limits in force apart from exposure: parameters, halts, critical alerts, VaR.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Limits {
    /// The parameters in force.
    pub params: GateParams,
    /// Every halt and lift in force.
    pub halts: Vec<HaltState>,
    /// Critical alerts on the gate account: (latest evidence, alert id).
    pub critical: Vec<(Time, CompactString)>,
    /// The gate account's VaR is over `risk.max_var`.
    pub var_over: bool,
}

impl Limits {
    /// The limits among `facts` (those with a positive count); `None` before the parameters arrive.
    pub fn of(facts: &[(&GateFact, isize)]) -> Option<Limits> {
        let (mut params, mut var_over) = (None, false);
        let (mut halts, mut critical) = (Vec::new(), Vec::new());
        for (fact, count) in facts {
            if *count <= 0 {
                continue;
            }
            match fact {
                GateFact::Params(p) => params = Some(p),
                GateFact::Halt(h) => halts.push(h.clone()),
                GateFact::Critical { last_us, alert_id, account } => critical.push((*last_us, alert_id, account)),
                GateFact::VarOver => var_over = true,
                _ => {}
            }
        }
        let params: GateParams = params?.clone();
        let critical = critical
            .into_iter()
            .filter(|(_, _, account)| **account == params.account)
            .map(|(last_us, id, _)| (last_us, id.clone()))
            .collect();
        Some(Limits { params, halts, critical, var_over })
    }

    /// Every check `candidate` fails against `exposure`, in a fixed order, each handed to `fail`.
    pub fn failures<'a>(&'a self, candidate: &'a Candidate, exposure: &Exposure, mut fail: impl FnMut(Reason<'a>)) {
        let p = &self.params;
        self.halt_reasons(&candidate.arb, &mut fail);
        match candidate.qty {
            None => fail(Reason::NoPrice),
            Some(qty) if !qty.is_positive() => fail(Reason::ZeroQty),
            Some(_) => {}
        }
        for venue in [candidate.arb.long_venue, candidate.arb.short_venue] {
            if exposure.venue_after(venue, candidate.notional) > p.max_venue_exposure {
                fail(Reason::VenueExposure(venue));
            }
        }
        if exposure.asset_after(&candidate.arb.symbol, candidate.notional) > p.max_asset_exposure {
            fail(Reason::AssetExposure);
        }
        if self.var_over {
            fail(Reason::VarLimit);
        }
        if exposure.open >= p.max_open {
            fail(Reason::MaxOpen);
        }
    }

    /// Whether `candidate` passes every check against `exposure`.
    pub fn passes(&self, candidate: &Candidate, exposure: &Exposure) -> bool {
        let mut passes = true;
        self.failures(candidate, exposure, |_| passes = false);
        passes
    }

    /// The halts that stop `arb` from being entered.
    fn halt_reasons<'a>(&'a self, arb: &'a ArbId, fail: &mut impl FnMut(Reason<'a>)) {
        let account = self.params.account.as_str();
        let halted = |scope: HaltScope, target: &str| {
            self.halts
                .iter()
                .any(|h| h.halted && h.scope == scope && (scope == HaltScope::Global || h.target == target))
        };
        if halted(HaltScope::Global, "") {
            fail(Reason::HaltGlobal);
        }
        for venue in [arb.long_venue, arb.short_venue] {
            if halted(HaltScope::Venue, venue.name()) {
                fail(Reason::HaltVenue(venue));
            }
        }
        if halted(HaltScope::Symbol, arb.symbol.as_str()) {
            fail(Reason::HaltSymbol(&arb.symbol));
        }
        if halted(HaltScope::Account, account) {
            fail(Reason::HaltAccount(account));
        }
        // A critical alert halts the account until a lift of the account that comes after it.
        let lifted_at = self
            .halts
            .iter()
            .filter(|h| !h.halted && h.scope == HaltScope::Account && h.target == account)
            .map(|h| h.since)
            .max();
        let standing = self.critical.iter().filter(|(last_us, _)| lifted_at.is_none_or(|lift| *last_us >= lift)).max();
        if let Some((_, alert_id)) = standing {
            fail(Reason::HaltAlert(alert_id));
        }
    }
}
