//! `/billable_calls`: ingestion (JSON and CSV, mixed good/bad/duplicate rows), rating at
//! ingestion, inbound DDI provider detection, reading (filters, pages, CSV stream, client
//! view), rerating, and tenant isolation.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::backend_tests;
use crate::common::{id, Tenants, TestApp};

backend_tests!(
    ingestion_rates_and_reports_every_row,
    stored_calls_belong_to_the_callers_transaction,
    writers_storing_the_same_calls_in_other_orders_both_finish,
    csv_ingestion_and_csv_streaming,
    inbound_detection_over_http,
    reading_filters_and_client_view,
    rerating_after_a_plan_change,
    calls_are_tenant_isolated,
    csv_stream_walks_ties_across_chunks,
    price_and_cost_are_independent,
    rerating_applies_the_independent_rule_to_stored_calls,
    source_disposition_and_hangup_cause_on_reads,
);

/// A brand with a client, a carrier, a provider, a DDI and plans: price 0.10/min for the
/// client, cost 0.05/min for the carrier, on prefix +34.
pub struct World {
    pub t: Tenants,
    pub carrier: String,
    pub provider: String,
    pub ddi: String,
    pub client_plan: String,
}

async fn plan(app: &TestApp, token: &str, name: &str, rate: &str) -> String {
    let p = app
        .create(
            "/rating_plans",
            token,
            json!({"name": name, "roundingMethod": "up", "roundingDecimals": 4, "timezone": "UTC"}),
        )
        .await;
    let plan = id(&p);
    let rows = json!([{"prefix": "+34", "destinationName": "Spain", "rate": rate, "rateUnit": 60, "rateIncrement": 1}]);
    let (status, body) = app
        .post(&format!("/rating_plans/{plan}/rates"), token, rows)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    plan
}

pub async fn world(app: &TestApp) -> World {
    let t = Tenants::create(app).await;
    let op = &t.operator_a;
    let carrier = id(&app
        .create("/carriers", op, json!({"name": "Carrier 1"}))
        .await);
    let provider = id(&app
        .create(
            "/ddi_providers",
            op,
            json!({"name": "Provider 1", "addresses": ["192.0.2.0/24"],
                   "transformationRules": [{"matchExpr": "^0034", "replaceExpr": "+34", "priority": 1}]}),
        )
        .await);
    let ddi = id(&app
        .create(
            "/ddis",
            op,
            json!({"client": t.client_a, "ddiE164": "+34911000001"}),
        )
        .await);
    let client_plan = plan(app, op, "Retail", "0.10").await;
    let carrier_plan = plan(app, op, "Wholesale", "0.05").await;
    let since = "2020-01-01T00:00:00Z";
    app.create(
        "/rating_profiles",
        op,
        json!({"client": t.client_a, "ratingPlan": client_plan, "activationTime": since}),
    )
    .await;
    app.create(
        "/rating_profiles",
        op,
        json!({"carrier": carrier, "ratingPlan": carrier_plan, "activationTime": since}),
    )
    .await;
    World {
        t,
        carrier,
        provider,
        ddi,
        client_plan,
    }
}

pub fn outbound(w: &World, callid: &str, start: &str, duration: Value) -> Value {
    json!({"callid": callid, "startTime": start, "duration": duration, "caller": "+34911000001",
           "callee": "+34600111222", "direction": "outbound", "client": w.t.client_a, "carrier": w.carrier})
}

async fn ingestion_rates_and_reports_every_row(app: TestApp) {
    let w = world(&app).await;
    let op = &w.t.operator_a;
    let rows = json!([
        outbound(&w, "call-1", "2026-01-05T10:00:00+01:00", json!(90)),
        outbound(&w, "call-2", "2026-01-05T10:05:00Z", json!("30.2")),
        {"callid": "bad-time", "startTime": "yesterday", "duration": 1, "caller": "a", "callee": "b", "direction": "outbound"},
        outbound(&w, "call-1", "2026-01-05T10:00:00Z", json!(5)),
        {"callid": "no-carrier", "startTime": "2026-01-05T10:00:00Z", "duration": 1, "caller": "+1", "callee": "+2",
         "direction": "outbound", "client": w.t.client_a},
        {"callid": "other-client", "startTime": "2026-01-05T10:00:00Z", "duration": 1, "caller": "+1", "callee": "+2",
         "direction": "outbound", "client": w.t.client_b, "carrier": w.carrier},
        outbound(&w, "unrated", "2026-01-05T10:00:00Z", json!(60)),
        {"callid": "typo", "startTime": "2026-01-05T10:00:00Z", "duration": 1, "calee": "+2"},
    ]);
    // "unrated" goes to a destination no plan has.
    let mut rows = rows;
    rows[6]["callee"] = json!("+44200000000");
    let (status, summary) = app.post("/billable_calls", op, rows.clone()).await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    assert_eq!(summary["accepted"], 3, "{summary}");
    assert_eq!(summary["duplicates"], 1);
    assert_eq!(summary["rejected"], 4);
    assert_eq!(summary["unrated"], 1);
    let errors: Vec<(u64, String)> = summary["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["row"].as_u64().unwrap(),
                e["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(errors.iter().map(|e| e.0).collect::<Vec<_>>(), [3, 5, 6, 8]);
    assert!(errors[0].1.starts_with("startTime"), "{errors:?}");
    assert!(errors[1].1.starts_with("carrier"), "{errors:?}");
    assert!(errors[2].1.starts_with("client"), "{errors:?}");
    assert!(errors[3].1.contains("calee"), "{errors:?}");

    // Exact amounts: 90 s at 0.10/min = 0.15 price, 0.05/min = 0.075 cost; 30.2 s bills 31 s.
    let (_, call) = app.get("/billable_calls?callid=call-1", op).await;
    assert_eq!(call[0]["price"], "0.1500");
    assert_eq!(call[0]["cost"], "0.0750");
    assert_eq!(call[0]["startTime"], "2026-01-05T09:00:00Z");
    assert_eq!(call[0]["billedSeconds"], 90);
    assert_eq!(call[0]["destinationName"], "Spain");
    assert_eq!(call[0]["ratingPlan"], w.client_plan.as_str());
    let (_, call) = app.get("/billable_calls?callid=call-2", op).await;
    assert_eq!(
        (call[0]["billedSeconds"].as_i64(), call[0]["price"].as_str()),
        (Some(31), Some("0.0517"))
    );
    let (_, call) = app.get("/billable_calls?callid=unrated", op).await;
    assert!(call[0]["price"].is_null() && call[0]["cost"].is_null());
    assert_eq!(
        call[0]["ratingError"],
        "price: no rate for destination; cost: no rate for destination"
    );

    // The same body again changes nothing: every good row is now a duplicate.
    let (_, again) = app.post("/billable_calls", op, rows).await;
    assert_eq!(
        (again["accepted"].as_u64(), again["duplicates"].as_u64()),
        (Some(0), Some(4))
    );
    let (_, headers, _) = app
        .call_full(Method::GET, "/billable_calls", Some(op), None)
        .await;
    assert_eq!(headers["x-total-count"], "3");

    // One object (not an array) is accepted too; malformed bodies are 4xx, never stored.
    let (status, one) = app
        .post(
            "/billable_calls",
            op,
            outbound(&w, "single", "2026-01-06T00:00:00Z", json!(0)),
        )
        .await;
    assert_eq!(
        (status, one["accepted"].as_u64()),
        (StatusCode::OK, Some(1))
    );
    let res = app
        .http
        .post(app.url("/billable_calls"))
        .bearer_auth(op)
        .header("content-type", "application/json")
        .body("[{")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = app
        .http
        .post(app.url("/billable_calls"))
        .bearer_auth(op)
        .header("content-type", "text/plain")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Client administrators do not ingest.
    assert_eq!(
        app.post("/billable_calls", &w.t.client_admin_a, json!([]))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
}

async fn csv_ingestion_and_csv_streaming(app: TestApp) {
    let w = world(&app).await;
    let op = &w.t.operator_a;
    let mut csv =
        String::from("callid,startTime,duration,caller,callee,direction,client,carrier\n");
    for i in 0..250 {
        csv.push_str(&format!(
            "c{i:04},2026-02-01T00:{:02}:00Z,60,+34911000001,+34600000000,outbound,{},{}\n",
            i % 60,
            w.t.client_a,
            w.carrier
        ));
    }
    csv.push_str("broken,2026-02-01T00:00:00Z,-5,+1,+2,outbound,,\n");
    csv.push_str("\"quoted, id\",2026-02-01T00:00:00Z,1,+34911000001,+34600000000,outbound,");
    csv.push_str(&format!("{},{}\n", w.t.client_a, w.carrier));
    let res = app
        .http
        .post(app.url("/billable_calls"))
        .bearer_auth(op)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let summary: Value = res.json().await.unwrap();
    assert_eq!(
        (summary["accepted"].as_u64(), summary["rejected"].as_u64()),
        (Some(251), Some(1)),
        "{summary}"
    );
    assert_eq!(summary["errors"][0]["row"], 251);
    assert_eq!(summary["errors"][0]["callid"], "broken");

    // The CSV stream has every matching row (more than one internal chunk would hold is
    // not needed here: the walk is the same), in (startTime, callid) order, with a header.
    let res = app
        .http
        .get(app.url("/billable_calls?startTime[after]=2026-02-01T00:00:00Z&startTime[strictly_before]=2026-02-01T00:30:00Z"))
        .bearer_auth(op)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = res.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(
        &header[..5],
        ["id", "brand", "callid", "startTime", "duration"]
    );
    let callid_at = header.iter().position(|h| h == "callid").unwrap();
    let price_at = header.iter().position(|h| h == "price").unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    // Minutes 0..29 of the 250 rows: each minute m has rows c{m}, c{m+60}, ... (<250).
    let expected = (0..250).filter(|i| i % 60 < 30).count() + 1; // + the quoted one at 00:00
    assert_eq!(rows.len(), expected);
    // At 00:00 there are c0000, c0060, …, c0240 and the quoted one: ordered by callid.
    let first_minute: Vec<&str> = rows[..6]
        .iter()
        .map(|r| r.get(callid_at).unwrap())
        .collect();
    assert_eq!(
        first_minute,
        ["c0000", "c0060", "c0120", "c0180", "c0240", "quoted, id"]
    );
    assert_eq!(&rows[0][price_at], "0.1000");
    let starts: Vec<&str> = rows.iter().map(|r| r.get(3).unwrap()).collect();
    assert!(
        starts.windows(2).all(|w| w[0] <= w[1]),
        "ordered by startTime"
    );

    // The client administrator's stream has no cost, carrier or provider columns.
    let res = app
        .http
        .get(app.url("/billable_calls"))
        .bearer_auth(&w.t.client_admin_a)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    let text = res.text().await.unwrap();
    let header = text.lines().next().unwrap();
    assert!(
        !header.contains("cost") && !header.contains("carrier") && !header.contains("ddiProvider"),
        "{header}"
    );
    assert_eq!(text.lines().count(), 252);
}

async fn inbound_detection_over_http(app: TestApp) {
    let w = world(&app).await;
    let op = &w.t.operator_a;
    let inbound = |callid: &str, ip: &str, callee: &str| {
        json!({"callid": callid, "startTime": "2026-03-01T12:00:00Z", "duration": 10, "caller": "+33100000000",
               "callee": callee, "direction": "inbound", "sourceIp": ip})
    };
    let (_, summary) = app
        .post(
            "/billable_calls",
            op,
            json!([
                inbound("in-1", "192.0.2.10", "0034911000001"),
                inbound("in-2", "198.51.100.1", "0034911000001"),
                inbound("in-3", "192.0.2.10", "0034911999999"),
                {"callid": "in-4", "startTime": "2026-03-01T12:00:00Z", "duration": 10, "caller": "+3", "callee": "+34911000001",
                 "direction": "inbound", "ddi": w.ddi},
                {"callid": "in-5", "startTime": "2026-03-01T12:00:00Z", "duration": 10, "caller": "+3", "callee": "+34911000001",
                 "direction": "inbound"},
            ]),
        )
        .await;
    assert_eq!(summary["accepted"], 2, "{summary}");
    let messages: Vec<&str> = summary["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages[0], "unknown source");
    assert_eq!(messages[1], "no DDI for callee");
    assert!(messages[2].starts_with("sourceIp"), "{messages:?}");
    let (_, call) = app.get("/billable_calls?callid=in-1", op).await;
    assert_eq!(call[0]["ddi"], w.ddi.as_str());
    assert_eq!(call[0]["ddiProvider"], w.provider.as_str());
    assert_eq!(
        call[0]["client"],
        w.t.client_a.as_str(),
        "the DDI names the client"
    );
    assert!(
        call[0]["price"].is_null() && call[0]["cost"].is_null(),
        "inbound calls are not priced"
    );
    assert!(call[0]["ratingError"].is_null());
    let (_, call) = app.get("/billable_calls?callid=in-4", op).await;
    assert_eq!(call[0]["client"], w.t.client_a.as_str());
}

async fn reading_filters_and_client_view(app: TestApp) {
    let w = world(&app).await;
    let op = &w.t.operator_a;
    let rows: Vec<Value> = (0..5)
        .map(|i| {
            outbound(
                &w,
                &format!("r{i}"),
                &format!("2026-04-0{}T08:00:00Z", i + 1),
                json!(60),
            )
        })
        .collect();
    app.post("/billable_calls", op, Value::Array(rows)).await;
    let (_, page) = app.get("/billable_calls?startTime[after]=2026-04-02T08:00:00Z&startTime[strictly_before]=2026-04-04T08:00:00Z", op).await;
    let ids: Vec<&str> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["callid"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["r1", "r2"],
        "after is inclusive, strictly_before exclusive"
    );
    let (_, headers, page) = app
        .call_full(
            Method::GET,
            "/billable_calls?itemsPerPage=2&page=2&_order[startTime]=desc",
            Some(op),
            None,
        )
        .await;
    assert_eq!(headers["x-total-count"], "5");
    let ids: Vec<&str> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["callid"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["r2", "r1"]);
    let (_, page) = app
        .get(
            &format!("/billable_calls?carrier={}&direction=outbound", w.carrier),
            op,
        )
        .await;
    assert_eq!(page.as_array().unwrap().len(), 5);
    let (status, _) = app.get("/billable_calls?startTime[after]=monday", op).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app.get("/billable_calls?direction=sideways", op).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (_, mine) = app.get("/billable_calls", &w.t.client_admin_a).await;
    assert_eq!(mine.as_array().unwrap().len(), 5);
    let one = &mine[0];
    assert!(
        one.get("cost").is_none()
            && one.get("carrier").is_none()
            && one.get("ddiProvider").is_none(),
        "{one}"
    );
    assert_eq!(one["price"], "0.1000");
    let (status, item) = app
        .get(
            &format!("/billable_calls/{}", one["id"].as_str().unwrap()),
            &w.t.client_admin_a,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(item.get("cost").is_none());
    let (status, _) = app
        .get(
            &format!("/billable_calls?carrier={}", w.carrier),
            &w.t.client_admin_a,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

async fn rerating_after_a_plan_change(app: TestApp) {
    let w = world(&app).await;
    let op = &w.t.operator_a;
    app.post(
        "/billable_calls",
        op,
        json!([
            outbound(&w, "x1", "2026-05-01T10:00:00Z", json!(120)),
            outbound(&w, "x2", "2026-06-01T10:00:00Z", json!(120))
        ]),
    )
    .await;
    // Replace the client's plan rates: 0.20/min.
    let rows = json!([{"prefix": "34", "destinationName": "Spain", "rate": "0.20"}]);
    let res = app
        .http
        .put(app.url(&format!(
            "/rating_plans/{}/rates?replace=true",
            w.client_plan
        )))
        .bearer_auth(op)
        .json(&rows)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (_, before) = app.get("/billable_calls?callid=x1", op).await;
    assert_eq!(
        before[0]["price"], "0.2000",
        "stored calls keep their price until rerated"
    );
    let (status, counts) = app
        .post("/billable_calls/rerate", op, json!({"startTime[after]": "2026-05-01T00:00:00Z", "startTime[strictly_before]": "2026-06-01T00:00:00Z"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{counts}");
    assert_eq!(
        (counts["matched"].as_u64(), counts["changed"].as_u64()),
        (Some(1), Some(1))
    );
    let (_, after) = app.get("/billable_calls?callid=x1", op).await;
    assert_eq!(after[0]["price"], "0.4000");
    assert_eq!(after[0]["cost"], "0.1000");
    let (_, untouched) = app.get("/billable_calls?callid=x2", op).await;
    assert_eq!(untouched[0]["price"], "0.2000", "outside the range");
    let (status, _) = app.post("/billable_calls/rerate", op, json!({"startTime[after]": "2026-06-01T00:00:00Z", "startTime[strictly_before]": "2026-05-01T00:00:00Z"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app
        .post("/billable_calls/rerate", op, json!({"startTime[after]": "2026-05-01T00:00:00Z", "startTime[strictly_before]": "2026-06-01T00:00:00Z", "client": w.t.client_b}))
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "another tenant's client"
    );
}

async fn calls_are_tenant_isolated(app: TestApp) {
    let w = world(&app).await;
    app.post(
        "/billable_calls",
        &w.t.operator_a,
        json!([outbound(&w, "a-call", "2026-07-01T10:00:00Z", json!(60))]),
    )
    .await;
    let (_, a_calls) = app.get("/billable_calls", &w.t.operator_a).await;
    let a_call = id(&a_calls[0]);
    for token in [&w.t.operator_b, &w.t.client_admin_b] {
        assert_eq!(
            app.get(&format!("/billable_calls/{a_call}"), token).await.0,
            StatusCode::NOT_FOUND
        );
        let (_, list) = app
            .get(&format!("/billable_calls?brand={}", w.t.brand_a), token)
            .await;
        assert_eq!(list.as_array().unwrap().len(), 0);
        let (_, list) = app
            .get(&format!("/billable_calls?client={}", w.t.client_a), token)
            .await;
        assert_eq!(list.as_array().unwrap().len(), 0);
    }
    // Brand B cannot ingest calls against A's client or carrier, nor rerate A's calls.
    let (_, summary) = app
        .post(
            "/billable_calls",
            &w.t.operator_b,
            json!([outbound(&w, "b-call", "2026-07-01T10:00:00Z", json!(60))]),
        )
        .await;
    assert_eq!(
        (summary["accepted"].as_u64(), summary["rejected"].as_u64()),
        (Some(0), Some(1))
    );
    let (_, counts) = app
        .post("/billable_calls/rerate", &w.t.operator_b, json!({"startTime[after]": "2026-01-01T00:00:00Z", "startTime[strictly_before]": "2027-01-01T00:00:00Z"}))
        .await;
    assert_eq!(counts["matched"], 0);
    let (_, still) = app
        .get(&format!("/billable_calls/{a_call}"), &app.root)
        .await;
    assert_eq!(still["price"], "0.1000");
}

/// The CSV stream reads in keyset chunks of 5 000 rows. Many calls share a start time here,
/// so chunk boundaries fall inside runs of equal times; and brand B reuses brand A's callids
/// at the same instants, so the platform administrator's stream (every brand) also needs
/// the id tie-break. Every call must come out exactly once, in (startTime, callid) order.
async fn csv_stream_walks_ties_across_chunks(app: TestApp) {
    let t = Tenants::create(&app).await;
    let times = ["2026-03-01T10:00:00Z", "2026-03-01T10:00:01Z"];
    let body = |client: &str, carrier: &str, n: usize| {
        let mut csv =
            String::from("callid,startTime,duration,caller,callee,direction,client,carrier\n");
        for i in 0..n {
            csv.push_str(&format!(
                "k{i:05},{},1,+34911000001,+34600000000,outbound,{client},{carrier}\n",
                times[i % 2]
            ));
        }
        csv
    };
    for (token, client, n) in [
        (&t.operator_a, &t.client_a, 6001),
        (&t.operator_b, &t.client_b, 20),
    ] {
        let carrier = id(&app
            .create("/carriers", token, json!({"name": "Carrier"}))
            .await);
        let res = app
            .http
            .post(app.url("/billable_calls"))
            .bearer_auth(token)
            .header("content-type", "text/csv")
            .body(body(client, &carrier, n))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let summary: Value = res.json().await.unwrap();
        assert_eq!(
            summary["accepted"].as_u64(),
            Some(n as u64),
            "{}",
            summary["errors"][0]
        );
    }

    // (brand, startTime, callid) of every streamed row, in stream order.
    let stream = |token: String| {
        let app = &app;
        async move {
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
            let header = reader.headers().unwrap().clone();
            let at = |name: &str| header.iter().position(|h| h == name).unwrap();
            let (brand, start, callid) = (at("brand"), at("startTime"), at("callid"));
            reader
                .records()
                .map(|r| {
                    let r = r.unwrap();
                    (
                        r[brand].to_string(),
                        r[start].to_string(),
                        r[callid].to_string(),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    let check = |rows: &[(String, String, String)], expected: usize| {
        assert_eq!(rows.len(), expected);
        assert!(
            rows.windows(2)
                .all(|w| (&w[0].1, &w[0].2) <= (&w[1].1, &w[1].2)),
            "ordered by (startTime, callid)"
        );
        let distinct: std::collections::HashSet<_> = rows.iter().collect();
        assert_eq!(distinct.len(), expected, "no row twice");
    };

    let brand_a = stream(t.operator_a.clone()).await;
    check(&brand_a, 6001);
    assert!(brand_a.iter().all(|r| r.0 == t.brand_a));
    let everything = stream(app.root.clone()).await;
    check(&everything, 6021);
    let of_b = everything.iter().filter(|r| r.0 == t.brand_b).count();
    assert_eq!(of_b, 20);
}

/// The CSV stream of `path` as (header, rows).
pub async fn csv_of(app: &TestApp, token: &str, path: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let res = app
        .http
        .get(app.url(path))
        .bearer_auth(token)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

/// rating.md: price and cost are computed independently. A carrier without a profile
/// leaves the cost empty and keeps the price (the call is rated); a client without one
/// leaves the price empty and keeps the cost (the call is unrated).
async fn price_and_cost_are_independent(app: TestApp) {
    let w = world(&app).await;
    let op = &w.t.operator_a;
    let bare_carrier = id(&app
        .create("/carriers", op, json!({"name": "No costs loaded"}))
        .await);
    let bare_client = app
        .client(op, &w.t.brand_a, "No prices loaded", "retail")
        .await;
    let mut no_cost = outbound(&w, "no-cost", "2026-01-05T10:00:00Z", json!(90));
    no_cost["carrier"] = json!(bare_carrier);
    let mut no_price = outbound(&w, "no-price", "2026-01-05T10:01:00Z", json!(90));
    no_price["client"] = json!(bare_client);

    let (status, summary) = app.post("/billable_calls", op, json!([no_cost])).await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    assert_eq!(
        (summary["accepted"].as_u64(), summary["unrated"].as_u64()),
        (Some(1), Some(0)),
        "a call with a price is rated: {summary}"
    );
    let (_, summary) = app.post("/billable_calls", op, json!([no_price])).await;
    assert_eq!(
        (summary["accepted"].as_u64(), summary["unrated"].as_u64()),
        (Some(1), Some(1)),
        "a call without a price is unrated: {summary}"
    );

    let (_, call) = app.get("/billable_calls?callid=no-cost", op).await;
    let call = &call[0];
    assert_eq!(call["price"], "0.1500", "{call}");
    assert!(call["cost"].is_null(), "{call}");
    assert_eq!(
        call["ratingError"],
        "cost: no rating profile for the carrier at the call's start"
    );
    assert_eq!(call["destinationName"], "Spain");
    assert_eq!(call["ratingPlan"], w.client_plan.as_str());
    let (_, call) = app.get("/billable_calls?callid=no-price", op).await;
    let call = &call[0];
    assert!(call["price"].is_null(), "{call}");
    assert_eq!(call["cost"], "0.0750", "{call}");
    assert_eq!(
        call["ratingError"],
        "price: no rating profile for the client at the call's start"
    );
    assert!(
        call["destinationName"].is_null() && call["ratingPlan"].is_null(),
        "nothing of the carrier's plan is shown as the call's: {call}"
    );

    // The CSV stream shows the price of the call without a cost, and the cost of the other.
    let (header, rows) = csv_of(&app, op, "/billable_calls?_order[startTime]=asc").await;
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    let cells: Vec<(&str, &str, &str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r[at("callid")].as_str(),
                r[at("cost")].as_str(),
                r[at("price")].as_str(),
                r[at("ratingError")].as_str(),
            )
        })
        .collect();
    assert_eq!(
        cells,
        [
            (
                "no-cost",
                "",
                "0.1500",
                "cost: no rating profile for the carrier at the call's start"
            ),
            (
                "no-price",
                "0.0750",
                "",
                "price: no rating profile for the client at the call's start"
            ),
        ]
    );
    // The client administrator sees the price and the error, never the cost.
    let (_, mine) = app
        .get("/billable_calls?callid=no-cost", &w.t.client_admin_a)
        .await;
    assert_eq!(mine[0]["price"], "0.1500");
    assert!(mine[0].get("cost").is_none(), "{}", mine[0]);
}

/// Calls stored under the old rule (no price because the cost failed) are not rewritten
/// until rerated; rerating gives them their price, and counts unrated the calls without one.
async fn rerating_applies_the_independent_rule_to_stored_calls(app: TestApp) {
    let w = world(&app).await;
    let op = &w.t.operator_a;
    let bare_carrier = id(&app
        .create("/carriers", op, json!({"name": "No costs loaded"}))
        .await);
    let bare_client = app
        .client(op, &w.t.brand_a, "No prices loaded", "retail")
        .await;
    let mut old = outbound(&w, "old", "2026-05-01T10:00:00Z", json!(60));
    old["carrier"] = json!(bare_carrier);
    let mut no_price = outbound(&w, "no-price", "2026-05-01T11:00:00Z", json!(60));
    no_price["client"] = json!(bare_client);
    let (_, summary) = app
        .post("/billable_calls", op, json!([old, no_price]))
        .await;
    assert_eq!(summary["accepted"], 2, "{summary}");
    // "old" as the all-or-nothing rule stored it: neither amount.
    let pool = app.pool();
    tokio::task::spawn_blocking(move || {
        use callcsv::db::schema::billable_calls as t;
        use diesel::prelude::*;
        let mut conn = pool.get().unwrap();
        let n = diesel::update(t::table.filter(t::callid.eq("old")))
            .set((
                t::price.eq(None::<String>),
                t::destination_name.eq(None::<String>),
            ))
            .execute(&mut conn)
            .unwrap();
        assert_eq!(n, 1);
    })
    .await
    .unwrap();
    let (_, call) = app.get("/billable_calls?callid=old", op).await;
    assert!(call[0]["price"].is_null(), "{}", call[0]);

    let (status, counts) = app
        .post("/billable_calls/rerate", op, json!({"startTime[after]": "2026-05-01T00:00:00Z", "startTime[strictly_before]": "2026-06-01T00:00:00Z"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{counts}");
    assert_eq!(
        (
            counts["matched"].as_u64(),
            counts["changed"].as_u64(),
            counts["unrated"].as_u64()
        ),
        (Some(2), Some(1), Some(1)),
        "{counts}"
    );
    let (_, call) = app.get("/billable_calls?callid=old", op).await;
    assert_eq!(
        (call[0]["price"].as_str(), call[0]["cost"].as_str()),
        (Some("0.1000"), None)
    );
    assert_eq!(call[0]["destinationName"], "Spain");
}

/// Stores an unanswered outbound call of `client` straight in the database, as a CDR source
/// with `answeredOnly: false` does (the API's own ingestion only takes answered calls).
pub async fn store_unanswered(
    app: &TestApp,
    brand: &str,
    client: &str,
    callid: &str,
    start: &str,
    source: &str,
) {
    let call = unanswered_call(brand, client, callid, start, Some(source));
    let pool = app.pool();
    tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().unwrap();
        let n = callcsv::db::billable_calls::insert_new(&mut conn, &[call]).unwrap();
        assert_eq!(n, 1);
    })
    .await
    .unwrap();
}

/// An unanswered outbound call of `client`, as a CDR source stores it.
fn unanswered_call(
    brand: &str,
    client: &str,
    callid: &str,
    start: &str,
    source: Option<&str>,
) -> callcsv::db::billable_calls::BillableCall {
    callcsv::db::billable_calls::BillableCall {
        id: uuid::Uuid::new_v4().to_string(),
        brand_id: brand.into(),
        callid: callid.into(),
        start_time: chrono::DateTime::parse_from_rfc3339(start)
            .unwrap()
            .naive_utc(),
        duration: "0".into(),
        billed_seconds: 0,
        caller: "+34911000001".into(),
        callee: "+34600111222".into(),
        direction: "outbound".into(),
        client_id: client.into(),
        carrier_id: None,
        ddi_id: None,
        ddi_provider_id: None,
        source_ip: None,
        endpoint_type: None,
        endpoint_id: None,
        cost: None,
        price: None,
        rating_error: None,
        destination_name: None,
        rating_plan_id: None,
        created_at: chrono::Utc::now().naive_utc(),
        updated_at: chrono::Utc::now().naive_utc(),
        source_id: source.map(str::to_string),
        disposition: "noanswer".into(),
        hangup_cause: Some(19),
        destination_country: None,
    }
}

/// Writer A stores `first` and holds its transaction open while writer B, in a transaction
/// of its own, stores `theirs` (waiting for A where they overlap); 300 ms later A stores
/// `then` and commits. How many calls A stored, and the ids B stored.
fn two_writers(
    pool: &callcsv::db::DbPool,
    first: Vec<callcsv::db::billable_calls::BillableCall>,
    then: Vec<callcsv::db::billable_calls::BillableCall>,
    theirs: Vec<callcsv::db::billable_calls::BillableCall>,
) -> (
    callcsv::error::AppResult<usize>,
    callcsv::error::AppResult<Vec<String>>,
) {
    use callcsv::db::{self, billable_calls::insert_new_ids};
    let (stored_first, go) = std::sync::mpsc::channel();
    let (store_then, wait) = std::sync::mpsc::channel::<()>();
    let pool_a = pool.clone();
    let a = std::thread::spawn(move || {
        let mut conn = pool_a.get().unwrap();
        db::transaction(&mut conn, |c| {
            let mut ids = insert_new_ids(c, &first)?;
            stored_first.send(()).unwrap();
            wait.recv().unwrap();
            ids.extend(insert_new_ids(c, &then)?);
            Ok(ids.len())
        })
    });
    go.recv().unwrap();
    let pool_b = pool.clone();
    let b = std::thread::spawn(move || {
        let mut conn = pool_b.get().unwrap();
        db::transaction(&mut conn, |c| insert_new_ids(c, &theirs))
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    store_then.send(()).unwrap();
    (a.join().unwrap(), b.join().unwrap())
}

/// Storing calls (COPY on PostgreSQL, INSERT on SQLite) belongs to the caller's
/// transaction: undone with it. A call another writer is storing at the same moment is
/// stored once: the second writer waits, then counts it as a duplicate.
async fn stored_calls_belong_to_the_callers_transaction(app: TestApp) {
    use callcsv::db::{self, billable_calls::insert_new_ids};
    use callcsv::error::AppError;
    let t = Tenants::create(&app).await;
    let call = |callid: &str| {
        unanswered_call(
            &t.brand_a,
            &t.client_a,
            callid,
            "2026-01-10T10:00:00Z",
            None,
        )
    };
    // 200 calls a batch: enough for PostgreSQL's COPY path.
    let batch = |prefix: &str, last: &str| {
        let mut calls: Vec<_> = (0..199).map(|i| call(&format!("{prefix}-{i}"))).collect();
        calls.push(call(last));
        calls
    };
    let (undone, first, again) = (
        batch("u", "undone"),
        batch("a", "twice"),
        batch("b", "twice"),
    );
    let pool = app.pool();
    tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().unwrap();
        let failed: Result<(), AppError> = db::transaction(&mut conn, |c| {
            assert_eq!(insert_new_ids(c, &undone)?.len(), 200);
            Err(AppError::bad_request("rolled back"))
        });
        assert!(failed.is_err());
        // Writer A stores "twice" and holds its transaction open while B stores it too.
        let (a, b) = two_writers(&pool, first, vec![], again);
        assert_eq!(a.unwrap(), 200);
        assert_eq!(b.unwrap().len(), 199, "\"twice\" is a duplicate");
    })
    .await
    .unwrap();
    let (_, calls) = app
        .get(
            &format!("/billable_calls?brand={}&itemsPerPage=1000", t.brand_a),
            &app.root,
        )
        .await;
    let callids: Vec<&str> = calls
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["callid"].as_str().unwrap())
        .collect();
    assert_eq!(callids.len(), 399, "the rolled-back calls are not stored");
    assert_eq!(callids.iter().filter(|c| **c == "twice").count(), 1);
    assert!(!callids
        .iter()
        .any(|c| c.starts_with("u-") || *c == "undone"));
}

/// Two writers storing the same calls, each given them in another order, both finish: one
/// stores them, the other counts duplicates. On PostgreSQL an insert waits for another
/// transaction storing the same call; in the order given, writer B would store the last
/// call, then wait for A on the first, while A waits for B on the last (a deadlock, and
/// one fails: CI once saw pushes arriving together answer 500 so). Both the INSERT (2
/// calls) and the COPY (200 calls) paths.
async fn writers_storing_the_same_calls_in_other_orders_both_finish(app: TestApp) {
    let t = Tenants::create(&app).await;
    for n in [2, 200] {
        let calls: Vec<_> = (0..n)
            .map(|i| {
                unanswered_call(
                    &t.brand_a,
                    &t.client_a,
                    &format!("order-{n}-{i:03}"),
                    "2026-01-10T10:00:00Z",
                    None,
                )
            })
            .collect();
        let first = calls[..1].to_vec();
        let rest = calls[1..].to_vec();
        let reversed: Vec<_> = calls.iter().rev().cloned().collect();
        let pool = app.pool();
        // A stores the first call and holds its transaction open; B starts storing all of
        // them (last first); then A stores the rest and commits.
        let (a, b) = tokio::task::spawn_blocking(move || two_writers(&pool, first, rest, reversed))
            .await
            .unwrap();
        assert_eq!(a.map_err(|e| e.to_string()), Ok(n), "writer A, {n} calls");
        assert_eq!(
            b.map(|ids| ids.len()).map_err(|e| e.to_string()),
            Ok(0),
            "writer B, {n} calls: all duplicates"
        );
    }
}

/// `source`, `disposition` and `hangupCause` are shown to every role, in JSON and CSV, and
/// filter the list; an unanswered call is never rated, not even by a rerate.
async fn source_disposition_and_hangup_cause_on_reads(app: TestApp) {
    let w = world(&app).await;
    let op = &w.t.operator_a;
    let (_, summary) = app
        .post(
            "/billable_calls",
            op,
            json!([outbound(&w, "answered", "2026-03-01T10:00:00Z", json!(60))]),
        )
        .await;
    assert_eq!(summary["accepted"], 1, "{summary}");
    let source = uuid::Uuid::new_v4().to_string();
    store_unanswered(
        &app,
        &w.t.brand_a,
        &w.t.client_a,
        "missed",
        "2026-03-01T11:00:00Z",
        &source,
    )
    .await;

    for token in [op, &w.t.client_admin_a] {
        let (_, all) = app.get("/billable_calls", token).await;
        let of = |callid: &str| {
            all.as_array()
                .unwrap()
                .iter()
                .find(|c| c["callid"] == callid)
                .unwrap()
                .clone()
        };
        let answered = of("answered");
        assert_eq!(
            (
                &answered["source"],
                &answered["disposition"],
                &answered["hangupCause"]
            ),
            (&Value::Null, &json!("answered"), &Value::Null),
            "posted calls are answered, from no source: {answered}"
        );
        let missed = of("missed");
        assert_eq!(
            (
                &missed["source"],
                &missed["disposition"],
                &missed["hangupCause"]
            ),
            (&json!(source), &json!("noanswer"), &json!(19)),
            "{missed}"
        );

        let (status, listed) = app.get("/billable_calls?disposition=noanswer", token).await;
        assert_eq!(status, StatusCode::OK, "{listed}");
        let callids: Vec<&str> = listed
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["callid"].as_str().unwrap())
            .collect();
        assert_eq!(callids, ["missed"]);
        let (_, listed) = app.get("/billable_calls?disposition=answered", token).await;
        assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
        assert_eq!(listed[0]["callid"], "answered");
        let (_, listed) = app
            .get(&format!("/billable_calls?source={source}"), token)
            .await;
        assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
        assert_eq!(listed[0]["callid"], "missed");

        let (header, rows) = csv_of(&app, token, "/billable_calls?disposition=noanswer").await;
        assert_eq!(
            &header[header.len() - 4..],
            ["source", "disposition", "hangupCause", "destinationCountry"]
        );
        assert_eq!(rows.len(), 1);
        let last = &rows[0][rows[0].len() - 4..rows[0].len() - 1];
        assert_eq!(last, [source.as_str(), "noanswer", "19"]);
    }
    let (_, rows) = csv_of(&app, op, "/billable_calls?callid=answered").await;
    assert_eq!(&rows[0][rows[0].len() - 4..], ["", "answered", "", "ES"]);

    // Bad filter values are 400s with the error shape, never a 500 or an empty list.
    for bad in [
        "disposition=ringing",
        "disposition=ANSWERED",
        "disposition=",
        "source=not-a-uuid",
    ] {
        let (status, body) = app.get(&format!("/billable_calls?{bad}"), op).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["code"], "invalid_query", "{bad}: {body}");
    }

    // Rerating leaves the unanswered call alone: not matched, still without amounts.
    let (status, counts) = app
        .post("/billable_calls/rerate", op, json!({"startTime[after]": "2026-03-01T00:00:00Z", "startTime[strictly_before]": "2026-04-01T00:00:00Z"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{counts}");
    assert_eq!(
        (counts["matched"].as_u64(), counts["unrated"].as_u64()),
        (Some(1), Some(0)),
        "{counts}"
    );
    let (_, missed) = app.get("/billable_calls?callid=missed", op).await;
    assert!(
        missed[0]["price"].is_null() && missed[0]["cost"].is_null(),
        "{}",
        missed[0]
    );
}
