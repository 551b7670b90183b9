//! `/rating_plans` and `/rating_plans/{id}/rates`: plan CRUD and validation, CSV and JSON
//! rate imports (defaults, line numbers of bad rows, all-or-nothing, replace), the CSV
//! export, plans in use, and that plan changes reach the rating of new calls.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::backend_tests;
use crate::common::{id, TestApp};

backend_tests!(
    rating_plan_crud_and_validation,
    rating_rates_csv_and_json_imports,
    rating_rates_bad_rows_store_nothing,
    rating_rates_replace_is_atomic,
    rating_plan_in_use_cannot_be_deleted,
    rating_plan_changes_reach_new_calls,
);

/// Sends a raw body with its content type; returns the status and the body (JSON when it
/// parses, else the text as a JSON string).
pub async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> (StatusCode, Value) {
    let res = app
        .http
        .request(method, app.url(path))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("request sent");
    let status = res.status();
    let text = res.text().await.unwrap();
    assert_ne!(
        status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "never a 500: {text}"
    );
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value)
}

pub async fn post_csv(app: &TestApp, plan: &str, token: &str, csv: &str) -> (StatusCode, Value) {
    let path = format!("/rating_plans/{plan}/rates");
    send(app, Method::POST, &path, token, "text/csv", csv.to_string()).await
}

/// The plan's rates as the API lists them (first page of up to 1000).
pub async fn rates(app: &TestApp, plan: &str, token: &str) -> Vec<Value> {
    let (status, body) = app
        .get(
            &format!("/rating_plans/{plan}/rates?itemsPerPage=1000"),
            token,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array().unwrap().clone()
}

/// The rate rows without their ids, to compare tables across imports.
fn without_ids(rows: &[Value]) -> Vec<Value> {
    rows.iter()
        .map(|r| {
            let mut r = r.clone();
            r.as_object_mut().unwrap().remove("id");
            r
        })
        .collect()
}

async fn rating_plan_crud_and_validation(app: TestApp) {
    let brand = app.brand("A").await; // timezone Europe/Madrid, currency EUR
    let op = app.brand_operator(&brand, "op").await;

    // Defaults: the brand's currency and timezone, middle rounding to 4 places.
    let (status, headers, created) = app
        .call_full(
            Method::POST,
            "/rating_plans",
            Some(&op),
            Some(json!({"name": " Retail "})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let plan = id(&created);
    let path = format!("/rating_plans/{plan}");
    assert_eq!(headers["location"].to_str().unwrap(), path);
    assert_eq!(
        (
            &created["brand"],
            &created["name"],
            &created["currency"],
            &created["roundingMethod"],
            &created["roundingDecimals"],
            &created["timezone"],
            &created["rateCount"],
        ),
        (
            &json!(brand),
            &json!("Retail"),
            &json!("EUR"),
            &json!("middle"),
            &json!(4),
            &json!("Europe/Madrid"),
            &json!(0),
        )
    );
    assert!(created["createdAt"].as_str().unwrap().ends_with('Z'));
    assert_eq!(app.get(&path, &op).await, (StatusCode::OK, created.clone()));

    // Every bad field is reported at once.
    let (status, body) = app
        .post(
            "/rating_plans",
            &op,
            json!({"name": "", "currency": "euro", "roundingMethod": "sideways",
                   "roundingDecimals": 7, "timezone": "Mars/Base"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    for field in [
        "name",
        "currency",
        "roundingMethod",
        "roundingDecimals",
        "timezone",
    ] {
        assert!(body["fields"][field].is_string(), "{field}: {body}");
    }
    for bad in [
        json!({"name": "X", "roundingDecimals": -1}),
        json!({"name": "X", "roundingDecimals": "4"}),
        json!({"name": "X", "colour": "red"}),
        json!({"currency": "EUR"}),
    ] {
        let (status, body) = app.post("/rating_plans", &op, bad.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
    }
    // Unique name in the brand; a platform administrator must name the brand.
    let (status, body) = app
        .post("/rating_plans", &op, json!({"name": "Retail"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = app
        .post("/rating_plans", &app.root, json!({"name": "Root plan"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["fields"]["brand"].is_string());
    let wholesale = app
        .create(
            "/rating_plans",
            &app.root,
            json!({"brand": brand, "name": "Wholesale", "currency": "USD",
                   "roundingMethod": "up", "roundingDecimals": 0, "timezone": "UTC"}),
        )
        .await;
    assert_eq!(
        (
            &wholesale["currency"],
            &wholesale["roundingMethod"],
            &wholesale["roundingDecimals"]
        ),
        (&json!("USD"), &json!("up"), &json!(0))
    );

    // Lists: filter by name, order by name.
    let (_, list) = app.get("/rating_plans?_order[name]=desc", &op).await;
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Wholesale", "Retail"]);
    let (_, list) = app.get("/rating_plans?name=Retail", &op).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], plan.as_str());
    let (status, _) = app.get("/rating_plans?_order[currency]=asc", &op).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // PATCH merges; PUT replaces (omitted fields back to defaults) and accepts the read-only
    // fields a GET returned.
    let (status, patched) = app
        .patch(
            &path,
            &op,
            json!({"roundingMethod": "down", "roundingDecimals": 2}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(
        (
            &patched["name"],
            &patched["roundingMethod"],
            &patched["roundingDecimals"]
        ),
        (&json!("Retail"), &json!("down"), &json!(2))
    );
    let mut body = patched.clone();
    body.as_object_mut().unwrap().remove("roundingDecimals");
    body["name"] = json!("Retail 2");
    let (status, replaced) = app.put(&path, &op, body).await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!(
        (
            &replaced["name"],
            &replaced["roundingMethod"],
            &replaced["roundingDecimals"]
        ),
        (&json!("Retail 2"), &json!("down"), &json!(4))
    );
    assert_eq!(replaced["createdAt"], created["createdAt"]);
    let (status, _) = app.patch(&path, &op, json!({"name": "Wholesale"})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = app
        .patch(&path, &op, json!({"brand": app.brand("B").await}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    assert_eq!(app.delete(&path, &op).await, StatusCode::NO_CONTENT);
    assert_eq!(app.get(&path, &op).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.delete(&path, &op).await, StatusCode::NOT_FOUND);
}

async fn rating_rates_csv_and_json_imports(app: TestApp) {
    let brand = app.brand("A").await;
    let op = app.brand_operator(&brand, "op").await;
    let plan = id(&app.create("/rating_plans", &op, json!({"name": "P"})).await);
    let rates_path = format!("/rating_plans/{plan}/rates");

    // CSV: any column order, optional columns left out or blank take their defaults.
    let csv = "destinationName,prefix,rate,weekdays,timeIn\n\
               United Kingdom,+44,0.0120,,\n\
               Spain,34,0.02,1-5,08:00\n\
               Spain,34,0.01,6-7,\n";
    let (status, body) = post_csv(&app, &plan, &op, csv).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"imported": 3, "total": 3}));

    // JSON appends; numbers are taken as their text.
    let rows = json!([
        {"prefix": 1, "destinationName": "USA", "rate": 0.05, "connectFee": "0.10",
         "rateUnit": 1, "rateIncrement": 6, "groupIntervalStart": 0},
        {"prefix": "1", "destinationName": "USA", "rate": "0.04", "rateUnit": 1,
         "rateIncrement": 1, "groupIntervalStart": 60},
    ]);
    let (status, body) = app.post(&rates_path, &op, rows).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"imported": 2, "total": 5}));

    // Listed in table order with the defaults filled in and canonical weekdays.
    let (status, headers, listed) = app
        .call_full(Method::GET, &rates_path, Some(&op), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-total-count"], "5");
    let expected = json!([
        {"prefix": "1", "destinationName": "USA", "connectFee": "0.10", "rate": "0.05",
         "rateUnit": 1, "rateIncrement": 6, "groupIntervalStart": 0, "weekdays": "all", "timeIn": "00:00:00"},
        {"prefix": "1", "destinationName": "USA", "connectFee": "0", "rate": "0.04",
         "rateUnit": 1, "rateIncrement": 1, "groupIntervalStart": 60, "weekdays": "all", "timeIn": "00:00:00"},
        {"prefix": "34", "destinationName": "Spain", "connectFee": "0", "rate": "0.02",
         "rateUnit": 60, "rateIncrement": 1, "groupIntervalStart": 0, "weekdays": "1-5", "timeIn": "08:00:00"},
        {"prefix": "34", "destinationName": "Spain", "connectFee": "0", "rate": "0.01",
         "rateUnit": 60, "rateIncrement": 1, "groupIntervalStart": 0, "weekdays": "6,7", "timeIn": "00:00:00"},
        {"prefix": "44", "destinationName": "United Kingdom", "connectFee": "0", "rate": "0.0120",
         "rateUnit": 60, "rateIncrement": 1, "groupIntervalStart": 0, "weekdays": "all", "timeIn": "00:00:00"},
    ]);
    assert_eq!(
        Value::Array(without_ids(listed.as_array().unwrap())),
        expected
    );
    assert!(listed
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["id"].is_string()));
    let (_, plan_view) = app.get(&format!("/rating_plans/{plan}"), &op).await;
    assert_eq!(plan_view["rateCount"], 5);

    // Filter by prefix (with or without +) and pages.
    let (_, spain) = app.get(&format!("{rates_path}?prefix=34"), &op).await;
    assert_eq!(spain.as_array().unwrap().len(), 2);
    let (_, uk) = app.get(&format!("{rates_path}?prefix=%2B44"), &op).await;
    assert_eq!(uk.as_array().unwrap().len(), 1);
    let (status, _) = app.get(&format!("{rates_path}?prefix=4x"), &op).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, headers, second) = app
        .call_full(
            Method::GET,
            &format!("{rates_path}?itemsPerPage=2&page=2"),
            Some(&op),
            None,
        )
        .await;
    assert_eq!(
        without_ids(second.as_array().unwrap()),
        expected.as_array().unwrap()[2..4]
    );
    assert!(headers["link"].to_str().unwrap().contains("rel=\"next\""));

    // CSV export in the import format: sent back as a replacement, the table is the same.
    let res = app
        .http
        .get(app.url(&rates_path))
        .bearer_auth(&op)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let exported = res.text().await.unwrap();
    let mut lines = exported.lines();
    assert_eq!(
        lines.next(),
        Some("id,prefix,destinationName,connectFee,rate,rateUnit,rateIncrement,groupIntervalStart,weekdays,timeIn")
    );
    assert!(lines
        .next()
        .unwrap()
        .ends_with(",1,USA,0.10,0.05,1,6,0,all,00:00:00"));
    assert_eq!(exported.lines().count(), 6);
    let (status, body) = send(
        &app,
        Method::PUT,
        &format!("{rates_path}?replace=true"),
        &op,
        "text/csv; charset=utf-8",
        exported,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"imported": 5, "total": 5}));
    assert_eq!(
        Value::Array(without_ids(&rates(&app, &plan, &op).await)),
        expected
    );

    // An empty import is allowed and changes nothing.
    let (status, body) = app.post(&rates_path, &op, json!([])).await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({"imported": 0, "total": 5}))
    );
}

/// Every rejected import is a 422 naming the line (CSV) or row (JSON) and leaves the
/// table exactly as it was.
async fn rating_rates_bad_rows_store_nothing(app: TestApp) {
    let brand = app.brand("A").await;
    let op = app.brand_operator(&brand, "op").await;
    let plan = id(&app.create("/rating_plans", &op, json!({"name": "P"})).await);
    let rates_path = format!("/rating_plans/{plan}/rates");
    let (status, _) = post_csv(
        &app,
        &plan,
        &op,
        "prefix,destinationName,rate,weekdays\n44,UK,0.01,all\n34,Spain,0.02,6,7\n",
    )
    .await;
    // "6,7" unquoted is two cells: the header has four columns.
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = post_csv(
        &app,
        &plan,
        &op,
        "prefix,destinationName,rate,weekdays\n44,UK,0.01,all\n34,Spain,0.02,\"6,7\"\n",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let before = rates(&app, &plan, &op).await;
    assert_eq!(before.len(), 2);

    let cases: Vec<(&str, &str, Value)> = vec![
        // A bad value at a known physical line (a blank line counts).
        (
            "text/csv",
            "prefix,destinationName,rate\n1,USA,0.05\n\n33,France,abc\n49,Germany,0.03\n",
            json!({"message": "line 4: rate: not a decimal", "line": "4", "field": ["rate", "not a decimal"]}),
        ),
        (
            "text/csv",
            "prefix,destinationName,rate,timeIn\n1,USA,0.05,25:00\n",
            json!({"message": "line 2: timeIn: expected HH:MM:SS or HH:MM", "line": "2", "field": ["timeIn", "expected HH:MM:SS or HH:MM"]}),
        ),
        (
            "text/csv",
            "prefix,destinationName,rate\n1,USA,0.05\n,Nowhere,0.01\n",
            json!({"message": "line 3: prefix: required", "line": "3", "field": ["prefix", "required"]}),
        ),
        (
            "text/csv",
            "prefix,destinationName,rate\n1,USA\n",
            json!({"message": "line 2: 2 cells where the header has 3", "line": "2"}),
        ),
        (
            "text/csv",
            "prefix,destinationName,price\n1,USA,0.05\n",
            json!({"message": "line 1: unknown column \"price\"", "line": "1"}),
        ),
        // A duplicate within the import: the second occurrence is reported.
        (
            "text/csv",
            "prefix,destinationName,rate\n1,USA,0.05\n33,France,0.01\n+1,USA again,0.06\n",
            json!({"message": "line 4: prefix 1, weekdays all, timeIn 00:00:00, groupIntervalStart 0 is given twice", "line": "4"}),
        ),
        // A duplicate of a stored row ("6-7" is the stored "6,7").
        (
            "text/csv",
            "prefix,destinationName,rate,weekdays\n33,France,0.01,all\n34,Spain,0.05,6-7\n",
            json!({"message": "line 3: prefix 34, weekdays 6,7, timeIn 00:00:00, groupIntervalStart 0 is given twice", "line": "3"}),
        ),
        // A rate whose first slot is missing cannot price the start of a call.
        (
            "text/csv",
            "prefix,destinationName,rate,groupIntervalStart\n33,France,0.01,60\n",
            json!({"message": "line 2: prefix 33, weekdays all, timeIn 00:00:00: no row with groupIntervalStart 0, so the start of a call has no rate", "line": "2"}),
        ),
        // JSON: positions are 1-based rows.
        (
            "application/json",
            r#"[{"prefix":"1","destinationName":"USA","rate":"0.05"},{"prefix":"33","destinationName":"France","rate":"-1"}]"#,
            json!({"message": "row 2: rate: must not be negative", "row": "2", "field": ["rate", "must not be negative"]}),
        ),
        (
            "application/json",
            r#"[{"prefix":"1","destinationName":"USA","rate":"0.05","rateUnit":0}]"#,
            json!({"message": "row 1: rateUnit: expected a whole number of seconds from 1 to 86400", "row": "1"}),
        ),
        (
            "application/json",
            r#"[{"prefix":"1","destinationName":"USA","rate":"0.05"},{"prefix":"33","destinationName":"France","rate":"1","colour":"red"}]"#,
            json!({"message": "row 2: unknown field \"colour\"", "row": "2"}),
        ),
        (
            "application/json",
            r#"[{"prefix":"1","destinationName":"USA","rate":"0.05"},"33"]"#,
            json!({"message": "row 2: a rate must be a JSON object", "row": "2"}),
        ),
        (
            "application/json",
            r#"{"prefix":"1","destinationName":"USA","rate":"0.05"}"#,
            json!({"message": "the body must be a JSON array"}),
        ),
    ];
    for (content_type, body, expected) in cases {
        let (status, error) = send(&app, Method::POST, &rates_path, &op, content_type, body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {error}");
        assert_eq!(error["code"], "validation_failed");
        let message = error["message"].as_str().unwrap();
        assert!(
            message.starts_with(expected["message"].as_str().unwrap()),
            "{body}: {message}"
        );
        for place in ["line", "row"] {
            if let Some(n) = expected.get(place) {
                assert_eq!(&error["fields"][place], n, "{body}: {error}");
            }
        }
        if let Some(field) = expected.get("field") {
            assert_eq!(
                error["fields"][field[0].as_str().unwrap()],
                field[1],
                "{error}"
            );
        }
        assert_eq!(
            rates(&app, &plan, &op).await,
            before,
            "nothing stored: {body}"
        );
    }

    // Malformed bodies, wrong content types and misuse of PUT are 4xx too.
    let (status, _) = send(
        &app,
        Method::POST,
        &rates_path,
        &op,
        "application/json",
        "[{",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = send(&app, Method::POST, &rates_path, &op, "text/plain", "x").await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (status, body) = send(
        &app,
        Method::PUT,
        &rates_path,
        &op,
        "application/json",
        "[]",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().unwrap().contains("replace=true"));
    let (status, _) = send(
        &app,
        Method::POST,
        &format!("{rates_path}?replace=true"),
        &op,
        "application/json",
        "[]",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app.call(Method::DELETE, &rates_path, Some(&op), None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(rates(&app, &plan, &op).await, before);
}

async fn rating_rates_replace_is_atomic(app: TestApp) {
    let brand = app.brand("A").await;
    let op = app.brand_operator(&brand, "op").await;
    let plan = id(&app.create("/rating_plans", &op, json!({"name": "P"})).await);
    let replace_path = format!("/rating_plans/{plan}/rates?replace=true");

    // 6 000 rows: more than one INSERT statement.
    let mut csv = String::from("prefix,destinationName,rate\n");
    for n in 0..6000 {
        csv.push_str(&format!(
            "{},Destination {n},0.{:04}\n",
            100_000 + n,
            n % 10_000
        ));
    }
    let (status, body) = send(
        &app,
        Method::PUT,
        &replace_path,
        &op,
        "text/csv",
        csv.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"imported": 6000, "total": 6000}));
    let (_, headers, last_page) = app
        .call_full(
            Method::GET,
            &format!("/rating_plans/{plan}/rates?itemsPerPage=1000&page=6"),
            Some(&op),
            None,
        )
        .await;
    assert_eq!(headers["x-total-count"], "6000");
    assert_eq!(last_page[999]["prefix"], "105999");

    // A bad last row: the whole replacement is refused and the old table stays.
    csv.push_str("999,Bad,1.2.3\n");
    let (status, body) = send(&app, Method::PUT, &replace_path, &op, "text/csv", csv).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["message"], "line 6002: rate: not a decimal");
    let (_, headers, _) = app
        .call_full(
            Method::GET,
            &format!("/rating_plans/{plan}/rates"),
            Some(&op),
            None,
        )
        .await;
    assert_eq!(headers["x-total-count"], "6000");

    // A good replacement takes the place of everything.
    let (status, body) = send(
        &app,
        Method::PUT,
        &replace_path,
        &op,
        "application/json",
        r#"[{"prefix":"44","destinationName":"UK","rate":"0.01"}]"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"imported": 1, "total": 1}));
    let table = rates(&app, &plan, &op).await;
    assert_eq!(table.len(), 1);
    assert_eq!(table[0]["prefix"], "44");

    // Replacing with an empty table clears it.
    let (status, body) = send(
        &app,
        Method::PUT,
        &replace_path,
        &op,
        "text/csv",
        "prefix,destinationName,rate\n",
    )
    .await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({"imported": 0, "total": 0}))
    );
}

async fn rating_plan_in_use_cannot_be_deleted(app: TestApp) {
    let brand = app.brand("A").await;
    let op = app.brand_operator(&brand, "op").await;
    let client = app.client(&op, &brand, "C", "vpbx").await;
    let plan = id(&app.create("/rating_plans", &op, json!({"name": "P"})).await);
    post_csv(
        &app,
        &plan,
        &op,
        "prefix,destinationName,rate\n44,UK,0.01\n",
    )
    .await;
    let profile = id(&app
        .create(
            "/rating_profiles",
            &op,
            json!({"client": client, "ratingPlan": plan, "activationTime": "2026-01-01T00:00:00Z"}),
        )
        .await);

    let (status, body) = app
        .call(
            Method::DELETE,
            &format!("/rating_plans/{plan}"),
            Some(&op),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(body["message"].as_str().unwrap().contains("rating profile"));
    assert_eq!(rates(&app, &plan, &op).await.len(), 1, "rates kept");

    assert_eq!(
        app.delete(&format!("/rating_profiles/{profile}"), &op)
            .await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.delete(&format!("/rating_plans/{plan}"), &op).await,
        StatusCode::NO_CONTENT
    );
    let (status, _) = app.get(&format!("/rating_plans/{plan}/rates"), &op).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Built plans are cached by version: a settings change or a new table must reach the
/// next call rated.
async fn rating_plan_changes_reach_new_calls(app: TestApp) {
    let brand = app.brand("A").await;
    let op = app.brand_operator(&brand, "op").await;
    let client = app.client(&op, &brand, "C", "vpbx").await;
    let carrier = id(&app.create("/carriers", &op, json!({"name": "K"})).await);
    let plan = id(&app
        .create(
            "/rating_plans",
            &op,
            json!({"name": "P", "timezone": "UTC"}),
        )
        .await);
    post_csv(&app, &plan, &op, "prefix,destinationName,rate\n44,UK,0.6\n").await;
    for owner in [json!({"client": client}), json!({"carrier": carrier})] {
        let mut body = owner.clone();
        body["ratingPlan"] = json!(plan);
        body["activationTime"] = json!("2026-01-01T00:00:00+01:00");
        app.create("/rating_profiles", &op, body).await;
    }
    let price_of = |callid: &'static str| {
        let (app, op, client, carrier) = (&app, &op, &client, &carrier);
        async move {
            let call = json!([{"callid": callid, "startTime": "2026-02-02T10:00:00Z", "duration": 61,
                "caller": "+34911000001", "callee": "+442071234567", "direction": "outbound",
                "client": client, "carrier": carrier}]);
            let (status, summary) = app.post("/billable_calls", op, call).await;
            assert_eq!(status, StatusCode::OK, "{summary}");
            let (_, listed) = app
                .get(&format!("/billable_calls?callid={callid}"), op)
                .await;
            assert_eq!(listed[0]["ratingError"], Value::Null, "{listed}");
            listed[0]["price"].as_str().unwrap().to_string()
        }
    };
    // 61 s at 0.6/min = 0.61.
    assert_eq!(price_of("c1").await, "0.6100");
    let (status, _) = app
        .patch(
            &format!("/rating_plans/{plan}"),
            &op,
            json!({"roundingMethod": "up", "roundingDecimals": 0}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(price_of("c2").await, "1.0000");
    let (status, _) = send(
        &app,
        Method::PUT,
        &format!("/rating_plans/{plan}/rates?replace=true"),
        &op,
        "text/csv",
        "prefix,destinationName,rate\n44,UK,1.2\n",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(price_of("c3").await, "2.0000");
    let (status, _) = post_csv(
        &app,
        &plan,
        &op,
        "prefix,destinationName,rate\n4420,London,6\n",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(price_of("c4").await, "7.0000");
}

/// The import the spec sizes: 100 000 rows in one request, timed. Run by hand, in a
/// release build:
/// `CALLCSV_TEST_PG_URL=… cargo test --release --test api rating_rates_import_100k -- --ignored --nocapture`
mod rating_rates_import_100k {
    use super::*;
    use crate::common::{pg_url, Backend};

    async fn measure(backend: Backend) {
        let app = TestApp::start(backend).await;
        let brand = app.brand("A").await;
        let op = app.brand_operator(&brand, "op").await;
        let plan = id(&app
            .create("/rating_plans", &op, json!({"name": "Big"}))
            .await);
        let mut csv = String::from(
            "prefix,destinationName,connectFee,rate,rateUnit,rateIncrement,weekdays,timeIn\n",
        );
        for n in 0..50_000u32 {
            let prefix = 10_000_000 + n;
            csv.push_str(&format!(
                "{prefix},Destination {n},0.01,0.{:04},60,1,1-5,08:00:00\n",
                n % 10_000
            ));
            csv.push_str(&format!(
                "{prefix},Destination {n},0,0.{:04},60,1,all,00:00:00\n",
                (n + 1) % 10_000
            ));
        }
        for (method, path) in [
            (Method::POST, format!("/rating_plans/{plan}/rates")),
            (
                Method::PUT,
                format!("/rating_plans/{plan}/rates?replace=true"),
            ),
        ] {
            let started = std::time::Instant::now();
            let (status, body) =
                send(&app, method.clone(), &path, &op, "text/csv", csv.clone()).await;
            let elapsed = started.elapsed();
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(body["total"], 100_000);
            eprintln!(
                "{backend:?}: {method} 100000 rates ({} bytes of CSV) in {:.2} s",
                csv.len(),
                elapsed.as_secs_f64()
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "timing run; see the module comment"]
    async fn sqlite() {
        measure(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "timing run; see the module comment"]
    async fn postgres() {
        if pg_url().is_none() {
            eprintln!("skipped: CALLCSV_TEST_PG_URL is not set");
            return;
        }
        measure(Backend::Postgres).await;
    }
}
