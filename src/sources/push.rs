//! Push: a switch posts each call as it ends (FreeSWITCH `mod_json_cdr`, scripts). Every
//! push is read whole (they are small), resolved like any other arrival and stored in one
//! transaction with the counts of the source's import for the current hour, so an operator
//! sees one import per source and hour instead of one per call.
//!
//! Loading what records are resolved against (the brand's DDIs, codes and plans) costs
//! several queries; at thousands of pushes a second it is kept for [`FRESH_FOR`] per source
//! ([`Prepared`]), so a DDI or code added to the brand applies to pushes within that time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DurationRound, TimeDelta};

use crate::calls::rater::PlanCache;
use crate::db::cdr_imports::{self, Counts};
use crate::db::{self, DbConnection};
use crate::error::{AppError, AppResult};
use crate::sources::import::{add_counts, Batch, Loaded, Origin, BATCH};
use crate::sources::settings::SourceSettings;
use crate::sources::{self, ReadOptions};

/// How long a source's loaded directory serves pushes before it is loaded again.
pub const FRESH_FOR: Duration = Duration::from_secs(2);

/// Sources loaded for pushes, by id, with when they were loaded.
#[derive(Default)]
pub struct Prepared {
    loaded: Mutex<HashMap<String, (Instant, Arc<Loaded>)>>,
}

impl Prepared {
    /// The source `id` as last changed at `version`, loaded: from the cache when loaded
    /// less than [`FRESH_FOR`] ago at that version, else with `settings` (and cached).
    pub fn get(
        &self,
        conn: &mut DbConnection,
        cache: &PlanCache,
        id: &str,
        version: chrono::NaiveDateTime,
        settings: impl FnOnce(&mut DbConnection) -> AppResult<SourceSettings>,
    ) -> AppResult<Arc<Loaded>> {
        let key = format!("{id}@{version}");
        if let Some((at, loaded)) = self.loaded.lock().map_err(AppError::internal)?.get(&key) {
            if at.elapsed() < FRESH_FOR {
                return Ok(loaded.clone());
            }
        }
        let settings = settings(conn)?;
        let loaded = Arc::new(Loaded::load(conn, cache, settings)?);
        let mut map = self.loaded.lock().map_err(AppError::internal)?;
        map.retain(|_, (at, _)| at.elapsed() < FRESH_FOR);
        map.insert(key, (Instant::now(), loaded.clone()));
        Ok(loaded)
    }
}

/// What one push did, and the hourly import it was counted in.
#[derive(Debug)]
pub struct Pushed {
    pub import_id: String,
    pub counts: Counts,
    pub errors: Vec<serde_json::Value>,
}

/// Stores the records of one pushed body (in the source's format; FreeSWITCH's `cdr=`
/// form too) into the source's import of the current hour.
pub fn push(conn: &mut DbConnection, loaded: &Loaded, body: &[u8]) -> AppResult<Pushed> {
    let now = db::now();
    let hour = now
        .duration_trunc(TimeDelta::hours(1))
        .map_err(AppError::internal)?;
    let mut row = loaded.new_import(Origin::Push, None);
    row.push_hour = Some(hour);
    row.status = "done".into();
    row.started_at = hour;
    let import = cdr_imports::push_import(conn, &row, hour)?;

    let options = ReadOptions {
        growing: false,
        ..loaded.settings.read.clone()
    };
    let mut reader = sources::records(loaded.settings.format, body, &options)?;
    let mut batch = Batch::default();
    let mut counts = Counts::default();
    let mut errors = vec![];
    let mut first = true;
    loop {
        let item = reader.next().transpose().map_err(|e| {
            AppError::bad_request(format!("the body could not be read: {}", e.message))
        })?;
        let end = item.is_none();
        if let Some(outcome) = item {
            batch.take(loaded, outcome);
        }
        if end || batch.len() >= BATCH {
            errors.extend(batch.errors().iter().cloned());
            // The body's bytes are counted once, with its first batch.
            let bytes = if first { body.len() as i64 } else { 0 };
            first = false;
            let added = batch.store(conn, &import.id, bytes, |conn| {
                cdr_imports::touch_finished(conn, &import.id)
            })?;
            add_counts(&mut counts, &added);
        }
        if end {
            break;
        }
    }
    Ok(Pushed {
        import_id: import.id,
        counts,
        errors,
    })
}
