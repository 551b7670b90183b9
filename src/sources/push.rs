//! Push: a switch posts each call as it ends (FreeSWITCH `mod_json_cdr`, scripts). Every
//! push is read whole (they are small), resolved like any other arrival and stored with the
//! counts of the source's import for the current hour, so an operator sees one import per
//! source and hour instead of one per call; pushes arriving together share one transaction
//! (see "Pushes stored together" below).
//!
//! Loading what records are resolved against (the brand's DDIs, codes and plans) costs
//! several queries; at thousands of pushes a second it is kept for [`FRESH_FOR`] per source
//! ([`Prepared`]), so a DDI or code added to the brand applies to pushes within that time.
//! The source's push secret (its hash) and the id of its import of the current hour are
//! kept with it, so a push whose source is cached costs no query before its calls are
//! stored: one trip to the database per group of pushes. A change to a source through this
//! instance (edit, new secret, deletion) drops what is kept at once; one made through another
//! instance applies here within [`FRESH_FOR`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use chrono::{DurationRound, NaiveDateTime, TimeDelta};

use crate::calls::rater::PlanCache;
use crate::config::DatabaseUrl;
use crate::db::cdr_imports::{self, Counts};
use crate::db::cdr_sources::CdrSource;
use crate::db::{self, DbConnection, DbPool};
use crate::error::{AppError, AppResult};
use crate::sources::cdr_sources::{same_hash, secret_hash};
use crate::sources::import::{add_counts, store_together, Batch, Loaded, Origin, Part, BATCH};
use crate::sources::settings::SourceSettings;
use crate::sources::{self, ReadOptions};

/// How long a source's loaded directory serves pushes before it is loaded again.
pub const FRESH_FOR: Duration = Duration::from_secs(2);

/// Bumped by every change to a source made in this process: what was kept before it is
/// loaded again.
static SOURCES_CHANGED: AtomicU64 = AtomicU64::new(0);

/// Called by the operations that change, rotate the secret of, or delete a source.
pub fn source_changed() {
    SOURCES_CHANGED.fetch_add(1, Ordering::SeqCst);
}

/// A source as kept for pushes.
struct Kept {
    at: Instant,
    /// [`SOURCES_CHANGED`] when it was loaded.
    generation: u64,
    /// The source's `updated_at` when it was loaded.
    version: NaiveDateTime,
    secret_hash: String,
    loaded: Arc<Loaded>,
}

impl Kept {
    fn fresh(&self) -> bool {
        self.at.elapsed() < FRESH_FOR && self.generation == SOURCES_CHANGED.load(Ordering::SeqCst)
    }
}

/// Sources loaded for pushes, by id; the import of the hour of each; and the pushes waiting
/// to be stored.
#[derive(Default)]
pub struct Prepared {
    loaded: Mutex<HashMap<String, Kept>>,
    /// Source id → (hour, id of the source's import of that hour).
    hours: Mutex<HashMap<String, (NaiveDateTime, String)>>,
    /// Pushes waiting to be stored together.
    together: Together,
}

impl Prepared {
    /// For a service on `database`: on PostgreSQL two groups of pushes may be stored at
    /// once (one prepares while the other waits for its commit to reach the disk); SQLite
    /// has one writer at a time anyway.
    pub fn new(database: &DatabaseUrl) -> Prepared {
        let mut prepared = Prepared::default();
        prepared.together.at_once = match database {
            DatabaseUrl::Postgres(_) => 2,
            DatabaseUrl::Sqlite(_) => 1,
        };
        prepared
    }

    /// The source `id` loaded, without asking the database: when it was loaded less than
    /// [`FRESH_FOR`] ago, nothing changed it here since, and `secret` is its push secret.
    /// `None` sends the push the long way ([`crate::sources::arrivals::for_push`]), which
    /// also answers a wrong secret.
    pub fn cached(&self, id: &str, secret: Option<&str>) -> Option<Arc<Loaded>> {
        let given = secret_hash(secret.filter(|s| !s.is_empty())?);
        let kept = self.loaded.lock().ok()?;
        let kept = kept.get(id).filter(|k| k.fresh())?;
        same_hash(&kept.secret_hash, &given).then(|| kept.loaded.clone())
    }

    /// `source` (its secret already checked, enabled) loaded: from what is kept when it was
    /// loaded at this version less than [`FRESH_FOR`] ago, else with `settings` (and kept).
    pub fn get(
        &self,
        conn: &mut DbConnection,
        cache: &PlanCache,
        source: &CdrSource,
        settings: impl FnOnce(&mut DbConnection) -> AppResult<SourceSettings>,
    ) -> AppResult<Arc<Loaded>> {
        let generation = SOURCES_CHANGED.load(Ordering::SeqCst);
        if let Some(kept) = self
            .loaded
            .lock()
            .map_err(AppError::internal)?
            .get_mut(&source.id)
        {
            if kept.fresh() && kept.version == source.updated_at {
                // The secret may be a new one with the same version (rotated elsewhere).
                kept.secret_hash = source.push_secret_hash.clone();
                return Ok(kept.loaded.clone());
            }
        }
        let settings = settings(conn)?;
        let loaded = Arc::new(Loaded::load(conn, cache, settings)?);
        let mut map = self.loaded.lock().map_err(AppError::internal)?;
        map.retain(|_, kept| kept.fresh());
        map.insert(
            source.id.clone(),
            Kept {
                at: Instant::now(),
                generation,
                version: source.updated_at,
                secret_hash: source.push_secret_hash.clone(),
                loaded: loaded.clone(),
            },
        );
        Ok(loaded)
    }

    /// The id of `loaded`'s import of `hour` (opened when it is the hour's first push):
    /// kept per source, so only the first push of each hour asks the database.
    fn import_of_hour(
        &self,
        pool: &DbPool,
        loaded: &Loaded,
        hour: NaiveDateTime,
    ) -> AppResult<String> {
        let source = &loaded.settings.id;
        if let Some((at, id)) = self.hours.lock().map_err(AppError::internal)?.get(source) {
            if *at == hour {
                return Ok(id.clone());
            }
        }
        let mut row = loaded.new_import(Origin::Push, None);
        row.push_hour = Some(hour);
        row.status = "done".into();
        row.started_at = hour;
        let mut conn = pool.get()?;
        let import = cdr_imports::push_import(&mut conn, &row, hour)?;
        self.hours
            .lock()
            .map_err(AppError::internal)?
            .insert(source.clone(), (hour, import.id.clone()));
        Ok(import.id)
    }
}

/// What one push did, and the hourly import it was counted in.
#[derive(Debug)]
pub struct Pushed {
    pub import_id: String,
    pub counts: Counts,
    pub errors: Vec<serde_json::Value>,
}

/// A pushed body read and resolved, ready to be stored ([`Prepared::store`]).
pub struct Resolved {
    import_id: String,
    /// Batches of at most [`BATCH`] records; a push of one call makes one small batch.
    batches: Vec<Batch>,
    bytes: i64,
}

/// Reads and resolves the records of one pushed body (in the source's format; FreeSWITCH's
/// `cdr=` form too), and finds (or opens) the source's import of the current hour. Nothing
/// is stored yet; a body that cannot be read is a 400 and stores nothing.
pub fn resolve(
    pool: &DbPool,
    prepared: &Prepared,
    loaded: &Loaded,
    body: &[u8],
) -> AppResult<Resolved> {
    let options = ReadOptions {
        growing: false,
        ..loaded.settings.read.clone()
    };
    let mut reader = sources::records(loaded.settings.format, body, &options)?;
    let mut batches = vec![Batch::default()];
    while let Some(item) = reader
        .next()
        .transpose()
        .map_err(|e| AppError::bad_request(format!("the body could not be read: {}", e.message)))?
    {
        if batches.last().is_some_and(|b| b.len() >= BATCH) {
            batches.push(Batch::default());
        }
        if let Some(batch) = batches.last_mut() {
            batch.take(loaded, item);
        }
    }
    let hour = db::now()
        .duration_trunc(TimeDelta::hours(1))
        .map_err(AppError::internal)?;
    Ok(Resolved {
        import_id: prepared.import_of_hour(pool, loaded, hour)?,
        batches,
        bytes: body.len() as i64,
    })
}

/// Stores a push's batches in transactions of their own, the body's bytes counted with
/// the first.
fn store_alone(conn: &mut DbConnection, resolved: Resolved) -> AppResult<Pushed> {
    let Resolved {
        import_id,
        batches,
        mut bytes,
    } = resolved;
    let mut counts = Counts::default();
    let mut errors = vec![];
    for mut batch in batches {
        errors.extend(batch.errors().iter().cloned());
        let added = batch.store(conn, &import_id, std::mem::take(&mut bytes), |conn| {
            cdr_imports::touch_finished(conn, &import_id)
        })?;
        add_counts(&mut counts, &added);
    }
    Ok(Pushed {
        import_id,
        counts,
        errors,
    })
}

// ---------------------------------------------------------------------------------------
// Pushes stored together
//
// A push is usually one call. Stored alone, each is a transaction of its own that updates
// the same row (the source's import of the hour): on PostgreSQL every push then waits for
// the previous one's commit to reach the disk, which caps a source at a few hundred pushes
// a second. So pushes that arrive together share a transaction ("group commit"): each push
// queues its batch; whoever finds no transaction under way takes everything queued, stores
// it in one transaction, hands each push its own counts, and lets the next waiting push take
// its turn. A push waits for at most the transaction under way and its own; it holds no
// database connection while it waits.

/// Pushes stored together in one transaction at most (a group is also at most the calls of
/// [`BATCH`]).
const GROUP: usize = 256;

/// The pushes waiting to be stored, and the outcome of those stored.
#[derive(Default)]
struct Queue {
    next_ticket: u64,
    waiting: Vec<(u64, Part)>,
    done: HashMap<u64, AppResult<Counts>>,
    /// Groups being stored now.
    storing: usize,
}

/// Pushes waiting for their group's transaction.
#[derive(Default)]
struct Together {
    queue: Mutex<Queue>,
    turn: Condvar,
    /// Groups stored at once at most (0 is taken as 1).
    at_once: usize,
}

impl Together {
    /// Queues `part`, and stores it with whatever else is queued when its turn comes.
    fn store(&self, pool: &DbPool, part: Part) -> AppResult<Counts> {
        let mut queue = self.queue.lock().map_err(AppError::internal)?;
        let ticket = queue.next_ticket;
        queue.next_ticket += 1;
        queue.waiting.push((ticket, part));
        loop {
            if let Some(outcome) = queue.done.remove(&ticket) {
                return outcome;
            }
            if queue.storing < self.at_once.max(1) && !queue.waiting.is_empty() {
                queue.storing += 1;
                let group = take_group(&mut queue.waiting);
                drop(queue);
                let outcomes = store_group(pool, group);
                queue = self.queue.lock().map_err(AppError::internal)?;
                queue.storing -= 1;
                queue.done.extend(outcomes);
                self.turn.notify_all();
                continue;
            }
            queue = self.turn.wait(queue).map_err(AppError::internal)?;
        }
    }
}

/// The first pushes of the queue, up to [`GROUP`] of them and [`BATCH`] calls.
fn take_group(waiting: &mut Vec<(u64, Part)>) -> Vec<(u64, Part)> {
    let (mut count, mut calls) = (0, 0);
    for (_, part) in waiting.iter() {
        if count > 0 && (count == GROUP || calls + part.batch.len() > BATCH) {
            break;
        }
        count += 1;
        calls += part.batch.len();
    }
    waiting.drain(..count).collect()
}

/// Stores a group in one transaction; every push of it gets its counts, or the error.
fn store_group(pool: &DbPool, group: Vec<(u64, Part)>) -> Vec<(u64, AppResult<Counts>)> {
    let (tickets, parts): (Vec<u64>, Vec<Part>) = group.into_iter().unzip();
    let mut imports: Vec<String> = parts.iter().map(|p| p.import_id.clone()).collect();
    imports.sort();
    imports.dedup();
    let stored = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut conn = pool.get()?;
        store_together(&mut conn, parts, |conn| {
            imports
                .iter()
                .try_for_each(|id| cdr_imports::touch_finished(conn, id))
        })
    }))
    .unwrap_or_else(|_| Err(AppError::internal("storing pushed calls panicked")));
    match stored {
        Ok(counts) => tickets
            .into_iter()
            .zip(counts.into_iter().map(Ok))
            .collect(),
        Err(e) => tickets.into_iter().map(|t| (t, Err(e.clone()))).collect(),
    }
}

impl Prepared {
    /// Stores a resolved push: a push of one batch in a transaction shared with the pushes
    /// arriving meanwhile, a larger one in transactions of its own. Blocking.
    pub fn store(&self, pool: &DbPool, resolved: Resolved) -> AppResult<Pushed> {
        if resolved.batches.len() > 1 {
            let mut conn = pool.get()?;
            return store_alone(&mut conn, resolved);
        }
        let Resolved {
            import_id,
            batches,
            bytes,
        } = resolved;
        let batch = batches.into_iter().next().unwrap_or_default();
        let errors = batch.errors().to_vec();
        let part = Part {
            import_id: import_id.clone(),
            batch,
            bytes,
        };
        let counts = self.together.store(pool, part)?;
        Ok(Pushed {
            import_id,
            counts,
            errors,
        })
    }
}
