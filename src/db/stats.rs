//! The one query behind `/stats`: calls summed by 15-minute UTC bucket (when a time
//! grouping asks for it) and up to two entity columns, over a filter. Money is summed as
//! the exact integers `cost_micros` and `price_micros`.
//!
//! The SQL is assembled as text because its select list and GROUP BY vary with the
//! grouping. Every value written into it is either one of the fixed column names below or
//! a literal checked by the caller (ids parsed as UUIDs, countries as two capitals, choices
//! from closed lists, times formatted here), and is quoted with [`literal`] all the same.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

use crate::db::billable_calls::INTERNATIONAL;
use crate::db::rollups::{self, Grain, Projection};
use crate::db::DbConnection;
use crate::error::AppResult;
use crate::stats::measures::Sums;

/// What the sums are narrowed to. Times are UTC, [after, strictly_before).
#[derive(Debug, Clone, Default)]
pub struct StatsFilter {
    pub after: Option<NaiveDateTime>,
    pub strictly_before: Option<NaiveDateTime>,
    pub brand: Option<String>,
    pub client: Option<String>,
    pub client_type: Option<String>,
    pub carrier: Option<String>,
    pub ddi_provider: Option<String>,
    pub ddi: Option<String>,
    pub endpoint_type: Option<String>,
    pub endpoint_id: Option<String>,
    pub direction: Option<String>,
    pub destination_countries: Option<Vec<String>>,
    pub international: Option<bool>,
    pub source: Option<String>,
    pub disposition: Option<String>,
}

/// One group as the database returns it: the bucket (when grouped by time), the entity
/// columns' values, and the sums.
#[derive(Debug, Clone)]
pub struct Group {
    pub bucket: Option<i64>,
    pub values: [Option<String>; 2],
    pub sums: Sums,
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Nullable<BigInt>)]
    bucket: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    d1: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    d2: Option<String>,
    #[diesel(sql_type = BigInt)]
    calls: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    answered: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    billed: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    cost: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    price: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    margin: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    unrated: Option<i64>,
}

/// A string literal for the SQL text.
pub fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// Sums of the calls `filter` matches, per bucket (if `by_bucket`) and per value of
/// `columns` (at most two `billable_calls` columns, from the fixed list the caller maps
/// its dimensions to).
///
/// Answered from `call_rollups` when one projection holds every column and filter asked
/// for and the range is on the 15-minute grid ([`projection_for`]); from the calls
/// otherwise. Both give the same sums (tests compare them).
///
/// With `local`, the rollup sums whole local hours or days at once (each group's bucket is
/// then its first one): far fewer rows to hand over for a year by month.
pub fn sums(
    conn: &mut DbConnection,
    filter: &StatsFilter,
    by_bucket: bool,
    local: Option<&LocalTime>,
    columns: &[&'static str],
) -> AppResult<Vec<Group>> {
    match projection_for(filter, columns) {
        Some(p) => rollup_sums(
            conn,
            p,
            filter,
            by_bucket.then_some(local).flatten(),
            by_bucket,
            columns,
        ),
        None => call_sums(conn, filter, by_bucket, columns),
    }
}

/// The local time of a range's buckets: `segments` (first bucket, UTC offset in buckets),
/// in order, each in force until the next; `per_group` buckets make one local hour (4) or
/// day (96). Buckets in one group share a local hour or day and an offset, so any of them
/// gives the group's hour, day, week and month.
///
/// For days, weeks and months, `periods` may list each local day, week or month as its
/// buckets [first, end): the rollup then reads the UTC days each overlaps from the daily
/// rows and only its ends from the quarter-hours (a year by month: a row per day and value
/// rather than 96; a local day of a zone at UTC+2: a daily row and 8 quarter-hours).
#[derive(Debug, Clone)]
pub struct LocalTime {
    pub segments: Vec<(i64, i64)>,
    pub per_group: i64,
    pub periods: Option<Vec<(i64, i64)>>,
}

/// The projection of `call_rollups` that answers a query, if any: the range's bounds on
/// the 15-minute grid, filters only on tenant, client type, carrier, destination country,
/// international and endpoint, and at most one of carrier, country and endpoint among the
/// grouped columns and filters (client and brand are in every row). Carrier is brand-wide
/// only; anything per client (a client, its type, international) reads a per-client one.
pub fn projection_for(filter: &StatsFilter, columns: &[&'static str]) -> Option<Projection> {
    let on_grid = |t: Option<NaiveDateTime>| {
        t.is_some_and(|t| {
            t.and_utc().timestamp_subsec_nanos() == 0
                && t.and_utc().timestamp().rem_euclid(rollups::BUCKET_SECONDS) == 0
        })
    };
    if !on_grid(filter.after) || !on_grid(filter.strictly_before) {
        return None;
    }
    let unsupported = filter.ddi_provider.is_some()
        || filter.ddi.is_some()
        || filter.endpoint_type.is_some()
        || filter.direction.is_some()
        || filter.source.is_some()
        || filter.disposition.is_some();
    if unsupported {
        return None;
    }
    let mut per_client =
        filter.client.is_some() || filter.client_type.is_some() || filter.international.is_some();
    let mut dims: Vec<&str> = Vec::new();
    for c in columns {
        match *c {
            "brand_id" => {}
            "client_id" => per_client = true,
            "carrier_id" | "destination_country" | "endpoint_id" => dims.push(c),
            _ => return None,
        }
    }
    if filter.carrier.is_some() {
        dims.push("carrier_id");
    }
    if filter.destination_countries.is_some() || filter.international.is_some() {
        dims.push("destination_country");
    }
    if filter.endpoint_id.is_some() {
        dims.push("endpoint_id");
    }
    dims.sort_unstable();
    dims.dedup();
    match (dims.as_slice(), per_client) {
        ([], false) | (["carrier_id"], false) => Some(Projection::BrandCarrier),
        ([], true) | (["destination_country"], true) => Some(Projection::ClientCountry),
        (["destination_country"], false) => Some(Projection::BrandCountry),
        (["endpoint_id"], _) => Some(Projection::ClientEndpoint),
        _ => None,
    }
}

/// [`sums`] from `call_rollups`: the rows of projection `p` in the buckets of the range.
fn rollup_sums(
    conn: &mut DbConnection,
    p: Projection,
    filter: &StatsFilter,
    local: Option<&LocalTime>,
    by_bucket: bool,
    columns: &[&'static str],
) -> AppResult<Vec<Group>> {
    let bucket_at = |t: Option<NaiveDateTime>| {
        t.map_or(0, |t| t.and_utc().timestamp() / rollups::BUCKET_SECONDS)
    };
    let column = |i: usize| match columns.get(i) {
        None => "CAST(NULL AS TEXT)",
        Some(&"brand_id") => "r.brand_id",
        Some(&"client_id") => "r.client_id",
        Some(_) => "NULLIF(r.value, '')",
    };
    let mut conditions = Vec::new();
    if let Some(b) = &filter.brand {
        conditions.push(format!("r.brand_id = {}", literal(b)));
    }
    if let Some(c) = &filter.client {
        conditions.push(format!("r.client_id = {}", literal(c)));
    }
    for v in [&filter.carrier, &filter.endpoint_id].into_iter().flatten() {
        conditions.push(format!("r.value = {}", literal(v)));
    }
    if let Some(countries) = &filter.destination_countries {
        let list: Vec<String> = countries.iter().map(|c| literal(c)).collect();
        conditions.push(format!("r.value IN ({})", list.join(", ")));
    }
    if let Some(t) = &filter.client_type {
        conditions.push(format!(
            "r.client_id IN (SELECT id FROM clients WHERE client_type = {})",
            literal(t)
        ));
    }
    // As INTERNATIONAL, on the rollup's columns.
    let international =
        "(NULLIF(r.value, '') <> (SELECT COALESCE(clients.country, brands.country) \
         FROM clients JOIN brands ON brands.id = clients.brand_id WHERE clients.id = r.client_id))";
    match filter.international {
        Some(true) => conditions.push(format!("COALESCE({international}, FALSE)")),
        Some(false) => conditions.push(format!("NOT COALESCE({international}, FALSE)")),
        None => {}
    }
    let (first, end) = (bucket_at(filter.after), bucket_at(filter.strictly_before));
    let sums = RollupRead {
        projection: p,
        brand: filter.brand.as_deref(),
        conditions: &conditions,
        columns: [column(0), column(1)],
    };
    match local.and_then(|l| l.periods.as_deref()) {
        Some(periods) => return sums.by_period(conn, periods, true),
        None if !by_bucket => return sums.by_period(conn, &[(first, end)], false),
        None => {}
    }
    // By quarter-hour, or by local hour or day summed from the quarter-hours.
    let (bucket, group) = match local {
        Some(l) if !l.segments.is_empty() => {
            let mut offset = l.segments[0].1.to_string();
            if l.segments.len() > 1 {
                offset = String::from("CASE");
                for (first, o) in l.segments.iter().skip(1).rev() {
                    offset.push_str(&format!(" WHEN r.bucket >= {first} THEN {o}"));
                }
                offset.push_str(&format!(" ELSE {} END", l.segments[0].1));
            }
            // The offset is grouped by too (a fall-back night's two 02:00 hours stay apart),
            // unless it is one number, which GROUP BY would read as a column's position.
            let also = if l.segments.len() > 1 {
                format!("{offset}, ")
            } else {
                String::new()
            };
            (
                "MIN(r.bucket)".to_string(),
                format!("(r.bucket + {offset}) / {}, {also}2, 3", l.per_group),
            )
        }
        _ => ("r.bucket".to_string(), "1, 2, 3".to_string()),
    };
    let mut all = vec![format!("r.bucket >= {first}"), format!("r.bucket < {end}")];
    all.extend(conditions.iter().cloned());
    let where_ = all.join(" AND ");
    let sql = format!(
        "SELECT {bucket} AS bucket, {d1} AS d1, {d2} AS d2, {SUMS} \
         FROM (SELECT r.brand_id, r.client_id, r.bucket, r.value, r.calls, r.answered, \
                 r.billed_seconds, r.cost_micros, r.price_micros, r.margin_micros, r.unrated \
               FROM call_rollups r WHERE r.projection = {name} AND {where_} \
               UNION ALL SELECT r.* FROM ({journal}) r WHERE {where_}) r \
         GROUP BY {group} HAVING SUM(r.calls) > 0",
        d1 = column(0),
        d2 = column(1),
        name = literal(p.name(Grain::Quarter)),
        journal = rollups::journal_as(p, Grain::Quarter),
    );
    load_groups(conn, sql)
}

/// The summed columns of a rollup read, named as [`Row`] reads them.
const SUMS: &str = "CAST(SUM(r.calls) AS BIGINT) AS calls, \
    CAST(SUM(r.answered) AS BIGINT) AS answered, \
    CAST(SUM(r.billed_seconds) AS BIGINT) AS billed, \
    CAST(SUM(r.cost_micros) AS BIGINT) AS cost, CAST(SUM(r.price_micros) AS BIGINT) AS price, \
    CAST(SUM(r.margin_micros) AS BIGINT) AS margin, CAST(SUM(r.unrated) AS BIGINT) AS unrated";

/// A read of one projection's rows narrowed by `conditions` (on alias `r`), grouped by up
/// to two `columns` (SQL expressions on `r`).
struct RollupRead<'a> {
    projection: Projection,
    brand: Option<&'a str>,
    conditions: &'a [String],
    columns: [&'static str; 2],
}

impl RollupRead<'_> {
    /// The sums of each of `periods` (its buckets [first, end), in order, none overlapping)
    /// and value: each group's bucket is its period's first one (None unless `timed`).
    ///
    /// A period is read as [`pieces`]: the UTC days it overlaps from the daily rows and its
    /// ends from the quarter-hours (a local day of a zone east of UTC: a daily row and
    /// the few quarter-hours the offset moves it by, rather than 96 quarter-hours). The
    /// pieces are a table of the statement (one probe of the rollup's key each); the
    /// journal's differences not folded yet, by quarter-hour, are added to their period
    /// here.
    fn by_period(
        &self,
        conn: &mut DbConnection,
        periods: &[(i64, i64)],
        timed: bool,
    ) -> AppResult<Vec<Group>> {
        let Some((&(first, _), &(_, end))) = periods.first().zip(periods.last()) else {
            return Ok(Vec::new());
        };
        let all: Vec<Piece> = periods
            .iter()
            .flat_map(|&(from, to)| pieces(from, from, to))
            .collect();
        let [d1, d2] = self.columns;
        let pg = matches!(conn, DbConnection::Pg(_));
        let mut tables = Vec::new();
        let mut arms = Vec::new();
        for grain in Grain::ALL {
            let rows: Vec<String> = all
                .iter()
                .filter(|piece| piece.grain == grain)
                .map(|x| format!("({}, {}, {}, {})", x.period, x.sign, x.from, x.to))
                .collect();
            if rows.is_empty() {
                continue;
            }
            let table = format!("pieces_{}", arms.len());
            tables.push(format!(
                "{table}(period, sign, lo, hi) AS (VALUES {})",
                rows.join(", ")
            ));
            // Piece by piece, each one a range of the rollup's key (brand, projection,
            // bucket); every brand's when none is asked for. CROSS JOIN keeps that order on
            // SQLite; PostgreSQL, which cannot tell how few rows a piece holds, would rather
            // read the brand's whole projection once and match it against every piece, so
            // there each piece's rows are a LATERAL subquery of their own (OFFSET 0 keeps
            // it from being merged into the join).
            let (brands, brand) = match self.brand {
                Some(b) => (String::new(), literal(b)),
                None => (" CROSS JOIN brands b".to_string(), "b.id".to_string()),
            };
            let mut all = vec![
                format!("r.brand_id = {brand}"),
                format!("r.projection = {}", literal(self.projection.name(grain))),
                format!("r.bucket >= {table}.lo"),
                format!("r.bucket < {table}.hi"),
            ];
            all.extend(self.conditions.iter().cloned());
            arms.push(format!(
                "SELECT CAST({table}.period AS BIGINT) AS period, {d1} AS d1, {d2} AS d2, \
                   {table}.sign * r.calls AS calls, {table}.sign * r.answered AS answered, \
                   {table}.sign * r.billed_seconds AS billed_seconds, \
                   {table}.sign * r.cost_micros AS cost_micros, \
                   {table}.sign * r.price_micros AS price_micros, \
                   {table}.sign * r.margin_micros AS margin_micros, \
                   {table}.sign * r.unrated AS unrated \
                 FROM {table}{brands} CROSS JOIN {rows}",
                rows = if pg {
                    format!(
                        "LATERAL (SELECT * FROM call_rollups r WHERE {} OFFSET 0) r",
                        all.join(" AND ")
                    )
                } else {
                    format!("call_rollups r WHERE {}", all.join(" AND "))
                }
            ));
        }
        // The journal's differences not folded yet, by quarter-hour (`part` 1), in the same
        // statement as the rollup's pieces (`part` 0): one snapshot, so rows the fold moves
        // from the journal into the rollup meanwhile are counted once, never missed.
        let mut all = vec![format!("r.bucket >= {first}"), format!("r.bucket < {end}")];
        all.extend(self.conditions.iter().cloned());
        let sql = format!(
            "WITH {} SELECT CAST(0 AS BIGINT) AS part, r.period AS bucket, r.d1 AS d1, \
               r.d2 AS d2, {SUMS} FROM ({}) r GROUP BY 2, 3, 4 \
             UNION ALL SELECT CAST(1 AS BIGINT) AS part, r.bucket AS bucket, {d1} AS d1, \
               {d2} AS d2, {SUMS} FROM ({}) r WHERE {} GROUP BY 2, 3, 4",
            tables.join(", "),
            arms.join(" UNION ALL "),
            rollups::journal_as(self.projection, Grain::Quarter),
            all.join(" AND ")
        );
        #[derive(QueryableByName)]
        struct PartRow {
            #[diesel(sql_type = BigInt)]
            part: i64,
            #[diesel(embed)]
            row: Row,
        }
        let rows: Vec<PartRow> = match conn {
            DbConnection::Sqlite(c) => diesel::sql_query(sql).load(c)?,
            DbConnection::Pg(c) => diesel::sql_query(sql).load(c)?,
        };
        let mut sums: HashMap<(i64, [Option<String>; 2]), Sums> = HashMap::new();
        for PartRow { part, row } in rows {
            let g = Group::from(row);
            let bucket = g.bucket.unwrap_or(first);
            // A journal row's quarter-hour to the period holding it.
            let period = if part == 0 {
                Some(bucket)
            } else {
                let at = periods.partition_point(|&(_, to)| to <= bucket);
                periods
                    .get(at)
                    .filter(|&&(from, to)| from <= bucket && bucket < to)
                    .map(|&(from, _)| from)
            };
            if let Some(period) = period {
                sums.entry((period, g.values)).or_default().add(&g.sums);
            }
        }
        Ok(sums
            .into_iter()
            .filter(|(_, s)| s.calls > 0)
            .map(|((period, values), sums)| Group {
                bucket: timed.then_some(period),
                values,
                sums,
            })
            .collect())
    }
}

/// Rows [from, to) of one grain of the rollup, counted `sign` (1 or −1) times into the
/// period whose first bucket is `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Piece {
    period: i64,
    grain: Grain,
    from: i64,
    to: i64,
    sign: i64,
}

/// The quarter-hour buckets [first, end) as pieces of `period`: the UTC days they overlap
/// from the daily rows, and at each end whichever is fewer of the quarter-hours to add
/// beyond the last whole day or to take away from the day that holds the end; or simply
/// every quarter-hour when that is fewer rows still. The daily rows are sums of their
/// quarter-hours, so the pieces sum to exactly the range.
fn pieces(period: i64, first: i64, end: i64) -> Vec<Piece> {
    const PER_DAY: i64 = rollups::DAY_SECONDS / rollups::BUCKET_SECONDS;
    let quarters = |from: i64, to: i64, sign: i64| Piece {
        period,
        grain: Grain::Quarter,
        from,
        to,
        sign,
    };
    let mut parts = Vec::new();
    // The day holding `first`: its quarter-hours before `first` taken away, or the day
    // left out and its quarter-hours from `first` on added.
    let (day, into) = (first.div_euclid(PER_DAY), first.rem_euclid(PER_DAY));
    let days_from = match into {
        0 => day,
        _ if into <= PER_DAY / 2 => {
            parts.push(quarters(day * PER_DAY, first, -1));
            day
        }
        _ => {
            parts.push(quarters(first, (day + 1) * PER_DAY, 1));
            day + 1
        }
    };
    // The day holding `end`: left out and its quarter-hours before `end` added, or taken
    // whole and those from `end` on taken away.
    let (day, into) = (end.div_euclid(PER_DAY), end.rem_euclid(PER_DAY));
    let days_to = match into {
        0 => day,
        _ if into <= PER_DAY / 2 => {
            parts.push(quarters(day * PER_DAY, end, 1));
            day
        }
        _ => {
            parts.push(quarters(end, (day + 1) * PER_DAY, -1));
            day + 1
        }
    };
    if days_from < days_to {
        parts.push(Piece {
            period,
            grain: Grain::Day,
            from: days_from,
            to: days_to,
            sign: 1,
        });
    }
    let rows: i64 = parts.iter().map(|x| x.to - x.from).sum();
    if rows < end - first {
        parts
    } else {
        vec![quarters(first, end, 1)]
    }
}

/// [`sums`] from the calls themselves.
fn call_sums(
    conn: &mut DbConnection,
    filter: &StatsFilter,
    by_bucket: bool,
    columns: &[&'static str],
) -> AppResult<Vec<Group>> {
    let pg = matches!(conn, DbConnection::Pg(_));
    let bucket = if !by_bucket {
        "CAST(NULL AS BIGINT)".to_string()
    } else if pg {
        "CAST(FLOOR(EXTRACT(EPOCH FROM start_time) / 900) AS BIGINT)".to_string()
    } else {
        "CAST(strftime('%s', start_time) AS INTEGER) / 900".to_string()
    };
    let column = |i: usize| {
        columns
            .get(i)
            .map_or("CAST(NULL AS TEXT)".to_string(), |c| {
                format!("billable_calls.{c}")
            })
    };
    let conditions = call_conditions(filter, pg);
    let answered = "billable_calls.disposition = 'answered'";
    let sql = format!(
        "SELECT {bucket} AS bucket, {d1} AS d1, {d2} AS d2, \
           COUNT(*) AS calls, \
           CAST(SUM(CASE WHEN {answered} THEN 1 ELSE 0 END) AS BIGINT) AS answered, \
           CAST(SUM(CASE WHEN {answered} THEN billed_seconds ELSE 0 END) AS BIGINT) AS billed, \
           CAST(SUM(cost_micros) AS BIGINT) AS cost, \
           CAST(SUM(price_micros) AS BIGINT) AS price, \
           CAST(SUM(price_micros - cost_micros) AS BIGINT) AS margin, \
           CAST(SUM(CASE WHEN {answered} AND direction = 'outbound' AND price IS NULL \
                THEN 1 ELSE 0 END) AS BIGINT) AS unrated \
         FROM billable_calls{where_} GROUP BY 1, 2, 3",
        d1 = column(0),
        d2 = column(1),
        where_ = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        },
    );
    load_groups(conn, sql)
}

/// The SQL conditions on `billable_calls` of the calls `filter` matches (values as
/// literals; `pg` for PostgreSQL's timestamp syntax).
pub fn call_conditions(filter: &StatsFilter, pg: bool) -> Vec<String> {
    let time = |t: NaiveDateTime| {
        let text = literal(&t.format("%Y-%m-%d %H:%M:%S%.f").to_string());
        if pg {
            format!("CAST({text} AS TIMESTAMP)")
        } else {
            text
        }
    };
    let mut conditions: Vec<String> = Vec::new();
    let mut eq = |column: &str, value: &Option<String>| {
        if let Some(v) = value {
            conditions.push(format!("billable_calls.{column} = {}", literal(v)));
        }
    };
    eq("brand_id", &filter.brand);
    eq("client_id", &filter.client);
    eq("carrier_id", &filter.carrier);
    eq("ddi_provider_id", &filter.ddi_provider);
    eq("ddi_id", &filter.ddi);
    eq("endpoint_type", &filter.endpoint_type);
    eq("endpoint_id", &filter.endpoint_id);
    eq("direction", &filter.direction);
    eq("source_id", &filter.source);
    eq("disposition", &filter.disposition);
    if let Some(t) = filter.after {
        conditions.push(format!("billable_calls.start_time >= {}", time(t)));
    }
    if let Some(t) = filter.strictly_before {
        conditions.push(format!("billable_calls.start_time < {}", time(t)));
    }
    if let Some(countries) = &filter.destination_countries {
        let list: Vec<String> = countries.iter().map(|c| literal(c)).collect();
        conditions.push(format!(
            "billable_calls.destination_country IN ({})",
            list.join(", ")
        ));
    }
    if let Some(t) = &filter.client_type {
        conditions.push(format!(
            "billable_calls.client_id IN (SELECT id FROM clients WHERE client_type = {})",
            literal(t)
        ));
    }
    match filter.international {
        Some(true) => conditions.push(format!("COALESCE({INTERNATIONAL}, FALSE)")),
        Some(false) => conditions.push(format!("NOT COALESCE({INTERNATIONAL}, FALSE)")),
        None => {}
    }
    conditions
}

fn load_groups(conn: &mut DbConnection, sql: String) -> AppResult<Vec<Group>> {
    let rows: Vec<Row> = match conn {
        DbConnection::Sqlite(c) => diesel::sql_query(sql).load(c)?,
        DbConnection::Pg(c) => diesel::sql_query(sql).load(c)?,
    };
    Ok(rows.into_iter().map(Group::from).collect())
}

impl From<Row> for Group {
    fn from(r: Row) -> Group {
        Group {
            bucket: r.bucket,
            values: [r.d1, r.d2],
            sums: Sums {
                calls: r.calls,
                answered: r.answered.unwrap_or(0),
                billed_seconds: r.billed.unwrap_or(0),
                cost_micros: r.cost.unwrap_or(0),
                price_micros: r.price.unwrap_or(0),
                margin_micros: r.margin.unwrap_or(0),
                unrated: r.unrated.unwrap_or(0),
            },
        }
    }
}

/// The names of entities by id, for the keys of a grouping: (table, name column).
pub fn names(
    conn: &mut DbConnection,
    table: &'static str,
    name_column: &'static str,
    ids: &[String],
) -> AppResult<Vec<(String, String)>> {
    #[derive(QueryableByName)]
    struct Named {
        #[diesel(sql_type = Text)]
        id: String,
        #[diesel(sql_type = Text)]
        name: String,
    }
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let list: Vec<String> = chunk.iter().map(|i| literal(i)).collect();
        let sql = format!(
            "SELECT id, {name_column} AS name FROM {table} WHERE id IN ({})",
            list.join(", ")
        );
        let rows: Vec<Named> = match conn {
            DbConnection::Sqlite(c) => diesel::sql_query(sql).load(c)?,
            DbConnection::Pg(c) => diesel::sql_query(sql).load(c)?,
        };
        out.extend(rows.into_iter().map(|n| (n.id, n.name)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How many times each bucket of [lo, hi) is counted by `parts`.
    fn counted(parts: &[Piece], lo: i64, hi: i64) -> Vec<i64> {
        (lo..hi)
            .map(|b| {
                parts
                    .iter()
                    .filter(|x| match x.grain {
                        Grain::Quarter => x.from <= b && b < x.to,
                        Grain::Day => x.from <= b.div_euclid(96) && b.div_euclid(96) < x.to,
                    })
                    .map(|x| x.sign)
                    .sum()
            })
            .collect()
    }

    #[test]
    fn pieces_count_every_bucket_of_the_range_once_and_no_other() {
        // Every range of up to two and a half days starting within a day either side of
        // 1970 (negative buckets round down as well).
        for first in -96..96 {
            for end in first..first + 240 {
                let parts = pieces(7, first, end);
                let want: Vec<i64> = (first - 100..end + 100)
                    .map(|b| i64::from(first <= b && b < end))
                    .collect();
                assert_eq!(
                    counted(&parts, first - 100, end + 100),
                    want,
                    "{first}..{end}"
                );
                assert!(parts.iter().all(|x| x.period == 7 && x.from <= x.to));
                let rows: i64 = parts.iter().map(|x| x.to - x.from).sum();
                assert!(rows <= end - first, "{first}..{end}: {parts:?}");
            }
        }
    }

    #[test]
    fn a_local_day_reads_a_daily_row_and_the_offsets_quarter_hours() {
        let piece = |period, grain, from, to, sign| Piece {
            period,
            grain,
            from,
            to,
            sign,
        };
        let (day, q) = (20_376, Grain::Quarter);
        // Madrid's 2026-10-15 (UTC+2): 2026-10-14T22:00Z to 2026-10-15T22:00Z.
        let (first, end) = (day * 96 - 8, day * 96 + 88);
        assert_eq!(
            pieces(first, first, end),
            vec![
                piece(first, q, first, day * 96, 1),
                piece(first, q, end, day * 96 + 96, -1),
                piece(first, Grain::Day, day, day + 1, 1),
            ]
        );
        // New York's (UTC−4): the day, less its first 16 quarter-hours, plus the next's.
        let (first, end) = (day * 96 + 16, day * 96 + 112);
        assert_eq!(
            pieces(first, first, end),
            vec![
                piece(first, q, day * 96, first, -1),
                piece(first, q, day * 96 + 96, end, 1),
                piece(first, Grain::Day, day, day + 1, 1),
            ]
        );
        // A UTC day: its daily row alone; less than a day: its quarter-hours.
        let utc = pieces(0, day * 96, day * 96 + 96);
        assert_eq!(utc, vec![piece(0, Grain::Day, day, day + 1, 1)]);
        assert_eq!(pieces(0, 10, 20), vec![piece(0, q, 10, 20, 1)]);
    }
}
