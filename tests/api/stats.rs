//! Traffic statistics (issue 10): every call's `destinationCountry` and the `country` of
//! clients; `GET /stats`.

use std::collections::BTreeMap;
use std::str::FromStr;

use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use rust_decimal::Decimal;
use serde_json::{json, Value};

use crate::backend_tests;
use crate::billable_calls::{csv_of, outbound, world, World};
use crate::common::{id, TestApp};

backend_tests!(
    destination_country_is_set_shown_and_filtered,
    stats_equal_the_raw_calls_on_random_data,
    every_grouping_over_http,
    tenancy_rules_and_bad_parameters,
);

fn to(w: &World, callid: &str, callee: &str) -> Value {
    let mut call = outbound(w, callid, "2026-01-05T10:00:00Z", json!(60));
    call["callee"] = json!(callee);
    call
}

async fn destination_country_is_set_shown_and_filtered(app: TestApp) {
    let w = world(&app).await;
    let op = &w.t.operator_a;
    let mut inbound = json!({"callid": "in-fr", "startTime": "2026-01-05T11:00:00Z", "duration": 30,
        "caller": "+33142000000", "callee": "+34911000001", "direction": "inbound", "ddi": w.ddi});
    inbound["client"] = json!(w.t.client_a);
    let rows = json!([
        to(&w, "es", "+34600111222"),
        to(&w, "gb", "+442079460000"),
        to(&w, "ext", "1001"),
        inbound,
    ]);
    let (status, summary) = app.post("/billable_calls", op, rows).await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    assert_eq!(summary["accepted"], 4, "{summary}");

    let countries = |body: &Value| -> Vec<(String, Value)> {
        body.as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["callid"].as_str().unwrap().to_string(),
                    c["destinationCountry"].clone(),
                )
            })
            .collect()
    };
    let (status, all) = app.get("/billable_calls?_order[callid]=asc", op).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(
        countries(&all),
        vec![
            ("es".into(), json!("ES")),
            ("ext".into(), Value::Null),
            ("gb".into(), json!("GB")),
            ("in-fr".into(), json!("FR")),
        ]
    );
    let (_, gb) = app.get("/billable_calls?destinationCountry=GB", op).await;
    assert_eq!(countries(&gb), vec![("gb".into(), json!("GB"))]);
    let (_, two) = app
        .get(
            "/billable_calls?destinationCountry=GB,FR&_order[callid]=asc",
            op,
        )
        .await;
    assert_eq!(
        countries(&two),
        vec![("gb".into(), json!("GB")), ("in-fr".into(), json!("FR"))]
    );
    let (status, body) = app.get("/billable_calls?destinationCountry=gbr", op).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("destinationCountry"),
        "{body}"
    );

    // Clients have an optional home country, validated like brands'.
    let (status, client) = app
        .patch(
            &format!("/clients/{}", w.t.client_a),
            op,
            json!({"country": "es"}),
        )
        .await;
    assert_eq!(
        (status, &client["country"]),
        (StatusCode::OK, &json!("ES")),
        "{client}"
    );
    let (status, body) = app
        .patch(
            &format!("/clients/{}", w.t.client_a),
            op,
            json!({"country": "XX"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["fields"]["country"].is_string(), "{body}");
}

/// The measures computed here from raw calls (the CSV of `/billable_calls`), independently
/// of the service's code.
#[derive(Debug, Default, Clone, PartialEq)]
struct Raw {
    calls: i64,
    answered: i64,
    billed: i64,
    cost: Decimal,
    price: Decimal,
    margin: Decimal,
    unrated: i64,
}

impl Raw {
    fn add(&mut self, row: &BTreeMap<String, String>) {
        let answered = row["disposition"] == "answered";
        let money = |c: &str| (!row[c].is_empty()).then(|| Decimal::from_str(&row[c]).unwrap());
        let (cost, price) = (money("cost"), money("price"));
        self.calls += 1;
        if answered {
            self.answered += 1;
            self.billed += row["billedSeconds"].parse::<i64>().unwrap();
            if row["direction"] == "outbound" && price.is_none() {
                self.unrated += 1;
            }
        }
        self.cost += cost.unwrap_or_default();
        self.price += price.unwrap_or_default();
        if let (Some(c), Some(p)) = (cost, price) {
            self.margin += p - c;
        }
    }

    /// Compares with a row or the totals of a `/stats` answer, every figure.
    fn check(&self, got: &Value, context: &str) {
        let dec = |v: &Value| Decimal::from_str(v.as_str().unwrap()).unwrap();
        assert_eq!(got["calls"], self.calls, "calls {context}: {got}");
        assert_eq!(got["answered"], self.answered, "answered {context}: {got}");
        assert_eq!(
            got["billedSeconds"], self.billed,
            "billedSeconds {context}: {got}"
        );
        assert_eq!(dec(&got["cost"]), self.cost, "cost {context}: {got}");
        assert_eq!(dec(&got["price"]), self.price, "price {context}: {got}");
        assert_eq!(dec(&got["margin"]), self.margin, "margin {context}: {got}");
        assert_eq!(got["unrated"], self.unrated, "unrated {context}: {got}");
        let ratio = |n: i64, d: i64, dp: u32| {
            (d != 0).then(|| {
                let mut r = (Decimal::from(n) / Decimal::from(d)).round_dp_with_strategy(
                    dp,
                    rust_decimal::RoundingStrategy::MidpointAwayFromZero,
                );
                r.rescale(dp);
                r.to_string()
            })
        };
        assert_eq!(
            got["asr"].as_str().map(str::to_string),
            ratio(self.answered, self.calls, 4),
            "asr {context}"
        );
        assert_eq!(
            got["minutes"].as_str().map(str::to_string),
            ratio(self.billed, 60, 1),
            "minutes {context}"
        );
        assert_eq!(
            got["acd"].as_str().map(str::to_string),
            ratio(self.billed, self.answered, 1),
            "acd {context}"
        );
    }
}

async fn raw_calls(app: &TestApp, token: &str, query: &str) -> Vec<BTreeMap<String, String>> {
    let (header, rows) = csv_of(app, token, &format!("/billable_calls?{query}")).await;
    rows.into_iter()
        .map(|r| header.iter().cloned().zip(r).collect())
        .collect()
}

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Stores an unanswered call directly (the API stores answered calls only; CDR sources
/// keep the others).
pub async fn store_unanswered(
    app: &TestApp,
    w: &World,
    callid: &str,
    start: chrono::NaiveDateTime,
) {
    let now = chrono::Utc::now().naive_utc();
    let call = callcsv::db::billable_calls::BillableCall {
        id: uuid::Uuid::now_v7().to_string(),
        brand_id: w.t.brand_a.clone(),
        callid: callid.into(),
        start_time: start,
        duration: "0".into(),
        billed_seconds: 0,
        caller: "+34911000001".into(),
        callee: "+442079460000".into(),
        direction: "outbound".into(),
        client_id: w.t.client_a.clone(),
        carrier_id: Some(w.carrier.clone()),
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
        created_at: now,
        updated_at: now,
        source_id: None,
        disposition: "busy".into(),
        hangup_cause: Some(17),
        destination_country: Some("GB".into()),
    };
    let pool = app.pool();
    tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().unwrap();
        callcsv::db::billable_calls::insert_new(&mut conn, &[call]).unwrap();
    })
    .await
    .unwrap();
}

/// Random calls (seeded): answered ones through the API, rated or not, to several
/// countries, both directions, and some unanswered; then for every grouping in three zones,
/// with range bounds off the 15-minute grid, the totals and the sum of the rows equal the
/// measures computed from the raw calls; per local day in Kathmandu, each row too. The
/// same after rerating with new prices, and after a client's calls are deleted. One range
/// is off the 15-minute grid (answered from the calls), one on it (from the rollup).
async fn stats_equal_the_raw_calls_on_random_data(app: TestApp) {
    let w = world(&app).await;
    let op = &w.t.operator_a;
    let other_client = app
        .client(&app.root, &w.t.brand_a, "Client C", "retail")
        .await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(10);
    let base = chrono::DateTime::parse_from_rfc3339("2026-03-20T00:00:00Z")
        .unwrap()
        .naive_utc();
    let callees = [
        "+34600111222",
        "+34911222333",
        "+442079460000",
        "+33142000000",
        "1001",
    ];
    let mut rows = Vec::new();
    for i in 0..240 {
        let start = base + chrono::Duration::seconds(rng.random_range(0..20 * 86_400));
        let duration = format!("{}.{}", rng.random_range(0..900), rng.random_range(0..10));
        let callee = callees[rng.random_range(0..callees.len())];
        let client = if rng.random_bool(0.3) {
            &other_client
        } else {
            &w.t.client_a
        };
        if rng.random_bool(0.2) {
            rows.push(
                json!({"callid": format!("in-{i}"), "startTime": start.and_utc().to_rfc3339(),
                "duration": duration, "caller": callee, "callee": "+34911000001",
                "direction": "inbound", "ddi": w.ddi}),
            );
        } else {
            rows.push(
                json!({"callid": format!("out-{i}"), "startTime": start.and_utc().to_rfc3339(),
                "duration": duration, "caller": "+34911000001", "callee": callee,
                "direction": "outbound", "client": client, "carrier": w.carrier}),
            );
        }
    }
    let (status, summary) = app.post("/billable_calls", op, Value::from(rows)).await;
    assert_eq!(
        (status, &summary["rejected"]),
        (StatusCode::OK, &json!(0)),
        "{summary}"
    );
    for i in 0..20 {
        let start = base + chrono::Duration::seconds(rng.random_range(0..20 * 86_400));
        store_unanswered(&app, &w, &format!("busy-{i}"), start).await;
    }

    // Bounds off the 15-minute grid (answered from the calls) and on it (from the rollup).
    let ranges: Vec<String> = [
        ("2026-03-21T00:07:13Z", "2026-04-07T23:52:01Z"),
        ("2026-03-20T18:15:00Z", "2026-04-07T00:00:00Z"),
    ]
    .iter()
    .map(|(after, before)| {
        format!(
            "startTime[after]={}&startTime[strictly_before]={}",
            encode(after),
            encode(before)
        )
    })
    .collect();
    let check_one = |label: &'static str, range: String| {
        let app = &app;
        async move {
            let raw = raw_calls(app, op, &range).await;
            let mut expected = Raw::default();
            raw.iter().for_each(|r| expected.add(r));
            assert!(expected.calls > 150 && expected.unrated > 0, "{expected:?}");
            for zone in ["UTC", "Asia/Kathmandu", "Europe/Madrid"] {
                for group in [
                    "",
                    "hour",
                    "day",
                    "week",
                    "month",
                    "client",
                    "carrier",
                    "country",
                    "direction",
                    "disposition",
                    "destination",
                    "day,client",
                    "country,direction",
                    "endpoint",
                    "month,carrier",
                    "client,country",
                ] {
                    let path = format!("/stats?{range}&timezone={}&groupBy={group}", encode(zone));
                    let (status, body) = app.get(&path, op).await;
                    assert_eq!(status, StatusCode::OK, "{path}: {body}");
                    let context = format!("{label} {zone} groupBy={group}");
                    expected.check(&body["totals"], &context);
                    let mut summed = Raw::default();
                    for row in body["rows"].as_array().unwrap() {
                        summed.calls += row["calls"].as_i64().unwrap();
                        summed.answered += row["answered"].as_i64().unwrap();
                        summed.billed += row["billedSeconds"].as_i64().unwrap();
                        summed.unrated += row["unrated"].as_i64().unwrap();
                        for (field, sum) in [
                            ("cost", &mut summed.cost),
                            ("price", &mut summed.price),
                            ("margin", &mut summed.margin),
                        ] {
                            *sum += Decimal::from_str(row[field].as_str().unwrap()).unwrap();
                        }
                    }
                    assert_eq!(
                        (
                            summed.calls,
                            summed.answered,
                            summed.billed,
                            summed.unrated,
                            summed.cost,
                            summed.price,
                            summed.margin
                        ),
                        (
                            expected.calls,
                            expected.answered,
                            expected.billed,
                            expected.unrated,
                            expected.cost,
                            expected.price,
                            expected.margin
                        ),
                        "rows of {context}"
                    );
                }
            }
            // Each local day of Kathmandu (+05:45) against the raw calls of that day.
            let zone: chrono_tz::Tz = "Asia/Kathmandu".parse().unwrap();
            let mut days: BTreeMap<String, Raw> = BTreeMap::new();
            for r in &raw {
                let start = chrono::DateTime::parse_from_rfc3339(&r["startTime"]).unwrap();
                let day = start.with_timezone(&zone).format("%Y-%m-%d").to_string();
                days.entry(day).or_default().add(r);
            }
            let path = format!("/stats?{range}&timezone=Asia/Kathmandu&groupBy=day");
            let (_, body) = app.get(&path, op).await;
            let got = body["rows"].as_array().unwrap();
            assert_eq!(got.len(), days.len(), "{body}");
            for (row, (day, raw)) in got.iter().zip(&days) {
                assert_eq!(&row["key"]["day"], day);
                raw.check(row, &format!("{label} Kathmandu day {day}"));
            }
        }
    };
    let check_all = |label: &'static str| {
        let ranges = ranges.clone();
        let check_one = &check_one;
        async move {
            for range in ranges {
                check_one(label, range).await;
            }
        }
    };
    check_all("stored").await;

    // New prices, with 6 decimals, for Spain and now the UK too, and calls rerated.
    let rates = json!([
        {"prefix": "+34", "destinationName": "Spain", "rate": "0.0123457", "rateUnit": 60, "rateIncrement": 1},
        {"prefix": "+44", "destinationName": "UK", "rate": "0.033", "rateUnit": 60, "rateIncrement": 1}
    ]);
    let (status, body) = app
        .put(
            &format!("/rating_plans/{}/rates?replace=true", w.client_plan),
            op,
            rates,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .patch(
            &format!("/rating_plans/{}", w.client_plan),
            op,
            json!({"roundingDecimals": 6}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .post("/billable_calls/rerate", op, json!({"startTime[after]": "2026-01-01T00:00:00Z", "startTime[strictly_before]": "2026-12-01T00:00:00Z"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["changed"].as_i64().unwrap() > 50, "{body}");
    check_all("rerated").await;

    // Deleting a client deletes its calls; the statistics follow.
    let status = app
        .delete(&format!("/clients/{other_client}?force=true"), &app.root)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    check_all("after a deletion").await;
}

/// A few calls around Madrid's fall-back night (2026-10-25, 03:00+02:00 → 02:00+01:00).
async fn night(app: &TestApp) -> (World, String) {
    let w = world(app).await;
    let op = &w.t.operator_a;
    let endpoint = id(&app
        .create(
            "/endpoints",
            op,
            json!({"client": w.t.client_a, "type": "User", "name": "Reception"}),
        )
        .await);
    let mut out1 = outbound(&w, "out-1", "2026-10-25T00:30:00Z", json!(60));
    out1["endpointId"] = json!(endpoint);
    let mut out2 = outbound(&w, "out-2", "2026-10-25T01:30:00Z", json!(120));
    out2["callee"] = json!("+442079460000");
    let in1 = json!({"callid": "in-1", "startTime": "2026-10-26T10:00:00Z", "duration": 30,
        "caller": "+33142000000", "callee": "+34911000001", "direction": "inbound", "ddi": w.ddi,
        "ddiProvider": w.provider});
    let (status, summary) = app
        .post("/billable_calls", op, json!([out1, out2, in1]))
        .await;
    assert_eq!(
        (status, &summary["accepted"]),
        (StatusCode::OK, &json!(3)),
        "{summary}"
    );
    let busy = chrono::DateTime::parse_from_rfc3339("2026-10-25T01:40:00Z")
        .unwrap()
        .naive_utc();
    store_unanswered(app, &w, "busy-1", busy).await;
    (w, endpoint)
}

const NIGHT: &str =
    "startTime[after]=2026-10-25&startTime[strictly_before]=2026-10-27&timezone=Europe/Madrid";

/// (key of the row's first dimension or "other", calls) of a grouping.
async fn grouped(app: &TestApp, token: &str, query: &str) -> (Value, Vec<(Value, i64)>) {
    let (status, body) = app.get(&format!("/stats?{NIGHT}&{query}"), token).await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    let rows = body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let key = match &r["key"] {
                Value::Object(k) => k.values().next().cloned().unwrap_or(Value::Null),
                other => other.clone(),
            };
            (key, r["calls"].as_i64().unwrap())
        })
        .collect();
    (body, rows)
}

async fn every_grouping_over_http(app: TestApp) {
    let (w, endpoint) = night(&app).await;
    let op = &w.t.operator_a;
    let k = |v: &str| json!(v);
    let (body, rows) = grouped(&app, op, "groupBy=hour").await;
    assert_eq!(
        rows,
        vec![
            (k("2026-10-25T02:00+02:00"), 1),
            (k("2026-10-25T02:00+01:00"), 2),
            (k("2026-10-26T11:00+01:00"), 1),
        ]
    );
    assert_eq!(
        (
            &body["from"],
            &body["to"],
            &body["timezone"],
            &body["groupBy"]
        ),
        (
            &json!("2026-10-25T00:00:00+02:00"),
            &json!("2026-10-27T00:00:00+01:00"),
            &json!("Europe/Madrid"),
            &json!(["hour"])
        )
    );
    // out-1: 60 s at 0.10/min for the client, 0.05/min from the carrier.
    assert_eq!(
        (
            &body["rows"][0]["price"],
            &body["rows"][0]["cost"],
            &body["rows"][0]["margin"],
            &body["rows"][0]["asr"]
        ),
        (
            &json!("0.1000"),
            &json!("0.0500"),
            &json!("0.0500"),
            &json!("1.0000")
        )
    );
    let totals = &body["totals"];
    assert_eq!(
        (
            &totals["calls"],
            &totals["answered"],
            &totals["asr"],
            &totals["billedSeconds"],
            &totals["minutes"],
            &totals["acd"],
            &totals["unrated"]
        ),
        (
            &json!(4),
            &json!(3),
            &json!("0.7500"),
            &json!(210),
            &json!("3.5"),
            &json!("70.0"),
            &json!(1)
        )
    );
    assert_eq!(
        grouped(&app, op, "groupBy=day").await.1,
        vec![(k("2026-10-25"), 3), (k("2026-10-26"), 1)]
    );
    assert_eq!(
        grouped(&app, op, "groupBy=week").await.1,
        vec![(k("2026-W43"), 3), (k("2026-W44"), 1)]
    );
    assert_eq!(
        grouped(&app, op, "groupBy=month").await.1,
        vec![(k("2026-10"), 4)]
    );
    assert_eq!(grouped(&app, op, "").await.1, vec![(Value::Null, 4)]);

    let (body, rows) = grouped(&app, op, "groupBy=client").await;
    assert_eq!(rows, vec![(json!(w.t.client_a), 4)]);
    assert_eq!(body["rows"][0]["names"]["client"], "Client A");
    let (body, rows) = grouped(&app, op, "groupBy=carrier").await;
    assert_eq!(rows, vec![(Value::Null, 1), (json!(w.carrier), 3)]);
    assert_eq!(body["rows"][1]["names"]["carrier"], "Carrier 1");
    assert_eq!(
        grouped(&app, op, "groupBy=ddiProvider").await.1,
        vec![(Value::Null, 3), (json!(w.provider), 1)]
    );
    let (body, rows) = grouped(&app, op, "groupBy=ddi").await;
    assert_eq!(rows, vec![(Value::Null, 3), (json!(w.ddi), 1)]);
    assert_eq!(body["rows"][1]["names"]["ddi"], "+34911000001");
    let (body, rows) = grouped(&app, op, "groupBy=endpoint").await;
    assert_eq!(rows, vec![(Value::Null, 3), (json!(endpoint), 1)]);
    assert_eq!(body["rows"][1]["names"]["endpoint"], "Reception");
    assert_eq!(
        grouped(&app, op, "groupBy=country").await.1,
        vec![(k("ES"), 1), (k("FR"), 1), (k("GB"), 2)]
    );
    let destinations = grouped(&app, op, "groupBy=destination").await.1;
    assert!(destinations.contains(&(k("Spain"), 1)), "{destinations:?}");
    assert_eq!(
        grouped(&app, op, "groupBy=direction").await.1,
        vec![(k("inbound"), 1), (k("outbound"), 3)]
    );
    assert_eq!(
        grouped(&app, op, "groupBy=disposition").await.1,
        vec![(k("answered"), 3), (k("busy"), 1)]
    );
    assert_eq!(
        grouped(&app, op, "groupBy=source").await.1,
        vec![(Value::Null, 4)]
    );
    let (body, rows) = grouped(&app, &app.root, "groupBy=brand").await;
    assert_eq!(rows, vec![(json!(w.t.brand_a), 4)]);
    assert_eq!(body["rows"][0]["names"]["brand"], "Brand A");
    assert_eq!(body["timezone"], "Europe/Madrid");

    // Two dimensions; ordering by a measure; the limit's "other" row.
    let (body, _) = grouped(&app, op, "groupBy=day,country").await;
    assert_eq!(
        body["rows"][0]["key"],
        json!({"day": "2026-10-25", "country": "ES"})
    );
    assert_eq!(body["rows"].as_array().unwrap().len(), 3);
    let (body, rows) = grouped(&app, op, "groupBy=country&_order[calls]=desc&limit=1").await;
    assert_eq!(rows, vec![(k("GB"), 2), (k("other"), 2)]);
    assert_eq!(body["totals"]["calls"], 4);
    assert_eq!(
        grouped(&app, op, "groupBy=country&_order[price]=desc")
            .await
            .1[0],
        (k("ES"), 1)
    );

    // Filters.
    assert_eq!(
        grouped(&app, op, "destinationCountry=GB,FR").await.1,
        vec![(Value::Null, 3)]
    );
    assert_eq!(
        grouped(&app, op, "direction=inbound").await.1,
        vec![(Value::Null, 1)]
    );
    assert_eq!(
        grouped(&app, op, "disposition=busy").await.1,
        vec![(Value::Null, 1)]
    );
    assert_eq!(
        grouped(&app, op, &format!("carrier={}", w.carrier)).await.1,
        vec![(Value::Null, 3)]
    );
    assert_eq!(
        grouped(&app, op, &format!("endpointId={endpoint}")).await.1,
        vec![(Value::Null, 1)]
    );
    assert_eq!(grouped(&app, op, "clientType=retail").await.1, vec![]);
    // International: the destination differs from the client's country, else the brand's.
    let (status, body) = app
        .patch(
            &format!("/brands/{}", w.t.brand_a),
            &app.root,
            json!({"country": "ES"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        grouped(&app, op, "international=true").await.1,
        vec![(Value::Null, 3)]
    );
    assert_eq!(
        grouped(&app, op, "international=false").await.1,
        vec![(Value::Null, 1)]
    );
    app.patch(
        &format!("/clients/{}", w.t.client_a),
        op,
        json!({"country": "GB"}),
    )
    .await;
    assert_eq!(
        grouped(&app, op, "international=true&groupBy=country")
            .await
            .1,
        vec![(k("ES"), 1), (k("FR"), 1)]
    );

    // CSV: the same rows, entities as id and name.
    let (header, rows) = csv_of(&app, op, &format!("/stats?{NIGHT}&groupBy=carrier")).await;
    assert_eq!(
        header,
        [
            "carrier",
            "carrierName",
            "calls",
            "answered",
            "asr",
            "billedSeconds",
            "minutes",
            "acd",
            "cost",
            "price",
            "margin",
            "unrated"
        ]
    );
    assert_eq!(rows[1][..4], [w.carrier.as_str(), "Carrier 1", "3", "2"]);
    let (_, rows) = csv_of(
        &app,
        op,
        &format!("/stats?{NIGHT}&groupBy=country&_order[calls]=desc&limit=1"),
    )
    .await;
    assert_eq!((rows[1][0].as_str(), rows[1][1].as_str()), ("other", "2"));
}

async fn tenancy_rules_and_bad_parameters(app: TestApp) {
    let (w, _) = night(&app).await;
    let t = &w.t;
    // The client administrator: own calls, no cost or margin, no suppliers.
    let (body, rows) = grouped(&app, &t.client_admin_a, "groupBy=day").await;
    assert_eq!(rows.len(), 2);
    for figures in [&body["totals"], &body["rows"][0]] {
        assert!(
            figures.get("cost").is_none() && figures.get("margin").is_none(),
            "{figures}"
        );
        assert!(figures["price"].is_string(), "{figures}");
    }
    for forbidden in [
        "groupBy=carrier".to_string(),
        "groupBy=day,ddiProvider".to_string(),
        format!("carrier={}", w.carrier),
        format!("ddiProvider={}", w.provider),
        "groupBy=brand".to_string(),
        "_order[cost]=desc".to_string(),
    ] {
        let (status, body) = app
            .get(&format!("/stats?{NIGHT}&{forbidden}"), &t.client_admin_a)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{forbidden}: {body}");
    }
    let (header, _) = csv_of(
        &app,
        &t.client_admin_a,
        &format!("/stats?{NIGHT}&groupBy=day"),
    )
    .await;
    assert_eq!(
        header,
        [
            "day",
            "calls",
            "answered",
            "asr",
            "billedSeconds",
            "minutes",
            "acd",
            "price",
            "unrated"
        ]
    );
    // Another client's calls are nobody's business: naming it gives nothing.
    let (body, rows) = grouped(&app, &t.client_admin_a, &format!("client={}", t.client_b)).await;
    assert_eq!((rows.len(), &body["totals"]["calls"]), (0, &json!(0)));
    // Without showBillingDetails, no price either.
    let (status, _) = app
        .patch(
            &format!("/clients/{}", t.client_a),
            &t.operator_a,
            json!({"showBillingDetails": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (body, _) = grouped(&app, &t.client_admin_a, "").await;
    assert!(body["totals"].get("price").is_none(), "{body}");
    assert_eq!(body["totals"]["calls"], 4);

    // Other brands see nothing of A; brand operators do not group by brand.
    let (body, _) = grouped(&app, &t.operator_b, "").await;
    assert_eq!(body["totals"]["calls"], 0);
    let (body, _) = grouped(&app, &t.operator_b, &format!("brand={}", t.brand_a)).await;
    assert_eq!(body["totals"]["calls"], 0);
    let (status, _) = app
        .get(&format!("/stats?{NIGHT}&groupBy=brand"), &t.operator_a)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (body, _) = grouped(&app, &app.root, &format!("brand={}", t.brand_b)).await;
    assert_eq!(body["totals"]["calls"], 0);

    // The default zone: the client's, the brand's, UTC for the platform.
    let range =
        "startTime[after]=2026-10-25T00:00:00Z&startTime[strictly_before]=2026-10-27T00:00:00Z";
    for (token, zone) in [
        (&t.client_admin_a, "Europe/Madrid"),
        (&t.operator_a, "Europe/Madrid"),
        (&app.root, "UTC"),
    ] {
        let (status, body) = app.get(&format!("/stats?{range}"), token).await;
        assert_eq!(
            (status, &body["timezone"]),
            (StatusCode::OK, &json!(zone)),
            "{body}"
        );
    }
    app.patch(
        &format!("/clients/{}", t.client_a),
        &t.operator_a,
        json!({"timezone": "Asia/Kolkata"}),
    )
    .await;
    let (_, body) = app.get(&format!("/stats?{range}"), &t.client_admin_a).await;
    assert_eq!(
        (&body["timezone"], &body["from"]),
        (&json!("Asia/Kolkata"), &json!("2026-10-25T05:30:00+05:30"))
    );

    // Bad parameters: clear 400s.
    let op = &t.operator_a;
    for (query, mentions) in [
        ("startTime[strictly_before]=2026-10-27".to_string(), "startTime[after]"),
        ("startTime[after]=2026-10-27".to_string(), "startTime[strictly_before]"),
        ("startTime[after]=2025-01-01&startTime[strictly_before]=2026-03-01".to_string(), "400 days"),
        ("startTime[after]=2026-10-27&startTime[strictly_before]=2026-10-25".to_string(), "later"),
        ("startTime[after]=yesterday&startTime[strictly_before]=2026-10-25".to_string(), "startTime[after]"),
        ("startTime[after]=2026-03-29T02:30&startTime[strictly_before]=2026-04-01&timezone=Europe/Madrid".to_string(), "does not exist"),
        (format!("{NIGHT}&groupBy=colour"), "groupBy"),
        (format!("{NIGHT}&groupBy=day,hour"), "groupBy"),
        (format!("{NIGHT}&groupBy=day,client,carrier"), "groupBy"),
        (format!("{NIGHT}&groupBy=client,client"), "groupBy"),
        ("startTime[after]=2026-10-25&startTime[strictly_before]=2026-10-27&timezone=Mars/Base".to_string(), "timezone"),
        (format!("{NIGHT}&limit=0"), "limit"),
        (format!("{NIGHT}&limit=10001"), "limit"),
        (format!("{NIGHT}&destinationCountry=xx"), "destinationCountry"),
        (format!("{NIGHT}&international=maybe"), "international"),
        (format!("{NIGHT}&_order[asr]=desc"), "_order"),
        (format!("{NIGHT}&colour=blue"), "colour"),
        (format!("{NIGHT}&client=nope"), "client"),
    ] {
        let (status, body) = app.get(&format!("/stats?{query}"), op).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert!(body["message"].as_str().unwrap().contains(mentions), "{query}: {body}");
    }
}
