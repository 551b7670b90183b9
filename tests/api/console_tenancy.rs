//! The console's tenancy editing: create and edit forms for clients, carriers, DDIs and
//! notification templates (the API's operations: same validation, same tenancy), a DDI
//! provider's "try a number" box and a template's rendered preview; per role, with CSRF,
//! escaping and other tenants' ids.

use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::billable_calls::world;
use crate::common::{id, TestApp};
use crate::console::Browser;

backend_tests!(
    console_tenancy_create_and_edit_clients_carriers_and_ddis,
    console_ddi_provider_tries_a_number_and_templates_preview_their_email,
);

async fn console_tenancy_create_and_edit_clients_carriers_and_ddis(app: TestApp) {
    let w = world(&app).await;
    let op = &w.t.operator_a;
    let mut b = Browser::signed_in(&app, "op-a", "operator-pw").await;
    let list = b.get("/ui/clients").await;
    assert!(
        list.body.contains("href=\"/ui/clients/new\""),
        "{}",
        list.body
    );
    assert!(list.body.contains(&format!("/ui/clients/{}", w.t.client_a)));
    let form = b.get("/ui/clients/new").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let csrf = form.csrf();

    // Without the token: 403 and nothing made.
    let hostile = "<script>alert(4)</script>";
    let refused = b
        .post("/ui/clients", &[("name", hostile), ("type", "retail")])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let (_, clients) = app.get("/clients", op).await;
    assert_eq!(clients.as_array().unwrap().len(), 1);

    // The operation's errors next to their fields, then a client made as the API makes it.
    let bad = b
        .post(
            "/ui/clients",
            &[
                ("_csrf", &csrf),
                ("name", hostile),
                ("type", "retail"),
                ("timezone", "Mars/Base"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body.contains("id=\"timezone-error\""), "{}", bad.body);
    assert!(bad
        .body
        .contains("value=\"&#60;script&#62;alert(4)&#60;/script&#62;\""));
    assert!(!bad.body.contains("<script>alert(4)"));
    let made = b
        .post(
            "/ui/clients",
            &[
                ("_csrf", &csrf),
                ("name", hostile),
                ("type", "retail"),
                ("code", "ACC-9"),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let new_client = made.location().rsplit('/').next().unwrap().to_string();
    let (status, c) = app.get(&format!("/clients/{new_client}"), op).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (c["name"].as_str(), c["type"].as_str()),
        (Some(hostile), Some("retail"))
    );
    assert_eq!(c["timezone"], "Europe/Madrid", "the brand's default");
    let list = b.get("/ui/clients").await;
    assert!(list.body.contains("&#60;script&#62;alert(4)"));
    assert!(!list.body.contains("<script>alert(4)"));

    // Edit: the form holds the stored values; a duplicate code is the API's 409, in the page.
    let edit = b.get(&format!("/ui/clients/{new_client}")).await;
    assert!(edit.body.contains("value=\"ACC-9\""));
    assert!(edit.body.contains("<option value=\"retail\" selected>"));
    let saved = b
        .post(
            &format!("/ui/clients/{new_client}"),
            &[
                ("_csrf", &csrf),
                ("name", "Renamed"),
                ("type", "retail"),
                ("showBillingDetails", "on"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let (_, c) = app.get(&format!("/clients/{new_client}"), op).await;
    assert_eq!(
        (c["name"].as_str(), c["showBillingDetails"].as_bool()),
        (Some("Renamed"), Some(true))
    );
    assert_eq!(
        c["code"],
        serde_json::Value::Null,
        "an emptied field is cleared"
    );

    // Carriers and DDIs the same way.
    let made = b
        .post(
            "/ui/carriers",
            &[("_csrf", &csrf), ("name", "Carrier 2"), ("code", "gw2")],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let (_, carriers) = app.get("/carriers?name=Carrier%202", op).await;
    assert_eq!(carriers[0]["code"], "gw2");
    let bad = b
        .post(
            "/ui/ddis",
            &[
                ("_csrf", &csrf),
                ("ddiE164", "911000002"),
                ("client", &w.t.client_a),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("id=\"ddiE164-error\""), "{}", bad.body);
    let made = b
        .post(
            "/ui/ddis",
            &[
                ("_csrf", &csrf),
                ("ddiE164", "+34911000002"),
                ("client", &w.t.client_a),
                ("ddiProvider", &w.provider),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let (_, ddis) = app.get("/ddis", op).await;
    assert!(ddis
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["ddiE164"] == "+34911000002" && d["ddiProvider"] == w.provider.as_str()));
    // Another brand's client is not a choice (the operation says so, by field).
    let theirs = b
        .post(
            "/ui/ddis",
            &[
                ("_csrf", &csrf),
                ("ddiE164", "+34911000003"),
                ("client", &w.t.client_b),
            ],
        )
        .await;
    assert_eq!(
        theirs.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        theirs.body
    );

    // Another brand: 404 for the pages and the POST; the client stays as it was.
    let mut other = Browser::signed_in(&app, "op-b", "operator-pw").await;
    let csrf_b = other.csrf().await;
    for path in [
        format!("/ui/clients/{new_client}"),
        format!("/ui/ddis/{}", w.ddi),
        format!("/ui/carriers/{}", w.carrier),
    ] {
        assert_eq!(
            other.get(&path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let page = other
        .post(
            &format!("/ui/clients/{new_client}"),
            &[("_csrf", &csrf_b), ("name", "Taken"), ("type", "retail")],
        )
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    let (_, c) = app.get(&format!("/clients/{new_client}"), op).await;
    assert_eq!(c["name"], "Renamed");

    // A client administrator creates no client or carrier (the API's 403).
    let mut ca = Browser::signed_in(&app, "ca-a", "client-pw").await;
    assert_eq!(
        ca.get("/ui/clients/new").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        ca.get("/ui/carriers/new").await.status,
        StatusCode::FORBIDDEN
    );
    let csrf_c = ca.csrf().await;
    let page = ca
        .post("/ui/carriers", &[("_csrf", &csrf_c), ("name", "Mine")])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
}

async fn console_ddi_provider_tries_a_number_and_templates_preview_their_email(app: TestApp) {
    let w = world(&app).await;
    let op = &w.t.operator_a;
    let mut b = Browser::signed_in(&app, "op-a", "operator-pw").await;

    // The provider's rules (^0034 → +34) applied as ingestion applies them.
    let page = b
        .get(&format!(
            "/ui/ddi_providers/{}?number=0034911000001",
            w.provider
        ))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("192.0.2.0/24"));
    assert!(
        page.body
            .contains("<strong><code>+34911000001</code></strong>"),
        "{}",
        page.body
    );
    let page = b
        .get(&format!(
            "/ui/ddi_providers/{}?number=0034%3Cb%3E1",
            w.provider
        ))
        .await;
    assert!(
        page.body.contains("<code>+34&#60;b&#62;1</code>"),
        "{}",
        page.body
    );
    let list = b.get("/ui/ddi_providers").await;
    assert!(list
        .body
        .contains(&format!("/ui/ddi_providers/{}", w.provider)));

    // A template made through the form, with two language versions, previewed.
    let form = b.get("/ui/notification_templates/new").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let csrf = form.csrf();
    let made = b
        .post(
            "/ui/notification_templates",
            &[
                ("_csrf", csrf.as_str()),
                ("name", "Monthly <i>mail</i>"),
                ("type", "callCsv"),
                ("contents[0].language", "en"),
                ("contents[0].fromName", "Billing"),
                ("contents[0].fromAddress", "billing@brand-a.example"),
                ("contents[0].subject", "Calls of ${CALLCSV_COMPANY}"),
                ("contents[0].body", "Hello ${CALLCSV_COMPANY},\r\n<b>${CALLCSV_ROWS}</b> calls from ${CALLCSV_DATE_IN}."),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let template = made.location().rsplit('/').next().unwrap().to_string();
    let (_, t) = app
        .get(&format!("/notification_templates/{template}"), op)
        .await;
    assert_eq!(
        t["contents"].as_array().unwrap().len(),
        1,
        "the blank version is left out"
    );
    assert_eq!(
        t["contents"][0]["body"],
        "Hello ${CALLCSV_COMPANY},\n<b>${CALLCSV_ROWS}</b> calls from ${CALLCSV_DATE_IN}."
    );
    // A second language through the edit form's blank version; its error by field.
    let edit = b
        .get(&format!("/ui/notification_templates/{template}"))
        .await;
    assert!(
        edit.body.contains("name=\"contents[1].language\""),
        "{}",
        edit.body
    );
    assert!(edit
        .body
        .contains(&format!("/ui/notification_templates/{template}/preview")));
    let mut fields = vec![
        ("_csrf", csrf.as_str()),
        ("name", "Monthly"),
        ("type", "callCsv"),
        ("contents[0].language", "en"),
        ("contents[0].subject", "Calls of ${CALLCSV_COMPANY}"),
        (
            "contents[0].body",
            "Hello ${CALLCSV_COMPANY}: ${CALLCSV_ROWS} calls.",
        ),
        ("contents[1].language", "es"),
        ("contents[1].body", "Hola ${CALLCSV_COMPANY}"),
    ];
    let bad = b
        .post(&format!("/ui/notification_templates/{template}"), &fields)
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(
        bad.body.contains("id=\"contents-1--subject-error\""),
        "{}",
        bad.body
    );
    fields.push(("contents[1].subject", "Llamadas de ${CALLCSV_COMPANY}"));
    let saved = b
        .post(&format!("/ui/notification_templates/{template}"), &fields)
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);

    let preview = b
        .get(&format!("/ui/notification_templates/{template}/preview"))
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    for text in [
        "Calls of Example Client",
        "Hello Example Client: 1234 calls.",
        "Llamadas de Example Client",
        "Hola Example Client",
    ] {
        assert!(preview.body.contains(text), "{text}: {}", preview.body);
    }
    let list = b.get("/ui/notification_templates").await;
    assert!(list.body.contains("Monthly"), "{}", list.body);

    // Escaping in the rendered email: a client named like markup stays text.
    fields[5] = (
        "contents[0].body",
        "<img src=x onerror=alert(5)> ${CALLCSV_BRAND}",
    );
    b.post(&format!("/ui/notification_templates/{template}"), &fields)
        .await;
    let preview = b
        .get(&format!("/ui/notification_templates/{template}/preview"))
        .await;
    assert!(
        preview
            .body
            .contains("&#60;img src=x onerror=alert(5)&#62; Brand A"),
        "{}",
        preview.body
    );

    // An alert template previews with the `${ALERT_…}` values an alert email would carry.
    let alert = id(&app
        .create(
            "/notification_templates",
            op,
            json!({"name": "Alerts", "type": "alert", "contents": [{"language": "en",
                "subject": "[${ALERT_KIND}] ${ALERT_RULE}",
                "body": "${ALERT_SUBJECT}: ${ALERT_MEASURED} / ${ALERT_THRESHOLD} from ${ALERT_WINDOW_FROM}; calls ${ALERT_CALLS}; ${CALLCSV_ROWS}"}]}),
        )
        .await);
    let preview = b
        .get(&format!("/ui/notification_templates/{alert}/preview"))
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    for text in [
        "As an alert email would read",
        "[spend] Daily spend",
        "Example Client (client): 612.40 / 500.00 from ",
        "; calls call-1001, call-1002; ${CALLCSV_ROWS}",
    ] {
        assert!(preview.body.contains(text), "{text}: {}", preview.body);
    }
    assert!(!preview.body.contains("${ALERT_"), "{}", preview.body);

    // Another brand and a client administrator: the 404 page (the API's).
    let mut other = Browser::signed_in(&app, "op-b", "operator-pw").await;
    for path in [
        format!("/ui/ddi_providers/{}?number=0034", w.provider),
        format!("/ui/notification_templates/{template}"),
        format!("/ui/notification_templates/{template}/preview"),
    ] {
        assert_eq!(
            other.get(&path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let mut ca = Browser::signed_in(&app, "ca-a", "client-pw").await;
    assert_eq!(
        ca.get(&format!("/ui/notification_templates/{template}/preview"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        ca.get(&format!("/ui/ddi_providers/{}", w.provider))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}
