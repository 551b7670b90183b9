//! Destination and velocity alerts, checked as calls arrive: one event per (rule, subject,
//! 10-minute window) listing the calls that fired it, whichever way the calls come (JSON
//! and CSV posts, an upload, a push) and however often (a repeated call is a duplicate and
//! fires nothing), velocity counted across requests, late calls and two requests stored at
//! once; `POST /alert_rules/{id}/test` answers for both kinds and records nothing.

use chrono::{Duration, SecondsFormat, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::alert_evaluation::{events, post_calls};
use crate::backend_cases;
use crate::billable_calls::{outbound, world, World};
use crate::cdr_arrivals::{fs_document, fs_source, master_csv, pbx, push, upload};
use crate::common::{id, Backend, TestApp};

backend_cases!(
    destination_events_group_the_flagged_calls,
    velocity_fires_once_per_subject_and_window,
    velocity_counts_calls_stored_at_once,
    velocity_per_client_counts_its_scope_among_a_month_of_calls,
    uploads_and_pushes_are_checked
);

/// An outbound call of client A from `caller` to `callee`.
pub(crate) fn call(w: &World, callid: &str, start: &str, caller: &str, callee: &str) -> Value {
    let mut c = outbound(w, callid, start, json!("60"));
    c["caller"] = json!(caller);
    c["callee"] = json!(callee);
    c
}

const CUBA: &str = "+5372345678";
const SPAIN: &str = "+34600111222";
const CALLER: &str = "+34911000001";

fn sorted_calls(event: &Value) -> Vec<String> {
    let mut calls: Vec<String> = serde_json::from_value(event["calls"].clone()).unwrap();
    calls.sort();
    calls
}

fn recent(seconds_ago: i64) -> String {
    (Utc::now() - Duration::seconds(seconds_ago)).to_rfc3339_opts(SecondsFormat::Secs, true)
}

async fn destination_events_group_the_flagged_calls(backend: Backend) {
    let app = TestApp::start(backend).await;
    let w = world(&app).await;
    let op = w.t.operator_a.clone();
    let block = id(&app
        .create(
            "/alert_rules",
            &op,
            json!({"name": "No Cuba", "kind": "destination", "mode": "block",
                   "countries": ["CU"], "prefixes": ["+882"], "email": "noc@example.com"}),
        )
        .await);
    // Scoped to wholesale clients (client A is a vpbx), and one disabled: neither fires.
    let wholesale = id(&app
        .create(
            "/alert_rules",
            &op,
            json!({"name": "Wholesale in Spain", "kind": "destination", "mode": "allow",
                   "countries": ["ES"], "clientType": "wholesale"}),
        )
        .await);
    let disabled = id(&app
        .create(
            "/alert_rules",
            &op,
            json!({"name": "Off", "kind": "destination", "mode": "block", "countries": ["CU"],
                   "enabled": false}),
        )
        .await);

    post_calls(
        &app,
        &op,
        json!([
            call(&w, "d1", "2026-01-05T10:01:00Z", CALLER, CUBA),
            call(&w, "d2", "2026-01-05T10:03:00Z", CALLER, "+882135551234"),
            call(&w, "d3", "2026-01-05T10:04:00Z", CALLER, SPAIN),
        ]),
    )
    .await;
    let fired = events(&app, &op, &block).await;
    assert_eq!(fired.len(), 1, "{fired:?}");
    let e = &fired[0];
    assert_eq!(
        (
            &e["kind"],
            &e["measured"],
            &e["threshold"],
            &e["emailStatus"],
            &e["webhookStatus"]
        ),
        (
            &json!("destination"),
            &json!("2"),
            &json!("block: CU, +882"),
            &json!("pending"),
            &json!("none")
        )
    );
    assert_eq!(
        e["subject"],
        json!({"type": "client", "id": w.t.client_a, "name": "Client A"})
    );
    assert_eq!(
        e["window"],
        json!(["2026-01-05T10:00:00Z", "2026-01-05T10:10:00Z"])
    );
    assert_eq!(sorted_calls(e), ["d1", "d2"]);

    // A CSV post in the same ten minutes joins the event; d1 again is a duplicate.
    let mut csv =
        String::from("callid,startTime,duration,caller,callee,direction,client,carrier\n");
    for (callid, start) in [
        ("d4", "2026-01-05T10:07:00Z"),
        ("d1", "2026-01-05T10:01:00Z"),
    ] {
        csv.push_str(&format!(
            "{callid},{start},60,{CALLER},{CUBA},outbound,{},{}\n",
            w.t.client_a, w.carrier
        ));
    }
    let res = app
        .http
        .post(app.url("/billable_calls"))
        .bearer_auth(&op)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let summary: Value = res.json().await.unwrap();
    assert_eq!(
        (&summary["accepted"], &summary["duplicates"]),
        (&json!(1), &json!(1))
    );
    let fired = events(&app, &op, &block).await;
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0]["measured"], "3");
    assert_eq!(sorted_calls(&fired[0]), ["d1", "d2", "d4"]);
    assert_eq!(fired[0]["id"], e["id"]);

    // The next ten minutes are another event.
    post_calls(
        &app,
        &op,
        json!([call(&w, "d5", "2026-01-05T10:12:00Z", CALLER, CUBA)]),
    )
    .await;
    let fired = events(&app, &op, &block).await;
    assert_eq!(fired.len(), 2, "{fired:?}");
    assert_eq!(
        (&fired[1]["measured"], &fired[1]["window"][0]),
        (&json!("1"), &json!("2026-01-05T10:10:00Z"))
    );
    assert!(events(&app, &op, &wholesale).await.is_empty());
    assert!(events(&app, &op, &disabled).await.is_empty());

    // Enabling a rule applies to the next calls at once.
    let (status, _) = app
        .patch(
            &format!("/alert_rules/{disabled}"),
            &op,
            json!({"enabled": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    post_calls(
        &app,
        &op,
        json!([call(&w, "d6", "2026-01-05T11:00:00Z", CALLER, CUBA)]),
    )
    .await;
    assert_eq!(events(&app, &op, &disabled).await.len(), 1);

    // The test operation says what the rule flags among the last day's calls, and records
    // nothing.
    post_calls(
        &app,
        &op,
        json!([
            call(&w, "r1", &recent(60), CALLER, CUBA),
            call(&w, "r2", &recent(50), CALLER, SPAIN)
        ]),
    )
    .await;
    let before = events(&app, &op, &block).await.len();
    let (status, test) = app
        .post(&format!("/alert_rules/{block}/test"), &op, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{test}");
    assert_eq!(test["findings"].as_array().unwrap().len(), 1, "{test}");
    let finding = &test["findings"][0];
    assert_eq!(
        (
            &finding["measured"],
            &finding["fires"],
            &finding["threshold"]
        ),
        (&json!("1"), &json!(true), &json!("block: CU, +882"))
    );
    assert_eq!(finding["subject"]["id"], w.t.client_a.as_str());
    assert_eq!(events(&app, &op, &block).await.len(), before);
    let (status, test) = app
        .post(&format!("/alert_rules/{wholesale}/test"), &op, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{test}");
    assert_eq!(test["findings"], json!([]));
}

async fn velocity_fires_once_per_subject_and_window(backend: Backend) {
    let app = TestApp::start(backend).await;
    let w = world(&app).await;
    let op = w.t.operator_a.clone();
    let rule = id(&app
        .create(
            "/alert_rules",
            &op,
            json!({"name": "Burst", "kind": "velocity", "per": "caller", "maxCalls": 3,
                   "minutes": 5, "email": "noc@example.com"}),
        )
        .await);
    let day = |t: &str| format!("2026-01-06T{t}Z");
    let from = |callid: &str, t: &str| call(&w, callid, &day(t), CALLER, SPAIN);
    // Three calls within five minutes, over two requests: not more than 3.
    post_calls(
        &app,
        &op,
        json!([from("v1", "10:00:00"), from("v2", "10:01:00")]),
    )
    .await;
    post_calls(&app, &op, json!([from("v3", "10:02:00")])).await;
    assert!(events(&app, &op, &rule).await.is_empty());
    // The fourth fires.
    post_calls(&app, &op, json!([from("v4", "10:03:30")])).await;
    let fired = events(&app, &op, &rule).await;
    assert_eq!(fired.len(), 1, "{fired:?}");
    let e = &fired[0];
    assert_eq!(
        (&e["kind"], &e["measured"], &e["threshold"]),
        (&json!("velocity"), &json!("4"), &json!("3"))
    );
    assert_eq!(
        e["subject"],
        json!({"type": "caller", "id": CALLER, "name": CALLER})
    );
    assert_eq!(e["window"], json!([day("10:00:00"), day("10:10:00")]));
    assert_eq!(sorted_calls(e), ["v1", "v2", "v3", "v4"]);

    // A fifth in the same ten minutes updates the event; a late call before them and one
    // outside the five minutes change nothing more; another caller's calls are theirs.
    post_calls(&app, &op, json!([from("v5", "10:04:00")])).await;
    post_calls(
        &app,
        &op,
        json!([
            from("v6", "10:09:30"),
            from("v7", "09:58:00"),
            call(&w, "o1", &day("10:00:00"), "+34911000002", SPAIN),
            call(&w, "o2", &day("10:00:01"), "+34911000002", SPAIN),
        ]),
    )
    .await;
    let fired = events(&app, &op, &rule).await;
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0]["measured"], "5");
    assert_eq!(sorted_calls(&fired[0]), ["v1", "v2", "v3", "v4", "v5"]);
    assert_eq!(fired[0]["id"], e["id"]);

    // Four calls in the next group's minutes: a second event.
    let next: Vec<Value> = (0..4)
        .map(|i| from(&format!("n{i}"), &format!("10:2{i}:00")))
        .collect();
    post_calls(&app, &op, json!(next)).await;
    let fired = events(&app, &op, &rule).await;
    assert_eq!(fired.len(), 2, "{fired:?}");
    assert_eq!(fired[1]["window"][0], day("10:20:00"));

    // The test operation counts each caller's calls of the last five minutes.
    let burst: Vec<Value> = (0..4)
        .map(|i| call(&w, &format!("b{i}"), &recent(30 + i), "+34911000099", SPAIN))
        .collect();
    post_calls(&app, &op, json!(burst)).await;
    let before = events(&app, &op, &rule).await.len();
    let (status, test) = app
        .post(&format!("/alert_rules/{rule}/test"), &op, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{test}");
    let findings = test["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{test}");
    assert_eq!(
        (
            &findings[0]["subject"]["id"],
            &findings[0]["measured"],
            &findings[0]["fires"]
        ),
        (&json!("+34911000099"), &json!("4"), &json!(true))
    );
    assert_eq!(events(&app, &op, &rule).await.len(), before);
}

/// A client's calls of a whole month, uploaded in one request (as a month's CDR file is):
/// per-client rules, one counting every call and one only calls to Cuba, fire for the
/// bursts and not for the steady calls around them, with each rule's own count.
async fn velocity_per_client_counts_its_scope_among_a_month_of_calls(backend: Backend) {
    let app = TestApp::start(backend).await;
    let w = world(&app).await;
    let op = w.t.operator_a.clone();
    let all = id(&app
        .create(
            "/alert_rules",
            &op,
            json!({"name": "Client burst", "kind": "velocity", "per": "client",
                   "maxCalls": 6, "minutes": 10}),
        )
        .await);
    let cuba = id(&app
        .create(
            "/alert_rules",
            &op,
            json!({"name": "Cuba burst", "kind": "velocity", "per": "client",
                   "maxCalls": 3, "minutes": 10, "destinationCountry": "CU"}),
        )
        .await);
    let start = chrono::NaiveDate::from_ymd_opt(2026, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    let at = |minutes: i64| {
        (start + Duration::minutes(minutes)).to_rfc3339_opts(SecondsFormat::Secs, true)
    };
    // Every 7 minutes through January, 200 caller numbers taking turns: at most 2 calls in
    // any 10 minutes.
    let mut rows: Vec<Value> = (0..31 * 24 * 60 / 7)
        .map(|i| {
            let caller = format!("+349110{:05}", i % 200);
            call(&w, &format!("m{i}"), &at(i * 7 + 3), &caller, SPAIN)
        })
        .collect();
    // 15 January from 12:00:30 to 12:03:50: four calls to Cuba and one to Spain. With the
    // steady calls at 11:57 and 12:04, the ten minutes to 12:04 hold seven calls, four of
    // them to Cuba.
    let burst = 14 * 24 * 60 + 12 * 60;
    for (i, callee) in [CUBA, CUBA, SPAIN, CUBA, CUBA].iter().enumerate() {
        let t = (start + Duration::minutes(burst) + Duration::seconds(30 + 50 * i as i64))
            .to_rfc3339_opts(SecondsFormat::Secs, true);
        rows.push(call(&w, &format!("burst{i}"), &t, CALLER, callee));
    }
    let (status, body) = app.post("/billable_calls", &op, json!(rows)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["accepted"], rows.len());

    let fired = events(&app, &op, &cuba).await;
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0]["measured"], "4");
    assert_eq!(
        sorted_calls(&fired[0]),
        ["burst0", "burst1", "burst3", "burst4"]
    );
    assert_eq!(fired[0]["subject"]["type"], "client");
    let fired = events(&app, &op, &all).await;
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0]["measured"], "7");
    assert_eq!(
        sorted_calls(&fired[0]),
        ["burst0", "burst1", "burst2", "burst3", "burst4", "m2982", "m2983"]
    );
    // The same calls again: duplicates, nothing more fires.
    let (status, body) = app.post("/billable_calls", &op, json!(rows)).await;
    assert_eq!((status, &body["accepted"]), (StatusCode::OK, &json!(0)));
    assert_eq!(events(&app, &op, &all).await.len(), 1);
    assert_eq!(events(&app, &op, &cuba).await.len(), 1);
}

/// Two requests stored at the same moment, each with 3 of a caller's calls, make 6 calls
/// within the window: each sees the other's calls, so the rule fires exactly once.
async fn velocity_counts_calls_stored_at_once(backend: Backend) {
    let app = TestApp::start(backend).await;
    let w = world(&app).await;
    let op = w.t.operator_a.clone();
    let rule = id(&app
        .create(
            "/alert_rules",
            &op,
            json!({"name": "Burst", "kind": "velocity", "per": "caller", "maxCalls": 5,
                   "minutes": 30}),
        )
        .await);
    for round in 0..3 {
        let caller = format!("+3491100010{round}");
        // Other callers' calls make each request's transaction last long enough to overlap;
        // the two parts are 20 minutes apart, so no row they write in common (a statistics
        // bucket) makes the second wait for the first.
        let batch = |part: usize| -> Value {
            let mut rows: Vec<Value> = (0..3)
                .map(|i| {
                    call(
                        &w,
                        &format!("c{round}-{part}-{i}"),
                        &format!("2026-01-07T1{round}:{}{i}:00Z", part * 2),
                        &caller,
                        SPAIN,
                    )
                })
                .collect();
            rows.extend((0..1000).map(|i| {
                call(
                    &w,
                    &format!("f{round}-{part}-{i}"),
                    &format!("2026-01-07T1{round}:{}5:00Z", part * 2),
                    &format!("+3492{part}{i:06}"),
                    SPAIN,
                )
            }));
            json!(rows)
        };
        let (a, b) = tokio::join!(
            app.post("/billable_calls", &op, batch(0)),
            app.post("/billable_calls", &op, batch(1))
        );
        assert_eq!((a.0, b.0), (StatusCode::OK, StatusCode::OK));
        let fired: Vec<Value> = events(&app, &op, &rule)
            .await
            .into_iter()
            .filter(|e| e["subject"]["id"] == caller.as_str())
            .collect();
        assert_eq!(fired.len(), 1, "round {round}: {fired:?}");
        assert_eq!(fired[0]["measured"], "6");
        assert_eq!(fired[0]["calls"].as_array().unwrap().len(), 6);
    }
}

async fn stored_to_spain(app: &TestApp, token: &str) -> Vec<String> {
    let (status, calls) = app
        .get(
            "/billable_calls?direction=outbound&destinationCountry=ES",
            token,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{calls}");
    calls
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["callid"].as_str().unwrap().to_string())
        .collect()
}

/// An upload and a push go through the same check: the block rule's events count every
/// stored call to Spain once, however often the file is sent.
async fn uploads_and_pushes_are_checked(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (_, operator, source, _) = pbx(&app, "Alerts").await;
    let rule = id(&app
        .create(
            "/alert_rules",
            &operator,
            json!({"name": "No Spain", "kind": "destination", "mode": "block",
                   "countries": ["ES"]}),
        )
        .await);
    let flagged = |events: &[Value]| -> i64 {
        events
            .iter()
            .map(|e| e["measured"].as_str().unwrap().parse::<i64>().unwrap())
            .sum()
    };
    let (status, import) = upload(&app, &operator, &source, master_csv().into_bytes()).await;
    assert_eq!(status, StatusCode::CREATED, "{import}");
    let to_spain = stored_to_spain(&app, &operator).await;
    assert!(!to_spain.is_empty());
    let fired = events(&app, &operator, &rule).await;
    assert_eq!(flagged(&fired), to_spain.len() as i64, "{fired:?}");
    for e in &fired {
        for c in sorted_calls(e) {
            assert!(to_spain.contains(&c), "{c} is not a stored call to Spain");
        }
    }
    // The same file again: duplicates only, nothing more fires.
    let (status, again) = upload(&app, &operator, &source, master_csv().into_bytes()).await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    assert_eq!(
        flagged(&events(&app, &operator, &rule).await),
        to_spain.len() as i64
    );

    // A pushed call to Spain is flagged too.
    let (pushed_to, secret) = fs_source(&app, &operator).await;
    let (status, pushed) = push(
        &app,
        &pushed_to,
        Some(("bearer", &secret)),
        "application/json",
        fs_document("p1", "912345678", false).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{pushed}");
    assert_eq!(pushed["accepted"], 1, "{pushed}");
    assert_eq!(
        stored_to_spain(&app, &operator).await.len(),
        to_spain.len() + 1
    );
    assert_eq!(
        flagged(&events(&app, &operator, &rule).await),
        to_spain.len() as i64 + 1
    );
}
