//! `/notification_templates`: CRUD, validation of the per-language contents, global
//! templates (platform-managed, read-only to brand operators) and tenant isolation.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::backend_tests;
use crate::common::{id, Tenants, TestApp};
use crate::ddis::assert_no_trace;

backend_tests!(
    template_crud_and_validation,
    template_globals_and_roles,
    template_tenancy_matrix
);

fn content(language: &str) -> Value {
    json!({
        "language": language,
        "fromName": "Billing",
        "fromAddress": "billing@example.com",
        "subject": format!("Calls of ${{CALLCSV_COMPANY}} ({language})"),
        "body": "From ${CALLCSV_DATE_IN} to ${CALLCSV_DATE_OUT}.\n\nRegards",
    })
}

fn template(name: &str, languages: &[&str]) -> Value {
    let contents: Vec<Value> = languages.iter().map(|l| content(l)).collect();
    json!({"name": name, "type": "callCsv", "contents": contents})
}

async fn template_crud_and_validation(app: TestApp) {
    let t = Tenants::create(&app).await;
    let (status, headers, created) = app
        .call_full(
            Method::POST,
            "/notification_templates",
            Some(&t.operator_a),
            Some(template("Monthly", &["en", "es"])),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let item = format!("/notification_templates/{}", id(&created));
    assert_eq!(headers["location"], item.as_str());
    assert_eq!(created["brand"], t.brand_a.as_str());
    assert_eq!(created["type"], "callCsv");
    assert_eq!(
        created["contents"],
        template("Monthly", &["en", "es"])["contents"]
    );
    let (status, got) = app.get(&item, &t.operator_a).await;
    assert_eq!((status, &got), (StatusCode::OK, &created));

    // PUT replaces everything; PATCH replaces `contents` as a whole (merge patch arrays).
    let mut replacement = template("Monthly report", &["en"]);
    replacement["contents"][0]["fromAddress"] = json!("");
    replacement["contents"][0]["fromName"] = Value::Null;
    let (status, put) = app.put(&item, &t.operator_a, replacement).await;
    assert_eq!(status, StatusCode::OK, "{put}");
    assert_eq!(put["name"], "Monthly report");
    assert_eq!(put["contents"].as_array().unwrap().len(), 1);
    assert_eq!(
        put["contents"][0]["fromAddress"],
        Value::Null,
        "empty means none"
    );
    assert_eq!(put["contents"][0]["fromName"], Value::Null);
    let (status, patched) = app
        .patch(
            &item,
            &t.operator_a,
            json!({"contents": [content("pt-BR"), content("en")]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["name"], "Monthly report");
    assert_eq!(patched["contents"][0]["language"], "pt-BR");
    assert_eq!(patched["createdAt"], created["createdAt"]);

    // Every bad field is named, down to the element of `contents`.
    let (status, body) = app
        .post(
            "/notification_templates",
            &t.operator_a,
            json!({"name": "", "type": "welcome", "contents": []}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    for field in ["name", "type", "contents"] {
        assert!(body["fields"][field].is_string(), "{field}: {body}");
    }
    let (status, body) = app
        .post(
            "/notification_templates",
            &t.operator_a,
            json!({"name": "x", "type": "callCsv"}),
        )
        .await;
    assert_eq!(
        (status, body["fields"]["contents"].is_string()),
        (StatusCode::UNPROCESSABLE_ENTITY, true)
    );
    let mut bad = content("en");
    bad["fromAddress"] = json!("not an address");
    bad["fromName"] = json!("Evil\r\nBcc: victim@example.com");
    bad["subject"] = json!("s".repeat(201));
    bad["body"] = json!("b".repeat(100_001));
    let (status, body) = app
        .post(
            "/notification_templates",
            &t.operator_a,
            json!({"name": "Bad", "type": "callCsv", "contents": [
                bad, content("english"), content("es"), content("es"),
                {"language": "fr", "subject": "", "body": "x"},
                {"language": "de", "subject": "s", "body": "x", "footer": "?"},
                "not an object",
            ]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    for field in [
        "contents[0].fromAddress",
        "contents[0].fromName",
        "contents[0].subject",
        "contents[0].body",
        "contents[1].language",
        "contents[3].language",
        "contents[4].subject",
        "contents[5]",
        "contents[6]",
    ] {
        assert!(body["fields"][field].is_string(), "{field}: {body}");
    }
    assert!(
        body["fields"]["contents[2].language"].is_null(),
        "first es is fine: {body}"
    );
    let (status, body) = app
        .post(
            "/notification_templates",
            &t.operator_a,
            json!({"name": "x", "type": "callCsv", "contents": {"language": "en"}}),
        )
        .await;
    assert_eq!(
        (status, body["fields"]["contents"].is_string()),
        (StatusCode::UNPROCESSABLE_ENTITY, true)
    );
    // A failed write changes nothing.
    let (status, _) = app
        .patch(
            &item,
            &t.operator_a,
            json!({"contents": [content("xx-yyy")]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, unchanged) = app.get(&item, &t.operator_a).await;
    assert_eq!(unchanged, patched);

    assert_eq!(
        app.delete(&item, &t.operator_a).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.get(&item, &t.operator_a).await.0, StatusCode::NOT_FOUND);
}

async fn template_globals_and_roles(app: TestApp) {
    let t = Tenants::create(&app).await;
    // A platform administrator creates the global default by naming no brand.
    let global = app
        .create(
            "/notification_templates",
            &app.root,
            template("Global", &["en"]),
        )
        .await;
    assert_eq!(global["brand"], Value::Null);
    let global_item = format!("/notification_templates/{}", id(&global));
    let mut for_a = template("A by root", &["en"]);
    for_a["brand"] = json!(t.brand_a);
    app.create("/notification_templates", &app.root, for_a)
        .await;
    app.create(
        "/notification_templates",
        &t.operator_a,
        template("A own", &["es"]),
    )
    .await;
    app.create(
        "/notification_templates",
        &t.operator_b,
        template("B own", &["en"]),
    )
    .await;
    let names = |list: &Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()
    };

    // Brand operators list their own and the global ones.
    let (status, headers, list) = app
        .call_full(
            Method::GET,
            "/notification_templates?_order[name]=asc&itemsPerPage=2",
            Some(&t.operator_a),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-total-count"], "3");
    assert_eq!(names(&list), ["A by root", "A own"]);
    let (_, page2) = app
        .get(
            "/notification_templates?_order[name]=asc&itemsPerPage=2&page=2",
            &t.operator_a,
        )
        .await;
    assert_eq!(names(&page2), ["Global"]);
    let (_, own_only) = app
        .get(
            &format!(
                "/notification_templates?brand={}&_order[name]=desc",
                t.brand_a
            ),
            &t.operator_a,
        )
        .await;
    assert_eq!(names(&own_only), ["A own", "A by root"]);
    let (_, by_name) = app
        .get(
            "/notification_templates?name=Global&type=callCsv",
            &t.operator_a,
        )
        .await;
    assert_eq!(names(&by_name), ["Global"]);
    let (_, all) = app
        .get("/notification_templates?_order[name]=asc", &app.root)
        .await;
    assert_eq!(names(&all), ["A by root", "A own", "B own", "Global"]);
    for bad in ["type=welcome", "brand=x", "_order[type]=asc"] {
        let (status, _) = app
            .get(&format!("/notification_templates?{bad}"), &t.operator_a)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }

    // Global templates are read-only to brand operators.
    assert_eq!(app.get(&global_item, &t.operator_a).await.0, StatusCode::OK);
    let (status, _) = app
        .put(&global_item, &t.operator_a, template("Mine now", &["en"]))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .patch(&global_item, &t.operator_a, json!({"name": "Mine now"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.delete(&global_item, &t.operator_a).await,
        StatusCode::FORBIDDEN
    );
    let (_, unchanged) = app.get(&global_item, &app.root).await;
    assert_eq!(unchanged, global);
    let (status, renamed) = app
        .patch(&global_item, &app.root, json!({"name": "Global default"}))
        .await;
    assert_eq!((status, &renamed["brand"]), (StatusCode::OK, &Value::Null));

    // A template stays where it was created: brand, global.
    let (_, a_own) = app
        .get("/notification_templates?name=A own", &t.operator_a)
        .await;
    let a_item = format!("/notification_templates/{}", id(&a_own[0]));
    let (status, _) = app.patch(&a_item, &app.root, json!({"brand": null})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app
        .patch(&global_item, &app.root, json!({"brand": t.brand_a}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut unknown = template("Nowhere", &["en"]);
    unknown["brand"] = json!(uuid::Uuid::new_v4());
    let (status, body) = app
        .post("/notification_templates", &app.root, unknown)
        .await;
    assert_eq!(
        (status, body["fields"]["brand"].is_string()),
        (StatusCode::UNPROCESSABLE_ENTITY, true)
    );

    // Client administrators have no business here.
    let (status, _) = app.get("/notification_templates", &t.client_admin_a).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .post(
            "/notification_templates",
            &t.client_admin_a,
            template("C", &["en"]),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for item in [&global_item, &a_item] {
        assert_eq!(
            app.get(item, &t.client_admin_a).await.0,
            StatusCode::NOT_FOUND
        );
        let (status, _) = app
            .put(item, &t.client_admin_a, template("C", &["en"]))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = app
            .patch(item, &t.client_admin_a, json!({"name": "C"}))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            app.delete(item, &t.client_admin_a).await,
            StatusCode::NOT_FOUND
        );
    }
}

async fn template_tenancy_matrix(app: TestApp) {
    let t = Tenants::create(&app).await;
    let b_template = app
        .create(
            "/notification_templates",
            &t.operator_b,
            template("B secret template", &["en"]),
        )
        .await;
    let b_id = id(&b_template);
    let a_template = app
        .create(
            "/notification_templates",
            &t.operator_a,
            template("A template", &["en"]),
        )
        .await;
    let a_item = format!("/notification_templates/{}", id(&a_template));
    let secrets = [b_id.as_str(), "B secret template", t.brand_b.as_str()];
    let item = format!("/notification_templates/{b_id}");

    // Operator A: B's template does not exist.
    let (status, body) = app.get(&item, &t.operator_a).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_no_trace(&body, &secrets, "GET");
    for query in [
        String::new(),
        format!("?brand={}", t.brand_b),
        "?name=B secret template".to_string(),
    ] {
        let (status, body) = app
            .get(&format!("/notification_templates{query}"), &t.operator_a)
            .await;
        assert_eq!(status, StatusCode::OK, "list {query}");
        assert_no_trace(&body, &secrets, &query);
    }
    let (status, body) = app.put(&item, &t.operator_a, template("x", &["en"])).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "PUT");
    assert_no_trace(&body, &secrets, "PUT");
    let (status, body) = app.patch(&item, &t.operator_a, json!({"name": "x"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "PATCH");
    assert_no_trace(&body, &secrets, "PATCH");
    assert_eq!(
        app.delete(&item, &t.operator_a).await,
        StatusCode::NOT_FOUND
    );

    // Client administrator A: no collection, no items.
    let (status, body) = app.get("/notification_templates", &t.client_admin_a).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_no_trace(&body, &secrets, "client list");
    let (status, _) = app
        .get(
            &format!("/notification_templates?brand={}", t.brand_b),
            &t.client_admin_a,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = app.get(&item, &t.client_admin_a).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_no_trace(&body, &secrets, "client GET");
    let (status, _) = app
        .put(&item, &t.client_admin_a, template("x", &["en"]))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .patch(&item, &t.client_admin_a, json!({"name": "x"}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.delete(&item, &t.client_admin_a).await,
        StatusCode::NOT_FOUND
    );

    // Nothing written by A lands in B: not on create, not by moving A's template.
    let mut into_b = template("Into B", &["en"]);
    into_b["brand"] = json!(t.brand_b);
    let (status, body) = app
        .post("/notification_templates", &t.operator_a, into_b)
        .await;
    assert_eq!(
        (status, body["fields"]["brand"].is_string()),
        (StatusCode::UNPROCESSABLE_ENTITY, true)
    );
    let (status, _) = app
        .patch(&a_item, &t.operator_a, json!({"brand": t.brand_b}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let (_, after) = app.get(&item, &t.operator_b).await;
    assert_eq!(after, b_template);
    let (_, b_list) = app.get("/notification_templates", &t.operator_b).await;
    assert_eq!(b_list, json!([b_template]), "nothing was added under B");
    let (_, a_after) = app.get(&a_item, &t.operator_a).await;
    assert_eq!(a_after, a_template);
}
