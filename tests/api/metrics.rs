//! `GET /metrics`: Prometheus text without a token by default, gauges that follow the
//! schedulers and reports through a runner pass, the optional `CALLCSV_METRICS_TOKEN`,
//! and 405 for other methods.

use chrono::{SecondsFormat, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::{id, Backend, TestApp};
use crate::{backend_cases, backend_tests};

backend_tests!(
    metrics_are_open_by_default_and_follow_schedulers_and_reports,
    other_methods_on_metrics_are_405,
);

backend_cases!(metrics_token_is_required_when_configured);

const TOKEN: &str = "scrape-me-0123456789";

/// GET /metrics (with `token` as bearer if given); asserts 200 and the exposition content
/// type, returns the body.
async fn scrape(app: &TestApp, token: Option<&str>) -> String {
    let (status, headers, body) = app.call_full(Method::GET, "/metrics", token, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        headers["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    match body {
        Value::String(text) => text,
        other => panic!("metrics are text, got {other}"),
    }
}

/// The value of the sample `series` (name with labels, as written), which must appear once.
fn sample(text: &str, series: &str) -> i64 {
    let values: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .collect();
    assert_eq!(values.len(), 1, "one sample {series} in:\n{text}");
    values[0]
        .parse()
        .unwrap_or_else(|_| panic!("{series}: {:?} is not an integer", values[0]))
}

fn rfc(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

async fn metrics_are_open_by_default_and_follow_schedulers_and_reports(app: TestApp) {
    let text = scrape(&app, None).await;
    assert_eq!(sample(&text, "callcsv_up"), 1);
    let build = format!(
        "callcsv_build_info{{version=\"{}\"}}",
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(sample(&text, &build), 1);
    assert!(text.contains("# TYPE callcsv_reports gauge\n"), "{text}");
    assert!(text.contains("# HELP callcsv_schedulers_due "), "{text}");
    for status in ["pending", "building", "ready", "cancelled"] {
        assert_eq!(
            sample(&text, &format!("callcsv_reports{{status=\"{status}\"}}")),
            0
        );
    }
    assert_eq!(sample(&text, "callcsv_schedulers{enabled=\"true\"}"), 0);
    assert_eq!(sample(&text, "callcsv_schedulers{enabled=\"false\"}"), 0);
    assert_eq!(sample(&text, "callcsv_schedulers_due"), 0);
    assert_eq!(
        sample(&text, "callcsv_oldest_pending_report_age_seconds"),
        0
    );

    // One daily scheduler due an hour ago, one disabled, one not due yet.
    let brand = app.brand("Acme").await;
    let op = app.brand_operator(&brand, "op").await;
    let past = rfc(Utc::now() - chrono::Duration::hours(1));
    let due = app
        .create(
            "/call_csv_schedulers",
            &op,
            json!({"name": "Due", "unit": "day", "email": "ops@example.com", "nextExecution": past}),
        )
        .await;
    app.create(
        "/call_csv_schedulers",
        &op,
        json!({"name": "Off", "unit": "day", "enabled": false, "nextExecution": past}),
    )
    .await;
    app.create(
        "/call_csv_schedulers",
        &op,
        json!({"name": "Later", "unit": "month"}),
    )
    .await;
    let text = scrape(&app, None).await;
    assert_eq!(sample(&text, "callcsv_schedulers{enabled=\"true\"}"), 2);
    assert_eq!(sample(&text, "callcsv_schedulers{enabled=\"false\"}"), 1);
    assert_eq!(sample(&text, "callcsv_schedulers_due"), 1);
    assert_eq!(sample(&text, "callcsv_reports{status=\"ready\"}"), 0);

    // A pass records the due occurrence, builds it and mails it (to the outbox).
    let pass = app.run_runner_once().await;
    assert_eq!(
        (pass.recorded, pass.built, pass.emailed),
        (1, 1, 1),
        "{pass:?}"
    );
    let text = scrape(&app, None).await;
    assert_eq!(sample(&text, "callcsv_schedulers_due"), 0);
    assert_eq!(sample(&text, "callcsv_reports{status=\"ready\"}"), 1);
    assert_eq!(sample(&text, "callcsv_reports{status=\"pending\"}"), 0);
    assert_eq!(sample(&text, "callcsv_report_emails{status=\"sent\"}"), 1);
    assert_eq!(
        sample(&text, "callcsv_report_emails{status=\"pending\"}"),
        0
    );
    assert_eq!(
        sample(&text, "callcsv_oldest_pending_report_age_seconds"),
        0
    );

    // A report still waiting two hours after it fell due (a state only a stalled runner
    // leaves, so it is set up in the database): counted as pending, with its age.
    let scheduler = id(&due);
    let pool = app.pool();
    tokio::task::spawn_blocking(move || {
        use callcsv::db::schema::call_csv_reports as r;
        use diesel::prelude::*;
        let mut conn = pool.get().unwrap();
        let now = callcsv::db::clock(&mut conn).unwrap();
        let changed = diesel::update(r::table.filter(r::scheduler_id.eq(&scheduler)))
            .set((
                r::status.eq("pending"),
                r::due_at.eq(now - chrono::Duration::hours(2)),
            ))
            .execute(&mut conn)
            .unwrap();
        assert_eq!(changed, 1);
    })
    .await
    .unwrap();
    let text = scrape(&app, None).await;
    assert_eq!(sample(&text, "callcsv_reports{status=\"pending\"}"), 1);
    assert_eq!(sample(&text, "callcsv_reports{status=\"ready\"}"), 0);
    let age = sample(&text, "callcsv_oldest_pending_report_age_seconds");
    assert!((7200..7200 + 60).contains(&age), "age {age}");
}

async fn metrics_token_is_required_when_configured(backend: Backend) {
    let app = TestApp::start_with(backend, &[("CALLCSV_METRICS_TOKEN", TOKEN)]).await;
    let (status, body) = app.call(Method::GET, "/metrics", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["code"], "unauthorized");
    let wrong = format!("{TOKEN}x");
    for token in [wrong.as_str(), &TOKEN[..TOKEN.len() - 1], app.root.as_str()] {
        let (status, body) = app.call(Method::GET, "/metrics", Some(token), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token}: {body}");
        assert_eq!(body["code"], "unauthorized");
    }
    let text = scrape(&app, Some(TOKEN)).await;
    assert_eq!(sample(&text, "callcsv_up"), 1);
    // The other operational endpoints stay open.
    let (status, _) = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK);
}

async fn other_methods_on_metrics_are_405(app: TestApp) {
    for method in [Method::POST, Method::PUT, Method::DELETE] {
        let (status, body) = app
            .call(method.clone(), "/metrics", Some(&app.root), None)
            .await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method}: {body}");
        assert_eq!(body["code"], "method_not_allowed");
    }
}
