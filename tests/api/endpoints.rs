//! `/endpoints`: CRUD, validation, uniqueness per client and type, which types fit which
//! client types, the client administrator's read-only view and tenant isolation.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::backend_tests;
use crate::common::{id, Tenants, TestApp};
use crate::ddis::assert_no_trace;

backend_tests!(
    endpoint_crud_and_validation,
    endpoint_types_fit_client_types,
    endpoint_lists_and_client_role,
    endpoint_tenancy_matrix
);

async fn endpoint_crud_and_validation(app: TestApp) {
    let t = Tenants::create(&app).await;
    let (status, headers, created) = app
        .call_full(
            Method::POST,
            "/endpoints",
            Some(&t.operator_a),
            Some(json!({"client": t.client_a, "type": "User", "name": "alice"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let endpoint = id(&created);
    let item = format!("/endpoints/{endpoint}");
    assert_eq!(headers["location"], item.as_str());
    assert_eq!(created["brand"], t.brand_a.as_str(), "the client's brand");
    assert_eq!(
        (&created["client"], &created["type"], &created["name"]),
        (&json!(t.client_a), &json!("User"), &json!("alice"))
    );
    let (status, got) = app.get(&item, &t.operator_a).await;
    assert_eq!((status, &got), (StatusCode::OK, &created));

    // PUT may send back what GET gave; PATCH merges.
    let mut replacement = created.clone();
    replacement["name"] = json!("alice.smith");
    let (status, put) = app.put(&item, &t.operator_a, replacement).await;
    assert_eq!(
        (status, &put["name"]),
        (StatusCode::OK, &json!("alice.smith"))
    );
    let (status, patched) = app
        .patch(&item, &t.operator_a, json!({"type": "Fax"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(
        (&patched["type"], &patched["name"]),
        (&json!("Fax"), &json!("alice.smith"))
    );
    assert_eq!(patched["createdAt"], created["createdAt"]);

    // Platform administrators need not name the brand: it is the client's.
    let by_root = app
        .create(
            "/endpoints",
            &app.root,
            json!({"client": t.client_b, "type": "Friend", "name": "trunk"}),
        )
        .await;
    assert_eq!(by_root["brand"], t.brand_b.as_str());

    // Every bad field is named at once.
    let (status, body) = app
        .post(
            "/endpoints",
            &t.operator_a,
            json!({"client": "x", "type": "Phone", "name": "  "}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    for field in ["client", "type", "name"] {
        assert!(body["fields"][field].is_string(), "{field}: {body}");
    }
    let (status, body) = app.post("/endpoints", &t.operator_a, json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    for field in ["client", "type", "name"] {
        assert!(body["fields"][field].is_string(), "{field}: {body}");
    }
    let long = "n".repeat(101);
    for (field, body) in [
        (
            "name",
            json!({"client": t.client_a, "type": "User", "name": long}),
        ),
        (
            "name",
            json!({"client": t.client_a, "type": "User", "name": "a\u{7}b"}),
        ),
        (
            "type",
            json!({"client": t.client_a, "type": "user", "name": "bob"}),
        ),
        (
            "client",
            json!({"client": uuid::Uuid::new_v4(), "type": "User", "name": "bob"}),
        ),
        (
            "brand",
            json!({"brand": t.brand_b, "client": t.client_a, "type": "User", "name": "bob"}),
        ),
    ] {
        let (status, answer) = app.post("/endpoints", &t.operator_a, body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        assert!(answer["fields"][field].is_string(), "{field}: {answer}");
    }
    let (status, _) = app
        .post(
            "/endpoints",
            &t.operator_a,
            json!({"client": t.client_a, "type": "User", "name": 7}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "wrong JSON type");

    // A name is unique per client and type.
    let (status, _) = app
        .post(
            "/endpoints",
            &t.operator_a,
            json!({"client": t.client_a, "type": "Fax", "name": "alice.smith"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let user = app
        .create(
            "/endpoints",
            &t.operator_a,
            json!({"client": t.client_a, "type": "User", "name": "alice.smith"}),
        )
        .await;
    let (status, _) = app
        .patch(
            &format!("/endpoints/{}", id(&user)),
            &t.operator_a,
            json!({"type": "Fax"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "an update clashes too");
    let other = app.client(&t.operator_a, &t.brand_a, "Other", "vpbx").await;
    app.create(
        "/endpoints",
        &t.operator_a,
        json!({"client": other, "type": "Fax", "name": "alice.smith"}),
    )
    .await;

    // An endpoint may move to another client of its brand, not to another brand.
    let (status, moved) = app
        .patch(
            &format!("/endpoints/{}", id(&user)),
            &t.operator_a,
            json!({"client": other}),
        )
        .await;
    assert_eq!((status, &moved["client"]), (StatusCode::OK, &json!(other)));
    let (status, _) = app
        .patch(&item, &app.root, json!({"client": t.client_b}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, unchanged) = app.get(&item, &t.operator_a).await;
    assert_eq!(unchanged, patched);

    assert_eq!(
        app.delete(&item, &t.operator_a).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.get(&item, &t.operator_a).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get("/endpoints/not-an-id", &t.operator_a).await.0,
        StatusCode::BAD_REQUEST
    );
}

async fn endpoint_types_fit_client_types(app: TestApp) {
    let brand = app.brand("Fit").await;
    let operator = app.brand_operator(&brand, "op-fit").await;
    let fits: [(&str, &[&str]); 4] = [
        ("vpbx", &["User", "Fax", "Friend"]),
        ("retail", &["RetailAccount"]),
        ("residential", &["ResidentialDevice", "Fax"]),
        ("wholesale", &[]),
    ];
    let all = [
        "User",
        "Fax",
        "Friend",
        "RetailAccount",
        "ResidentialDevice",
    ];
    for (client_type, allowed) in fits {
        let client = app
            .client(&operator, &brand, client_type, client_type)
            .await;
        for endpoint_type in all {
            let (status, body) = app
                .post(
                    "/endpoints",
                    &operator,
                    json!({"client": client, "type": endpoint_type, "name": "e1"}),
                )
                .await;
            if allowed.contains(&endpoint_type) {
                assert_eq!(
                    status,
                    StatusCode::CREATED,
                    "{client_type}/{endpoint_type}: {body}"
                );
            } else {
                assert_eq!(
                    status,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "{client_type}/{endpoint_type}: {body}"
                );
                let message = body["fields"]["type"].as_str().unwrap();
                assert!(message.contains(client_type), "{message}");
                for fitting in allowed {
                    assert!(message.contains(fitting), "names {fitting}: {message}");
                }
            }
        }
    }
}

async fn endpoint_lists_and_client_role(app: TestApp) {
    let t = Tenants::create(&app).await;
    let other = app
        .client(&t.operator_a, &t.brand_a, "Shop", "retail")
        .await;
    for (client, endpoint_type, name) in [
        (&t.client_a, "User", "carol"),
        (&t.client_a, "User", "alice"),
        (&t.client_a, "Fax", "fax1"),
        (&other, "RetailAccount", "bob"),
    ] {
        app.create(
            "/endpoints",
            &t.operator_a,
            json!({"client": client, "type": endpoint_type, "name": name}),
        )
        .await;
    }
    let names = |list: &Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap().to_string())
            .collect()
    };

    let (status, headers, first) = app
        .call_full(
            Method::GET,
            "/endpoints?itemsPerPage=3&_order[name]=asc",
            Some(&t.operator_a),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-total-count"], "4");
    assert_eq!(names(&first), ["alice", "bob", "carol"]);
    let (_, second) = app
        .get(
            "/endpoints?itemsPerPage=3&page=2&_order[name]=asc",
            &t.operator_a,
        )
        .await;
    assert_eq!(names(&second), ["fax1"]);
    let (_, users) = app
        .get(
            &format!(
                "/endpoints?client={}&type=User&_order[name]=desc",
                t.client_a
            ),
            &t.operator_a,
        )
        .await;
    assert_eq!(names(&users), ["carol", "alice"]);
    let (_, by_name) = app.get("/endpoints?name=bob", &t.operator_a).await;
    assert_eq!(names(&by_name), ["bob"]);
    for bad in ["type=Phone", "client=1", "brand=x", "_order[type]=asc"] {
        let (status, _) = app.get(&format!("/endpoints?{bad}"), &t.operator_a).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }

    // A client administrator reads its own client's endpoints and writes none.
    let (_, own) = app
        .get("/endpoints?_order[name]=asc", &t.client_admin_a)
        .await;
    assert_eq!(names(&own), ["alice", "carol", "fax1"]);
    let (_, none) = app
        .get(&format!("/endpoints?client={other}"), &t.client_admin_a)
        .await;
    assert_eq!(none, json!([]));
    let (_, bob) = app.get("/endpoints?name=bob", &t.operator_a).await;
    assert_eq!(
        app.get(&format!("/endpoints/{}", id(&bob[0])), &t.client_admin_a)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let alice = format!("/endpoints/{}", id(&own[0]));
    assert_eq!(app.get(&alice, &t.client_admin_a).await.0, StatusCode::OK);
    let (status, _) = app
        .post(
            "/endpoints",
            &t.client_admin_a,
            json!({"client": t.client_a, "type": "User", "name": "dave"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .put(
            &alice,
            &t.client_admin_a,
            json!({"client": t.client_a, "type": "User", "name": "eve"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .patch(&alice, &t.client_admin_a, json!({"name": "eve"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.delete(&alice, &t.client_admin_a).await,
        StatusCode::FORBIDDEN
    );
    let (_, still) = app.get(&alice, &t.operator_a).await;
    assert_eq!(still, own[0]);
}

async fn endpoint_tenancy_matrix(app: TestApp) {
    let t = Tenants::create(&app).await;
    let b_endpoint = app
        .create(
            "/endpoints",
            &t.operator_b,
            json!({"client": t.client_b, "type": "User", "name": "b-secret-user"}),
        )
        .await;
    let b_id = id(&b_endpoint);
    let a_endpoint = app
        .create(
            "/endpoints",
            &t.operator_a,
            json!({"client": t.client_a, "type": "User", "name": "a-user"}),
        )
        .await;
    let a_id = id(&a_endpoint);
    let secrets = [
        b_id.as_str(),
        "b-secret-user",
        t.client_b.as_str(),
        t.brand_b.as_str(),
    ];
    let item = format!("/endpoints/{b_id}");

    for (who, token) in [
        ("operator A", &t.operator_a),
        ("client admin A", &t.client_admin_a),
    ] {
        let (status, body) = app.get(&item, token).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{who} GET");
        assert_no_trace(&body, &secrets, who);
        for query in [
            String::new(),
            format!("?client={}", t.client_b),
            "?name=b-secret-user".to_string(),
            "?type=User".to_string(),
        ] {
            let (status, body) = app.get(&format!("/endpoints{query}"), token).await;
            assert_eq!(status, StatusCode::OK, "{who} list {query}");
            assert_no_trace(&body, &secrets, who);
        }
        let (status, body) = app
            .put(
                &item,
                token,
                json!({"client": t.client_a, "type": "User", "name": "x"}),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{who} PUT");
        assert_no_trace(&body, &secrets, who);
        let (status, body) = app.patch(&item, token, json!({"name": "x"})).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{who} PATCH");
        assert_no_trace(&body, &secrets, who);
        assert_eq!(
            app.delete(&item, token).await,
            StatusCode::NOT_FOUND,
            "{who} DELETE"
        );
    }

    // No endpoint of A's operator under B's client, on create or on update.
    let (status, body) = app
        .post(
            "/endpoints",
            &t.operator_a,
            json!({"client": t.client_b, "type": "User", "name": "intruder"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["fields"]["client"].is_string(), "{body}");
    let (status, _) = app
        .patch(
            &format!("/endpoints/{a_id}"),
            &t.operator_a,
            json!({"client": t.client_b}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let (_, after) = app.get(&item, &t.operator_b).await;
    assert_eq!(after, b_endpoint);
    let (_, b_list) = app.get("/endpoints", &t.operator_b).await;
    assert_eq!(b_list, json!([b_endpoint]), "nothing was added under B");
    let (_, a_after) = app.get(&format!("/endpoints/{a_id}"), &t.operator_a).await;
    assert_eq!(a_after, a_endpoint);
}
