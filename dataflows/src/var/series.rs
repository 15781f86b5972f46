//! `Series`: a scenario P&L vector (one fixed-point value per bar) that differential adds up as a
//! difference.

use differential_dataflow::difference::{Abelian, IsZero, Monoid, Multiply, Semigroup};
use serde::{Deserialize, Serialize};

/// Sparse values per bar, sorted by bar, without zeros: fixed-point P&L terms in units of
/// `10^-TERM_DECIMALS` (see [`super::figures::pnl_term_fixed`]).
///
/// Used as a differential difference, so that an account's P&L per bar is one arranged value: a
/// changed exposure contributes `(new - old) * r_s` for all the window's bars as one update instead
/// of one update per bar. Addition merges bar by bar with integer additions, so the sums are exact
/// and a retraction cancels its insertion.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Series(pub Vec<(u64, i128)>);

impl Series {
    /// A series from values in any order (zeros dropped, equal bars added).
    pub fn from_values(values: impl IntoIterator<Item = (u64, i128)>) -> Series {
        let mut sorted: Vec<(u64, i128)> = values.into_iter().collect();
        sorted.sort_by_key(|(bar, _)| *bar);
        let mut series = Series::default();
        series.plus_equals(&Series(sorted));
        series
    }
}

impl IsZero for Series {
    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }
}

impl Semigroup for Series {
    fn plus_equals(&mut self, rhs: &Self) {
        let mut merged = Vec::with_capacity(self.0.len().max(rhs.0.len()));
        let (mut left, mut right) = (self.0.iter().peekable(), rhs.0.iter().peekable());
        loop {
            let next = match (left.peek(), right.peek()) {
                (Some((a, x)), Some((b, y))) if a == b => {
                    let sum = x.saturating_add(*y);
                    let bar = *a;
                    left.next();
                    right.next();
                    Some((bar, sum))
                }
                (Some((a, _)), Some((b, _))) if a < b => left.next().copied(),
                (Some(_), Some(_)) | (None, Some(_)) => right.next().copied(),
                (Some(_), None) => left.next().copied(),
                (None, None) => break,
            }
            .unwrap_or((0, 0));
            if next.1 != 0 {
                merged.push(next);
            }
        }
        self.0 = merged;
    }
}

impl Monoid for Series {
    fn zero() -> Self {
        Series::default()
    }
}

impl Abelian for Series {
    fn negate(&mut self) {
        for (_, value) in &mut self.0 {
            *value = -*value;
        }
    }
}

impl Multiply<isize> for Series {
    type Output = Series;
    fn multiply(self, rhs: &isize) -> Series {
        if *rhs == 0 {
            return Series::default();
        }
        Series(self.0.into_iter().map(|(bar, value)| (bar, value.saturating_mul(*rhs as i128))).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addition_merges_by_bar_and_drops_zeros() {
        let mut a = Series::from_values([(3, 150), (1, 200)]);
        a.plus_equals(&Series(vec![(1, -200), (2, 25), (5, 100)]));
        assert_eq!(a, Series(vec![(2, 25), (3, 150), (5, 100)]));
        let mut b = a.clone();
        b.negate();
        a.plus_equals(&b);
        assert!(a.is_zero());
        assert_eq!(Series(vec![(1, 2)]).multiply(&-3), Series(vec![(1, -6)]));
    }
}
