//! The one query behind `/stats`: calls summed by 15-minute UTC bucket (when a time
//! grouping asks for it) and up to two entity columns, over a filter. Money is summed as
//! the exact integers `cost_micros` and `price_micros`.
//!
//! The SQL is assembled as text because its select list and GROUP BY vary with the
//! grouping. Every value written into it is either one of the fixed column names below or
//! a literal checked by the caller (ids parsed as UUIDs, countries as two capitals, choices
//! from closed lists, times formatted here), and is quoted with [`literal`] all the same.

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
fn literal(value: &str) -> String {
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
/// For weeks and months, `periods` may list each local week or month as its buckets
/// [first, end): the rollup then reads the UTC days wholly inside each from the daily rows
/// and only its ends from the quarter-hours (a year by month: a row per day and value
/// rather than 96).
///
/// `utc_days`: local days are UTC days (the zone is at UTC all through the range), so the
/// days wholly inside come from the daily rows too.
#[derive(Debug, Clone)]
pub struct LocalTime {
    pub segments: Vec<(i64, i64)>,
    pub per_group: i64,
    pub periods: Option<Vec<(i64, i64)>>,
    pub utc_days: bool,
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
    let periods = local.and_then(|l| l.periods.as_ref());
    let utc_days = local.is_some_and(|l| l.utc_days && periods.is_none());
    let (bucket, group) = match local {
        _ if periods.is_some() || utc_days => ("r.period".to_string(), "1, 2, 3".to_string()),
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
        _ if by_bucket => ("r.bucket".to_string(), "1, 2, 3".to_string()),
        _ => ("CAST(NULL AS BIGINT)".to_string(), "1, 2, 3".to_string()),
    };
    // The rows to read: per bucket when time is grouped by; else the UTC days wholly in
    // the range from the daily rows and only its ends from the quarter-hours.
    // Each part: (its period's first bucket, grain, rows [from, to) of that grain).
    let (first, end) = (bucket_at(filter.after), bucket_at(filter.strictly_before));
    let parts: Vec<(i64, Grain, i64, i64)> = match periods {
        Some(periods) => periods
            .iter()
            .flat_map(|&(start, stop)| {
                ranges_by_grain(start, stop)
                    .into_iter()
                    .map(move |(g, from, to)| (start, g, from, to))
            })
            .collect(),
        None if utc_days => ranges_by_grain(first, end)
            .into_iter()
            .map(|(g, from, to)| (first, g, from, to))
            .collect(),
        None if by_bucket || local.is_some() => vec![(first, Grain::Quarter, first, end)],
        None => ranges_by_grain(first, end)
            .into_iter()
            .map(|(g, from, to)| (first, g, from, to))
            .collect(),
    };
    // Each range from the rollup and from its journal (the differences not folded yet).
    let mut selects = Vec::new();
    for (period, grain, from, to) in parts {
        // A UTC day's first quarter-hour, or the period's.
        let period = match grain {
            _ if !utc_days => format!("CAST({period} AS BIGINT)"),
            Grain::Day => "r.bucket * 96".to_string(),
            Grain::Quarter => "r.bucket - ((r.bucket % 96) + 96) % 96".to_string(),
        };
        let mut all = vec![format!("r.bucket >= {from}"), format!("r.bucket < {to}")];
        all.extend(conditions.iter().cloned());
        let where_ = all.join(" AND ");
        selects.push(format!(
            "SELECT r.brand_id, r.client_id, r.bucket, r.value, r.calls, r.answered, \
               r.billed_seconds, r.cost_micros, r.price_micros, r.margin_micros, r.unrated, \
               {period} AS period \
             FROM call_rollups r WHERE r.projection = {} AND {where_}",
            literal(p.name(grain))
        ));
        selects.push(format!(
            "SELECT r.*, {period} AS period FROM ({}) r WHERE {where_}",
            rollups::journal_as(p, grain)
        ));
    }
    let from = format!("({}) r", selects.join(" UNION ALL "));
    let sql = format!(
        "SELECT {bucket} AS bucket, {d1} AS d1, {d2} AS d2, \
           CAST(SUM(r.calls) AS BIGINT) AS calls, CAST(SUM(r.answered) AS BIGINT) AS answered, \
           CAST(SUM(r.billed_seconds) AS BIGINT) AS billed, \
           CAST(SUM(r.cost_micros) AS BIGINT) AS cost, CAST(SUM(r.price_micros) AS BIGINT) AS price, \
           CAST(SUM(r.margin_micros) AS BIGINT) AS margin, CAST(SUM(r.unrated) AS BIGINT) AS unrated \
         FROM {from} GROUP BY {group} HAVING SUM(r.calls) > 0",
        d1 = column(0),
        d2 = column(1),
    );
    load_groups(conn, sql)
}

/// The quarter-hour buckets [first, end) as ranges of rows to read: the UTC days wholly
/// inside from the daily rows, the quarter-hours before the first and after the last such
/// day from the others (empty ranges left out).
fn ranges_by_grain(first: i64, end: i64) -> Vec<(Grain, i64, i64)> {
    let per_day = rollups::DAY_SECONDS / rollups::BUCKET_SECONDS;
    let (day_from, day_to) = (
        first.div_euclid(per_day) + i64::from(first.rem_euclid(per_day) != 0),
        end.div_euclid(per_day),
    );
    if day_from >= day_to {
        return vec![(Grain::Quarter, first, end)];
    }
    [
        (Grain::Quarter, first, day_from * per_day),
        (Grain::Day, day_from, day_to),
        (Grain::Quarter, day_to * per_day, end),
    ]
    .into_iter()
    .filter(|(_, from, to)| from < to)
    .collect()
}

/// [`sums`] from the calls themselves.
fn call_sums(
    conn: &mut DbConnection,
    filter: &StatsFilter,
    by_bucket: bool,
    columns: &[&'static str],
) -> AppResult<Vec<Group>> {
    let pg = matches!(conn, DbConnection::Pg(_));
    let time = |t: NaiveDateTime| {
        let text = literal(&t.format("%Y-%m-%d %H:%M:%S%.f").to_string());
        if pg {
            format!("CAST({text} AS TIMESTAMP)")
        } else {
            text
        }
    };
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

fn load_groups(conn: &mut DbConnection, sql: String) -> AppResult<Vec<Group>> {
    let rows: Vec<Row> = match conn {
        DbConnection::Sqlite(c) => diesel::sql_query(sql).load(c)?,
        DbConnection::Pg(c) => diesel::sql_query(sql).load(c)?,
    };
    Ok(rows
        .into_iter()
        .map(|r| Group {
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
        })
        .collect())
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

    #[test]
    fn a_range_reads_whole_days_from_the_daily_rows_and_its_ends_by_quarter_hour() {
        // Madrid's October 2026: 2026-09-30T22:00Z to 2026-10-31T23:00Z.
        let (first, end) = (20_361 * 96 + 88, 20_392 * 96 + 92);
        assert_eq!(
            ranges_by_grain(first, end),
            vec![
                (Grain::Quarter, first, 20_362 * 96),
                (Grain::Day, 20_362, 20_392),
                (Grain::Quarter, 20_392 * 96, end),
            ]
        );
        // On day boundaries: days only.
        assert_eq!(ranges_by_grain(96, 3 * 96), vec![(Grain::Day, 1, 3)]);
        // Less than a whole day, or one day's parts: quarter-hours only.
        assert_eq!(ranges_by_grain(100, 180), vec![(Grain::Quarter, 100, 180)]);
        assert_eq!(ranges_by_grain(90, 100), vec![(Grain::Quarter, 90, 100)]);
        assert_eq!(ranges_by_grain(5, 5), vec![(Grain::Quarter, 5, 5)]);
        // Before 1970 (negative buckets) rounds the same way.
        assert_eq!(
            ranges_by_grain(-97, 1),
            vec![
                (Grain::Quarter, -97, -96),
                (Grain::Day, -1, 0),
                (Grain::Quarter, 0, 1)
            ]
        );
    }
}
