//! Billable calls: turning posted rows (JSON or CSV) into stored, rated calls.
//! `input` parses bodies into raw rows, `directory` is the brand's tenancy as ingestion
//! needs it (with inbound DDI provider detection), `rater` finds the plans in force and
//! prices calls, and `ingest` ties them together row by row; `rerate` prices stored calls
//! again; `read` is who sees which calls, and their CSV export; `country` is where a call
//! goes (`destinationCountry`).

pub mod country;
pub mod country_names;
pub mod directory;
pub mod ingest;
pub mod input;
pub mod rater;
pub mod read;
pub mod rerate;

use crate::auth::{Caller, Role};
use crate::error::AppResult;
use crate::ids::{BrandId, Id};

/// The brand an ingestion or a rerate works on: the operator's own, or the one a platform
/// administrator names. Client administrators write no calls (403).
pub fn brand_to_write(caller: &Caller, requested: Option<&str>) -> AppResult<BrandId> {
    may_write(caller)?;
    BrandId::parse_ref("brand", &caller.write_brand(requested)?)
}

/// Whether the caller's role writes calls (ingests, rerates): platform and brand only.
pub fn may_write(caller: &Caller) -> AppResult<()> {
    caller.require(&[Role::Platform, Role::Brand])
}
