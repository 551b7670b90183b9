//! `/ddi_providers`: CRUD with addresses and transformation rules, their validation (each
//! bad entry named by its index), unique names, lists, merge patch, roles and tenancy.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::backend_tests;
use crate::carriers::tenancy_matrix;
use crate::common::{id, Tenants, TestApp};

backend_tests!(
    provider_crud_and_merge_patch,
    provider_validation,
    provider_unique_names_and_lists,
    provider_roles_and_tenancy
);

fn rules() -> Value {
    json!([
        {"matchExpr": "^00", "replaceExpr": "+", "priority": 20},
        {"matchExpr": "^([6-9][0-9]{8})$", "replaceExpr": "0034$1", "priority": 10}
    ])
}

async fn provider_crud_and_merge_patch(app: TestApp) {
    let brand = app.brand("A").await;
    let operator = app.brand_operator(&brand, "op").await;

    let (status, headers, created) = app
        .call_full(
            Method::POST,
            "/ddi_providers",
            Some(&operator),
            Some(json!({
                "name": "Wholesale SIP",
                "description": "inbound trunk",
                "addresses": [" 10.0.0.1/32", "2001:DB8:0:0::/32", "192.168.1.0/24", "::ffff:10.9.9.9"],
                "transformationRules": rules(),
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let provider = id(&created);
    let path = format!("/ddi_providers/{provider}");
    assert_eq!(headers["location"].to_str().unwrap(), path);
    assert_eq!(created["brand"], brand.as_str());
    assert_eq!(created["description"], "inbound trunk");
    assert_eq!(
        created["addresses"],
        json!(["10.0.0.1", "2001:db8::/32", "192.168.1.0/24", "10.9.9.9"]),
        "canonical text"
    );
    assert_eq!(
        created["transformationRules"],
        rules(),
        "kept as given, in list order"
    );
    assert_eq!(
        app.get(&path, &operator).await,
        (StatusCode::OK, created.clone())
    );

    // Addresses, rules and description are optional: empty by default.
    let bare = app
        .create("/ddi_providers", &operator, json!({"name": "Bare"}))
        .await;
    assert_eq!(
        (
            &bare["addresses"],
            &bare["transformationRules"],
            &bare["description"]
        ),
        (&json!([]), &json!([]), &json!(""))
    );

    // PATCH replaces a whole array (RFC 7386), keeps the other fields; null empties it.
    let (status, patched) = app
        .patch(&path, &operator, json!({"addresses": ["172.16.0.0/12"]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["addresses"], json!(["172.16.0.0/12"]));
    assert_eq!(patched["transformationRules"], rules());
    assert_eq!(patched["name"], "Wholesale SIP");
    let (_, patched) = app
        .patch(&path, &operator, json!({"transformationRules": null}))
        .await;
    assert_eq!(patched["transformationRules"], json!([]));
    assert_eq!(patched["addresses"], json!(["172.16.0.0/12"]));

    // PUT replaces everything: what is left out goes back to its default.
    let (status, replaced) = app
        .put(
            &path,
            &operator,
            json!({"name": "Renamed", "transformationRules": rules()}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!(
        (
            &replaced["name"],
            &replaced["addresses"],
            &replaced["description"]
        ),
        (&json!("Renamed"), &json!([]), &json!(""))
    );
    assert_eq!(replaced["transformationRules"], rules());
    assert_eq!(replaced["createdAt"], created["createdAt"]);
    assert_eq!(app.get(&path, &operator).await.1, replaced);

    // An invalid PATCH changes nothing.
    let (status, _) = app
        .patch(
            &path,
            &operator,
            json!({"addresses": ["nope"], "name": "Other"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.get(&path, &operator).await.1, replaced);

    // The brand never changes.
    let other_brand = app.brand("B").await;
    let (status, body) = app
        .patch(&path, &app.root, json!({"brand": other_brand}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["fields"]["brand"].is_string(), "{body}");

    assert_eq!(app.delete(&path, &operator).await, StatusCode::NO_CONTENT);
    assert_eq!(app.get(&path, &operator).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.delete(&path, &operator).await, StatusCode::NOT_FOUND);
}

async fn provider_validation(app: TestApp) {
    let brand = app.brand("A").await;
    let operator = app.brand_operator(&brand, "op").await;

    // Every bad address is reported under its own index.
    let (status, body) = app
        .post(
            "/ddi_providers",
            &operator,
            json!({
                "name": "P",
                "addresses": ["10.0.0.1", "", "10.0.0.256", 5, "10.0.0.1/32", "10.0.0.5/24", "2001:db8::1"]
            }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = body["fields"].as_object().unwrap();
    let mut names: Vec<&str> = fields.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "addresses[1]",
            "addresses[2]",
            "addresses[3]",
            "addresses[4]",
            "addresses[5]"
        ],
        "{body}"
    );
    assert!(
        fields["addresses[4]"]
            .as_str()
            .unwrap()
            .contains("addresses[0]"),
        "duplicate says of what: {body}"
    );
    assert!(
        fields["addresses[5]"]
            .as_str()
            .unwrap()
            .contains("10.0.0.0/24"),
        "host bits: {body}"
    );

    // Every bad rule field is reported as transformationRules[i].field.
    let (status, body) = app
        .post(
            "/ddi_providers",
            &operator,
            json!({
                "name": "",
                "transformationRules": [
                    {"matchExpr": "^0(\\d+)$", "replaceExpr": "+34$1", "priority": 0},
                    {"matchExpr": "(unclosed", "replaceExpr": "x", "priority": 1},
                    {"matchExpr": "^0(\\d+)$", "replaceExpr": "$2", "priority": -1},
                    "not a rule",
                    {"matchExpr": "a", "replaceExpr": "b", "priority": 1.5, "extra": true},
                    {"replaceExpr": 3},
                    {"matchExpr": "^(\\d+)$", "replaceExpr": "$1_x", "priority": 1000001},
                    {"matchExpr": "", "replaceExpr": "", "priority": 1000000}
                ]
            }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = body["fields"].as_object().unwrap();
    let mut names: Vec<&str> = fields.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "name",
            "transformationRules[1].matchExpr",
            "transformationRules[2].priority",
            "transformationRules[2].replaceExpr",
            "transformationRules[3]",
            "transformationRules[4]",
            "transformationRules[4].priority",
            "transformationRules[5].matchExpr",
            "transformationRules[5].priority",
            "transformationRules[5].replaceExpr",
            "transformationRules[6].priority",
            "transformationRules[6].replaceExpr",
            "transformationRules[7].matchExpr",
        ],
        "{body}"
    );
    assert!(
        fields["transformationRules[6].replaceExpr"]
            .as_str()
            .unwrap()
            .contains("${1}_x"),
        "{body}"
    );

    // A regex that is short to write but huge compiled is refused, not built.
    let (status, body) = app
        .post(
            "/ddi_providers",
            &operator,
            json!({"name": "P", "transformationRules": [
                {"matchExpr": "\\w{1000}\\w{1000}\\w{1000}", "replaceExpr": "", "priority": 0}
            ]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["fields"]["transformationRules[0].matchExpr"].is_string(),
        "{body}"
    );

    // At most 100 rules; wrong JSON types for the lists are field errors too.
    let many: Vec<Value> = (0..101)
        .map(|i| json!({"matchExpr": "a", "replaceExpr": "b", "priority": i}))
        .collect();
    for (body, field) in [
        (
            json!({"name": "P", "transformationRules": many}),
            "transformationRules",
        ),
        (
            json!({"name": "P", "transformationRules": {"matchExpr": "a"}}),
            "transformationRules",
        ),
        (json!({"name": "P", "addresses": "10.0.0.1"}), "addresses"),
    ] {
        let (status, answer) = app.post("/ddi_providers", &operator, body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(answer["fields"][field].is_string(), "{field}: {answer}");
    }

    // Platform administrators must name an existing brand.
    let (status, body) = app
        .post(
            "/ddi_providers",
            &app.root,
            json!({"name": "P", "brand": uuid::Uuid::now_v7().to_string()}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["fields"]["brand"].is_string(), "{body}");

    // The limits themselves are accepted; nothing invalid was stored.
    let hundred: Vec<Value> = (0..100)
        .map(|i| json!({"matchExpr": "a", "replaceExpr": "b", "priority": i * 10_000}))
        .collect();
    app.create(
        "/ddi_providers",
        &operator,
        json!({"name": "Limits", "transformationRules": hundred}),
    )
    .await;
    let (_, list) = app.get("/ddi_providers", &operator).await;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
}

async fn provider_unique_names_and_lists(app: TestApp) {
    let brand_a = app.brand("A").await;
    let brand_b = app.brand("B").await;
    for name in ["Charlie", "Alpha", "Bravo"] {
        app.create(
            "/ddi_providers",
            &app.root,
            json!({"brand": brand_a, "name": name}),
        )
        .await;
    }
    let (status, body) = app
        .post(
            "/ddi_providers",
            &app.root,
            json!({"brand": brand_a, "name": "Alpha"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    app.create(
        "/ddi_providers",
        &app.root,
        json!({"brand": brand_b, "name": "Alpha"}),
    )
    .await;

    let names = |list: &Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, of_a) = app
        .get(
            &format!("/ddi_providers?brand={brand_a}&_order[name]=desc"),
            &app.root,
        )
        .await;
    assert_eq!(names(&of_a), ["Charlie", "Bravo", "Alpha"]);
    let (_, alphas) = app.get("/ddi_providers?name=Alpha", &app.root).await;
    assert_eq!(alphas.as_array().unwrap().len(), 2, "one per brand");

    let (_, headers, first) = app
        .call_full(
            Method::GET,
            &format!("/ddi_providers?brand={brand_a}&_order[createdAt]=asc&itemsPerPage=2"),
            Some(&app.root),
            None,
        )
        .await;
    assert_eq!(names(&first), ["Charlie", "Alpha"]);
    assert_eq!(headers["x-total-count"], "3");
    assert!(headers["link"].to_str().unwrap().contains("rel=\"next\""));

    // Renaming onto a taken name is a conflict too.
    let charlie = id(&of_a[0]);
    let (status, _) = app
        .patch(
            &format!("/ddi_providers/{charlie}"),
            &app.root,
            json!({"name": "Bravo"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        app.get("/ddi_providers?unknown=1", &app.root).await.0,
        StatusCode::BAD_REQUEST
    );
}

async fn provider_roles_and_tenancy(app: TestApp) {
    let t = Tenants::create(&app).await;
    let theirs = app
        .create(
            "/ddi_providers",
            &t.operator_b,
            json!({"name": "B trunk", "addresses": ["203.0.113.0/24"], "transformationRules": rules()}),
        )
        .await;
    let ours = app
        .create("/ddi_providers", &t.operator_a, json!({"name": "A trunk"}))
        .await;
    tenancy_matrix(
        &app,
        &t,
        "/ddi_providers",
        &theirs,
        &ours,
        json!({"name": "stolen", "addresses": ["198.51.100.1"]}),
    )
    .await;
}
