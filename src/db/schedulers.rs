//! Queries on `call_csv_schedulers`, including the runner's step that records due
//! occurrences: the advance of `next_execution` is a compare-and-set, so when several
//! runners see the same due scheduler only one records its occurrences.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::ids::{Id, SchedulerId};

use crate::db::schema::call_csv_schedulers;
use crate::db::{DbConnection, MultiBackend};
use crate::error::AppResult;
use crate::listing::{Direction, ListParams};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = call_csv_schedulers, treat_none_as_null = true)]
pub struct Scheduler {
    pub id: String,
    pub brand_id: String,
    pub client_id: Option<String>,
    /// `brand` or `client`: who created it, which decides the CSV's columns.
    pub level: String,
    pub name: String,
    pub client_type: Option<String>,
    pub unit: String,
    pub frequency: i32,
    pub cron: Option<String>,
    pub call_direction: Option<String>,
    pub carrier_id: Option<String>,
    pub ddi_provider_id: Option<String>,
    pub ddi_id: Option<String>,
    pub endpoint_type: Option<String>,
    pub endpoint_id: Option<String>,
    /// Comma-separated addresses; empty = no email.
    pub email: String,
    pub notification_template_id: Option<String>,
    pub next_execution: Option<NaiveDateTime>,
    pub last_execution: Option<NaiveDateTime>,
    pub last_execution_error: Option<String>,
    pub enabled: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// `calls` (the call CSV) or `summary` (the calls summed by `group_by`).
    pub kind: String,
    /// Summaries: one or two `/stats` dimensions, comma-separated.
    pub group_by: Option<String>,
    /// ISO alpha-2 codes, comma-separated: only calls to these countries.
    pub destination_countries: Option<String>,
    /// Only international calls (true) or only the others (false).
    pub international: Option<bool>,
    /// Whether the report email carries a digest of the period (totals, top countries,
    /// per day) in its body.
    pub digest: bool,
}

impl Scheduler {
    /// The addresses of `email`, trimmed, empty ones dropped.
    pub fn recipients(&self) -> Vec<String> {
        self.email
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_string)
            .collect()
    }
}

/// (Takes the id as text: tests and the runner hold it so.)
pub fn find(conn: &mut DbConnection, id: &str) -> AppResult<Option<Scheduler>> {
    Ok(call_csv_schedulers::table
        .find(id)
        .select(Scheduler::as_select())
        .first(conn)
        .optional()?)
}

const NAME_TAKEN: &str = "a scheduler with this name already exists (names are unique per brand, or per client for client schedulers)";

pub fn insert(conn: &mut DbConnection, s: &Scheduler) -> AppResult<()> {
    diesel::insert_into(call_csv_schedulers::table)
        .values(s)
        .execute(conn)
        .map_err(crate::error::unique(NAME_TAKEN))?;
    Ok(())
}

pub fn update(conn: &mut DbConnection, s: &Scheduler) -> AppResult<()> {
    diesel::update(call_csv_schedulers::table.find(&s.id))
        .set(s)
        .execute(conn)
        .map_err(crate::error::unique(NAME_TAKEN))?;
    Ok(())
}

pub fn delete(conn: &mut DbConnection, id: &SchedulerId) -> AppResult<usize> {
    Ok(diesel::delete(call_csv_schedulers::table.find(id.as_str())).execute(conn)?)
}

/// Enabled schedulers due at `now`, oldest due first.
pub fn due(conn: &mut DbConnection, now: NaiveDateTime, limit: i64) -> AppResult<Vec<Scheduler>> {
    Ok(call_csv_schedulers::table
        .filter(call_csv_schedulers::enabled.eq(true))
        .filter(call_csv_schedulers::next_execution.le(now))
        .order(call_csv_schedulers::next_execution.asc())
        .limit(limit)
        .select(Scheduler::as_select())
        .load(conn)?)
}

/// Moves `next_execution` from `seen` to `next` only if nobody moved it meanwhile (another
/// runner, or an operator's edit); true when this call did.
pub fn advance(
    conn: &mut DbConnection,
    id: &str,
    seen: NaiveDateTime,
    next: Option<NaiveDateTime>,
) -> AppResult<bool> {
    let changed = diesel::update(
        call_csv_schedulers::table
            .filter(call_csv_schedulers::id.eq(id))
            .filter(call_csv_schedulers::next_execution.eq(seen)),
    )
    .set(call_csv_schedulers::next_execution.eq(next))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Records a finished run: `last_execution` = `at`.
pub fn record_run(conn: &mut DbConnection, id: &str, at: NaiveDateTime) -> AppResult<()> {
    diesel::update(call_csv_schedulers::table.filter(call_csv_schedulers::id.eq(id)))
        .set(call_csv_schedulers::last_execution.eq(at))
        .execute(conn)?;
    Ok(())
}

/// Sets (or, after a success, clears) `last_execution_error`.
pub fn set_error(conn: &mut DbConnection, id: &str, error: Option<&str>) -> AppResult<()> {
    diesel::update(call_csv_schedulers::table.filter(call_csv_schedulers::id.eq(id)))
        .set(call_csv_schedulers::last_execution_error.eq(error))
        .execute(conn)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// What the API lists

/// What a list may be restricted to; the handler puts the caller's tenant in here.
#[derive(Debug, Default)]
pub struct Filter {
    pub brand: Option<String>,
    pub client: Option<String>,
    /// `brand` or `client` (client administrators see only their client-level schedulers).
    pub level: Option<String>,
    pub name: Option<String>,
    pub enabled: Option<bool>,
    /// Set when the request can match nothing (e.g. it names another tenant's brand).
    pub nothing: bool,
}

fn filtered(f: &Filter) -> call_csv_schedulers::BoxedQuery<'_, MultiBackend> {
    use call_csv_schedulers::dsl as s;
    let mut query = call_csv_schedulers::table.into_boxed();
    if f.nothing {
        // No row has an empty id.
        query = query.filter(s::id.eq(""));
    }
    if let Some(b) = &f.brand {
        query = query.filter(s::brand_id.eq(b));
    }
    if let Some(c) = &f.client {
        query = query.filter(s::client_id.eq(c));
    }
    if let Some(l) = &f.level {
        query = query.filter(s::level.eq(l));
    }
    if let Some(n) = &f.name {
        query = query.filter(s::name.eq(n));
    }
    if let Some(e) = f.enabled {
        query = query.filter(s::enabled.eq(e));
    }
    query
}

/// One page of schedulers and the total count. Orders: `name`, `nextExecution` (schedulers
/// without one last, on both backends), `createdAt`; the id breaks ties so pages are stable.
pub fn list(
    conn: &mut DbConnection,
    f: &Filter,
    params: &ListParams,
) -> AppResult<(i64, Vec<Scheduler>)> {
    use call_csv_schedulers::dsl as s;
    let total = filtered(f).count().get_result(conn)?;
    let mut query = filtered(f);
    for (field, direction) in &params.order {
        query = match (field.as_str(), direction) {
            ("name", Direction::Asc) => query.then_order_by(s::name.asc()),
            ("name", Direction::Desc) => query.then_order_by(s::name.desc()),
            // SQLite sorts NULL first and PostgreSQL last; say which explicitly.
            ("nextExecution", Direction::Asc) => query
                .then_order_by(s::next_execution.is_null().asc())
                .then_order_by(s::next_execution.asc()),
            ("nextExecution", Direction::Desc) => query
                .then_order_by(s::next_execution.is_null().asc())
                .then_order_by(s::next_execution.desc()),
            ("createdAt", Direction::Asc) => query.then_order_by(s::created_at.asc()),
            ("createdAt", Direction::Desc) => query.then_order_by(s::created_at.desc()),
            _ => query,
        };
    }
    let rows = query
        .then_order_by(s::id.asc())
        .limit(params.per_page)
        .offset(params.offset())
        .select(Scheduler::as_select())
        .load(conn)?;
    Ok((total, rows))
}
