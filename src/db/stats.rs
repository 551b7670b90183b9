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
pub fn sums(
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
