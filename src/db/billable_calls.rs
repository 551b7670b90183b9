//! Queries on `billable_calls`: batch insert that skips duplicates, filtered reads, a
//! keyset walk for streaming any number of rows with flat memory, and rating updates.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::ids::{CallId, Id};

use crate::db::schema::billable_calls;
use crate::db::{DbConnection, MultiBackend};
use crate::error::AppResult;
use crate::listing::{Direction, ListParams};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = billable_calls, treat_none_as_default_value = false)]
pub struct BillableCall {
    pub id: String,
    pub brand_id: String,
    pub callid: String,
    pub start_time: NaiveDateTime,
    pub duration: String,
    pub billed_seconds: i64,
    pub caller: String,
    pub callee: String,
    pub direction: String,
    pub client_id: String,
    pub carrier_id: Option<String>,
    pub ddi_id: Option<String>,
    pub ddi_provider_id: Option<String>,
    pub source_ip: Option<String>,
    pub endpoint_type: Option<String>,
    pub endpoint_id: Option<String>,
    pub cost: Option<String>,
    pub price: Option<String>,
    pub rating_error: Option<String>,
    pub destination_name: Option<String>,
    pub rating_plan_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The CDR source the call came from (none: posted to the API).
    pub source_id: Option<String>,
    /// `answered`, or how an unanswered call ended (stored only by sources that keep them).
    pub disposition: String,
    /// The Q.850 cause, when the record had one.
    pub hangup_cause: Option<i32>,
    /// ISO 3166-1 alpha-2 of the external party (see `calls::country`).
    pub destination_country: Option<String>,
}

/// A call as inserted: its columns plus its money in millionths, derived here from the
/// text amounts so the two never disagree (statistics sum the integers).
type StoredCall<'a> = (
    &'a BillableCall,
    diesel::dsl::Eq<billable_calls::cost_micros, Option<i64>>,
    diesel::dsl::Eq<billable_calls::price_micros, Option<i64>>,
);

fn stored(call: &BillableCall) -> StoredCall<'_> {
    (
        call,
        billable_calls::cost_micros.eq(micros(call.cost.as_deref())),
        billable_calls::price_micros.eq(micros(call.price.as_deref())),
    )
}

/// A call as COPY sends it (diesel's COPY takes one plain insertable struct): the same
/// columns as [`stored`] gives an INSERT.
#[derive(Insertable)]
#[diesel(table_name = billable_calls, treat_none_as_default_value = false)]
struct CopiedCall<'a> {
    id: &'a str,
    brand_id: &'a str,
    callid: &'a str,
    start_time: NaiveDateTime,
    duration: &'a str,
    billed_seconds: i64,
    caller: &'a str,
    callee: &'a str,
    direction: &'a str,
    client_id: &'a str,
    carrier_id: Option<&'a str>,
    ddi_id: Option<&'a str>,
    ddi_provider_id: Option<&'a str>,
    source_ip: Option<&'a str>,
    endpoint_type: Option<&'a str>,
    endpoint_id: Option<&'a str>,
    cost: Option<&'a str>,
    price: Option<&'a str>,
    rating_error: Option<&'a str>,
    destination_name: Option<&'a str>,
    rating_plan_id: Option<&'a str>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    source_id: Option<&'a str>,
    disposition: &'a str,
    hangup_cause: Option<i32>,
    destination_country: Option<&'a str>,
    cost_micros: Option<i64>,
    price_micros: Option<i64>,
}

impl<'a> CopiedCall<'a> {
    fn of(call: &'a BillableCall) -> CopiedCall<'a> {
        CopiedCall {
            id: &call.id,
            brand_id: &call.brand_id,
            callid: &call.callid,
            start_time: call.start_time,
            duration: &call.duration,
            billed_seconds: call.billed_seconds,
            caller: &call.caller,
            callee: &call.callee,
            direction: &call.direction,
            client_id: &call.client_id,
            carrier_id: call.carrier_id.as_deref(),
            ddi_id: call.ddi_id.as_deref(),
            ddi_provider_id: call.ddi_provider_id.as_deref(),
            source_ip: call.source_ip.as_deref(),
            endpoint_type: call.endpoint_type.as_deref(),
            endpoint_id: call.endpoint_id.as_deref(),
            cost: call.cost.as_deref(),
            price: call.price.as_deref(),
            rating_error: call.rating_error.as_deref(),
            destination_name: call.destination_name.as_deref(),
            rating_plan_id: call.rating_plan_id.as_deref(),
            created_at: call.created_at,
            updated_at: call.updated_at,
            source_id: call.source_id.as_deref(),
            disposition: &call.disposition,
            hangup_cause: call.hangup_cause,
            destination_country: call.destination_country.as_deref(),
            cost_micros: micros(call.cost.as_deref()),
            price_micros: micros(call.price.as_deref()),
        }
    }
}

/// A stored amount in millionths: exact, as plans round to at most 6 decimals.
pub fn micros(amount: Option<&str>) -> Option<i64> {
    use rust_decimal::prelude::ToPrimitive;
    let value: rust_decimal::Decimal = amount?.trim().parse().ok()?;
    (value * rust_decimal::Decimal::from(1_000_000))
        .round()
        .to_i64()
}

/// The disposition of a call that was answered: the only ones rated and reported.
pub const ANSWERED: &str = "answered";

/// Every disposition a call may have (the names `sources::Disposition` stores).
pub const DISPOSITIONS: &[&str] = &[
    ANSWERED,
    "busy",
    "noanswer",
    "failed",
    "cancelled",
    "congestion",
];

/// Rows per INSERT statement: as many as the backend's bound parameters allow for the 29
/// columns (SQLite: 32 766, so 1 000 rows; PostgreSQL: 65 535, so 2 000 rows, a whole
/// import batch). Fewer, larger statements cost the database less parsing and planning.
fn insert_chunk(conn: &DbConnection) -> usize {
    match conn {
        DbConnection::Sqlite(_) => 1_000,
        DbConnection::Pg(_) => 2_000,
    }
}

/// Inserts calls, skipping any whose (brand, callid) is already stored (or repeated in
/// `rows`); returns how many were inserted.
pub fn insert_new(conn: &mut DbConnection, rows: &[BillableCall]) -> AppResult<usize> {
    Ok(insert_new_ids(conn, rows)?.len())
}

/// As [`insert_new`], returning the ids of the rows inserted (the others were duplicates).
/// The calls' statistics (`db::rollups`) are updated with them, and they are checked
/// against the destination and velocity alert rules (`alerts::arrivals`): callers hold a
/// transaction. Every way calls arrive stores them here.
///
/// The calls are inserted in (brand, callid) order: on PostgreSQL an insert waits for any
/// other transaction storing the same (brand, callid), so two writers storing overlapping
/// calls in different orders could each wait for the other (a deadlock, and one of them
/// fails). In one order, the second writer only ever waits for the first.
pub fn insert_new_ids(conn: &mut DbConnection, rows: &[BillableCall]) -> AppResult<Vec<String>> {
    let mut rows: Vec<&BillableCall> = rows.iter().collect();
    rows.sort_by(|a, b| (&a.brand_id, &a.callid).cmp(&(&b.brand_id, &b.callid)));
    let mut ids = Vec::with_capacity(rows.len());
    let mut stored_calls: Vec<&BillableCall> = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(insert_chunk(conn)) {
        // COPY pays off for batches; a push's few calls go faster as one INSERT.
        let copied = match conn {
            DbConnection::Pg(c) if chunk.len() >= COPY_FROM => copy_new(c, chunk)?,
            _ => None,
        };
        // SQLite: the rows this chunk adds are the ones past the last rowid now (its one
        // writer is this transaction), so their statistics are copied by the database
        // itself rather than bound value by value.
        let last_rowid = match conn {
            DbConnection::Sqlite(_) => Some(crate::db::rollups::last_call_rowid(conn)?),
            DbConnection::Pg(_) => None,
        };
        let inserted = match copied {
            Some(inserted) => inserted,
            None => insert_skipping_duplicates(conn, chunk)?,
        };
        let new: Vec<&BillableCall> = if inserted.len() == chunk.len() {
            chunk.to_vec()
        } else {
            let stored: std::collections::HashSet<&str> =
                inserted.iter().map(String::as_str).collect();
            chunk
                .iter()
                .filter(|c| stored.contains(c.id.as_str()))
                .copied()
                .collect()
        };
        // The statistics of the calls stored, in the caller's transaction.
        match last_rowid {
            Some(after) => crate::db::rollups::add_calls_after_rowid(conn, after)?,
            None => crate::db::rollups::add_calls(conn, new.iter().copied())?,
        }
        stored_calls.extend(new);
        ids.extend(inserted);
    }
    crate::alerts::arrivals::check_stored(conn, &stored_calls)?;
    Ok(ids)
}

/// `INSERT … ON CONFLICT DO NOTHING RETURNING id` of one chunk (ON CONFLICT is
/// backend-specific SQL in Diesel: dispatch on the variant).
fn insert_skipping_duplicates(
    conn: &mut DbConnection,
    rows: &[&BillableCall],
) -> AppResult<Vec<String>> {
    let chunk: Vec<StoredCall> = rows.iter().map(|c| stored(c)).collect();
    Ok(match conn {
        DbConnection::Sqlite(c) => diesel::insert_into(billable_calls::table)
            .values(chunk)
            .on_conflict((billable_calls::brand_id, billable_calls::callid))
            .do_nothing()
            .returning(billable_calls::id)
            .get_results(c)?,
        DbConnection::Pg(c) => diesel::insert_into(billable_calls::table)
            .values(chunk)
            .on_conflict((billable_calls::brand_id, billable_calls::callid))
            .do_nothing()
            .returning(billable_calls::id)
            .get_results(c)?,
    })
}

/// Calls from which PostgreSQL is sent a COPY rather than an INSERT (see [`copy_new`]).
const COPY_FROM: usize = 200;

/// PostgreSQL: the calls of `rows` not stored yet, sent with COPY, which costs the database
/// far less than a multi-row INSERT. The calls already stored (or repeated in `rows`) are
/// looked up first and left out; if another writer stores one of the others meanwhile, the
/// COPY is undone (a savepoint) and None tells the caller to INSERT the chunk instead.
fn copy_new(
    c: &mut diesel::PgConnection,
    rows: &[&BillableCall],
) -> AppResult<Option<Vec<String>>> {
    use diesel::result::{DatabaseErrorKind, Error};
    use std::collections::{HashMap, HashSet};

    let mut by_brand: HashMap<&str, Vec<&str>> = HashMap::new();
    for row in rows {
        by_brand.entry(&row.brand_id).or_default().push(&row.callid);
    }
    let mut stored_already: HashSet<(String, String)> = HashSet::new();
    for (brand, callids) in by_brand {
        let found: Vec<String> = billable_calls::table
            .filter(billable_calls::brand_id.eq(brand))
            .filter(billable_calls::callid.eq_any(callids))
            .select(billable_calls::callid)
            .load(c)?;
        stored_already.extend(found.into_iter().map(|callid| (brand.to_string(), callid)));
    }
    let mut seen = HashSet::new();
    let fresh: Vec<&BillableCall> = rows
        .iter()
        .filter(|r| {
            let key = (r.brand_id.clone(), r.callid.clone());
            !stored_already.contains(&key) && seen.insert(key)
        })
        .copied()
        .collect();
    if fresh.is_empty() {
        return Ok(Some(vec![]));
    }
    // Inside the caller's transaction this is a savepoint: a failed COPY is undone alone.
    let copied = c.transaction::<_, Error, _>(|c| {
        diesel::copy_from(billable_calls::table)
            .from_insertable(fresh.iter().map(|r| CopiedCall::of(r)).collect::<Vec<_>>())
            .execute(c)
    });
    match copied {
        Ok(_) => Ok(Some(fresh.iter().map(|r| r.id.clone()).collect())),
        Err(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// What a read may be narrowed to (all optional; `brand` None = every brand).
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub brand: Option<String>,
    pub client: Option<String>,
    pub after: Option<NaiveDateTime>,
    pub strictly_before: Option<NaiveDateTime>,
    pub direction: Option<String>,
    pub carrier: Option<String>,
    pub ddi: Option<String>,
    pub ddi_provider: Option<String>,
    pub endpoint_type: Option<String>,
    pub endpoint_id: Option<String>,
    pub callid: Option<String>,
    /// Only calls of clients of this type (schedulers' `clientType`).
    pub client_type: Option<String>,
    /// Only calls from this CDR source.
    pub source: Option<String>,
    /// Only calls that ended so (`answered` for reports and rerating: unanswered calls are
    /// never rated nor reported). No index has it: with a time range it filters the rows the
    /// range's index walk reads.
    pub disposition: Option<String>,
    /// Only calls to these countries (ISO alpha-2).
    pub destination_countries: Option<Vec<String>>,
    /// Only international calls (true) or only the others (false): see [`INTERNATIONAL`].
    pub international: Option<bool>,
    /// Only calls whose caller or callee begins with these characters.
    pub number_start: Option<String>,
    /// Only calls whose caller or callee contains these characters.
    pub number_partial: Option<String>,
    /// Only answered outbound calls left without a price (see `rater::is_unrated`).
    pub unrated: bool,
}

/// `raw` as a LIKE pattern's literal part: `%`, `_` and the escape character match
/// themselves (escaped with `\`).
pub fn like_literal(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// SQL condition: the call is international, i.e. its destination country is known and
/// differs from its client's home country (else its brand's); NULL (not international)
/// when neither has one.
pub const INTERNATIONAL: &str = "(billable_calls.destination_country <> \
     (SELECT COALESCE(clients.country, brands.country) FROM clients \
      JOIN brands ON brands.id = clients.brand_id WHERE clients.id = billable_calls.client_id))";

/// Narrows a boxed `billable_calls` query of either backend to a [`Filter`]. A macro, not
/// a function, because the keyset walk below also builds these queries for PostgreSQL's own
/// backend type (see [`keyset_chunk`]), and one generic function would need a page of trait
/// bounds.
macro_rules! apply_filter {
    ($query:expr, $filter:expr) => {{
        let f: &Filter = $filter;
        let mut q = $query;
        if let Some(v) = &f.brand {
            q = q.filter(billable_calls::brand_id.eq(v.clone()));
        }
        if let Some(v) = &f.client {
            q = q.filter(billable_calls::client_id.eq(v.clone()));
        }
        if let Some(v) = f.after {
            q = q.filter(billable_calls::start_time.ge(v));
        }
        if let Some(v) = f.strictly_before {
            q = q.filter(billable_calls::start_time.lt(v));
        }
        if let Some(v) = &f.direction {
            q = q.filter(billable_calls::direction.eq(v.clone()));
        }
        if let Some(v) = &f.carrier {
            q = q.filter(billable_calls::carrier_id.eq(v.clone()));
        }
        if let Some(v) = &f.ddi {
            q = q.filter(billable_calls::ddi_id.eq(v.clone()));
        }
        if let Some(v) = &f.ddi_provider {
            q = q.filter(billable_calls::ddi_provider_id.eq(v.clone()));
        }
        if let Some(v) = &f.endpoint_type {
            q = q.filter(billable_calls::endpoint_type.eq(v.clone()));
        }
        if let Some(v) = &f.endpoint_id {
            q = q.filter(billable_calls::endpoint_id.eq(v.clone()));
        }
        if let Some(v) = &f.callid {
            q = q.filter(billable_calls::callid.eq(v.clone()));
        }
        if let Some(v) = &f.source {
            q = q.filter(billable_calls::source_id.eq(v.clone()));
        }
        if let Some(v) = &f.disposition {
            q = q.filter(billable_calls::disposition.eq(v.clone()));
        }
        if let Some(v) = &f.destination_countries {
            q = q.filter(billable_calls::destination_country.eq_any(v.clone()));
        }
        if let Some(international) = f.international {
            let condition = if international {
                format!("COALESCE({}, FALSE)", INTERNATIONAL)
            } else {
                format!("NOT COALESCE({}, FALSE)", INTERNATIONAL)
            };
            q = q.filter(diesel::dsl::sql::<diesel::sql_types::Bool>(&condition));
        }
        if let Some(v) = &f.number_start {
            let pattern = format!("{}%", like_literal(v));
            q = q.filter(
                billable_calls::caller
                    .like(pattern.clone())
                    .escape('\\')
                    .or(billable_calls::callee.like(pattern).escape('\\')),
            );
        }
        if let Some(v) = &f.number_partial {
            let pattern = format!("%{}%", like_literal(v));
            q = q.filter(
                billable_calls::caller
                    .like(pattern.clone())
                    .escape('\\')
                    .or(billable_calls::callee.like(pattern).escape('\\')),
            );
        }
        if f.unrated {
            q = q
                .filter(billable_calls::direction.eq("outbound"))
                .filter(billable_calls::disposition.eq(ANSWERED))
                .filter(billable_calls::price.is_null());
        }
        if let Some(v) = &f.client_type {
            use crate::db::schema::clients;
            let of_type = clients::table
                .filter(clients::client_type.eq(v.clone()))
                .select(clients::id);
            q = q.filter(billable_calls::client_id.eq_any(of_type));
        }
        q
    }};
}

fn filtered(f: &Filter) -> billable_calls::BoxedQuery<'static, MultiBackend> {
    apply_filter!(billable_calls::table.into_boxed(), f)
}

/// One page, ordered by `_order` fields then (startTime, callid), with how many calls
/// match in all.
pub fn list(
    conn: &mut DbConnection,
    f: &Filter,
    params: &ListParams,
) -> AppResult<(i64, Vec<BillableCall>)> {
    Ok((count(conn, f)?, page(conn, f, params)?))
}

/// How many calls `f` matches.
pub fn count(conn: &mut DbConnection, f: &Filter) -> AppResult<i64> {
    Ok(filtered(f).count().get_result(conn)?)
}

/// How many calls `f` matches, counted up to `cap` + 1 only: a brand's millions of calls
/// are not counted each time a page of them is shown (see [`list`] for the exact count).
pub fn count_up_to(conn: &mut DbConnection, f: &Filter, cap: i64) -> AppResult<i64> {
    // start_time is in every one of the calls' indexes, so a filter on indexed columns
    // counts from the index alone (SQLite: 1 ms rather than 17 ms for 10 001 calls of a
    // day of a 2 000 000-call table, warm; id would need a table read per call).
    let times: Vec<NaiveDateTime> = filtered(f)
        .select(billable_calls::start_time)
        .limit(cap + 1)
        .load(conn)?;
    Ok(times.len() as i64)
}

/// One page, ordered by `_order` fields then (startTime, callid).
pub fn page(
    conn: &mut DbConnection,
    f: &Filter,
    params: &ListParams,
) -> AppResult<Vec<BillableCall>> {
    let mut q = filtered(f);
    for (field, direction) in &params.order {
        q = match (field.as_str(), direction) {
            ("startTime", Direction::Asc) => q.then_order_by(billable_calls::start_time.asc()),
            ("startTime", Direction::Desc) => q.then_order_by(billable_calls::start_time.desc()),
            ("callid", Direction::Asc) => q.then_order_by(billable_calls::callid.asc()),
            ("callid", Direction::Desc) => q.then_order_by(billable_calls::callid.desc()),
            ("duration", Direction::Asc) => q.then_order_by(billable_calls::billed_seconds.asc()),
            ("duration", Direction::Desc) => q.then_order_by(billable_calls::billed_seconds.desc()),
            ("caller", Direction::Asc) => q.then_order_by(billable_calls::caller.asc()),
            ("caller", Direction::Desc) => q.then_order_by(billable_calls::caller.desc()),
            ("callee", Direction::Asc) => q.then_order_by(billable_calls::callee.asc()),
            ("callee", Direction::Desc) => q.then_order_by(billable_calls::callee.desc()),
            _ => q,
        };
    }
    // Ties broken by (startTime, callid, id), in the direction of a leading startTime
    // order: newest first then reads the (brand, start_time, callid) index backwards and
    // stops after the page, where a tie-break the other way made SQLite walk the brand's
    // every call (seconds on a brand of 10 000 000).
    let newest_first = matches!(
        params.order.first(),
        Some((field, Direction::Desc)) if field == "startTime"
    );
    let q = if newest_first {
        q.then_order_by(billable_calls::callid.desc())
            .then_order_by(billable_calls::id.desc())
    } else {
        q.then_order_by(billable_calls::start_time.asc())
            .then_order_by(billable_calls::callid.asc())
            .then_order_by(billable_calls::id.asc())
    };
    let rows = q
        .limit(params.per_page)
        .offset(params.offset())
        .select(BillableCall::as_select())
        .load(conn)?;
    Ok(rows)
}

/// Where a keyset walk stands: the last (startTime, callid, id) returned.
pub type Cursor = (NaiveDateTime, String, String);

/// The next `limit` rows after `cursor` in (startTime, callid, id) order. Walking a result
/// this way keeps memory flat on both backends (no cursor held open, no OFFSET scans).
pub fn next_chunk(
    conn: &mut DbConnection,
    f: &Filter,
    cursor: Option<&Cursor>,
    limit: i64,
) -> AppResult<Vec<BillableCall>> {
    keyset_chunk!(conn, f, cursor, limit, BillableCall)
}

/// The columns a call CSV report needs, and nothing else (reports read millions of rows).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = billable_calls)]
pub struct ReportCall {
    pub id: String,
    pub callid: String,
    pub start_time: NaiveDateTime,
    pub billed_seconds: i64,
    pub caller: String,
    pub callee: String,
    pub direction: String,
    pub client_id: String,
    pub carrier_id: Option<String>,
    pub ddi_id: Option<String>,
    pub ddi_provider_id: Option<String>,
    pub endpoint_type: Option<String>,
    pub endpoint_id: Option<String>,
    pub cost: Option<String>,
    pub price: Option<String>,
}

/// Like [`next_chunk`], with only the report's columns.
pub fn next_report_chunk(
    conn: &mut DbConnection,
    f: &Filter,
    cursor: Option<&Cursor>,
    limit: i64,
) -> AppResult<Vec<ReportCall>> {
    keyset_chunk!(conn, f, cursor, limit, ReportCall)
}

/// One chunk of a keyset walk, loaded as `$row`.
///
/// On PostgreSQL the rows are read one by one as the server sends them
/// (`PgRowByRowLoadingMode`), so decoding them overlaps with the server still producing the
/// rest (loading each whole chunk before decoding it made the benchmark's report of
/// 1 000 000 calls about 40 % slower). SQLite hands rows over one by one anyway.
macro_rules! keyset_chunk {
    ($conn:expr, $filter:expr, $cursor:expr, $limit:expr, $row:ty) => {{
        let conn: &mut DbConnection = $conn;
        let cursor: Option<&Cursor> = $cursor;
        let f = narrowed($filter, cursor);
        if let DbConnection::Pg(pg) = conn {
            let query = apply_filter!(billable_calls::table.into_boxed::<diesel::pg::Pg>(), &f);
            let rows = apply_keyset!(query, &f, cursor)
                .limit($limit)
                .select(<$row>::as_select())
                .load_iter::<$row, diesel::pg::PgRowByRowLoadingMode>(pg)?
                .collect::<QueryResult<Vec<$row>>>()?;
            return Ok(rows);
        }
        Ok(apply_keyset!(filtered(&f), &f, cursor)
            .limit($limit)
            .select(<$row>::as_select())
            .load(conn)?)
    }};
}
use keyset_chunk;

/// The filter with its lower time bound moved up to the cursor: SQLite seeks the index with
/// one lower bound only, and picks the period's, not the cursor's, when both are there.
fn narrowed(f: &Filter, cursor: Option<&Cursor>) -> Filter {
    let mut f = f.clone();
    if let Some((t, _, _)) = cursor {
        f.after = Some(f.after.map_or(*t, |a| a.max(*t)));
    }
    f
}

/// Keeps the rows of a boxed query strictly after `cursor` in (startTime, callid, id) order,
/// in that order. Callers pass a filter [`narrowed`] to the cursor, so the index range scan
/// starts there instead of re-reading every earlier row on each chunk.
///
/// Within one brand a callid is unique, so (startTime, callid) already orders the rows and
/// the brand's index delivers them in that order; `id` only breaks ties across brands
/// (sorting on it too would make the database re-sort every group of equal times).
macro_rules! apply_keyset {
    ($query:expr, $filter:expr, $cursor:expr) => {{
        use billable_calls::{callid as call_id, id as row_id, start_time};
        let f: &Filter = $filter;
        let one_brand = f.brand.is_some();
        let mut q = $query;
        if let Some((t, callid, id)) = $cursor {
            // With the filter narrowed to start_time >= t, "start_time > t OR callid > …"
            // reads as "after (t, callid)".
            q = if one_brand {
                q.filter(start_time.gt(*t).or(call_id.gt(callid.clone())))
            } else {
                q.filter(
                    start_time
                        .gt(*t)
                        .or(call_id.gt(callid.clone()))
                        .or(call_id.eq(callid.clone()).and(row_id.gt(id.clone()))),
                )
            };
        }
        if one_brand {
            q.order((start_time.asc(), call_id.asc()))
        } else {
            q.order((start_time.asc(), call_id.asc(), row_id.asc()))
        }
    }};
}
use apply_keyset;

pub fn find(conn: &mut DbConnection, id: &CallId) -> AppResult<Option<BillableCall>> {
    Ok(billable_calls::table
        .find(id.as_str())
        .select(BillableCall::as_select())
        .first(conn)
        .optional()?)
}

/// The rating outcome of one call.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = billable_calls, treat_none_as_null = true)]
pub struct Rating {
    pub cost: Option<String>,
    pub price: Option<String>,
    pub rating_error: Option<String>,
    pub destination_name: Option<String>,
    pub rating_plan_id: Option<String>,
    pub updated_at: NaiveDateTime,
}

/// Sets `call`'s rating if the call is still as it was read (amounts and country, what the
/// statistics of `db::rollups` sum): false when another writer changed it meanwhile, so the
/// caller, which applies the difference to the statistics, leaves it alone.
pub fn set_rating(
    conn: &mut DbConnection,
    call: &BillableCall,
    rating: &Rating,
) -> AppResult<bool> {
    // The money in millionths beside the text, as for inserts.
    let changes = (
        rating,
        billable_calls::cost_micros.eq(micros(rating.cost.as_deref())),
        billable_calls::price_micros.eq(micros(rating.price.as_deref())),
    );
    let n = diesel::update(billable_calls::table.find(&call.id).filter(as_read(call)))
        .set(changes)
        .execute(conn)?;
    Ok(n == 1)
}

/// SQL condition: the row still has the amounts and country `call` was read with (NULL
/// compared as '', which neither ever is).
fn as_read(
    call: &BillableCall,
) -> diesel::expression::SqlLiteral<
    diesel::sql_types::Bool,
    impl diesel::query_builder::QueryFragment<MultiBackend> + diesel::query_builder::QueryId,
> {
    use diesel::sql_types::Text;
    diesel::dsl::sql::<diesel::sql_types::Bool>("COALESCE(billable_calls.cost, '') = ")
        .bind::<Text, _>(call.cost.clone().unwrap_or_default())
        .sql(" AND COALESCE(billable_calls.price, '') = ")
        .bind::<Text, _>(call.price.clone().unwrap_or_default())
        .sql(" AND COALESCE(billable_calls.destination_country, '') = ")
        .bind::<Text, _>(call.destination_country.clone().unwrap_or_default())
        .sql("")
}

/// Up to `limit` calls after id `after` in id order: what the destination country backfill
/// reads.
pub fn calls_after(
    conn: &mut DbConnection,
    after: &str,
    limit: i64,
) -> AppResult<Vec<BillableCall>> {
    Ok(billable_calls::table
        .filter(billable_calls::id.gt(after))
        .order(billable_calls::id.asc())
        .limit(limit)
        .select(BillableCall::as_select())
        .load(conn)?)
}

/// Sets `call`'s destination country if the call is still as it was read (see
/// [`set_rating`]); false otherwise.
pub fn set_destination_country(
    conn: &mut DbConnection,
    call: &BillableCall,
    country: Option<&str>,
) -> AppResult<bool> {
    let n = diesel::update(billable_calls::table.find(&call.id).filter(as_read(call)))
        .set(billable_calls::destination_country.eq(country))
        .execute(conn)?;
    Ok(n == 1)
}
