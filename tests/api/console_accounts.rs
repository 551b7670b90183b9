//! The console's brands and administrators pages, the endpoint, DDI provider and rating
//! forms, and deleting with confirmation: the API's operations (same validation, same
//! tenancy, same refusals), per role, with CSRF, escaping and other tenants' ids.

use reqwest::StatusCode;

use crate::backend_tests;
use crate::billable_calls::world;
use crate::common::{Tenants, TestApp, ROOT_PASSWORD, ROOT_USER};
use crate::console::Browser;

backend_tests!(
    console_brands_and_administrators_per_role,
    console_endpoint_provider_and_rating_forms_and_deletes,
);

async fn console_brands_and_administrators_per_role(app: TestApp) {
    let t = Tenants::create(&app).await;
    let root = app.root.clone();

    // Platform: every brand, a new one made through the form (its errors by field).
    let mut p = Browser::signed_in(&app, ROOT_USER, ROOT_PASSWORD).await;
    let list = p.get("/ui/brands").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    for brand in [&t.brand_a, &t.brand_b] {
        assert!(list.body.contains(&format!("/ui/brands/{brand}")));
    }
    assert!(list.body.contains("href=\"/ui/brands/new\""));
    assert!(list.body.contains("href=\"/ui/administrators\""));
    let csrf = p.get("/ui/brands/new").await.csrf();
    let refused = p
        .post("/ui/brands", &[("name", "No token"), ("currency", "USD")])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let bad = p
        .post(
            "/ui/brands",
            &[("_csrf", &csrf), ("name", ""), ("currency", "euros")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body.contains("id=\"name-error\""), "{}", bad.body);
    assert!(bad.body.contains("id=\"currency-error\""), "{}", bad.body);
    let made = p
        .post(
            "/ui/brands",
            &[
                ("_csrf", &csrf),
                ("name", "<b>Brand C</b>"),
                ("currency", "USD"),
                ("timezone", "America/New_York"),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let brand_c = made.location().rsplit('/').next().unwrap().to_string();
    let (_, b) = app.get(&format!("/brands/{brand_c}"), &root).await;
    assert_eq!(
        (
            b["name"].as_str(),
            b["currency"].as_str(),
            b["language"].as_str()
        ),
        (Some("<b>Brand C</b>"), Some("USD"), Some("en"))
    );
    let list = p.get("/ui/brands").await;
    assert!(list.body.contains("&#60;b&#62;Brand C&#60;/b&#62;"));
    assert!(!list.body.contains("<b>Brand C"));
    let saved = p
        .post(
            &format!("/ui/brands/{brand_c}"),
            &[("_csrf", &csrf), ("name", "Brand C"), ("currency", "GBP")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let (_, b) = app.get(&format!("/brands/{brand_c}"), &root).await;
    assert_eq!(b["currency"], "GBP");

    // A brand with clients is not deleted: the operation's reason in the page.
    let confirm = p.get(&format!("/ui/brands/{}/delete", t.brand_a)).await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
    assert!(confirm.body.contains("Delete the brand “Brand A”?"));
    let kept = p
        .post(
            &format!("/ui/brands/{}/delete", t.brand_a),
            &[("_csrf", &csrf)],
        )
        .await;
    assert_eq!(kept.status, StatusCode::CONFLICT, "{}", kept.body);
    assert!(kept.body.contains("delete them first"), "{}", kept.body);
    assert_eq!(
        app.get(&format!("/brands/{}", t.brand_a), &root).await.0,
        StatusCode::OK
    );

    // The platform makes a brand operator of the new brand; blank password: by field.
    let form = p.get("/ui/administrators/new").await;
    assert!(form.body.contains("name=\"brand\""), "{}", form.body);
    assert!(form.body.contains("<option value=\"platform\""));
    let bad = p
        .post(
            "/ui/administrators",
            &[
                ("_csrf", &csrf),
                ("username", "op-c"),
                ("role", "brand"),
                ("brand", &brand_c),
                ("active", "on"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body.contains("id=\"password-error\""), "{}", bad.body);
    let made = p
        .post(
            "/ui/administrators",
            &[
                ("_csrf", &csrf),
                ("username", "op-c"),
                ("password", "operator-pw"),
                ("role", "brand"),
                ("brand", &brand_c),
                // Left from another role: not sent for a brand operator.
                ("client", &t.client_a),
                ("active", "on"),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let op_c = made.location().rsplit('/').next().unwrap().to_string();
    let (_, a) = app.get(&format!("/administrators/{op_c}"), &root).await;
    assert_eq!(
        (
            a["role"].as_str(),
            a["brand"].as_str(),
            a["active"].as_bool()
        ),
        (Some("brand"), Some(brand_c.as_str()), Some(true))
    );
    let mut c = Browser::signed_in(&app, "op-c", "operator-pw").await;
    assert_eq!(c.get("/ui/clients").await.status, StatusCode::OK);

    // A brand operator: its brand's administrators only, no platform role to give, no
    // brands page to edit, another brand's administrator 404.
    let mut op = Browser::signed_in(&app, "op-a", "operator-pw").await;
    let list = op.get("/ui/administrators").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.body.contains("op-a") && list.body.contains("ca-a"));
    assert!(!list.body.contains("op-b") && !list.body.contains("op-c"));
    assert!(!list.body.contains("href=\"/ui/brands\""), "platform only");
    let form = op.get("/ui/administrators/new").await;
    assert!(!form.body.contains("<option value=\"platform\""));
    assert!(!form.body.contains("name=\"brand\""));
    assert!(!form.body.contains("Client B"), "another brand's client");
    assert_eq!(op.get("/ui/brands/new").await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        op.get(&format!("/ui/brands/{}", t.brand_b)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        op.get(&format!("/ui/administrators/{op_c}")).await.status,
        StatusCode::NOT_FOUND
    );
    let csrf_a = op.csrf().await;
    let page = op
        .post(
            &format!("/ui/administrators/{op_c}"),
            &[
                ("_csrf", &csrf_a),
                ("username", "taken"),
                ("role", "brand"),
                ("active", "on"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    let page = op
        .post(
            &format!("/ui/administrators/{op_c}/delete"),
            &[("_csrf", &csrf_a)],
        )
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);

    // It makes a client administrator of its client, then deactivates it: the new
    // administrator's session ends at once.
    let made = op
        .post(
            "/ui/administrators",
            &[
                ("_csrf", &csrf_a),
                ("username", "ca-a2"),
                ("password", "client-pw-2"),
                ("role", "client"),
                ("client", &t.client_a),
                ("active", "on"),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let ca2 = made.location().rsplit('/').next().unwrap().to_string();
    let mut ca2_browser = Browser::signed_in(&app, "ca-a2", "client-pw-2").await;
    assert_eq!(ca2_browser.get("/ui/calls").await.status, StatusCode::OK);
    let edit = op.get(&format!("/ui/administrators/{ca2}")).await;
    assert!(edit
        .body
        .contains("name=\"active\" type=\"checkbox\" checked"));
    assert!(!edit.body.contains("client-pw-2"), "no password shown back");
    let saved = op
        .post(
            &format!("/ui/administrators/{ca2}"),
            &[
                ("_csrf", &csrf_a),
                ("username", "ca-a2"),
                ("role", "client"),
                ("client", &t.client_a),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let (_, a) = app.get(&format!("/administrators/{ca2}"), &root).await;
    assert_eq!(a["active"], false);
    let gone = ca2_browser.get("/ui/calls").await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER);
    assert_eq!(gone.location(), "/ui/login");
    let list = op.get("/ui/administrators").await;
    assert!(list.body.contains("deactivated"), "{}", list.body);

    // Nobody deletes themselves: the operation's words in the page.
    let me = app.get("/administrators?username=op-a", &root).await.1[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let refused = op
        .post(
            &format!("/ui/administrators/{me}/delete"),
            &[("_csrf", &csrf_a)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("you cannot delete yourself"));
    let deleted = op
        .post(
            &format!("/ui/administrators/{ca2}/delete"),
            &[("_csrf", &csrf_a)],
        )
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.body);
    assert_eq!(deleted.location(), "/ui/administrators");
    assert_eq!(
        app.get(&format!("/administrators/{ca2}"), &root).await.0,
        StatusCode::NOT_FOUND
    );

    // A client administrator: itself only, its password and zone; no new ones.
    let mut ca = Browser::signed_in(&app, "ca-a", "client-pw").await;
    assert!(!ca
        .get("/ui/calls")
        .await
        .body
        .contains("/ui/administrators"));
    assert_eq!(
        ca.get("/ui/administrators/new").await.status,
        StatusCode::FORBIDDEN
    );
    let list = ca.get("/ui/administrators").await;
    assert!(list.body.contains("ca-a") && !list.body.contains("op-a"));
    let own = list
        .body
        .split("/ui/administrators/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_string();
    let form = ca.get(&format!("/ui/administrators/{own}")).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(!form.body.contains("name=\"role\""));
    let csrf_c = form.csrf();
    let saved = ca
        .post(
            &format!("/ui/administrators/{own}"),
            &[
                ("_csrf", &csrf_c),
                ("password", "client-pw-new"),
                ("timezone", "Atlantic/Canary"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let (_, a) = app.get(&format!("/administrators/{own}"), &root).await;
    assert_eq!(
        (
            a["timezone"].as_str(),
            a["role"].as_str(),
            a["active"].as_bool()
        ),
        (Some("Atlantic/Canary"), Some("client"), Some(true))
    );
    Browser::signed_in(&app, "ca-a", "client-pw-new").await;
    assert_eq!(
        ca.get(&format!("/ui/administrators/{me}")).await.status,
        StatusCode::SEE_OTHER,
        "the password change ended this session too"
    );
}

async fn console_endpoint_provider_and_rating_forms_and_deletes(app: TestApp) {
    let w = world(&app).await;
    let op = &w.t.operator_a;
    let mut b = Browser::signed_in(&app, "op-a", "operator-pw").await;
    let csrf = b.csrf().await;

    // Endpoints: a type the client does not take is said next to "type".
    let list = b.get("/ui/endpoints").await;
    assert!(list.body.contains("href=\"/ui/endpoints/new\""));
    let bad = b
        .post(
            "/ui/endpoints",
            &[
                ("_csrf", &csrf),
                ("client", &w.t.client_a),
                ("type", "Retail"),
                ("name", "Reception"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body.contains("id=\"type-error\""), "{}", bad.body);
    let made = b
        .post(
            "/ui/endpoints",
            &[
                ("_csrf", &csrf),
                ("client", &w.t.client_a),
                ("type", "User"),
                ("name", "Reception"),
                ("code", "201"),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let endpoint = made.location().rsplit('/').next().unwrap().to_string();
    let edit = b.get(&format!("/ui/endpoints/{endpoint}")).await;
    assert!(edit.body.contains("value=\"201\""), "{}", edit.body);
    let saved = b
        .post(
            &format!("/ui/endpoints/{endpoint}"),
            &[
                ("_csrf", &csrf),
                ("client", &w.t.client_a),
                ("type", "User"),
                ("name", "Front desk"),
                ("code", "202"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let (_, e) = app.get(&format!("/endpoints/{endpoint}"), op).await;
    assert_eq!(
        (e["name"].as_str(), e["code"].as_str()),
        (Some("Front desk"), Some("202"))
    );

    // DDI providers: addresses one per line, rules in rows; a bad line named in the page.
    let edit = b
        .get(&format!("/ui/ddi_providers/{}/edit", w.provider))
        .await;
    assert_eq!(edit.status, StatusCode::OK, "{}", edit.body);
    assert!(
        edit.body.contains("192.0.2.0/24</textarea>"),
        "{}",
        edit.body
    );
    assert!(edit
        .body
        .contains("name=\"transformationRules[0].matchExpr\" value=\"^0034\""));
    let provider_form = |addresses: &'static str| {
        vec![
            ("name", "Provider 1"),
            ("addresses", addresses),
            ("transformationRules[0].matchExpr", "^0034"),
            ("transformationRules[0].replaceExpr", "+34"),
            ("transformationRules[0].priority", "1"),
            ("transformationRules[1].matchExpr", "^00"),
            ("transformationRules[1].replaceExpr", ""),
            ("transformationRules[1].priority", "2"),
        ]
    };
    let mut form = provider_form("192.0.2.0/24\r\n\r\n10.0.0.300");
    form.push(("_csrf", &csrf));
    let bad = b
        .post(&format!("/ui/ddi_providers/{}/edit", w.provider), &form)
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body.contains("“10.0.0.300”:"), "{}", bad.body);
    let mut form = provider_form("192.0.2.0/24\r\n198.51.100.7");
    form.push(("_csrf", &csrf));
    form[7] = ("transformationRules[1].priority", "second");
    let bad = b
        .post(&format!("/ui/ddi_providers/{}/edit", w.provider), &form)
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(
        bad.body
            .contains("id=\"transformationRules-1--priority-error\""),
        "{}",
        bad.body
    );
    form[7] = ("transformationRules[1].priority", "2");
    let saved = b
        .post(&format!("/ui/ddi_providers/{}/edit", w.provider), &form)
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(
        saved.location(),
        format!("/ui/ddi_providers/{}", w.provider)
    );
    let (_, p) = app.get(&format!("/ddi_providers/{}", w.provider), op).await;
    assert_eq!(
        p["addresses"],
        serde_json::json!(["192.0.2.0/24", "198.51.100.7"])
    );
    assert_eq!(p["transformationRules"][1]["replaceExpr"], "");
    let made = b
        .post(
            "/ui/ddi_providers",
            &[("_csrf", &csrf), ("name", "Provider 2"), ("addresses", "")],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let provider_2 = made.location().rsplit('/').next().unwrap().to_string();

    // Deleting: a confirmation page, then the operation; refused with its reason.
    let confirm = b.get(&format!("/ui/clients/{}/delete", w.t.client_a)).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.body.contains("name=\"_csrf\""));
    let refused = b
        .post(&format!("/ui/clients/{}/delete", w.t.client_a), &[])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "no token, no delete");
    let kept = b
        .post(
            &format!("/ui/clients/{}/delete", w.t.client_a),
            &[("_csrf", &csrf)],
        )
        .await;
    assert_eq!(kept.status, StatusCode::CONFLICT, "{}", kept.body);
    assert!(kept.body.contains("Not deleted:"), "{}", kept.body);
    assert!(kept.body.contains("DDIs, endpoints or administrators"));
    for (path, api) in [
        (
            format!("/ui/endpoints/{endpoint}"),
            format!("/endpoints/{endpoint}"),
        ),
        (
            format!("/ui/ddi_providers/{provider_2}"),
            format!("/ddi_providers/{provider_2}"),
        ),
        (format!("/ui/ddis/{}", w.ddi), format!("/ddis/{}", w.ddi)),
    ] {
        let gone = b.post(&format!("{path}/delete"), &[("_csrf", &csrf)]).await;
        assert_eq!(gone.status, StatusCode::SEE_OTHER, "{path}: {}", gone.body);
        assert_eq!(app.get(&api, op).await.0, StatusCode::NOT_FOUND, "{api}");
    }

    // Rating: a plan made and edited through its form; a profile from a local time.
    let bad = b
        .post(
            "/ui/rating_plans",
            &[
                ("_csrf", &csrf),
                ("name", "Premium"),
                ("roundingDecimals", "four"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body.contains("id=\"roundingDecimals-error\""));
    let made = b
        .post(
            "/ui/rating_plans",
            &[
                ("_csrf", &csrf),
                ("name", "Premium"),
                ("roundingMethod", "down"),
                ("roundingDecimals", "2"),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let plan = made.location().rsplit('/').next().unwrap().to_string();
    assert_eq!(made.location(), format!("/ui/rating_plans/{plan}"));
    let (_, pl) = app.get(&format!("/rating_plans/{plan}"), op).await;
    assert_eq!(
        (pl["currency"].as_str(), pl["roundingDecimals"].as_i64()),
        (Some("EUR"), Some(2)),
        "{pl}"
    );
    assert_eq!(b.get("/ui/rating_plans/new").await.status, StatusCode::OK);
    assert_eq!(
        b.get("/ui/rating_profiles/new").await.status,
        StatusCode::OK
    );
    assert_eq!(b.get("/ui/ddi_providers/new").await.status, StatusCode::OK);
    let edit = b.get(&format!("/ui/rating_plans/{plan}/edit")).await;
    assert!(edit.body.contains("<option value=\"down\" selected>"));
    let made = b
        .post(
            "/ui/rating_profiles",
            &[
                ("_csrf", &csrf),
                ("client", &w.t.client_a),
                ("ratingPlan", &plan),
                ("activationTime", "2027-01-01T00:00"),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let profile = made.location().rsplit('/').next().unwrap().to_string();
    let (_, pr) = app.get(&format!("/rating_profiles/{profile}"), op).await;
    // Brand A's zone is Europe/Madrid: midnight there is 23:00 UTC the day before.
    assert_eq!(pr["activationTime"], "2026-12-31T23:00:00Z", "{pr}");
    let both = b
        .post(
            "/ui/rating_profiles",
            &[
                ("_csrf", &csrf),
                ("client", &w.t.client_a),
                ("carrier", &w.carrier),
                ("ratingPlan", &plan),
                ("activationTime", "2027-01-01T00:00"),
            ],
        )
        .await;
    assert_eq!(both.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(both.body.contains("id=\"carrier-error\""), "{}", both.body);
    let kept = b
        .post(
            &format!("/ui/rating_plans/{plan}/delete"),
            &[("_csrf", &csrf)],
        )
        .await;
    assert_eq!(kept.status, StatusCode::CONFLICT, "{}", kept.body);
    assert!(kept.body.contains("rating profile"), "{}", kept.body);

    // Another brand and a client administrator: 404 and 403 as the API says.
    let mut other = Browser::signed_in(&app, "op-b", "operator-pw").await;
    let csrf_b = other.csrf().await;
    for path in [
        format!("/ui/rating_plans/{plan}/edit"),
        format!("/ui/rating_profiles/{profile}"),
        format!("/ui/ddi_providers/{}/edit", w.provider),
        format!("/ui/clients/{}/delete", w.t.client_a),
    ] {
        assert_eq!(
            other.get(&path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let page = other
        .post(
            &format!("/ui/rating_profiles/{profile}/delete"),
            &[("_csrf", &csrf_b)],
        )
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    let mut ca = Browser::signed_in(&app, "ca-a", "client-pw").await;
    // What it may only read is listed without a link to a form it could not save.
    let mine = app
        .create(
            "/ddis",
            op,
            serde_json::json!({"client": w.t.client_a, "ddiE164": "+34911000009"}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let list = ca.get("/ui/ddis").await;
    assert!(list.body.contains("+34911000009"), "{}", list.body);
    assert!(!list.body.contains(&format!("/ui/ddis/{mine}")));
    for path in [
        format!("/ui/ddis/{mine}"),
        format!("/ui/clients/{}", w.t.client_a),
    ] {
        assert_eq!(ca.get(&path).await.status, StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(
        ca.get("/ui/rating_plans/new").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        ca.get(&format!("/ui/rating_profiles/{profile}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        ca.get(&format!("/ui/carriers/{}/delete", w.carrier))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let gone = b
        .post(
            &format!("/ui/rating_profiles/{profile}/delete"),
            &[("_csrf", &csrf)],
        )
        .await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER);
    let gone = b
        .post(
            &format!("/ui/rating_plans/{plan}/delete"),
            &[("_csrf", &csrf)],
        )
        .await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER, "{}", gone.body);
    assert_eq!(gone.location(), "/ui/rating_plans");
}
