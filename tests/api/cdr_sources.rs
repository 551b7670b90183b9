//! `/cdr_sources` (issue 9): CRUD with every setting, the push secret shown once and
//! rotated, the write-only pull token, spool directories held inside `CALLCSV_SPOOL_ROOT`,
//! roles and tenancy, what a delete keeps; and the fields it builds on: `code` on clients,
//! carriers and endpoints, `country` on brands.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use callcsv::ids::Id;

use crate::backend_cases;
use crate::backend_tests;
use crate::common::{id, Backend, Tenants, TestApp};

backend_tests!(
    brand_country_is_a_known_iso_code,
    codes_are_unique_where_records_look_them_up,
    cdr_source_crud_with_every_setting,
    cdr_source_push_secret_is_shown_once_and_rotates,
    cdr_source_validation_names_every_field,
    cdr_source_lists_roles_and_tenancy,
    deleting_a_source_keeps_its_calls_and_drops_its_imports,
);
backend_cases!(spool_directories_stay_inside_the_spool_root);

fn field_names(body: &Value) -> Vec<String> {
    body["fields"]
        .as_object()
        .unwrap_or_else(|| panic!("no fields: {body}"))
        .keys()
        .cloned()
        .collect()
}

async fn brand_country_is_a_known_iso_code(app: TestApp) {
    let root = app.root.clone();
    let created = app
        .create("/brands", &root, json!({"name": "B", "country": "es"}))
        .await;
    assert_eq!(created["country"], "ES", "stored in capitals");
    let path = format!("/brands/{}", id(&created));
    assert_eq!(app.get(&path, &root).await.1["country"], "ES");
    let plain = app.create("/brands", &root, json!({"name": "C"})).await;
    assert_eq!(plain["country"], Value::Null);
    for bad in ["XX", "ESP", "E", "001", "é1", " "] {
        let body = json!({"name": "B", "country": bad});
        let (status, body) = app.put(&path, &root, body).await;
        if bad == " " {
            assert_eq!(status, StatusCode::OK, "blank is none: {body}");
            assert_eq!(body["country"], Value::Null);
            continue;
        }
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}: {body}");
        assert_eq!(field_names(&body), ["country"], "{bad:?}");
    }
    let (status, patched) = app.patch(&path, &root, json!({"country": "gb"})).await;
    assert_eq!(
        (status, &patched["country"]),
        (StatusCode::OK, &json!("GB"))
    );
    let (status, patched) = app.patch(&path, &root, json!({"country": null})).await;
    assert_eq!(
        (status, &patched["country"]),
        (StatusCode::OK, &Value::Null)
    );
    let (status, _) = app
        .post("/brands", &root, json!({"name": "D", "country": 34}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // While a source numbers by the country, it cannot go.
    app.patch(&path, &root, json!({"country": "ES"})).await;
    let brand = id(&created);
    app.create(
        "/cdr_sources",
        &root,
        json!({"brand": brand, "name": "PBX", "format": "asterisk-csv"}),
    )
    .await;
    let (status, body) = app.patch(&path, &root, json!({"country": null})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["fields"]["country"]
            .as_str()
            .unwrap()
            .contains("CDR source"),
        "{body}"
    );
}

async fn codes_are_unique_where_records_look_them_up(app: TestApp) {
    let t = Tenants::create(&app).await;
    let (op_a, op_b) = (&t.operator_a, &t.operator_b);

    // Clients: unique in the brand; many without a code; another brand may reuse it.
    let client_path = format!("/clients/{}", t.client_a);
    let (status, body) = app
        .patch(&client_path, op_a, json!({"code": " acct-100 "}))
        .await;
    assert_eq!(
        (status, &body["code"]),
        (StatusCode::OK, &json!("acct-100"))
    );
    assert_eq!(app.get(&client_path, op_a).await.1["code"], "acct-100");
    let second = json!({"name": "Second", "type": "vpbx", "code": "acct-100"});
    let (status, body) = app.post("/clients", op_a, second).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "conflict");
    assert!(body["fields"]["code"].is_string(), "{body}");
    let second = app
        .create("/clients", op_a, json!({"name": "Second", "type": "vpbx"}))
        .await;
    assert_eq!(second["code"], Value::Null);
    app.create("/clients", op_a, json!({"name": "Third", "type": "retail"}))
        .await;
    let (status, _) = app
        .patch(
            &client_path_of(&t.client_b),
            op_b,
            json!({"code": "acct-100"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "another brand may use it");
    // A name clash is still said to be the name's.
    let (status, body) = app
        .post(
            "/clients",
            op_a,
            json!({"name": "Second", "type": "vpbx", "code": "other"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(body["message"].as_str().unwrap().contains("name"), "{body}");
    assert!(body.get("fields").is_none(), "{body}");

    // Carriers: the same in the brand.
    let trunk = app
        .create(
            "/carriers",
            op_a,
            json!({"name": "Transit", "code": "trunk1"}),
        )
        .await;
    assert_eq!(trunk["code"], "trunk1");
    let (status, body) = app
        .post(
            "/carriers",
            op_a,
            json!({"name": "Backup", "code": "trunk1"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["fields"]["code"].is_string(), "{body}");
    app.create(
        "/carriers",
        op_b,
        json!({"name": "Transit", "code": "trunk1"}),
    )
    .await;
    let (status, body) = app
        .patch(
            &format!("/carriers/{}", id(&trunk)),
            op_a,
            json!({"code": null}),
        )
        .await;
    assert_eq!((status, &body["code"]), (StatusCode::OK, &Value::Null));

    // Endpoints: unique in the client, not in the brand.
    let endpoint = |client: &str, name: &str, code: &str| json!({"client": client, "type": "User", "name": name, "code": code});
    let first = app
        .create("/endpoints", op_a, endpoint(&t.client_a, "Alice", "1001"))
        .await;
    assert_eq!(first["code"], "1001");
    let (status, body) = app
        .post("/endpoints", op_a, endpoint(&t.client_a, "Bob", "1001"))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["fields"]["code"].is_string(), "{body}");
    app.create("/endpoints", op_a, endpoint(&id(&second), "Bob", "1001"))
        .await;
    let client_admin = &t.client_admin_a;
    let (status, seen) = app
        .get(&format!("/endpoints/{}", id(&first)), client_admin)
        .await;
    assert_eq!((status, &seen["code"]), (StatusCode::OK, &json!("1001")));

    // Codes are 1 to 100 characters without control characters.
    for bad in [
        json!(""),
        json!("  "),
        json!("a\u{1}b"),
        json!("x".repeat(101)),
        json!(7),
    ] {
        for (path, body) in [
            (
                "/clients",
                json!({"name": "Bad", "type": "vpbx", "code": bad}),
            ),
            ("/carriers", json!({"name": "Bad", "code": bad})),
            ("/endpoints", endpoint(&t.client_a, "Bad", "x")),
        ] {
            let mut body = body;
            body["code"] = bad.clone();
            let (status, answer) = app.post(path, op_a, body).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path} {bad}");
            if bad.is_string() {
                assert_eq!(field_names(&answer), ["code"], "{path} {bad}");
            }
        }
    }
}

fn client_path_of(client: &str) -> String {
    format!("/clients/{client}")
}

/// A brand with a country, its operator, a client and a carrier.
struct Setup {
    t: Tenants,
    client: String,
    carrier: String,
}

async fn setup(app: &TestApp) -> Setup {
    let t = Tenants::create(app).await;
    for brand in [&t.brand_a, &t.brand_b] {
        app.brand_country(brand, "ES").await;
    }
    let carrier = id(&app
        .create(
            "/carriers",
            &t.operator_a,
            json!({"name": "Transit", "code": "trunk1"}),
        )
        .await);
    Setup {
        client: t.client_a.clone(),
        carrier,
        t,
    }
}

async fn cdr_source_crud_with_every_setting(app: TestApp) {
    let s = setup(&app).await;
    let op = &s.t.operator_a;

    // The defaults.
    let (status, headers, created) = app
        .call_full(
            Method::POST,
            "/cdr_sources",
            Some(op),
            Some(json!({"name": " PBX 1 ", "format": "asterisk-csv"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let source = id(&created);
    let path = format!("/cdr_sources/{source}");
    assert_eq!(headers["location"].to_str().unwrap(), path);
    let expected = json!({
        "id": source, "brand": s.t.brand_a, "name": "PBX 1", "format": "asterisk-csv",
        "timezone": null, "columns": null, "answeredOnly": true, "numbering": null,
        "direction": [], "mapping": {"client": null, "carrier": null, "endpoint": null,
        "defaultClient": null, "defaultCarrier": null}, "callTypes": null, "spool": null,
        "pull": null, "callidPrefix": "", "enabled": true, "lastError": null,
        "lastPulledAt": null, "createdAt": created["createdAt"], "updatedAt": created["updatedAt"],
    });
    let mut shown = created.clone();
    shown.as_object_mut().unwrap().remove("pushSecret");
    assert_eq!(shown, expected);
    assert_eq!(app.get(&path, op).await, (StatusCode::OK, expected.clone()));

    // Every setting, replaced at once.
    let full = json!({
        "name": "PBX 1", "format": "asterisk-csv", "timezone": "Atlantic/Canary",
        "columns": ["clid", "src", "dst", "dcontext", "channel", "dstchannel", "lastapp",
                    "lastdata", "start", "answer", "end", "duration", "billsec",
                    "disposition", "amaflags", "accountcode", "uniqueid", "userfield"],
        "answeredOnly": false,
        "numbering": {"countryCode": "34", "nationalPrefix": "", "internationalPrefix": "00",
                      "extensionMaxDigits": 5,
                      "rewriteRules": [{"matchExpr": "^0(\\d{9})$", "replaceExpr": "$1", "priority": 1}]},
        "direction": [{"field": "dcontext", "matchExpr": "^from-trunk", "direction": "inbound"},
                      {"field": "dst", "matchExpr": "^\\*", "direction": "skip"}],
        "mapping": {"client": {"field": "accountcode"},
                    "carrier": {"field": "dstchannel", "matchExpr": "^SIP/([^-]+)"},
                    "endpoint": {"field": "src"},
                    "defaultClient": s.client, "defaultCarrier": s.carrier},
        "callidPrefix": "pbx1-", "enabled": false,
    });
    let (status, replaced) = app.put(&path, op, full.clone()).await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    for (key, value) in full.as_object().unwrap() {
        assert_eq!(&replaced[key], value, "{key}");
    }
    assert_eq!(replaced["createdAt"], created["createdAt"]);
    assert!(replaced.get("pushSecret").is_none());

    // What GET shows goes back in a PUT unchanged.
    let (_, current) = app.get(&path, op).await;
    let (status, again) = app.put(&path, op, current.clone()).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    let strip = |mut v: Value| {
        v.as_object_mut().unwrap().remove("updatedAt");
        v
    };
    assert_eq!(strip(again), strip(current));

    // PATCH merges objects member by member and replaces arrays; null brings the default.
    let (status, patched) = app
        .patch(
            &path,
            op,
            json!({"mapping": {"endpoint": null, "client": {"field": "userfield"}},
                   "numbering": {"extensionMaxDigits": 3}, "direction": [], "timezone": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["mapping"]["client"]["field"], "userfield");
    assert_eq!(patched["mapping"]["endpoint"], Value::Null);
    assert_eq!(patched["mapping"]["defaultCarrier"], json!(s.carrier));
    assert_eq!(patched["numbering"]["extensionMaxDigits"], 3);
    assert_eq!(patched["numbering"]["countryCode"], "34");
    assert_eq!(patched["direction"], json!([]));
    assert_eq!(patched["timezone"], Value::Null);
    let (_, patched) = app.patch(&path, op, json!({"numbering": null})).await;
    assert_eq!(
        patched["numbering"],
        Value::Null,
        "back to the brand's country"
    );

    // A Webex source: call types and the pull, whose token never shows.
    let webex = app
        .create(
            "/cdr_sources",
            op,
            json!({"name": "Webex", "format": "webex-cdr", "callTypes": ["SIP_NATIONAL", "SIP_MOBILE"],
                   "pull": {"token": "secret-token-1"}}),
        )
        .await;
    let webex_path = format!("/cdr_sources/{}", id(&webex));
    let pull = json!({"url": "https://analytics.webexapis.com/v1/cdr_feed", "intervalMinutes": 15, "hasToken": true});
    assert_eq!(webex["pull"], pull);
    assert_eq!(webex["callTypes"], json!(["SIP_NATIONAL", "SIP_MOBILE"]));
    let (_, shown) = app.get(&webex_path, op).await;
    assert!(!shown.to_string().contains("secret-token-1"), "{shown}");
    let (status, patched) = app
        .patch(&webex_path, op, json!({"pull": {"intervalMinutes": 60}}))
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["pull"]["hasToken"], true, "the token is kept");
    assert_eq!(patched["pull"]["intervalMinutes"], 60);
    let (status, body) = app
        .patch(
            &webex_path,
            op,
            json!({"pull": {"url": "https://collector.example/feed"}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        field_names(&body),
        ["pull.token"],
        "a new url needs the token again"
    );
    let (_, no_pull) = app.patch(&webex_path, op, json!({"pull": null})).await;
    assert_eq!(no_pull["pull"], Value::Null);

    // Odd requests are 4xx.
    assert_eq!(
        app.get("/cdr_sources/not-a-uuid", op).await.0,
        StatusCode::BAD_REQUEST
    );
    let (status, _) = app.patch(&path, op, json!([1])).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, body) = app.patch(&path, op, json!({"pushSecret": "mine"})).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "read-only fields are ignored: {body}"
    );

    // A client or carrier that a source falls back on is not deleted under it.
    let spare = id(&app
        .create(
            "/clients",
            op,
            json!({"name": "Spare", "type": "wholesale"}),
        )
        .await);
    let (status, _) = app
        .patch(&path, op, json!({"mapping": {"defaultClient": spare}}))
        .await;
    assert_eq!(status, StatusCode::OK);
    for used in [
        format!("/clients/{spare}"),
        format!("/carriers/{}", s.carrier),
    ] {
        let (status, body) = app.call(Method::DELETE, &used, Some(op), None).await;
        assert_eq!(status, StatusCode::CONFLICT, "{used}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains("PBX 1"),
            "{body}"
        );
    }

    assert_eq!(app.delete(&path, op).await, StatusCode::NO_CONTENT);
    assert_eq!(app.get(&path, op).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.delete(&path, op).await, StatusCode::NOT_FOUND);
    let spare_path = format!("/clients/{spare}");
    assert_eq!(app.delete(&spare_path, op).await, StatusCode::NO_CONTENT);
}

async fn cdr_source_push_secret_is_shown_once_and_rotates(app: TestApp) {
    let s = setup(&app).await;
    let op = &s.t.operator_a;
    let created = app
        .create(
            "/cdr_sources",
            op,
            json!({"name": "FS", "format": "freeswitch-json"}),
        )
        .await;
    let secret = created["pushSecret"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 64);
    assert!(secret.bytes().all(|b| b.is_ascii_hexdigit()));
    let path = format!("/cdr_sources/{}", id(&created));
    let (_, shown) = app.get(&path, op).await;
    assert!(shown.get("pushSecret").is_none(), "{shown}");
    let (_, listed) = app.get("/cdr_sources", op).await;
    assert!(!listed.to_string().contains(&secret));

    let rotate = format!("{path}/rotate_secret");
    let (status, rotated) = app.call(Method::POST, &rotate, Some(op), None).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new_secret = rotated["pushSecret"].as_str().unwrap();
    assert_eq!(new_secret.len(), 64);
    assert_ne!(new_secret, secret);
    assert_eq!(rotated["id"], created["id"]);

    // The stored hash is the new secret's SHA-256, and the old one no longer matches.
    let source = callcsv::ids::CdrSourceId::parse(&id(&created)).unwrap();
    let pool = app.pool();
    let (old, new) = (secret.clone(), new_secret.to_string());
    let (old_check, new_check) = tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().unwrap();
        let mut check = |s: &str| {
            callcsv::sources::cdr_sources::find_for_push(&mut conn, &source, Some(s))
                .map(|_| ())
                .map_err(|e| e.status.as_u16())
        };
        (check(&old), check(&new))
    })
    .await
    .unwrap();
    assert_eq!((old_check, new_check), (Err(401), Ok(())));

    // Another brand's operator and a client administrator cannot rotate it.
    for token in [&s.t.operator_b, &s.t.client_admin_a] {
        let (status, _) = app.call(Method::POST, &rotate, Some(token), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}

async fn cdr_source_validation_names_every_field(app: TestApp) {
    let s = setup(&app).await;
    let op = &s.t.operator_a;
    let other_brand_client = s.t.client_b.clone();
    let (status, body) = app
        .post(
            "/cdr_sources",
            op,
            json!({
                "name": "", "format": "asterisk-csv", "timezone": "Mars/Base",
                "columns": ["src", "dst"], "answeredOnly": "yes",
                "numbering": {"countryCode": "1234"},
                "direction": [{"field": "dst", "matchExpr": "(", "direction": "sideways"}],
                "mapping": {"client": {}, "defaultClient": other_brand_client, "defaultCarrier": "x"},
                "callTypes": ["SIP_NATIONAL"], "pull": {"token": "t"},
                "callidPrefix": "\u{7}", "enabled": "no",
            }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        field_names(&body),
        [
            "answeredOnly",
            "callTypes",
            "callidPrefix",
            "columns",
            "direction[0].direction",
            "direction[0].matchExpr",
            "enabled",
            "mapping.client.field",
            "mapping.defaultCarrier",
            "mapping.defaultClient",
            "name",
            "numbering.countryCode",
            "pull",
            "timezone",
        ]
    );
    // Required fields, unknown fields, null where the schema does not allow it.
    let (status, body) = app.post("/cdr_sources", op, json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_names(&body), ["format", "name"]);
    let (status, _) = app
        .post(
            "/cdr_sources",
            op,
            json!({"name": "X", "format": "callcsv", "colour": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, body) = app
        .post(
            "/cdr_sources",
            op,
            json!({"name": "X", "format": "callcsv", "enabled": null}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_names(&body), ["enabled"]);
    // Spool sources need the setting.
    let (status, body) = app
        .post(
            "/cdr_sources",
            op,
            json!({"name": "X", "format": "asterisk-csv", "spool": {"path": "x", "pattern": "*"}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body["fields"]["spool"],
        "spool sources need CALLCSV_SPOOL_ROOT"
    );
    // A brand without a country needs a numbering.
    let bare = app.brand("Bare").await;
    let (status, body) = app
        .post(
            "/cdr_sources",
            &app.root,
            json!({"brand": bare, "name": "X", "format": "chime-json"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_names(&body), ["numbering"]);
    let numbering =
        json!({"countryCode": "1", "nationalPrefix": "1", "internationalPrefix": "011"});
    let ok = app
        .create(
            "/cdr_sources",
            &app.root,
            json!({"brand": bare, "name": "X", "format": "chime-json", "numbering": numbering}),
        )
        .await;
    assert_eq!(ok["numbering"]["extensionMaxDigits"], 4);
    // Names are unique in the brand.
    app.create(
        "/cdr_sources",
        op,
        json!({"name": "Dup", "format": "callcsv"}),
    )
    .await;
    let (status, body) = app
        .post(
            "/cdr_sources",
            op,
            json!({"name": "Dup", "format": "cucm-cdr"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    app.create(
        "/cdr_sources",
        &s.t.operator_b,
        json!({"name": "Dup", "format": "callcsv"}),
    )
    .await;
}

async fn cdr_source_lists_roles_and_tenancy(app: TestApp) {
    let s = setup(&app).await;
    let (op_a, op_b) = (&s.t.operator_a, &s.t.operator_b);
    for (name, format) in [
        ("A1", "asterisk-csv"),
        ("A2", "asterisk-csv"),
        ("A3", "webex-cdr"),
    ] {
        app.create(
            "/cdr_sources",
            op_a,
            json!({"name": name, "format": format}),
        )
        .await;
    }
    let disabled = json!({"name": "A4", "format": "asterisk-csv", "enabled": false});
    app.create("/cdr_sources", op_a, disabled).await;
    let b = app
        .create(
            "/cdr_sources",
            op_b,
            json!({"name": "B1", "format": "callcsv"}),
        )
        .await;

    let names = |body: &Value| -> Vec<String> {
        body.as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_string())
            .collect()
    };
    let (status, headers, all) = app
        .call_full(
            Method::GET,
            "/cdr_sources?_order[name]=desc",
            Some(op_a),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(names(&all), ["A4", "A3", "A2", "A1"]);
    assert_eq!(headers["x-total-count"], "4");
    let (_, some) = app
        .get(
            "/cdr_sources?format=asterisk-csv&enabled=true&_order[name]=asc",
            op_a,
        )
        .await;
    assert_eq!(names(&some), ["A1", "A2"]);
    let (_, one) = app.get("/cdr_sources?name=A3", op_a).await;
    assert_eq!(names(&one), ["A3"]);
    let (_, headers, page) = app
        .call_full(
            Method::GET,
            "/cdr_sources?itemsPerPage=1&page=2&_order[name]=asc",
            Some(op_a),
            None,
        )
        .await;
    assert_eq!(names(&page), ["A2"]);
    assert!(headers["link"].to_str().unwrap().contains("rel=\"next\""));
    for bad in ["format=csv", "enabled=maybe", "colour=red", "brand=x"] {
        let (status, body) = app.get(&format!("/cdr_sources?{bad}"), op_a).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }

    // Brands see their own; naming another brand finds nothing; the platform sees all.
    let (_, theirs) = app
        .get(&format!("/cdr_sources?brand={}", s.t.brand_b), op_a)
        .await;
    assert_eq!(names(&theirs), Vec::<String>::new());
    let (_, everything) = app.get("/cdr_sources", &app.root).await;
    assert_eq!(everything.as_array().unwrap().len(), 5);
    let b_path = format!("/cdr_sources/{}", id(&b));
    assert_eq!(app.get(&b_path, op_a).await.0, StatusCode::NOT_FOUND);
    let (status, _) = app.patch(&b_path, op_a, json!({"enabled": false})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(app.delete(&b_path, op_a).await, StatusCode::NOT_FOUND);
    let (status, body) = app
        .post(
            "/cdr_sources",
            op_a,
            json!({"brand": s.t.brand_b, "name": "Sneaky", "format": "callcsv"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["fields"]["brand"].is_string(), "{body}");
    let (status, body) = app
        .put(
            &b_path,
            &app.root,
            json!({"brand": s.t.brand_a, "name": "B1", "format": "callcsv"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    // Platform administrators name the brand.
    let (status, body) = app
        .post(
            "/cdr_sources",
            &app.root,
            json!({"name": "P", "format": "callcsv"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["fields"]["brand"].is_string(), "{body}");
    let made = app
        .create(
            "/cdr_sources",
            &app.root,
            json!({"brand": s.t.brand_b, "name": "P", "format": "callcsv"}),
        )
        .await;
    assert_eq!(made["brand"], json!(s.t.brand_b));

    // Client administrators have no sources.
    let ca = &s.t.client_admin_a;
    assert_eq!(app.get("/cdr_sources", ca).await.0, StatusCode::FORBIDDEN);
    let (status, _) = app
        .post(
            "/cdr_sources",
            ca,
            json!({"name": "C", "format": "callcsv"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let a1 = id(&all[3]);
    assert_eq!(
        app.get(&format!("/cdr_sources/{a1}"), ca).await.0,
        StatusCode::NOT_FOUND
    );
}

async fn deleting_a_source_keeps_its_calls_and_drops_its_imports(app: TestApp) {
    use diesel::prelude::*;
    let s = setup(&app).await;
    let op = &s.t.operator_a;
    let source = id(&app
        .create(
            "/cdr_sources",
            op,
            json!({"name": "PBX", "format": "asterisk-csv"}),
        )
        .await);
    let call = json!([{"callid": "c1", "startTime": "2026-01-05T10:00:00Z", "duration": 60,
        "caller": "+34911000001", "callee": "+34600111222", "direction": "outbound",
        "client": s.client, "carrier": s.carrier}]);
    let (status, summary) = app.post("/billable_calls", op, call).await;
    assert_eq!((status, &summary["accepted"]), (StatusCode::OK, &json!(1)));
    // Until the import path lands, the call and an import are tied to the source directly.
    let (pool, brand, tied) = (app.pool(), s.t.brand_a.clone(), source.clone());
    tokio::task::spawn_blocking(move || {
        use callcsv::db::schema::{billable_calls, cdr_imports};
        let mut conn = pool.get().unwrap();
        diesel::update(billable_calls::table.filter(billable_calls::callid.eq("c1")))
            .set(billable_calls::source_id.eq(&tied))
            .execute(&mut conn)
            .unwrap();
        let now = callcsv::db::now();
        diesel::insert_into(cdr_imports::table)
            .values((
                cdr_imports::id.eq(callcsv::db::new_id()),
                cdr_imports::brand_id.eq(&brand),
                cdr_imports::source_id.eq(&tied),
                cdr_imports::origin.eq("upload"),
                cdr_imports::bytes.eq(10i64),
                cdr_imports::status.eq("done"),
                cdr_imports::started_at.eq(now),
                cdr_imports::records.eq(1i64),
                cdr_imports::accepted.eq(1i64),
                cdr_imports::duplicates.eq(0i64),
                cdr_imports::rejected.eq(0i64),
                cdr_imports::unrated.eq(0i64),
                cdr_imports::skipped_unanswered.eq(0i64),
                cdr_imports::skipped_internal.eq(0i64),
                cdr_imports::skipped_leg.eq(0i64),
                cdr_imports::skipped_filtered.eq(0i64),
                cdr_imports::errors.eq("[]"),
                cdr_imports::error_count.eq(0i64),
                cdr_imports::updated_at.eq(now),
            ))
            .execute(&mut conn)
            .unwrap();
    })
    .await
    .unwrap();

    assert_eq!(
        app.delete(&format!("/cdr_sources/{source}"), op).await,
        StatusCode::NO_CONTENT
    );
    let pool = app.pool();
    let (imports, calls) = tokio::task::spawn_blocking(move || {
        use callcsv::db::schema::{billable_calls, cdr_imports};
        let mut conn = pool.get().unwrap();
        let imports: i64 = cdr_imports::table
            .filter(cdr_imports::source_id.eq(&source))
            .count()
            .get_result(&mut conn)
            .unwrap();
        let calls: i64 = billable_calls::table
            .filter(billable_calls::source_id.eq(&source))
            .count()
            .get_result(&mut conn)
            .unwrap();
        (imports, calls)
    })
    .await
    .unwrap();
    assert_eq!((imports, calls), (0, 1), "imports go, the call stays");
    let (_, listed) = app.get("/billable_calls", op).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
}

async fn spool_directories_stay_inside_the_spool_root(backend: Backend) {
    let outer = tempfile::tempdir().unwrap();
    let root = outer.path().join("spool");
    std::fs::create_dir_all(root.join("pbx1")).unwrap();
    std::fs::create_dir_all(outer.path().join("elsewhere")).unwrap();
    std::os::unix::fs::symlink(outer.path().join("elsewhere"), root.join("out")).unwrap();
    let root_text = root.to_string_lossy().into_owned();
    let app = TestApp::start_with(backend, &[("CALLCSV_SPOOL_ROOT", &root_text)]).await;
    let s = setup(&app).await;
    let op = &s.t.operator_a;
    let spool = |path: &str| json!({"name": "Spool", "format": "asterisk-csv", "spool": {"path": path, "pattern": "Master.csv*"}});
    let elsewhere = outer
        .path()
        .join("elsewhere")
        .to_string_lossy()
        .into_owned();
    for path in ["out", "../elsewhere", elsewhere.as_str(), "missing"] {
        let (status, body) = app.post("/cdr_sources", op, spool(path)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {body}");
        assert_eq!(field_names(&body), ["spool.path"], "{path}");
    }
    let (status, body) = app
        .post(
            "/cdr_sources",
            op,
            json!({"name": "S", "format": "asterisk-csv", "spool": {"path": "pbx1", "pattern": "a/b"}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_names(&body), ["spool.pattern"]);
    let created = app.create("/cdr_sources", op, spool("pbx1")).await;
    let canonical = root.canonicalize().unwrap().join("pbx1");
    assert_eq!(
        created["spool"],
        json!({"path": canonical.to_string_lossy(), "pattern": "Master.csv*"})
    );
    // The GET body goes back in a PUT as it is.
    let path = format!("/cdr_sources/{}", id(&created));
    let (_, current) = app.get(&path, op).await;
    let (status, again) = app.put(&path, op, current.clone()).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["spool"], current["spool"]);
}
