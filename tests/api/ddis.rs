//! `/ddis`: CRUD, validation, uniqueness in the brand, links to the brand's DDI providers,
//! the client-role view (no provider link) and tenant isolation.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::backend_tests;
use crate::common::{id, Tenants, TestApp};

backend_tests!(
    ddi_crud_and_validation,
    ddi_lists_and_client_view,
    ddi_tenancy_matrix
);

/// Fails when any of `secrets` (another tenant's ids, numbers…) appears anywhere in `body`.
pub fn assert_no_trace(body: &Value, secrets: &[&str], context: &str) {
    let text = body.to_string();
    for secret in secrets {
        assert!(
            !text.contains(secret),
            "{context}: {secret} leaked in {text}"
        );
    }
}

async fn ddi_crud_and_validation(app: TestApp) {
    let t = Tenants::create(&app).await;

    let (status, headers, created) = app
        .call_full(
            Method::POST,
            "/ddis",
            Some(&t.operator_a),
            Some(json!({"client": t.client_a, "ddiE164": "+34911000001"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let ddi = id(&created);
    assert_eq!(headers["location"], format!("/ddis/{ddi}").as_str());
    assert_eq!(created["brand"], t.brand_a.as_str(), "brand from the token");
    assert_eq!(created["client"], t.client_a.as_str());
    assert_eq!(created["ddiE164"], "+34911000001");
    assert_eq!(created["ddiProvider"], Value::Null);
    assert!(created["createdAt"].as_str().unwrap().ends_with('Z'));
    let (status, got) = app.get(&format!("/ddis/{ddi}"), &t.operator_a).await;
    assert_eq!((status, &got), (StatusCode::OK, &created));

    // PUT replaces, PATCH merges; the id and creation time stay.
    let (status, put) = app
        .put(
            &format!("/ddis/{ddi}"),
            &t.operator_a,
            json!({"client": t.client_a, "ddiE164": "+34911000002"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{put}");
    assert_eq!(put["ddiE164"], "+34911000002");
    assert_eq!(put["createdAt"], created["createdAt"]);
    let (status, patched) = app
        .patch(
            &format!("/ddis/{ddi}"),
            &t.operator_a,
            json!({"ddiE164": "+34911000003"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(
        (&patched["ddiE164"], &patched["client"]),
        (&json!("+34911000003"), &json!(t.client_a))
    );

    // Every bad field is named at once.
    let (status, body) = app
        .post(
            "/ddis",
            &t.operator_a,
            json!({"client": "not-an-id", "ddiE164": "+0911", "ddiProvider": "nope"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    for field in ["client", "ddiE164", "ddiProvider"] {
        assert!(body["fields"][field].is_string(), "{field}: {body}");
    }
    let (status, body) = app.post("/ddis", &t.operator_a, json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["fields"]["client"].is_string() && body["fields"]["ddiE164"].is_string());
    for number in [
        "34911000009",
        "+12345",
        "+1234567890123456",
        "+34 911",
        "+3491100000a",
    ] {
        let (status, body) = app
            .post(
                "/ddis",
                &t.operator_a,
                json!({"client": t.client_a, "ddiE164": number}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{number}");
        assert!(body["fields"]["ddiE164"].is_string(), "{number}: {body}");
    }
    let unknown = uuid::Uuid::new_v4().to_string();
    for (field, body) in [
        (
            "client",
            json!({"client": unknown, "ddiE164": "+34911000009"}),
        ),
        (
            "ddiProvider",
            json!({"client": t.client_a, "ddiE164": "+34911000009", "ddiProvider": unknown}),
        ),
    ] {
        let (status, answer) = app.post("/ddis", &t.operator_a, body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        assert!(answer["fields"][field].is_string(), "{field}: {answer}");
    }
    let (status, _) = app
        .post(
            "/ddis",
            &t.operator_a,
            json!({"client": t.client_a, "ddiE164": "+34911000009", "color": "red"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "unknown field");

    // Platform administrators name the brand; the client must be of that brand.
    let (status, body) = app
        .post(
            "/ddis",
            &app.root,
            json!({"client": t.client_a, "ddiE164": "+34911000009"}),
        )
        .await;
    assert_eq!(
        (status, body["fields"]["brand"].is_string()),
        (StatusCode::UNPROCESSABLE_ENTITY, true)
    );
    let (status, body) = app
        .post(
            "/ddis",
            &app.root,
            json!({"brand": t.brand_a, "client": t.client_b, "ddiE164": "+34911000009"}),
        )
        .await;
    assert_eq!(
        (status, body["fields"]["client"].is_string()),
        (StatusCode::UNPROCESSABLE_ENTITY, true)
    );
    let by_root = app
        .create(
            "/ddis",
            &app.root,
            json!({"brand": t.brand_a, "client": t.client_a, "ddiE164": "+34911000004"}),
        )
        .await;
    assert_eq!(by_root["brand"], t.brand_a.as_str());

    // A provider of the brand can be linked, and unlinked with null.
    let provider = id(&app
        .create(
            "/ddi_providers",
            &t.operator_a,
            json!({"name": "Carrier A"}),
        )
        .await);
    let root_ddi = format!("/ddis/{}", id(&by_root));
    let (status, linked) = app
        .patch(&root_ddi, &t.operator_a, json!({"ddiProvider": provider}))
        .await;
    assert_eq!(
        (status, &linked["ddiProvider"]),
        (StatusCode::OK, &json!(provider))
    );
    let (status, unlinked) = app
        .patch(&root_ddi, &t.operator_a, json!({"ddiProvider": null}))
        .await;
    assert_eq!(
        (status, &unlinked["ddiProvider"]),
        (StatusCode::OK, &Value::Null)
    );
    let linked = app
        .create(
            "/ddis",
            &t.operator_a,
            json!({"client": t.client_a, "ddiE164": "+34911000005", "ddiProvider": provider}),
        )
        .await;
    assert_eq!(linked["ddiProvider"], provider.as_str());

    // A number is unique in its brand, not across brands.
    let (status, body) = app
        .post(
            "/ddis",
            &t.operator_a,
            json!({"client": t.client_a, "ddiE164": "+34911000003"}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict"))
    );
    let (status, _) = app
        .patch(
            &format!("/ddis/{}", id(&by_root)),
            &t.operator_a,
            json!({"ddiE164": "+34911000003"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "an update clashes too");
    app.create(
        "/ddis",
        &t.operator_b,
        json!({"client": t.client_b, "ddiE164": "+34911000003"}),
    )
    .await;

    // A DDI stays in its brand; a PATCH that breaks a field is refused and changes nothing.
    let (status, _) = app
        .patch(
            &format!("/ddis/{ddi}"),
            &app.root,
            json!({"brand": t.brand_b}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app
        .patch(
            &format!("/ddis/{ddi}"),
            &t.operator_a,
            json!({"ddiE164": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app
        .patch(
            &format!("/ddis/{ddi}"),
            &t.operator_a,
            json!(["not", "a", "patch"]),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, unchanged) = app.get(&format!("/ddis/{ddi}"), &t.operator_a).await;
    assert_eq!(unchanged, patched);

    // Malformed ids and methods the paths lack.
    assert_eq!(
        app.get("/ddis/42", &t.operator_a).await.0,
        StatusCode::BAD_REQUEST
    );
    let (status, _) = app
        .call(Method::DELETE, "/ddis", Some(&t.operator_a), None)
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);

    assert_eq!(
        app.delete(&format!("/ddis/{ddi}"), &t.operator_a).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&format!("/ddis/{ddi}"), &t.operator_a).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.delete(&format!("/ddis/{ddi}"), &t.operator_a).await,
        StatusCode::NOT_FOUND
    );
}

async fn ddi_lists_and_client_view(app: TestApp) {
    let t = Tenants::create(&app).await;
    let other = app
        .client(&t.operator_a, &t.brand_a, "Other", "retail")
        .await;
    let provider = id(&app
        .create(
            "/ddi_providers",
            &t.operator_a,
            json!({"name": "Carrier A"}),
        )
        .await);
    for (client, number, provider) in [
        (&t.client_a, "+34911000003", Some(&provider)),
        (&t.client_a, "+34911000001", Some(&provider)),
        (&other, "+34911000002", None),
    ] {
        app.create(
            "/ddis",
            &t.operator_a,
            json!({"client": client, "ddiE164": number, "ddiProvider": provider}),
        )
        .await;
    }
    let numbers = |list: &Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|d| d["ddiE164"].as_str().unwrap().to_string())
            .collect()
    };

    // Pagination, order and filters.
    let (status, headers, first) = app
        .call_full(
            Method::GET,
            "/ddis?itemsPerPage=2&_order[ddiE164]=desc",
            Some(&t.operator_a),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-total-count"], "3");
    assert!(headers["link"].to_str().unwrap().contains("rel=\"next\""));
    assert_eq!(numbers(&first), ["+34911000003", "+34911000002"]);
    let (_, second) = app
        .get(
            "/ddis?itemsPerPage=2&page=2&_order[ddiE164]=desc",
            &t.operator_a,
        )
        .await;
    assert_eq!(numbers(&second), ["+34911000001"]);
    let (_, mine) = app
        .get(
            &format!("/ddis?client={}&_order[ddiE164]=asc", t.client_a),
            &t.operator_a,
        )
        .await;
    assert_eq!(numbers(&mine), ["+34911000001", "+34911000003"]);
    let (_, via_provider) = app
        .get(
            &format!("/ddis?ddiProvider={provider}&_order[ddiE164]=asc"),
            &t.operator_a,
        )
        .await;
    assert_eq!(numbers(&via_provider), ["+34911000001", "+34911000003"]);
    assert_eq!(via_provider[0]["ddiProvider"], provider.as_str());
    for query in ["ddiE164=%2B34911000002", "ddiE164=+34911000002"] {
        let (_, found) = app.get(&format!("/ddis?{query}"), &t.operator_a).await;
        assert_eq!(numbers(&found), ["+34911000002"], "{query}");
    }
    for bad in [
        "client=nope",
        "colour=red",
        "_order[client]=asc",
        "itemsPerPage=1001",
    ] {
        let (status, _) = app.get(&format!("/ddis?{bad}"), &t.operator_a).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }

    // A client administrator reads its own client's DDIs only, without the provider link.
    let (status, list) = app
        .get("/ddis?_order[ddiE164]=asc", &t.client_admin_a)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(numbers(&list), ["+34911000001", "+34911000003"]);
    assert_no_trace(&list, &[&provider], "client view");
    for ddi in list.as_array().unwrap() {
        assert!(ddi.get("ddiProvider").is_none(), "hidden: {ddi}");
        assert_eq!(ddi["client"], t.client_a.as_str());
    }
    let own = id(&list[0]);
    let (status, item) = app.get(&format!("/ddis/{own}"), &t.client_admin_a).await;
    assert_eq!(status, StatusCode::OK);
    assert!(item.get("ddiProvider").is_none(), "hidden: {item}");
    let (_, others) = app
        .get(&format!("/ddis?client={other}"), &t.operator_a)
        .await;
    let others_ddi = id(&others[0]);
    assert_eq!(
        app.get(&format!("/ddis/{others_ddi}"), &t.client_admin_a)
            .await
            .0,
        StatusCode::NOT_FOUND,
        "another client of the same brand"
    );
    let (_, filtered) = app
        .get(&format!("/ddis?client={other}"), &t.client_admin_a)
        .await;
    assert_eq!(filtered, json!([]));
    let (status, _) = app
        .get(&format!("/ddis?ddiProvider={provider}"), &t.client_admin_a)
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "no filtering on a hidden field"
    );

    // ... and writes nothing.
    let (status, _) = app
        .post(
            "/ddis",
            &t.client_admin_a,
            json!({"client": t.client_a, "ddiE164": "+34911000009"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .put(
            &format!("/ddis/{own}"),
            &t.client_admin_a,
            json!({"client": t.client_a, "ddiE164": "+34911000009"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .patch(
            &format!("/ddis/{own}"),
            &t.client_admin_a,
            json!({"ddiE164": "+34911000009"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.delete(&format!("/ddis/{own}"), &t.client_admin_a).await,
        StatusCode::FORBIDDEN
    );
    let (_, still) = app.get(&format!("/ddis/{own}"), &t.operator_a).await;
    assert_eq!(still["ddiE164"], "+34911000001");
}

async fn ddi_tenancy_matrix(app: TestApp) {
    let t = Tenants::create(&app).await;
    let b_provider = id(&app
        .create(
            "/ddi_providers",
            &t.operator_b,
            json!({"name": "Carrier B"}),
        )
        .await);
    let b_ddi = app
        .create(
            "/ddis",
            &t.operator_b,
            json!({"client": t.client_b, "ddiE164": "+44200000001", "ddiProvider": b_provider}),
        )
        .await;
    let b_id = id(&b_ddi);
    let a_ddi = app
        .create(
            "/ddis",
            &t.operator_a,
            json!({"client": t.client_a, "ddiE164": "+34911000001"}),
        )
        .await;
    let a_id = id(&a_ddi);
    let secrets = [
        b_id.as_str(),
        "+44200000001",
        t.client_b.as_str(),
        t.brand_b.as_str(),
        b_provider.as_str(),
    ];
    let item = format!("/ddis/{b_id}");

    for (who, token) in [
        ("operator A", &t.operator_a),
        ("client admin A", &t.client_admin_a),
    ] {
        let (status, body) = app.get(&item, token).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{who} GET");
        assert_no_trace(&body, &secrets, who);
        for query in [
            String::new(),
            format!("?brand={}", t.brand_b),
            format!("?client={}", t.client_b),
            "?ddiE164=%2B44200000001".to_string(),
        ] {
            let (status, body) = app.get(&format!("/ddis{query}"), token).await;
            assert_eq!(status, StatusCode::OK, "{who} list {query}");
            assert_no_trace(&body, &secrets, who);
        }
        let (status, body) = app
            .put(
                &item,
                token,
                json!({"client": t.client_a, "ddiE164": "+34911000009"}),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{who} PUT");
        assert_no_trace(&body, &secrets, who);
        let (status, body) = app
            .patch(&item, token, json!({"ddiE164": "+34911000009"}))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{who} PATCH");
        assert_no_trace(&body, &secrets, who);
        assert_eq!(
            app.delete(&item, token).await,
            StatusCode::NOT_FOUND,
            "{who} DELETE"
        );
    }
    let (status, body) = app
        .get(&format!("/ddis?ddiProvider={b_provider}"), &t.operator_a)
        .await;
    assert_eq!(
        (status, &body),
        (StatusCode::OK, &json!([])),
        "provider filter"
    );

    // No links to B's objects from A's, on create or on update.
    for (field, body) in [
        (
            "client",
            json!({"client": t.client_b, "ddiE164": "+34911000002"}),
        ),
        (
            "ddiProvider",
            json!({"client": t.client_a, "ddiE164": "+34911000002", "ddiProvider": b_provider}),
        ),
        (
            "brand",
            json!({"brand": t.brand_b, "client": t.client_b, "ddiE164": "+34911000002"}),
        ),
    ] {
        let (status, answer) = app.post("/ddis", &t.operator_a, body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "POST {field}");
        assert!(answer["fields"][field].is_string(), "{field}: {answer}");
        assert_no_trace(&answer, &secrets, field);
    }
    let (status, _) = app
        .patch(
            &format!("/ddis/{a_id}"),
            &t.operator_a,
            json!({"client": t.client_b}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app
        .patch(
            &format!("/ddis/{a_id}"),
            &t.operator_a,
            json!({"ddiProvider": b_provider}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let (_, b_list) = app.get("/ddis", &t.operator_b).await;
    assert_eq!(b_list, json!([b_ddi]), "nothing was added under B");

    // B's DDI is as it was; A's has not moved.
    let (_, after) = app.get(&item, &t.operator_b).await;
    assert_eq!(after, b_ddi);
    let (_, a_after) = app.get(&format!("/ddis/{a_id}"), &t.operator_a).await;
    assert_eq!(a_after, a_ddi);
}
