//! The console's alert pages: rules made and edited through a form that offers only the
//! chosen kind's settings (the operation's errors by field, a webhook's secret shown once),
//! a rule tested now, the events with filters and on the dashboard; per role (client
//! administrators: their client's rules only, never cost), with CSRF and other tenants' ids.

use chrono::{Duration, SecondsFormat, Utc};
use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::billable_calls::{outbound, world};
use crate::common::TestApp;
use crate::console::Browser;

backend_tests!(console_alert_rules_tests_and_events_per_role);

async fn console_alert_rules_tests_and_events_per_role(app: TestApp) {
    let w = world(&app).await;
    let op = w.t.operator_a.clone();
    let mut b = Browser::signed_in(&app, "op-a", "operator-pw").await;

    // The kind chosen first; its form offers its settings only.
    let list = b.get("/ui/alert_rules").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list
        .body
        .contains("href=\"/ui/alert_rules/new?kind=spend\""));
    let form = b.get("/ui/alert_rules/new?kind=spend").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.body.contains("name=\"measure\""));
    assert!(form.body.contains("<option value=\"cost\""));
    assert!(!form.body.contains("name=\"mode\""));
    assert!(form.body.contains("<option value=\"spend\" selected>"));
    let csrf = form.csrf();
    let spend = |threshold: &'static str| {
        vec![
            ("name", "<i>Spend</i>"),
            ("kind", "spend"),
            ("enabled", "on"),
            ("measure", "price"),
            ("window", "day"),
            ("per", "client"),
            ("threshold", threshold),
            ("email", "noc@example.com"),
        ]
    };
    let refused = b.post("/ui/alert_rules", &spend("0.25")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let mut bad = spend("lots");
    bad.push(("_csrf", &csrf));
    bad.push(("webhookUrl", "ftp://hooks.example.com/x"));
    let bad = b.post("/ui/alert_rules", &bad).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body.contains("id=\"threshold-error\""), "{}", bad.body);
    assert!(
        bad.body.contains("webhook: url: http or https only"),
        "an error of no field of its own is listed: {}",
        bad.body
    );
    let mut good = spend("0.25");
    good.push(("_csrf", &csrf));
    good.push(("webhookUrl", "https://hooks.example.com/callcsv"));
    let made = b.post("/ui/alert_rules", &good).await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    assert!(made.body.contains("shown this once"), "{}", made.body);
    let secret = made
        .body
        .split("<code class=\"secret\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap();
    assert_eq!(secret.len(), 64, "{secret}");
    let (_, rules) = app.get("/alert_rules", &op).await;
    let rule = rules[0]["id"].as_str().unwrap().to_string();
    assert_eq!(rules[0]["threshold"], "0.25");
    assert_eq!(
        rules[0]["webhook"],
        json!({"url": "https://hooks.example.com/callcsv"})
    );
    let list = b.get("/ui/alert_rules").await;
    assert!(list.body.contains("&#60;i&#62;Spend&#60;/i&#62;"));
    assert!(!list.body.contains("<i>Spend"));
    assert!(list.body.contains("price per day, each client ≥ 0.25"));

    // Edited: the webhook kept (its secret not shown again); another kind's settings
    // appear with the operation's "required" once the kind changes.
    let edit = b.get(&format!("/ui/alert_rules/{rule}")).await;
    assert!(edit.body.contains("value=\"0.25\""), "{}", edit.body);
    assert!(edit.body.contains(&format!("/ui/alert_rules/{rule}/test")));
    assert!(!edit.body.contains(secret));
    let mut change = spend("0.35");
    change.push(("_csrf", &csrf));
    change.push(("webhookUrl", "https://hooks.example.com/callcsv"));
    let saved = b.post(&format!("/ui/alert_rules/{rule}"), &change).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let (_, r) = app.get(&format!("/alert_rules/{rule}"), &op).await;
    assert_eq!(r["threshold"], "0.35");
    change[1] = ("kind", "destination");
    let moved = b.post(&format!("/ui/alert_rules/{rule}"), &change).await;
    assert_eq!(moved.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(moved.body.contains("id=\"mode-error\""), "{}", moved.body);
    assert!(!moved.body.contains("name=\"measure\""));
    change[1] = ("kind", "spend");
    change[6] = ("threshold", "0.25");
    b.post(&format!("/ui/alert_rules/{rule}"), &change).await;

    // Calls over the threshold: tested now (nothing recorded), then fired by the runner.
    let now = Utc::now();
    let recent =
        |i: i64| (now - Duration::seconds(30 + i)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let (status, summary) = app
        .post(
            "/billable_calls",
            &op,
            json!([
                outbound(&w, "s1", &recent(1), json!("60")),
                outbound(&w, "s2", &recent(2), json!("60")),
                outbound(&w, "s3", &recent(3), json!("60"))
            ]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    let test = b.get(&format!("/ui/alert_rules/{rule}/test")).await;
    assert_eq!(test.status, StatusCode::OK, "{}", test.body);
    assert!(test.body.contains("client Client A"), "{}", test.body);
    assert!(test.body.contains("0.3000"), "{}", test.body);
    assert!(test.body.contains("⚠ yes"), "{}", test.body);
    let (_, none) = app.get("/alert_events", &op).await;
    assert_eq!(none, json!([]), "testing records nothing");
    app.run_runner_once().await;
    let events = b.get("/ui/alert_events").await;
    assert_eq!(events.status, StatusCode::OK, "{}", events.body);
    assert!(events.body.contains("0.3000 EUR"), "{}", events.body);
    assert!(events.body.contains("&#60;i&#62;Spend&#60;/i&#62;"));
    for call in ["s1", "s2", "s3"] {
        assert!(events.body.contains(call), "{call}");
    }
    let filtered = b
        .get(&format!("/ui/alert_events?rule={rule}&kind=quality"))
        .await;
    assert!(!filtered.body.contains("0.3000"), "{}", filtered.body);
    let filtered = b
        .get(&format!("/ui/alert_events?rule={rule}&kind=spend"))
        .await;
    assert!(filtered.body.contains("0.3000"));
    let subject_link = format!("/ui/alert_events?subject={}", w.t.client_a);
    assert!(events.body.contains(&subject_link), "{}", events.body);
    assert!(b.get(&subject_link).await.body.contains("0.3000"));
    let other_subject = b
        .get(&format!("/ui/alert_events?subject={}", w.t.client_b))
        .await;
    assert!(!other_subject.body.contains("0.3000"));
    let later = b.get("/ui/alert_events?from=2099-01-01T00:00").await;
    assert!(!later.body.contains("0.3000"));
    let bad = b.get("/ui/alert_events?from=yesterday").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let dashboard = b.get("/ui/").await;
    assert!(dashboard.body.contains("Latest alert events"));
    assert!(dashboard.body.contains("0.3000 EUR"));

    // A client administrator: its client's rules only, which never watch cost or carriers.
    let mut ca = Browser::signed_in(&app, "ca-a", "client-pw").await;
    let list = ca.get("/ui/alert_rules").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(
        !list.body.contains("Spend"),
        "a brand-level rule: {}",
        list.body
    );
    assert!(!ca.get("/ui/alert_events").await.body.contains("0.3000"));
    assert!(!ca.get("/ui/").await.body.contains("Latest alert events"));
    assert_eq!(
        ca.get(&format!("/ui/alert_rules/{rule}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        ca.get(&format!("/ui/alert_rules/{rule}/test")).await.status,
        StatusCode::NOT_FOUND
    );
    let form = ca.get("/ui/alert_rules/new?kind=spend").await;
    assert!(!form.body.contains("<option value=\"cost\""));
    assert!(!form.body.contains("name=\"carrier\""));
    assert!(!form.body.contains("name=\"client\""));
    let csrf_c = form.csrf();
    let made = ca
        .post(
            "/ui/alert_rules",
            &[
                ("_csrf", csrf_c.as_str()),
                ("name", "Our minutes"),
                ("kind", "spend"),
                ("enabled", "on"),
                ("measure", "minutes"),
                ("window", "month"),
                ("threshold", "1000"),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let own = made.location().rsplit('/').next().unwrap().to_string();
    let (_, r) = app.get(&format!("/alert_rules/{own}"), &op).await;
    assert_eq!(
        (r["level"].as_str(), r["client"].as_str()),
        (Some("client"), Some(w.t.client_a.as_str()))
    );

    // Another brand: 404 for the pages and the POSTs; the rule stays as it was.
    let mut other = Browser::signed_in(&app, "op-b", "operator-pw").await;
    let csrf_b = other.csrf().await;
    for path in [
        format!("/ui/alert_rules/{rule}"),
        format!("/ui/alert_rules/{rule}/test"),
        format!("/ui/alert_rules/{own}/delete"),
    ] {
        assert_eq!(
            other.get(&path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    assert!(!other.get("/ui/alert_events").await.body.contains("0.3000"));
    let page = other
        .post(
            &format!("/ui/alert_rules/{rule}/delete"),
            &[("_csrf", &csrf_b)],
        )
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);

    // Deleted with confirmation; its events stay.
    let confirm = b.get(&format!("/ui/alert_rules/{rule}/delete")).await;
    assert!(confirm.body.contains("Its events stay"), "{}", confirm.body);
    let gone = b
        .post(
            &format!("/ui/alert_rules/{rule}/delete"),
            &[("_csrf", &csrf)],
        )
        .await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER, "{}", gone.body);
    assert_eq!(
        app.get(&format!("/alert_rules/{rule}"), &op).await.0,
        StatusCode::NOT_FOUND
    );
    // (Without its rule, what the figure measured is no longer known: no currency.)
    assert!(b.get("/ui/alert_events").await.body.contains("0.3000"));
}
