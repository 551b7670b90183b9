//! The runner's spool worker: every `CALLCSV_SPOOL_POLL_SECONDS` it scans the spool
//! directory of each enabled source that has one (only with `CALLCSV_SPOOL_ROOT`), see
//! [`crate::sources::spool`]. A spool that cannot be read shows why on its source
//! (`lastError`) and is tried again at the next poll.

use std::path::Path;

use chrono::Duration;
use diesel::prelude::*;

use crate::db::cdr_sources::CdrSource;
use crate::db::cdr_spool_files;
use crate::db::schema::cdr_sources;
use crate::db::DbConnection;
use crate::error::{AppError, AppResult};
use crate::sources::cdr_sources::{file_pattern_matches, settings, spool_directory};
use crate::sources::import::{add_counts, Loaded};
use crate::sources::spool::{Scanned, Spool};

use super::Runner;

impl Runner {
    /// Scans every enabled spool source once; a source that fails is shown the error and
    /// the others go on. Returns what the scans imported, summed.
    pub fn scan_spools(&self) -> AppResult<Scanned> {
        let Some(root) = self.config.spool_root.clone() else {
            return Ok(Scanned::default());
        };
        let mut conn = self.pool.get()?;
        let mut total = Scanned::default();
        for id in cdr_spool_files::spool_source_ids(&mut conn)? {
            if self.stopping() {
                break;
            }
            match self.scan_spool(&mut conn, &root, &id) {
                Ok(scanned) => {
                    total.imports.extend(scanned.imports);
                    add_counts(&mut total.counts, &scanned.counts);
                    if !scanned.busy {
                        cdr_spool_files::set_last_error(&mut conn, &id, "spool", None)?;
                    }
                }
                Err(e) => {
                    tracing::warn!(source = %id, error = %e, "spool scan failed");
                    cdr_spool_files::set_last_error(&mut conn, &id, "spool", Some(&e.to_string()))?;
                }
            }
        }
        Ok(total)
    }

    fn scan_spool(&self, conn: &mut DbConnection, root: &Path, id: &str) -> AppResult<Scanned> {
        let source: CdrSource = cdr_sources::table
            .find(id)
            .select(CdrSource::as_select())
            .first(conn)?;
        let (Some(path), Some(pattern)) = (&source.spool_path, &source.spool_pattern) else {
            return Ok(Scanned::default());
        };
        // Checked again: the directory may have been replaced by a symlink out of the root.
        let directory = spool_directory(root, path)
            .map_err(|e| AppError::bad_request(format!("spool.path: {e}")))?;
        let settings = settings(conn, &source)?;
        let loaded = Loaded::load(conn, &self.plans, settings)?;
        let spool = Spool {
            loaded: &loaded,
            directory: directory.into(),
            pattern: pattern.clone(),
            owner: &self.owner,
            lease: Duration::seconds(self.config.report_lease_seconds),
        };
        spool.scan(conn, file_pattern_matches)
    }

    /// The spool worker of `serve`: a scan every poll interval until shutdown.
    pub(super) fn keep_scanning_spools(&self) {
        let interval = std::time::Duration::from_secs(self.config.spool_poll_seconds.max(1));
        while !self.stopping() {
            if let Err(e) = self.scan_spools() {
                tracing::error!(error = %e, "spool scan failed");
            }
            let started = std::time::Instant::now();
            while started.elapsed() < interval && !self.stopping() {
                std::thread::sleep(std::time::Duration::from_millis(200).min(interval));
            }
        }
    }
}
