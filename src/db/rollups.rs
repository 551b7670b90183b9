//! `call_rollups`: the calls' statistics summed per 15-minute UTC bucket in a few narrow
//! projections (see [`Projection`] and migration 000018), and again per UTC day
//! ([`Grain`], migration 000021), so `/stats` reads thousands of rows where it would read
//! millions of calls: the days wholly inside a range from the daily rows, the quarter-hours
//! at its ends from the others. Every change to `billable_calls` applies its
//! difference here in the same transaction: [`add_calls`] on ingestion, [`apply`] with
//! the old call subtracted and the new one added on rerating and the country backfill,
//! [`forget_client`] before a client's calls are deleted (a brand's go by cascade).

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::db::billable_calls::{micros, BillableCall};
use crate::db::DbConnection;
use crate::error::AppResult;
use crate::stats::measures::Sums;

/// Seconds in a bucket; local hours and days of every zone are unions of buckets.
pub const BUCKET_SECONDS: i64 = 900;

/// Seconds in a daily bucket (a UTC day: 96 quarter-hour buckets).
pub const DAY_SECONDS: i64 = 86_400;

/// How finely a projection's rows divide time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Grain {
    /// 15-minute UTC buckets (`bucket` = seconds since 1970 / 900).
    Quarter,
    /// UTC days (`bucket` = seconds since 1970 / 86 400).
    Day,
}

impl Grain {
    pub const ALL: [Grain; 2] = [Grain::Quarter, Grain::Day];

    pub fn seconds(self) -> i64 {
        match self {
            Grain::Quarter => BUCKET_SECONDS,
            Grain::Day => DAY_SECONDS,
        }
    }
}

/// One way of partitioning a brand's calls. Brand-wide projections have `client_id = ''`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Projection {
    /// Brand-wide, by carrier.
    BrandCarrier,
    /// Brand-wide, by destination country.
    BrandCountry,
    /// Per client, by destination country.
    ClientCountry,
    /// Per client, by endpoint.
    ClientEndpoint,
}

impl Projection {
    pub const ALL: [Projection; 4] = [
        Projection::BrandCarrier,
        Projection::BrandCountry,
        Projection::ClientCountry,
        Projection::ClientEndpoint,
    ];

    /// The name stored in `call_rollups.projection` for its rows of `grain`.
    pub fn name(self, grain: Grain) -> &'static str {
        match (self, grain) {
            (Projection::BrandCarrier, Grain::Quarter) => "b_carrier",
            (Projection::BrandCountry, Grain::Quarter) => "b_country",
            (Projection::ClientCountry, Grain::Quarter) => "c_country",
            (Projection::ClientEndpoint, Grain::Quarter) => "c_endpoint",
            (Projection::BrandCarrier, Grain::Day) => "b_carrier_day",
            (Projection::BrandCountry, Grain::Day) => "b_country_day",
            (Projection::ClientCountry, Grain::Day) => "c_country_day",
            (Projection::ClientEndpoint, Grain::Day) => "c_endpoint_day",
        }
    }

    /// Whether its rows are per client (else `client_id` is '').
    pub fn per_client(self) -> bool {
        matches!(self, Projection::ClientCountry | Projection::ClientEndpoint)
    }

    /// The `billable_calls` column its value is.
    pub fn column(self) -> &'static str {
        match self {
            Projection::BrandCarrier => "carrier_id",
            Projection::BrandCountry | Projection::ClientCountry => "destination_country",
            Projection::ClientEndpoint => "endpoint_id",
        }
    }

    fn value_of(self, call: &BillableCall) -> &str {
        match self {
            Projection::BrandCarrier => call.carrier_id.as_deref(),
            Projection::BrandCountry | Projection::ClientCountry => {
                call.destination_country.as_deref()
            }
            Projection::ClientEndpoint => call.endpoint_id.as_deref(),
        }
        .unwrap_or("")
    }
}

/// The bucket of a start time at `grain`.
pub fn bucket_of(start: NaiveDateTime, grain: Grain) -> i64 {
    start.and_utc().timestamp().div_euclid(grain.seconds())
}

/// A row of `call_rollups`: (brand, projection, bucket, client or '', value or '').
type Key = (String, &'static str, i64, String, String);

/// Differences to apply, summed per row before they reach the database (a batch of calls
/// in the same quarter-hour touches each row once).
#[derive(Debug, Default)]
pub struct Deltas {
    rows: BTreeMap<Key, Sums>,
}

impl Deltas {
    /// Adds (`sign` 1) or removes (`sign` -1) one call in every projection.
    pub fn call(&mut self, call: &BillableCall, sign: i64) {
        let sums = Sums::of_call(
            &call.direction,
            &call.disposition,
            call.billed_seconds,
            micros(call.cost.as_deref()),
            micros(call.price.as_deref()),
        );
        let sums = scaled(&sums, sign);
        for grain in Grain::ALL {
            let bucket = bucket_of(call.start_time, grain);
            for p in Projection::ALL {
                let client = if p.per_client() {
                    call.client_id.clone()
                } else {
                    String::new()
                };
                let key = (
                    call.brand_id.clone(),
                    p.name(grain),
                    bucket,
                    client,
                    p.value_of(call).to_string(),
                );
                self.rows.entry(key).or_default().add(&sums);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

fn scaled(s: &Sums, sign: i64) -> Sums {
    Sums {
        calls: s.calls * sign,
        answered: s.answered * sign,
        billed_seconds: s.billed_seconds * sign,
        cost_micros: s.cost_micros * sign,
        price_micros: s.price_micros * sign,
        margin_micros: s.margin_micros * sign,
        unrated: s.unrated * sign,
    }
}

/// Adds newly stored calls.
pub fn add_calls<'a>(
    conn: &mut DbConnection,
    calls: impl IntoIterator<Item = &'a BillableCall>,
) -> AppResult<()> {
    let mut deltas = Deltas::default();
    for call in calls {
        deltas.call(call, 1);
    }
    apply(conn, &deltas)
}

/// Rows per SQLite upsert statement: 12 parameters a row, within SQLite's 32 766.
const CHUNK: usize = 1_000;

/// What an upsert does to a row already there: add the difference.
const ADD_ON_CONFLICT: &str =
    " ON CONFLICT (brand_id, projection, bucket, client_id, value) DO UPDATE SET \
     calls = call_rollups.calls + excluded.calls, \
     answered = call_rollups.answered + excluded.answered, \
     billed_seconds = call_rollups.billed_seconds + excluded.billed_seconds, \
     cost_micros = call_rollups.cost_micros + excluded.cost_micros, \
     price_micros = call_rollups.price_micros + excluded.price_micros, \
     margin_micros = call_rollups.margin_micros + excluded.margin_micros, \
     unrated = call_rollups.unrated + excluded.unrated";

const COLUMNS: &str = "INSERT INTO call_rollups (brand_id, projection, bucket, client_id, value, \
     calls, answered, billed_seconds, cost_micros, price_micros, margin_micros, unrated) ";

/// Applies `deltas` with `INSERT … ON CONFLICT DO UPDATE`, rows in key order: concurrent
/// writers (PostgreSQL) lock the rows they share in the same order, so they wait for each
/// other rather than deadlock.
///
/// PostgreSQL gets every row in one statement as twelve arrays (`unnest`), so its text and
/// plan do not grow with the batch; SQLite gets multi-row VALUES, a chunk per statement.
pub fn apply(conn: &mut DbConnection, deltas: &Deltas) -> AppResult<()> {
    let rows: Vec<(&Key, &Sums)> = deltas
        .rows
        .iter()
        .filter(|(_, s)| **s != Sums::default())
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    match conn {
        DbConnection::Sqlite(c) => {
            for chunk in rows.chunks(CHUNK) {
                let mut sql = String::with_capacity(COLUMNS.len() + 600 + chunk.len() * 64);
                sql.push_str(COLUMNS);
                sql.push_str("VALUES ");
                for i in 0..chunk.len() {
                    if i > 0 {
                        sql.push_str(", ");
                    }
                    sql.push_str("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
                }
                sql.push_str(ADD_ON_CONFLICT);
                let mut q = diesel::sql_query(sql).into_boxed::<diesel::sqlite::Sqlite>();
                for ((brand, projection, bucket, client, value), s) in chunk {
                    q = q
                        .bind::<Text, _>(brand.clone())
                        .bind::<Text, _>(projection.to_string())
                        .bind::<BigInt, _>(*bucket)
                        .bind::<Text, _>(client.clone())
                        .bind::<Text, _>(value.clone())
                        .bind::<BigInt, _>(s.calls)
                        .bind::<BigInt, _>(s.answered)
                        .bind::<BigInt, _>(s.billed_seconds)
                        .bind::<BigInt, _>(s.cost_micros)
                        .bind::<BigInt, _>(s.price_micros)
                        .bind::<BigInt, _>(s.margin_micros)
                        .bind::<BigInt, _>(s.unrated);
                }
                q.execute(c)?;
            }
        }
        DbConnection::Pg(c) => {
            use diesel::sql_types::Array;
            let text = |f: &dyn Fn(&Key) -> String| -> Vec<String> {
                rows.iter().map(|(k, _)| f(k)).collect()
            };
            let int =
                |f: &dyn Fn(&Sums) -> i64| -> Vec<i64> { rows.iter().map(|(_, s)| f(s)).collect() };
            let sql = format!(
                "{COLUMNS}SELECT * FROM unnest($1::text[], $2::text[], $3::int8[], $4::text[], \
                 $5::text[], $6::int8[], $7::int8[], $8::int8[], $9::int8[], $10::int8[], \
                 $11::int8[], $12::int8[]){ADD_ON_CONFLICT}"
            );
            diesel::sql_query(sql)
                .bind::<Array<Text>, _>(text(&|k| k.0.clone()))
                .bind::<Array<Text>, _>(text(&|k| k.1.to_string()))
                .bind::<Array<BigInt>, _>(rows.iter().map(|(k, _)| k.2).collect::<Vec<i64>>())
                .bind::<Array<Text>, _>(text(&|k| k.3.clone()))
                .bind::<Array<Text>, _>(text(&|k| k.4.clone()))
                .bind::<Array<BigInt>, _>(int(&|s| s.calls))
                .bind::<Array<BigInt>, _>(int(&|s| s.answered))
                .bind::<Array<BigInt>, _>(int(&|s| s.billed_seconds))
                .bind::<Array<BigInt>, _>(int(&|s| s.cost_micros))
                .bind::<Array<BigInt>, _>(int(&|s| s.price_micros))
                .bind::<Array<BigInt>, _>(int(&|s| s.margin_micros))
                .bind::<Array<BigInt>, _>(int(&|s| s.unrated))
                .execute(c)?;
        }
    }
    Ok(())
}

/// Before a brand is deleted: its rows (the table has no foreign key to cascade).
pub fn forget_brand(conn: &mut DbConnection, brand: &str) -> AppResult<()> {
    let sql = "DELETE FROM call_rollups WHERE brand_id = $1";
    match conn {
        DbConnection::Sqlite(c) => diesel::sql_query(sql.replace('$', "?"))
            .bind::<Text, _>(brand)
            .execute(c)?,
        DbConnection::Pg(c) => diesel::sql_query(sql).bind::<Text, _>(brand).execute(c)?,
    };
    Ok(())
}

/// Before a client's calls go (deleting a client cascades to them): its rows, and its
/// calls' share of the brand-wide rows, summed by the database.
pub fn forget_client(conn: &mut DbConnection, brand: &str, client: &str) -> AppResult<()> {
    let mut deltas = Deltas::default();
    for grain in Grain::ALL {
        for p in Projection::ALL.into_iter().filter(|p| !p.per_client()) {
            for ((_, name, bucket, _, value), sums) in summed(conn, Some(client), p, grain)? {
                let key = (brand.to_string(), name, bucket, String::new(), value);
                deltas.rows.entry(key).or_default().add(&scaled(&sums, -1));
            }
        }
    }
    apply(conn, &deltas)?;
    let sql = "DELETE FROM call_rollups WHERE brand_id = $1 AND client_id = $2";
    match conn {
        DbConnection::Sqlite(c) => diesel::sql_query(sql.replace('$', "?"))
            .bind::<Text, _>(brand)
            .bind::<Text, _>(client)
            .execute(c)?,
        DbConnection::Pg(c) => diesel::sql_query(sql)
            .bind::<Text, _>(brand)
            .bind::<Text, _>(client)
            .execute(c)?,
    };
    Ok(())
}

#[derive(QueryableByName)]
struct Summed {
    #[diesel(sql_type = Text)]
    brand_id: String,
    #[diesel(sql_type = Text)]
    client_id: String,
    #[diesel(sql_type = BigInt)]
    bucket: i64,
    #[diesel(sql_type = Text)]
    value: String,
    #[diesel(sql_type = BigInt)]
    calls: i64,
    #[diesel(sql_type = BigInt)]
    answered: i64,
    #[diesel(sql_type = BigInt)]
    billed: i64,
    #[diesel(sql_type = BigInt)]
    cost: i64,
    #[diesel(sql_type = BigInt)]
    price: i64,
    #[diesel(sql_type = BigInt)]
    margin: i64,
    #[diesel(sql_type = BigInt)]
    unrated: i64,
}

/// Where the stored rows differ from the calls summed afresh (each as "projection brand
/// bucket client value: stored … calls …"); empty when they agree. For tests and checks.
pub fn differences(conn: &mut DbConnection) -> AppResult<Vec<String>> {
    #[derive(QueryableByName)]
    struct Stored {
        #[diesel(sql_type = Text)]
        brand_id: String,
        #[diesel(sql_type = Text)]
        projection: String,
        #[diesel(sql_type = BigInt)]
        bucket: i64,
        #[diesel(sql_type = Text)]
        client_id: String,
        #[diesel(sql_type = Text)]
        value: String,
        #[diesel(sql_type = BigInt)]
        calls: i64,
        #[diesel(sql_type = BigInt)]
        answered: i64,
        #[diesel(sql_type = BigInt)]
        billed_seconds: i64,
        #[diesel(sql_type = BigInt)]
        cost_micros: i64,
        #[diesel(sql_type = BigInt)]
        price_micros: i64,
        #[diesel(sql_type = BigInt)]
        margin_micros: i64,
        #[diesel(sql_type = BigInt)]
        unrated: i64,
    }
    let sql =
        "SELECT * FROM call_rollups WHERE calls <> 0 OR answered <> 0 OR billed_seconds <> 0 \
               OR cost_micros <> 0 OR price_micros <> 0 OR margin_micros <> 0 OR unrated <> 0";
    let stored: Vec<Stored> = match conn {
        DbConnection::Sqlite(c) => diesel::sql_query(sql).load(c)?,
        DbConnection::Pg(c) => diesel::sql_query(sql).load(c)?,
    };
    let mut got: BTreeMap<(String, String, i64, String, String), Sums> = BTreeMap::new();
    for r in stored {
        let sums = Sums {
            calls: r.calls,
            answered: r.answered,
            billed_seconds: r.billed_seconds,
            cost_micros: r.cost_micros,
            price_micros: r.price_micros,
            margin_micros: r.margin_micros,
            unrated: r.unrated,
        };
        got.insert(
            (r.projection, r.brand_id, r.bucket, r.client_id, r.value),
            sums,
        );
    }
    let mut want = BTreeMap::new();
    for grain in Grain::ALL {
        for p in Projection::ALL {
            for ((brand, name, bucket, client, value), sums) in summed(conn, None, p, grain)? {
                want.insert((name.to_string(), brand, bucket, client, value), sums);
            }
        }
    }
    let mut out = Vec::new();
    for key in got
        .keys()
        .chain(want.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        let (g, w) = (got.get(key), want.get(key));
        if g != w {
            out.push(format!("{key:?}: stored {g:?}, calls {w:?}"));
        }
    }
    Ok(out)
}

/// Calls (of one client, or all) summed as projection `p` sums them at `grain`, by row.
fn summed(
    conn: &mut DbConnection,
    client: Option<&str>,
    p: Projection,
    grain: Grain,
) -> AppResult<Vec<(Key, Sums)>> {
    let pg = matches!(conn, DbConnection::Pg(_));
    let bucket = if pg {
        format!(
            "CAST(FLOOR(EXTRACT(EPOCH FROM start_time) / {}) AS BIGINT)",
            grain.seconds()
        )
    } else {
        format!(
            "CAST(strftime('%s', start_time) AS INTEGER) / {}",
            grain.seconds()
        )
    };
    let sql = format!(
        "SELECT brand_id, {client_column} AS client_id, {bucket} AS bucket, \
           COALESCE({column}, '') AS value, COUNT(*) AS calls, \
           CAST(SUM(CASE WHEN disposition = 'answered' THEN 1 ELSE 0 END) AS BIGINT) AS answered, \
           CAST(SUM(CASE WHEN disposition = 'answered' THEN billed_seconds ELSE 0 END) AS BIGINT) AS billed, \
           CAST(COALESCE(SUM(cost_micros), 0) AS BIGINT) AS cost, \
           CAST(COALESCE(SUM(price_micros), 0) AS BIGINT) AS price, \
           CAST(COALESCE(SUM(price_micros - cost_micros), 0) AS BIGINT) AS margin, \
           CAST(SUM(CASE WHEN disposition = 'answered' AND direction = 'outbound' \
                AND price_micros IS NULL THEN 1 ELSE 0 END) AS BIGINT) AS unrated \
         FROM billable_calls WHERE {where_} GROUP BY 1, 2, 3, 4",
        client_column = if p.per_client() { "client_id" } else { "''" },
        column = p.column(),
        where_ = if client.is_some() { "client_id = $1" } else { "$1 = $1" },
    );
    let client = client.unwrap_or("").to_string();
    let rows: Vec<Summed> = match conn {
        DbConnection::Sqlite(c) => diesel::sql_query(sql.replace("$1", "?1"))
            .bind::<Text, _>(client)
            .load(c)?,
        DbConnection::Pg(c) => diesel::sql_query(sql).bind::<Text, _>(client).load(c)?,
    };
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                (r.brand_id, p.name(grain), r.bucket, r.client_id, r.value),
                Sums {
                    calls: r.calls,
                    answered: r.answered,
                    billed_seconds: r.billed,
                    cost_micros: r.cost,
                    price_micros: r.price,
                    margin_micros: r.margin,
                    unrated: r.unrated,
                },
            )
        })
        .collect())
}
