//! `call_rollups`: the calls' statistics summed per 15-minute UTC bucket in a few narrow
//! projections (see [`Projection`] and migration 000018), and again per UTC day
//! ([`Grain`], migration 000020), so `/stats` reads thousands of rows where it would read
//! millions of calls: the days wholly inside a range from the daily rows, the quarter-hours
//! at its ends from the others.
//!
//! Every change to `billable_calls` records its difference in `call_rollup_journal`, in the
//! same transaction: one narrow row per call ([`add_calls`] on ingestion, [`apply`] with the
//! old call subtracted and the new one added on rerating and the country backfill). A
//! background thread ([`fold`]) moves the journal into `call_rollups` every half second, a
//! few thousand rows at once, summed and in key order: the rollup's pages are written once
//! per fold instead of once per batch of calls (a batch spread over a month touches a page
//! per call). `/stats` adds the rows still in the journal, so it is exact at every moment.
//! [`forget_client`] runs before a client's calls are deleted, [`forget_brand`] before a
//! brand's.

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
}

/// The bucket of a start time at `grain`.
pub fn bucket_of(start: NaiveDateTime, grain: Grain) -> i64 {
    start.and_utc().timestamp().div_euclid(grain.seconds())
}

/// A row of `call_rollups`: (brand, projection, bucket, client or '', value or '').
type Key = (String, &'static str, i64, String, String);

/// A row of `call_rollup_journal`: (brand, client, quarter-hour bucket, carrier, country,
/// endpoint), '' for a call without one.
type Entry = (String, String, i64, String, String, String);

/// Differences to record, summed per journal row before they reach the database (a batch
/// of calls of the same client and quarter-hour makes one row).
#[derive(Debug, Default)]
pub struct Deltas {
    rows: BTreeMap<Entry, Sums>,
}

impl Deltas {
    /// Adds (`sign` 1) or removes (`sign` -1) one call.
    pub fn call(&mut self, call: &BillableCall, sign: i64) {
        let sums = Sums::of_call(
            &call.direction,
            &call.disposition,
            call.billed_seconds,
            micros(call.cost.as_deref()),
            micros(call.price.as_deref()),
        );
        let value = |v: &Option<String>| v.clone().unwrap_or_default();
        let entry = (
            call.brand_id.clone(),
            call.client_id.clone(),
            bucket_of(call.start_time, Grain::Quarter),
            value(&call.carrier_id),
            value(&call.destination_country),
            value(&call.endpoint_id),
        );
        self.rows
            .entry(entry)
            .or_default()
            .add(&scaled(&sums, sign));
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

/// SQLite: the highest rowid of `billable_calls` (0 when empty), for
/// [`add_calls_after_rowid`].
pub fn last_call_rowid(conn: &mut DbConnection) -> AppResult<i64> {
    #[derive(QueryableByName)]
    struct Last {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let sql = "SELECT CAST(COALESCE(MAX(rowid), 0) AS BIGINT) AS n FROM billable_calls";
    let last: Last = match conn {
        DbConnection::Sqlite(c) => diesel::sql_query(sql).get_result(c)?,
        DbConnection::Pg(_) => return Ok(0),
    };
    Ok(last.n)
}

/// SQLite: records the calls stored past rowid `after` in this transaction (the writer's
/// own, so exactly the calls it just inserted), summed per journal row by the database.
pub fn add_calls_after_rowid(conn: &mut DbConnection, after: i64) -> AppResult<()> {
    let DbConnection::Sqlite(c) = conn else {
        return Ok(());
    };
    let sql = format!(
        "{JOURNAL_COLUMNS}SELECT brand_id, client_id, {bucket}, COALESCE(carrier_id, ''), \
           COALESCE(destination_country, ''), COALESCE(endpoint_id, ''), {SUMS_OF_CALLS} \
         FROM billable_calls WHERE rowid > ? GROUP BY 1, 2, 3, 4, 5, 6",
        bucket = quarter_of_start(false),
    );
    diesel::sql_query(sql).bind::<BigInt, _>(after).execute(c)?;
    Ok(())
}

/// Journal rows per SQLite INSERT: 13 parameters a row, within SQLite's 32 766.
const CHUNK: usize = 1_000;

const JOURNAL_COLUMNS: &str = "INSERT INTO call_rollup_journal (brand_id, client_id, bucket, \
     carrier, country, endpoint, calls, answered, billed_seconds, cost_micros, price_micros, \
     margin_micros, unrated) ";

/// Records `deltas` in the journal (the caller's transaction makes them part of the change
/// to the calls). PostgreSQL gets every row in one statement as arrays (`unnest`), so its
/// text and plan do not grow with the batch; SQLite gets multi-row VALUES.
pub fn apply(conn: &mut DbConnection, deltas: &Deltas) -> AppResult<()> {
    let rows: Vec<(&Entry, &Sums)> = deltas
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
                let mut sql = String::with_capacity(JOURNAL_COLUMNS.len() + chunk.len() * 44);
                sql.push_str(JOURNAL_COLUMNS);
                sql.push_str("VALUES ");
                for i in 0..chunk.len() {
                    if i > 0 {
                        sql.push_str(", ");
                    }
                    sql.push_str("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
                }
                let mut q = diesel::sql_query(sql).into_boxed::<diesel::sqlite::Sqlite>();
                for ((brand, client, bucket, carrier, country, endpoint), s) in chunk {
                    q = q
                        .bind::<Text, _>(brand.clone())
                        .bind::<Text, _>(client.clone())
                        .bind::<BigInt, _>(*bucket)
                        .bind::<Text, _>(carrier.clone())
                        .bind::<Text, _>(country.clone())
                        .bind::<Text, _>(endpoint.clone())
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
            let text = |f: &dyn Fn(&Entry) -> &String| -> Vec<&String> {
                rows.iter().map(|(e, _)| f(e)).collect()
            };
            let int =
                |f: &dyn Fn(&Sums) -> i64| -> Vec<i64> { rows.iter().map(|(_, s)| f(s)).collect() };
            let sql = format!(
                "{JOURNAL_COLUMNS}SELECT * FROM unnest($1::text[], $2::text[], $3::int8[], \
                 $4::text[], $5::text[], $6::text[], $7::int8[], $8::int8[], $9::int8[], \
                 $10::int8[], $11::int8[], $12::int8[], $13::int8[])"
            );
            diesel::sql_query(sql)
                .bind::<Array<Text>, _>(text(&|e| &e.0))
                .bind::<Array<Text>, _>(text(&|e| &e.1))
                .bind::<Array<BigInt>, _>(rows.iter().map(|(e, _)| e.2).collect::<Vec<i64>>())
                .bind::<Array<Text>, _>(text(&|e| &e.3))
                .bind::<Array<Text>, _>(text(&|e| &e.4))
                .bind::<Array<Text>, _>(text(&|e| &e.5))
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

/// Journal rows one [`fold`] moves at most on SQLite: one short transaction each, so that
/// the calls being stored meanwhile wait for the one writer only briefly.
const FOLD_ROWS_SQLITE: i64 = 5_000;

/// Journal rows one [`fold`] moves at most on PostgreSQL, where storing calls does not
/// wait for it: larger slices cost fewer statements.
const FOLD_ROWS_PG: i64 = 50_000;

/// The key of a bucket of `grain` from the journal's quarter-hour `bucket` (floor division,
/// also before 1970).
fn journal_bucket(grain: Grain) -> &'static str {
    match grain {
        Grain::Quarter => "bucket",
        Grain::Day => "(bucket - ((bucket % 96) + 96) % 96) / 96",
    }
}

/// The journal's column a projection's `value` is.
fn journal_value(p: Projection) -> &'static str {
    match p {
        Projection::BrandCarrier => "carrier",
        Projection::BrandCountry | Projection::ClientCountry => "country",
        Projection::ClientEndpoint => "endpoint",
    }
}

/// The journal's rows as rows of projection `p` at `grain` (columns as `call_rollups`'),
/// unsummed: for `/stats`, which adds them to the rollup's (`db::stats`).
pub fn journal_as(p: Projection, grain: Grain) -> String {
    format!(
        "SELECT brand_id, {client} AS client_id, {bucket} AS bucket, {value} AS value, calls, \
           answered, billed_seconds, cost_micros, price_micros, margin_micros, unrated \
         FROM call_rollup_journal",
        client = if p.per_client() { "client_id" } else { "''" },
        bucket = journal_bucket(grain),
        value = journal_value(p),
    )
}

/// Moves up to [`FOLD_ROWS_SQLITE`] or [`FOLD_ROWS_PG`] journal rows into `call_rollups` in one transaction; returns
/// how many it moved (0: the journal is empty, or another instance is folding). The rows
/// are summed per rollup row and upserted in key order. SQLite takes the oldest rows (its
/// one writer excludes any other change meanwhile); PostgreSQL any rows the DELETE sees,
/// under an advisory lock that keeps instances from folding at once.
pub fn fold(conn: &mut DbConnection) -> AppResult<usize> {
    /// The advisory lock of the fold ("rollup" in ASCII).
    const LOCK: i64 = 0x726f_6c6c_7570;
    let upserts = |source: &str| -> Vec<String> {
        let mut all = Vec::new();
        for grain in Grain::ALL {
            for p in Projection::ALL {
                all.push(format!(
                    "INSERT INTO call_rollups (brand_id, projection, bucket, client_id, value, \
                       calls, answered, billed_seconds, cost_micros, price_micros, margin_micros, \
                       unrated) \
                     SELECT brand_id, '{name}', {bucket}, {client}, {value}, SUM(calls), \
                       SUM(answered), SUM(billed_seconds), SUM(cost_micros), SUM(price_micros), \
                       SUM(margin_micros), SUM(unrated) \
                     FROM {source} WHERE TRUE GROUP BY 1, 3, 4, 5 ORDER BY 1, 3, 4, 5{ADD_ON_CONFLICT}",
                    name = p.name(grain),
                    bucket = journal_bucket(grain),
                    client = if p.per_client() { "client_id" } else { "''" },
                    value = journal_value(p),
                ));
            }
        }
        all
    };
    crate::db::transaction(conn, |conn| match conn {
        DbConnection::Sqlite(c) => {
            #[derive(QueryableByName)]
            struct Last {
                #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
                id: Option<i64>,
            }
            let last: Last = diesel::sql_query(format!(
                "SELECT MAX(id) AS id FROM (SELECT id FROM call_rollup_journal ORDER BY id LIMIT {FOLD_ROWS_SQLITE})"
            ))
            .get_result(c)?;
            let Some(last) = last.id else {
                return Ok(0);
            };
            let source = format!("(SELECT * FROM call_rollup_journal WHERE id <= {last})");
            for sql in upserts(&source) {
                diesel::sql_query(sql).execute(c)?;
            }
            Ok(diesel::sql_query(format!(
                "DELETE FROM call_rollup_journal WHERE id <= {last}"
            ))
            .execute(c)?)
        }
        DbConnection::Pg(c) => {
            #[derive(QueryableByName)]
            struct Locked {
                #[diesel(sql_type = diesel::sql_types::Bool)]
                locked: bool,
            }
            let locked: Locked = diesel::sql_query(format!(
                "SELECT pg_try_advisory_xact_lock({LOCK}) AS locked"
            ))
            .get_result(c)?;
            if !locked.locked {
                return Ok(0);
            }
            // One statement: the rows the DELETE takes (a journal row committed meanwhile
            // waits for the next fold) feed the eight upserts.
            let mut sql = format!(
                "WITH moved AS (DELETE FROM call_rollup_journal WHERE ctid = ANY(ARRAY(\
                   SELECT ctid FROM call_rollup_journal LIMIT {FOLD_ROWS_PG})) RETURNING *)"
            );
            for (i, upsert) in upserts("moved").into_iter().enumerate() {
                sql.push_str(&format!(", u{i} AS ({upsert} RETURNING 1)"));
            }
            sql.push_str(" SELECT CAST(COUNT(*) AS BIGINT) AS n FROM moved");
            #[derive(QueryableByName)]
            struct Moved {
                #[diesel(sql_type = BigInt)]
                n: i64,
            }
            let moved: Moved = diesel::sql_query(sql).get_result(c)?;
            Ok(moved.n as usize)
        }
    })
}

/// Rows waiting in the journal (0 once the folder has caught up).
pub fn journal_rows(conn: &mut DbConnection) -> AppResult<i64> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let sql = "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM call_rollup_journal";
    let count: Count = match conn {
        DbConnection::Sqlite(c) => diesel::sql_query(sql).get_result(c)?,
        DbConnection::Pg(c) => diesel::sql_query(sql).get_result(c)?,
    };
    Ok(count.n)
}

/// Folds until the journal is empty (or another instance is folding it).
pub fn fold_all(conn: &mut DbConnection) -> AppResult<usize> {
    let mut total = 0;
    loop {
        match fold(conn)? {
            0 => return Ok(total),
            n => total += n,
        }
    }
}

/// Before a brand is deleted: its rows and journal (neither has a foreign key to cascade).
pub fn forget_brand(conn: &mut DbConnection, brand: &str) -> AppResult<()> {
    for table in ["call_rollups", "call_rollup_journal"] {
        let sql = format!("DELETE FROM {table} WHERE brand_id = $1");
        match conn {
            DbConnection::Sqlite(c) => diesel::sql_query(sql.replace('$', "?"))
                .bind::<Text, _>(brand)
                .execute(c)?,
            DbConnection::Pg(c) => diesel::sql_query(sql).bind::<Text, _>(brand).execute(c)?,
        };
    }
    Ok(())
}

/// Before a client's calls go (deleting a client cascades to them): their sums, taken
/// away in the journal (summed by the database), like any other change.
pub fn forget_client(conn: &mut DbConnection, client: &str) -> AppResult<()> {
    let pg = matches!(conn, DbConnection::Pg(_));
    let sql = format!(
        "{JOURNAL_COLUMNS}SELECT brand_id, client_id, {bucket}, COALESCE(carrier_id, ''), \
           COALESCE(destination_country, ''), COALESCE(endpoint_id, ''), {negated} \
         FROM billable_calls WHERE client_id = $1 GROUP BY 1, 2, 3, 4, 5, 6",
        bucket = quarter_of_start(pg),
        negated = SUMS_OF_CALLS.replace("CAST(", "-CAST("),
    );
    match conn {
        DbConnection::Sqlite(c) => diesel::sql_query(sql.replace("$1", "?"))
            .bind::<Text, _>(client)
            .execute(c)?,
        DbConnection::Pg(c) => diesel::sql_query(sql).bind::<Text, _>(client).execute(c)?,
    };
    Ok(())
}

/// The quarter-hour bucket of `billable_calls.start_time`, in SQL (floor division, as
/// [`bucket_of`], also before 1970).
fn quarter_of_start(pg: bool) -> &'static str {
    if pg {
        "CAST(FLOOR(EXTRACT(EPOCH FROM start_time) / 900) AS BIGINT)"
    } else {
        "((CAST(strftime('%s', start_time) AS INTEGER) \
           - ((CAST(strftime('%s', start_time) AS INTEGER) % 900) + 900) % 900) / 900)"
    }
}

/// The seven sums of a group of `billable_calls`, in SQL, in `Sums`' order (each a CAST).
const SUMS_OF_CALLS: &str = "CAST(COUNT(*) AS BIGINT), \
    CAST(SUM(CASE WHEN disposition = 'answered' THEN 1 ELSE 0 END) AS BIGINT), \
    CAST(SUM(CASE WHEN disposition = 'answered' THEN billed_seconds ELSE 0 END) AS BIGINT), \
    CAST(COALESCE(SUM(cost_micros), 0) AS BIGINT), \
    CAST(COALESCE(SUM(price_micros), 0) AS BIGINT), \
    CAST(COALESCE(SUM(price_micros - cost_micros), 0) AS BIGINT), \
    CAST(SUM(CASE WHEN disposition = 'answered' AND direction = 'outbound' \
         AND price_micros IS NULL THEN 1 ELSE 0 END) AS BIGINT)";

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

/// Where the stored rows (with the journal's not folded yet) differ from the calls summed
/// afresh (each as "projection brand bucket client value: stored … calls …"); empty when
/// they agree. For tests and checks.
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
    // One snapshot of both tables (a fold may commit meanwhile).
    let mut sql = String::from(
        "SELECT brand_id, projection, bucket, client_id, value, calls, answered, \
           billed_seconds, cost_micros, price_micros, margin_micros, unrated FROM call_rollups",
    );
    for grain in Grain::ALL {
        for p in Projection::ALL {
            sql.push_str(&format!(
                " UNION ALL SELECT brand_id, '{}' AS projection, bucket, client_id, value, \
                   calls, answered, billed_seconds, cost_micros, price_micros, margin_micros, \
                   unrated FROM ({}) j",
                p.name(grain),
                journal_as(p, grain)
            ));
        }
    }
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
        got.entry((r.projection, r.brand_id, r.bucket, r.client_id, r.value))
            .or_default()
            .add(&sums);
    }
    got.retain(|_, sums| *sums != Sums::default());
    let mut want = BTreeMap::new();
    for grain in Grain::ALL {
        for p in Projection::ALL {
            for ((brand, name, bucket, client, value), sums) in summed(conn, p, grain)? {
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

/// The calls summed as projection `p` sums them at `grain`, by row.
fn summed(conn: &mut DbConnection, p: Projection, grain: Grain) -> AppResult<Vec<(Key, Sums)>> {
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
         FROM billable_calls GROUP BY 1, 2, 3, 4",
        client_column = if p.per_client() { "client_id" } else { "''" },
        column = p.column(),
    );
    let rows: Vec<Summed> = match conn {
        DbConnection::Sqlite(c) => diesel::sql_query(sql).load(c)?,
        DbConnection::Pg(c) => diesel::sql_query(sql).load(c)?,
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
