//! End to end through the runner: a scheduler falls due → its report is built → listed →
//! downloaded byte for byte → emailed to a real SMTP server (the in-process one in `smtp`),
//! plus reruns by editing nextExecution, catch-up after downtime, client-level columns, and
//! the email retry/failure paths.

use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Madrid;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::backend_cases;
use crate::billable_calls::{outbound, store_unanswered, world, World};
use crate::common::{id, Backend, TestApp};
use crate::smtp::SmtpServer;

backend_cases!(
    monthly_report_built_listed_downloaded_and_emailed,
    rerun_by_editing_next_execution_and_catch_up_after_downtime,
    client_level_report_columns_and_hidden_price,
    temporary_smtp_failure_is_retried_and_permanent_one_recorded,
    without_smtp_the_email_lands_in_the_outbox,
    cron_periods_follow_each_other_across_the_repeated_hour,
    a_slow_smtp_server_is_not_mistaken_for_a_vanished_sender,
    a_connection_lost_after_data_flags_the_resend,
    a_disabled_scheduler_builds_nothing_already_recorded,
    a_recorded_occurrence_keeps_its_timezone,
    a_report_shows_the_price_of_a_call_without_a_cost,
    unanswered_calls_are_listed_but_never_reported,
);

/// Starts the app with a runner polling every second and mail to `smtp` (or the outbox).
pub(crate) async fn app_with_runner(backend: Backend, smtp: Option<&SmtpServer>) -> TestApp {
    let url = smtp.map(|s| s.url());
    let mut vars = vec![
        ("CALLCSV_RUNNER_INTERVAL", "1"),
        ("CALLCSV_MAIL_BACKOFF_SECONDS", "1"),
    ];
    if let Some(url) = &url {
        vars.push(("CALLCSV_SMTP_URL", url.as_str()));
    }
    TestApp::start_with(backend, &vars).await
}

fn madrid(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
    Madrid
        .with_ymd_and_hms(y, m, d, h, min, s)
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

pub(crate) fn rfc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// First day of the month `offset` months from `date`'s month.
fn month_start(date: NaiveDate, offset: i32) -> NaiveDate {
    let months = date.year() * 12 + date.month0() as i32 + offset;
    NaiveDate::from_ymd_opt(months.div_euclid(12), months.rem_euclid(12) as u32 + 1, 1).unwrap()
}

pub(crate) fn at_madrid(date: NaiveDate, h: u32) -> DateTime<Utc> {
    madrid(date.year(), date.month(), date.day(), h, 0, 0)
}

/// Polls the scheduler's reports until `n` exist whose email is settled (`sent`, `failed`
/// or `none`), or 40 s pass.
pub(crate) async fn reports_of(
    app: &TestApp,
    token: &str,
    scheduler: &str,
    n: usize,
    settled: &[&str],
) -> Vec<Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(40);
    loop {
        let (status, list) = app
            .get(
                &format!("/call_csv_reports?scheduler={scheduler}&_order[createdAt]=asc"),
                token,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let list = list.as_array().unwrap().clone();
        let done = list
            .iter()
            .filter(|r| settled.contains(&r["emailStatus"].as_str().unwrap()))
            .count();
        if list.len() >= n && done >= n {
            return list;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "waited for {n} settled reports, have {list:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub(crate) async fn download(
    app: &TestApp,
    token: &str,
    report: &str,
) -> (reqwest::header::HeaderMap, Vec<u8>) {
    let res = app
        .http
        .get(app.url(&format!("/call_csv_reports/{report}/csv")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let headers = res.headers().clone();
    (headers, res.bytes().await.unwrap().to_vec())
}

/// The month whose report a run on the 1st of this month at 08:00 Madrid covers; if that
/// run is still in the future (the test runs on the 1st before 08:00), a month earlier.
pub(crate) fn last_complete_month() -> (NaiveDate, NaiveDate, DateTime<Utc>) {
    let today = Utc::now().with_timezone(&Madrid).date_naive();
    let mut this_month = month_start(today, 0);
    if at_madrid(this_month, 8) > Utc::now() {
        this_month = month_start(this_month, -1);
    }
    (
        month_start(this_month, -1),
        this_month,
        at_madrid(this_month, 8),
    )
}

async fn monthly_report_built_listed_downloaded_and_emailed(backend: Backend) {
    let smtp = SmtpServer::start();
    let app = app_with_runner(backend, Some(&smtp)).await;
    let w: World = world(&app).await;
    let op = &w.t.operator_a;
    let (first, next_first, due) = last_complete_month();
    let in_date = at_madrid(first, 0);
    let out_date = at_madrid(next_first, 0);
    let last_second = out_date - chrono::Duration::seconds(1);
    let calls = json!([
        outbound(&w, "first-second", &rfc(in_date), json!(60)),
        outbound(&w, "last-second", &rfc(last_second), json!("29.5")),
        outbound(&w, "too-late", &rfc(out_date), json!(60)),
        outbound(&w, "too-early", &rfc(in_date - chrono::Duration::seconds(1)), json!(60)),
        {"callid": "inbound-1", "startTime": rfc(in_date + chrono::Duration::hours(1)), "duration": 5, "caller": "+33100000000",
         "callee": "+34911000001", "direction": "inbound", "ddi": w.ddi},
    ]);
    let (_, summary) = app.post("/billable_calls", op, calls).await;
    assert_eq!(summary["accepted"], 5, "{summary}");

    let created = app
        .create("/call_csv_schedulers", op, json!({"name": "Monthly", "unit": "month", "frequency": 1,
                                                   "email": "ops@example.com, billing@example.com"}))
        .await;
    let sid = id(&created);
    assert_eq!(
        created["nextExecution"],
        rfc(at_madrid(
            month_start(Utc::now().with_timezone(&Madrid).date_naive(), 1),
            8
        ))
    );
    // Force the run of the last complete month.
    let (status, _) = app
        .patch(
            &format!("/call_csv_schedulers/{sid}"),
            op,
            json!({"nextExecution": rfc(due)}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let reports = reports_of(&app, op, &sid, 1, &["sent"]).await;
    let report = &reports[0];
    assert_eq!(reports.len(), 1);
    assert_eq!(report["inDate"], rfc(in_date));
    assert_eq!(report["outDate"], rfc(out_date));
    assert_eq!(report["rowCount"], 2);
    let last_day = next_first.pred_opt().unwrap();
    let file_name = format!(
        "Brand A-{}-{}.csv",
        first.format("%Y%m%d"),
        last_day.format("%Y%m%d")
    );
    assert_eq!(report["csv"]["fileName"], file_name.as_str());
    assert_eq!(
        report["sentTo"],
        json!(["ops@example.com", "billing@example.com"])
    );
    assert_eq!(report["emailAttempts"], 1);

    // The CSV, byte for byte: header always, rows by startTime then callid, local times,
    // billed seconds, 4-decimal amounts, brand-level columns.
    let (headers, bytes) = download(&app, op, report["id"].as_str().unwrap()).await;
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(headers["content-disposition"]
        .to_str()
        .unwrap()
        .contains(&file_name));
    let local = |t: DateTime<Utc>| {
        t.with_timezone(&Madrid)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    let expected = format!(
        "callid,startTime,duration,caller,callee,cost,price,endpointType,endpointId,direction,companyId,carrierId,ddiProviderId,ddiId\r\n\
         first-second,{},60,+34911000001,+34600111222,0.0500,0.1000,,,outbound,{client},{carrier},,\r\n\
         last-second,{},30,+34911000001,+34600111222,0.0250,0.0500,,,outbound,{client},{carrier},,\r\n",
        local(in_date),
        local(last_second),
        client = w.t.client_a,
        carrier = w.carrier
    );
    assert_eq!(String::from_utf8(bytes.clone()).unwrap(), expected);
    assert_eq!(report["csv"]["fileSize"], bytes.len());

    // The email: one message to both addresses, default template, the CSV attached.
    let received = smtp.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(received.len(), 1);
    let mut to = received[0].to.clone();
    to.sort();
    assert_eq!(to, ["billing@example.com", "ops@example.com"]);
    let mail = received[0].parsed();
    assert_eq!(mail.subject, "New call report");
    assert!(
        mail.body.contains(&format!(
            "period {} - {}",
            first.format("%Y-%m-%d"),
            last_day.format("%Y-%m-%d")
        )),
        "{}",
        mail.body
    );
    assert_eq!(
        mail.message_id,
        format!("<{}@callcsv>", report["id"].as_str().unwrap())
    );
    assert_eq!(mail.attachment_name.as_deref(), Some(file_name.as_str()));
    assert_eq!(mail.attachment.as_deref(), Some(bytes.as_slice()));

    let (_, sch) = app.get(&format!("/call_csv_schedulers/{sid}"), op).await;
    assert!(sch["lastExecution"].is_string());
    assert!(sch["lastExecutionError"].is_null());
    assert_eq!(
        sch["nextExecution"],
        rfc(at_madrid(month_start(next_first, 1), 8)),
        "the schedule continues from the edited value"
    );
}

async fn rerun_by_editing_next_execution_and_catch_up_after_downtime(backend: Backend) {
    let app = app_with_runner(backend, None).await;
    let w: World = world(&app).await;
    let op = &w.t.operator_a;
    let (_, _, due) = last_complete_month();
    let sid = id(&app
        .create(
            "/call_csv_schedulers",
            op,
            json!({"name": "M", "unit": "month"}),
        )
        .await);
    app.patch(
        &format!("/call_csv_schedulers/{sid}"),
        op,
        json!({"nextExecution": rfc(due)}),
    )
    .await;
    let first = reports_of(&app, op, &sid, 1, &["none"]).await;
    // Force a rerun of the same month: a new report for the same period.
    app.patch(
        &format!("/call_csv_schedulers/{sid}"),
        op,
        json!({"nextExecution": rfc(due)}),
    )
    .await;
    let both = reports_of(&app, op, &sid, 2, &["none"]).await;
    assert_eq!(both.len(), 2);
    assert_ne!(both[0]["id"], both[1]["id"]);
    assert_eq!(
        (both[1]["inDate"].clone(), both[1]["outDate"].clone()),
        (first[0]["inDate"].clone(), first[0]["outDate"].clone())
    );

    // Down across several daily due times: each missed day gets its own report, oldest first.
    let today = Utc::now().with_timezone(&Madrid).date_naive();
    let start = today - chrono::Duration::days(3);
    let expected = (0..=3)
        .filter(|k| at_madrid(start + chrono::Duration::days(*k), 8) <= Utc::now())
        .count();
    let daily = id(&app
        .create(
            "/call_csv_schedulers",
            op,
            json!({"name": "D", "unit": "day", "nextExecution": rfc(at_madrid(start, 8))}),
        )
        .await);
    let reports = reports_of(&app, op, &daily, expected, &["none"]).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (_, all) = app
        .get(
            &format!("/call_csv_reports?scheduler={daily}&_order[inDate]=asc"),
            op,
        )
        .await;
    assert_eq!(
        all.as_array().unwrap().len(),
        expected,
        "no more, no fewer: {reports:?}"
    );
    for (k, report) in all.as_array().unwrap().iter().enumerate() {
        let day = start - chrono::Duration::days(1) + chrono::Duration::days(k as i64);
        assert_eq!(report["inDate"], rfc(at_madrid(day, 0)));
        assert_eq!(
            report["outDate"],
            rfc(at_madrid(day + chrono::Duration::days(1), 0))
        );
    }
    let created: Vec<&str> = reports
        .iter()
        .map(|r| r["inDate"].as_str().unwrap())
        .collect();
    let mut sorted = created.clone();
    sorted.sort();
    assert_eq!(created, sorted, "caught up oldest first");
}

async fn client_level_report_columns_and_hidden_price(backend: Backend) {
    let app = app_with_runner(backend, None).await;
    let w: World = world(&app).await;
    let (first, _, due) = last_complete_month();
    let start = at_madrid(first, 12);
    app.post(
        "/billable_calls",
        &w.t.operator_a,
        json!([outbound(&w, "c1", &rfc(start), json!(60))]),
    )
    .await;
    app.patch(
        &format!("/clients/{}", w.t.client_a),
        &w.t.operator_a,
        json!({"showBillingDetails": false}),
    )
    .await;
    let ca = &w.t.client_admin_a;
    let sid = id(&app
        .create(
            "/call_csv_schedulers",
            ca,
            json!({"name": "Mine", "unit": "month", "nextExecution": rfc(due)}),
        )
        .await);
    let reports = reports_of(&app, ca, &sid, 1, &["none"]).await;
    let (_, bytes) = download(&app, ca, reports[0]["id"].as_str().unwrap()).await;
    let text = String::from_utf8(bytes).unwrap();
    let local = start.with_timezone(&Madrid).format("%Y-%m-%d %H:%M:%S");
    assert_eq!(
        text,
        format!("callid,startTime,duration,caller,callee,price,endpointType,endpointId,direction,ddiId\r\nc1,{local},60,+34911000001,+34600111222,,,,outbound,\r\n")
    );
    assert!(reports[0]["csv"]["fileName"]
        .as_str()
        .unwrap()
        .starts_with("Client A-"));
    // Another tenant never sees it.
    assert_eq!(
        app.get(
            &format!("/call_csv_reports/{}", reports[0]["id"].as_str().unwrap()),
            &w.t.operator_b
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
}

async fn temporary_smtp_failure_is_retried_and_permanent_one_recorded(backend: Backend) {
    let smtp = SmtpServer::start();
    let app = app_with_runner(backend, Some(&smtp)).await;
    let w: World = world(&app).await;
    let op = &w.t.operator_a;
    let (_, _, due) = last_complete_month();

    smtp.fail_next(1, "451 4.3.0 try again later");
    let sid = id(&app
        .create(
            "/call_csv_schedulers",
            op,
            json!({"name": "T", "email": "a@example.com", "nextExecution": rfc(due)}),
        )
        .await);
    let reports = reports_of(&app, op, &sid, 1, &["sent"]).await;
    assert_eq!(reports[0]["emailAttempts"], 2, "{:?}", reports[0]);
    assert!(reports[0]["emailError"].is_null());
    assert_eq!(smtp.wait_for(1, Duration::from_secs(5)).await.len(), 1);

    smtp.fail_next(5, "550 5.1.1 mailbox unavailable");
    let sid = id(&app
        .create(
            "/call_csv_schedulers",
            op,
            json!({"name": "P", "email": "b@example.com", "nextExecution": rfc(due)}),
        )
        .await);
    let reports = reports_of(&app, op, &sid, 1, &["failed"]).await;
    assert!(
        reports[0]["emailError"]
            .as_str()
            .unwrap()
            .contains("550 5.1.1 mailbox unavailable"),
        "{:?}",
        reports[0]
    );
    assert_eq!(
        reports[0]["emailAttempts"], 1,
        "a permanent failure is not retried"
    );
    let (_, sch) = app.get(&format!("/call_csv_schedulers/{sid}"), op).await;
    assert!(
        sch["lastExecutionError"]
            .as_str()
            .unwrap()
            .contains("mailbox unavailable"),
        "{sch}"
    );
    assert_eq!(smtp.messages().len(), 1, "nothing more was delivered");
}

async fn without_smtp_the_email_lands_in_the_outbox(backend: Backend) {
    let app = app_with_runner(backend, None).await;
    let w: World = world(&app).await;
    let (_, _, due) = last_complete_month();
    let sid = id(&app
        .create(
            "/call_csv_schedulers",
            &w.t.operator_a,
            json!({"name": "O", "email": "c@example.com", "nextExecution": rfc(due)}),
        )
        .await);
    let reports = reports_of(&app, &w.t.operator_a, &sid, 1, &["sent"]).await;
    let eml = app.data_dir.path().join("outbox").join(format!(
        "{}@callcsv.eml",
        reports[0]["id"].as_str().unwrap()
    ));
    let raw = std::fs::read(&eml).unwrap_or_else(|e| panic!("{}: {e}", eml.display()));
    let mail = crate::smtp::parse_mail(&raw);
    assert_eq!(mail.to, ["c@example.com"]);
    assert_eq!(mail.subject, "New call report");
}

/// A cron scheduler caught up across the autumn change in Madrid: "30 2 * * *" fires at the
/// first 02:30 of 2026-10-25 (00:30Z; 02:30 comes again at 01:30Z). The next period must
/// start at that fire, so the calls of the hour in between are in a report, and every
/// period starts where the one before ended.
async fn cron_periods_follow_each_other_across_the_repeated_hour(backend: Backend) {
    let app = app_with_runner(backend, None).await;
    let w: World = world(&app).await;
    let op = &w.t.operator_a;
    let calls = json!([
        outbound(&w, "before", "2026-10-25T00:29:59Z", json!(5)),
        outbound(&w, "first-copy", "2026-10-25T00:45:00Z", json!(5)),
        outbound(&w, "between", "2026-10-25T01:00:00Z", json!(5)),
        outbound(&w, "second-copy", "2026-10-25T01:30:00Z", json!(5)),
    ]);
    let (status, summary) = app.post("/billable_calls", op, calls).await;
    assert_eq!(summary["accepted"], 4, "{status} {summary}");
    let sid = id(&app
        .create(
            "/call_csv_schedulers",
            op,
            json!({"name": "C", "cron": "30 2 * * *", "nextExecution": "2026-10-24T00:30:00Z"}),
        )
        .await);
    // Caught up oldest first: the first three are the fires of 24, 25 and 26 October.
    let list = reports_of(&app, op, &sid, 3, &["none"]).await;
    let period = |r: &Value| {
        (
            r["inDate"].as_str().unwrap().to_string(),
            r["outDate"].as_str().unwrap().to_string(),
            r["rowCount"].as_i64().unwrap(),
        )
    };
    let periods: Vec<_> = list[..3].iter().map(period).collect();
    assert_eq!(
        periods,
        [
            (
                "2026-10-23T00:30:00Z".into(),
                "2026-10-24T00:30:00Z".into(),
                0
            ),
            (
                "2026-10-24T00:30:00Z".into(),
                "2026-10-25T00:30:00Z".into(),
                1
            ),
            (
                "2026-10-25T00:30:00Z".into(),
                "2026-10-26T01:30:00Z".into(),
                3
            ),
        ]
    );
    let all: Vec<_> = list.iter().map(period).collect();
    assert!(
        all.windows(2).all(|p| p[0].1 == p[1].0),
        "each period starts where the one before ended: {all:?}"
    );
}

/// An SMTP server that takes longer than the lease to accept: the sender keeps renewing the
/// email's lease while it waits, so a second runner looking for work never takes the send
/// over. One message, not flagged.
async fn a_slow_smtp_server_is_not_mistaken_for_a_vanished_sender(backend: Backend) {
    let smtp = SmtpServer::start();
    let url = smtp.url();
    let app = TestApp::start_with(
        backend,
        &[
            ("CALLCSV_RUNNER_INTERVAL", "1"),
            ("CALLCSV_REPORT_LEASE_SECONDS", "5"),
            ("CALLCSV_SMTP_URL", url.as_str()),
        ],
    )
    .await;
    smtp.slow_next_data(1, Duration::from_secs(8));
    let w: World = world(&app).await;
    let op = &w.t.operator_a;
    let (_, _, due) = last_complete_month();
    let sid = id(&app
        .create(
            "/call_csv_schedulers",
            op,
            json!({"name": "Slow", "email": "ops@example.com", "nextExecution": rfc(due)}),
        )
        .await);
    // A second runner (this test's) keeps looking for work past the lease.
    let until = std::time::Instant::now() + Duration::from_secs(12);
    while std::time::Instant::now() < until {
        app.run_runner_once().await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let list = reports_of(&app, op, &sid, 1, &["sent"]).await;
    assert_eq!(smtp.messages().len(), 1, "sent once");
    assert_eq!(list[0]["emailAttempts"], 1, "{}", list[0]);
    assert_eq!(list[0]["possibleDuplicateEmail"], false, "{}", list[0]);
}

/// The server keeps the message but the connection drops before its reply: the sender
/// cannot know, retries, and flags the retry as a possible duplicate.
async fn a_connection_lost_after_data_flags_the_resend(backend: Backend) {
    let smtp = SmtpServer::start();
    smtp.hang_up_after_next_data(1);
    let app = app_with_runner(backend, Some(&smtp)).await;
    let w: World = world(&app).await;
    let op = &w.t.operator_a;
    let (_, _, due) = last_complete_month();
    let sid = id(&app
        .create(
            "/call_csv_schedulers",
            op,
            json!({"name": "Lost", "email": "ops@example.com", "nextExecution": rfc(due)}),
        )
        .await);
    let list = reports_of(&app, op, &sid, 1, &["sent"]).await;
    let messages = smtp.messages();
    assert_eq!(
        messages.len(),
        2,
        "kept once before the hang-up, once on the retry"
    );
    assert_eq!(
        messages[0].parsed().message_id,
        messages[1].parsed().message_id
    );
    assert_eq!(list[0]["emailAttempts"], 2, "{}", list[0]);
    assert_eq!(list[0]["possibleDuplicateEmail"], true, "{}", list[0]);
}

/// An occurrence recorded before its scheduler was disabled is not built: a disabled
/// scheduler never runs. (The runner is driven by hand so the occurrence is recorded, then
/// the scheduler disabled, before any build.)
async fn a_disabled_scheduler_builds_nothing_already_recorded(backend: Backend) {
    let app = TestApp::start(backend).await;
    let w: World = world(&app).await;
    let op = &w.t.operator_a;
    let (_, _, due) = last_complete_month();
    let sid = id(&app
        .create(
            "/call_csv_schedulers",
            op,
            json!({"name": "Off", "nextExecution": rfc(due)}),
        )
        .await);
    // Record the occurrence without building it: the runner's first step alone.
    assert_eq!(app.record_due().await, 1);
    let (status, _) = app
        .patch(
            &format!("/call_csv_schedulers/{sid}"),
            op,
            json!({"enabled": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    app.run_runner_once().await;
    let (_, list) = app
        .get(&format!("/call_csv_reports?scheduler={sid}"), op)
        .await;
    assert_eq!(list.as_array().unwrap().len(), 0, "{list}");
    let pool = app.pool();
    let statuses = tokio::task::spawn_blocking(move || {
        use diesel::prelude::*;
        let mut conn = pool.get().unwrap();
        callcsv::db::schema::call_csv_reports::table
            .select(callcsv::db::schema::call_csv_reports::status)
            .load::<String>(&mut conn)
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(statuses, ["cancelled"]);
}

/// The brand's timezone changes after an occurrence was recorded and before it is built: the
/// report still uses the timezone its period was computed in (times, file name, dates).
async fn a_recorded_occurrence_keeps_its_timezone(backend: Backend) {
    let app = TestApp::start(backend).await;
    let w: World = world(&app).await;
    let op = &w.t.operator_a;
    let (first, next_first, due) = last_complete_month();
    let call_at = at_madrid(first, 1);
    let (_, summary) = app
        .post(
            "/billable_calls",
            op,
            json!([outbound(&w, "one", &rfc(call_at), json!(60))]),
        )
        .await;
    assert_eq!(summary["accepted"], 1, "{summary}");
    let sid = id(&app
        .create(
            "/call_csv_schedulers",
            op,
            json!({"name": "Tz", "nextExecution": rfc(due)}),
        )
        .await);
    assert_eq!(app.record_due().await, 1);
    let (status, brand) = app
        .patch(
            &format!("/brands/{}", w.t.brand_a),
            &app.root,
            json!({"timezone": "Pacific/Kiritimati"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{brand}");
    app.run_runner_once().await;
    let list = reports_of(&app, op, &sid, 1, &["none"]).await;
    let report = &list[0];
    assert_eq!(report["inDate"], rfc(at_madrid(first, 0)), "{report}");
    assert_eq!(report["outDate"], rfc(at_madrid(next_first, 0)), "{report}");
    let last_day = next_first.pred_opt().unwrap();
    assert_eq!(
        report["csv"]["fileName"],
        format!(
            "Brand A-{}-{}.csv",
            first.format("%Y%m%d"),
            last_day.format("%Y%m%d")
        ),
        "{report}"
    );
    let (_, bytes) = download(&app, op, report["id"].as_str().unwrap()).await;
    let text = String::from_utf8(bytes).unwrap();
    assert!(
        text.contains(&format!(",{} 01:00:00,", first.format("%Y-%m-%d"))),
        "times in Madrid: {text}"
    );
}

/// rating.md: price and cost are independent, so a call whose carrier has no rating profile
/// is in the report with its price and an empty cost, and one whose client has none with its
/// cost and an empty price.
async fn a_report_shows_the_price_of_a_call_without_a_cost(backend: Backend) {
    let app = TestApp::start(backend).await;
    let w: World = world(&app).await;
    let op = &w.t.operator_a;
    let (first, _, due) = last_complete_month();
    let bare_carrier = id(&app
        .create("/carriers", op, json!({"name": "No costs loaded"}))
        .await);
    let bare_client = app
        .client(op, &w.t.brand_a, "No prices loaded", "retail")
        .await;
    let (one, two) = (at_madrid(first, 10), at_madrid(first, 11));
    let mut no_cost = outbound(&w, "no-cost", &rfc(one), json!(60));
    no_cost["carrier"] = json!(bare_carrier);
    let mut no_price = outbound(&w, "no-price", &rfc(two), json!(60));
    no_price["client"] = json!(bare_client);
    let (_, summary) = app
        .post("/billable_calls", op, json!([no_cost, no_price]))
        .await;
    assert_eq!(
        (summary["accepted"].as_u64(), summary["unrated"].as_u64()),
        (Some(2), Some(1)),
        "{summary}"
    );
    let sid = id(&app
        .create(
            "/call_csv_schedulers",
            op,
            json!({"name": "Monthly", "unit": "month", "nextExecution": rfc(due)}),
        )
        .await);
    app.run_runner_once().await;
    let reports = reports_of(&app, op, &sid, 1, &["none"]).await;
    assert_eq!(reports[0]["rowCount"], 2, "{}", reports[0]);
    let (_, bytes) = download(&app, op, reports[0]["id"].as_str().unwrap()).await;
    let local = |t: DateTime<Utc>| {
        t.with_timezone(&Madrid)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    assert_eq!(
        String::from_utf8(bytes).unwrap(),
        format!(
            "callid,startTime,duration,caller,callee,cost,price,endpointType,endpointId,direction,companyId,carrierId,ddiProviderId,ddiId\r\n\
             no-cost,{},60,+34911000001,+34600111222,,0.1000,,,outbound,{},{bare_carrier},,\r\n\
             no-price,{},60,+34911000001,+34600111222,0.0500,,,,outbound,{bare_client},{},,\r\n",
            local(one),
            w.t.client_a,
            local(two),
            w.carrier
        )
    );
}

/// An unanswered call (stored by a source that keeps them) is in /billable_calls with its
/// disposition, and never in a call CSV report, brand- or client-level.
async fn unanswered_calls_are_listed_but_never_reported(backend: Backend) {
    let app = TestApp::start(backend).await;
    let w: World = world(&app).await;
    let op = &w.t.operator_a;
    let (first, _, due) = last_complete_month();
    let (one, two) = (at_madrid(first, 10), at_madrid(first, 11));
    let (_, summary) = app
        .post(
            "/billable_calls",
            op,
            json!([outbound(&w, "answered", &rfc(one), json!(60))]),
        )
        .await;
    assert_eq!(summary["accepted"], 1, "{summary}");
    let source = uuid::Uuid::new_v4().to_string();
    store_unanswered(
        &app,
        &w.t.brand_a,
        &w.t.client_a,
        "missed",
        &rfc(two),
        &source,
    )
    .await;

    let (status, listed) = app.get("/billable_calls?disposition=noanswer", op).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["callid"], "missed");

    let brand_sid = id(&app
        .create(
            "/call_csv_schedulers",
            op,
            json!({"name": "Brand", "unit": "month", "nextExecution": rfc(due)}),
        )
        .await);
    let client_sid = id(&app
        .create(
            "/call_csv_schedulers",
            &w.t.client_admin_a,
            json!({"name": "Client", "unit": "month", "nextExecution": rfc(due)}),
        )
        .await);
    app.run_runner_once().await;
    for (token, sid) in [(op, &brand_sid), (&w.t.client_admin_a, &client_sid)] {
        let reports = reports_of(&app, token, sid, 1, &["none"]).await;
        assert_eq!(reports[0]["rowCount"], 1, "{}", reports[0]);
        let (_, bytes) = download(&app, token, reports[0]["id"].as_str().unwrap()).await;
        let text = String::from_utf8(bytes).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(text.contains("\r\nanswered,"), "{text}");
        assert!(!text.contains("missed"), "{text}");
    }
}
