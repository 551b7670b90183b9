//! `/alert_rules` and `/alert_events`: CRUD of the four kinds with every field, the field
//! rules of alerts.md, same-tenant references, client-level limits, the webhook secret
//! shown once, and the read-only events with their filters and visibility.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::backend_tests;
use crate::common::{id, Tenants, TestApp};

backend_tests!(
    alert_rules_of_each_kind,
    alert_rule_webhook_secret_is_shown_once,
    alert_rule_field_rules,
    alert_rule_references_stay_in_the_tenant,
    alert_rules_of_client_administrators,
    alert_events_are_read_only_and_filtered
);

const PATH: &str = "/alert_rules";

fn item(id: &str) -> String {
    format!("{PATH}/{id}")
}

/// POSTs `body` as `token`, expects a 422 naming `field`, and returns its message.
async fn rejected(app: &TestApp, token: &str, body: Value, field: &str) -> String {
    let (status, answer) = app.post(PATH, token, body.clone()).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{body} → {answer}"
    );
    answer["fields"][field]
        .as_str()
        .unwrap_or_else(|| panic!("{body}: no fields.{field} in {answer}"))
        .to_string()
}

fn spend() -> Value {
    json!({"name": "Daily spend", "kind": "spend", "measure": "price", "window": "day",
           "per": "client", "threshold": "100.50"})
}

fn destination() -> Value {
    json!({"name": "Premium", "kind": "destination", "mode": "block",
           "countries": ["CU", "SO"], "prefixes": ["+882", "+979"]})
}

fn quality() -> Value {
    json!({"name": "ASR drop", "kind": "quality", "metric": "asr", "window": "hour",
           "condition": "dropsByPercent", "value": "30", "compareTo": "sameWindowLastWeek",
           "minCalls": 50})
}

fn velocity() -> Value {
    json!({"name": "Burst", "kind": "velocity", "per": "endpoint", "maxCalls": 30,
           "minutes": 5})
}

/// `body` with `extra`'s members set.
fn with(mut body: Value, extra: Value) -> Value {
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

async fn alert_rules_of_each_kind(app: TestApp) {
    let t = Tenants::create(&app).await;
    let op = &t.operator_a;
    let carrier = id(&app
        .create("/carriers", op, json!({"name": "Carrier"}))
        .await);
    let user = id(&app
        .create(
            "/endpoints",
            op,
            json!({"client": t.client_a, "type": "User", "name": "alice"}),
        )
        .await);

    // Spend, with every common field: kept as given, exact threshold, the brand's zone.
    let body = with(
        spend(),
        json!({"client": t.client_a, "endpointType": "User", "endpointId": user,
               "direction": "outbound", "carrier": carrier, "destinationCountry": "ES,FR",
               "email": "noc@example.com, ops@example.com", "enabled": false}),
    );
    let made = app.create(PATH, op, body).await;
    assert_eq!(made["kind"], "spend");
    assert_eq!(made["level"], "brand");
    assert_eq!(made["brand"], t.brand_a.as_str());
    assert_eq!(made["client"], t.client_a.as_str());
    assert_eq!(made["carrier"], carrier.as_str());
    assert_eq!(made["endpointType"], "User");
    assert_eq!(made["endpointId"], user.as_str());
    assert_eq!(made["direction"], "outbound");
    assert_eq!(made["destinationCountry"], "ES,FR");
    assert_eq!(made["email"], "noc@example.com,ops@example.com");
    assert_eq!(made["enabled"], false);
    assert_eq!(made["timezone"], "Europe/Madrid");
    assert_eq!(made["measure"], "price");
    assert_eq!(made["window"], "day");
    assert_eq!(made["per"], "client");
    assert_eq!(made["threshold"], "100.50");
    assert!(made["webhook"].is_null());
    assert!(made.get("metric").is_none() && made.get("maxCalls").is_none());
    let spend_id = id(&made);
    let (status, got) = app.get(&item(&spend_id), op).await;
    assert_eq!((status, &got), (StatusCode::OK, &made));

    // Destination: outbound by definition, lists sorted and deduplicated.
    let made = app
        .create(
            PATH,
            op,
            with(destination(), json!({"countries": ["SO", "CU", "SO"]})),
        )
        .await;
    assert_eq!(
        (
            &made["mode"],
            &made["countries"],
            &made["prefixes"],
            &made["direction"]
        ),
        (
            &json!("block"),
            &json!(["CU", "SO"]),
            &json!(["+882", "+979"]),
            &json!("outbound")
        )
    );
    assert!(made["enabled"].as_bool().unwrap());

    // Quality: the metric and value as given; defaults for compareTo and minCalls.
    let made = app.create(PATH, op, quality()).await;
    assert_eq!(
        (
            &made["metric"],
            &made["window"],
            &made["condition"],
            &made["value"],
            &made["compareTo"],
            &made["minCalls"]
        ),
        (
            &json!("asr"),
            &json!("hour"),
            &json!("dropsByPercent"),
            &json!("30"),
            &json!("sameWindowLastWeek"),
            &json!(50)
        )
    );
    assert!(made.get("measure").is_none() && made.get("threshold").is_none());
    let fixed = app
        .create(
            PATH,
            op,
            json!({"name": "Low ASR", "kind": "quality", "metric": "asr", "window": "day",
                   "condition": "below", "value": 0.35}),
        )
        .await;
    assert_eq!(
        (&fixed["compareTo"], &fixed["minCalls"], &fixed["value"]),
        (&json!("fixed"), &json!(20), &json!("0.35"))
    );
    let relative = app
        .create(
            PATH,
            op,
            json!({"name": "Calls up", "kind": "quality", "metric": "calls", "window": "hour",
                   "condition": "risesBy", "value": "100"}),
        )
        .await;
    assert_eq!(relative["compareTo"], "previousWindow");

    // Velocity.
    let made = app.create(PATH, op, velocity()).await;
    assert_eq!(
        (
            &made["per"],
            &made["maxCalls"],
            &made["minutes"],
            &made["direction"]
        ),
        (
            &json!("endpoint"),
            &json!(30),
            &json!(5),
            &json!("outbound")
        )
    );
    let velocity_id = id(&made);

    // PATCH changes one field and keeps the kind's settings; PUT replaces.
    let (status, patched) = app
        .patch(
            &item(&velocity_id),
            op,
            json!({"maxCalls": 40, "enabled": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(
        (
            &patched["maxCalls"],
            &patched["minutes"],
            &patched["enabled"]
        ),
        (&json!(40), &json!(5), &json!(false))
    );
    let (status, patched) = app
        .patch(
            &item(&spend_id),
            op,
            json!({"threshold": "250", "per": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["threshold"], "250");
    assert!(patched.get("per").is_none(), "{patched}");
    let (status, replaced) = app
        .put(
            &item(&velocity_id),
            op,
            with(quality(), json!({"name": "Burst"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!(
        (&replaced["kind"], replaced.get("maxCalls")),
        (&json!("quality"), None)
    );

    // Lists: filters and order.
    let (status, all) = app.get("/alert_rules?_order[name]=asc", op).await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "ASR drop",
            "Burst",
            "Calls up",
            "Daily spend",
            "Low ASR",
            "Premium"
        ]
    );
    let (_, qualities) = app.get("/alert_rules?kind=quality", op).await;
    assert_eq!(qualities.as_array().unwrap().len(), 4);
    let (_, disabled) = app.get("/alert_rules?enabled=false", op).await;
    assert_eq!(disabled.as_array().unwrap().len(), 1);
    let (status, _) = app.get("/alert_rules?kind=fraud", op).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Names are unique in the brand; a delete frees the name.
    let (status, clash) = app.post(PATH, op, quality()).await;
    assert_eq!(status, StatusCode::CONFLICT, "{clash}");
    assert_eq!(
        app.delete(&item(&velocity_id), op).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&item(&velocity_id), op).await.0,
        StatusCode::NOT_FOUND
    );
    app.create(PATH, op, velocity()).await;
}

async fn alert_rule_webhook_secret_is_shown_once(app: TestApp) {
    let t = Tenants::create(&app).await;
    let op = &t.operator_a;
    let hook = json!({"url": "https://hooks.example.com/callcsv"});
    let made = app
        .create(PATH, op, with(spend(), json!({"webhook": hook})))
        .await;
    let secret = made["webhook"]["secret"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 64);
    assert!(secret.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(made["webhook"]["url"], "https://hooks.example.com/callcsv");
    let rule = id(&made);

    // Never again: not on GET, not in lists, not after a change.
    let (_, got) = app.get(&item(&rule), op).await;
    assert_eq!(got["webhook"], hook);
    let (_, listed) = app.get(PATH, op).await;
    assert_eq!(listed[0]["webhook"], hook);
    let (status, patched) = app
        .patch(&item(&rule), op, json!({"name": "Renamed"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["webhook"], hook);
    // Sending back what creation answered (secret included) is accepted and changes nothing.
    let (status, replaced) = app
        .put(
            &item(&rule),
            op,
            with(made.clone(), json!({"name": "Again"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!(replaced["webhook"], hook);

    // Removing the webhook drops the secret; setting one again makes (and shows) a new one.
    let (_, removed) = app.patch(&item(&rule), op, json!({"webhook": null})).await;
    assert!(removed["webhook"].is_null(), "{removed}");
    let (_, again) = app.patch(&item(&rule), op, json!({"webhook": hook})).await;
    let new_secret = again["webhook"]["secret"].as_str().unwrap();
    assert_eq!(new_secret.len(), 64);
    assert_ne!(new_secret, secret);

    for (url, says) in [
        ("ftp://example.com/x", "http or https"),
        ("not a url", "not a URL"),
        ("https://user:pw@example.com/", "credentials"),
    ] {
        let body = with(spend(), json!({"name": "Hook", "webhook": {"url": url}}));
        let message = rejected(&app, op, body, "webhook").await;
        assert!(message.contains(says), "{url}: {message}");
    }
    let body = with(spend(), json!({"name": "Hook", "webhook": {}}));
    rejected(&app, op, body, "webhook").await;
    let body = with(
        spend(),
        json!({"name": "Hook", "webhook": {"url": "https://a.example/", "token": "x"}}),
    );
    let (status, _) = app.post(PATH, op, body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn alert_rule_field_rules(app: TestApp) {
    let t = Tenants::create(&app).await;
    let op = &t.operator_a;
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"kind": "spend", "measure": "price", "window": "day", "threshold": "1"}),
            "name",
            "required",
        ),
        (json!({"name": "x"}), "kind", "one of"),
        (json!({"name": "x", "kind": "fraud"}), "kind", "one of"),
        (
            with(spend(), json!({"measure": "margin"})),
            "measure",
            "price, cost, minutes, calls",
        ),
        (with(spend(), json!({"measure": null})), "measure", "null"),
        (
            with(spend(), json!({"window": "year"})),
            "window",
            "hour, day, week, month",
        ),
        (
            with(spend(), json!({"per": "caller"})),
            "per",
            "client, endpoint, carrier",
        ),
        (
            with(spend(), json!({"threshold": "0"})),
            "threshold",
            "above 0",
        ),
        (
            with(spend(), json!({"threshold": "-5"})),
            "threshold",
            "above 0",
        ),
        (
            with(spend(), json!({"threshold": "1e3"})),
            "threshold",
            "decimal",
        ),
        (
            with(spend(), json!({"threshold": "12.1234567"})),
            "threshold",
            "6 after",
        ),
        (
            with(spend(), json!({"measure": "calls", "threshold": "10.5"})),
            "threshold",
            "whole",
        ),
        (
            with(spend(), json!({"mode": "allow"})),
            "mode",
            "only for kind destination",
        ),
        (
            with(spend(), json!({"maxCalls": 3})),
            "maxCalls",
            "only for kind velocity",
        ),
        (
            with(spend(), json!({"email": "a@example.com,"})),
            "email",
            "empty address",
        ),
        (
            with(spend(), json!({"email": "nobody"})),
            "email",
            "not a valid address",
        ),
        (
            with(
                spend(),
                json!({"email": (0..11).map(|i| format!("a{i}@example.com")).collect::<Vec<_>>().join(",")}),
            ),
            "email",
            "at most 10",
        ),
        (
            with(spend(), json!({"direction": "sideways"})),
            "direction",
            "inbound, outbound",
        ),
        (
            with(spend(), json!({"destinationCountry": "XX"})),
            "destinationCountry",
            "ISO 3166-1",
        ),
        (
            with(spend(), json!({"clientType": "enterprise"})),
            "clientType",
            "one of",
        ),
        (
            with(spend(), json!({"endpointType": "User"})),
            "endpointType",
            "only with a client",
        ),
        (
            with(destination(), json!({"mode": "deny"})),
            "mode",
            "allow, block",
        ),
        (
            with(destination(), json!({"countries": [], "prefixes": []})),
            "countries",
            "at least one",
        ),
        (
            with(destination(), json!({"countries": ["gb"]})),
            "countries",
            "ISO 3166-1",
        ),
        (
            with(destination(), json!({"prefixes": ["882"]})),
            "prefixes",
            "E.164",
        ),
        (
            with(destination(), json!({"direction": "inbound"})),
            "direction",
            "outbound",
        ),
        (
            with(destination(), json!({"threshold": "3"})),
            "threshold",
            "only for kind spend",
        ),
        (
            with(quality(), json!({"metric": "mos"})),
            "metric",
            "asr, acd, calls, minutes",
        ),
        (
            with(quality(), json!({"window": "week"})),
            "window",
            "hour, day",
        ),
        (
            with(quality(), json!({"condition": "equals"})),
            "condition",
            "below, above",
        ),
        (
            with(quality(), json!({"condition": "below"})),
            "compareTo",
            "fixed",
        ),
        (
            with(quality(), json!({"compareTo": "fixed"})),
            "compareTo",
            "previousWindow",
        ),
        (
            with(quality(), json!({"compareTo": "yesterday"})),
            "compareTo",
            "one of",
        ),
        (with(quality(), json!({"value": "-1"})), "value", "negative"),
        (with(quality(), json!({"value": "abc"})), "value", "decimal"),
        (
            with(quality(), json!({"minCalls": 0})),
            "minCalls",
            "from 1",
        ),
        (
            with(quality(), json!({"measure": "price"})),
            "measure",
            "only for kind spend",
        ),
        (
            with(velocity(), json!({"per": "carrier"})),
            "per",
            "endpoint, caller, client",
        ),
        (
            with(velocity(), json!({"maxCalls": 0})),
            "maxCalls",
            "from 1",
        ),
        (
            with(velocity(), json!({"minutes": 0})),
            "minutes",
            "1 to 1440",
        ),
        (
            with(velocity(), json!({"minutes": 1441})),
            "minutes",
            "1 to 1440",
        ),
        (
            with(velocity(), json!({"window": "day"})),
            "window",
            "spend or quality",
        ),
        (
            json!({"name": "v", "kind": "velocity"}),
            "maxCalls",
            "required for kind velocity",
        ),
        (
            json!({"name": "q", "kind": "quality"}),
            "metric",
            "required for kind quality",
        ),
        (
            json!({"name": "d", "kind": "destination"}),
            "mode",
            "required for kind destination",
        ),
        (
            json!({"name": "s", "kind": "spend"}),
            "threshold",
            "required for kind spend",
        ),
        (with(spend(), json!({"name": " "})), "name", ""),
    ];
    for (body, field, says) in cases {
        let message = rejected(&app, op, body.clone(), field).await;
        assert!(message.contains(says), "{body}: {field}: {message}");
    }
    // Unknown fields, wrong types and a body that is no object: 422, never 500.
    for body in [
        with(spend(), json!({"colour": "red"})),
        with(spend(), json!({"maxCalls": "many"})),
        with(velocity(), json!({"maxCalls": 1.5})),
        json!([1, 2]),
    ] {
        let (status, answer) = app.post(PATH, op, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
    }
    let (status, _) = app.get("/alert_rules/not-a-uuid", op).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

async fn alert_rule_references_stay_in_the_tenant(app: TestApp) {
    let t = Tenants::create(&app).await;
    let (op_a, op_b) = (&t.operator_a, &t.operator_b);
    let carrier_b = id(&app.create("/carriers", op_b, json!({"name": "B's"})).await);
    let other_a = app.client(op_a, &t.brand_a, "Other A", "retail").await;
    let user_a = id(&app
        .create(
            "/endpoints",
            op_a,
            json!({"client": t.client_a, "type": "User", "name": "alice"}),
        )
        .await);
    let csv_template = id(&app
        .create(
            "/notification_templates",
            op_a,
            json!({"name": "CSV", "type": "callCsv",
                   "contents": [{"language": "en", "subject": "s", "body": "b"}]}),
        )
        .await);
    let b_template = id(&app
        .create(
            "/notification_templates",
            op_b,
            json!({"name": "B alert", "type": "alert",
                   "contents": [{"language": "en", "subject": "s", "body": "b"}]}),
        )
        .await);
    let a_template = id(&app
        .create(
            "/notification_templates",
            op_a,
            json!({"name": "A alert", "type": "alert",
                   "contents": [{"language": "en", "subject": "${ALERT_RULE}", "body": "${ALERT_MEASURED}"}]}),
        )
        .await);

    for (extra, field) in [
        (json!({"client": t.client_b}), "client"),
        (json!({"carrier": carrier_b}), "carrier"),
        (json!({"carrier": "nope"}), "carrier"),
        (
            json!({"client": other_a, "endpointType": "RetailAccount", "endpointId": user_a}),
            "endpointId",
        ),
        (
            json!({"client": t.client_a, "endpointType": "RetailAccount"}),
            "endpointType",
        ),
        (
            json!({"notificationTemplate": csv_template}),
            "notificationTemplate",
        ),
        (
            json!({"notificationTemplate": b_template}),
            "notificationTemplate",
        ),
        (json!({"brand": t.brand_b}), "brand"),
    ] {
        rejected(&app, op_a, with(spend(), extra), field).await;
    }
    let made = app
        .create(
            PATH,
            op_a,
            with(spend(), json!({"notificationTemplate": a_template})),
        )
        .await;
    assert_eq!(made["notificationTemplate"], a_template.as_str());
    // An inbound rule has no carrier.
    let carrier_a = id(&app.create("/carriers", op_a, json!({"name": "A's"})).await);
    rejected(
        &app,
        op_a,
        with(
            spend(),
            json!({"name": "In", "carrier": carrier_a, "direction": "inbound"}),
        ),
        "carrier",
    )
    .await;

    // A platform administrator names the brand.
    rejected(&app, &app.root, spend(), "brand").await;
    let made = app
        .create(PATH, &app.root, with(spend(), json!({"brand": t.brand_b})))
        .await;
    assert_eq!(made["brand"], t.brand_b.as_str());
    // A brand's rule cannot move to another brand.
    let (status, _) = app
        .patch(&item(&id(&made)), op_b, json!({"brand": t.brand_a}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn alert_rules_of_client_administrators(app: TestApp) {
    let t = Tenants::create(&app).await;
    let admin = &t.client_admin_a;
    let paris = json!({"timezone": "Europe/Paris"});
    let (status, _) = app
        .patch(&format!("/clients/{}", t.client_a), &t.operator_a, paris)
        .await;
    assert_eq!(status, StatusCode::OK);

    // Their rules are client-level, of their client, in their client's zone.
    let made = app
        .create(PATH, admin, with(spend(), json!({"per": "endpoint"})))
        .await;
    assert_eq!(
        (&made["level"], &made["client"], &made["timezone"]),
        (&json!("client"), &json!(t.client_a), &json!("Europe/Paris"))
    );
    let own = id(&made);

    // No cost, no carriers, no other client.
    let message = rejected(
        &app,
        admin,
        with(spend(), json!({"measure": "cost"})),
        "measure",
    )
    .await;
    assert!(message.contains("cost"), "{message}");
    rejected(&app, admin, with(spend(), json!({"per": "carrier"})), "per").await;
    let carrier = id(&app
        .create("/carriers", &t.operator_a, json!({"name": "C"}))
        .await);
    rejected(
        &app,
        admin,
        with(spend(), json!({"carrier": carrier})),
        "carrier",
    )
    .await;
    let other = app.client(&t.operator_a, &t.brand_a, "Other", "vpbx").await;
    rejected(
        &app,
        admin,
        with(spend(), json!({"client": other})),
        "client",
    )
    .await;
    // Changing its own rule to watch cost is refused as well.
    let (status, _) = app
        .patch(&item(&own), admin, json!({"measure": "cost"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // The brand's rule about the client is the brand's: the client administrator sees
    // only its own; the operator sees and manages both; brand B sees neither.
    let brands = app
        .create(
            PATH,
            &t.operator_a,
            with(spend(), json!({"client": t.client_a, "measure": "cost"})),
        )
        .await;
    let (_, listed) = app.get(PATH, admin).await;
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [own.as_str()]);
    assert_eq!(
        app.get(&item(&id(&brands)), admin).await.0,
        StatusCode::NOT_FOUND
    );
    let (_, listed) = app.get(PATH, &t.operator_a).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(
        app.get(&item(&own), &t.operator_b).await.0,
        StatusCode::NOT_FOUND
    );
    let (_, listed) = app
        .get(&format!("{PATH}?brand={}", t.brand_a), &t.operator_b)
        .await;
    assert_eq!(listed.as_array().unwrap().len(), 0);
    assert_eq!(
        app.delete(&item(&own), &t.client_admin_b).await,
        StatusCode::NOT_FOUND
    );
    let (status, renamed) = app
        .patch(&item(&own), &t.operator_a, json!({"name": "By the brand"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (&renamed["level"], &renamed["client"]),
        (&json!("client"), &json!(t.client_a))
    );
    // Client-level names are unique per client, apart from the brand's.
    app.create(PATH, admin, with(spend(), json!({"name": "Daily spend"})))
        .await;
    let (status, _) = app
        .post(PATH, admin, with(spend(), json!({"name": "Daily spend"})))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(app.delete(&item(&own), admin).await, StatusCode::NO_CONTENT);
}

/// Records an event directly (evaluation has its own tests): what `/alert_events` lists.
fn record(
    app: &TestApp,
    rule: &Value,
    subject: Option<(&str, &str)>,
    from: &str,
    fired: &str,
    email_status: &str,
) {
    use callcsv::db::alerts::{record_events, AlertEvent};
    let at = |s: &str| callcsv::fields::parse_time(s).unwrap();
    let event = AlertEvent {
        id: uuid::Uuid::now_v7().to_string(),
        rule_id: id(rule),
        brand_id: rule["brand"].as_str().unwrap().into(),
        client_id: rule["client"].as_str().map(str::to_string),
        level: rule["level"].as_str().unwrap().into(),
        rule_name: rule["name"].as_str().unwrap().into(),
        kind: rule["kind"].as_str().unwrap().into(),
        subject_type: subject.map(|s| s.0.to_string()),
        subject_id: subject.map(|s| s.1.to_string()),
        subject_name: subject.map(|s| format!("name of {}", s.1)),
        subject_key: subject.map_or(String::new(), |s| format!("{}:{}", s.0, s.1)),
        window_from: at(from),
        window_to: at(from) + chrono::Duration::days(1),
        measured: "120.5".into(),
        threshold: "100.50".into(),
        previous: None,
        fired_at: at(fired),
        calls: "c1,c2".into(),
        sent_to: String::new(),
        email_status: email_status.into(),
        email_attempts: 0,
        email_error: None,
        email_next_attempt: None,
        email_lease_until: None,
        webhook_status: "none".into(),
        webhook_attempts: 0,
        webhook_error: None,
        webhook_next_attempt: None,
        webhook_lease_until: None,
        created_at: at(fired),
        updated_at: at(fired),
    };
    let mut conn = app.pool().get().unwrap();
    let recorded = record_events(&mut conn, std::slice::from_ref(&event)).unwrap();
    assert_eq!(recorded, std::slice::from_ref(&event.id));
    // The same (rule, subject, window) again records nothing.
    let again = AlertEvent {
        id: uuid::Uuid::now_v7().to_string(),
        ..event
    };
    assert!(record_events(&mut conn, &[again]).unwrap().is_empty());
}

async fn alert_events_are_read_only_and_filtered(app: TestApp) {
    let t = Tenants::create(&app).await;
    let brand_rule = app.create(PATH, &t.operator_a, spend()).await;
    let client_rule = app.create(PATH, &t.client_admin_a, velocity()).await;
    let b_rule = app.create(PATH, &t.operator_b, spend()).await;
    record(
        &app,
        &brand_rule,
        Some(("client", &t.client_a)),
        "2026-11-01T23:00:00Z",
        "2026-11-02T10:00:00Z",
        "pending",
    );
    record(
        &app,
        &brand_rule,
        None,
        "2026-11-01T23:00:00Z",
        "2026-11-02T11:00:00Z",
        "none",
    );
    record(
        &app,
        &client_rule,
        Some(("caller", "+34600000001")),
        "2026-11-02T10:00:00Z",
        "2026-11-02T10:05:00Z",
        "sent",
    );
    record(
        &app,
        &b_rule,
        None,
        "2026-11-01T23:00:00Z",
        "2026-11-02T09:00:00Z",
        "none",
    );

    let (status, all) = app.get("/alert_events", &t.operator_a).await;
    assert_eq!(status, StatusCode::OK);
    let all = all.as_array().unwrap().clone();
    assert_eq!(all.len(), 3);
    // Newest first, with the figures.
    assert_eq!(all[0]["firedAt"], "2026-11-02T11:00:00Z");
    assert!(all[0]["subject"].is_null());
    assert_eq!(
        all[1]["subject"],
        json!({"type": "caller", "id": "+34600000001", "name": "name of +34600000001"})
    );
    let first = &all[2];
    assert_eq!(
        first["window"],
        json!(["2026-11-01T23:00:00Z", "2026-11-02T23:00:00Z"])
    );
    assert_eq!(
        (
            &first["measured"],
            &first["threshold"],
            &first["calls"],
            &first["ruleName"],
            &first["emailStatus"]
        ),
        (
            &json!("120.5"),
            &json!("100.50"),
            &json!(["c1", "c2"]),
            &json!("Daily spend"),
            &json!("pending")
        )
    );

    let count = |v: &Value| v.as_array().unwrap().len();
    let brand_rule_id = id(&brand_rule);
    for (query, expected) in [
        (format!("rule={brand_rule_id}"), 2),
        ("kind=velocity".to_string(), 1),
        ("emailStatus=pending".to_string(), 1),
        ("webhookStatus=none".to_string(), 3),
        (format!("subject={}", t.client_a), 1),
        ("from=2026-11-02T10:05:00Z".to_string(), 2),
        ("to=2026-11-02T10:05:00Z".to_string(), 1),
        (format!("brand={}", t.brand_b), 0),
        ("_order[firedAt]=asc&itemsPerPage=1".to_string(), 1),
    ] {
        let (status, found) = app
            .get(&format!("/alert_events?{query}"), &t.operator_a)
            .await;
        assert_eq!(status, StatusCode::OK, "{query}: {found}");
        assert_eq!(count(&found), expected, "{query}: {found}");
    }
    for bad in [
        "emailStatus=lost",
        "from=yesterday",
        "rule=x",
        "colour=red",
        "from=2026-11-03T00:00:00Z&to=2026-11-02T00:00:00Z",
    ] {
        let (status, _) = app
            .get(&format!("/alert_events?{bad}"), &t.operator_a)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }

    // The client administrator sees its client-level rule's events only; brand B its own.
    let (_, mine) = app.get("/alert_events", &t.client_admin_a).await;
    assert_eq!(count(&mine), 1);
    assert_eq!(mine[0]["rule"], id(&client_rule).as_str());
    let (_, theirs) = app.get("/alert_events", &t.operator_b).await;
    assert_eq!(count(&theirs), 1);
    let (_, everything) = app.get("/alert_events", &app.root).await;
    assert_eq!(count(&everything), 4);

    let one = id(&all[0]);
    let (status, got) = app
        .get(&format!("/alert_events/{one}"), &t.operator_a)
        .await;
    assert_eq!((status, &got), (StatusCode::OK, &all[0]));
    for token in [&t.operator_b, &t.client_admin_a] {
        let (status, _) = app.get(&format!("/alert_events/{one}"), token).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    // Read-only: no writes on events (405), and deleting the rule keeps its events.
    let (status, _) = app.post("/alert_events", &t.operator_a, json!({})).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        app.delete(&item(&brand_rule_id), &t.operator_a).await,
        StatusCode::NO_CONTENT
    );
    let (_, after) = app
        .get(
            &format!("/alert_events?rule={brand_rule_id}"),
            &t.operator_a,
        )
        .await;
    assert_eq!(count(&after), 2);
}
