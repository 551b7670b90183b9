//! The console's CDR sources and imports pages, per role: the brand's sources (names
//! escaped), a source's push address and a new push secret (CSRF required; the old secret
//! stops working), the imports with their counts and line-numbered errors; client
//! administrators get the API's 403 and another brand's ids the console's 404.

use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::cdr_arrivals::{master_csv, upload};
use crate::common::{id, Tenants, TestApp};
use crate::console::Browser;

backend_tests!(console_sources_and_imports_pages);

async fn console_sources_and_imports_pages(app: TestApp) {
    let t = Tenants::create(&app).await;
    let created = app
        .create(
            "/cdr_sources",
            &t.operator_a,
            json!({"name": "<b>PBX</b>", "format": "asterisk-csv", "timezone": "UTC",
                   "numbering": {"countryCode": "34", "nationalPrefix": "", "internationalPrefix": "00", "extensionMaxDigits": 4},
                   "mapping": {"defaultClient": t.client_a}}),
        )
        .await;
    let (source, secret) = (
        id(&created),
        created["pushSecret"].as_str().unwrap().to_string(),
    );
    let other = id(&app
        .create(
            "/cdr_sources",
            &t.operator_b,
            json!({"name": "B's PBX", "format": "freeswitch-json",
                   "numbering": {"countryCode": "34", "nationalPrefix": "", "internationalPrefix": "00", "extensionMaxDigits": 4}}),
        )
        .await);
    let (status, imported) = upload(&app, &t.operator_a, &source, master_csv().into_bytes()).await;
    assert_eq!(status, StatusCode::CREATED, "{imported}");
    let import = imported["id"].as_str().unwrap().to_string();

    let mut b = Browser::signed_in(&app, "op-a", "operator-pw").await;
    // The list: the brand's sources only, the name as text.
    let list = b.get("/ui/cdr_sources").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(
        list.body.contains("&#60;b&#62;PBX&#60;/b&#62;"),
        "{}",
        list.body
    );
    assert!(!list.body.contains("<b>PBX"));
    assert!(!list.body.contains("B&#39;s PBX") && !list.body.contains("B's PBX"));

    // A source's page: its push address, its latest import.
    let page = b.get(&format!("/ui/cdr_sources/{source}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body
            .contains(&format!("/cdr_sources/{source}/records")),
        "{}",
        page.body
    );
    assert!(
        page.body.contains(&format!("/ui/cdr_imports/{import}")),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains(&secret),
        "the secret is never shown again"
    );

    // A new secret needs the CSRF token; with it, it is shown once and the old one is refused.
    let rotate = format!("/ui/cdr_sources/{source}/rotate_secret");
    assert_eq!(b.post(&rotate, &[]).await.status, StatusCode::FORBIDDEN);
    let csrf = page.csrf();
    let rotated = b.post(&rotate, &[("_csrf", &csrf)]).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    let marker = "<code id=\"new-secret\">";
    let start = rotated.body.find(marker).expect("the new secret shown") + marker.len();
    let new_secret = &rotated.body[start..start + 64];
    assert_ne!(new_secret, secret);
    let push = |secret: String| {
        let url = app.url(&format!("/cdr_sources/{source}/records"));
        let http = app.http.clone();
        async move {
            http.post(url)
                .bearer_auth(secret)
                .header("content-type", "text/csv")
                .body(master_csv())
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(push(secret.clone()).await, StatusCode::UNAUTHORIZED);
    assert_eq!(push(new_secret.to_string()).await, StatusCode::OK);

    // The imports: filtered by source, the upload's counts, its error with its line.
    let imports = b
        .get(&format!("/ui/cdr_imports?source={source}&origin=upload"))
        .await;
    assert_eq!(imports.status, StatusCode::OK, "{}", imports.body);
    assert!(
        imports.body.contains(&format!("/ui/cdr_imports/{import}")),
        "{}",
        imports.body
    );
    let detail = b.get(&format!("/ui/cdr_imports/{import}")).await;
    assert_eq!(detail.status, StatusCode::OK, "{}", detail.body);
    assert!(
        detail.body.contains(&format!(
            "<td>{}</td>",
            imported["errors"][0]["line"].as_i64().unwrap()
        )),
        "the error's line: {}",
        detail.body
    );
    assert!(
        detail
            .body
            .contains(&format!("{} rejected", imported["rejected"])),
        "{}",
        detail.body
    );
    let bad = b.get("/ui/cdr_imports?status=sideways").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);

    // Another brand's source and import: the console's 404, and no new secret for it.
    for path in [
        format!("/ui/cdr_sources/{other}"),
        "/ui/cdr_sources/not-an-id".to_string(),
    ] {
        assert_eq!(b.get(&path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    let foreign = b
        .post(
            &format!("/ui/cdr_sources/{other}/rotate_secret"),
            &[("_csrf", &csrf)],
        )
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    let mut ob = Browser::signed_in(&app, "op-b", "operator-pw").await;
    assert_eq!(
        ob.get(&format!("/ui/cdr_imports/{import}")).await.status,
        StatusCode::NOT_FOUND
    );

    // Client administrators: sources are the brand's business (the API's 403).
    let mut c = Browser::signed_in(&app, "ca-a", "client-pw").await;
    for path in ["/ui/cdr_sources", "/ui/cdr_imports"] {
        assert_eq!(c.get(path).await.status, StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(
        c.get(&format!("/ui/cdr_sources/{source}")).await.status,
        StatusCode::NOT_FOUND
    );
}
