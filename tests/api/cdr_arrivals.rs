//! CDR arrivals through HTTP: uploading a file to a source (streamed, gzip, broken and
//! resumed), a switch's push with the source's secret (FreeSWITCH `mod_json_cdr`, raw and
//! `cdr=` form), and `/cdr_imports` (counts, first errors, filters, who sees which).

use std::io::Write;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::backend_tests;
use crate::common::{id, Tenants, TestApp};

backend_tests!(
    an_upload_stores_rates_and_counts_every_record,
    a_broken_upload_keeps_what_arrived_and_the_same_file_again_stores_the_rest,
    uploads_are_refused_to_whoever_may_not_write_the_source,
    a_push_with_the_secret_is_grouped_in_the_hours_import,
    pushes_arriving_together_are_each_counted_once,
    imports_are_listed_filtered_and_kept_to_the_brand
);

/// A brand (Madrid, Spain) whose client ACME has the DDI +34910000001, a carrier TELCHAN,
/// price 0.02/min and cost 0.01/min for Spain, and an asterisk-csv source mapping the
/// accountcode to the client. Returns (brand, operator token, source, push secret).
pub(crate) async fn pbx(app: &TestApp, name: &str) -> (String, String, String, String) {
    let brand = app.brand(name).await;
    app.brand_country(&brand, "ES").await;
    let operator = app.brand_operator(&brand, &format!("op-{name}")).await;
    let client = id(&app
        .create(
            "/clients",
            &operator,
            json!({"name": "Acme", "type": "vpbx", "code": "ACME"}),
        )
        .await);
    let carrier = id(&app
        .create(
            "/carriers",
            &operator,
            json!({"name": "Telchan", "code": "TELCHAN"}),
        )
        .await);
    app.create(
        "/ddis",
        &operator,
        json!({"client": client, "ddiE164": "+34910000001"}),
    )
    .await;
    for (owner, field, rate) in [
        (&client, "client", "0.0200"),
        (&carrier, "carrier", "0.0100"),
    ] {
        let plan = id(&app
            .create(
                "/rating_plans",
                &operator,
                json!({"name": format!("{field} plan")}),
            )
            .await);
        let rates =
            format!("prefix,destinationName,rate,rateUnit,rateIncrement\n34,Spain,{rate},60,1\n");
        let res = app
            .http
            .post(app.url(&format!("/rating_plans/{plan}/rates")))
            .bearer_auth(&operator)
            .header("content-type", "text/csv")
            .body(rates)
            .send()
            .await
            .unwrap();
        assert!(
            res.status().is_success(),
            "rates: {}",
            res.text().await.unwrap()
        );
        app.create(
            "/rating_profiles",
            &operator,
            json!({field: owner, "ratingPlan": plan, "activationTime": "2020-01-01T00:00:00Z"}),
        )
        .await;
    }
    let source = app
        .create(
            "/cdr_sources",
            &operator,
            json!({"name": "pbx", "format": "asterisk-csv",
                   "mapping": {"client": {"field": "accountcode"}}}),
        )
        .await;
    let secret = source["pushSecret"].as_str().unwrap().to_string();
    (brand, operator, id(&source), secret)
}

/// An Asterisk `Master.csv` line (16 columns: no uniqueid, so the callid is a hash).
pub(crate) fn line(src: &str, dst: &str, start: &str, billsec: u32, disposition: &str) -> String {
    format!(
        "\"ACME\",\"{src}\",\"{dst}\",\"from-internal\",\"\"\"Ext {src}\"\" <{src}>\",\"SIP/{src}-0001\",\"SIP/TELCHAN-0002\",\"Dial\",\"SIP/TELCHAN/{dst},60\",\"{start}\",\"{start}\",\"{start}\",{},{billsec},\"{disposition}\",\"DOCUMENTATION\"\n",
        billsec + 5
    )
}

/// Four answered calls out, one unanswered, one between extensions, one call in to the
/// DDI, one line that is no record.
pub(crate) fn master_csv() -> String {
    [
        line("201", "912345678", "2026-01-31 10:00:00", 60, "ANSWERED"),
        line("201", "912345679", "2026-01-31 10:05:00", 30, "ANSWERED"),
        line(
            "202",
            "0034612345678",
            "2026-01-31 10:10:00",
            12,
            "ANSWERED",
        ),
        line(
            "203",
            "+34912000000",
            "2026-01-31 10:12:00",
            120,
            "ANSWERED",
        ),
        line("201", "912345670", "2026-01-31 10:15:00", 0, "NO ANSWER"),
        line("201", "202", "2026-01-31 10:20:00", 40, "ANSWERED"),
        line(
            "666777888",
            "910000001",
            "2026-01-31 10:25:00",
            90,
            "ANSWERED",
        ),
        "\"ACME\",\"201\",\"912\"\n".to_string(),
    ]
    .concat()
}

pub(crate) async fn upload(
    app: &TestApp,
    token: &str,
    source: &str,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let res = app
        .http
        .post(app.url(&format!(
            "/cdr_sources/{source}/imports?fileName=Master.csv"
        )))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn an_upload_stores_rates_and_counts_every_record(app: TestApp) {
    let (brand, operator, source, _) = pbx(&app, "Upload").await;
    let (status, import) = upload(&app, &operator, &source, master_csv().into_bytes()).await;
    assert_eq!(status, StatusCode::CREATED, "{import}");
    assert_eq!(import["status"], "done", "{import}");
    assert_eq!(import["origin"], "upload");
    assert_eq!(import["fileName"], "Master.csv");
    assert_eq!(import["source"], source.as_str());
    assert_eq!(import["brand"], brand.as_str());
    assert_eq!(
        (
            &import["records"],
            &import["accepted"],
            &import["duplicates"],
            &import["rejected"],
            &import["unrated"]
        ),
        (&json!(8), &json!(5), &json!(0), &json!(1), &json!(0)),
        "{import}"
    );
    assert_eq!(
        import["skipped"],
        json!({"unanswered": 1, "internal": 1, "leg": 0, "filtered": 0})
    );
    assert_eq!(import["errorCount"], 1);
    assert_eq!(import["errors"][0]["line"], 8, "{import}");
    assert_eq!(import["bytes"], master_csv().len());
    assert_eq!(import["sha256"].as_str().unwrap().len(), 64);

    // The calls, rated: 60 s to Spain at 0.02/min and 0.01/min.
    let (status, calls) = app
        .get(
            &format!("/billable_calls?brand={brand}&_order[startTime]=asc"),
            &operator,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let calls = calls.as_array().unwrap();
    assert_eq!(calls.len(), 5, "{calls:?}");
    let first = &calls[0];
    assert_eq!(first["callee"], "+34912345678");
    assert_eq!(first["caller"], "201");
    assert_eq!(first["direction"], "outbound");
    assert_eq!(
        first["startTime"], "2026-01-31T09:00:00Z",
        "Madrid local time"
    );
    assert_eq!(first["price"], "0.0200");
    assert_eq!(first["cost"], "0.0100");
    let inbound = calls.iter().find(|c| c["direction"] == "inbound").unwrap();
    assert_eq!(inbound["callee"], "+34910000001");
    assert!(inbound["ddi"].is_string());

    // The same file again, gzip-compressed: every call a duplicate, nothing doubled.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(master_csv().as_bytes()).unwrap();
    let (status, again) = upload(&app, &operator, &source, gz.finish().unwrap()).await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    assert_eq!(
        (&again["accepted"], &again["duplicates"]),
        (&json!(0), &json!(5))
    );
    let (_, calls) = app
        .get(&format!("/billable_calls?brand={brand}"), &operator)
        .await;
    assert_eq!(calls.as_array().unwrap().len(), 5);

    // The import as /cdr_imports has it.
    let (status, found) = app
        .get(&format!("/cdr_imports/{}", id(&import)), &operator)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found["accepted"], 5);
}

async fn a_broken_upload_keeps_what_arrived_and_the_same_file_again_stores_the_rest(app: TestApp) {
    let (_, operator, source, _) = pbx(&app, "Broken").await;
    let text = master_csv();
    // Two whole lines and part of the third, then the sender goes away.
    let cut = text.match_indices('\n').nth(1).unwrap().0 + 1 + 30;
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        conn,
        "POST /cdr_sources/{source}/imports HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {operator}\r\nContent-Type: text/csv\r\nContent-Length: {}\r\n\r\n",
        text.len()
    )
    .unwrap();
    conn.write_all(&text.as_bytes()[..cut]).unwrap();
    conn.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    drop(conn);

    // The import is recorded failed, with the two calls stored.
    let mut failed = Value::Null;
    for _ in 0..50 {
        let (_, list) = app
            .get(
                &format!("/cdr_imports?source={source}&status=failed"),
                &operator,
            )
            .await;
        if let Some(first) = list.as_array().and_then(|l| l.first()) {
            failed = first.clone();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(failed["status"], "failed", "no failed import: {failed}");
    assert_eq!(failed["accepted"], 2, "{failed}");
    let why = failed["failure"].as_str().unwrap();
    assert!(
        why.contains("sending the same input again stores the rest"),
        "{why}"
    );

    let (status, rest) = upload(&app, &operator, &source, text.into_bytes()).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        (&rest["accepted"], &rest["duplicates"]),
        (&json!(3), &json!(2)),
        "{rest}"
    );
}

async fn uploads_are_refused_to_whoever_may_not_write_the_source(app: TestApp) {
    let t = Tenants::create(&app).await;
    let source = id(&app
        .create(
            "/cdr_sources",
            &t.operator_a,
            json!({"name": "pbx", "format": "asterisk-csv", "timezone": "UTC",
                   "numbering": {"countryCode": "34", "nationalPrefix": "", "internationalPrefix": "00", "extensionMaxDigits": 4}}),
        )
        .await);
    let body = || master_csv().into_bytes();
    // Other brands' operators and client administrators do not see it.
    for token in [&t.operator_b, &t.client_admin_a] {
        let (status, e) = upload(&app, token, &source, body()).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{e}");
        assert_eq!(e["code"], "not_found");
    }
    let (status, _) = upload(&app, "not-a-token", &source, body()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, e) = upload(&app, &t.operator_a, "not-an-id", body()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
    // A disabled source accepts nothing.
    let (status, _) = app
        .patch(
            &format!("/cdr_sources/{source}"),
            &t.operator_a,
            json!({"enabled": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, e) = upload(&app, &t.operator_a, &source, body()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{e}");
    let (_, list) = app.get("/cdr_imports", &t.operator_a).await;
    assert_eq!(list, json!([]), "no import for refused uploads");
}

/// A FreeSWITCH `mod_json_cdr` A-leg document (values URL-encoded as `encode-values` does).
pub(crate) fn fs_document(uuid: &str, dst: &str, b_leg: bool) -> Value {
    let mut profile = json!({"caller_id_number": "201", "destination_number": dst});
    if b_leg {
        profile["originator"] = json!({"originator_caller_profile": {}});
    }
    json!({
        "variables": {
            "uuid": uuid, "accountcode": "ACME", "start_epoch": "1769853600",
            "answer_epoch": "1769853605", "billmsec": "59001", "hangup_cause": "NORMAL_CLEARING",
            "hangup_cause_q850": "16", "sip_gateway_name": "TELCHAN"
        },
        "callflow": [{"caller_profile": profile}]
    })
}

/// A `freeswitch-json` source of the [`pbx`] brand taking pushes: (source, push secret).
pub(crate) async fn fs_source(app: &TestApp, operator: &str) -> (String, String) {
    let created = app
        .create(
            "/cdr_sources",
            operator,
            json!({"name": "fs", "format": "freeswitch-json",
                   "mapping": {"client": {"field": "variables.accountcode"}}}),
        )
        .await;
    let secret = created["pushSecret"].as_str().unwrap().to_string();
    (id(&created), secret)
}

pub(crate) async fn push(
    app: &TestApp,
    source: &str,
    auth: Option<(&str, &str)>,
    content_type: &str,
    body: String,
) -> (StatusCode, Value) {
    let mut req = app
        .http
        .post(app.url(&format!("/cdr_sources/{source}/records")))
        .header("content-type", content_type)
        .body(body);
    match auth {
        Some(("bearer", secret)) => req = req.bearer_auth(secret),
        Some((user, secret)) => req = req.basic_auth(user, Some(secret)),
        None => {}
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn a_push_with_the_secret_is_grouped_in_the_hours_import(app: TestApp) {
    let (brand, operator, _, _) = pbx(&app, "Push").await;
    let (source, secret) = fs_source(&app, &operator).await;

    // Raw JSON with a Bearer secret.
    let doc = fs_document("a1", "912345678", false).to_string();
    let (status, pushed) = push(
        &app,
        &source,
        Some(("bearer", &secret)),
        "application/json",
        doc.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{pushed}");
    assert_eq!(
        (&pushed["records"], &pushed["accepted"]),
        (&json!(1), &json!(1)),
        "{pushed}"
    );
    // The `cdr=` form FreeSWITCH posts, HTTP Basic with any user name; a B-leg is skipped.
    for (uuid, b_leg) in [("a2", false), ("b2", true)] {
        let doc = fs_document(uuid, "%2B34912000000", b_leg).to_string();
        let form: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("cdr", &doc)
            .finish();
        let (status, pushed) = push(
            &app,
            &source,
            Some(("freeswitch", &secret)),
            "application/x-www-form-urlencoded",
            form,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{pushed}");
    }
    // The same call pushed again is a duplicate.
    let (_, again) = push(
        &app,
        &source,
        Some(("bearer", &secret)),
        "application/json",
        doc.clone(),
    )
    .await;
    assert_eq!(again["duplicates"], 1, "{again}");

    // Wrong, missing or another source's secret: 401 with the error shape.
    for auth in [Some(("bearer", "wrong")), None, Some(("x", ""))] {
        let (status, e) = push(&app, &source, auth, "application/json", doc.clone()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{e}");
        assert_eq!(e["code"], "unauthorized");
    }
    // An administrator's token is not the secret.
    let (status, _) = push(
        &app,
        &source,
        Some(("bearer", &operator)),
        "application/json",
        doc.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // One import for the hour, with every push counted.
    let (_, imports) = app
        .get(
            &format!("/cdr_imports?source={source}&origin=push"),
            &operator,
        )
        .await;
    let imports = imports.as_array().unwrap();
    assert_eq!(imports.len(), 1, "{imports:?}");
    assert_eq!(
        (
            &imports[0]["records"],
            &imports[0]["accepted"],
            &imports[0]["duplicates"]
        ),
        (&json!(4), &json!(2), &json!(1))
    );
    assert_eq!(imports[0]["skipped"]["leg"], 1);
    let (_, calls) = app
        .get(&format!("/billable_calls?brand={brand}"), &operator)
        .await;
    let calls = calls.as_array().unwrap();
    assert_eq!(calls.len(), 2);
    assert!(
        calls.iter().any(|c| c["callee"] == "+34912000000"),
        "URL-decoded callee"
    );
    assert!(
        calls.iter().all(|c| c["billedSeconds"] == 60),
        "59.001 s billed as 60"
    );

    // A new secret: the old one stops at once (the source kept for pushes is dropped),
    // the new one works.
    let (status, rotated) = app
        .call(
            reqwest::Method::POST,
            &format!("/cdr_sources/{source}/rotate_secret"),
            Some(&operator),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let (status, e) = push(
        &app,
        &source,
        Some(("bearer", &secret)),
        "application/json",
        doc.clone(),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the old secret after rotation: {e}"
    );
    let secret = rotated["pushSecret"].as_str().unwrap().to_string();
    let (status, again) = push(
        &app,
        &source,
        Some(("bearer", &secret)),
        "application/json",
        doc.clone(),
    )
    .await;
    assert_eq!(
        (status, &again["duplicates"]),
        (StatusCode::OK, &json!(1)),
        "{again}"
    );

    // A disabled source: 403 to whoever holds the secret.
    app.patch(
        &format!("/cdr_sources/{source}"),
        &operator,
        json!({"enabled": false}),
    )
    .await;
    let (status, _) = push(
        &app,
        &source,
        Some(("bearer", &secret)),
        "application/json",
        doc,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// Pushes sent at the same moment share transactions: each push still answers with its
/// own counts, a call pushed twice at once is stored once, a broken push is rejected alone,
/// and the hour's import adds up to what is stored.
async fn pushes_arriving_together_are_each_counted_once(app: TestApp) {
    let (brand, operator, _, _) = pbx(&app, "Together").await;
    let (source, secret) = fs_source(&app, &operator).await;
    // 40 calls, the first 10 of them pushed twice, and 2 bodies that are not JSON.
    let mut bodies: Vec<String> = (0..40)
        .chain(0..10)
        .map(|i| fs_document(&format!("call-{i}"), "912345678", false).to_string())
        .collect();
    bodies.extend(["{not json".to_string(), "[1,".to_string()]);
    let answers = futures_util::future::join_all(bodies.iter().map(|body| {
        push(
            &app,
            &source,
            Some(("bearer", &secret)),
            "application/json",
            body.clone(),
        )
    }))
    .await;
    let mut accepted = 0;
    for (body, (status, answer)) in bodies.iter().zip(&answers) {
        if body.starts_with("{\"") {
            assert_eq!(status, &StatusCode::OK, "{answer}");
            assert_eq!(answer["records"], 1, "{answer}");
            let (a, d) = (
                answer["accepted"].as_i64().unwrap(),
                answer["duplicates"].as_i64().unwrap(),
            );
            assert_eq!(a + d, 1, "each push counts its own call: {answer}");
            accepted += a;
        } else {
            assert_eq!(status, &StatusCode::OK, "{answer}");
            assert_eq!(
                (&answer["rejected"], &answer["accepted"]),
                (&json!(1), &json!(0))
            );
            assert_eq!(answer["errors"][0]["line"], 1, "{answer}");
        }
    }
    assert_eq!(accepted, 40, "every call accepted by exactly one push");

    let (_, imports) = app
        .get(
            &format!("/cdr_imports?source={source}&origin=push"),
            &operator,
        )
        .await;
    let imports = imports.as_array().unwrap();
    assert_eq!(imports.len(), 1, "{imports:?}");
    assert_eq!(
        (
            &imports[0]["records"],
            &imports[0]["accepted"],
            &imports[0]["duplicates"],
            &imports[0]["rejected"]
        ),
        (&json!(52), &json!(40), &json!(10), &json!(2)),
        "{imports:?}"
    );
    let (status, calls) = app
        .get(
            &format!("/billable_calls?brand={brand}&itemsPerPage=100"),
            &operator,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(calls.as_array().unwrap().len(), 40);
}

async fn imports_are_listed_filtered_and_kept_to_the_brand(app: TestApp) {
    let (brand, operator, source, _) = pbx(&app, "Lists").await;
    upload(&app, &operator, &source, master_csv().into_bytes()).await;
    upload(&app, &operator, &source, master_csv().into_bytes()).await;
    let (status, headers, list) = app
        .call_full(
            Method::GET,
            &format!("/cdr_imports?source={source}&itemsPerPage=1"),
            Some(&operator),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-total-count"], "2");
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["duplicates"], 5, "newest first");
    let (_, done) = app
        .get("/cdr_imports?status=done&origin=upload", &operator)
        .await;
    assert_eq!(done.as_array().unwrap().len(), 2);
    let (_, none) = app.get("/cdr_imports?status=failed", &operator).await;
    assert_eq!(none, json!([]));
    let (_, later) = app
        .get(
            "/cdr_imports?startedAt[after]=2099-01-01T00:00:00Z",
            &operator,
        )
        .await;
    assert_eq!(later, json!([]));
    for bad in [
        "status=finished",
        "origin=ftp",
        "source=x",
        "startedAt[after]=yesterday",
        "colour=red",
    ] {
        let (status, e) = app.get(&format!("/cdr_imports?{bad}"), &operator).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {e}");
    }
    // Another brand sees none of them; the platform sees them by brand.
    let other = app.brand("Other").await;
    let other_op = app.brand_operator(&other, "op-other").await;
    let (_, theirs) = app.get("/cdr_imports", &other_op).await;
    assert_eq!(theirs, json!([]));
    let imported = id(&list[0]);
    let (status, _) = app
        .get(&format!("/cdr_imports/{imported}"), &other_op)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, all) = app
        .get(&format!("/cdr_imports?brand={brand}"), &app.root)
        .await;
    assert_eq!(all.as_array().unwrap().len(), 2);
    // Client administrators: sources are the brand's business.
    let client = app.client(&operator, &brand, "Client", "vpbx").await;
    let admin = app.client_admin(&client, "ca").await;
    let (status, _) = app.get("/cdr_imports", &admin).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.get(&format!("/cdr_imports/{imported}"), &admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
