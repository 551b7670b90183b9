//! Issue 13, fair and bounded: a scheduler may not ask for an unbounded catch-up or a
//! report every few seconds, and a row that already does (made before the rule) stays
//! editable and does not hold up anyone else; one brand's backlog does not delay another's
//! report; a stalled mail server delays mail only; resends of unknown outcome stop; a build
//! that cannot write its file says why.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::backend_cases;
use crate::common::{id, Backend, Tenants, TestApp};
use crate::smtp::SmtpServer;

backend_cases!(
    scheduler_bounds_refused_with_the_field_and_count,
    a_flooding_row_from_before_the_bounds_does_not_hold_up_others,
    brands_and_schedulers_take_turns_behind_a_long_catch_up,
    a_stalled_mail_server_does_not_hold_up_building,
    unknown_outcome_resends_stop_after_the_limit,
    a_build_that_cannot_write_says_why,
);

fn rfc(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Report statuses per scheduler, read from the database (the API lists built ones only).
async fn statuses(app: &TestApp) -> HashMap<(String, String), usize> {
    let pool = app.pool();
    tokio::task::spawn_blocking(move || {
        use callcsv::db::schema::call_csv_reports as r;
        use diesel::prelude::*;
        let mut conn = pool.get().unwrap();
        let rows: Vec<(String, String)> = r::table
            .select((r::scheduler_id, r::status))
            .load(&mut conn)
            .unwrap();
        let mut counts = HashMap::new();
        for row in rows {
            *counts.entry(row).or_insert(0) += 1;
        }
        counts
    })
    .await
    .unwrap()
}

fn count(counts: &HashMap<(String, String), usize>, sid: &str, status: &str) -> usize {
    counts
        .get(&(sid.to_string(), status.to_string()))
        .copied()
        .unwrap_or(0)
}

/// Polls until every scheduler in `sids` has a ready report, or panics after `limit`;
/// returns the statuses seen at that moment.
async fn until_ready(
    app: &TestApp,
    sids: &[&str],
    limit: Duration,
) -> HashMap<(String, String), usize> {
    let started = Instant::now();
    loop {
        let counts = statuses(app).await;
        if sids.iter().all(|s| count(&counts, s, "ready") > 0) {
            return counts;
        }
        assert!(
            started.elapsed() < limit,
            "not all of {sids:?} built within {limit:?}: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

const PATH: &str = "/call_csv_schedulers";

/// Sets a scheduler's cron and nextExecution straight in the database, as a row made before
/// the bounds existed would be.
pub async fn force_schedule(app: &TestApp, sid: &str, cron: &str, next: &str) {
    let pool = app.pool();
    let (sid, cron) = (sid.to_string(), cron.to_string());
    let next = chrono::DateTime::parse_from_rfc3339(next)
        .unwrap()
        .naive_utc();
    tokio::task::spawn_blocking(move || {
        use callcsv::db::schema::call_csv_schedulers as s;
        use diesel::prelude::*;
        let mut conn = pool.get().unwrap();
        diesel::update(s::table.find(&sid))
            .set((s::cron.eq(Some(cron)), s::next_execution.eq(Some(next))))
            .execute(&mut conn)
            .unwrap();
    })
    .await
    .unwrap();
}

fn refused(status: StatusCode, body: &Value, field: &str) -> String {
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "validation_failed", "{body}");
    body["fields"][field]
        .as_str()
        .unwrap_or_else(|| panic!("no fields.{field} in {body}"))
        .to_string()
}

async fn scheduler_bounds_refused_with_the_field_and_count(backend: Backend) {
    let app = TestApp::start_with(backend, &[("CALLCSV_MAX_CATCH_UP", "1000")]).await;
    let t = Tenants::create(&app).await;
    let op = &t.operator_a;

    // The audit's body: every second since 1970. Both bounds are named.
    let (status, body) = app
        .post(
            PATH,
            op,
            json!({"name": "flood", "cron": "* * * * * *", "nextExecution": "1970-01-01T00:00:00Z"}),
        )
        .await;
    let cron = refused(status, &body, "cron");
    assert!(cron.contains("15 minutes"), "{cron}");
    let next = refused(status, &body, "nextExecution");
    assert!(next.contains("1000"), "{next}");

    // Each alone: a cron that fires every 10 minutes between 09:00 and 09:10 only; a daily
    // catch-up from 2020 (over 2 000 runs). Both as a client administrator too.
    let (status, body) = app
        .post(PATH, op, json!({"name": "c", "cron": "0 0,10 9 * * *"}))
        .await;
    assert!(
        refused(status, &body, "cron").contains("10 min apart"),
        "{body}"
    );
    assert!(body["fields"]["nextExecution"].is_null(), "{body}");
    let (status, body) = app
        .post(
            PATH,
            &t.client_admin_a,
            json!({"name": "d", "unit": "day", "nextExecution": "2020-01-01T08:00:00Z"}),
        )
        .await;
    assert!(
        refused(status, &body, "nextExecution").contains("more than 1000"),
        "{body}"
    );
    assert!(body["fields"]["cron"].is_null(), "{body}");

    // Within the bounds: every 15 minutes; a monthly catch-up from 2020 (about 80 runs).
    let quarter = app
        .create(PATH, op, json!({"name": "q", "cron": "*/15 * * * *"}))
        .await;
    let monthly = app
        .create(
            PATH,
            op,
            json!({"name": "m", "nextExecution": "2020-01-01T08:00:00Z"}),
        )
        .await;

    // PUT and PATCH are held to the same bounds.
    let path = format!("{PATH}/{}", id(&monthly));
    let (status, body) = app.patch(&path, op, json!({"unit": "day"})).await;
    refused(status, &body, "nextExecution");
    let (status, body) = app
        .put(&path, op, json!({"name": "m", "cron": "*/5 * * * *"}))
        .await;
    refused(status, &body, "cron");
    let (status, body) = app
        .patch(
            &format!("{PATH}/{}", id(&quarter)),
            op,
            json!({"nextExecution": "1970-01-01T00:00:00Z"}),
        )
        .await;
    refused(status, &body, "nextExecution");

    // A row that already breaks them (made before the rule) can still be renamed or
    // disabled, and fixed.
    force_schedule(&app, &id(&quarter), "* * * * * *", "1970-01-01T00:00:00Z").await;
    let path = format!("{PATH}/{}", id(&quarter));
    let (status, body) = app
        .patch(&path, op, json!({"name": "renamed", "enabled": false}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["cron"], "* * * * * *", "{body}");
    let (status, body) = app.patch(&path, op, json!({"cron": "0 8 * * *"})).await;
    refused(status, &body, "nextExecution");
    let (status, body) = app
        .patch(
            &path,
            op,
            json!({"cron": "0 8 * * *", "nextExecution": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// A row stored before the bounds (every second since 1970, about 1.8 × 10⁹ occurrences)
/// keeps being recorded and built, a bounded batch per round, while another brand's
/// report that falls due is built within seconds.
async fn a_flooding_row_from_before_the_bounds_does_not_hold_up_others(backend: Backend) {
    let app = TestApp::start_with(backend, &[("CALLCSV_RUNNER_INTERVAL", "1")]).await;
    let t = Tenants::create(&app).await;
    let future = rfc(Utc::now() + chrono::Duration::days(30));
    let flood = id(&app
        .create(
            PATH,
            &t.operator_a,
            json!({"name": "flood", "nextExecution": future}),
        )
        .await);
    force_schedule(&app, &flood, "* * * * * *", "1970-01-01T00:00:00Z").await;
    let due = rfc(Utc::now() - chrono::Duration::hours(1));
    let other = id(&app
        .create(
            PATH,
            &t.operator_b,
            json!({"name": "b", "nextExecution": due}),
        )
        .await);
    let counts = until_ready(&app, &[&other], Duration::from_secs(20)).await;
    assert!(
        count(&counts, &flood, "ready") > 0,
        "the flooding scheduler is built too: {counts:?}"
    );
}

/// Brand A catches up 500 occurrences (allowed); brand B's report, and another scheduler
/// of brand A, fall due meanwhile: both are built after a handful of A's, not after all.
async fn brands_and_schedulers_take_turns_behind_a_long_catch_up(backend: Backend) {
    let app = TestApp::start_with(backend, &[("CALLCSV_RUNNER_INTERVAL", "1")]).await;
    let t = Tenants::create(&app).await;
    let start = Utc::now() - chrono::Duration::minutes(15 * 500 - 5);
    let start = start.to_rfc3339_opts(SecondsFormat::Secs, true);
    // Every 15 minutes, as a 6-field expression: seconds 0, minutes 0/15/30/45.
    let long = id(&app
        .create(
            PATH,
            &t.operator_a,
            json!({"name": "long", "cron": "0 */15 * * * *", "nextExecution": start}),
        )
        .await);
    let due = rfc(Utc::now() - chrono::Duration::minutes(1));
    let a2 = id(&app
        .create(
            PATH,
            &t.operator_a,
            json!({"name": "a2", "nextExecution": due}),
        )
        .await);
    let b = id(&app
        .create(
            PATH,
            &t.operator_b,
            json!({"name": "b", "nextExecution": due}),
        )
        .await);
    let counts = until_ready(&app, &[&a2, &b], Duration::from_secs(30)).await;
    let built = count(&counts, &long, "ready");
    let waiting = count(&counts, &long, "pending") + count(&counts, &long, "building");
    assert!(
        built <= 30 && built + waiting >= 100,
        "B and A's other scheduler come after a few of A's 500, not after all: {built} built, \
         {waiting} waiting: {counts:?}"
    );
}

/// A relay that takes the message and never answers: the email waits, building goes on.
async fn a_stalled_mail_server_does_not_hold_up_building(backend: Backend) {
    let smtp = SmtpServer::start();
    smtp.slow_next_data(10, Duration::from_secs(25));
    let url = smtp.url();
    let app = TestApp::start_with(
        backend,
        &[
            ("CALLCSV_RUNNER_INTERVAL", "1"),
            ("CALLCSV_SMTP_URL", url.as_str()),
            ("CALLCSV_MAIL_SEND_TIMEOUT_SECONDS", "60"),
        ],
    )
    .await;
    let t = Tenants::create(&app).await;
    let due = rfc(Utc::now() - chrono::Duration::minutes(1));
    let mailed = id(&app
        .create(
            PATH,
            &t.operator_a,
            json!({"name": "mailed", "email": "ops@example.com", "nextExecution": due}),
        )
        .await);
    until_ready(&app, &[&mailed], Duration::from_secs(10)).await;
    // The message is on the wire and the relay sits on it.
    let started = Instant::now();
    while smtp.connections() == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no SMTP connection"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let later: Vec<String> = futures_ids(&app, &t).await;
    let refs: Vec<&str> = later.iter().map(String::as_str).collect();
    until_ready(&app, &refs, Duration::from_secs(8)).await;
    let (_, list) = app
        .get(
            &format!("/call_csv_reports?scheduler={mailed}"),
            &t.operator_a,
        )
        .await;
    // Still on its first attempt, unanswered (`sending` shows as `pending`).
    assert_eq!(
        (&list[0]["emailStatus"], &list[0]["emailAttempts"]),
        (&json!("pending"), &json!(1)),
        "{list}"
    );
    assert!(list[0]["sentAt"].is_null(), "{list}");
}

/// Three schedulers of both brands falling due after the stall began.
async fn futures_ids(app: &TestApp, t: &Tenants) -> Vec<String> {
    let due = rfc(Utc::now() - chrono::Duration::seconds(1));
    let mut ids = vec![];
    for (k, op) in [&t.operator_a, &t.operator_b, &t.operator_b]
        .iter()
        .enumerate()
    {
        ids.push(id(&app
            .create(
                PATH,
                op,
                json!({"name": format!("later{k}"), "nextExecution": due}),
            )
            .await));
    }
    ids
}

/// The relay hangs up after every DATA: three attempts of unknown outcome, each telling the
/// scheduler delivery is being retried, then `failed`, and no fourth copy.
async fn unknown_outcome_resends_stop_after_the_limit(backend: Backend) {
    let smtp = SmtpServer::start();
    smtp.hang_up_after_next_data(10);
    let url = smtp.url();
    let app = TestApp::start_with(
        backend,
        &[
            ("CALLCSV_SMTP_URL", url.as_str()),
            ("CALLCSV_MAIL_BACKOFF_SECONDS", "1"),
        ],
    )
    .await;
    let t = Tenants::create(&app).await;
    let op = &t.operator_a;
    let due = rfc(Utc::now() - chrono::Duration::minutes(1));
    let sid = id(&app
        .create(
            PATH,
            op,
            json!({"name": "lost", "email": "ops@example.com", "nextExecution": due}),
        )
        .await);
    let sch_path = format!("{PATH}/{sid}");
    let reports_path = format!("/call_csv_reports?scheduler={sid}");
    // Attempts 1 and 2: a retry to come, and the scheduler says so.
    for (attempt, wait) in [(1, 0), (2, 1100)] {
        tokio::time::sleep(Duration::from_millis(wait)).await;
        app.run_runner_once().await;
        let r = first_report(&app, &reports_path, op).await;
        assert_eq!(
            (r["emailStatus"].as_str(), r["emailAttempts"].as_i64()),
            (Some("pending"), Some(attempt)),
            "{r}"
        );
        let (_, sch) = app.get(&sch_path, op).await;
        let error = sch["lastExecutionError"].as_str().unwrap_or_default();
        assert!(error.contains("not delivered yet"), "{sch}");
    }
    // Attempt 3 (after the 2 s backoff): failed, outcome unknown.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    app.run_runner_once().await;
    let r = first_report(&app, &reports_path, op).await;
    assert_eq!(r["emailStatus"], "failed", "{r}");
    assert!(
        r["emailError"]
            .as_str()
            .unwrap_or_default()
            .contains("outcome unknown"),
        "{r}"
    );
    let (_, sch) = app.get(&sch_path, op).await;
    let error = sch["lastExecutionError"].as_str().unwrap_or_default();
    assert!(error.starts_with("email: outcome unknown"), "{sch}");
    // Nothing more is sent.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    app.run_runner_once().await;
    assert_eq!(smtp.messages().len(), 3, "three copies kept, no fourth");
    assert_eq!(
        first_report(&app, &reports_path, op).await["emailAttempts"],
        3
    );
}

/// The brand's report folder cannot be made (a file is in its place): the error names the
/// folder under the data dir and the system's reason, not "internal error".
async fn a_build_that_cannot_write_says_why(backend: Backend) {
    let app = TestApp::start(backend).await;
    let t = Tenants::create(&app).await;
    let reports = app.data_dir.path().join("reports");
    std::fs::create_dir_all(&reports).unwrap();
    std::fs::write(reports.join(&t.brand_a), b"in the way").unwrap();
    let due = rfc(Utc::now() - chrono::Duration::minutes(1));
    let sid = id(&app
        .create(
            PATH,
            &t.operator_a,
            json!({"name": "io", "nextExecution": due}),
        )
        .await);
    app.run_runner_once().await;
    let (_, sch) = app.get(&format!("{PATH}/{sid}"), &t.operator_a).await;
    let error = sch["lastExecutionError"].as_str().unwrap_or_default();
    let data_dir = app.data_dir.path().to_string_lossy().to_string();
    assert!(
        error.starts_with(&format!(
            "creating the report folder reports/{}: ",
            t.brand_a
        )),
        "{sch}"
    );
    assert!(error.contains("os error"), "the system's reason: {sch}");
    assert!(!error.contains(&data_dir), "no server paths: {sch}");
}

async fn first_report(app: &TestApp, path: &str, token: &str) -> Value {
    let (_, list) = app.get(path, token).await;
    list[0].clone()
}
