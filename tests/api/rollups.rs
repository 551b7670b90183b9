//! The statistics rollup (`call_rollups`, issue 10 speed): after every way calls are
//! stored, rerated, given their country or deleted, it holds exactly the calls summed
//! afresh, and `/stats` answered from it equals `/stats` answered from the calls.

use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::backend_tests;
use crate::billable_calls::world;
use crate::cdr_arrivals::{fs_document, line, pbx, push, upload};
use crate::common::{id, TestApp};

backend_tests!(rollups_equal_the_calls_on_every_path);

/// The rollup's rows that differ from the calls summed afresh; none expected.
async fn assert_rollup_exact(app: &TestApp, label: &str) {
    let pool = app.pool();
    let diffs = tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().unwrap();
        callcsv::db::rollups::differences(&mut conn).unwrap()
    })
    .await
    .unwrap();
    assert!(
        diffs.is_empty(),
        "{label}: {} rollup rows differ from the calls, e.g. {:?}",
        diffs.len(),
        &diffs[..diffs.len().min(3)]
    );
}

/// Stored calls in the database, whatever path stored them.
async fn call_count(app: &TestApp) -> i64 {
    let pool = app.pool();
    tokio::task::spawn_blocking(move || {
        use diesel::prelude::*;
        let mut conn = pool.get().unwrap();
        callcsv::db::schema::billable_calls::table
            .count()
            .get_result::<i64>(&mut conn)
            .unwrap()
    })
    .await
    .unwrap()
}

async fn rollups_equal_the_calls_on_every_path(app: TestApp) {
    let w = world(&app).await;
    let op = &w.t.operator_a;
    app.brand_country(&w.t.brand_a, "ES").await;
    let endpoint = id(&app
        .create(
            "/endpoints",
            op,
            json!({"client": w.t.client_a, "type": "User", "name": "Desk"}),
        )
        .await);
    let other = app
        .client(&app.root, &w.t.brand_a, "Client C", "retail")
        .await;

    // 300 calls in one request (PostgreSQL stores them with COPY), over three days, to
    // several countries, some from an endpoint, some of another client, some inbound.
    let mut rng = rand::rngs::StdRng::seed_from_u64(17);
    let callees = ["+34600111222", "+442079460000", "+33142000000", "1001"];
    let mut rows = Vec::new();
    for i in 0..300 {
        let start = chrono::DateTime::parse_from_rfc3339("2026-05-01T00:00:00Z").unwrap()
            + chrono::Duration::seconds(rng.random_range(0..3 * 86_400));
        let callee = callees[rng.random_range(0..callees.len())];
        let mut row = if rng.random_bool(0.2) {
            json!({"callid": format!("in-{i}"), "caller": callee, "callee": "+34911000001",
                   "direction": "inbound", "ddi": w.ddi})
        } else {
            json!({"callid": format!("out-{i}"), "caller": "+34911000001", "callee": callee,
                   "direction": "outbound", "carrier": w.carrier,
                   "client": if rng.random_bool(0.3) { &other } else { &w.t.client_a }})
        };
        row["startTime"] = json!(start.to_rfc3339());
        row["duration"] = json!(format!(
            "{}.{}",
            rng.random_range(0..600),
            rng.random_range(0..10)
        ));
        if row["client"] == json!(w.t.client_a) && rng.random_bool(0.5) {
            row["endpointId"] = json!(endpoint);
        }
        rows.push(row);
    }
    let (status, summary) = app
        .post("/billable_calls", op, Value::from(rows.clone()))
        .await;
    assert_eq!(
        (status, &summary["accepted"]),
        (StatusCode::OK, &json!(300)),
        "{summary}"
    );
    assert_rollup_exact(&app, "after ingestion").await;
    // The same calls again are duplicates: nothing changes.
    let (status, summary) = app.post("/billable_calls", op, Value::from(rows)).await;
    assert_eq!(
        (status, &summary["duplicates"]),
        (StatusCode::OK, &json!(300)),
        "{summary}"
    );
    assert_rollup_exact(&app, "after duplicates").await;

    // A CDR source's upload, then pushes arriving together (some twice).
    let (_, pbx_op, source, _) = pbx(&app, "RollupPBX").await;
    let csv: String = (0..250)
        .map(|i| {
            let start = format!("2026-01-31 {:02}:{:02}:{:02}", i / 60 % 24, i % 60, i % 7);
            let disposition = if i % 5 == 0 { "NO ANSWER" } else { "ANSWERED" };
            line(
                "201",
                &format!("9123{i:05}"),
                &start,
                (i % 90) as u32,
                disposition,
            )
        })
        .collect();
    let (status, import) = upload(&app, &pbx_op, &source, csv.into_bytes()).await;
    assert_eq!(status, StatusCode::CREATED, "{import}");
    assert_rollup_exact(&app, "after an upload").await;
    let fs = app
        .create(
            "/cdr_sources",
            &pbx_op,
            json!({"name": "fs", "format": "freeswitch-json",
                   "mapping": {"client": {"field": "variables.accountcode"}}}),
        )
        .await;
    let (fs_source, secret) = (id(&fs), fs["pushSecret"].as_str().unwrap().to_string());
    let bodies: Vec<String> = (0..30)
        .chain(0..10)
        .map(|i| {
            let mut doc = fs_document(&format!("push-{i}"), "912345678", false);
            // Spread over several quarter-hours.
            doc["variables"]["start_epoch"] = json!((1_769_853_600 + i * 400).to_string());
            doc["variables"]["answer_epoch"] = json!((1_769_853_605 + i * 400).to_string());
            doc.to_string()
        })
        .collect();
    let answers = futures_util::future::join_all(bodies.iter().map(|body| {
        push(
            &app,
            &fs_source,
            Some(("bearer", &secret)),
            "application/json",
            body.clone(),
        )
    }))
    .await;
    assert!(
        answers.iter().all(|(s, _)| *s == StatusCode::OK),
        "{answers:?}"
    );
    assert_rollup_exact(&app, "after pushes arriving together").await;
    let stored = call_count(&app).await;
    // (the source keeps answered calls only: 200 of the 250 records)
    assert_eq!(stored, 300 + 200 + 30);

    // New prices, and the calls rerated.
    let (status, body) = app
        .put(
            &format!("/rating_plans/{}/rates?replace=true", w.client_plan),
            op,
            json!([{"prefix": "+34", "destinationName": "Spain", "rate": "0.0371", "rateUnit": 60, "rateIncrement": 1},
                   {"prefix": "+44", "destinationName": "UK", "rate": "0.02", "rateUnit": 60, "rateIncrement": 1}]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .post("/billable_calls/rerate", op, json!({"startTime[after]": "2026-01-01T00:00:00Z", "startTime[strictly_before]": "2026-12-01T00:00:00Z"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["changed"].as_i64().unwrap() > 50, "{body}");
    assert_rollup_exact(&app, "after rerating").await;

    // Calls stored before calls had a country (forgotten here as the rollup would have
    // counted them), then the backfill gives them theirs.
    let pool = app.pool();
    let forgotten = tokio::task::spawn_blocking(move || {
        use callcsv::db::billable_calls::{self as calls, BillableCall};
        use callcsv::db::rollups::{apply, Deltas};
        use callcsv::db::schema::{billable_calls as t, call_backfills};
        use diesel::prelude::*;
        let mut conn = pool.get().unwrap();
        callcsv::db::transaction(&mut conn, |conn| {
            let old: Vec<BillableCall> = t::table
                .filter(t::destination_country.is_not_null())
                .order(t::id)
                .limit(120)
                .select(BillableCall::as_select())
                .load(conn)?;
            let mut deltas = Deltas::default();
            for call in &old {
                assert!(calls::set_destination_country(conn, call, None)?);
                deltas.call(call, -1);
                deltas.call(
                    &BillableCall {
                        destination_country: None,
                        ..call.clone()
                    },
                    1,
                );
            }
            apply(conn, &deltas)?;
            diesel::update(call_backfills::table)
                .set((
                    call_backfills::last_id.eq(""),
                    call_backfills::done.eq(false),
                ))
                .execute(conn)?;
            Ok(old.len())
        })
        .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(forgotten, 120);
    assert_rollup_exact(&app, "with calls without a country").await;
    let pool = app.pool();
    let walked = tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().unwrap();
        callcsv::calls::country::backfill(&mut conn).unwrap()
    })
    .await
    .unwrap();
    assert!(walked >= stored as usize, "{walked}");
    assert_rollup_exact(&app, "after the country backfill").await;
    let (_, by_country) = app
        .get(
            "/stats?startTime[after]=2026-05-01&startTime[strictly_before]=2026-05-05&groupBy=country",
            op,
        )
        .await;
    assert!(
        by_country["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["key"]["country"] == "GB"),
        "{by_country}"
    );

    // /stats from the rollup (a range on the quarter-hour grid) and from the calls (the
    // same calls, a range a second off the grid) agree row for row.
    let on =
        "startTime[after]=2026-05-01T00:00:00Z&startTime[strictly_before]=2026-05-04T00:00:00Z";
    let off =
        "startTime[after]=2026-04-30T23:59:59Z&startTime[strictly_before]=2026-05-04T00:00:00Z";
    let by_client = format!("groupBy=day&client={}", w.t.client_a);
    for query in [
        "groupBy=day&timezone=Asia/Kathmandu",
        "groupBy=hour,carrier&timezone=Pacific/Chatham",
        "groupBy=day,country",
        "groupBy=endpoint",
        "groupBy=client,country",
        "groupBy=country&international=true",
        "groupBy=week,country&timezone=Asia/Kathmandu",
        "groupBy=month,carrier&timezone=Europe/Madrid",
        &by_client,
    ] {
        let (s1, a) = app.get(&format!("/stats?{on}&{query}"), op).await;
        let (s2, b) = app.get(&format!("/stats?{off}&{query}"), op).await;
        assert_eq!(
            (s1, s2),
            (StatusCode::OK, StatusCode::OK),
            "{query}: {a} {b}"
        );
        assert_eq!(a["rows"], b["rows"], "{query}");
        assert_eq!(a["totals"], b["totals"], "{query}");
        assert!(a["totals"]["calls"].as_i64().unwrap() > 0, "{query}: {a}");
    }
    // Without time keys, and by week or month, whole UTC days are read from the daily rows
    // and the ends of the range (or of each local week or month) from the quarter-hours
    // (here 22:00–24:00 and 00:00–13:45): still the same sums.
    let on =
        "startTime[after]=2026-04-30T22:00:00Z&startTime[strictly_before]=2026-05-03T13:45:00Z";
    let off =
        "startTime[after]=2026-04-30T21:59:59Z&startTime[strictly_before]=2026-05-03T13:45:00Z";
    let by_endpoint = format!("groupBy=endpoint&client={}", w.t.client_a);
    for query in [
        "groupBy=country",
        "groupBy=carrier",
        "groupBy=client,country",
        &by_endpoint,
        "groupBy=week&timezone=Asia/Kathmandu",
        "groupBy=week,carrier&timezone=America/New_York",
        "groupBy=month,country&timezone=Europe/Madrid",
        "groupBy=day,carrier&timezone=UTC",
        "groupBy=day&timezone=Europe/London",
    ] {
        let (s1, a) = app.get(&format!("/stats?{on}&{query}"), op).await;
        let (s2, b) = app.get(&format!("/stats?{off}&{query}"), op).await;
        assert_eq!(
            (s1, s2),
            (StatusCode::OK, StatusCode::OK),
            "{query}: {a} {b}"
        );
        assert_eq!(a["rows"], b["rows"], "{query}");
        assert_eq!(a["totals"], b["totals"], "{query}");
        assert!(a["totals"]["calls"].as_i64().unwrap() > 0, "{query}: {a}");
    }
    // The platform's view (every brand's rows, read brand by brand), by local day west of
    // UTC: each day a daily row less and plus a few quarter-hours.
    let on =
        "startTime[after]=2026-04-30T04:00:00Z&startTime[strictly_before]=2026-05-03T04:00:00Z";
    let off =
        "startTime[after]=2026-04-30T03:59:59Z&startTime[strictly_before]=2026-05-03T04:00:00Z";
    let query = "groupBy=day,brand&timezone=America/New_York";
    let (s1, a) = app.get(&format!("/stats?{on}&{query}"), &app.root).await;
    let (s2, b) = app.get(&format!("/stats?{off}&{query}"), &app.root).await;
    assert_eq!((s1, s2), (StatusCode::OK, StatusCode::OK), "{a} {b}");
    assert_eq!(a["rows"], b["rows"]);
    assert_eq!(a["totals"], b["totals"]);
    assert!(a["rows"].as_array().unwrap().len() >= 3, "{a}");

    // The service's folder moves the journal into the rollup within moments; the rollup
    // alone then holds every call.
    let pool = app.pool();
    let waiting = tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().unwrap();
        for _ in 0..200 {
            if callcsv::db::rollups::journal_rows(&mut conn).unwrap() == 0 {
                return 0;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        callcsv::db::rollups::journal_rows(&mut conn).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(waiting, 0, "journal rows not folded after 10 s");
    assert_rollup_exact(&app, "after the fold").await;

    // Deleting a client deletes its calls and their statistics.
    let status = app
        .delete(&format!("/clients/{other}?force=true"), &app.root)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(call_count(&app).await < stored);
    assert_rollup_exact(&app, "after a client's deletion").await;

    // Deleting the brand deletes its statistics too (call_rollups has no foreign key).
    let status = app
        .delete(&format!("/brands/{}?force=true", w.t.brand_a), &app.root)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_rollup_exact(&app, "after the brand's deletion").await;
}
