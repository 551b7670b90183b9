//! Queries on `alert_rules` and `alert_events`. An event is inserted with
//! `ON CONFLICT DO NOTHING` on its unique (rule, subject, window): whoever records it first
//! wins, every other attempt (a second instance, a retry after a crash) changes nothing.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{alert_events, alert_rules};
use crate::db::{DbConnection, MultiBackend};
use crate::error::{AppError, AppResult};
use crate::listing::{Direction, ListParams};
use diesel::sql_types::{Array, Text, Timestamp};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = alert_rules, treat_none_as_null = true)]
pub struct AlertRule {
    pub id: String,
    pub brand_id: String,
    pub client_id: Option<String>,
    pub level: String,
    pub name: String,
    pub enabled: bool,
    pub kind: String,
    pub client_type: Option<String>,
    pub carrier_id: Option<String>,
    pub endpoint_type: Option<String>,
    pub endpoint_id: Option<String>,
    pub direction: Option<String>,
    /// ISO alpha-2 codes, comma-separated.
    pub destination_countries: Option<String>,
    /// Comma-separated addresses; empty = no email.
    pub email: String,
    pub webhook_url: Option<String>,
    pub webhook_secret: Option<String>,
    pub notification_template_id: Option<String>,
    /// A spend rule's measure, or a quality rule's metric.
    pub measure: Option<String>,
    pub time_window: Option<String>,
    pub per: Option<String>,
    /// A spend rule's threshold, or a quality rule's value.
    pub threshold: Option<String>,
    pub mode: Option<String>,
    /// Comma-separated.
    pub countries: Option<String>,
    /// Comma-separated.
    pub prefixes: Option<String>,
    pub condition: Option<String>,
    pub compare_to: Option<String>,
    pub min_calls: Option<i32>,
    pub max_calls: Option<i32>,
    pub minutes: Option<i32>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl AlertRule {
    /// The addresses of `email`, empty ones dropped.
    pub fn recipients(&self) -> Vec<String> {
        split_list(&self.email)
    }
}

/// A stored comma list as its entries (empty: none).
pub fn split_list(stored: &str) -> Vec<String> {
    stored
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect()
}

const NAME_TAKEN: &str = "an alert rule with this name already exists (names are unique per brand, or per client for client rules)";

pub fn find_rule(conn: &mut DbConnection, id: &str) -> AppResult<Option<AlertRule>> {
    Ok(alert_rules::table
        .find(id)
        .select(AlertRule::as_select())
        .first(conn)
        .optional()?)
}

pub fn insert_rule(conn: &mut DbConnection, r: &AlertRule) -> AppResult<()> {
    diesel::insert_into(alert_rules::table)
        .values(r)
        .execute(conn)
        .map_err(crate::error::unique(NAME_TAKEN))?;
    Ok(())
}

pub fn update_rule(conn: &mut DbConnection, r: &AlertRule) -> AppResult<()> {
    diesel::update(alert_rules::table.find(&r.id))
        .set(r)
        .execute(conn)
        .map_err(crate::error::unique(NAME_TAKEN))?;
    Ok(())
}

pub fn delete_rule(conn: &mut DbConnection, id: &str) -> AppResult<usize> {
    Ok(diesel::delete(alert_rules::table.find(id)).execute(conn)?)
}

/// Every enabled rule of `kinds` (all brands): what the evaluators work through.
pub fn enabled_rules(conn: &mut DbConnection, kinds: &[&str]) -> AppResult<Vec<AlertRule>> {
    Ok(alert_rules::table
        .filter(alert_rules::enabled.eq(true))
        .filter(alert_rules::kind.eq_any(kinds))
        .order(alert_rules::id.asc())
        .select(AlertRule::as_select())
        .load(conn)?)
}

/// The enabled rules of `kinds` of one brand: what its arriving calls are checked against.
pub fn enabled_rules_of_brand(
    conn: &mut DbConnection,
    brand: &str,
    kinds: &[&str],
) -> AppResult<Vec<AlertRule>> {
    Ok(alert_rules::table
        .filter(alert_rules::brand_id.eq(brand))
        .filter(alert_rules::enabled.eq(true))
        .filter(alert_rules::kind.eq_any(kinds))
        .order(alert_rules::id.asc())
        .select(AlertRule::as_select())
        .load(conn)?)
}

/// What a list of rules may be restricted to; the operation puts the caller's tenant here.
#[derive(Debug, Default)]
pub struct RuleFilter {
    pub brand: Option<String>,
    pub client: Option<String>,
    pub level: Option<String>,
    pub name: Option<String>,
    pub kind: Option<String>,
    pub enabled: Option<bool>,
    pub nothing: bool,
}

fn rules_filtered(f: &RuleFilter) -> alert_rules::BoxedQuery<'_, MultiBackend> {
    use alert_rules::dsl as r;
    let mut query = alert_rules::table.into_boxed();
    if f.nothing {
        query = query.filter(r::id.eq(""));
    }
    if let Some(b) = &f.brand {
        query = query.filter(r::brand_id.eq(b));
    }
    if let Some(c) = &f.client {
        query = query.filter(r::client_id.eq(c));
    }
    if let Some(l) = &f.level {
        query = query.filter(r::level.eq(l));
    }
    if let Some(n) = &f.name {
        query = query.filter(r::name.eq(n));
    }
    if let Some(k) = &f.kind {
        query = query.filter(r::kind.eq(k));
    }
    if let Some(e) = f.enabled {
        query = query.filter(r::enabled.eq(e));
    }
    query
}

/// One page of rules and the total; orders `name`, `createdAt`, then the id.
pub fn list_rules(
    conn: &mut DbConnection,
    f: &RuleFilter,
    params: &ListParams,
) -> AppResult<(i64, Vec<AlertRule>)> {
    use alert_rules::dsl as r;
    let total = rules_filtered(f).count().get_result(conn)?;
    let mut query = rules_filtered(f);
    for (field, direction) in &params.order {
        query = match (field.as_str(), direction) {
            ("name", Direction::Asc) => query.then_order_by(r::name.asc()),
            ("name", Direction::Desc) => query.then_order_by(r::name.desc()),
            ("createdAt", Direction::Asc) => query.then_order_by(r::created_at.asc()),
            ("createdAt", Direction::Desc) => query.then_order_by(r::created_at.desc()),
            _ => query,
        };
    }
    let rows = query
        .then_order_by(r::id.asc())
        .limit(params.per_page)
        .offset(params.offset())
        .select(AlertRule::as_select())
        .load(conn)?;
    Ok((total, rows))
}

// ---------------------------------------------------------------------------------------
// Events

// `treat_none_as_default_value = false`: a multi-row INSERT on SQLite (no column has a
// default other than NULL).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = alert_events, treat_none_as_default_value = false)]
pub struct AlertEvent {
    pub id: String,
    pub rule_id: String,
    pub brand_id: String,
    pub client_id: Option<String>,
    pub level: String,
    pub rule_name: String,
    pub kind: String,
    pub subject_type: Option<String>,
    pub subject_id: Option<String>,
    pub subject_name: Option<String>,
    pub subject_key: String,
    pub window_from: NaiveDateTime,
    pub window_to: NaiveDateTime,
    pub measured: String,
    pub threshold: String,
    pub previous: Option<String>,
    pub fired_at: NaiveDateTime,
    /// Up to 20 callids, comma-separated.
    pub calls: String,
    pub sent_to: String,
    pub email_status: String,
    pub email_attempts: i32,
    pub email_error: Option<String>,
    pub email_next_attempt: Option<NaiveDateTime>,
    pub email_lease_until: Option<NaiveDateTime>,
    pub webhook_status: String,
    pub webhook_attempts: i32,
    pub webhook_error: Option<String>,
    pub webhook_next_attempt: Option<NaiveDateTime>,
    pub webhook_lease_until: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn find_event(conn: &mut DbConnection, id: &str) -> AppResult<Option<AlertEvent>> {
    Ok(alert_events::table
        .find(id)
        .select(AlertEvent::as_select())
        .first(conn)
        .optional()?)
}

/// The unique keys (rule, subject key, window start) of the events of `rules` whose window
/// starts at or after `from`: what an evaluation pass has recorded already. Read from the
/// unique index alone, a statement per thousand rules.
pub fn event_keys(
    conn: &mut DbConnection,
    rules: &[&str],
    from: NaiveDateTime,
) -> AppResult<Vec<(String, String, NaiveDateTime)>> {
    let mut keys = vec![];
    for chunk in rules.chunks(1_000) {
        keys.extend(
            alert_events::table
                .filter(alert_events::rule_id.eq_any(chunk))
                .filter(alert_events::window_from.ge(from))
                .select((
                    alert_events::rule_id,
                    alert_events::subject_key,
                    alert_events::window_from,
                ))
                .load::<(String, String, NaiveDateTime)>(conn)?,
        );
    }
    Ok(keys)
}

/// Events per INSERT: 31 columns within SQLite's 32 766 bound parameters.
pub const EVENTS_PER_INSERT: usize = 1_000;

/// Records each of `events` whose (rule, subject, window) has none yet, a statement per
/// thousand; returns the ids of those recorded (the others met an event recorded before).
pub fn record_events(conn: &mut DbConnection, events: &[AlertEvent]) -> AppResult<Vec<String>> {
    let mut recorded = Vec::with_capacity(events.len());
    for chunk in events.chunks(EVENTS_PER_INSERT) {
        let key = (
            alert_events::rule_id,
            alert_events::subject_key,
            alert_events::window_from,
        );
        recorded.extend(match conn {
            DbConnection::Sqlite(c) => diesel::insert_into(alert_events::table)
                .values(chunk)
                .on_conflict(key)
                .do_nothing()
                .returning(alert_events::id)
                .get_results::<String>(c)?,
            DbConnection::Pg(c) => diesel::insert_into(alert_events::table)
                .values(chunk)
                .on_conflict(key)
                .do_nothing()
                .returning(alert_events::id)
                .get_results::<String>(c)?,
        });
    }
    Ok(recorded)
}

/// Merges `event` into the event its (rule, subject, window) already has: `merge` says what
/// that one's measured value and calls become (`None`: unchanged). Callers serialise merges
/// of a brand's events ([`lock_brand_events`]).
pub fn merge_into(
    conn: &mut DbConnection,
    event: &AlertEvent,
    merge: impl FnOnce(&AlertEvent) -> Option<(String, String)>,
) -> AppResult<()> {
    let existing = alert_events::table
        .filter(alert_events::rule_id.eq(&event.rule_id))
        .filter(alert_events::subject_key.eq(&event.subject_key))
        .filter(alert_events::window_from.eq(event.window_from))
        .select(AlertEvent::as_select())
        .first(conn)
        .optional()?;
    let Some(existing) = existing else {
        return Ok(());
    };
    if let Some((measured, calls)) = merge(&existing) {
        diesel::update(alert_events::table.find(&existing.id))
            .set((
                alert_events::measured.eq(measured),
                alert_events::calls.eq(calls),
                alert_events::updated_at.eq(event.updated_at),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// PostgreSQL: makes the other transactions recording events of `brand` as calls arrive
/// wait until this one ends, so each sees the calls the others stored (a velocity count
/// made by two at once would miss the other's calls) and merges into an event one at a
/// time. SQLite has one writer at a time already.
pub fn lock_brand_events(conn: &mut DbConnection, brand: &str) -> AppResult<()> {
    if let DbConnection::Pg(c) = conn {
        // The first key names this use of advisory locks.
        diesel::sql_query("SELECT pg_advisory_xact_lock(12012, hashtext($1))")
            .bind::<diesel::sql_types::Text, _>(brand)
            .execute(c)?;
    }
    Ok(())
}

/// Those of `subjects` (ids in the `per` column: client, endpoint or caller) with more than
/// `max` calls of `brand` started in `(after, before)`: one statement, reading only an
/// index. Per client and endpoint it counts inbound calls too (their indexes do not hold
/// the direction), so the count is at least the outbound one: a subject left out cannot
/// have more than `max` outbound calls in any part of the range.
pub fn subjects_over(
    conn: &mut DbConnection,
    brand: &str,
    per: &str,
    subjects: &[&str],
    (after, before): (NaiveDateTime, NaiveDateTime),
    max: i64,
) -> AppResult<Vec<String>> {
    #[derive(QueryableByName)]
    struct Over {
        #[diesel(sql_type = Text)]
        subject: String,
    }
    // Literals, not bound values, so the partial indexes apply (see `outbound_starts`).
    let (column, only) = match per {
        "client" => ("client_id", ""),
        "endpoint" => ("endpoint_id", ""),
        _ => ("caller", " AND direction = 'outbound'"),
    };
    let limit = max.max(0) + 1;
    let rows = match conn {
        DbConnection::Sqlite(c) => {
            let head = format!("SELECT {column} AS subject FROM billable_calls");
            let tail = format!("GROUP BY {column} HAVING count(*) > {max}");
            let list = serde_json::to_string(subjects).map_err(AppError::internal)?;
            diesel::sql_query(format!(
                "{head} WHERE brand_id = ? AND {column} IN (SELECT value FROM json_each(?)){only} \
                 AND start_time > ? AND start_time < ? {tail}"
            ))
            .bind::<Text, _>(brand)
            .bind::<Text, _>(list)
            .bind::<Timestamp, _>(after)
            .bind::<Timestamp, _>(before)
            .load::<Over>(c)?
        }
        // One index probe per subject, whatever the planner estimates (with `= ANY` or a
        // join it may read every call of the brand), each stopping past `max` calls.
        DbConnection::Pg(c) => diesel::sql_query(format!(
            "SELECT s.subject FROM unnest($2) AS s(subject) CROSS JOIN LATERAL \
             (SELECT count(*) AS n FROM (SELECT 1 FROM billable_calls \
              WHERE brand_id = $1 AND {column} = s.subject{only} \
              AND start_time > $3 AND start_time < $4 LIMIT {limit}) AS found) AS k \
             WHERE k.n > {max}"
        ))
        .bind::<Text, _>(brand)
        .bind::<Array<Text>, _>(subjects)
        .bind::<Timestamp, _>(after)
        .bind::<Timestamp, _>(before)
        .load::<Over>(c)?,
    };
    Ok(rows.into_iter().map(|r| r.subject).collect())
}

/// The start times of the calls [`subjects_over`] counts, of one subject, in order; read
/// from an index alone.
pub fn start_times(
    conn: &mut DbConnection,
    brand: &str,
    per: &str,
    subject: &str,
    (after, before): (NaiveDateTime, NaiveDateTime),
) -> AppResult<Vec<NaiveDateTime>> {
    use crate::db::schema::billable_calls as c;
    let query = c::table
        .filter(c::brand_id.eq(brand))
        .filter(c::start_time.gt(after))
        .filter(c::start_time.lt(before))
        .select(c::start_time)
        .order(c::start_time)
        .into_boxed::<MultiBackend>();
    let query =
        match per {
            "client" => query.filter(c::client_id.eq(subject)),
            "endpoint" => query.filter(c::endpoint_id.eq(subject)),
            // A literal, for the partial index (see `outbound_starts`).
            _ => query
                .filter(c::caller.eq(subject))
                .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
                    "billable_calls.direction = 'outbound'",
                )),
        };
    Ok(query.load(conn)?)
}

/// An outbound call as velocity rules see it.
#[derive(Debug, Clone, Queryable)]
pub struct Started {
    pub callid: String,
    pub start_time: NaiveDateTime,
    pub client_id: String,
    pub carrier_id: Option<String>,
    pub endpoint_type: Option<String>,
    pub endpoint_id: Option<String>,
    pub caller: String,
    pub destination_country: Option<String>,
}

/// The outbound calls of `brand` started in `(after, before)` whose `per` column (client,
/// endpoint or caller) is one of `subjects`, in start order.
pub fn outbound_starts(
    conn: &mut DbConnection,
    brand: &str,
    per: &str,
    subjects: &[&str],
    after: NaiveDateTime,
    before: NaiveDateTime,
) -> AppResult<Vec<Started>> {
    use crate::db::schema::billable_calls as c;
    let mut rows = vec![];
    for chunk in subjects.chunks(500) {
        // A literal, not a bound value: only then may SQLite and PostgreSQL use the partial
        // index `billable_calls_caller_start` (`WHERE direction = 'outbound'`).
        let mut query = c::table
            .filter(c::brand_id.eq(brand))
            .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
                "billable_calls.direction = 'outbound'",
            ))
            .filter(c::start_time.gt(after))
            .filter(c::start_time.lt(before))
            .into_boxed::<MultiBackend>();
        query = match per {
            "client" => query.filter(c::client_id.eq_any(chunk)),
            "endpoint" => query.filter(c::endpoint_id.eq_any(chunk)),
            _ => query.filter(c::caller.eq_any(chunk)),
        };
        rows.extend(
            query
                .select((
                    c::callid,
                    c::start_time,
                    c::client_id,
                    c::carrier_id,
                    c::endpoint_type,
                    c::endpoint_id,
                    c::caller,
                    c::destination_country,
                ))
                .load::<Started>(conn)?,
        );
    }
    rows.sort_by(|a, b| (a.start_time, &a.callid).cmp(&(b.start_time, &b.callid)));
    Ok(rows)
}

/// What a list of events may be restricted to.
#[derive(Debug, Default)]
pub struct EventFilter {
    pub brand: Option<String>,
    pub client: Option<String>,
    pub level: Option<String>,
    pub rule: Option<String>,
    pub kind: Option<String>,
    pub subject: Option<String>,
    pub email_status: Option<String>,
    pub webhook_status: Option<String>,
    pub fired_from: Option<NaiveDateTime>,
    pub fired_to: Option<NaiveDateTime>,
    pub nothing: bool,
}

fn events_filtered(f: &EventFilter) -> alert_events::BoxedQuery<'_, MultiBackend> {
    use alert_events::dsl as e;
    let mut query = alert_events::table.into_boxed();
    if f.nothing {
        query = query.filter(e::id.eq(""));
    }
    if let Some(b) = &f.brand {
        query = query.filter(e::brand_id.eq(b));
    }
    if let Some(c) = &f.client {
        query = query.filter(e::client_id.eq(c));
    }
    if let Some(l) = &f.level {
        query = query.filter(e::level.eq(l));
    }
    if let Some(r) = &f.rule {
        query = query.filter(e::rule_id.eq(r));
    }
    if let Some(k) = &f.kind {
        query = query.filter(e::kind.eq(k));
    }
    if let Some(s) = &f.subject {
        query = query.filter(e::subject_id.eq(s));
    }
    if let Some(s) = &f.email_status {
        query = query.filter(e::email_status.eq(s));
    }
    if let Some(s) = &f.webhook_status {
        query = query.filter(e::webhook_status.eq(s));
    }
    if let Some(t) = f.fired_from {
        query = query.filter(e::fired_at.ge(t));
    }
    if let Some(t) = f.fired_to {
        query = query.filter(e::fired_at.lt(t));
    }
    query
}

/// One page of events and the total; newest first unless ordered otherwise.
pub fn list_events(
    conn: &mut DbConnection,
    f: &EventFilter,
    params: &ListParams,
) -> AppResult<(i64, Vec<AlertEvent>)> {
    use alert_events::dsl as e;
    let total = events_filtered(f).count().get_result(conn)?;
    let mut query = events_filtered(f);
    if params.order.is_empty() {
        query = query.then_order_by(e::fired_at.desc());
    }
    for (field, direction) in &params.order {
        query = match (field.as_str(), direction) {
            ("firedAt", Direction::Asc) => query.then_order_by(e::fired_at.asc()),
            ("firedAt", Direction::Desc) => query.then_order_by(e::fired_at.desc()),
            ("windowFrom", Direction::Asc) => query.then_order_by(e::window_from.asc()),
            ("windowFrom", Direction::Desc) => query.then_order_by(e::window_from.desc()),
            _ => query,
        };
    }
    let rows = query
        .then_order_by(e::id.asc())
        .limit(params.per_page)
        .offset(params.offset())
        .select(AlertEvent::as_select())
        .load(conn)?;
    Ok((total, rows))
}

/// The calls `filter` matches (tenant, scope and time range).
fn calls_matching(
    filter: &crate::db::stats::StatsFilter,
) -> crate::db::schema::billable_calls::BoxedQuery<'static, MultiBackend> {
    use crate::db::schema::{billable_calls as c, clients};
    let mut query = c::table.into_boxed::<MultiBackend>();
    if let Some(v) = &filter.brand {
        query = query.filter(c::brand_id.eq(v.clone()));
    }
    if let Some(v) = &filter.client {
        query = query.filter(c::client_id.eq(v.clone()));
    }
    if let Some(v) = &filter.client_type {
        let of_type = clients::table
            .filter(clients::client_type.eq(v.clone()))
            .select(clients::id);
        query = query.filter(c::client_id.eq_any(of_type));
    }
    if let Some(v) = &filter.carrier {
        query = query.filter(c::carrier_id.eq(v.clone()));
    }
    if let Some(v) = &filter.endpoint_type {
        query = query.filter(c::endpoint_type.eq(v.clone()));
    }
    if let Some(v) = &filter.endpoint_id {
        query = query.filter(c::endpoint_id.eq(v.clone()));
    }
    if let Some(v) = &filter.direction {
        query = query.filter(c::direction.eq(v.clone()));
    }
    if let Some(v) = &filter.destination_countries {
        query = query.filter(c::destination_country.eq_any(v.clone()));
    }
    if let Some(t) = filter.after {
        query = query.filter(c::start_time.ge(t));
    }
    if let Some(t) = filter.strictly_before {
        query = query.filter(c::start_time.lt(t));
    }
    query
}

/// Subjects per statement of [`callids`] on SQLite (its compound SELECT takes 500 arms
/// at most).
const CALLIDS_ARMS: usize = 200;

/// For each of `subjects`, up to `limit` callids of the calls `filter` matches whose
/// `column` (`client_id`, `endpoint_id` or `carrier_id`) holds it, latest first: the calls
/// the events of one rule and window list. Without a column, the calls `filter` matches
/// (under the subject ""). One statement for many subjects, each read from its index
/// (PostgreSQL: a LATERAL subquery per subject; SQLite: one UNION ALL arm per subject).
pub fn callids(
    conn: &mut DbConnection,
    filter: &crate::db::stats::StatsFilter,
    column: Option<&str>,
    subjects: &[&str],
    limit: i64,
) -> AppResult<std::collections::HashMap<String, Vec<String>>> {
    use crate::db::stats::{call_conditions, literal};
    use std::collections::HashMap;
    #[derive(QueryableByName)]
    struct Listed {
        #[diesel(sql_type = Text)]
        subject: String,
        #[diesel(sql_type = Timestamp)]
        start_time: NaiveDateTime,
        #[diesel(sql_type = Text)]
        callid: String,
    }
    let column = match column {
        Some(c @ ("client_id" | "endpoint_id" | "carrier_id")) => Some(c),
        Some(other) => return Err(AppError::internal(format!("no calls per {other}"))),
        None => None,
    };
    let pg = matches!(conn, DbConnection::Pg(_));
    let conditions = call_conditions(filter, pg);
    let where_ = |extra: Option<String>| {
        let all: Vec<&str> = conditions
            .iter()
            .map(String::as_str)
            .chain(extra.as_deref())
            .collect();
        if all.is_empty() {
            "TRUE".to_string()
        } else {
            all.join(" AND ")
        }
    };
    let latest = format!("ORDER BY start_time DESC, callid DESC LIMIT {limit}");
    let mut listed: Vec<Listed> = vec![];
    match column {
        None => {
            let sql = format!(
                "SELECT '' AS subject, start_time, callid FROM billable_calls WHERE {} {latest}",
                where_(None)
            );
            listed = match conn {
                DbConnection::Sqlite(c) => diesel::sql_query(sql).load(c)?,
                DbConnection::Pg(c) => diesel::sql_query(sql).load(c)?,
            };
        }
        Some(column) => match conn {
            DbConnection::Pg(c) => {
                let values: Vec<String> = subjects.iter().map(|s| literal(s)).collect();
                if !values.is_empty() {
                    let sql = format!(
                        "SELECT s.subject, l.start_time, l.callid \
                         FROM unnest(ARRAY[{}]::text[]) AS s(subject) \
                         CROSS JOIN LATERAL (SELECT start_time, callid FROM billable_calls \
                           WHERE {} {latest}) l",
                        values.join(", "),
                        where_(Some(format!("billable_calls.{column} = s.subject")))
                    );
                    listed = diesel::sql_query(sql).load(c)?;
                }
            }
            DbConnection::Sqlite(c) => {
                for chunk in subjects.chunks(CALLIDS_ARMS) {
                    let arms: Vec<String> = chunk
                        .iter()
                        .map(|s| {
                            format!(
                                "SELECT * FROM (SELECT {subject} AS subject, start_time, callid \
                                 FROM billable_calls WHERE {} {latest})",
                                where_(Some(format!("billable_calls.{column} = {}", literal(s)))),
                                subject = literal(s),
                            )
                        })
                        .collect();
                    listed.extend(diesel::sql_query(arms.join(" UNION ALL ")).load::<Listed>(c)?);
                }
            }
        },
    }
    // Latest first within each subject.
    listed.sort_by(|a, b| {
        a.subject
            .cmp(&b.subject)
            .then(b.start_time.cmp(&a.start_time))
            .then(b.callid.cmp(&a.callid))
    });
    let mut each: HashMap<String, Vec<String>> = HashMap::new();
    for l in listed {
        each.entry(l.subject).or_default().push(l.callid);
    }
    Ok(each)
}

/// Per client, how many of the calls `filter` matches go to `countries` or `prefixes`
/// (`inside`), or to neither (`!inside`): what a destination rule flags.
pub fn destination_counts(
    conn: &mut DbConnection,
    filter: &crate::db::stats::StatsFilter,
    inside: bool,
    countries: &[String],
    prefixes: &[String],
) -> AppResult<Vec<(String, i64)>> {
    use crate::db::schema::billable_calls as c;
    use diesel::dsl::sql;
    use diesel::sql_types::Bool;
    // Countries are validated ISO codes and prefixes `+` and digits: nothing to escape,
    // quoted all the same.
    let quote = |v: &str| format!("'{}'", v.replace('\'', "''"));
    let listed: Vec<String> = countries.iter().map(|v| quote(v)).collect();
    let mut any = vec![];
    if !listed.is_empty() {
        any.push(format!(
            "COALESCE(billable_calls.destination_country IN ({}), FALSE)",
            listed.join(", ")
        ));
    }
    for p in prefixes {
        any.push(format!(
            "billable_calls.callee LIKE {}",
            quote(&format!("{p}%"))
        ));
    }
    let listed_sql = if any.is_empty() {
        "FALSE".to_string()
    } else {
        format!("({})", any.join(" OR "))
    };
    let predicate = if inside {
        listed_sql
    } else {
        format!("NOT {listed_sql}")
    };
    // Counted here: diesel does not group a boxed query. Flagged calls are few.
    let clients: Vec<String> = calls_matching(filter)
        .filter(sql::<Bool>(&predicate))
        .select(c::client_id)
        .load(conn)?;
    let mut counts: std::collections::BTreeMap<String, i64> = Default::default();
    for client in clients {
        *counts.entry(client).or_default() += 1;
    }
    Ok(counts.into_iter().collect())
}
