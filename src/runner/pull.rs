//! The runner's pull worker: every [`POLL`] it pulls the enabled `webex-cdr` sources with a
//! `pull` whose interval has passed since their last pull (successful or not), see
//! [`crate::sources::pull`]. A pull that fails shows why on its source (`lastError`) and in
//! its window's `failed` import, and is tried again an interval later.

use chrono::Duration;
use diesel::prelude::*;

use crate::db::cdr_sources::{self as stored, CdrSource};
use crate::db::schema::cdr_sources;
use crate::db::{self, cdr_spool_files, DbConnection};
use crate::error::{AppError, AppResult};
use crate::sources::cdr_sources::{settings, DEFAULT_PULL_INTERVAL_MINUTES};
use crate::sources::import::{add_counts, Loaded};
use crate::sources::pull::{self, Pull, Pulled};

use super::Runner;

/// How often the worker looks for sources due.
const POLL: std::time::Duration = std::time::Duration::from_secs(30);

impl Runner {
    /// Pulls every source due once; a source that fails is shown the error and the others
    /// go on. Returns what the pulls did, summed.
    pub fn pull_sources(&self) -> AppResult<Pulled> {
        let mut conn = self.pool.get()?;
        let mut total = Pulled::default();
        for (id, minutes) in stored::pulling(&mut conn)? {
            if self.stopping() {
                break;
            }
            let interval =
                Duration::minutes(minutes.map_or(DEFAULT_PULL_INTERVAL_MINUTES, i64::from));
            if !pull::due(&mut conn, &id, interval, db::now())? {
                continue;
            }
            let shown = match self.pull_source(&mut conn, &id, interval) {
                Ok(pulled) => {
                    total.imports.extend(pulled.imports);
                    add_counts(&mut total.counts, &pulled.counts);
                    if pulled.busy {
                        continue;
                    }
                    if let Some(failure) = &pulled.failure {
                        tracing::warn!(source = %id, error = %failure, "pull failed");
                        total.failure = pulled.failure.clone();
                    }
                    pulled.failure
                }
                Err(e) => {
                    tracing::warn!(source = %id, error = %e, "pull failed");
                    Some(e.message)
                }
            };
            cdr_spool_files::set_last_error(&mut conn, &id, "pull", shown.as_deref())?;
        }
        Ok(total)
    }

    fn pull_source(
        &self,
        conn: &mut DbConnection,
        id: &str,
        interval: Duration,
    ) -> AppResult<Pulled> {
        let source: CdrSource = cdr_sources::table
            .find(id)
            .select(CdrSource::as_select())
            .first(conn)?;
        let (Some(url), Some(token)) = (&source.pull_url, &source.pull_token) else {
            return Ok(Pulled::default());
        };
        let url =
            url::Url::parse(url).map_err(|e| AppError::bad_request(format!("pull.url: {e}")))?;
        let settings = settings(conn, &source)?;
        let loaded = Loaded::load(conn, &self.plans, settings)?;
        let client = pull::client()?;
        // Its own lease name: a spool scan of the same source is another reader.
        let owner = format!("{}/pull", self.owner);
        let stopping = || self.stopping();
        Pull {
            loaded: &loaded,
            url,
            token,
            client: &client,
            owner: &owner,
            lease: Duration::seconds(self.config.report_lease_seconds),
            interval,
            stopping: &stopping,
        }
        .run(conn)
    }

    /// The pull worker of `serve`: sources due pulled every [`POLL`] until shutdown.
    pub(super) fn keep_pulling(&self) {
        while !self.stopping() {
            if let Err(e) = self.pull_sources() {
                tracing::error!(error = %e, "pull failed");
            }
            let started = std::time::Instant::now();
            while started.elapsed() < POLL && !self.stopping() {
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
        }
    }
}
