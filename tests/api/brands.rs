//! `/brands`, and the request-level error handling every resource shares.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::backend_tests;
use crate::common::{id, TestApp};

backend_tests!(
    brand_crud_and_pagination,
    brand_validation_and_malformed_input,
    brand_roles_and_delete_with_data
);

async fn brand_crud_and_pagination(app: TestApp) {
    let (status, headers, created) = app
        .call_full(
            Method::POST,
            "/brands",
            Some(&app.root),
            Some(json!({"name": "Acme", "timezone": "Europe/Madrid", "email": "billing@acme.example"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let acme = id(&created);
    assert_eq!(headers["location"], format!("/brands/{acme}").as_str());
    assert_eq!(created["currency"], "EUR");
    assert_eq!(created["language"], "en");
    assert!(created["createdAt"].as_str().unwrap().ends_with('Z'));

    let (status, got) = app.get(&format!("/brands/{acme}"), &app.root).await;
    assert_eq!((status, &got), (StatusCode::OK, &created));

    let (status, replaced) = app
        .put(
            &format!("/brands/{acme}"),
            &app.root,
            json!({"name": "Acme Telecom", "timezone": "UTC", "currency": "USD"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (replaced["name"].as_str(), replaced["currency"].as_str()),
        (Some("Acme Telecom"), Some("USD"))
    );
    assert!(replaced["email"].is_null(), "PUT replaces the whole object");

    let (status, patched) = app
        .call(
            Method::PATCH,
            &format!("/brands/{acme}"),
            Some(&app.root),
            Some(json!({"language": "es"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (patched["language"].as_str(), patched["name"].as_str()),
        (Some("es"), Some("Acme Telecom"))
    );
    // merge-patch+json content type is accepted too.
    let res = app
        .http
        .patch(app.url(&format!("/brands/{acme}")))
        .bearer_auth(&app.root)
        .header("content-type", "application/merge-patch+json")
        .body(r#"{"timezone":"America/New_York"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    for n in 0..4 {
        app.brand(&format!("Brand {n}")).await;
    }
    let (status, headers, page) = app
        .call_full(
            Method::GET,
            "/brands?itemsPerPage=2&page=2&_order[name]=asc",
            Some(&app.root),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-total-count"], "5");
    let names: Vec<&str> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["Brand 1", "Brand 2"],
        "Acme Telecom, Brand 0 | Brand 1, Brand 2 | Brand 3"
    );
    let link = headers["link"].to_str().unwrap();
    assert!(
        link.contains("page=3>; rel=\"next\"") && link.contains("page=1>; rel=\"prev\""),
        "{link}"
    );
    let (_, filtered) = app.get("/brands?name=Brand%201", &app.root).await;
    assert_eq!(filtered.as_array().unwrap().len(), 1);

    assert_eq!(
        app.delete(&format!("/brands/{acme}"), &app.root).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&format!("/brands/{acme}"), &app.root).await.0,
        StatusCode::NOT_FOUND
    );
}

async fn brand_validation_and_malformed_input(app: TestApp) {
    let (status, body) = app
        .post(
            "/brands",
            &app.root,
            json!({"name": "", "timezone": "Mars/Olympus", "currency": "euro", "email": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["code"], "validation_failed");
    for field in ["name", "timezone", "currency", "email"] {
        assert!(
            body["fields"][field].is_string(),
            "{field} reported: {body}"
        );
    }
    app.brand("Taken").await;
    let (status, body) = app
        .post("/brands", &app.root, json!({"name": "Taken"}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict"))
    );

    // Wrong types, unknown fields, not an object.
    assert_eq!(
        app.post("/brands", &app.root, json!({"name": 5})).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        app.post("/brands", &app.root, json!({"name": "X", "colour": "red"}))
            .await
            .0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        app.post("/brands", &app.root, json!(["X"])).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    let send = |body: &'static str, content_type: &'static str| {
        app.http
            .post(app.url("/brands"))
            .bearer_auth(&app.root)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let res = send("{\"name\": ", "application/json").await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap()["code"],
        "invalid_json"
    );
    assert_eq!(
        send("name=X", "application/x-www-form-urlencoded")
            .await
            .unwrap()
            .status(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );

    // Bad ids and query parameters.
    let (status, body) = app.get("/brands/not-a-uuid", &app.root).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_id"))
    );
    for query in [
        "page=0",
        "itemsPerPage=1001",
        "itemsPerPage=x",
        "colour=red",
        "_order[colour]=asc",
        "_order[name]=up",
        "page=1&page=2",
    ] {
        let (status, body) = app.get(&format!("/brands?{query}"), &app.root).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_query")),
            "{query}"
        );
    }
    assert_eq!(
        app.call(Method::DELETE, "/brands", Some(&app.root), None)
            .await
            .0,
        StatusCode::METHOD_NOT_ALLOWED
    );
    let res = app
        .http
        .post(app.url("/brands"))
        .bearer_auth(&app.root)
        .header("content-type", "application/json")
        .body(vec![b' '; 70 * 1024 * 1024])
        .send()
        .await;
    if let Ok(res) = res {
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
}

async fn brand_roles_and_delete_with_data(app: TestApp) {
    let a = app.brand("A").await;
    let b = app.brand("B").await;
    let operator = app.brand_operator(&a, "op-a").await;
    let client = app.client(&app.root, &a, "Client A", "vpbx").await;
    let client_admin = app.client_admin(&client, "ca-a").await;

    // Brand operators and client administrators read their own brand only.
    for token in [&operator, &client_admin] {
        let (_, list) = app.get("/brands", token).await;
        let ids: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, [a.as_str()]);
        assert_eq!(
            app.get(&format!("/brands/{a}"), token).await.0,
            StatusCode::OK
        );
        assert_eq!(
            app.get(&format!("/brands/{b}"), token).await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            app.patch(&format!("/brands/{b}"), token, json!({"name": "x"}))
                .await
                .0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            app.delete(&format!("/brands/{b}"), token).await,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            app.patch(&format!("/brands/{a}"), token, json!({"name": "x"}))
                .await
                .0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            app.post("/brands", token, json!({"name": "Mine"})).await.0,
            StatusCode::FORBIDDEN
        );
    }

    // A brand with data behind it is not deleted by surprise.
    let (status, body) = app
        .call(
            Method::DELETE,
            &format!("/brands/{a}"),
            Some(&app.root),
            None,
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict"))
    );
    assert_eq!(
        app.get(&format!("/clients/{client}"), &app.root).await.0,
        StatusCode::OK
    );
    assert_eq!(
        app.delete(&format!("/brands/{a}?force=true"), &app.root)
            .await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&format!("/clients/{client}"), &app.root).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/brands", &operator).await.0,
        StatusCode::UNAUTHORIZED,
        "its operators went with it"
    );
    assert_eq!(
        app.delete(&format!("/brands/{b}"), &app.root).await,
        StatusCode::NO_CONTENT
    );
}
