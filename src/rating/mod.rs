//! Call rating: the exact amount of a call under a rating plan (shared/spec/rating.md).
//! Pure and synchronous: a [`Plan`] is an immutable in-memory index built once per plan
//! version from validated [`RateRow`]s; [`Plan::charge`] does no I/O and no allocation.

mod amount;
mod plan;
mod prefix;
mod row;

#[cfg(test)]
mod tests;

pub use amount::{billed_seconds, format_amount, RoundingMethod};
pub use plan::{Charge, Plan, PlanError, PlanSettings, RatingError, MAX_BILLED_SECONDS};
pub use row::{
    ParseError, RateRow, RawRateRow, WeekdaySet, MAX_DECIMAL_PLACES, MAX_INTEGER_DIGITS,
    MAX_PREFIX_DIGITS, MAX_UNIT_SECONDS,
};
