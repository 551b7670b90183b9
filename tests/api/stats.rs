//! Traffic statistics (issue 10): every call's `destinationCountry` and the `country` of
//! clients; `GET /stats`.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::backend_tests;
use crate::billable_calls::{outbound, world, World};
use crate::common::TestApp;

backend_tests!(destination_country_is_set_shown_and_filtered,);

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
