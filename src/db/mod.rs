//! Database access: one `MultiConnection` over SQLite and PostgreSQL, an r2d2 pool whose
//! backend is chosen from the URL scheme, embedded migrations per backend, and [`run`],
//! the one way handlers reach the database (off the async threads).

pub mod administrators;
pub mod alerts;
pub mod billable_calls;
pub mod brands;
pub mod carriers;
pub mod cdr_imports;
pub mod cdr_sources;
pub mod cdr_spool_files;
pub mod clients;
pub mod ddi_providers;
pub mod ddis;
pub mod endpoints;
pub mod metrics;
pub mod notification_templates;
pub mod rating_plans;
pub mod rating_profiles;
pub mod reports;
pub mod rollups;
pub mod schedulers;
pub mod schema;
pub mod stats;
pub mod ui_sessions;

use std::sync::Arc;
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

/// A list of a brand's own objects (carriers, DDI providers), narrowed by name.
#[derive(Debug, Default)]
pub struct BrandFilter {
    pub brand: Option<String>,
    pub name: Option<String>,
    /// Set when the query can match nothing (another tenant's brand was asked for).
    pub nothing: bool,
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

/// The settings of every pooled connection. SQLite's: several writers wait for each other
/// instead of failing with "database is locked", and foreign keys are enforced.
/// The journal mode is not among them: WAL is a property of the file, set once by
/// [`prepare_sqlite_file`] before the pool opens (see there why).
///
/// Checkpoints (copying committed pages from the WAL into the database file) are left to a
/// thread of their own ([`start_checkpoints`]) rather than to whichever commit crosses
/// SQLite's 1000-page mark: a checkpoint takes tens of milliseconds, and the one writer and
/// everything queued behind it would wait for it. Commits still checkpoint themselves past
/// [`WAL_PAGES_LIMIT`], should that thread fall behind. PostgreSQL's: [`POSTGRES_SETTINGS`].
#[derive(Debug)]
struct ConnectionSettings {
    /// Alive as long as the pool: its checkpoint thread stops when this goes.
    _pool_alive: Arc<()>,
}

/// Pages in the WAL past which a commit checkpoints by itself (SQLite's default is 1000).
const WAL_PAGES_LIMIT: u32 = 10_000;

/// How often the checkpoint thread copies what was committed into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);

fn sqlite_connection_pragmas() -> String {
    format!(
        "PRAGMA busy_timeout = 15000; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
         PRAGMA wal_autocheckpoint = {WAL_PAGES_LIMIT};"
    )
}

/// PostgreSQL's settings for each pooled connection. No JIT compilation: it pays off for
/// long analytical queries, while ours take milliseconds and compiling one costs ~200 ms
/// (a statistics read of a year's pieces, whose estimated cost is high because the
/// planner cannot tell how few rows each piece holds, took 36 ms plus that).
const POSTGRES_SETTINGS: &str = "SET jit = off;";

impl CustomizeConnection<DbConnection, diesel::r2d2::Error> for ConnectionSettings {
    fn on_acquire(&self, conn: &mut DbConnection) -> Result<(), diesel::r2d2::Error> {
        match conn {
            DbConnection::Sqlite(c) => c.batch_execute(&sqlite_connection_pragmas()),
            DbConnection::Pg(c) => c.batch_execute(POSTGRES_SETTINGS),
        }
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Checkpoints the SQLite file at `path` every [`CHECKPOINT_EVERY`] on a connection of its
/// own, while `pool_alive` lives. `PASSIVE` never blocks a writer or a reader: pages still
/// read by an open transaction wait for the next round.
fn start_checkpoints(path: &std::path::Path, pool_alive: std::sync::Weak<()>) {
    let path = path.to_string_lossy().into_owned();
    let spawned = std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || {
            let mut conn = match SqliteConnection::establish(&path) {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::warn!(error = %e, "SQLite checkpoint thread: no connection; commits checkpoint by themselves");
                    return;
                }
            };
            while pool_alive.strong_count() > 0 {
                std::thread::sleep(CHECKPOINT_EVERY);
                if let Err(e) = conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE)") {
                    tracing::debug!(error = %e, "SQLite checkpoint skipped");
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "SQLite checkpoint thread not started");
    }
}

/// Switches the SQLite file to WAL on one connection, before any other opens it.
///
/// Switching a new file to WAL writes its header in a read-then-write transaction, and
/// SQLite gives up on such an upgrade at once (without waiting for `busy_timeout`) when
/// another connection holds the lock. When every pooled connection switched as it opened,
/// the pool's first connections raced on a fresh file and one of them failed with
/// "database is locked" (r2d2 logged it as an ERROR and retried) on about one first start
/// in four. The mode is kept in the file, so once is enough; on a file already in WAL
/// this only reads the header.
fn prepare_sqlite_file(conn: &mut SqliteConnection) -> Result<(), diesel::result::Error> {
    conn.batch_execute("PRAGMA busy_timeout = 15000; PRAGMA journal_mode = WAL;")
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
    let mut first =
        r2d2::ManageConnection::connect(&manager).map_err(|e| format!("database {url:?}: {e}"))?;
    if let DbConnection::Sqlite(c) = &mut first {
        prepare_sqlite_file(c).map_err(|e| format!("database {url:?}: journal mode: {e}"))?;
    }
    drop(first);
    let pool_alive = Arc::new(());
    if let DatabaseUrl::Sqlite(path) = url {
        start_checkpoints(path, Arc::downgrade(&pool_alive));
    }
    Pool::builder()
        .max_size(size)
        .connection_timeout(Duration::from_secs(10))
        .connection_customizer(Box::new(ConnectionSettings {
            _pool_alive: pool_alive,
        }))
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

/// Runs `work` with SQLite's page cache raised to `kib` KiB on this connection, then
/// puts the default back (PostgreSQL: as is; its shared buffers serve every
/// connection). For work that reads many scattered rows of a large database, such as an
/// alert pass listing each event's calls: with the default 2 MiB the B-trees' inner pages
/// keep being dropped and read again, several reads per row instead of one.
pub fn with_page_cache<T>(
    conn: &mut DbConnection,
    kib: u32,
    work: impl FnOnce(&mut DbConnection) -> AppResult<T>,
) -> AppResult<T> {
    if !matches!(conn, DbConnection::Sqlite(_)) {
        return work(conn);
    }
    conn.batch_execute(&format!("PRAGMA cache_size = -{kib}"))?;
    let outcome = work(conn);
    // SQLite's default (-2000: about 2 MiB); the cache shrinks at once.
    let restored = conn.batch_execute("PRAGMA cache_size = -2000");
    let value = outcome?;
    restored?;
    Ok(value)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The pool's first connections on a fresh SQLite file all set themselves up at once
    /// without an error. Before the WAL switch moved to [`prepare_sqlite_file`], every
    /// connection switched as it opened, and this failed within a few attempts with
    /// "database is locked" whatever the busy_timeout.
    #[test]
    fn connections_set_up_at_once_on_a_fresh_sqlite_file_do_not_fail() {
        const CONNECTIONS: usize = 6;
        for attempt in 0..40 {
            let dir = tempfile::tempdir().unwrap();
            let manager = DbManager {
                url: DatabaseUrl::Sqlite(dir.path().join("callcsv.db")),
            };
            // What `connect` does before the pool opens.
            let mut first = r2d2::ManageConnection::connect(&manager).unwrap();
            if let DbConnection::Sqlite(c) = &mut first {
                prepare_sqlite_file(c).unwrap();
            }
            drop(first);
            let barrier = std::sync::Barrier::new(CONNECTIONS);
            let failures: Vec<String> = std::thread::scope(|s| {
                let threads: Vec<_> = (0..CONNECTIONS)
                    .map(|_| {
                        s.spawn(|| {
                            let mut conn = r2d2::ManageConnection::connect(&manager).unwrap();
                            barrier.wait();
                            let pragmas = ConnectionSettings {
                                _pool_alive: Arc::new(()),
                            };
                            pragmas.on_acquire(&mut conn).err().map(|e| e.to_string())
                        })
                    })
                    .collect();
                threads
                    .into_iter()
                    .filter_map(|t| t.join().unwrap())
                    .collect()
            });
            assert!(failures.is_empty(), "attempt {attempt}: {failures:?}");
            let mut conn = r2d2::ManageConnection::connect(&manager).unwrap();
            #[derive(diesel::QueryableByName)]
            struct Mode {
                #[diesel(sql_type = diesel::sql_types::Text)]
                journal_mode: String,
            }
            use diesel::RunQueryDsl;
            let mode = diesel::sql_query("PRAGMA journal_mode")
                .get_result::<Mode>(&mut conn)
                .unwrap();
            assert_eq!(mode.journal_mode, "wal");
        }
    }
}
