//! `/rating_profiles`: CRUD, the exactly-one-of-client-or-carrier rule, times, lists; and
//! the tenancy matrix of plans, rates and profiles together (brand business that client
//! administrators never see, other tenants' objects never reachable or linkable).

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::backend_tests;
use crate::common::{id, Tenants, TestApp};
use crate::rating_plans::{post_csv, rates, send};

backend_tests!(rating_profile_crud_and_validation, rating_tenancy_matrix);

async fn rating_profile_crud_and_validation(app: TestApp) {
    let brand = app.brand("A").await;
    let op = app.brand_operator(&brand, "op").await;
    let client = app.client(&op, &brand, "C", "vpbx").await;
    let carrier = id(&app.create("/carriers", &op, json!({"name": "K"})).await);
    let plan = id(&app.create("/rating_plans", &op, json!({"name": "P"})).await);
    let plan2 = id(&app
        .create("/rating_plans", &op, json!({"name": "P2"}))
        .await);

    // An offset on input; UTC with Z on output.
    let (status, headers, created) = app
        .call_full(
            Method::POST,
            "/rating_profiles",
            Some(&op),
            Some(json!({"client": client, "ratingPlan": plan, "activationTime": "2026-03-01T01:30:00+01:00"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let profile = id(&created);
    let path = format!("/rating_profiles/{profile}");
    assert_eq!(headers["location"].to_str().unwrap(), path);
    assert_eq!(
        (
            &created["brand"],
            &created["client"],
            &created["carrier"],
            &created["ratingPlan"],
            &created["activationTime"]
        ),
        (
            &json!(brand),
            &json!(client),
            &Value::Null,
            &json!(plan),
            &json!("2026-03-01T00:30:00Z")
        )
    );
    assert_eq!(app.get(&path, &op).await, (StatusCode::OK, created.clone()));

    // Exactly one of client and carrier; a required plan; a time with an offset.
    let cases = [
        (
            json!({"ratingPlan": plan, "activationTime": "2026-01-01T00:00:00Z"}),
            "client",
        ),
        (
            json!({"client": client, "carrier": carrier, "ratingPlan": plan, "activationTime": "2026-01-01T00:00:00Z"}),
            "carrier",
        ),
        (
            json!({"client": client, "activationTime": "2026-01-01T00:00:00Z"}),
            "ratingPlan",
        ),
        (
            json!({"client": client, "ratingPlan": plan}),
            "activationTime",
        ),
        (
            json!({"client": client, "ratingPlan": plan, "activationTime": "2026-01-01T00:00:00"}),
            "activationTime",
        ),
        (
            json!({"client": client, "ratingPlan": plan, "activationTime": "tomorrow"}),
            "activationTime",
        ),
        (
            json!({"client": "nope", "ratingPlan": plan, "activationTime": "2026-01-01T00:00:00Z"}),
            "client",
        ),
        (
            json!({"carrier": client, "ratingPlan": plan, "activationTime": "2026-01-01T00:00:00Z"}),
            "carrier",
        ),
        (
            json!({"client": client, "ratingPlan": carrier, "activationTime": "2026-01-01T00:00:00Z"}),
            "ratingPlan",
        ),
    ];
    for (body, field) in cases {
        let (status, error) = app.post("/rating_profiles", &op, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {error}");
        assert!(error["fields"][field].is_string(), "{field}: {error}");
    }
    let (status, _) = app
        .post("/rating_profiles", &op, json!({"client": client, "ratingPlan": plan, "activationTime": "2026-01-01T00:00:00Z", "extra": 1}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // A second profile of the same client at the same instant would leave the plan in
    // force ambiguous.
    let (status, _) = app
        .post("/rating_profiles", &op, json!({"client": client, "ratingPlan": plan2, "activationTime": "2026-03-01T00:30:00Z"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    let later = app
        .create(
            "/rating_profiles",
            &op,
            json!({"client": client, "ratingPlan": plan2, "activationTime": "2026-06-01T00:00:00Z"}),
        )
        .await;
    let for_carrier = app
        .create(
            "/rating_profiles",
            &app.root,
            json!({"brand": brand, "carrier": carrier, "ratingPlan": plan, "activationTime": "2026-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(for_carrier["client"], Value::Null);

    // Lists: filters and order.
    let ids = |list: &Value| -> Vec<String> { list.as_array().unwrap().iter().map(id).collect() };
    let (_, list) = app
        .get("/rating_profiles?_order[activationTime]=desc", &op)
        .await;
    assert_eq!(ids(&list), [id(&later), profile.clone(), id(&for_carrier)]);
    let (_, list) = app
        .get(
            &format!("/rating_profiles?client={client}&_order[activationTime]=asc"),
            &op,
        )
        .await;
    assert_eq!(ids(&list), [profile.clone(), id(&later)]);
    let (_, list) = app
        .get(&format!("/rating_profiles?carrier={carrier}"), &op)
        .await;
    assert_eq!(ids(&list), [id(&for_carrier)]);
    let (_, list) = app
        .get(&format!("/rating_profiles?ratingPlan={plan2}"), &op)
        .await;
    assert_eq!(ids(&list), [id(&later)]);
    let (status, _) = app.get("/rating_profiles?client=x", &op).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // PATCH is a merge patch: moving to a carrier means removing the client.
    let (status, error) = app.patch(&path, &op, json!({"carrier": carrier})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    let (status, patched) = app
        .patch(
            &path,
            &op,
            json!({"client": null, "carrier": carrier, "activationTime": "2026-02-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(
        (
            &patched["client"],
            &patched["carrier"],
            &patched["activationTime"]
        ),
        (
            &Value::Null,
            &json!(carrier),
            &json!("2026-02-01T00:00:00Z")
        )
    );
    // PUT replaces, accepting the server fields a GET returned.
    let mut body = patched.clone();
    body["ratingPlan"] = json!(plan2);
    let (status, replaced) = app.put(&path, &op, body).await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!(replaced["ratingPlan"], plan2.as_str());
    assert_eq!(replaced["createdAt"], created["createdAt"]);
    let (status, _) = app
        .put(&path, &op, json!({"carrier": carrier, "ratingPlan": plan2}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    assert_eq!(app.delete(&path, &op).await, StatusCode::NO_CONTENT);
    assert_eq!(app.get(&path, &op).await.0, StatusCode::NOT_FOUND);
}

/// Operator A and client administrator A against brand B's plan, rates and profile.
async fn rating_tenancy_matrix(app: TestApp) {
    let t = Tenants::create(&app).await;
    let carrier_b = id(&app
        .create("/carriers", &t.operator_b, json!({"name": "K"}))
        .await);
    let plan_b = id(&app
        .create("/rating_plans", &t.operator_b, json!({"name": "B plan"}))
        .await);
    let (status, _) = post_csv(
        &app,
        &plan_b,
        &t.operator_b,
        "prefix,destinationName,rate\n44,UK,0.01\n",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let profile_b = id(&app
        .create(
            "/rating_profiles",
            &t.operator_b,
            json!({"client": t.client_b, "ratingPlan": plan_b, "activationTime": "2026-01-01T00:00:00Z"}),
        )
        .await);
    let plan_a = id(&app
        .create("/rating_plans", &t.operator_a, json!({"name": "A plan"}))
        .await);
    let carrier_a = id(&app
        .create("/carriers", &t.operator_a, json!({"name": "K"}))
        .await);
    let profile_a = id(&app
        .create(
            "/rating_profiles",
            &t.operator_a,
            json!({"client": t.client_a, "ratingPlan": plan_a, "activationTime": "2026-01-01T00:00:00Z"}),
        )
        .await);

    let before = snapshot(&app, &plan_b, &profile_b).await;

    let plan_path = format!("/rating_plans/{plan_b}");
    let rates_path = format!("{plan_path}/rates");
    let profile_path = format!("/rating_profiles/{profile_b}");
    for token in [&t.operator_a, &t.client_admin_a] {
        for path in [&plan_path, &rates_path, &profile_path] {
            assert_eq!(
                app.get(path, token).await.0,
                StatusCode::NOT_FOUND,
                "{path}"
            );
        }
        for path in [&plan_path, &profile_path] {
            assert_eq!(
                app.delete(path, token).await,
                StatusCode::NOT_FOUND,
                "{path}"
            );
            let (status, _) = app.patch(path, token, json!({"name": "x"})).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
            let (status, _) = app.put(path, token, json!({"name": "x"})).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        }
        let csv = "prefix,destinationName,rate\n34,Spain,0.02\n";
        let (status, _) = post_csv(&app, &plan_b, token, csv).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = send(
            &app,
            Method::PUT,
            &format!("{rates_path}?replace=true"),
            token,
            "text/csv",
            csv,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    // Client administrators see no plan, rate or profile, even of their own brand.
    let ca = &t.client_admin_a;
    for path in ["/rating_plans", "/rating_profiles"] {
        assert_eq!(app.get(path, ca).await.0, StatusCode::FORBIDDEN, "{path}");
    }
    let (status, _) = app.post("/rating_plans", ca, json!({"name": "Mine"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .post("/rating_profiles", ca, json!({"client": t.client_a, "ratingPlan": plan_a, "activationTime": "2026-02-01T00:00:00Z"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for path in [
        format!("/rating_plans/{plan_a}"),
        format!("/rating_plans/{plan_a}/rates"),
        format!("/rating_profiles/{profile_a}"),
    ] {
        assert_eq!(app.get(&path, ca).await.0, StatusCode::NOT_FOUND, "{path}");
    }

    // Operator A's lists hold brand A only, also when asking for brand B.
    let op = &t.operator_a;
    for path in ["/rating_plans", "/rating_profiles"] {
        let (_, list) = app.get(path, op).await;
        assert_eq!(list.as_array().unwrap().len(), 1, "{path}: {list}");
        let (_, list) = app.get(&format!("{path}?brand={}", t.brand_b), op).await;
        assert_eq!(list.as_array().unwrap().len(), 0, "{path}: {list}");
    }
    let (_, list) = app
        .get(&format!("/rating_profiles?ratingPlan={plan_b}"), op)
        .await;
    assert_eq!(list.as_array().unwrap().len(), 0);

    // Brand B's plan, client and carrier cannot be linked from brand A.
    let links = [
        (
            json!({"client": t.client_a, "ratingPlan": plan_b}),
            "ratingPlan",
        ),
        (
            json!({"client": t.client_b, "ratingPlan": plan_a}),
            "client",
        ),
        (
            json!({"carrier": carrier_b, "ratingPlan": plan_a}),
            "carrier",
        ),
    ];
    for (mut body, field) in links {
        body["activationTime"] = json!("2026-05-01T00:00:00Z");
        let (status, error) = app.post("/rating_profiles", op, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {error}");
        assert_eq!(error["fields"][field], "not found in the brand", "{error}");
        let (status, error) = app
            .patch(&format!("/rating_profiles/{profile_a}"), op, body.clone())
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {error}");
    }
    let (status, _) = app
        .post(
            "/rating_plans",
            op,
            json!({"brand": t.brand_b, "name": "Sneaky"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app
        .post("/rating_profiles", op, json!({"brand": t.brand_b, "client": t.client_b, "ratingPlan": plan_b, "activationTime": "2026-05-01T00:00:00Z"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // A platform administrator cannot mix brands either.
    let (status, _) = app
        .post("/rating_profiles", &app.root, json!({"brand": t.brand_a, "carrier": carrier_a, "ratingPlan": plan_b, "activationTime": "2026-05-01T00:00:00Z"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    assert_eq!(
        snapshot(&app, &plan_b, &profile_b).await,
        before,
        "brand B unchanged"
    );
}

/// Brand B's plan, rates and profile as the platform administrator sees them.
async fn snapshot(app: &TestApp, plan: &str, profile: &str) -> (Value, Vec<Value>, Value) {
    let (_, plan_view) = app.get(&format!("/rating_plans/{plan}"), &app.root).await;
    let (_, profile_view) = app
        .get(&format!("/rating_profiles/{profile}"), &app.root)
        .await;
    (plan_view, rates(app, plan, &app.root).await, profile_view)
}
