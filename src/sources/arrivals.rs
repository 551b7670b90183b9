//! The doors records come in by, as operations: which source an upload, a push or a
//! `callcsv import` run writes to, and who may. Each returns the source loaded and ready
//! ([`Loaded`]); the reading itself is `import` and `push`.

use std::sync::Arc;

use crate::auth::Caller;
use crate::calls::rater::PlanCache;
use crate::db::cdr_sources::{self as stored, CdrSource};
use crate::db::DbConnection;
use crate::error::{AppError, AppResult};
use crate::ids::{CdrSourceId, Id};
use crate::listing::ListParams;
use crate::ops::Resource;
use crate::sources::cdr_sources::{self, CdrSources};
use crate::sources::import::Loaded;
use crate::sources::push::Prepared;

fn disabled() -> AppError {
    AppError::forbidden("the CDR source is disabled: it accepts no records")
}

/// The source a brand operator (or a platform administrator) uploads a file to: visible to
/// the caller (404 otherwise), theirs to write, enabled (403 otherwise).
pub fn for_upload(
    conn: &mut DbConnection,
    cache: &PlanCache,
    caller: &Caller,
    id: &CdrSourceId,
) -> AppResult<Loaded> {
    let source = CdrSources::find(conn, caller, id)?;
    CdrSources::may_change(caller, &source)?;
    load(conn, cache, &source.row)
}

/// The source a push names, when the push carries its secret (401 otherwise; 403 when the
/// source is disabled); loaded once per [`crate::sources::push::FRESH_FOR`].
pub fn for_push(
    conn: &mut DbConnection,
    cache: &PlanCache,
    prepared: &Prepared,
    id: &CdrSourceId,
    secret: Option<&str>,
) -> AppResult<Arc<Loaded>> {
    let source = cdr_sources::find_for_push(conn, id, secret)?;
    prepared.get(conn, cache, &source, |conn| {
        cdr_sources::settings(conn, &source)
    })
}

/// The source `callcsv import` names, by id or by name (a name several brands use needs
/// `brand`). The command runs with the database's own rights: no caller.
pub fn for_cli(
    conn: &mut DbConnection,
    cache: &PlanCache,
    source: &str,
    brand: Option<&str>,
) -> AppResult<Loaded> {
    let by_id = CdrSourceId::parse_ref("source", source)
        .ok()
        .map(|id| stored::find(conn, &id))
        .transpose()?
        .flatten()
        .filter(|s| brand.is_none_or(|b| s.brand_id == b));
    let row = match by_id {
        Some(row) => row,
        None => {
            let filter = stored::Filter {
                brand: brand.map(str::to_string),
                name: Some(source.to_string()),
                ..Default::default()
            };
            let (_, mut rows) = stored::list(conn, &filter, &ListParams::default())?;
            match rows.len() {
                0 => {
                    return Err(AppError::invalid_field(
                        "source",
                        format!("no CDR source with the id or name {source:?}"),
                    ))
                }
                1 => rows.remove(0),
                _ => {
                    return Err(AppError::invalid_field(
                        "source",
                        format!("several brands have a CDR source named {source:?}: add --brand"),
                    ))
                }
            }
        }
    };
    load(conn, cache, &row)
}

fn load(conn: &mut DbConnection, cache: &PlanCache, row: &CdrSource) -> AppResult<Loaded> {
    if !row.enabled {
        return Err(disabled());
    }
    let settings = cdr_sources::settings(conn, row)?;
    Loaded::load(conn, cache, settings)
}
