//! Spend and quality alerts evaluated by the runner over calls posted to
//! `/billable_calls`: one event per (rule, subject, window) however many passes run, late
//! calls and rerating counted, quality judged on the last closed window, and
//! `POST /alert_rules/{id}/test` answering the figures without recording anything.

use chrono::{Duration, SecondsFormat, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::backend_cases;
use crate::billable_calls::{outbound, world};
use crate::common::{id, Backend, TestApp};

backend_cases!(
    spend_fires_once_per_subject_and_window,
    quality_judges_the_last_closed_window,
    spend_figures_of_every_scope_match_the_statistics,
    evaluate_alerts_from_the_command_line,
    a_pass_records_each_new_event_once
);

fn at(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The rule's events, oldest window first.
pub(crate) async fn events(app: &TestApp, token: &str, rule: &str) -> Vec<Value> {
    let (status, found) = app
        .get(
            &format!("/alert_events?rule={rule}&_order[windowFrom]=asc"),
            token,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    found.as_array().unwrap().clone()
}

pub(crate) async fn post_calls(app: &TestApp, token: &str, rows: Value) {
    let (status, summary) = app.post("/billable_calls", token, rows).await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    assert_eq!(summary["rejected"], 0, "{summary}");
}

async fn spend_fires_once_per_subject_and_window(backend: Backend) {
    let app = TestApp::start(backend).await;
    let w = world(&app).await;
    let op = w.t.operator_a.clone();
    // Price 0.10 a minute for client A: three 60-second calls are 0.3000.
    let rule = app
        .create(
            "/alert_rules",
            &op,
            json!({"name": "Spend", "kind": "spend", "measure": "price", "window": "day",
                   "per": "client", "threshold": "0.25", "email": "noc@example.com"}),
        )
        .await;
    let rule_id = id(&rule);
    let calls_rule = app
        .create(
            "/alert_rules",
            &op,
            json!({"name": "Many calls", "kind": "spend", "measure": "calls", "window": "hour",
                   "threshold": "3"}),
        )
        .await;

    let now = Utc::now();
    let recent = |i: i64| at(now - Duration::seconds(30 + i));
    post_calls(
        &app,
        &op,
        json!([
            outbound(&w, "s1", &recent(1), json!("60")),
            outbound(&w, "s2", &recent(2), json!("60"))
        ]),
    )
    .await;
    // 0.20 is under the threshold: nothing fires, and the test answer says so.
    app.run_runner_once().await;
    assert!(events(&app, &op, &rule_id).await.is_empty());
    let (status, test) = app
        .post(&format!("/alert_rules/{rule_id}/test"), &op, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{test}");
    let finding = &test["findings"][0];
    assert_eq!(
        (&finding["measured"], &finding["fires"], &finding["calls"]),
        (&json!("0.2000"), &json!(false), &json!(2))
    );
    assert_eq!(finding["subject"]["id"], w.t.client_a.as_str());
    assert_eq!(finding["subject"]["name"], "Client A");

    // A third call reaches it: one event, with the figures and the calls.
    post_calls(
        &app,
        &op,
        json!([outbound(&w, "s3", &recent(3), json!("60"))]),
    )
    .await;
    let (_, test) = app
        .post(&format!("/alert_rules/{rule_id}/test"), &op, json!({}))
        .await;
    assert_eq!(test["findings"][0]["fires"], true, "{test}");
    // Testing records nothing.
    assert!(events(&app, &op, &rule_id).await.is_empty());
    // This rule's event and the whole-scope calls rule's (3 calls this hour).
    let pass = app.run_runner_once().await;
    assert_eq!(pass.alert_events, 2);
    let fired = events(&app, &op, &rule_id).await;
    assert_eq!(fired.len(), 1, "{fired:?}");
    let e = &fired[0];
    assert_eq!(
        (
            &e["measured"],
            &e["threshold"],
            &e["kind"],
            &e["ruleName"],
            &e["emailStatus"],
            &e["webhookStatus"]
        ),
        (
            &json!("0.3000"),
            &json!("0.25"),
            &json!("spend"),
            &json!("Spend"),
            // Sent in the same pass (no SMTP server here: into the outbox folder).
            &json!("sent"),
            &json!("none")
        )
    );
    assert_eq!(pass.alert_notifications, 1);
    assert_eq!(
        e["subject"],
        json!({"type": "client", "id": w.t.client_a, "name": "Client A"})
    );
    let mut calls: Vec<String> = serde_json::from_value(e["calls"].clone()).unwrap();
    calls.sort();
    assert_eq!(calls, ["s1", "s2", "s3"]);
    // The window is today in Madrid (the brand's zone), a 23-, 24- or 25-hour day.
    let from = callcsv::fields::parse_time(e["window"][0].as_str().unwrap()).unwrap();
    let to = callcsv::fields::parse_time(e["window"][1].as_str().unwrap()).unwrap();
    let madrid: chrono_tz::Tz = "Europe/Madrid".parse().unwrap();
    let local_from = from.and_utc().with_timezone(&madrid);
    assert_eq!(local_from.format("%H:%M").to_string(), "00:00");
    assert!((23..=25).contains(&(to - from).num_hours()));
    assert!(from <= now.naive_utc() && now.naive_utc() < to);

    // More calls (a late one included), more passes: still one event this day.
    post_calls(
        &app,
        &op,
        json!([
            outbound(&w, "s4", &recent(4), json!("600")),
            outbound(&w, "s5", &at(now - Duration::minutes(50)), json!("60"))
        ]),
    )
    .await;
    app.run_runner_once().await;
    app.run_runner_once().await;
    assert_eq!(events(&app, &op, &rule_id).await.len(), 1);
    // The whole-scope calls rule fired once too, with no subject.
    let whole = events(&app, &op, &id(&calls_rule)).await;
    assert_eq!(whole.len(), 1, "{whole:?}");
    assert!(whole[0]["subject"].is_null());

    // A client administrator cannot test the brand's rule; a bad id is a 400.
    let (status, _) = app
        .post(
            &format!("/alert_rules/{rule_id}/test"),
            &w.t.client_admin_a,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.post("/alert_rules/nope/test", &op, json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // A velocity rule is tested over its last minutes: the caller's four calls of the last
    // minute are not more than 5.
    let velocity = app
        .create(
            "/alert_rules",
            &op,
            json!({"name": "Burst", "kind": "velocity", "per": "caller", "maxCalls": 5, "minutes": 1}),
        )
        .await;
    let (status, answer) = app
        .post(
            &format!("/alert_rules/{}/test", id(&velocity)),
            &op,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let finding = &answer["findings"][0];
    assert_eq!(
        (
            &finding["measured"],
            &finding["threshold"],
            &finding["fires"]
        ),
        (&json!("4"), &json!("5"), &json!(false)),
        "{answer}"
    );
    assert_eq!(
        finding["subject"],
        json!({"type": "caller", "id": "+34911000001", "name": "+34911000001"})
    );
}

async fn quality_judges_the_last_closed_window(backend: Backend) {
    // No grace: an hour is judged as soon as it has closed.
    let app = TestApp::start_with(backend, &[("CALLCSV_ALERT_GRACE_SECONDS", "0")]).await;
    let w = world(&app).await;
    let op = w.t.operator_a.clone();
    let madrid: chrono_tz::Tz = "Europe/Madrid".parse().unwrap();
    // Not in the last seconds of an hour: the windows below stay the last closed ones for
    // the test's few seconds.
    let minute = Utc::now().naive_utc().and_utc().timestamp() % 3600;
    if minute > 3600 - 40 {
        tokio::time::sleep(std::time::Duration::from_secs((3600 - minute + 1) as u64)).await;
    }
    let now = Utc::now().naive_utc();
    let zone = callcsv::alerts::windows::Span::Hour;
    let current = callcsv::alerts::windows::window_of(zone, madrid, now);
    let last = callcsv::alerts::windows::previous_window(zone, madrid, current);
    let before = callcsv::alerts::windows::previous_window(zone, madrid, last);
    let in_window = |win: callcsv::alerts::windows::Window, i: i64| {
        at((win.from + Duration::seconds(60 * i + 1)).and_utc())
    };

    // ACD above 100 seconds, over at least 4 calls; calls up by 3 on the hour before.
    let acd = app
        .create(
            "/alert_rules",
            &op,
            json!({"name": "Long calls", "kind": "quality", "metric": "acd", "window": "hour",
                   "condition": "above", "value": "100", "minCalls": 4}),
        )
        .await;
    let rises = app
        .create(
            "/alert_rules",
            &op,
            json!({"name": "More calls", "kind": "quality", "metric": "calls", "window": "hour",
                   "condition": "risesBy", "value": "3", "minCalls": 1}),
        )
        .await;
    let percent = app
        .create(
            "/alert_rules",
            &op,
            json!({"name": "Calls doubled", "kind": "quality", "metric": "calls", "window": "hour",
                   "condition": "risesByPercent", "value": "100", "minCalls": 1}),
        )
        .await;
    // Three long calls in the last closed hour: under minCalls, nothing fires.
    let mut rows = vec![];
    for i in 0..3 {
        rows.push(outbound(
            &w,
            &format!("q{i}"),
            &in_window(last, i),
            json!("200"),
        ));
    }
    post_calls(&app, &op, json!(rows)).await;
    app.run_runner_once().await;
    assert!(events(&app, &op, &id(&acd)).await.is_empty());
    // The hour before had no calls: no previous value, no relative alert.
    assert!(events(&app, &op, &id(&rises)).await.is_empty());
    assert!(events(&app, &op, &id(&percent)).await.is_empty());

    // A fourth call, and two calls the hour before: ACD 200 > 100 over 4 calls fires;
    // calls rose from 2 to 4 (+2 < 3: no) and by 100 % (fires).
    post_calls(
        &app,
        &op,
        json!([
            outbound(&w, "q3", &in_window(last, 3), json!("200")),
            outbound(&w, "p1", &in_window(before, 1), json!("10")),
            outbound(&w, "p2", &in_window(before, 2), json!("10"))
        ]),
    )
    .await;
    // Calls in the current, open hour do not count.
    post_calls(
        &app,
        &op,
        json!([outbound(
            &w,
            "c1",
            &at(Utc::now() - Duration::seconds(1)),
            json!("1")
        )]),
    )
    .await;
    app.run_runner_once().await;
    app.run_runner_once().await;
    let fired = events(&app, &op, &id(&acd)).await;
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(
        (&fired[0]["measured"], &fired[0]["threshold"]),
        (&json!("200.0"), &json!("100"))
    );
    assert_eq!(
        fired[0]["window"],
        json!([callcsv::fields::ts(last.from), callcsv::fields::ts(last.to)])
    );
    assert_eq!(fired[0]["calls"].as_array().unwrap().len(), 4);
    assert!(events(&app, &op, &id(&rises)).await.is_empty());
    let doubled = events(&app, &op, &id(&percent)).await;
    assert_eq!(doubled.len(), 1);
    assert_eq!(
        (&doubled[0]["measured"], &doubled[0]["previous"]),
        (&json!("4"), &json!("2"))
    );
    // The test operation shows the same figures for the last closed hour.
    let (status, test) = app
        .post(
            &format!("/alert_rules/{}/test", id(&percent)),
            &op,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{test}");
    assert_eq!(
        (
            &test["findings"][0]["measured"],
            &test["findings"][0]["previous"],
            &test["findings"][0]["fires"]
        ),
        (&json!("4"), &json!("2"), &json!(true))
    );
}

/// Spend rules of every scope the statistics' rollup answers (and two it does not: a
/// direction, a carrier per client), evaluated in one pass that reads each window's sums
/// once for all of them: each subject's figures equal `/stats` with the same filters over
/// the finding's window, computed for that rule alone.
async fn spend_figures_of_every_scope_match_the_statistics(backend: Backend) {
    let app = TestApp::start(backend).await;
    let w = world(&app).await;
    let op = w.t.operator_a.clone();
    let carrier2 = id(&app
        .create(
            "/carriers",
            &op,
            json!({"brand": w.t.brand_a, "name": "Carrier 2"}),
        )
        .await);
    let client2 = app
        .client(&app.root, &w.t.brand_a, "Client A2", "retail")
        .await;
    let endpoint = id(&app
        .create(
            "/endpoints",
            &op,
            json!({"client": w.t.client_a, "type": "User", "name": "Reception"}),
        )
        .await);
    // Calls of the last minutes: two clients, two carriers, Spain and the UK (unrated), an
    // endpoint on some, an inbound one.
    let mut rows = vec![];
    for i in 0..24 {
        let mut c = outbound(
            &w,
            &format!("s{i}"),
            &at(Utc::now() - Duration::seconds(60 + i)),
            json!(30 + i),
        );
        if i % 2 == 1 {
            c["carrier"] = json!(carrier2);
        }
        if i % 3 == 1 {
            c["client"] = json!(client2);
        } else if i % 3 == 2 {
            c["endpointId"] = json!(endpoint);
        }
        if i % 4 == 3 {
            c["callee"] = json!("+442079460000");
        }
        rows.push(c);
    }
    rows.push(
        json!({"callid": "in-1", "startTime": at(Utc::now() - Duration::seconds(90)),
        "duration": 30, "caller": "+33142000000", "callee": "+34911000001",
        "direction": "inbound", "ddi": w.ddi, "ddiProvider": w.provider}),
    );
    let (status, summary) = app.post("/billable_calls", &op, json!(rows)).await;
    assert_eq!(
        (status, &summary["accepted"]),
        (StatusCode::OK, &json!(25)),
        "{summary}"
    );

    let scopes = [
        (json!({}), None),
        (json!({}), Some("client")),
        (json!({}), Some("carrier")),
        (json!({}), Some("endpoint")),
        (json!({"client": w.t.client_a}), Some("endpoint")),
        (json!({"clientType": "retail"}), Some("client")),
        (json!({"carrier": carrier2}), Some("carrier")),
        (json!({"carrier": w.carrier}), None),
        (json!({"destinationCountry": "GB"}), Some("client")),
        (json!({"destinationCountry": "ES,GB"}), None),
        (
            json!({"client": w.t.client_a, "endpointType": "User", "endpointId": endpoint}),
            None,
        ),
        // Not in the rollup: read from the calls.
        (json!({"direction": "outbound"}), Some("client")),
        (json!({"carrier": carrier2}), Some("client")),
    ];
    for (i, (scope, per)) in scopes.iter().enumerate() {
        for measure in ["calls", "price"] {
            let mut body = json!({"name": format!("scope {i} {measure}"), "kind": "spend",
                "measure": measure, "window": "day", "threshold": "1"});
            for (k, v) in scope.as_object().unwrap() {
                body[k] = v.clone();
            }
            if let Some(per) = per {
                body["per"] = json!(per);
            }
            let rule = id(&app.create("/alert_rules", &op, body.clone()).await);
            let (status, test) = app
                .post(&format!("/alert_rules/{rule}/test"), &op, json!({}))
                .await;
            assert_eq!(status, StatusCode::OK, "{test}");
            for finding in test["findings"].as_array().unwrap() {
                let window = &finding["window"];
                let mut query = format!(
                    "/stats?brand={}&startTime[after]={}&startTime[strictly_before]={}",
                    w.t.brand_a,
                    window[0].as_str().unwrap().replace('+', "%2B"),
                    window[1].as_str().unwrap().replace('+', "%2B"),
                );
                for (k, v) in scope.as_object().unwrap() {
                    query.push_str(&format!("&{k}={}", v.as_str().unwrap()));
                }
                if let Some(per) = per {
                    query.push_str(&format!("&groupBy={per}"));
                }
                let (status, stats) = app.get(&query, &op).await;
                assert_eq!(status, StatusCode::OK, "{query}: {stats}");
                let subject = finding["subject"]["id"].clone();
                let row = stats["rows"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|r| match &r["key"] {
                        Value::Object(k) if !k.is_empty() => k.values().next() == Some(&subject),
                        _ => subject.is_null(),
                    })
                    .unwrap_or_else(|| panic!("{body}: no /stats row for {finding} in {stats}"));
                let expected = if measure == "calls" {
                    row["calls"].to_string()
                } else {
                    row["price"].as_str().unwrap_or("0").to_string()
                };
                let measured = finding["measured"].as_str().unwrap();
                assert_eq!(
                    rust_decimal::Decimal::from_str_exact(measured).unwrap(),
                    rust_decimal::Decimal::from_str_exact(&expected).unwrap(),
                    "{body}: {finding} vs {row}"
                );
            }
            // Every rule had calls to judge.
            assert!(
                !test["findings"].as_array().unwrap().is_empty(),
                "{body}: {test}"
            );
        }
    }
}

/// Runs `callcsv evaluate-alerts --at <at>` in another process on the app's database.
fn evaluate_alerts_at(app: &TestApp, at: &str) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_callcsv"));
    for (key, _) in std::env::vars() {
        if key.starts_with("CALLCSV_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("CALLCSV_DATA_DIR", app.data_dir.path())
        .env("CALLCSV_LOG", "warn")
        .args(["evaluate-alerts", "--at", at]);
    if let Some(url) = app.database_url() {
        cmd.env("CALLCSV_DATABASE_URL", url);
    }
    cmd.output().unwrap()
}

/// What one `callcsv evaluate-alerts --at <at>` pass answers.
fn pass_at(app: &TestApp, at: &str) -> Value {
    let out = evaluate_alerts_at(app, at);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `callcsv evaluate-alerts --at` in another process on the app's database: one pass as if
/// it were then, its events recorded once; a time it cannot read is refused.
async fn evaluate_alerts_from_the_command_line(backend: Backend) {
    let app = TestApp::start(backend).await;
    let w = world(&app).await;
    let op = w.t.operator_a.clone();
    let rule = id(&app
        .create(
            "/alert_rules",
            &op,
            json!({"name": "Busy day", "kind": "spend", "measure": "calls", "window": "day",
                   "threshold": "2"}),
        )
        .await);
    post_calls(
        &app,
        &op,
        json!([
            outbound(&w, "d1", "2026-01-05T09:00:00Z", json!(60)),
            outbound(&w, "d2", "2026-01-05T10:00:00Z", json!(60)),
        ]),
    )
    .await;
    let evaluate = |at: &str| evaluate_alerts_at(&app, at);
    let out = evaluate("2026-01-05T12:00:00Z");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let done: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (&done["rules"], &done["recorded"]),
        (&json!(1), &json!(1)),
        "{done}"
    );
    let fired = events(&app, &op, &rule).await;
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0]["measured"], "2");
    // The brand's day (Madrid): from 23:00 UTC the day before.
    assert_eq!(fired[0]["window"][0], "2026-01-04T23:00:00Z");
    // Again: already recorded.
    let done: Value = serde_json::from_slice(&evaluate("2026-01-05T13:00:00Z").stdout).unwrap();
    assert_eq!(done["recorded"], 0, "{done}");
    let out = evaluate("yesterday");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--at \"yesterday\": not an RFC 3339 time")
    );
    assert_eq!(events(&app, &op, &rule).await.len(), 1);
}

/// A pass that records events of several rules and subjects at once records each once,
/// with its figures and calls; an event recorded by an earlier pass (before its rule's
/// threshold changed) is left as it was, and a later pass records nothing.
async fn a_pass_records_each_new_event_once(backend: Backend) {
    let app = TestApp::start(backend).await;
    let w = world(&app).await;
    let op = w.t.operator_a.clone();
    let carrier2 = id(&app
        .create(
            "/carriers",
            &op,
            json!({"brand": w.t.brand_a, "name": "Carrier 2"}),
        )
        .await);
    let client2 = app
        .client(&app.root, &w.t.brand_a, "Client A2", "retail")
        .await;
    // Between 10:00 and 11:00 UTC: client A three calls, client A2 one; carrier 2 one.
    let mut d2 = outbound(&w, "d2", "2026-01-05T10:10:00Z", json!(60));
    d2["carrier"] = json!(carrier2);
    let mut d4 = outbound(&w, "d4", "2026-01-05T10:30:00Z", json!(60));
    d4["client"] = json!(client2);
    post_calls(
        &app,
        &op,
        json!([
            outbound(&w, "d1", "2026-01-05T10:00:00Z", json!(60)),
            d2,
            outbound(&w, "d3", "2026-01-05T10:20:00Z", json!(60)),
            d4
        ]),
    )
    .await;
    let rule = |body: Value| {
        let app = &app;
        let op = op.clone();
        async move { id(&app.create("/alert_rules", &op, body).await) }
    };
    // Three calls a day per client: client A only, on a first pass.
    let per_client = rule(
        json!({"name": "Per client", "kind": "spend", "measure": "calls",
        "window": "day", "per": "client", "threshold": "3"}),
    )
    .await;
    assert_eq!(pass_at(&app, "2026-01-05T11:30:00Z")["recorded"], 1);

    // One call is enough now (client A's event is recorded already, client A2's is new),
    // and three more rules: per carrier, the whole brand, the quality of the hour.
    let (status, patched) = app
        .patch(
            &format!("/alert_rules/{per_client}"),
            &op,
            json!({"threshold": "1"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    let per_carrier = rule(
        json!({"name": "Per carrier", "kind": "spend", "measure": "calls",
        "window": "day", "per": "carrier", "threshold": "1"}),
    )
    .await;
    let whole = rule(
        json!({"name": "Busy day", "kind": "spend", "measure": "calls",
        "window": "day", "threshold": "4"}),
    )
    .await;
    let hour = rule(
        json!({"name": "Busy hour", "kind": "quality", "metric": "calls",
        "window": "hour", "condition": "above", "value": "3", "minCalls": 1}),
    )
    .await;
    let done = pass_at(&app, "2026-01-05T12:00:00Z");
    assert_eq!(
        (&done["rules"], &done["recorded"]),
        (&json!(4), &json!(5)),
        "{done}"
    );

    let subjects = |events: &[Value]| {
        let mut ids: Vec<String> = events
            .iter()
            .map(|e| e["subject"]["id"].as_str().unwrap_or("").to_string())
            .collect();
        ids.sort();
        ids
    };
    let calls = |e: &Value| -> Vec<String> { serde_json::from_value(e["calls"].clone()).unwrap() };
    let fired = events(&app, &op, &per_client).await;
    let mut expected = vec![w.t.client_a.clone(), client2.clone()];
    expected.sort();
    assert_eq!(subjects(&fired), expected, "{fired:?}");
    // The first pass's event is the one kept: its threshold was 3.
    let first = fired
        .iter()
        .find(|e| e["subject"]["id"] == w.t.client_a.as_str())
        .unwrap();
    assert_eq!(
        (&first["measured"], &first["threshold"]),
        (&json!("3"), &json!("3"))
    );
    let fired = events(&app, &op, &per_carrier).await;
    let mut expected = vec![w.carrier.clone(), carrier2.clone()];
    expected.sort();
    assert_eq!(subjects(&fired), expected, "{fired:?}");
    let second = fired
        .iter()
        .find(|e| e["subject"]["id"] == carrier2.as_str())
        .unwrap();
    assert_eq!(calls(second), ["d2"]);
    // Both carriers' events were read in one statement; each lists its own calls, latest
    // first.
    let first_carrier = fired
        .iter()
        .find(|e| e["subject"]["id"] == w.carrier.as_str())
        .unwrap();
    assert_eq!(calls(first_carrier), ["d4", "d3", "d1"]);
    assert_eq!(calls(first), ["d3", "d2", "d1"]);
    // Whole-scope events list the calls latest first.
    let fired = events(&app, &op, &whole).await;
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(calls(&fired[0]), ["d4", "d3", "d2", "d1"]);
    let fired = events(&app, &op, &hour).await;
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(
        fired[0]["window"],
        json!(["2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z"])
    );

    // Another pass in the same windows: nothing new.
    let done = pass_at(&app, "2026-01-05T12:05:00Z");
    assert_eq!(done["recorded"], 0, "{done}");
    for (rule, n) in [(&per_client, 2), (&per_carrier, 2), (&whole, 1), (&hour, 1)] {
        assert_eq!(events(&app, &op, rule).await.len(), n, "{rule}");
    }
}
