//! Exact decimal sums per key, maintained as differential differences.

use differential_dataflow::difference::{Abelian, IsZero, Monoid, Multiply, Semigroup};
use differential_dataflow::{ExchangeData, Hashable, VecCollection};
use nexus_model::Dec;
use serde::{Deserialize, Serialize};

use crate::Time;

/// A difference that adds up decimals and counts the records that contributed them.
///
/// The count is what keeps a key whose decimals sum to exactly zero (a closed position) apart from
/// a key with no records at all. Addition is exact as long as the summands share a bounded scale
/// (every input decimal does, see [`Dec::MAX_INPUT`]), so a retraction cancels its insertion to the
/// last digit, whichever order the workers add them in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DecimalSum {
    /// Net number of contributing records.
    pub count: i64,
    /// Exact sum of their decimals.
    pub sum: Dec,
}

impl IsZero for DecimalSum {
    fn is_zero(&self) -> bool {
        self.count == 0 && self.sum.is_zero()
    }
}

impl Semigroup for DecimalSum {
    fn plus_equals(&mut self, rhs: &Self) {
        self.count += rhs.count;
        self.sum.plus_equals(&rhs.sum);
    }
}

impl Monoid for DecimalSum {
    fn zero() -> Self {
        DecimalSum::default()
    }
}

impl Abelian for DecimalSum {
    fn negate(&mut self) {
        self.count = -self.count;
        self.sum.negate();
    }
}

impl Multiply<isize> for DecimalSum {
    type Output = DecimalSum;
    fn multiply(self, rhs: &isize) -> DecimalSum {
        DecimalSum { count: self.count * *rhs as i64, sum: self.sum.multiply(rhs) }
    }
}

/// The sum of the decimals of each key: `(k, sum of v over the records (k, v))`, for every key with
/// at least one record (a sum of exactly zero is kept). Arranged once per key (`Count`): a changed
/// record costs one update to its key's sum, not a pass over the key's records.
pub fn sum_by_key<'s, K>(collection: VecCollection<'s, Time, (K, Dec)>) -> VecCollection<'s, Time, (K, Dec)>
where
    K: ExchangeData + Hashable,
{
    collection
        .explode(|(key, value)| Some((key, DecimalSum { count: 1, sum: value })))
        .count()
        .filter(|(_key, total)| total.count > 0)
        .map(|(key, total)| (key, total.sum))
}
