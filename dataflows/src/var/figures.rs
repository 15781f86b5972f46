//! The arithmetic of DESIGN 5.3 on one account's window: scenario P&L terms, historical VaR and
//! expected shortfall in exact decimals, parametric VaR in floating point.

use compact_str::CompactString;
use nexus_model::records::VarFigures;
use nexus_model::{Dec, Float};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

/// Decimal places of one scenario P&L term `E_s * r_(s,k)`.
///
/// A return is a quotient (up to 28 places) and an exposure a product, so their product has more
/// places than a `Decimal` holds and is rounded. Rounding every term to one fixed scale makes the
/// sums `L_k` exact integer additions: a retracted term cancels its insertion to the last digit
/// whatever order the workers add in. 16 places leave room for sums up to 7.9e12.
pub const TERM_DECIMALS: u32 = 16;

/// `z_0.95` of the definition.
pub const Z_95: f64 = 1.6448536270;
/// `z_0.99` of the definition.
pub const Z_99: f64 = 2.3263478740;

/// One term of a scenario P&L: `exposure * ret`, rounded half-even to [`TERM_DECIMALS`].
pub fn pnl_term(exposure: Dec, ret: Dec) -> Option<Dec> {
    pnl_term_fixed(exposure, ret).map(from_fixed)
}

/// [`pnl_term`] as a fixed-point integer: units of `10^-TERM_DECIMALS`. Sums of these are plain
/// integer additions, which is what the P&L series adds up (far cheaper than decimal additions,
/// which rescale and normalize).
pub fn pnl_term_fixed(exposure: Dec, ret: Dec) -> Option<i128> {
    let rounded = exposure.inner().checked_mul(ret.inner())?.round_dp(TERM_DECIMALS);
    let widen = 10i128.checked_pow(TERM_DECIMALS.checked_sub(rounded.scale())?)?;
    rounded.mantissa().checked_mul(widen)
}

/// A fixed-point sum of terms back as a decimal.
pub fn from_fixed(units: i128) -> Dec {
    Dec::new(Decimal::from_i128_with_scale(units, TERM_DECIMALS))
}

/// The return between two closes: `close / previous - 1`.
pub fn bar_return(close: Dec, previous: Dec) -> Option<Dec> {
    close.checked_div(previous)?.checked_sub(Dec::ONE)
}

/// Historical VaR and ES at confidence `level` (in percent, 95 or 99) of `sorted` (ascending P&L
/// of the N bars): `j = ceil((1 - a) * N)` in decimals, `var = max(0, -L_(j))`,
/// `es = max(0, -mean(L_(1..j)))`. `None` for an empty window.
pub fn historical(sorted: &[Dec], level: u32) -> Option<(Dec, Dec)> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let tail = Decimal::new(i64::from(100u32.saturating_sub(level)), 2) * Decimal::from(n as u64);
    let j = tail.ceil().to_usize()?.clamp(1, n);
    let var = Dec::ZERO.max(negate(sorted[j - 1]));
    let mut sum = Dec::ZERO;
    for loss in &sorted[..j] {
        sum = sum.checked_add(*loss)?;
    }
    let mean = sum.checked_div(Dec::from(j as u64))?;
    Some((var, Dec::ZERO.max(negate(mean))))
}

/// Parametric VaR at 95% and 99%: `z * sigma` with `sigma^2` the sample variance (N - 1) of the
/// window's P&L (given as `f64`, as the definition allows), which equals
/// `sum_s sum_s' E_s E_s' cov(r_s, r_s')`. Zero below two bars.
pub fn parametric(values: &[f64]) -> (Float, Float) {
    let n = values.len();
    if n < 2 {
        return (Float(0.0), Float(0.0));
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let variance = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1) as f64;
    let sigma = variance.max(0.0).sqrt();
    (Float(Z_95 * sigma), Float(Z_99 * sigma))
}

/// The `var` record of an account from its exposures and the window's P&L, sorted ascending
/// (`pnl` exactly, `values` the same figures as `f64` for the parametric side).
pub fn var_record(account: CompactString, net: Dec, gross: Dec, pnl: &[Dec], values: &[f64]) -> Option<VarFigures> {
    let (var_hist_95, es_hist_95) = historical(pnl, 95)?;
    let (var_hist_99, es_hist_99) = historical(pnl, 99)?;
    let (var_param_95, var_param_99) = parametric(values);
    Some(VarFigures {
        account,
        returns: pnl.len() as u64,
        exposure_net: net,
        exposure_gross: gross,
        var_hist_95,
        es_hist_95,
        var_hist_99,
        es_hist_99,
        var_param_95,
        var_param_99,
    })
}

fn negate(value: Dec) -> Dec {
    Dec::new(-value.inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(text: &str) -> Dec {
        Dec::parse(text).unwrap()
    }

    #[test]
    fn tail_index_is_computed_in_decimals() {
        // (1 - 0.95) * 120 = 6 exactly: the 6th smallest, not the 7th (f64 gives ceil(6.000000000000001) = 7).
        let sorted: Vec<Dec> = (1..=120).map(|i| Dec::from(i as i64 - 200)).collect();
        let (var, es) = historical(&sorted, 95).unwrap();
        assert_eq!(var, dec("194"));
        assert_eq!(es, dec("196.5"));
        // ceil(0.01 * 120) = 2.
        let (var, es) = historical(&sorted, 99).unwrap();
        assert_eq!(var, dec("198"));
        assert_eq!(es, dec("198.5"));
    }

    #[test]
    fn gains_only_give_zero_risk() {
        let sorted = vec![dec("1"), dec("2"), dec("3")];
        assert_eq!(historical(&sorted, 99).unwrap(), (Dec::ZERO, Dec::ZERO));
    }

    #[test]
    fn parametric_is_z_times_the_sample_deviation() {
        let (p95, p99) = parametric(&[1.0, -1.0, 1.0, -1.0]);
        let sigma = (4.0f64 / 3.0).sqrt();
        assert!((p95.0 - Z_95 * sigma).abs() < 1e-12);
        assert!((p99.0 - Z_99 * sigma).abs() < 1e-12);
    }

    #[test]
    fn terms_are_rounded_to_a_fixed_scale() {
        let r = bar_return(dec("3"), dec("7")).unwrap();
        let term = pnl_term(dec("1000"), r).unwrap();
        assert_eq!(term.to_string(), "-571.4285714285714286");
        assert_eq!(pnl_term_fixed(dec("1000"), r), Some(-5_714_285_714_285_714_286));
        assert_eq!(pnl_term_fixed(dec("2"), dec("0.5")), Some(10_000_000_000_000_000));
        assert_eq!(from_fixed(10_000_000_000_000_000), Dec::ONE);
    }
}
