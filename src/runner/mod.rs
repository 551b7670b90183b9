//! The scheduler runner. Each pass: (1) record every due occurrence of every enabled
//! scheduler as a `pending` report row, advancing `next_execution` with a compare-and-set
//! in the same transaction — nothing due is ever lost or recorded twice; (2) claim pending
//! reports one at a time with a lease, stream the period's calls into a temporary file,
//! rename it into the report store and commit the report only if the lease is still ours;
//! (3) claim due emails and send them, recording the attempt before and the outcome after.
//! No transaction is open while a CSV is written or an SMTP server is talked to.

pub mod claims;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::{Duration, NaiveDateTime};
use chrono_tz::Tz;
use diesel::prelude::*;

use crate::config::Config;
use crate::db::billable_calls::Filter;
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

/// Most occurrences recorded per scheduler per pass (a tiny cron step after a long
/// downtime); the next pass continues where this one stopped.
const MAX_OCCURRENCES_PER_PASS: usize = 1000;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pass {
    pub recorded: usize,
    pub built: usize,
    pub emailed: usize,
    pub email_failures: usize,
}

pub struct Runner {
    pool: DbPool,
    config: Arc<Config>,
    mailer: Mailer,
    /// Identifies this runner's leases (one per process start).
    owner: String,
    stopping: Arc<AtomicBool>,
}

/// What a scheduler's reports are made for: its owner's names, timezone and language.
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
        })
    }

    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }

    fn lease(&self, now: NaiveDateTime) -> NaiveDateTime {
        now + Duration::seconds(self.config.report_lease_seconds)
    }

    /// One full pass: record what is due, build every pending report, send every due email.
    /// Blocking; stops early (between items) when the service is shutting down.
    pub fn run_once(&self) -> AppResult<Pass> {
        let mut pass = Pass {
            recorded: self.record_due()?,
            ..Default::default()
        };
        while !self.stopping() && self.build_next()? {
            pass.built += 1;
        }
        while !self.stopping() {
            match self.send_next()? {
                None => break,
                Some(true) => pass.emailed += 1,
                Some(false) => pass.email_failures += 1,
            }
        }
        Ok(pass)
    }

    // -------------------------------------------------------------------------------
    // (1) Recording due occurrences

    /// Step (1) alone: records every due occurrence as a pending report and advances the
    /// schedulers. Returns how many were recorded.
    pub fn record_due(&self) -> AppResult<usize> {
        let mut conn = self.pool.get()?;
        let mut recorded = 0;
        loop {
            let now = db::clock(&mut conn)?;
            let due = schedulers::due(&mut conn, now, 200)?;
            if due.is_empty() {
                return Ok(recorded);
            }
            let mut progressed = false;
            for sch in due {
                match self.record_scheduler(&mut conn, &sch, now) {
                    Ok(Some(n)) => {
                        recorded += n;
                        progressed = true;
                    }
                    Ok(None) => {} // someone else (or an edit) moved it first
                    Err(e) => {
                        tracing::error!(scheduler = %sch.id, error = %e, "could not record due occurrences");
                        let _ = schedulers::set_error(&mut conn, &sch.id, Some(&e.message));
                    }
                }
            }
            if !progressed {
                return Ok(recorded);
            }
        }
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
            MAX_OCCURRENCES_PER_PASS,
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
            claims::claim_build(&mut conn, &self.owner, now, self.lease(now))?
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
        let file_name = schedule::report_file_name(&owner_name, first, last);

        // Each attempt writes its own file, so a runner that lost its lease can never
        // overwrite the winner's.
        let token = &uuid::Uuid::new_v4().simple().to_string()[..12];
        let relative = PathBuf::from(&report.brand_id).join(format!("{}-{token}.csv", report.id));
        let final_path = self.config.reports_dir().join(&relative);
        let dir = final_path.parent().unwrap_or(&final_path).to_path_buf();
        std::fs::create_dir_all(&dir)
            .map_err(|e| AppError::internal(format!("{}: {e}", dir.display())))?;
        let temp_path = final_path.with_extension("csv.tmp");
        if report.build_attempts > 1 {
            remove_earlier_attempts(&dir, &report.id);
        }

        let filter = filter_for(&sch, &report);
        let mut crashed_mid = false;
        let written = report::write_csv(&self.pool, &filter, &format, &temp_path, |rows| {
            if !crashed_mid && rows > 0 {
                crashed_mid = true;
                fault::hit("mid_csv");
            }
            // Renew the lease between chunks; a lost lease stops the build.
            let mut conn = self.pool.get()?;
            let now = db::clock(&mut conn)?;
            claims::renew_build(&mut conn, id, &self.owner, self.lease(now))
        });
        let written = match written {
            Ok(w) => w,
            Err(e) => {
                let _ = std::fs::remove_file(&temp_path);
                return Err(e);
            }
        };
        std::fs::rename(&temp_path, &final_path)
            .map_err(|e| AppError::internal(format!("{}: {e}", final_path.display())))?;
        sync_dir(&dir);

        let mut conn = self.pool.get()?;
        let now = db::clock(&mut conn)?;
        let has_email = !report.sent_to.is_empty();
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
        fault::hit("after_report_commit");
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
            claims::claim_email(&mut conn, now, self.lease(now))?
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
            Some(sch) => mail::compose::choose_content(&mut conn, sch, &owner.language)?,
            None => None,
        };
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
            body: rendered.body,
            message_id: report.message_id.clone(),
            attachment,
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
        let recorded = db::transaction(&mut conn, |conn| {
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
                    // A retry to come leaves the scheduler's error as it is.
                    return Ok(n == 1);
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

/// Starts the runner loop on the current actix/tokio runtime when enabled
/// (`CALLCSV_RUNNER_INTERVAL` > 0). It runs a pass, sleeps the interval, and again, until
/// `stopping` is set; passes run on a blocking thread.
pub fn spawn(
    pool: DbPool,
    config: Arc<Config>,
    stopping: Arc<AtomicBool>,
) -> Result<Option<tokio::task::JoinHandle<()>>, String> {
    if config.runner_interval_seconds == 0 {
        return Ok(None);
    }
    let interval = std::time::Duration::from_secs(config.runner_interval_seconds);
    let runner = Arc::new(Runner::new(pool, config, stopping.clone())?);
    Ok(Some(tokio::spawn(async move {
        while !stopping.load(Ordering::Relaxed) {
            let r = runner.clone();
            match tokio::task::spawn_blocking(move || r.run_once()).await {
                Ok(Ok(pass)) if pass != Pass::default() => tracing::info!(?pass, "runner pass"),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "runner pass failed"),
                Err(e) => tracing::error!(error = %e, "runner pass panicked"),
            }
            // Sleep in short steps so shutdown is noticed promptly.
            let mut slept = std::time::Duration::ZERO;
            while slept < interval && !stopping.load(Ordering::Relaxed) {
                let step = std::time::Duration::from_millis(200).min(interval - slept);
                tokio::time::sleep(step).await;
                slept += step;
            }
        }
    })))
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_doubles_to_an_hour() {
        let waits: Vec<i64> = (1..=9).map(|a| super::backoff_seconds(30, a)).collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
    }
}
