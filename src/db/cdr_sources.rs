//! Queries on `cdr_sources`: the feeds of a brand's switches and platforms. The structured
//! settings (`columns`, `numbering`, `direction_rules`, `mapping`, `call_types`) are stored
//! as JSON text in the shapes `sources::cdr_sources` defines and the API shows.

use std::fmt;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::cdr_sources;
use crate::db::{DbConnection, MultiBackend};
use crate::error::{unique, AppError, AppResult};
use crate::ids::{CdrSourceId, Id};
use crate::listing::{Direction, ListParams};

const NAME_TAKEN: &str = "a CDR source with this name already exists in the brand";

#[derive(Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = cdr_sources, treat_none_as_null = true)]
pub struct CdrSource {
    pub id: String,
    pub brand_id: String,
    pub name: String,
    /// A `sources::Format` name (`asterisk-csv`…).
    pub format: String,
    /// IANA zone; `None` = the brand's, read when records are imported.
    pub timezone: Option<String>,
    /// JSON array of column names (SQL column `columns`); `None` = the format's default.
    pub column_names: Option<String>,
    pub answered_only: bool,
    /// JSON `NumberingSpec`; `None` = the brand's country's conventions.
    pub numbering: Option<String>,
    /// JSON array of `DirectionRuleSpec`.
    pub direction_rules: String,
    /// JSON `MappingSpec`.
    pub mapping: String,
    /// JSON array of Webex call types; `None` = the PSTN ones.
    pub call_types: Option<String>,
    /// Canonical directory inside `CALLCSV_SPOOL_ROOT`, and the file name pattern.
    pub spool_path: Option<String>,
    pub spool_pattern: Option<String>,
    pub pull_url: Option<String>,
    /// Write-only: never shown, never logged (see the `Debug` below).
    pub pull_token: Option<String>,
    pub pull_interval_minutes: Option<i32>,
    pub callid_prefix: String,
    pub enabled: bool,
    /// SHA-256 (hex) of the push secret.
    pub push_secret_hash: String,
    pub last_error: Option<String>,
    pub last_pulled_at: Option<NaiveDateTime>,
    pub pull_checkpoint: Option<NaiveDateTime>,
    pub lease_owner: Option<String>,
    pub lease_until: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl fmt::Debug for CdrSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The pull token and the secret's hash stay out of logs.
        f.debug_struct("CdrSource")
            .field("id", &self.id)
            .field("brand_id", &self.brand_id)
            .field("name", &self.name)
            .field("format", &self.format)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

/// What the API changes: every column but the id, the brand, the push secret (see
/// [`set_push_secret_hash`]) and the runner's own (`last_error`, the pull checkpoint, the
/// lease), which a concurrent spool or pull pass may be writing.
#[derive(AsChangeset)]
#[diesel(table_name = cdr_sources, treat_none_as_null = true)]
struct Settings<'a> {
    name: &'a str,
    format: &'a str,
    timezone: Option<&'a str>,
    column_names: Option<&'a str>,
    answered_only: bool,
    numbering: Option<&'a str>,
    direction_rules: &'a str,
    mapping: &'a str,
    call_types: Option<&'a str>,
    spool_path: Option<&'a str>,
    spool_pattern: Option<&'a str>,
    pull_url: Option<&'a str>,
    pull_token: Option<&'a str>,
    pull_interval_minutes: Option<i32>,
    callid_prefix: &'a str,
    enabled: bool,
    updated_at: NaiveDateTime,
}

impl<'a> From<&'a CdrSource> for Settings<'a> {
    fn from(s: &'a CdrSource) -> Settings<'a> {
        Settings {
            name: &s.name,
            format: &s.format,
            timezone: s.timezone.as_deref(),
            column_names: s.column_names.as_deref(),
            answered_only: s.answered_only,
            numbering: s.numbering.as_deref(),
            direction_rules: &s.direction_rules,
            mapping: &s.mapping,
            call_types: s.call_types.as_deref(),
            spool_path: s.spool_path.as_deref(),
            spool_pattern: s.spool_pattern.as_deref(),
            pull_url: s.pull_url.as_deref(),
            pull_token: s.pull_token.as_deref(),
            pull_interval_minutes: s.pull_interval_minutes,
            callid_prefix: &s.callid_prefix,
            enabled: s.enabled,
            updated_at: s.updated_at,
        }
    }
}

pub fn find(conn: &mut DbConnection, id: &CdrSourceId) -> AppResult<Option<CdrSource>> {
    Ok(cdr_sources::table
        .find(id.as_str())
        .select(CdrSource::as_select())
        .first(conn)
        .optional()?)
}

/// What a list may be narrowed to; the operation holds `brand` to the caller's.
#[derive(Debug, Default)]
pub struct Filter {
    pub brand: Option<String>,
    pub name: Option<String>,
    pub format: Option<String>,
    pub enabled: Option<bool>,
    /// Set when the query can match nothing (another tenant's brand was asked for).
    pub nothing: bool,
}

fn filtered(f: &Filter) -> cdr_sources::BoxedQuery<'_, MultiBackend> {
    let mut query = cdr_sources::table.into_boxed();
    if f.nothing {
        query = query.filter(cdr_sources::id.eq(""));
    }
    if let Some(b) = &f.brand {
        query = query.filter(cdr_sources::brand_id.eq(b));
    }
    if let Some(n) = &f.name {
        query = query.filter(cdr_sources::name.eq(n));
    }
    if let Some(format) = &f.format {
        query = query.filter(cdr_sources::format.eq(format));
    }
    if let Some(enabled) = f.enabled {
        query = query.filter(cdr_sources::enabled.eq(enabled));
    }
    query
}

pub fn list(
    conn: &mut DbConnection,
    f: &Filter,
    params: &ListParams,
) -> AppResult<(i64, Vec<CdrSource>)> {
    let total = filtered(f).count().get_result(conn)?;
    let mut query = filtered(f);
    for (field, direction) in &params.order {
        query = match (field.as_str(), direction) {
            ("name", Direction::Asc) => query.then_order_by(cdr_sources::name.asc()),
            ("name", Direction::Desc) => query.then_order_by(cdr_sources::name.desc()),
            ("createdAt", Direction::Asc) => query.then_order_by(cdr_sources::created_at.asc()),
            ("createdAt", Direction::Desc) => query.then_order_by(cdr_sources::created_at.desc()),
            _ => query,
        };
    }
    let rows = query
        .then_order_by(cdr_sources::id.asc())
        .limit(params.per_page)
        .offset(params.offset())
        .select(CdrSource::as_select())
        .load(conn)?;
    Ok((total, rows))
}

pub fn insert(conn: &mut DbConnection, source: &CdrSource) -> AppResult<()> {
    diesel::insert_into(cdr_sources::table)
        .values(source)
        .execute(conn)
        .map_err(unique(NAME_TAKEN))?;
    Ok(())
}

/// Writes the API's columns of `source` (see [`Settings`]).
pub fn update(conn: &mut DbConnection, source: &CdrSource) -> AppResult<()> {
    let updated = diesel::update(cdr_sources::table.find(&source.id))
        .set(Settings::from(source))
        .execute(conn)
        .map_err(unique(NAME_TAKEN))?;
    if updated == 0 {
        return Err(AppError::not_found()); // deleted meanwhile
    }
    Ok(())
}

pub fn set_push_secret_hash(
    conn: &mut DbConnection,
    id: &str,
    hash: &str,
    at: NaiveDateTime,
) -> AppResult<()> {
    let updated = diesel::update(cdr_sources::table.find(id))
        .set((
            cdr_sources::push_secret_hash.eq(hash),
            cdr_sources::updated_at.eq(at),
        ))
        .execute(conn)?;
    if updated == 0 {
        return Err(AppError::not_found()); // deleted meanwhile
    }
    Ok(())
}

/// Deletes the source; its imports and spool checkpoints go with it (foreign keys cascade),
/// its calls stay (`billable_calls.source_id` is history, not a reference).
pub fn delete(conn: &mut DbConnection, id: &str) -> AppResult<usize> {
    Ok(diesel::delete(cdr_sources::table.find(id)).execute(conn)?)
}

/// The names of the brand's sources whose `mapping` names `id` (as its default client or
/// carrier): JSON has no foreign keys, so a delete asks here. (A UUID holds no `LIKE`
/// wildcard.)
pub fn naming_in_mapping(
    conn: &mut DbConnection,
    brand_id: &str,
    id: &str,
) -> AppResult<Vec<String>> {
    Ok(cdr_sources::table
        .filter(cdr_sources::brand_id.eq(brand_id))
        .filter(cdr_sources::mapping.like(format!("%\"{id}\"%")))
        .select(cdr_sources::name)
        .order(cdr_sources::name.asc())
        .load(conn)?)
}

/// A 409 when CDR sources of the brand fall back on `what` (`a client`, `a carrier`) `id`.
pub fn refuse_if_default(
    conn: &mut DbConnection,
    brand_id: &str,
    id: &str,
    what: &str,
) -> AppResult<()> {
    let sources = naming_in_mapping(conn, brand_id, id)?;
    if sources.is_empty() {
        return Ok(());
    }
    Err(AppError::conflict(format!(
        "the CDR source(s) {} fall back on this {what} (mapping); change them first",
        sources.join(", ")
    )))
}

/// How many sources of the brand have no numbering of their own, so number by the
/// brand's country.
pub fn following_brand_country(conn: &mut DbConnection, brand_id: &str) -> AppResult<i64> {
    Ok(cdr_sources::table
        .filter(cdr_sources::brand_id.eq(brand_id))
        .filter(cdr_sources::numbering.is_null())
        .count()
        .get_result(conn)?)
}

/// The enabled sources that pull a feed (`webex-cdr` with a URL and a token), with their
/// interval in minutes.
pub fn pulling(conn: &mut DbConnection) -> AppResult<Vec<(String, Option<i32>)>> {
    use cdr_sources::dsl as s;
    Ok(s::cdr_sources
        .filter(s::enabled.eq(true))
        .filter(s::format.eq("webex-cdr"))
        .filter(s::pull_url.is_not_null())
        .filter(s::pull_token.is_not_null())
        .order(s::id)
        .select((s::id, s::pull_interval_minutes))
        .load(conn)?)
}

/// The end of the source's last complete pull window.
pub fn pull_checkpoint(conn: &mut DbConnection, id: &str) -> AppResult<Option<NaiveDateTime>> {
    Ok(cdr_sources::table
        .find(id)
        .select(cdr_sources::pull_checkpoint)
        .first(conn)?)
}

/// Moves the pull checkpoint to the end of a window read whole (in the transaction of the
/// window's last batch), `at` being when.
pub fn save_pull_checkpoint(
    conn: &mut DbConnection,
    id: &str,
    end: NaiveDateTime,
    at: NaiveDateTime,
) -> AppResult<()> {
    use cdr_sources::dsl as s;
    diesel::update(s::cdr_sources.find(id))
        .set((s::pull_checkpoint.eq(end), s::last_pulled_at.eq(at)))
        .execute(conn)?;
    Ok(())
}

/// Where a source never pulled starts (`sources::pull::starting_point`), unless another
/// runner set it first.
pub fn start_pull(conn: &mut DbConnection, id: &str, checkpoint: NaiveDateTime) -> AppResult<()> {
    use cdr_sources::dsl as s;
    diesel::update(s::cdr_sources.find(id).filter(s::pull_checkpoint.is_null()))
        .set(s::pull_checkpoint.eq(checkpoint))
        .execute(conn)?;
    Ok(())
}
