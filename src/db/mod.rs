//! Database access: one `MultiConnection` over SQLite and PostgreSQL, an r2d2 pool whose
//! backend is chosen from the URL scheme, embedded migrations per backend, and [`run`],
//! the one way handlers reach the database (off the async threads).

pub mod administrators;
pub mod billable_calls;
pub mod brands;
pub mod carriers;
pub mod clients;
pub mod ddi_providers;
pub mod ddis;
pub mod endpoints;
pub mod metrics;
pub mod notification_templates;
pub mod rating_plans;
pub mod rating_profiles;
pub mod reports;
pub mod schedulers;
pub mod schema;

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use diesel::connection::SimpleConnection;
use diesel::r2d2::{CustomizeConnection, Pool, PooledConnection};
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::config::DatabaseUrl;
use crate::error::{AppError, AppResult};

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Sqlite(SqliteConnection),
    Pg(PgConnection),
}

pub type DbPool = Pool<DbManager>;
pub type DbConn = PooledConnection<DbManager>;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// An r2d2 manager that opens the backend named by the URL scheme. (The derived
/// `MultiConnection::establish` tries each backend in turn and hides the real error.)
pub struct DbManager {
    url: DatabaseUrl,
}

impl r2d2::ManageConnection for DbManager {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        match &self.url {
            DatabaseUrl::Sqlite(path) => SqliteConnection::establish(&path.to_string_lossy())
                .map(DbConnection::Sqlite)
                .map_err(diesel::r2d2::Error::ConnectionError),
            DatabaseUrl::Postgres(url) => PgConnection::establish(url)
                .map(DbConnection::Pg)
                .map_err(diesel::r2d2::Error::ConnectionError),
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
    }
}

/// SQLite settings that must hold on every pooled connection: several writers wait for
/// each other instead of failing with "database is locked", and foreign keys are enforced.
#[derive(Debug)]
struct SqlitePragmas;

impl CustomizeConnection<DbConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut DbConnection) -> Result<(), diesel::r2d2::Error> {
        if let DbConnection::Sqlite(c) = conn {
            c.batch_execute(
                "PRAGMA busy_timeout = 15000; PRAGMA journal_mode = WAL; \
                 PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
            )
            .map_err(diesel::r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

/// Opens the pool (creating the SQLite file's folder if needed) and checks one connection,
/// so a wrong URL fails at start with the database's own message.
pub fn connect(url: &DatabaseUrl, size: u32) -> Result<DbPool, String> {
    if let DatabaseUrl::Sqlite(path) = url {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
    }
    let manager = DbManager { url: url.clone() };
    // Check once by hand: r2d2 would otherwise retry silently for its whole timeout.
    r2d2::ManageConnection::connect(&manager).map_err(|e| format!("database {url:?}: {e}"))?;
    Pool::builder()
        .max_size(size)
        .connection_timeout(Duration::from_secs(10))
        .connection_customizer(Box::new(SqlitePragmas))
        .build(manager)
        .map_err(|e| format!("database {url:?}: {e}"))
}

/// Applies the pending embedded migrations of the connection's backend.
pub fn run_migrations(conn: &mut DbConnection) -> Result<Vec<String>, String> {
    let applied = match conn {
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS),
        DbConnection::Pg(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS),
    }
    .map_err(|e| format!("migrations: {e}"))?;
    Ok(applied.iter().map(|v| v.to_string()).collect())
}

/// Runs blocking Diesel work on actix's blocking thread pool, checking the connection out
/// inside the closure so the async threads never wait on the database.
pub async fn run<T, F>(pool: &DbPool, work: F) -> AppResult<T>
where
    F: FnOnce(&mut DbConnection) -> AppResult<T> + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    actix_web::web::block(move || {
        let mut conn = pool.get()?;
        work(&mut conn)
    })
    .await?
}

/// Runs `work` in a transaction; an `AppError` rolls it back. Do not nest.
///
/// On SQLite the transaction starts with `BEGIN IMMEDIATE`: it takes the write lock up
/// front, so concurrent writers queue on `busy_timeout` instead of failing with
/// SQLITE_BUSY when a read lock would have to be upgraded mid-transaction.
pub fn transaction<T>(
    conn: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> AppResult<T>,
) -> AppResult<T> {
    if let DbConnection::Sqlite(_) = conn {
        conn.batch_execute("BEGIN IMMEDIATE")?;
        return match work(conn) {
            Ok(value) => match conn.batch_execute("COMMIT") {
                Ok(()) => Ok(value),
                Err(e) => {
                    let _ = conn.batch_execute("ROLLBACK");
                    Err(e.into())
                }
            },
            Err(e) => {
                let _ = conn.batch_execute("ROLLBACK");
                Err(e)
            }
        };
    }
    let mut outcome: Option<AppError> = None;
    let result = conn.transaction::<T, diesel::result::Error, _>(|c| match work(c) {
        Ok(v) => Ok(v),
        Err(e) => {
            outcome = Some(e);
            Err(diesel::result::Error::RollbackTransaction)
        }
    });
    match (result, outcome) {
        (Ok(v), _) => Ok(v),
        (Err(_), Some(app)) => Err(app),
        (Err(db), None) => Err(db.into()),
    }
}

/// "Now" for comparisons that several instances must agree on: the database server's clock
/// on PostgreSQL (one clock for every instance), the process clock on SQLite (one process
/// at a time writes the file anyway).
pub fn clock(conn: &mut DbConnection) -> AppResult<NaiveDateTime> {
    use diesel::RunQueryDsl;
    match conn {
        DbConnection::Pg(c) => {
            #[derive(diesel::QueryableByName)]
            struct Now {
                #[diesel(sql_type = diesel::sql_types::Timestamp)]
                now: NaiveDateTime,
            }
            let row: Now =
                diesel::sql_query("SELECT CAST(now() AT TIME ZONE 'UTC' AS timestamp) AS now")
                    .get_result(c)?;
            Ok(row.now.trunc_subsecs(6))
        }
        DbConnection::Sqlite(_) => Ok(now()),
    }
}

/// The current time as stored: UTC, truncated to microseconds (PostgreSQL's precision) so
/// both backends store and return the same value.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// A stored timestamp as an instant.
pub fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// A new object id: UUID v7 (time-ordered, so inserts stay index-friendly).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
