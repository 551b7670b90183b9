//! Strict input (issue 13, item 7): numbers that are plain digits, times from 1970 to 9999
//! without leap seconds wherever a time is read, `null` only where openapi.yaml allows it,
//! the `page` maximum, and a 414 with the error shape for an overlong URL.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::backend_tests;
use crate::billable_calls::{outbound, world};
use crate::common::{id, TestApp};

backend_tests!(
    call_numbers_are_plain_digits,
    call_times_are_1970_to_9999_without_leap_seconds,
    null_only_where_the_schema_allows_it,
    page_numbers_are_plain_and_bounded,
    overlong_urls_get_414,
);

/// The message of the one rejected row of an ingestion of `rows`.
async fn rejection(app: &TestApp, token: &str, rows: Value) -> String {
    let (status, summary) = app.post("/billable_calls", token, rows).await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    assert_eq!(summary["accepted"], 0, "{summary}");
    assert_eq!(summary["rejected"], 1, "{summary}");
    summary["errors"][0]["message"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn call_numbers_are_plain_digits(app: TestApp) {
    let w = world(&app).await;
    let op = &w.t.operator_a;
    for bad in ["1_000", "+5", "1e3", " 1 0", ".5", "5.", "0x10", "-1"] {
        let row = outbound(&w, "c1", "2026-01-05T10:00:00Z", json!(bad));
        let message = rejection(&app, op, json!([row])).await;
        assert!(message.starts_with("duration:"), "{bad:?}: {message}");
    }
    // The same rule in CSV ingestion.
    let csv = format!(
        "callid,startTime,duration,caller,callee,direction,client,carrier\n\
         c1,2026-01-05T10:00:00Z,1_000,+34911000001,+34600111222,outbound,{},{}\n",
        w.t.client_a, w.carrier
    );
    let res = app
        .http
        .post(app.url("/billable_calls"))
        .bearer_auth(op)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    let summary: Value = res.json().await.unwrap();
    assert_eq!(summary["rejected"], 1, "{summary}");
    assert!(summary["errors"][0]["message"]
        .as_str()
        .unwrap()
        .starts_with("duration:"));
    // Plain forms still work.
    for (callid, good) in [
        ("g1", json!("1000")),
        ("g2", json!("30.25")),
        ("g3", json!(12)),
    ] {
        let row = outbound(&w, callid, "2026-01-05T10:00:00Z", good);
        let (_, summary) = app.post("/billable_calls", op, json!([row])).await;
        assert_eq!(summary["accepted"], 1, "{summary}");
    }
}

async fn call_times_are_1970_to_9999_without_leap_seconds(app: TestApp) {
    let w = world(&app).await;
    let op = &w.t.operator_a;
    let bad_times = [
        "2016-12-31T23:59:60Z",
        "0000-01-01T00:00:00Z",
        "1969-12-31T23:59:59Z",
    ];
    for bad in bad_times {
        let row = outbound(&w, "c1", bad, json!(60));
        let message = rejection(&app, op, json!([row])).await;
        assert!(message.starts_with("startTime:"), "{bad}: {message}");
        // Query filters.
        let (status, body) = app
            .get(&format!("/billable_calls?startTime[after]={bad}"), op)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        // Rerating.
        let (status, body) = app
            .post(
                "/billable_calls/rerate",
                op,
                json!({"startTime[after]": bad, "startTime[strictly_before]": "2026-01-01T00:00:00Z"}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        // A scheduler's nextExecution.
        let (status, body) = app
            .post(
                "/call_csv_schedulers",
                op,
                json!({"name": "s", "nextExecution": bad}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert!(body["fields"]["nextExecution"].is_string(), "{body}");
    }
    let row = outbound(&w, "ok", "9999-12-31T23:59:59Z", json!(60));
    let (_, summary) = app.post("/billable_calls", op, json!([row])).await;
    assert_eq!(summary["accepted"], 1, "{summary}");
}

async fn null_only_where_the_schema_allows_it(app: TestApp) {
    let root = app.root.clone();
    // Create: `timezone` has a default but is not nullable; `email` is nullable.
    let (status, body) = app
        .post("/brands", &root, json!({"name": "B", "timezone": null}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["fields"]["timezone"].is_string(), "{body}");
    let brand = app
        .create("/brands", &root, json!({"name": "B", "email": null}))
        .await;
    let path = format!("/brands/{}", id(&brand));
    // Replace: same rule.
    let (status, body) = app
        .put(&path, &root, json!({"name": "B", "currency": null}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["fields"]["currency"].is_string(), "{body}");
    // What a GET returns can be sent back as is (its nulls are the nullable fields).
    let (_, current) = app.get(&path, &root).await;
    let (status, body) = app.put(&path, &root, current).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A merge patch's null keeps its RFC 7386 meaning: back to the default.
    let (_, _) = app.patch(&path, &root, json!({"currency": "USD"})).await;
    let (status, patched) = app.patch(&path, &root, json!({"currency": null})).await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["currency"], "EUR");

    let (status, body) = app
        .post(
            "/administrators",
            &root,
            json!({"username": "x", "password": "long-enough", "role": "platform", "active": null}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["fields"]["active"].is_string(), "{body}");

    // A scheduler's PATCH keeps its documented null (restores the default unit).
    let op = app.brand_operator(&id(&brand), "op").await;
    let (status, body) = app
        .post(
            "/call_csv_schedulers",
            &op,
            json!({"name": "s", "unit": null}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let s = app
        .create(
            "/call_csv_schedulers",
            &op,
            json!({"name": "s", "unit": "week"}),
        )
        .await;
    let (status, s) = app
        .patch(
            &format!("/call_csv_schedulers/{}", id(&s)),
            &op,
            json!({"unit": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{s}");
    assert_eq!(s["unit"], "month");
}

async fn page_numbers_are_plain_and_bounded(app: TestApp) {
    let max = callcsv::api::MAX_PAGE;
    let (status, _) = app.get(&format!("/brands?page={max}"), &app.root).await;
    assert_eq!(status, StatusCode::OK);
    for bad in [
        format!("{}", max + 1),
        "%2B1".into(),
        "0".into(),
        "1_0".into(),
    ] {
        let (status, body) = app.get(&format!("/brands?page={bad}"), &app.root).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "page={bad}: {body}");
    }
    // openapi.yaml declares the same maximum.
    let spec: serde_norway::Value =
        serde_norway::from_str(&std::fs::read_to_string("openapi.yaml").unwrap()).unwrap();
    let declared = &spec["components"]["parameters"]["Page"]["schema"]["maximum"];
    assert_eq!(declared.as_i64(), Some(max), "{declared:?}");
}

async fn overlong_urls_get_414(app: TestApp) {
    for length in [9 * 1024, 60_000] {
        let path = format!("/brands?name={}", "a".repeat(length));
        let res = app
            .http
            .get(app.url(&path))
            .bearer_auth(&app.root)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::URI_TOO_LONG, "{length} bytes");
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"));
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], "uri_too_long", "{body}");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains(&path.len().to_string()), "{message}");
    }
    // A URL under the limit is read as usual.
    let (status, _) = app
        .get(&format!("/brands?name={}", "a".repeat(4000)), &app.root)
        .await;
    assert_eq!(status, StatusCode::OK);

    // Past 64 KiB (100 kB, 200 kB: more than the HTTP client here sends) the HTTP parser
    // itself used to answer, with an empty 400 or 431, before any of the service's code.
    // On one connection: a request with a body, a 100 kB and a 200 kB URL, then a request
    // as usual — the connection goes on after each 414.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let login = r#"{"username":"nobody","password":"wrong-password"}"#;
    let requests = [
        format!(
            "POST /auth/login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{login}",
            login.len()
        ),
        format!(
            "GET /brands?name={} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\r\n",
            "b".repeat(100_000),
            app.root
        ),
        format!(
            "GET /brands?name={} HTTP/1.1\r\nHost: {addr}\r\n\r\n",
            "c".repeat(200_000),
        ),
        format!(
            "GET /brands HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\r\n",
            app.root
        ),
    ];
    let mut received = Vec::new();
    let mut answers = Vec::new();
    for request in &requests {
        stream.write_all(request.as_bytes()).await.unwrap();
        // One response: its head, then Content-Length bytes of body.
        loop {
            if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&received[..end]).to_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map_or(0, |v| v.trim().parse().unwrap());
                if received.len() >= end + 4 + length {
                    let body = received[end + 4..end + 4 + length].to_vec();
                    answers.push((head[9..12].to_string(), String::from_utf8(body).unwrap()));
                    received.drain(..end + 4 + length);
                    break;
                }
            }
            let mut buf = [0u8; 4096];
            let n = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut buf))
                .await
                .expect("an answer within 10 s")
                .unwrap();
            assert!(n > 0, "connection closed after {answers:?}");
            received.extend_from_slice(&buf[..n]);
        }
    }
    assert_eq!(answers[0].0, "401", "{answers:?}");
    for (answer, length) in answers[1..3].iter().zip([100_013, 200_013]) {
        assert_eq!(answer.0, "414", "{answers:?}");
        let body: Value = serde_json::from_str(&answer.1).unwrap();
        assert_eq!(body["code"], "uri_too_long", "{body}");
        assert_eq!(
            body["message"],
            format!("the URL has {length} bytes; at most 8192")
        );
    }
    assert_eq!(answers[3].0, "200", "{answers:?}");
}
