//! The console's rating pages: plans, a rate table searched by prefix or name, its CSV
//! export (the API's), the upload of a rate CSV through the API's import (line-numbered
//! errors in the page, CSRF, all or nothing), and the rating profiles; brand business only.

use reqwest::header::COOKIE;
use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::billable_calls::world;
use crate::common::TestApp;
use crate::console::{Browser, Page};

backend_tests!(console_rating_plans_rates_upload_and_profiles);

/// A `multipart/form-data` POST of a rate CSV, with the session's cookie.
async fn upload(
    app: &TestApp,
    b: &Browser<'_>,
    path: &str,
    csrf: Option<&str>,
    csv: &str,
    replace: bool,
) -> Page {
    let mut body = String::new();
    if let Some(token) = csrf {
        body.push_str(&format!(
            "--XyZ\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{token}\r\n"
        ));
    }
    if replace {
        body.push_str("--XyZ\r\nContent-Disposition: form-data; name=\"replace\"\r\n\r\ntrue\r\n");
    }
    body.push_str(&format!(
        "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"rates.csv\"\r\nContent-Type: text/csv\r\n\r\n{csv}\r\n--XyZ--\r\n"
    ));
    let res = reqwest::Client::new()
        .post(app.url(path))
        .header(
            COOKIE,
            format!("callcsv_session={}", b.cookies["callcsv_session"]),
        )
        .header("content-type", "multipart/form-data; boundary=XyZ")
        .body(body)
        .send()
        .await
        .unwrap();
    let (status, headers) = (res.status(), res.headers().clone());
    let body = res.text().await.unwrap();
    assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    Page {
        status,
        headers,
        body,
    }
}

async fn rate_count(app: &TestApp, token: &str, plan: &str) -> i64 {
    let (_, p) = app.get(&format!("/rating_plans/{plan}"), token).await;
    p["rateCount"].as_i64().unwrap()
}

async fn console_rating_plans_rates_upload_and_profiles(app: TestApp) {
    let w = world(&app).await;
    let op = &w.t.operator_a;
    let plan = &w.client_plan;
    let rates = json!([
        {"prefix": "+44", "destinationName": "United Kingdom", "rate": "0.02"},
        {"prefix": "+4420", "destinationName": "<script>alert(3)</script>", "rate": "0.03"},
    ]);
    let (status, body) = app
        .post(&format!("/rating_plans/{plan}/rates"), op, rates)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let mut b = Browser::signed_in(&app, "op-a", "operator-pw").await;
    let list = b.get("/ui/rating_plans").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.body.contains("Retail") && list.body.contains("Wholesale"));
    assert!(list.body.contains(&format!("/ui/rating_plans/{plan}")));

    // The rate table: all rates, then by prefix (exact), then by part of a name (any case).
    let table = b.get(&format!("/ui/rating_plans/{plan}")).await;
    assert_eq!(table.status, StatusCode::OK, "{}", table.body);
    assert!(table.body.contains("Spain") && table.body.contains("United Kingdom"));
    assert!(table
        .body
        .contains("&#60;script&#62;alert(3)&#60;/script&#62;"));
    assert!(!table.body.contains("<script>alert(3)"));
    let by_prefix = b.get(&format!("/ui/rating_plans/{plan}?q=%2B44")).await;
    assert!(by_prefix.body.contains("United Kingdom"));
    assert!(
        !by_prefix.body.contains("Spain") && !by_prefix.body.contains("alert(3)"),
        "{}",
        by_prefix.body
    );
    let by_name = b.get(&format!("/ui/rating_plans/{plan}?q=KINGDOM")).await;
    assert!(by_name.body.contains("United Kingdom") && !by_name.body.contains("Spain"));
    let paged = b
        .get(&format!("/ui/rating_plans/{plan}?itemsPerPage=1&page=2"))
        .await;
    assert!(paged.body.contains("Page 2 of 3"), "{}", paged.body);

    // The export is the API's CSV (of the search, when there is one).
    let csv = b.get(&format!("/ui/rating_plans/{plan}/rates.csv")).await;
    assert_eq!(csv.status, StatusCode::OK);
    let api = reqwest::Client::new()
        .get(app.url(&format!("/rating_plans/{plan}/rates")))
        .bearer_auth(op)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(csv.body, api);
    let csv = b
        .get(&format!("/ui/rating_plans/{plan}/rates.csv?q=spain"))
        .await;
    assert_eq!(csv.body.lines().count(), 2, "{}", csv.body);

    // Uploads: without the token 403; a bad line is named and nothing is stored; a good
    // file is added; with "replace" it becomes the whole table.
    let path = format!("/ui/rating_plans/{plan}/rates");
    let good = "prefix,destinationName,rate\n33,France,0.04\n49,Germany,0.05\n";
    let refused = upload(&app, &b, &path, None, good, false).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(rate_count(&app, op, plan).await, 3);
    let csrf = table.csrf();
    let bad = "prefix,destinationName,rate\n33,France,0.04\n49,Germany,cheap\n";
    let page = upload(&app, &b, &path, Some(&csrf), bad, false).await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    assert!(
        page.body.contains("Nothing was imported: line 3"),
        "{}",
        page.body
    );
    assert_eq!(rate_count(&app, op, plan).await, 3);
    let page = upload(&app, &b, &path, Some(&csrf), good, false).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("Imported 2 rates; the table has 5."),
        "{}",
        page.body
    );
    let page = upload(&app, &b, &path, Some(&csrf), good, true).await;
    assert!(
        page.body.contains("Imported 2 rates; the table has 2."),
        "{}",
        page.body
    );
    assert_eq!(rate_count(&app, op, plan).await, 2);

    // Profiles: who is priced by which plan.
    let profiles = b.get("/ui/rating_profiles").await;
    assert_eq!(profiles.status, StatusCode::OK);
    assert!(
        profiles.body.contains("client Client A") && profiles.body.contains("carrier Carrier 1")
    );
    assert!(profiles.body.contains("Retail") && profiles.body.contains("Wholesale"));

    // Another brand: no plan of brand A in its list, its pages and upload a 404.
    let mut other = Browser::signed_in(&app, "op-b", "operator-pw").await;
    assert!(!other.get("/ui/rating_plans").await.body.contains("Retail"));
    assert!(!other
        .get("/ui/rating_profiles")
        .await
        .body
        .contains("Retail"));
    for p in [
        format!("/ui/rating_plans/{plan}"),
        format!("/ui/rating_plans/{plan}/rates.csv"),
    ] {
        assert_eq!(other.get(&p).await.status, StatusCode::NOT_FOUND, "{p}");
    }
    let csrf = other.csrf().await;
    let page = upload(&app, &other, &path, Some(&csrf), good, true).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert_eq!(rate_count(&app, op, plan).await, 2);

    // Client administrators: rating is the brand's business (the API's 403 and 404).
    let mut c = Browser::signed_in(&app, "ca-a", "client-pw").await;
    assert_eq!(
        c.get("/ui/rating_plans").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        c.get("/ui/rating_profiles").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        c.get(&format!("/ui/rating_plans/{plan}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(!c.get("/ui/calls").await.body.contains("/ui/rating_plans"));
}
