//! Login, refresh, token checks, and operational endpoints.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::backend_tests;
use crate::common::{TestApp, ROOT_PASSWORD, ROOT_USER};

backend_tests!(
    login_refresh_and_bad_tokens,
    deactivated_admin_loses_access_at_once,
    health_and_readiness
);

async fn login_refresh_and_bad_tokens(app: TestApp) {
    let (status, body) = app
        .call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"username": ROOT_USER, "password": ROOT_PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["role"], "platform");
    assert!(body["expiresAt"].as_str().unwrap().ends_with('Z'));

    let (status, body) = app
        .call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"username": ROOT_USER, "password": "wrong"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "invalid_credentials");
    let (status, _) = app
        .call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"username": "nobody", "password": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, refreshed) = app
        .call(Method::POST, "/auth/refresh", Some(&app.root), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .get("/brands", refreshed["token"].as_str().unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);

    // No token, a malformed one, a forged one, a non-bearer scheme.
    assert_eq!(
        app.call(Method::GET, "/brands", None, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get("/brands", "not-a-jwt").await.0,
        StatusCode::UNAUTHORIZED
    );
    let forged = format!("{}x", app.root);
    assert_eq!(
        app.get("/brands", &forged).await.0,
        StatusCode::UNAUTHORIZED
    );
    let res = app
        .http
        .get(app.url("/brands"))
        .basic_auth("root", Some("pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.call(Method::POST, "/auth/refresh", None, None).await.0,
        StatusCode::UNAUTHORIZED
    );
}

async fn deactivated_admin_loses_access_at_once(app: TestApp) {
    let brand = app.brand("Acme").await;
    let operator = app.brand_operator(&brand, "ops").await;
    let (_, list) = app.get("/administrators?username=ops", &app.root).await;
    let ops_id = list[0]["id"].as_str().unwrap().to_string();
    assert_eq!(app.get("/brands", &operator).await.0, StatusCode::OK);

    let (status, _) = app
        .patch(
            &format!("/administrators/{ops_id}"),
            &app.root,
            json!({"active": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // The token has not expired, but the administrator is disabled: refused immediately.
    assert_eq!(
        app.get("/brands", &operator).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.call(Method::POST, "/auth/refresh", Some(&operator), None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    let (status, _) = app
        .call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"username": "ops", "password": "operator-pw"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Deleted administrators too.
    app.patch(
        &format!("/administrators/{ops_id}"),
        &app.root,
        json!({"active": true}),
    )
    .await;
    let operator = app.login("ops", "operator-pw").await;
    assert_eq!(
        app.delete(&format!("/administrators/{ops_id}"), &app.root)
            .await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get("/brands", &operator).await.0,
        StatusCode::UNAUTHORIZED
    );
}

async fn health_and_readiness(app: TestApp) {
    let (status, body) = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let (status, _) = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let res = app.http.get(app.url("/openapi.yaml")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().starts_with("openapi: 3"));
    // HEAD is served wherever GET is: the same status and headers, no body.
    let res = app
        .http
        .head(app.url("/openapi.yaml"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let length: usize = res.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(length > 1000, "{length}");
    assert!(res.bytes().await.unwrap().is_empty());
    let res = app.http.head(app.url("/brands")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let (status, body) = app.call(Method::GET, "/no/such/path", None, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
}
