//! Call rating: the exact amount of a call under a rating plan (shared/spec/rating.md).
//! Pure and synchronous: a [`Plan`] is an immutable in-memory index built once per plan
//! version from validated [`RateRow`]s; [`Plan::charge`] does no I/O and no allocation.
//! Beside the pure code, the operations on stored plans: [`plans`] (the plans and their
//! rate tables, as callers may see and change them), [`import`] (rate imports) and
//! [`profiles`] (which plan is in force for a client or carrier from when).

mod amount;
pub mod import;
mod plan;
pub mod plans;
mod prefix;
pub mod profiles;
mod row;

#[cfg(test)]
mod tests;

pub use amount::{billed_seconds, format_amount, RoundingMethod};
pub use plan::{Charge, Plan, PlanError, PlanSettings, RatingError, MAX_BILLED_SECONDS};
pub use plans::RatingPlans;
pub use profiles::RatingProfiles;
pub use row::{
    ParseError, RateRow, RawRateRow, WeekdaySet, MAX_DECIMAL_PLACES, MAX_INTEGER_DIGITS,
    MAX_PREFIX_DIGITS, MAX_UNIT_SECONDS,
};
