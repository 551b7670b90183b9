//! Issue 13, fair and bounded: a scheduler may not ask for an unbounded catch-up or a
//! report every few seconds, and a row that already does (made before the rule) stays
//! editable.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::backend_cases;
use crate::common::{id, Backend, Tenants, TestApp};

backend_cases!(scheduler_bounds_refused_with_the_field_and_count);

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
