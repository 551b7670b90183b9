//! `/carriers`: CRUD, validation, unique names, lists, merge patch, roles and tenancy.
//! [`tenancy_matrix`] is shared with the `/ddi_providers` tests: both are brand business
//! that client administrators never see.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::backend_tests;
use crate::common::{id, Tenants, TestApp};

backend_tests!(
    carrier_crud_and_merge_patch,
    carrier_validation_and_unique_names,
    carrier_lists_filters_and_pagination,
    carrier_roles_and_tenancy
);

async fn carrier_crud_and_merge_patch(app: TestApp) {
    let brand = app.brand("A").await;
    let operator = app.brand_operator(&brand, "op").await;

    let (status, headers, created) = app
        .call_full(
            Method::POST,
            "/carriers",
            Some(&operator),
            Some(json!({"name": " Transit ", "description": "main route"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let carrier = id(&created);
    assert_eq!(
        headers["location"].to_str().unwrap(),
        format!("/carriers/{carrier}")
    );
    assert_eq!(created["brand"], brand.as_str(), "brand from the token");
    assert_eq!(created["name"], "Transit", "name trimmed");
    assert_eq!(created["description"], "main route");
    assert!(created["createdAt"].as_str().unwrap().ends_with('Z'));
    assert!(created["updatedAt"].as_str().unwrap().ends_with('Z'));
    let path = format!("/carriers/{carrier}");
    assert_eq!(
        app.get(&path, &operator).await,
        (StatusCode::OK, created.clone())
    );

    // Description is optional and defaults to "".
    let other = app
        .create("/carriers", &operator, json!({"name": "Backup"}))
        .await;
    assert_eq!(other["description"], "");

    // PUT replaces everything: an omitted description is reset. Server fields sent back
    // (as clients often do) are ignored.
    let mut body = created.clone();
    body["name"] = json!("Transit 2");
    body.as_object_mut().unwrap().remove("description");
    body["id"] = json!("ignored");
    let (status, replaced) = app.put(&path, &operator, body).await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!(
        (&replaced["id"], &replaced["name"], &replaced["description"]),
        (&json!(carrier), &json!("Transit 2"), &json!(""))
    );
    assert_eq!(replaced["createdAt"], created["createdAt"]);

    // PATCH merges: untouched fields stay, null removes (back to the default).
    let (status, patched) = app
        .patch(&path, &operator, json!({"description": "via Madrid"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (&patched["name"], &patched["description"]),
        (&json!("Transit 2"), &json!("via Madrid"))
    );
    let (_, patched) = app
        .patch(&path, &operator, json!({"description": null}))
        .await;
    assert_eq!(patched["description"], "");
    let (status, _) = app.patch(&path, &operator, json!([1])).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app.patch(&path, &operator, json!({"name": null})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "name is required");

    // Merge-patch content type is accepted.
    let res = app
        .http
        .patch(app.url(&path))
        .bearer_auth(&operator)
        .header("content-type", "application/merge-patch+json")
        .body(r#"{"description":"typed"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // The brand of a carrier never changes; naming its own brand is fine.
    let other_brand = app.brand("B").await;
    for (method, body) in [
        (Method::PATCH, json!({"brand": other_brand})),
        (Method::PUT, json!({"brand": other_brand, "name": "X"})),
    ] {
        let (status, body) = app.call(method, &path, Some(&app.root), Some(body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body["fields"]["brand"].is_string(), "{body}");
    }
    let (status, _) = app.patch(&path, &app.root, json!({"brand": brand})).await;
    assert_eq!(status, StatusCode::OK);

    // Odd requests are 4xx, never 500.
    assert_eq!(
        app.get("/carriers/not-a-uuid", &operator).await.0,
        StatusCode::BAD_REQUEST
    );
    let (status, _) = app
        .call(Method::POST, &path, Some(&operator), Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);

    assert_eq!(app.delete(&path, &operator).await, StatusCode::NO_CONTENT);
    assert_eq!(app.get(&path, &operator).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.delete(&path, &operator).await, StatusCode::NOT_FOUND);
    let (status, _) = app
        .patch(&path, &operator, json!({"description": "x"}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn carrier_validation_and_unique_names(app: TestApp) {
    let brand_a = app.brand("A").await;
    let brand_b = app.brand("B").await;

    // Every bad field is reported at once.
    let (status, body) = app
        .post(
            "/carriers",
            &app.root,
            json!({"brand": brand_a, "name": "  ", "description": "x".repeat(1001)}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["code"], "validation_failed");
    for field in ["name", "description"] {
        assert!(body["fields"][field].is_string(), "{field}: {body}");
    }
    let (status, body) = app
        .post(
            "/carriers",
            &app.root,
            json!({"brand": brand_a, "name": "a\u{7}b"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["fields"]["name"].is_string(), "{body}");

    for bad in [
        json!({"brand": brand_a}),
        json!({"brand": brand_a, "name": "X", "colour": "red"}),
        json!({"brand": brand_a, "name": 5}),
        json!("just a string"),
    ] {
        let (status, body) = app.post("/carriers", &app.root, bad.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
    }

    // Platform administrators must name an existing brand.
    for (body, why) in [
        (json!({"name": "X"}), "no brand"),
        (json!({"name": "X", "brand": "nope"}), "not a UUID"),
        (
            json!({"name": "X", "brand": uuid::Uuid::now_v7().to_string()}),
            "no such brand",
        ),
    ] {
        let (status, body) = app.post("/carriers", &app.root, body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{why}");
        assert!(body["fields"]["brand"].is_string(), "{why}: {body}");
    }

    // Malformed JSON is a 400.
    let res = app
        .http
        .post(app.url("/carriers"))
        .bearer_auth(&app.root)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    // Names are unique within a brand, not across brands.
    app.create(
        "/carriers",
        &app.root,
        json!({"brand": brand_a, "name": "Transit"}),
    )
    .await;
    let (status, body) = app
        .post(
            "/carriers",
            &app.root,
            json!({"brand": brand_a, "name": "Transit"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "conflict");
    app.create(
        "/carriers",
        &app.root,
        json!({"brand": brand_b, "name": "Transit"}),
    )
    .await;
    let second = app
        .create(
            "/carriers",
            &app.root,
            json!({"brand": brand_a, "name": "Backup"}),
        )
        .await;
    let path = format!("/carriers/{}", id(&second));
    let (status, _) = app
        .patch(&path, &app.root, json!({"name": "Transit"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "rename onto a taken name");
    let (status, _) = app
        .put(
            &path,
            &app.root,
            json!({"name": "Transit", "brand": brand_a}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(app.get(&path, &app.root).await.1["name"], "Backup");
}

async fn carrier_lists_filters_and_pagination(app: TestApp) {
    let brand_a = app.brand("A").await;
    let brand_b = app.brand("B").await;
    for name in ["Charlie", "Alpha", "Bravo"] {
        app.create(
            "/carriers",
            &app.root,
            json!({"brand": brand_a, "name": name}),
        )
        .await;
    }
    app.create(
        "/carriers",
        &app.root,
        json!({"brand": brand_b, "name": "Delta"}),
    )
    .await;
    let operator = app.brand_operator(&brand_a, "op").await;

    let names = |list: &Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, all) = app.get("/carriers?_order[name]=asc", &app.root).await;
    assert_eq!(names(&all), ["Alpha", "Bravo", "Charlie", "Delta"]);
    let (_, of_a) = app
        .get(
            &format!("/carriers?brand={brand_a}&_order[name]=desc"),
            &app.root,
        )
        .await;
    assert_eq!(names(&of_a), ["Charlie", "Bravo", "Alpha"]);
    let (_, mine) = app.get("/carriers?_order[name]=asc", &operator).await;
    assert_eq!(
        names(&mine),
        ["Alpha", "Bravo", "Charlie"],
        "operator: own brand"
    );
    let (_, by_name) = app.get("/carriers?name=Bravo", &operator).await;
    assert_eq!(names(&by_name), ["Bravo"]);
    let (_, by_time) = app.get("/carriers?_order[createdAt]=asc", &operator).await;
    assert_eq!(names(&by_time), ["Charlie", "Alpha", "Bravo"]);

    // Pages: X-Total-Count counts all matches; Link points to the neighbours.
    let (status, headers, first) = app
        .call_full(
            Method::GET,
            "/carriers?_order[name]=asc&itemsPerPage=2",
            Some(&operator),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(names(&first), ["Alpha", "Bravo"]);
    assert_eq!(headers["x-total-count"], "3");
    let link = headers["link"].to_str().unwrap();
    assert!(
        link.contains("page=2") && link.contains("rel=\"next\""),
        "{link}"
    );
    let (_, headers, second) = app
        .call_full(
            Method::GET,
            "/carriers?_order[name]=asc&itemsPerPage=2&page=2",
            Some(&operator),
            None,
        )
        .await;
    assert_eq!(names(&second), ["Charlie"]);
    let link = headers["link"].to_str().unwrap();
    assert!(
        link.contains("rel=\"prev\"") && !link.contains("next"),
        "{link}"
    );

    for bad in [
        "/carriers?colour=red",
        "/carriers?brand=nope",
        "/carriers?_order[description]=asc",
        "/carriers?itemsPerPage=1001",
        "/carriers?page=0",
    ] {
        assert_eq!(
            app.get(bad, &operator).await.0,
            StatusCode::BAD_REQUEST,
            "{bad}"
        );
    }
}

async fn carrier_roles_and_tenancy(app: TestApp) {
    let t = Tenants::create(&app).await;
    let theirs = app
        .create(
            "/carriers",
            &t.operator_b,
            json!({"name": "B route", "description": "B's"}),
        )
        .await;
    let ours = app
        .create("/carriers", &t.operator_a, json!({"name": "A route"}))
        .await;
    tenancy_matrix(
        &app,
        &t,
        "/carriers",
        &theirs,
        &ours,
        json!({"name": "stolen", "description": "x"}),
    )
    .await;
}

/// Brand business seen from the wrong side: tenant A's operator and client administrator
/// try everything on tenant B's object `theirs` (A owns `ours`). Nothing of B may show in
/// any answer, and B's object must be untouched afterwards.
pub async fn tenancy_matrix(
    app: &TestApp,
    t: &Tenants,
    collection: &str,
    theirs: &Value,
    ours: &Value,
    write_body: Value,
) {
    let their_path = format!("{collection}/{}", id(theirs));
    let our_path = format!("{collection}/{}", id(ours));
    let their_id = id(theirs);
    let leaks_nothing = |what: &str, body: &Value| {
        let text = body.to_string();
        assert!(
            !text.contains(&their_id) && !text.contains(&t.brand_b),
            "{what}: B shows in {text}"
        );
    };

    // Operator A: B's object does not exist.
    let op = &t.operator_a;
    let (status, body) = app.get(&their_path, op).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "operator GET");
    leaks_nothing("operator GET", &body);
    for method in [Method::PUT, Method::PATCH] {
        let (status, body) = app
            .call(
                method.clone(),
                &their_path,
                Some(op),
                Some(write_body.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "operator {method}");
        leaks_nothing("operator write", &body);
    }
    assert_eq!(app.delete(&their_path, op).await, StatusCode::NOT_FOUND);
    for list in [
        collection.to_string(),
        format!("{collection}?brand={}", t.brand_b),
        format!("{collection}?name={}", theirs["name"].as_str().unwrap()),
    ] {
        let (status, body) = app.get(&list, op).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        leaks_nothing(&list, &body);
    }
    let (_, mine) = app.get(collection, op).await;
    assert_eq!(mine.as_array().unwrap().len(), 1, "operator sees its own");
    // Creating in B's name is refused, and nothing is created.
    let mut cross = write_body.clone();
    cross["brand"] = json!(t.brand_b);
    let (status, body) = app.post(collection, op, cross).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["fields"]["brand"].is_string(), "{body}");

    // Client administrators see no brand business at all, not even their own brand's.
    for ca in [&t.client_admin_a, &t.client_admin_b] {
        let (status, body) = app.get(collection, ca).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "client list");
        leaks_nothing("client list", &body);
        let (status, _) = app
            .get(&format!("{collection}?brand={}", t.brand_b), ca)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "client list ?brand");
        let (status, _) = app.post(collection, ca, write_body.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "client POST");
        for path in [&their_path, &our_path] {
            let (status, body) = app.get(path, ca).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "client GET {path}");
            leaks_nothing("client GET", &body);
            for method in [Method::PUT, Method::PATCH] {
                let (status, _) = app
                    .call(method.clone(), path, Some(ca), Some(write_body.clone()))
                    .await;
                assert_eq!(status, StatusCode::NOT_FOUND, "client {method} {path}");
            }
            assert_eq!(app.delete(path, ca).await, StatusCode::NOT_FOUND);
        }
    }

    // B's object is exactly as it was; only A's is in A's brand.
    assert_eq!(
        app.get(&their_path, &app.root).await,
        (StatusCode::OK, theirs.clone())
    );
    assert_eq!(
        app.get(&their_path, &t.operator_b).await,
        (StatusCode::OK, theirs.clone())
    );
    let (_, all) = app.get(collection, &app.root).await;
    assert_eq!(
        all.as_array().unwrap().len(),
        2,
        "nothing was created: {all}"
    );
    assert_eq!(
        app.get(&our_path, &app.root).await,
        (StatusCode::OK, ours.clone())
    );
}
