//! Who sees which CDR imports: brand operators their brand's, platform administrators
//! every brand's (narrowed with `?brand=`); client administrators none (sources are the
//! brand's business). Imports are read-only: arrivals create them.

use crate::auth::Caller;
use crate::db::cdr_imports::{self, CdrImport, Filter};
use crate::db::DbConnection;
use crate::error::{AppError, AppResult};
use crate::ids::{AnyId, Id};
use crate::listing::ListParams;
use crate::sources::import::Origin;
use crate::tenancy::brand_business;

pub const FILTERS: &[&str] = &[
    "brand",
    "source",
    "status",
    "origin",
    "startedAt[after]",
    "startedAt[strictly_before]",
];
pub const ORDER: &[&str] = &["startedAt"];
pub const STATUSES: &[&str] = &["running", "done", "failed"];

pub fn find(conn: &mut DbConnection, caller: &Caller, id: &AnyId) -> AppResult<CdrImport> {
    let found = cdr_imports::find(conn, id.as_str())?;
    brand_business::visible(caller, found, |i| &i.brand_id)
}

pub fn list(
    conn: &mut DbConnection,
    caller: &Caller,
    params: &ListParams,
) -> AppResult<(i64, Vec<CdrImport>)> {
    let scope = brand_business::filter(caller, params)?;
    if scope.nothing {
        return Ok((0, vec![]));
    }
    let status = params.filter("status");
    if let Some(s) = status.filter(|s| !STATUSES.contains(s)) {
        return Err(AppError::invalid_query(format!(
            "status: {s:?} is not one of {}",
            STATUSES.join(", ")
        )));
    }
    let origin = params.filter("origin");
    if let Some(o) = origin.filter(|o| Origin::from_name(o).is_none()) {
        return Err(AppError::invalid_query(format!(
            "origin: {o:?} is not one of upload, push, spool, pull, cli"
        )));
    }
    let filter = Filter {
        brand: scope.brand,
        source: params.filter_id("source")?,
        status: status.map(str::to_string),
        origin: origin.map(str::to_string),
        started_from: params.filter_time("startedAt[after]")?,
        started_to: params.filter_time("startedAt[strictly_before]")?,
    };
    cdr_imports::list(conn, &filter, params)
}
