//! The scheduler runner. A building worker goes round: (1) record a bounded batch of due
//! occurrences as `pending` report rows, advancing `next_execution` with a compare-and-set
//! in the same transaction — nothing due is ever lost or recorded twice; (2) claim a bounded
//! number of pending reports, one at a time with a lease and in turns between brands (see
//! `claims`), stream each period's calls into a temporary file, rename it into the report
//! store and commit the report only if the lease is still ours. Delivery workers, apart
//! (3), claim due emails and send them, a bounded number at once, recording the attempt
//! before and the outcome after: a stalled mail server holds up mail, never building.
//! No transaction is open while a CSV is written or an SMTP server is talked to.
//! A spool worker (`spool`) scans the CDR sources' spool directories every
//! `CALLCSV_SPOOL_POLL_SECONDS`; a pull worker (`pull`) asks the Webex feeds of the sources
//! due.

mod alerts;
pub mod claims;
mod pull;
mod spool;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use chrono::{Duration, NaiveDateTime};
use chrono_tz::Tz;
use diesel::prelude::*;

use crate::config::Config;
use crate::db::billable_calls::{Filter, ANSWERED};
use crate::db::reports::{self, Report};
use crate::db::schedulers::{self, Scheduler};
use crate::db::schema::call_csv_reports as r;
use crate::db::{self, DbConnection, DbPool};
use crate::error::{AppError, AppResult};
use crate::fault;
use crate::ids::{BrandId, ClientId, Id, ReportId};
use crate::mail::{self, Mailer, SendError};
use crate::report::{self, Level, RowFormat};
use crate::schedule::{self, Recurrence, Unit};

/// Most schedulers, and most occurrences of one scheduler, recorded per round of the
/// building worker; the next round continues where this one stopped. However far behind a
/// scheduler is (a row from before the catch-up bound), a round stays short and is followed
/// by building.
const SCHEDULERS_PER_ROUND: i64 = 200;
const OCCURRENCES_PER_ROUND: usize = 100;
/// Most reports built per round, between two batches of recording.
const BUILDS_PER_ROUND: usize = 10;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pass {
    pub recorded: usize,
    pub built: usize,
    pub emailed: usize,
    pub email_failures: usize,
    /// Spool imports created (one per file with new records).
    pub spool_imports: usize,
    /// Pull imports created (one per window asked).
    pub pull_imports: usize,
    /// Alert events recorded by the spend and quality evaluation.
    pub alert_events: usize,
    /// Alert emails and webhooks sent, and attempts that did not send.
    pub alert_notifications: usize,
    pub alert_notification_failures: usize,
}

pub struct Runner {
    pool: DbPool,
    config: Arc<Config>,
    mailer: Mailer,
    /// Identifies this runner's leases (one per process start).
    owner: String,
    stopping: Arc<AtomicBool>,
    /// Whose turn it is to have a report built, or an email sent (see `claims`).
    build_turns: Mutex<claims::Turns>,
    mail_turns: Mutex<claims::Turns>,
    /// Rung when a built report has an email to send, so delivery starts at once.
    mail_bell: Bell,
    /// Rating plans of the spool imports.
    plans: crate::calls::rater::PlanCache,
}

/// A wake-up call between threads: `ring` wakes every `wait` that started before it.
#[derive(Default)]
struct Bell {
    rings: Mutex<u64>,
    cv: Condvar,
}

impl Bell {
    fn rings(&self) -> u64 {
        *self.rings.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn ring(&self) {
        *self.rings.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.cv.notify_all();
    }

    /// Waits until a ring after `seen`, at most `timeout`.
    fn wait(&self, seen: u64, timeout: std::time::Duration) {
        let guard = self.rings.lock().unwrap_or_else(|e| e.into_inner());
        let _ = self
            .cv
            .wait_timeout_while(guard, timeout, |rings| *rings == seen);
    }
}

/// What the workers did, summed across threads.
#[derive(Default)]
struct Tally {
    recorded: AtomicUsize,
    built: AtomicUsize,
    emailed: AtomicUsize,
    email_failures: AtomicUsize,
    spool_imports: AtomicUsize,
    pull_imports: AtomicUsize,
    alert_events: AtomicUsize,
    alert_notifications: AtomicUsize,
    alert_notification_failures: AtomicUsize,
}

impl Tally {
    fn pass(&self) -> Pass {
        Pass {
            recorded: self.recorded.load(Ordering::Relaxed),
            built: self.built.load(Ordering::Relaxed),
            emailed: self.emailed.load(Ordering::Relaxed),
            email_failures: self.email_failures.load(Ordering::Relaxed),
            spool_imports: self.spool_imports.load(Ordering::Relaxed),
            pull_imports: self.pull_imports.load(Ordering::Relaxed),
            alert_events: self.alert_events.load(Ordering::Relaxed),
            alert_notifications: self.alert_notifications.load(Ordering::Relaxed),
            alert_notification_failures: self.alert_notification_failures.load(Ordering::Relaxed),
        }
    }
}

/// What a scheduler's reports (or an alert rule's emails) are made for: its owner's names,
/// timezone and language.
struct Owner {
    brand_name: String,
    brand_email: Option<String>,
    client_name: Option<String>,
    timezone: Tz,
    language: String,
    show_billing_details: bool,
}

fn owner_of(conn: &mut DbConnection, brand_id: &str, client_id: Option<&str>) -> AppResult<Owner> {
    let brand = db::brands::find(conn, &BrandId::from_db(brand_id.to_string()))?
        .ok_or_else(|| AppError::internal(format!("brand {brand_id} missing")))?;
    let client = match client_id {
        Some(id) => db::clients::find(conn, &ClientId::from_db(id.to_string()))?,
        None => None,
    };
    let timezone_name = client
        .as_ref()
        .map(|c| c.timezone.clone())
        .unwrap_or(brand.timezone.clone());
    let timezone: Tz = timezone_name
        .parse()
        .map_err(|_| AppError::internal(format!("bad timezone {timezone_name}")))?;
    Ok(Owner {
        language: client
            .as_ref()
            .map(|c| c.language.clone())
            .unwrap_or(brand.language.clone()),
        show_billing_details: client.as_ref().is_none_or(|c| c.show_billing_details),
        client_name: client.map(|c| c.name),
        brand_name: brand.name,
        brand_email: brand.email,
        timezone,
    })
}

impl Owner {
    /// The owner with the timezone the report's period was computed in, when the report
    /// recorded one: a later change of the client's or brand's timezone does not shift an
    /// occurrence already recorded.
    fn in_timezone_of(mut self, report: &Report) -> Owner {
        if let Some(tz) = report.timezone.as_deref().and_then(|t| t.parse().ok()) {
            self.timezone = tz;
        }
        self
    }
}

/// The recurrence of a stored scheduler.
pub fn recurrence_of(sch: &Scheduler) -> Result<Recurrence, String> {
    let unit: Unit = sch.unit.parse()?;
    Recurrence::from_fields(unit, sch.frequency.max(1) as u32, sch.cron.as_deref())
}

/// The calls a scheduler's report covers for a period.
fn filter_for(sch: &Scheduler, report: &Report) -> Filter {
    Filter {
        brand: Some(sch.brand_id.clone()),
        client: sch.client_id.clone(),
        client_type: if sch.client_id.is_none() {
            sch.client_type.clone()
        } else {
            None
        },
        after: Some(report.in_date),
        strictly_before: Some(report.out_date),
        direction: sch.call_direction.clone(),
        carrier: sch.carrier_id.clone(),
        ddi_provider: sch.ddi_provider_id.clone(),
        ddi: sch.ddi_id.clone(),
        endpoint_type: sch.endpoint_type.clone(),
        endpoint_id: sch.endpoint_id.clone(),
        callid: None,
        source: None,
        // Unanswered calls (kept by sources with `answeredOnly: false`) are never reported.
        disposition: Some(ANSWERED.into()),
        destination_countries: report::summary::countries_of(sch),
        international: sch.international,
        ..Filter::default()
    }
}

impl Runner {
    pub fn new(
        pool: DbPool,
        config: Arc<Config>,
        stopping: Arc<AtomicBool>,
    ) -> Result<Runner, String> {
        let mailer = Mailer::from_config(&config)?;
        let owner = format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
        Ok(Runner {
            pool,
            config,
            mailer,
            owner,
            stopping,
            build_turns: Default::default(),
            mail_turns: Default::default(),
            mail_bell: Bell::default(),
            plans: Default::default(),
        })
    }

    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }

    fn lease(&self, now: NaiveDateTime) -> NaiveDateTime {
        now + Duration::seconds(self.config.report_lease_seconds)
    }

    /// Everything due, then exit (`run-due --once`, tests): the building worker goes round
    /// until a round finds nothing to record or build, while delivery workers send what is
    /// due, and stop once building is over and no email is due. Blocking; stops early
    /// (between items) when the service is shutting down.
    pub fn run_once(&self) -> AppResult<Pass> {
        let scanned = self.scan_spools()?;
        let pulled = self.pull_sources()?;
        let tally = Tally::default();
        tally
            .spool_imports
            .fetch_add(scanned.imports.len(), Ordering::Relaxed);
        tally
            .pull_imports
            .fetch_add(pulled.imports.len(), Ordering::Relaxed);
        tally
            .alert_events
            .fetch_add(self.evaluate_alerts()?, Ordering::Relaxed);
        let building = AtomicBool::new(true);
        std::thread::scope(|scope| {
            let senders: Vec<_> = (0..self.config.mail_concurrency)
                .map(|_| scope.spawn(|| self.deliver(Some(&building), &tally)))
                .collect();
            let built = loop {
                if self.stopping() {
                    break Ok(());
                }
                match self.build_round(&tally) {
                    Ok(0) => break Ok(()),
                    Ok(_) => {}
                    Err(e) => break Err(e),
                }
            };
            building.store(false, Ordering::SeqCst);
            self.mail_bell.ring();
            let mut outcome = built;
            for sender in senders {
                let sent = sender
                    .join()
                    .unwrap_or_else(|_| Err(AppError::internal("a delivery worker panicked")));
                outcome = outcome.and(sent);
            }
            outcome
        })?;
        Ok(tally.pass())
    }

    /// One round of the building worker: a bounded batch of recording, then up to
    /// [`BUILDS_PER_ROUND`] reports. Returns how many items it did (0: nothing to do).
    fn build_round(&self, tally: &Tally) -> AppResult<usize> {
        let recorded = self.record_batch()?;
        tally.recorded.fetch_add(recorded, Ordering::Relaxed);
        let mut built = 0;
        while built < BUILDS_PER_ROUND && !self.stopping() && self.build_next()? {
            built += 1;
        }
        tally.built.fetch_add(built, Ordering::Relaxed);
        Ok(recorded + built)
    }

    /// A delivery worker: claims and sends due emails one after the other; when none is due
    /// it waits for a built report's bell or the runner interval. With `building` (a single
    /// pass) it returns once building is over and no email is due.
    fn deliver(&self, building: Option<&AtomicBool>, tally: &Tally) -> AppResult<()> {
        let idle = match building {
            Some(_) => std::time::Duration::from_millis(200),
            None => std::time::Duration::from_secs(self.config.runner_interval_seconds.max(1)),
        };
        while !self.stopping() {
            let over = building.is_some_and(|b| !b.load(Ordering::SeqCst));
            let rings = self.mail_bell.rings();
            // Report emails first, then alert notifications.
            let sent = match self.send_next() {
                Ok(None) => self.notify_next().map(|n| {
                    n.map(|ok| {
                        (
                            &tally.alert_notifications,
                            &tally.alert_notification_failures,
                            ok,
                        )
                    })
                }),
                other => other.map(|n| n.map(|ok| (&tally.emailed, &tally.email_failures, ok))),
            };
            match sent {
                Ok(Some((done, failed, ok))) => {
                    if ok { done } else { failed }.fetch_add(1, Ordering::Relaxed);
                }
                Ok(None) if over => return Ok(()),
                Ok(None) => self.pause(rings, idle),
                Err(e) if building.is_some() => return Err(e),
                Err(e) => {
                    tracing::error!(error = %e, "email delivery failed");
                    self.pause(rings, idle);
                }
            }
        }
        Ok(())
    }

    /// Waits for the mail bell (a ring after `rings`) or `idle`, noticing shutdown promptly.
    fn pause(&self, rings: u64, idle: std::time::Duration) {
        let started = std::time::Instant::now();
        while !self.stopping() && self.mail_bell.rings() == rings && started.elapsed() < idle {
            let step = std::time::Duration::from_millis(200).min(idle - started.elapsed());
            self.mail_bell.wait(rings, step);
        }
    }

    /// Evaluates the spend and quality alert rules and records what fired; returns how
    /// many events were recorded.
    pub fn evaluate_alerts(&self) -> AppResult<usize> {
        let mut conn = self.pool.get()?;
        let grace = Duration::seconds(self.config.alert_grace_seconds);
        let recorded = crate::alerts::evaluate::run_pass(&mut conn, grace)?.recorded;
        if recorded > 0 {
            // Between recording events and notifying them.
            fault::hit("after_alert_record");
            self.mail_bell.ring();
        }
        Ok(recorded)
    }

    // -------------------------------------------------------------------------------
    // (1) Recording due occurrences

    /// Records every due occurrence as a pending report and advances the schedulers, batch
    /// after batch until nothing is due. Returns how many were recorded. For tests and
    /// tools: the workers record one bounded batch per round.
    pub fn record_due(&self) -> AppResult<usize> {
        let mut recorded = 0;
        loop {
            match self.record_batch()? {
                0 => return Ok(recorded),
                n => recorded += n,
            }
        }
    }

    /// One bounded batch: up to [`SCHEDULERS_PER_ROUND`] due schedulers, the longest
    /// waiting first, each with up to [`OCCURRENCES_PER_ROUND`] occurrences. Returns how
    /// many were recorded.
    fn record_batch(&self) -> AppResult<usize> {
        let mut conn = self.pool.get()?;
        let now = db::clock(&mut conn)?;
        let due = schedulers::due(&mut conn, now, SCHEDULERS_PER_ROUND)?;
        let mut recorded = 0;
        for sch in due {
            if self.stopping() {
                break;
            }
            match self.record_scheduler(&mut conn, &sch, now) {
                Ok(Some(n)) => recorded += n,
                Ok(None) => {} // someone else (or an edit) moved it first
                Err(e) => {
                    tracing::error!(scheduler = %sch.id, error = %e, "could not record due occurrences");
                    let _ = schedulers::set_error(&mut conn, &sch.id, Some(&e.message));
                }
            }
        }
        Ok(recorded)
    }

    /// Records the scheduler's due occurrences and advances it; `None` when its
    /// `next_execution` changed under us (nothing recorded, the other party wins).
    fn record_scheduler(
        &self,
        conn: &mut DbConnection,
        sch: &Scheduler,
        now: NaiveDateTime,
    ) -> AppResult<Option<usize>> {
        let seen = sch
            .next_execution
            .ok_or_else(|| AppError::internal("due scheduler without next_execution"))?;
        let owner = owner_of(conn, &sch.brand_id, sch.client_id.as_deref())?;
        let rec = recurrence_of(sch).map_err(AppError::internal)?;
        let dues = schedule::due_occurrences(
            &rec,
            owner.timezone,
            seen.and_utc(),
            now.and_utc(),
            OCCURRENCES_PER_ROUND,
        );
        let last = dues.last().copied().unwrap_or(seen.and_utc());
        let next = schedule::next_execution(&rec, owner.timezone, last).map(|t| t.naive_utc());
        let recipients = sch.recipients().join(",");
        let mut problems = vec![];
        let mut rows = vec![];
        for due in &dues {
            let Some(period) = schedule::period_for(&rec, owner.timezone, *due) else {
                problems.push(format!("no period for the run due at {due}"));
                continue;
            };
            let id = db::new_id();
            rows.push(Report {
                message_id: format!("<{id}@callcsv>"),
                id,
                scheduler_id: sch.id.clone(),
                brand_id: sch.brand_id.clone(),
                client_id: sch.client_id.clone(),
                level: sch.level.clone(),
                scheduler_name: sch.name.clone(),
                due_at: due.naive_utc(),
                in_date: period.in_date.naive_utc(),
                out_date: period.out_date.naive_utc(),
                status: "pending".into(),
                lease_owner: None,
                lease_until: None,
                build_attempts: 0,
                build_error: None,
                file_name: None,
                file_path: None,
                file_size: None,
                sha256: None,
                row_count: None,
                sent_to: recipients.clone(),
                email_status: "none".into(),
                email_attempts: 0,
                email_error: None,
                email_next_attempt: None,
                email_lease_until: None,
                email_possible_duplicate: false,
                email_handed_over: false,
                timezone: Some(owner.timezone.name().to_string()),
                sent_at: None,
                created_at: now,
                updated_at: now,
            });
        }
        let n = rows.len();
        let advanced = db::transaction(conn, |conn| {
            if !schedulers::advance(conn, &sch.id, seen, next)? {
                return Ok(false);
            }
            for row in &rows {
                reports::insert(conn, row)?;
            }
            if !problems.is_empty() {
                schedulers::set_error(conn, &sch.id, Some(&problems.join("; ")))?;
            }
            Ok(true)
        })?;
        if advanced {
            tracing::info!(scheduler = %sch.id, occurrences = n, "recorded due occurrences");
        }
        Ok(advanced.then_some(n))
    }

    // -------------------------------------------------------------------------------
    // (2) Building reports

    /// Claims and builds one report; false when none is waiting.
    fn build_next(&self) -> AppResult<bool> {
        let id = {
            let mut conn = self.pool.get()?;
            let now = db::clock(&mut conn)?;
            let mut turns = self.build_turns.lock().unwrap_or_else(|e| e.into_inner());
            claims::claim_build(&mut conn, &self.owner, now, self.lease(now), &mut turns)?
        };
        let Some(id) = id else { return Ok(false) };
        fault::hit("after_claim");
        if let Err(e) = self.build(&id) {
            // Lease lost: the other runner owns it now; anything else: retry later.
            if e.code != "conflict" {
                tracing::error!(report = %id, error = %e, "report build failed; will retry");
                self.release_after_failure(&id, &e.message)?;
            }
        }
        Ok(true)
    }

    fn build(&self, id: &str) -> AppResult<()> {
        let (report, sch, owner) = {
            let mut conn = self.pool.get()?;
            let report = reports::find(&mut conn, &ReportId::from_db(id.to_string()))?
                .ok_or_else(AppError::not_found)?;
            let sch = schedulers::find(&mut conn, &report.scheduler_id)?;
            let Some(sch) = sch.filter(|s| s.enabled) else {
                // The scheduler was deleted or disabled before this occurrence was built: a
                // disabled scheduler never runs, so nothing is reported. Files an earlier,
                // crashed attempt left behind go too.
                diesel::update(r::table.find(id))
                    .set(r::status.eq("cancelled"))
                    .execute(&mut conn)?;
                let dir = self.config.reports_dir().join(&report.brand_id);
                remove_earlier_attempts(&dir, &report.id);
                tracing::info!(report = %id, "occurrence cancelled: its scheduler was deleted or disabled");
                return Ok(());
            };
            let owner = owner_of(&mut conn, &sch.brand_id, sch.client_id.as_deref())?
                .in_timezone_of(&report);
            (report, sch, owner)
        };
        let level = Level::parse(&sch.level);
        let format = RowFormat {
            level,
            timezone: owner.timezone,
            show_price: level == Level::Brand || owner.show_billing_details,
        };
        let period = schedule::Period {
            in_date: report.in_date.and_utc(),
            out_date: report.out_date.and_utc(),
        };
        let (first, last) = schedule::covered_days(&period, owner.timezone);
        let owner_name = owner
            .client_name
            .clone()
            .unwrap_or(owner.brand_name.clone());
        let summary = sch.kind == crate::schedulers::KIND_SUMMARY;
        let mut file_name = schedule::report_file_name(&owner_name, first, last);
        if summary {
            file_name = format!("{}-summary.csv", file_name.trim_end_matches(".csv"));
        }

        // Each attempt writes its own file, so a runner that lost its lease can never
        // overwrite the winner's.
        let token = &uuid::Uuid::new_v4().simple().to_string()[..12];
        let relative = PathBuf::from(&report.brand_id).join(format!("{}-{token}.csv", report.id));
        let final_path = self.config.reports_dir().join(&relative);
        let dir = final_path.parent().unwrap_or(&final_path).to_path_buf();
        // Errors name files as the operator knows them: under the data dir.
        let shown = |p: &Path| Path::new("reports").join(p);
        std::fs::create_dir_all(&dir).map_err(|e| {
            AppError::io(
                "creating the report folder",
                &shown(Path::new(&report.brand_id)),
                &e,
            )
        })?;
        let temp_path = final_path.with_extension("csv.tmp");
        if report.build_attempts > 1 {
            remove_earlier_attempts(&dir, &report.id);
        }

        let filter = filter_for(&sch, &report);
        let mut crashed_mid = false;
        let shown_temp = shown(&relative.with_extension("csv.tmp"));
        let written = if summary {
            // One query over the period's sums: no chunks, so no lease to renew midway (the
            // commit below still requires the lease).
            self.pool
                .get()
                .map_err(AppError::from)
                .and_then(|mut conn| {
                    report::summary::summary_of(
                        &mut conn,
                        &sch,
                        report.in_date,
                        report.out_date,
                        owner.timezone,
                    )
                })
                .and_then(|answer| {
                    report::summary::write_summary(
                        &answer,
                        level == Level::Client,
                        &temp_path,
                        &shown_temp,
                    )
                })
        } else {
            report::write_csv(
                &self.pool,
                &filter,
                &format,
                &temp_path,
                &shown_temp,
                |rows| {
                    if !crashed_mid && rows > 0 {
                        crashed_mid = true;
                        fault::hit("mid_csv");
                    }
                    // Renew the lease between chunks; a lost lease stops the build.
                    let mut conn = self.pool.get()?;
                    let now = db::clock(&mut conn)?;
                    claims::renew_build(&mut conn, id, &self.owner, self.lease(now))
                },
            )
        };
        let has_email = !report.sent_to.is_empty();
        // The digest sums the same period and filters, right after the file is written.
        let written = written.and_then(|w| {
            if !(sch.digest && has_email) {
                return Ok((w, None));
            }
            let mut conn = self.pool.get()?;
            let figures = report::digest::figures_of(
                &mut conn,
                &sch,
                report.in_date,
                report.out_date,
                owner.timezone,
                (first, last),
            )?;
            Ok((w, Some(report::digest::render(&figures))))
        });
        let (written, digest) = match written {
            Ok(w) => w,
            Err(e) => {
                let _ = std::fs::remove_file(&temp_path);
                return Err(e);
            }
        };
        std::fs::rename(&temp_path, &final_path).map_err(|e| {
            let _ = std::fs::remove_file(&temp_path);
            AppError::io("storing the report file", &shown(&relative), &e)
        })?;
        sync_dir(&dir);

        let mut conn = self.pool.get()?;
        let now = db::clock(&mut conn)?;
        let committed = db::transaction(&mut conn, |conn| {
            let n = diesel::update(
                r::table
                    .filter(r::id.eq(id))
                    .filter(r::lease_owner.eq(&self.owner))
                    .filter(r::status.eq("building")),
            )
            .set((
                r::status.eq("ready"),
                r::lease_until.eq(None::<NaiveDateTime>),
                r::build_error.eq(None::<String>),
                r::file_name.eq(&file_name),
                r::file_path.eq(relative.to_string_lossy().to_string()),
                r::file_size.eq(written.bytes),
                r::sha256.eq(&written.sha256),
                r::row_count.eq(written.rows),
                r::email_status.eq(if has_email { "pending" } else { "none" }),
                r::email_next_attempt.eq(if has_email { Some(now) } else { None }),
                r::created_at.eq(now),
                r::updated_at.eq(now),
            ))
            .execute(conn)?;
            if n == 0 {
                return Ok(false);
            }
            if let Some(d) = &digest {
                reports::save_digest(conn, id, &d.text, &d.html)?;
            }
            schedulers::record_run(conn, &sch.id, now)?;
            if !has_email {
                schedulers::set_error(conn, &sch.id, None)?;
            }
            Ok(true)
        })?;
        if !committed {
            let _ = std::fs::remove_file(&final_path);
            return Err(AppError::conflict("lease lost before commit"));
        }
        tracing::info!(report = %id, rows = written.rows, bytes = written.bytes, "report built");
        // Right after the commit, before the mail workers are woken: a crash here must not
        // race a send of the report just committed (which would rightly be flagged).
        fault::hit("after_report_commit");
        if has_email {
            self.mail_bell.ring();
        }
        Ok(())
    }

    /// Puts a report whose build failed back in the queue after a pause, and shows the
    /// error on the scheduler.
    fn release_after_failure(&self, id: &str, message: &str) -> AppResult<()> {
        let mut conn = self.pool.get()?;
        let now = db::clock(&mut conn)?;
        let report = reports::find(&mut conn, &ReportId::from_db(id.to_string()))?
            .ok_or_else(AppError::not_found)?;
        let pause = Duration::seconds((30 * i64::from(report.build_attempts.max(1))).min(3600));
        let released = diesel::update(
            r::table
                .filter(r::id.eq(id))
                .filter(r::lease_owner.eq(&self.owner))
                .filter(r::status.eq("building")),
        )
        .set((
            r::status.eq("pending"),
            r::lease_until.eq(now + pause),
            r::build_error.eq(message),
            r::updated_at.eq(now),
        ))
        .execute(&mut conn)?;
        // A runner whose lease was taken over writes nothing, not even the error.
        if released == 1 {
            schedulers::set_error(&mut conn, &report.scheduler_id, Some(message))?;
        }
        Ok(())
    }

    // -------------------------------------------------------------------------------
    // (3) Sending emails

    /// Claims and sends one due email: `None` when none is due, else whether it was sent.
    fn send_next(&self) -> AppResult<Option<bool>> {
        let claimed = {
            let mut conn = self.pool.get()?;
            let now = db::clock(&mut conn)?;
            let mut turns = self.mail_turns.lock().unwrap_or_else(|e| e.into_inner());
            claims::claim_email(&mut conn, now, self.lease(now), &mut turns)?
        };
        let Some((id, attempt)) = claimed else {
            return Ok(None);
        };
        fault::hit("before_smtp");
        let result = match self.compose(&id) {
            Ok(message) => {
                // The last record before the server may accept the message: a runner that
                // dies after this is the one case whose resend gets flagged.
                let mut conn = self.pool.get()?;
                let now = db::clock(&mut conn)?;
                if !claims::hand_over(&mut conn, &id, attempt, self.lease(now))? {
                    tracing::warn!(report = %id, attempt, "email attempt taken over by another runner; not sent");
                    return Ok(Some(false));
                }
                drop(conn);
                self.send_holding_lease(&id, attempt, &message)
            }
            Err(e) => Err(SendError::Temporary(format!(
                "preparing the message: {}",
                e.message
            ))),
        };
        if result.is_ok() {
            fault::hit("after_smtp");
        }
        self.record_send(&id, attempt, result)
    }

    /// Sends while a second thread keeps renewing the email lease (every third of it), so a
    /// slow server never makes the attempt look abandoned to other runners.
    fn send_holding_lease(
        &self,
        id: &str,
        attempt: i32,
        message: &mail::Outgoing,
    ) -> Result<(), SendError> {
        let done = AtomicBool::new(false);
        let every =
            std::time::Duration::from_secs((self.config.report_lease_seconds / 3).max(1) as u64);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let mut renewed = std::time::Instant::now();
                while !done.load(Ordering::Relaxed) {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                    if renewed.elapsed() < every || done.load(Ordering::Relaxed) {
                        continue;
                    }
                    renewed = std::time::Instant::now();
                    let renewal = self.pool.get().map_err(AppError::from).and_then(|mut conn| {
                        let now = db::clock(&mut conn)?;
                        claims::hand_over(&mut conn, id, attempt, self.lease(now))
                    });
                    match renewal {
                        Ok(true) => {}
                        Ok(false) => tracing::warn!(report = %id, attempt, "email lease lost during the SMTP conversation"),
                        Err(e) => tracing::warn!(report = %id, attempt, error = %e, "could not renew the email lease"),
                    }
                }
            });
            let result = self.mailer.send(message);
            done.store(true, Ordering::Relaxed);
            result
        })
    }

    fn compose(&self, id: &str) -> AppResult<mail::Outgoing> {
        let mut conn = self.pool.get()?;
        let report = reports::find(&mut conn, &ReportId::from_db(id.to_string()))?
            .ok_or_else(AppError::not_found)?;
        let owner = owner_of(&mut conn, &report.brand_id, report.client_id.as_deref())?
            .in_timezone_of(&report);
        let sch = schedulers::find(&mut conn, &report.scheduler_id)?;
        let content = match &sch {
            Some(sch) => mail::compose::choose_content(
                &mut conn,
                sch.notification_template_id.as_deref(),
                &sch.brand_id,
                mail::compose::CALL_CSV,
                &owner.language,
            )?,
            None => None,
        };
        let digest = reports::digest_of(&mut conn, id)?;
        drop(conn);
        let period = schedule::Period {
            in_date: report.in_date.and_utc(),
            out_date: report.out_date.and_utc(),
        };
        let (date_in, date_out) = schedule::covered_days(&period, owner.timezone);
        let ctx = mail::compose::ReportContext {
            company: owner.client_name.clone().unwrap_or_default(),
            brand: owner.brand_name.clone(),
            scheduler: report.scheduler_name.clone(),
            date_in,
            date_out,
            rows: report.row_count.unwrap_or(0),
        };
        let rendered = mail::compose::render(content.as_ref(), &ctx);
        let path = self
            .config
            .reports_dir()
            .join(report.file_path.clone().unwrap_or_default());
        let file_name = report
            .file_name
            .clone()
            .unwrap_or_else(|| "report.csv".into());
        let attachment =
            mail::compose::attachment_for(&path, &file_name, self.config.mail_gzip_above_bytes)
                .map_err(|e| AppError::internal(format!("{}: {e}", path.display())))?;
        Ok(mail::Outgoing {
            from: mail::compose::sender(
                rendered.from,
                owner.brand_email.as_deref(),
                &self.config.mail_from,
            ),
            to: report.sent_to.split(',').map(str::to_string).collect(),
            subject: rendered.subject,
            // A digest follows the template's text, and comes as HTML too.
            html: digest
                .as_ref()
                .map(|(_, html)| report::digest::html_email(&rendered.body, html)),
            body: match &digest {
                Some((text, _)) => format!("{}\n\n{text}", rendered.body),
                None => rendered.body,
            },
            message_id: report.message_id.clone(),
            attachment: Some(attachment),
        })
    }

    /// Records a send's outcome on the report (and the scheduler's error), unless the
    /// attempt is no longer ours.
    fn record_send(
        &self,
        id: &str,
        attempt: i32,
        result: Result<(), SendError>,
    ) -> AppResult<Option<bool>> {
        let mut conn = self.pool.get()?;
        let now = db::clock(&mut conn)?;
        let report = reports::find(&mut conn, &ReportId::from_db(id.to_string()))?
            .ok_or_else(AppError::not_found)?;
        let mine = r::table
            .filter(r::id.eq(id))
            .filter(r::email_attempts.eq(attempt))
            .filter(r::email_status.eq("sending"));
        let deadline = report.created_at + Duration::seconds(self.config.mail_retry_seconds);
        let unknown_limit = self.config.mail_unknown_outcome_limit;
        let recorded = db::transaction(&mut conn, |conn| {
            let unknown = match &result {
                Err(e) if e.may_have_been_delivered() => {
                    match claims::count_unknown_outcome(conn, id, attempt)? {
                        Some(n) => n,
                        None => return Ok(false), // not our attempt any more
                    }
                }
                _ => 0,
            };
            let (n, scheduler_error) = match &result {
                Ok(()) => {
                    let n = diesel::update(mine)
                        .set((
                            r::email_status.eq("sent"),
                            r::sent_at.eq(now),
                            r::email_error.eq(None::<String>),
                            r::email_lease_until.eq(None::<NaiveDateTime>),
                            r::updated_at.eq(now),
                        ))
                        .execute(conn)?;
                    (n, None)
                }
                Err(e) if e.may_have_been_delivered() && unknown >= unknown_limit => {
                    // Each resend after an unknown outcome may be one more copy in the
                    // recipient's mailbox: after a few, stop and say so.
                    let message = format!(
                        "outcome unknown: the connection was lost after the message was handed                          to the server, {unknown} times; not resent again, as each resend may                          deliver another copy (last: {})",
                        e.message()
                    );
                    let n = diesel::update(mine)
                        .set((
                            r::email_status.eq("failed"),
                            r::email_error.eq(&message),
                            r::email_lease_until.eq(None::<NaiveDateTime>),
                            r::updated_at.eq(now),
                        ))
                        .execute(conn)?;
                    (n, Some(format!("email: {message}")))
                }
                Err(e) if !e.is_permanent() && now < deadline => {
                    let wait = Duration::seconds(backoff_seconds(
                        self.config.mail_backoff_seconds,
                        attempt,
                    ));
                    // A send that may have been delivered keeps its hand-over mark, so the
                    // retry is flagged as a possible duplicate when it is claimed.
                    let n = diesel::update(mine)
                        .set((
                            r::email_status.eq("pending"),
                            r::email_error.eq(e.message()),
                            r::email_next_attempt.eq(now + wait),
                            r::email_lease_until.eq(None::<NaiveDateTime>),
                            r::email_handed_over.eq(e.may_have_been_delivered()),
                            r::updated_at.eq(now),
                        ))
                        .execute(conn)?;
                    // The scheduler says delivery is failing until it succeeds or gives up.
                    let retry_at = (now + wait).and_utc().format("%Y-%m-%dT%H:%M:%SZ");
                    (
                        n,
                        Some(format!(
                            "email not delivered yet (attempt {attempt}; retrying at {retry_at}): {}",
                            e.message()
                        )),
                    )
                }
                Err(e) => {
                    let n = diesel::update(mine)
                        .set((
                            r::email_status.eq("failed"),
                            r::email_error.eq(e.message()),
                            r::email_lease_until.eq(None::<NaiveDateTime>),
                            r::updated_at.eq(now),
                        ))
                        .execute(conn)?;
                    (n, Some(format!("email: {}", e.message())))
                }
            };
            // Only the attempt's owner touches the scheduler's error.
            if n == 1 {
                schedulers::set_error(conn, &report.scheduler_id, scheduler_error.as_deref())?;
            }
            Ok(n == 1)
        })?;
        if !recorded {
            tracing::warn!(report = %id, attempt, "email attempt was taken over by another runner; its outcome is not recorded");
            return Ok(Some(false));
        }
        match &result {
            Ok(()) => tracing::info!(report = %id, attempt, "report emailed"),
            Err(e) => tracing::warn!(report = %id, attempt, error = %e, "email not sent"),
        }
        Ok(Some(result.is_ok()))
    }
}

/// Seconds to wait before retrying a temporary failure: `base` doubling per attempt, at
/// most an hour.
pub fn backoff_seconds(base: i64, attempt: i32) -> i64 {
    let doublings = attempt.clamp(1, 12) - 1;
    (base << doublings).min(3600)
}

/// Removes what earlier attempts at a report left in its folder: a crash while writing
/// leaves `<id>-<token>.csv.tmp`, one between the rename and the commit an orphaned
/// `<id>-<token>.csv`. Until the report is committed no file of it is referenced, and while
/// the caller holds the lease no other attempt can commit (a slower former owner's rename
/// or commit then fails, and it writes nothing). Only called on retries, so a first build
/// never lists the folder.
fn remove_earlier_attempts(dir: &std::path::Path, report_id: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let prefix = format!("{report_id}-");
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(&prefix) && (name.ends_with(".csv") || name.ends_with(".csv.tmp")) {
            tracing::warn!(report = %report_id, file = %name, "removing a file left by an earlier attempt");
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Makes a rename durable (best effort: not every filesystem supports syncing a folder).
fn sync_dir(dir: &std::path::Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Starts the runner on the current actix/tokio runtime when enabled
/// (`CALLCSV_RUNNER_INTERVAL` > 0): a building worker that goes round while there is work
/// and sleeps the interval when a round found none, and `CALLCSV_MAIL_CONCURRENCY` delivery
/// workers, each on a blocking thread, until `stopping` is set.
pub fn spawn(
    pool: DbPool,
    config: Arc<Config>,
    stopping: Arc<AtomicBool>,
) -> Result<Option<tokio::task::JoinHandle<()>>, String> {
    if config.runner_interval_seconds == 0 {
        return Ok(None);
    }
    let interval = std::time::Duration::from_secs(config.runner_interval_seconds);
    let runner = Arc::new(Runner::new(pool, config.clone(), stopping.clone())?);
    let mut workers = vec![];
    let r = runner.clone();
    workers.push(tokio::task::spawn_blocking(move || {
        r.keep_building(interval)
    }));
    if config.spool_root.is_some() {
        let r = runner.clone();
        workers.push(tokio::task::spawn_blocking(move || {
            r.keep_scanning_spools()
        }));
    }
    let r = runner.clone();
    workers.push(tokio::task::spawn_blocking(move || r.keep_pulling()));
    for _ in 0..config.mail_concurrency {
        let r = runner.clone();
        workers.push(tokio::task::spawn_blocking(move || {
            let _ = r.deliver(None, &Tally::default());
        }));
    }
    Ok(Some(tokio::spawn(async move {
        for worker in workers {
            if let Err(e) = worker.await {
                tracing::error!(error = %e, "runner worker panicked");
            }
        }
    })))
}

impl Runner {
    /// The building worker of `serve`: rounds back to back while they find work, the
    /// interval's sleep after one that found none (or failed).
    fn keep_building(&self, interval: std::time::Duration) {
        let mut evaluated: Option<std::time::Instant> = None;
        while !self.stopping() {
            if evaluated.is_none_or(|t| t.elapsed() >= interval) {
                if let Err(e) = self.evaluate_alerts() {
                    tracing::error!(error = %e, "alert evaluation failed");
                }
                evaluated = Some(std::time::Instant::now());
            }
            let tally = Tally::default();
            match self.build_round(&tally) {
                Ok(0) => {}
                Ok(_) => {
                    tracing::debug!(pass = ?tally.pass(), "runner round");
                    continue;
                }
                Err(e) => tracing::error!(error = %e, "runner round failed"),
            }
            let started = std::time::Instant::now();
            while started.elapsed() < interval && !self.stopping() {
                std::thread::sleep(std::time::Duration::from_millis(200).min(interval));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_doubles_to_an_hour() {
        let waits: Vec<i64> = (1..=9).map(|a| super::backoff_seconds(30, a)).collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
    }
}
