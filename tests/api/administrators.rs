//! `/administrators` and `/clients`: roles, tenant scoping, validation.

use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::common::{id, Tenants, TestApp};

backend_tests!(
    administrator_roles_and_scoping,
    administrator_validation,
    client_crud_and_scoping
);

async fn administrator_roles_and_scoping(app: TestApp) {
    let t = Tenants::create(&app).await;

    // A brand operator creates operators and client administrators of its own brand only.
    let created = app
        .create(
            "/administrators",
            &t.operator_a,
            json!({"username": "op-a2", "password": "password-2", "role": "brand"}),
        )
        .await;
    assert_eq!(created["brand"], t.brand_a.as_str());
    assert!(
        created.get("password").is_none() && created.get("passwordHash").is_none(),
        "never returned"
    );
    let (status, _) = app
        .post("/administrators", &t.operator_a, json!({"username": "x1", "password": "password-2", "role": "client", "client": t.client_b}))
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "no cross-tenant link"
    );
    let (status, _) = app
        .post("/administrators", &t.operator_a, json!({"username": "x2", "password": "password-2", "role": "brand", "brand": t.brand_b}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app
        .post(
            "/administrators",
            &t.operator_a,
            json!({"username": "x3", "password": "password-2", "role": "platform"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .post("/administrators", &t.client_admin_a, json!({"username": "x4", "password": "password-2", "role": "client", "client": t.client_a}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Lists are scoped: operator A sees brand A's administrators (operators and client admins).
    let (_, list) = app
        .get("/administrators?_order[username]=asc", &t.operator_a)
        .await;
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ca-a", "op-a", "op-a2"]);
    let (_, list) = app
        .get(
            &format!("/administrators?brand={}", t.brand_b),
            &t.operator_a,
        )
        .await;
    assert_eq!(list.as_array().unwrap().len(), 0);
    let (_, list) = app.get("/administrators", &t.client_admin_a).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["username"], "ca-a");
    let (_, all) = app.get("/administrators", &app.root).await;
    assert_eq!(all.as_array().unwrap().len(), 6);

    // Other tenants' administrators are invisible.
    let (_, b_admins) = app.get("/administrators?username=op-b", &app.root).await;
    let op_b = id(&b_admins[0]);
    for token in [&t.operator_a, &t.client_admin_a] {
        assert_eq!(
            app.get(&format!("/administrators/{op_b}"), token).await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            app.patch(
                &format!("/administrators/{op_b}"),
                token,
                json!({"active": false})
            )
            .await
            .0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            app.delete(&format!("/administrators/{op_b}"), token).await,
            StatusCode::NOT_FOUND
        );
    }

    // A client administrator may change its own password and timezone, nothing else.
    let (_, me) = app.get("/administrators", &t.client_admin_a).await;
    let me = id(&me[0]);
    let (status, _) = app
        .patch(
            &format!("/administrators/{me}"),
            &t.client_admin_a,
            json!({"password": "new-password", "timezone": "Europe/London"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // The password change revoked the old token (issue 13): log in again.
    let client_admin_a = app.login("ca-a", "new-password").await;
    let (status, _) = app
        .patch(
            &format!("/administrators/{me}"),
            &client_admin_a,
            json!({"role": "brand"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Nobody deletes or deactivates themselves.
    let (_, root_list) = app.get("/administrators?username=root", &app.root).await;
    let root = id(&root_list[0]);
    assert_eq!(
        app.delete(&format!("/administrators/{root}"), &app.root)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let (status, _) = app
        .patch(
            &format!("/administrators/{root}"),
            &app.root,
            json!({"active": false}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn administrator_validation(app: TestApp) {
    let brand = app.brand("A").await;
    let (status, body) = app
        .post("/administrators", &app.root, json!({"username": "has space", "password": "short", "role": "king", "timezone": "Nowhere"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    for field in ["username", "password", "role", "timezone"] {
        assert!(body["fields"][field].is_string(), "{field}: {body}");
    }
    let (status, body) = app
        .post(
            "/administrators",
            &app.root,
            json!({"username": "b", "password": "password-1", "role": "brand"}),
        )
        .await;
    assert_eq!(
        (status, body["fields"]["brand"].is_string()),
        (StatusCode::UNPROCESSABLE_ENTITY, true)
    );
    let (status, _) = app
        .post(
            "/administrators",
            &app.root,
            json!({"username": "c", "password": "password-1", "role": "client"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app
        .post(
            "/administrators",
            &app.root,
            json!({"username": "d", "password": "password-1", "role": "brand", "brand": "nope"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    app.brand_operator(&brand, "taken").await;
    let (status, _) = app
        .post(
            "/administrators",
            &app.root,
            json!({"username": "taken", "password": "password-1", "role": "brand", "brand": brand}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

async fn client_crud_and_scoping(app: TestApp) {
    let t = Tenants::create(&app).await;
    let created = app
        .create(
            "/clients",
            &t.operator_a,
            json!({"name": "Shop", "type": "retail", "showBillingDetails": false}),
        )
        .await;
    let shop = id(&created);
    assert_eq!(created["brand"], t.brand_a.as_str());
    assert_eq!(
        created["timezone"], "Europe/Madrid",
        "defaults to the brand's timezone"
    );
    assert_eq!(created["showBillingDetails"], false);

    let (status, _) = app
        .post(
            "/clients",
            &t.operator_a,
            json!({"name": "Shop", "type": "retail"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "unique name in brand");
    app.create(
        "/clients",
        &t.operator_b,
        json!({"name": "Shop", "type": "retail"}),
    )
    .await;
    let (status, body) = app
        .post(
            "/clients",
            &t.operator_a,
            json!({"name": "X", "type": "enterprise", "timezone": "Bad/Zone"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["fields"]["type"].is_string() && body["fields"]["timezone"].is_string());
    let (status, _) = app
        .post(
            "/clients",
            &t.operator_a,
            json!({"name": "X", "type": "vpbx", "brand": t.brand_b}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "never a cross-tenant write"
    );
    let (status, _) = app
        .post("/clients", &app.root, json!({"name": "X", "type": "vpbx"}))
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "platform must name the brand"
    );

    let (status, patched) = app
        .patch(
            &format!("/clients/{shop}"),
            &t.operator_a,
            json!({"name": "Shop 2"}),
        )
        .await;
    assert_eq!(
        (status, patched["name"].as_str()),
        (StatusCode::OK, Some("Shop 2"))
    );
    let (status, _) = app
        .patch(
            &format!("/clients/{shop}"),
            &t.operator_a,
            json!({"brand": t.brand_b}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let (_, list) = app.get("/clients?type=retail", &t.operator_a).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (_, list) = app.get("/clients", &t.client_admin_a).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], t.client_a.as_str());

    // Tenant B's client is invisible to A's operator and A's client admin.
    for token in [&t.operator_a, &t.client_admin_a] {
        assert_eq!(
            app.get(&format!("/clients/{}", t.client_b), token).await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            app.put(
                &format!("/clients/{}", t.client_b),
                token,
                json!({"name": "x", "type": "vpbx"})
            )
            .await
            .0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            app.delete(&format!("/clients/{}", t.client_b), token).await,
            StatusCode::NOT_FOUND
        );
        let (_, list) = app
            .get(&format!("/clients?brand={}", t.brand_b), token)
            .await;
        assert_eq!(list.as_array().unwrap().len(), 0);
    }
    assert_eq!(
        app.patch(
            &format!("/clients/{}", t.client_a),
            &t.client_admin_a,
            json!({"name": "x"})
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );

    // A client with an administrator is not deleted by surprise; force is platform only.
    assert_eq!(
        app.delete(&format!("/clients/{}", t.client_a), &t.operator_a)
            .await,
        StatusCode::CONFLICT
    );
    assert_eq!(
        app.delete(
            &format!("/clients/{}?force=true", t.client_a),
            &t.operator_a
        )
        .await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.delete(&format!("/clients/{}?force=true", t.client_a), &app.root)
            .await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.delete(&format!("/clients/{shop}"), &t.operator_a).await,
        StatusCode::NO_CONTENT
    );
}
