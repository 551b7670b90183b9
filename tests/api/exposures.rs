//! Smaller exposures (issue 13, item 8): the rating plan of a call is not shown to client
//! administrators; a password change revokes earlier tokens; failed logins are throttled
//! per user name and per address.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::backend_cases;
use crate::backend_tests;
use crate::billable_calls::{outbound, world};
use crate::common::{Backend, TestApp, ROOT_PASSWORD, ROOT_USER};

backend_tests!(
    rating_plan_hidden_from_client_administrators,
    password_change_revokes_earlier_tokens,
);
backend_cases!(
    failed_logins_are_throttled_per_user,
    failed_logins_are_throttled_per_address
);

async fn csv_header(app: &TestApp, token: &str) -> Vec<String> {
    let res = app
        .http
        .get(app.url("/billable_calls"))
        .bearer_auth(token)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect()
}

async fn rating_plan_hidden_from_client_administrators(app: TestApp) {
    let w = world(&app).await;
    let row = outbound(&w, "c1", "2026-01-05T10:00:00Z", json!(60));
    let (_, summary) = app
        .post("/billable_calls", &w.t.operator_a, json!([row]))
        .await;
    assert_eq!(summary["accepted"], 1, "{summary}");

    // The brand operator sees it, in JSON and CSV.
    let (_, calls) = app.get("/billable_calls", &w.t.operator_a).await;
    assert_eq!(calls[0]["ratingPlan"], w.client_plan.as_str());
    assert!(csv_header(&app, &w.t.operator_a)
        .await
        .contains(&"ratingPlan".to_string()));

    // The client administrator does not: list, item and CSV stream.
    let client = &w.t.client_admin_a;
    let (_, calls) = app.get("/billable_calls", client).await;
    assert_eq!(calls.as_array().unwrap().len(), 1);
    assert!(calls[0].get("ratingPlan").is_none(), "{}", calls[0]);
    assert_eq!(calls[0]["price"], "0.1000", "the price stays");
    let call_id = calls[0]["id"].as_str().unwrap();
    let (_, call) = app.get(&format!("/billable_calls/{call_id}"), client).await;
    assert!(call.get("ratingPlan").is_none(), "{call}");
    let header = csv_header(&app, client).await;
    assert!(!header.contains(&"ratingPlan".to_string()), "{header:?}");
    assert!(header.contains(&"price".to_string()), "{header:?}");
}

async fn password_change_revokes_earlier_tokens(app: TestApp) {
    let brand = app.brand("B").await;
    let old = app.brand_operator(&brand, "op").await;
    let other_device = app.login("op", "operator-pw").await;
    let (_, me) = app.get("/administrators?username=op", &old).await;
    let me = me[0]["id"].as_str().unwrap().to_string();
    // A change that is not a password keeps tokens valid.
    let (status, body) = app
        .patch(
            &format!("/administrators/{me}"),
            &old,
            json!({"timezone": "UTC"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(app.get("/brands", &old).await.0, StatusCode::OK);

    let (status, body) = app
        .patch(
            &format!("/administrators/{me}"),
            &old,
            json!({"password": "a-new-password"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for token in [&old, &other_device] {
        let (status, body) = app.get("/brands", token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["code"], "token_revoked");
        let (status, _) = app
            .call(Method::POST, "/auth/refresh", Some(token), None)
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "no refresh either");
    }
    // The new password gives a working token; so does a change made by someone else.
    let new = app.login("op", "a-new-password").await;
    assert_eq!(app.get("/brands", &new).await.0, StatusCode::OK);
    let (status, _) = app
        .patch(
            &format!("/administrators/{me}"),
            &app.root,
            json!({"password": "set-by-root-1"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.get("/brands", &new).await.0, StatusCode::UNAUTHORIZED);
    // The root's own token was not touched.
    assert_eq!(app.get("/brands", &app.root).await.0, StatusCode::OK);
}

async fn login(
    app: &TestApp,
    username: &str,
    password: &str,
) -> (StatusCode, Option<String>, Value) {
    let res = app
        .http
        .post(app.url("/auth/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap();
    let status = res.status();
    let retry = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    (status, retry, res.json().await.unwrap_or(Value::Null))
}

/// Ten failures a minute per user name, whether it exists or not; then 429 with
/// Retry-After, even with the right password, and the same answer for both.
async fn failed_logins_are_throttled_per_user(backend: Backend) {
    // A high per-address limit, so only the per-name one is reached here.
    let app = TestApp::start_with(backend, &[("CALLCSV_LOGIN_FAILURES_PER_ADDRESS", "100")]).await;
    let mut answers = vec![];
    for user in [ROOT_USER, "nobody"] {
        for _ in 0..10 {
            let (status, _, _) = login(&app, user, "wrong").await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{user}");
        }
        let (status, retry, body) = login(&app, user, "wrong").await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{user}: {body}");
        let retry: u64 = retry.expect("Retry-After").parse().unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
        assert_eq!(body["code"], "too_many_requests");
        answers.push((status, body));
    }
    assert_eq!(
        answers[0], answers[1],
        "same answer for a known and an unknown user"
    );
    let (status, _, _) = login(&app, ROOT_USER, ROOT_PASSWORD).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
    // Another name from the same address is not held up.
    let brand = app.brand("B").await;
    let _ = app.brand_operator(&brand, "op").await;
}

async fn failed_logins_are_throttled_per_address(backend: Backend) {
    let app = TestApp::start_with(backend, &[("CALLCSV_LOGIN_FAILURES_PER_ADDRESS", "5")]).await;
    for i in 0..5 {
        let (status, _, _) = login(&app, &format!("user{i}"), "wrong").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, retry, body) = login(&app, ROOT_USER, ROOT_PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(retry.is_some());
}
