//! `/call_csv_reports` as an API: read-only methods, ids, query parameters, and (on SQLite,
//! with report rows written straight into the database) scoping and the CSV download.
//! Reports made by the runner end to end are tested with the runner.

use chrono::NaiveDateTime;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::backend_tests;
use crate::common::{id, Backend, Tenants, TestApp};

backend_tests!(reports_are_read_only, report_ids_and_queries);

const PATH: &str = "/call_csv_reports";

async fn reports_are_read_only(app: TestApp) {
    let t = Tenants::create(&app).await;
    let some_id = uuid::Uuid::new_v4().to_string();
    let item = format!("{PATH}/{some_id}");
    let csv = format!("{item}/csv");
    let attempts = [
        (Method::POST, PATH),
        (Method::PUT, PATH),
        (Method::PATCH, PATH),
        (Method::DELETE, PATH),
        (Method::POST, item.as_str()),
        (Method::PUT, item.as_str()),
        (Method::PATCH, item.as_str()),
        (Method::DELETE, item.as_str()),
        (Method::POST, csv.as_str()),
        (Method::PUT, csv.as_str()),
        (Method::DELETE, csv.as_str()),
    ];
    for (method, path) in attempts {
        for token in [&app.root, &t.operator_a, &t.client_admin_a] {
            let (status, body) = app
                .call(method.clone(), path, Some(token), Some(json!({})))
                .await;
            assert_eq!(
                status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}: {body}"
            );
        }
    }
}

async fn report_ids_and_queries(app: TestApp) {
    let t = Tenants::create(&app).await;
    // Nothing has run: every list is empty.
    for token in [&app.root, &t.operator_a, &t.client_admin_a] {
        let (status, headers, list) = app.call_full(Method::GET, PATH, Some(token), None).await;
        assert_eq!((status, &list), (StatusCode::OK, &json!([])));
        assert_eq!(headers["x-total-count"], "0");
    }

    let unknown = uuid::Uuid::new_v4();
    for path in [format!("{PATH}/{unknown}"), format!("{PATH}/{unknown}/csv")] {
        let (status, body) = app.get(&path, &t.operator_a).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    for path in [format!("{PATH}/nope"), format!("{PATH}/nope/csv")] {
        assert_eq!(
            app.get(&path, &t.operator_a).await.0,
            StatusCode::BAD_REQUEST
        );
    }
    assert_eq!(
        app.call(Method::GET, PATH, None, None).await.0,
        StatusCode::UNAUTHORIZED
    );

    // Every supported parameter is accepted…
    let scheduler = id(&app
        .create("/call_csv_schedulers", &t.operator_a, json!({"name": "S"}))
        .await);
    let good = format!(
        "{PATH}?scheduler={scheduler}&client={}&createdAt[after]=2026-01-01T00:00:00Z\
         &createdAt[strictly_before]=2026-02-01T00:00:00%2B01:00&emailStatus=sent\
         &_order[createdAt]=desc&_order[inDate]=asc&page=1&itemsPerPage=10",
        t.client_a
    );
    let (status, body) = app.get(&good, &t.operator_a).await;
    assert_eq!((status, body), (StatusCode::OK, json!([])));
    // …and bad ones are a 400.
    for query in [
        "emailStatus=lost",
        "createdAt[after]=yesterday",
        "createdAt[strictly_before]=2026-01-01",
        "scheduler=nope",
        "client=nope",
        "colour=red",
        "_order[name]=asc",
        "_order[createdAt]=sideways",
        "itemsPerPage=1001",
    ] {
        let (status, body) = app.get(&format!("{PATH}?{query}"), &t.operator_a).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
    }
}

// ---------------------------------------------------------------------------------------
// Scoping and download, with report rows written by hand. The harness exposes the database
// only as the SQLite file, so this runs on SQLite; the code under test is the same on both.

fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap()
}

struct Stored<'a> {
    scheduler: &'a str,
    brand: &'a str,
    client: Option<&'a str>,
    status: &'a str,
    email_status: &'a str,
    file: Option<(&'a str, &'a [u8])>,
    created_at: &'a str,
}

/// Writes a report row (and its file, when given) as the runner would leave it.
fn store(app: &TestApp, r: Stored) -> String {
    use diesel::Connection;
    let db_path = app.data_dir.path().join("callcsv.db");
    let conn = diesel::SqliteConnection::establish(&db_path.to_string_lossy()).unwrap();
    let mut conn = callcsv::db::DbConnection::Sqlite(conn);
    let id = uuid::Uuid::now_v7().to_string();
    let (file_name, file_path, size) = match r.file {
        Some((name, bytes)) => {
            let relative = format!("{}/{id}.csv", r.brand);
            let full = app.data_dir.path().join("reports").join(&relative);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(&full, bytes).unwrap();
            (
                Some(name.to_string()),
                Some(relative),
                Some(bytes.len() as i64),
            )
        }
        None => (
            Some("gone.csv".to_string()),
            Some(format!("{}/gone.csv", r.brand)),
            Some(10),
        ),
    };
    // The level and name are copied from the scheduler, as the runner does.
    let scheduler = callcsv::db::schedulers::find(&mut conn, r.scheduler).unwrap();
    let report = callcsv::db::reports::Report {
        id: id.clone(),
        level: scheduler
            .as_ref()
            .map_or("brand".into(), |s| s.level.clone()),
        scheduler_name: scheduler.as_ref().map_or(String::new(), |s| s.name.clone()),
        scheduler_id: r.scheduler.to_string(),
        brand_id: r.brand.to_string(),
        client_id: r.client.map(str::to_string),
        due_at: at("2026-02-01 07:00:00"),
        in_date: at("2025-12-31 23:00:00"),
        out_date: at("2026-01-31 23:00:00"),
        status: r.status.to_string(),
        lease_owner: None,
        lease_until: None,
        build_attempts: 1,
        build_error: None,
        file_name,
        file_path,
        file_size: size,
        sha256: Some("ab".repeat(32)),
        row_count: Some(3),
        sent_to: "a@example.com, b@example.com".to_string(),
        email_status: r.email_status.to_string(),
        email_attempts: 1,
        email_error: None,
        email_next_attempt: None,
        email_lease_until: None,
        email_possible_duplicate: false,
        email_handed_over: false,
        timezone: None,
        message_id: format!("<{id}@callcsv>"),
        sent_at: None,
        created_at: at(r.created_at),
        updated_at: at(r.created_at),
    };
    callcsv::db::reports::insert(&mut conn, &report).unwrap();
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_scoping_and_download_sqlite() {
    let app = TestApp::start(Backend::Sqlite).await;
    let t = Tenants::create(&app).await;
    let brand_level = id(&app
        .create(
            "/call_csv_schedulers",
            &t.operator_a,
            json!({"name": "Brand", "client": t.client_a}),
        )
        .await);
    let client_level = id(&app
        .create(
            "/call_csv_schedulers",
            &t.client_admin_a,
            json!({"name": "Client"}),
        )
        .await);
    let b_level = id(&app
        .create("/call_csv_schedulers", &t.operator_b, json!({"name": "B"}))
        .await);

    // Bigger than one read chunk, so the download takes several.
    let big: Vec<u8> = (0..200_000).map(|i| b"0123456789,\n"[i % 12]).collect();
    let small = b"callid,startTime\r\nx,2026-01-05 10:00:00\r\n".to_vec();
    let r_brand = store(
        &app,
        Stored {
            scheduler: &brand_level,
            brand: &t.brand_a,
            client: Some(&t.client_a),
            status: "ready",
            email_status: "sent",
            file: Some(("Client A-20260101-20260131.csv", &big)),
            created_at: "2026-02-01 07:00:01",
        },
    );
    let r_client = store(
        &app,
        Stored {
            scheduler: &client_level,
            brand: &t.brand_a,
            client: Some(&t.client_a),
            status: "ready",
            email_status: "sending",
            file: Some(("Cliente Ñ \"x\".csv", &small)),
            created_at: "2026-02-01 07:00:02",
        },
    );
    let r_building = store(
        &app,
        Stored {
            scheduler: &client_level,
            brand: &t.brand_a,
            client: Some(&t.client_a),
            status: "building",
            email_status: "none",
            file: None,
            created_at: "2026-02-01 07:00:03",
        },
    );
    let r_missing = store(
        &app,
        Stored {
            scheduler: &client_level,
            brand: &t.brand_a,
            client: Some(&t.client_a),
            status: "ready",
            email_status: "none",
            file: None,
            created_at: "2026-03-01 07:00:00",
        },
    );
    let r_b = store(
        &app,
        Stored {
            scheduler: &b_level,
            brand: &t.brand_b,
            client: None,
            status: "ready",
            email_status: "none",
            file: Some(("B.csv", &small)),
            created_at: "2026-02-01 07:00:00",
        },
    );
    let ids = |list: &Value| -> Vec<String> { list.as_array().unwrap().iter().map(id).collect() };

    // Operators: their brand's built reports; client administrators: their client-level ones.
    let (_, list) = app
        .get(&format!("{PATH}?_order[createdAt]=asc"), &t.operator_a)
        .await;
    assert_eq!(
        ids(&list),
        [r_brand.as_str(), r_client.as_str(), r_missing.as_str()]
    );
    let (_, list) = app.get(PATH, &t.client_admin_a).await;
    assert_eq!(ids(&list), [r_client.as_str(), r_missing.as_str()]);
    let (_, list) = app.get(PATH, &t.operator_b).await;
    assert_eq!(ids(&list), [r_b.as_str()]);
    let (_, list) = app
        .get(&format!("{PATH}?brand={}", t.brand_b), &t.operator_a)
        .await;
    assert_eq!(list, json!([]));
    let (_, list) = app
        .get(
            &format!("{PATH}?scheduler={brand_level}"),
            &t.client_admin_a,
        )
        .await;
    assert_eq!(list, json!([]));
    let (_, list) = app.get(PATH, &t.client_admin_b).await;
    assert_eq!(list, json!([]));

    // Filters.
    let (_, list) = app
        .get(&format!("{PATH}?emailStatus=sent"), &t.operator_a)
        .await;
    assert_eq!(ids(&list), [r_brand.as_str()]);
    let (_, list) = app
        .get(&format!("{PATH}?createdAt[after]=2026-02-01T07:00:02Z&createdAt[strictly_before]=2026-03-01T07:00:00Z"), &t.operator_a)
        .await;
    assert_eq!(ids(&list), [r_client.as_str()]);
    let (_, list) = app
        .get(
            &format!("{PATH}?scheduler={client_level}&_order[createdAt]=desc"),
            &t.operator_a,
        )
        .await;
    assert_eq!(ids(&list), [r_missing.as_str(), r_client.as_str()]);

    // The item.
    let (status, report) = app
        .get(&format!("{PATH}/{r_client}"), &t.client_admin_a)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        report,
        json!({
            "id": r_client, "scheduler": client_level, "brand": t.brand_a, "client": t.client_a,
            "inDate": "2025-12-31T23:00:00Z", "outDate": "2026-01-31T23:00:00Z",
            "createdAt": "2026-02-01T07:00:02Z", "rowCount": 3,
            "csv": {"fileName": "Cliente Ñ \"x\".csv", "fileSize": small.len(),
                    "mimeType": "text/csv", "sha256": "ab".repeat(32)},
            "sentTo": ["a@example.com", "b@example.com"], "emailStatus": "pending",
            "emailAttempts": 1, "emailError": null, "sentAt": null,
            "possibleDuplicateEmail": false,
        })
    );
    for (path, token) in [
        (format!("{PATH}/{r_brand}"), &t.client_admin_a),
        (format!("{PATH}/{r_building}"), &t.operator_a),
        (format!("{PATH}/{r_b}"), &t.operator_a),
        (format!("{PATH}/{r_client}"), &t.client_admin_b),
        (format!("{PATH}/{r_brand}/csv"), &t.client_admin_a),
        (format!("{PATH}/{r_b}/csv"), &t.operator_a),
    ] {
        assert_eq!(
            app.get(&path, token).await.0,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }

    // The download: the stored bytes, with type, length and file name.
    let res = app
        .http
        .get(app.url(&format!("{PATH}/{r_brand}/csv")))
        .bearer_auth(&t.operator_a)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let headers = res.headers().clone();
    assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
    assert_eq!(headers["content-length"], big.len().to_string().as_str());
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"Client A-20260101-20260131.csv\""
    );
    assert_eq!(res.bytes().await.unwrap().as_ref(), big.as_slice());

    let res = app
        .http
        .get(app.url(&format!("{PATH}/{r_client}/csv")))
        .bearer_auth(&t.client_admin_a)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let disposition = res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        disposition.starts_with(
            "attachment; filename=\"Cliente _ _x_.csv\"; filename*=UTF-8''Cliente%20%C3%91"
        ),
        "{disposition}"
    );
    assert_eq!(res.bytes().await.unwrap().as_ref(), small.as_slice());

    // A file that is gone: a 404 that says so.
    let (status, body) = app
        .get(&format!("{PATH}/{r_missing}/csv"), &t.operator_a)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "file_not_found");
}
