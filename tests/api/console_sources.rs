//! The console's CDR sources and imports pages, per role: the brand's sources (names
//! escaped), a source's push address and a new push secret (CSRF required; the old secret
//! stops working), the imports with their counts and line-numbered errors; client
//! administrators get the API's 403 and another brand's ids the console's 404. Sources are
//! created, edited and deleted through forms that call the API's operation.

use reqwest::StatusCode;
use serde_json::json;

use crate::cdr_arrivals::{master_csv, upload};
use crate::common::Backend;
use crate::common::{id, Tenants, TestApp};
use crate::console::Browser;
use crate::{backend_cases, backend_tests};

backend_tests!(
    console_sources_and_imports_pages,
    console_sources_created_edited_and_deleted_through_forms,
);
backend_cases!(console_source_forms_take_spool_and_webex_settings);

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

/// The text of the page's `<code class="secret">`.
fn shown_secret(body: &str) -> String {
    let marker = "<code class=\"secret\">";
    let start = body.find(marker).expect("a secret shown") + marker.len();
    body[start..].split('<').next().unwrap().to_string()
}

async fn console_sources_created_edited_and_deleted_through_forms(app: TestApp) {
    let t = Tenants::create(&app).await;
    let op = &t.operator_a;
    let carrier = id(&app
        .create("/carriers", op, json!({"name": "Transit", "code": "gw1"}))
        .await);
    let other = id(&app
        .create(
            "/cdr_sources",
            &t.operator_b,
            json!({"name": "B's PBX", "format": "freeswitch-json",
                   "numbering": {"countryCode": "34", "nationalPrefix": "", "internationalPrefix": "00", "extensionMaxDigits": 4}}),
        )
        .await);

    let mut b = Browser::signed_in(&app, "op-a", "operator-pw").await;
    let list = b.get("/ui/cdr_sources").await;
    assert!(list.body.contains("href=\"/ui/cdr_sources/new\""));
    let form = b.get("/ui/cdr_sources/new").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    for field in [
        "name=\"format\"",
        "name=\"numbering.countryCode\"",
        "name=\"direction[0].matchExpr\"",
        "name=\"mapping.defaultClient\"",
        "name=\"spool.path\"",
        "Client A",
        "Transit",
    ] {
        assert!(form.body.contains(field), "{field}: {}", form.body);
    }
    // A format's own settings show once it is chosen.
    assert!(!form.body.contains("name=\"columns\""));
    let asterisk = b.get("/ui/cdr_sources/new?format=asterisk-csv").await;
    assert!(asterisk.body.contains("name=\"columns\""));
    assert!(!asterisk.body.contains("name=\"pull.token\""));
    let webex = b.get("/ui/cdr_sources/new?format=webex-cdr").await;
    assert!(
        webex.body.contains("name=\"pull.token\"") && webex.body.contains("name=\"callTypes\"")
    );

    let csrf = form.csrf();
    let hostile = "<script>alert(1)</script>";
    let mut fields = vec![
        ("name", hostile),
        ("format", "asterisk-csv"),
        ("timezone", "Mars/Olympus"),
        ("answeredOnly", "on"),
        ("enabled", "on"),
        ("callidPrefix", "pbx1-"),
        ("direction[0].field", "dcontext"),
        ("direction[0].matchExpr", "("),
        ("direction[0].direction", "inbound"),
        ("mapping.carrier.field", "dstchannel"),
        ("mapping.carrier.matchExpr", "^SIP/([^-]+)"),
        ("mapping.defaultClient", t.client_a.as_str()),
        ("mapping.defaultCarrier", carrier.as_str()),
    ];
    // Without the token: 403, and nothing made.
    let refused = b.post("/ui/cdr_sources", &fields).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let (_, listed) = app.get("/cdr_sources", op).await;
    assert_eq!(listed.as_array().unwrap().len(), 0, "{listed}");

    // The operation's errors next to their fields (numbering: the brand has no country),
    // what was typed kept and escaped.
    let mut with_token = vec![("_csrf", csrf.as_str())];
    with_token.extend(fields.iter().copied());
    let wrong = b.post("/ui/cdr_sources", &with_token).await;
    assert_eq!(
        wrong.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        wrong.body
    );
    for error in [
        "id=\"timezone-error\">not an IANA time zone",
        "id=\"direction-0--matchExpr-error\">",
        "id=\"numbering-countryCode-error\">required: the brand has no country",
    ] {
        assert!(wrong.body.contains(error), "{error}: {}", wrong.body);
    }
    assert!(wrong
        .body
        .contains("value=\"&#60;script&#62;alert(1)&#60;/script&#62;\""));
    assert!(!wrong.body.contains(hostile));

    fields[2] = ("timezone", "UTC");
    fields[7] = ("direction[0].matchExpr", "^from-pstn");
    fields.extend([
        ("numbering.countryCode", "34"),
        ("numbering.internationalPrefix", "00"),
        ("numbering.extensionMaxDigits", "4"),
    ]);
    let mut with_token = vec![("_csrf", csrf.as_str())];
    with_token.extend(fields.iter().copied());
    let made = b.post("/ui/cdr_sources", &with_token).await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    assert!(made.body.contains("The push secret"), "{}", made.body);
    let secret = shown_secret(&made.body);
    assert_eq!(secret.len(), 64, "{}", made.body);

    // What the API shows is what the form said.
    let (_, listed) = app.get("/cdr_sources", op).await;
    let stored = &listed[0];
    let source = id(stored);
    assert_eq!(stored["name"], hostile);
    assert_eq!(stored["timezone"], "UTC");
    assert_eq!(stored["callidPrefix"], "pbx1-");
    assert_eq!(stored["answeredOnly"], true);
    assert_eq!(stored["numbering"]["countryCode"], "34");
    assert_eq!(stored["numbering"]["extensionMaxDigits"], 4);
    assert_eq!(
        stored["direction"],
        json!([{"field": "dcontext", "matchExpr": "^from-pstn", "direction": "inbound"}])
    );
    assert_eq!(
        stored["mapping"]["carrier"],
        json!({"field": "dstchannel", "matchExpr": "^SIP/([^-]+)"})
    );
    assert_eq!(stored["mapping"]["defaultClient"], t.client_a.as_str());
    assert_eq!(stored["mapping"]["defaultCarrier"], carrier.as_str());
    assert!(stored["columns"].is_null() && stored["spool"].is_null());
    assert!(made
        .body
        .contains(&format!("href=\"/ui/cdr_sources/{source}\"")));
    // The secret shown is the one a switch pushes with; the list shows the name as text.
    let pushed = app
        .http
        .post(app.url(&format!("/cdr_sources/{source}/records")))
        .bearer_auth(&secret)
        .header("content-type", "text/csv")
        .body(master_csv())
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(pushed, StatusCode::OK);
    let list = b.get("/ui/cdr_sources").await;
    assert!(list
        .body
        .contains("&#60;script&#62;alert(1)&#60;/script&#62;"));
    assert!(!list.body.contains(hostile));

    // The edit form holds the stored settings; saving it changes the source, not its secret.
    let edit_path = format!("/ui/cdr_sources/{source}/edit");
    let edit = b.get(&edit_path).await;
    assert_eq!(edit.status, StatusCode::OK, "{}", edit.body);
    for shown in [
        "value=\"^from-pstn\"",
        "value=\"34\"",
        "value=\"pbx1-\"",
        "Edit the CDR source",
    ] {
        assert!(edit.body.contains(shown), "{shown}: {}", edit.body);
    }
    assert!(!edit.body.contains(&secret));
    fields[0] = ("name", "PBX 2");
    fields.retain(|(k, _)| *k != "enabled");
    assert_eq!(
        b.post(&edit_path, &fields).await.status,
        StatusCode::FORBIDDEN
    );
    let mut with_token = vec![("_csrf", csrf.as_str())];
    with_token.extend(fields.iter().copied());
    let saved = b.post(&edit_path, &with_token).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(saved.location(), format!("/ui/cdr_sources/{source}"));
    let (_, now) = app.get(&format!("/cdr_sources/{source}"), op).await;
    assert_eq!(
        (now["name"].as_str(), now["enabled"].as_bool()),
        (Some("PBX 2"), Some(false))
    );
    assert_eq!(now["direction"], stored["direction"]);
    assert!(now.get("pushSecret").is_none());

    // Another brand's source: the console's 404 for its form, its save and its deletion.
    for path in [
        format!("/ui/cdr_sources/{other}/edit"),
        format!("/ui/cdr_sources/{other}/delete"),
    ] {
        assert_eq!(b.get(&path).await.status, StatusCode::NOT_FOUND, "{path}");
        let post = b.post(&path, &with_token).await;
        assert_eq!(post.status, StatusCode::NOT_FOUND, "{path}");
    }
    let (status, _) = app
        .get(&format!("/cdr_sources/{other}"), &t.operator_b)
        .await;
    assert_eq!(status, StatusCode::OK, "B's source untouched");

    // Client administrators: neither the form nor a save (the API's 403).
    let mut c = Browser::signed_in(&app, "ca-a", "client-pw").await;
    assert_eq!(
        c.get("/ui/cdr_sources/new").await.status,
        StatusCode::FORBIDDEN
    );
    let their_csrf = c.csrf().await;
    let mut theirs = vec![("_csrf", their_csrf.as_str())];
    theirs.extend(fields.iter().copied());
    assert_eq!(
        c.post("/ui/cdr_sources", &theirs).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(c.get(&edit_path).await.status, StatusCode::NOT_FOUND);

    // Delete: confirmed, CSRF-protected, then gone.
    let delete_path = format!("/ui/cdr_sources/{source}/delete");
    let confirm = b.get(&delete_path).await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
    assert!(
        confirm.body.contains("Delete the CDR source “PBX 2”?"),
        "{}",
        confirm.body
    );
    assert_eq!(
        b.post(&delete_path, &[]).await.status,
        StatusCode::FORBIDDEN
    );
    let deleted = b.post(&delete_path, &[("_csrf", csrf.as_str())]).await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.body);
    let (status, _) = app.get(&format!("/cdr_sources/{source}"), op).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// The settings that need the service's own (CALLCSV_SPOOL_ROOT) or a format's (Webex's
/// call types and pull, its token write-only) go through the form as through the API.
async fn console_source_forms_take_spool_and_webex_settings(backend: Backend) {
    let outer = tempfile::tempdir().unwrap();
    let root = outer.path().join("spool");
    std::fs::create_dir_all(root.join("pbx1")).unwrap();
    let root_text = root.to_string_lossy().into_owned();
    let app = TestApp::start_with(backend, &[("CALLCSV_SPOOL_ROOT", &root_text)]).await;
    let t = Tenants::create(&app).await;
    let mut b = Browser::signed_in(&app, "op-a", "operator-pw").await;
    let csrf = b.csrf().await;
    let mut fields = vec![
        ("_csrf", csrf.as_str()),
        ("name", "Webex"),
        ("format", "webex-cdr"),
        ("enabled", "on"),
        ("numbering.countryCode", "34"),
        ("numbering.internationalPrefix", "00"),
        ("callTypes", "SIP_NATIONAL\r\nSIP_INTERNATIONAL\r\n"),
        ("pull.token", "secret-token"),
        ("pull.intervalMinutes", "30"),
        ("spool.path", "../elsewhere"),
        ("spool.pattern", "*.csv"),
    ];
    let outside = b.post("/ui/cdr_sources", &fields).await;
    assert_eq!(
        outside.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        outside.body
    );
    assert!(
        outside.body.contains("id=\"spool-path-error\">"),
        "{}",
        outside.body
    );
    fields[9] = ("spool.path", "pbx1");
    let made = b.post("/ui/cdr_sources", &fields).await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    assert!(!made.body.contains("secret-token"));
    let (_, listed) = app.get("/cdr_sources", &t.operator_a).await;
    let source = &listed[0];
    assert_eq!(
        source["callTypes"],
        json!(["SIP_NATIONAL", "SIP_INTERNATIONAL"])
    );
    assert_eq!(source["pull"]["intervalMinutes"], 30);
    assert_eq!(source["pull"]["hasToken"], true);
    let pbx1 = root.canonicalize().unwrap().join("pbx1");
    assert_eq!(
        source["spool"],
        json!({"path": pbx1.to_string_lossy(), "pattern": "*.csv"})
    );

    // The edit form never shows the token; saved without one, the stored one stays.
    let edit_path = format!("/ui/cdr_sources/{}/edit", id(source));
    let edit = b.get(&edit_path).await;
    assert_eq!(edit.status, StatusCode::OK, "{}", edit.body);
    assert!(!edit.body.contains("secret-token"));
    assert!(
        edit.body.contains("SIP_NATIONAL\nSIP_INTERNATIONAL"),
        "{}",
        edit.body
    );
    let pull_url = source["pull"]["url"].as_str().unwrap().to_string();
    let pbx1_text = pbx1.to_string_lossy().into_owned();
    let again = [
        ("_csrf", csrf.as_str()),
        ("name", "Webex"),
        ("format", "webex-cdr"),
        ("numbering.countryCode", "34"),
        ("numbering.internationalPrefix", "00"),
        ("pull.url", pull_url.as_str()),
        ("pull.intervalMinutes", "60"),
        ("spool.path", pbx1_text.as_str()),
        ("spool.pattern", "*.csv"),
    ];
    let saved = b.post(&edit_path, &again).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let (_, now) = app
        .get(&format!("/cdr_sources/{}", id(source)), &t.operator_a)
        .await;
    assert_eq!(now["pull"]["intervalMinutes"], 60);
    assert_eq!(now["pull"]["hasToken"], true);
    assert_eq!(now["enabled"], false);
    assert!(now["callTypes"].is_null(), "empty: the PSTN ones");
}
