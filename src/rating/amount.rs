//! Exact money arithmetic for one charge: the sum of `rate × seconds / unit` is kept as an
//! integer fraction and divided once, when it is rounded; plus the stored text form.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::rating::row::ParseError;

/// How the total of a charge is rounded to the plan's decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RoundingMethod {
    /// Towards +infinity (amounts are never negative, so also away from zero).
    Up,
    /// Towards zero (truncate).
    Down,
    /// Half-up: to the nearest, and a tie (…5) away from zero.
    #[default]
    Middle,
}

impl RoundingMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            RoundingMethod::Up => "up",
            RoundingMethod::Down => "down",
            RoundingMethod::Middle => "middle",
        }
    }
}

impl fmt::Display for RoundingMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RoundingMethod {
    type Err = ParseError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim() {
            "up" => Ok(RoundingMethod::Up),
            "down" => Ok(RoundingMethod::Down),
            "middle" => Ok(RoundingMethod::Middle),
            _ => Err(ParseError::new("up, down or middle")),
        }
    }
}

/// 10^0 ..= 10^16, enough for a plan scale (≤ 10) and rounding decimals (≤ 6).
const POW10: [u64; 17] = {
    let mut table = [1u64; 17];
    let mut i = 1;
    while i < table.len() {
        table[i] = table[i - 1] * 10;
        i += 1;
    }
    table
};

/// `numerator / (denominator × 10^scale)`, where `scale` is the plan's money scale: every
/// rate and fee of the plan is an integer at that scale, so adding `rate × seconds / unit`
/// only needs integer multiplications (and an lcm when units differ within one call).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ExactSum {
    numerator: i128,
    denominator: u64,
}

impl ExactSum {
    pub(crate) const ZERO: ExactSum = ExactSum {
        numerator: 0,
        denominator: 1,
    };

    /// Adds a scaled amount (a connect fee).
    pub(crate) fn add(&mut self, scaled: i128) -> Option<()> {
        let term = scaled.checked_mul(i128::from(self.denominator))?;
        self.numerator = self.numerator.checked_add(term)?;
        Some(())
    }

    /// Adds `rate × seconds / unit` with `rate` scaled.
    pub(crate) fn add_per_unit(
        &mut self,
        scaled_rate: i128,
        seconds: u64,
        unit: u32,
    ) -> Option<()> {
        let unit = u64::from(unit);
        // The first test skips a division in the usual case of a single unit per call.
        if self.denominator != unit && !self.denominator.is_multiple_of(unit) {
            // Widen the common denominator to lcm(denominator, unit).
            let widen = unit / gcd(self.denominator, unit);
            self.numerator = self.numerator.checked_mul(i128::from(widen))?;
            self.denominator = self.denominator.checked_mul(widen)?;
        }
        let per_unit = self.denominator / unit;
        let term = scaled_rate
            .checked_mul(i128::from(seconds))?
            .checked_mul(i128::from(per_unit))?;
        self.numerator = self.numerator.checked_add(term)?;
        Some(())
    }

    /// The value rounded once to `decimals` places; `scale` is the plan's money scale.
    /// `None` if the result does not fit a `Decimal`.
    pub(crate) fn round(
        self,
        scale: u32,
        decimals: u32,
        method: RoundingMethod,
    ) -> Option<Decimal> {
        debug_assert!(scale <= 10 && decimals <= 6 && self.numerator >= 0);
        // value × 10^decimals = n / m
        let (n, m) = if decimals >= scale {
            let up = i128::from(POW10[(decimals - scale) as usize]);
            (
                self.numerator.checked_mul(up)?,
                i128::from(self.denominator),
            )
        } else {
            let down = i128::from(POW10[(scale - decimals) as usize]);
            (self.numerator, i128::from(self.denominator) * down)
        };
        let quotient = if m == 1 {
            n
        } else {
            let (q, r) = div_rem(n, m);
            let carry = match method {
                RoundingMethod::Down => false,
                RoundingMethod::Up => r > 0,
                RoundingMethod::Middle => r >= m - r,
            };
            q + i128::from(carry)
        };
        Decimal::try_from_i128_with_scale(quotient, decimals).ok()
    }
}

/// Non-negative division; takes the 64-bit path when it can because 128-bit division is
/// a software routine several times slower (this runs once per charge).
fn div_rem(n: i128, m: i128) -> (i128, i128) {
    match (u64::try_from(n), u64::try_from(m)) {
        (Ok(n), Ok(m)) => (i128::from(n / m), i128::from(n % m)),
        _ => (n / m, n % m),
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Billed whole seconds of a call duration: the ceiling of a non-negative decimal
/// (`59.5` → 60, `1.0000001` → 2). `None` for a negative duration or one beyond `u64`.
pub fn billed_seconds(duration: Decimal) -> Option<u64> {
    if duration.is_sign_negative() && !duration.is_zero() {
        return None;
    }
    u64::try_from(duration.ceil()).ok()
}

/// The stored text of an amount: a plain decimal with at least four places (`"0.3000"`,
/// `"2701.0000"`); more places are kept when the value has them (plans rounding to 5 or 6).
pub fn format_amount(amount: Decimal) -> String {
    let amount = if amount.is_zero() {
        // Never print "-0.0000".
        Decimal::new(0, amount.scale())
    } else {
        amount
    };
    let text = amount.to_string();
    let places = text.split_once('.').map_or(0, |(_, f)| f.len());
    match places {
        0 => format!("{text}.0000"),
        1..=3 => format!("{text}{}", "0".repeat(4 - places)),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn billed_seconds_is_the_ceiling() {
        assert_eq!(billed_seconds(dec("0")), Some(0));
        assert_eq!(billed_seconds(dec("0.000")), Some(0));
        assert_eq!(billed_seconds(dec("-0")), Some(0));
        assert_eq!(billed_seconds(dec("0.1")), Some(1));
        assert_eq!(billed_seconds(dec("1.0")), Some(1));
        assert_eq!(billed_seconds(dec("1.0000001")), Some(2));
        assert_eq!(billed_seconds(dec("59.5")), Some(60));
        assert_eq!(billed_seconds(dec("3600")), Some(3600));
        assert_eq!(billed_seconds(dec("-0.5")), None);
        assert_eq!(billed_seconds(dec("-1")), None);
        assert_eq!(billed_seconds(dec("18446744073709551615")), Some(u64::MAX));
        assert_eq!(billed_seconds(dec("18446744073709551615.1")), None);
    }

    #[test]
    fn format_amount_has_at_least_four_places() {
        assert_eq!(format_amount(dec("0.3")), "0.3000");
        assert_eq!(format_amount(dec("2701")), "2701.0000");
        assert_eq!(format_amount(dec("2701.0000")), "2701.0000");
        assert_eq!(format_amount(dec("0.17")), "0.1700");
        assert_eq!(format_amount(dec("0.7167")), "0.7167");
        assert_eq!(format_amount(dec("0.12346")), "0.12346");
        assert_eq!(format_amount(dec("0.123457")), "0.123457");
        assert_eq!(format_amount(dec("0.100000")), "0.100000");
        assert_eq!(format_amount(Decimal::ZERO), "0.0000");
        assert_eq!(format_amount(dec("-0.00")), "0.0000");
        assert_eq!(
            format_amount(dec("12345678901234.5")),
            "12345678901234.5000"
        );
    }

    #[test]
    fn rounding_method_text() {
        for method in [
            RoundingMethod::Up,
            RoundingMethod::Down,
            RoundingMethod::Middle,
        ] {
            assert_eq!(method.as_str().parse::<RoundingMethod>(), Ok(method));
        }
        assert_eq!(RoundingMethod::default(), RoundingMethod::Middle);
        assert!("half".parse::<RoundingMethod>().is_err());
    }

    #[test]
    fn exact_sum_divides_once() {
        // 0.1 per 60 s over 180 s: exactly 0.3, not 0.3001.
        let mut sum = ExactSum::ZERO;
        sum.add_per_unit(1, 180, 60).unwrap(); // rate 0.1 at scale 1
        assert_eq!(sum.round(1, 4, RoundingMethod::Up), Some(dec("0.3")));
        // Mixed units widen the denominator: 1/3 + 1/60 per second-unit.
        let mut sum = ExactSum::ZERO;
        sum.add_per_unit(1, 1, 3).unwrap();
        sum.add_per_unit(1, 1, 60).unwrap();
        sum.add_per_unit(1, 1, 7).unwrap();
        // 1/3 + 1/60 + 1/7 = 140/420 + 7/420 + 60/420 = 207/420 = 0.492857142…
        assert_eq!(sum.round(0, 6, RoundingMethod::Down), Some(dec("0.492857")));
        assert_eq!(
            sum.round(0, 6, RoundingMethod::Middle),
            Some(dec("0.492857"))
        );
        assert_eq!(sum.round(0, 6, RoundingMethod::Up), Some(dec("0.492858")));
    }

    #[test]
    fn exact_sum_reports_overflow() {
        let mut sum = ExactSum::ZERO;
        assert_eq!(sum.add_per_unit(i128::MAX / 2, 3, 1), None);
    }
}
