//! `/call_csv_schedulers`: CRUD, defaults, every field rule of schedulers.md, the
//! "manual edit wins" handling of `nextExecution`, name uniqueness per level, and tenancy.

use chrono::{Datelike, NaiveDate, SecondsFormat, TimeZone, Utc};
use chrono_tz::Tz;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::backend_tests;
use crate::common::{id, Tenants, TestApp};

backend_tests!(
    scheduler_crud_and_defaults,
    scheduler_next_execution_edits,
    scheduler_field_rules,
    scheduler_references,
    scheduler_names_and_levels,
    scheduler_list_filters_and_order,
    scheduler_tenancy_matrix
);

const PATH: &str = "/call_csv_schedulers";

fn item(id: &str) -> String {
    format!("{PATH}/{id}")
}

/// The first day of next month at 08:00 in `tz`, in UTC, as the API writes times.
fn first_of_next_month(tz: Tz) -> String {
    let today = Utc::now().with_timezone(&tz).date_naive();
    let (year, month) = match today.month() {
        12 => (today.year() + 1, 1),
        m => (today.year(), m + 1),
    };
    let local = NaiveDate::from_ymd_opt(year, month, 1)
        .unwrap()
        .and_hms_opt(8, 0, 0)
        .unwrap();
    // 08:00 is never in a DST gap or overlap in the zones used here.
    tz.from_local_datetime(&local)
        .single()
        .unwrap()
        .with_timezone(&Utc)
        .to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The next 08:00 on a first of the month in `tz` after now, in UTC: what a
/// `0 8 1 * *` cron fires next. On the first of a month before 08:00 that is today, not
/// next month.
fn next_first_at_eight(tz: Tz) -> String {
    let now = Utc::now().with_timezone(&tz);
    let today = now.date_naive();
    if today.day() == 1 && now.time() < chrono::NaiveTime::from_hms_opt(8, 0, 0).unwrap() {
        return tz
            .from_local_datetime(&today.and_hms_opt(8, 0, 0).unwrap())
            .single()
            .unwrap()
            .with_timezone(&Utc)
            .to_rfc3339_opts(SecondsFormat::AutoSi, true);
    }
    first_of_next_month(tz)
}

/// Creates through `create` and checks `nextExecution` against the expectation computed
/// just before and just after (the request may straddle a month boundary).
async fn create_expecting_first_run(app: &TestApp, token: &str, body: Value, tz: Tz) -> Value {
    let before = first_of_next_month(tz);
    let created = app.create(PATH, token, body).await;
    let after = first_of_next_month(tz);
    let next = created["nextExecution"].as_str().unwrap().to_string();
    assert!(
        next == before || next == after,
        "nextExecution {next}, expected {before}"
    );
    created
}

/// POSTs `body`, expects a 422 naming `field`, and returns that field's message.
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

/// The objects a scheduler may point at, all of one brand.
struct Refs {
    carrier: String,
    ddi_provider: String,
    /// A DDI of the given client.
    ddi: String,
    /// A User endpoint of the given client.
    user: String,
    /// A Fax endpoint of the given client.
    fax: String,
    template: String,
}

impl Refs {
    async fn create(app: &TestApp, operator: &str, client: &str, tag: &str, number: &str) -> Refs {
        let carrier = app
            .create(
                "/carriers",
                operator,
                json!({"name": format!("Carrier {tag}")}),
            )
            .await;
        let provider = app
            .create(
                "/ddi_providers",
                operator,
                json!({"name": format!("Provider {tag}")}),
            )
            .await;
        let ddi = app
            .create(
                "/ddis",
                operator,
                json!({"client": client, "ddiE164": number}),
            )
            .await;
        let user = app
            .create(
                "/endpoints",
                operator,
                json!({"client": client, "type": "User", "name": "alice"}),
            )
            .await;
        let fax = app
            .create(
                "/endpoints",
                operator,
                json!({"client": client, "type": "Fax", "name": "fax"}),
            )
            .await;
        let template = app
            .create(
                "/notification_templates",
                operator,
                json!({"name": format!("Template {tag}"), "type": "callCsv",
                       "contents": [{"language": "en", "subject": "s", "body": "b"}]}),
            )
            .await;
        Refs {
            carrier: id(&carrier),
            ddi_provider: id(&provider),
            ddi: id(&ddi),
            user: id(&user),
            fax: id(&fax),
            template: id(&template),
        }
    }
}

async fn scheduler_crud_and_defaults(app: TestApp) {
    let t = Tenants::create(&app).await;
    let madrid: Tz = "Europe/Madrid".parse().unwrap();

    // Defaults: monthly, outbound, enabled, no email, brand level, brand's timezone, and the
    // first run on the first of next month at 08:00 local.
    let (status, headers, created) = app
        .call_full(
            Method::POST,
            PATH,
            Some(&t.operator_a),
            Some(json!({"name": "Monthly"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let scheduler = id(&created);
    assert_eq!(headers["location"], item(&scheduler).as_str());
    let before = first_of_next_month(madrid);
    assert_eq!(
        created,
        json!({
            "id": scheduler, "brand": t.brand_a, "client": null, "level": "brand",
            "name": "Monthly", "clientType": null, "unit": "month", "frequency": 1,
            "cron": null, "callDirection": "outbound", "carrier": null, "ddiProvider": null,
            "ddi": null, "endpointType": null, "endpointId": null, "email": "",
            "kind": "calls", "groupBy": null, "destinationCountry": null, "international": null,
            "digest": false,
            "notificationTemplate": null, "timezone": "Europe/Madrid",
            "nextExecution": created["nextExecution"], "lastExecution": null,
            "lastExecutionError": null, "enabled": true,
            "createdAt": created["createdAt"], "updatedAt": created["updatedAt"],
        })
    );
    let next = created["nextExecution"].as_str().unwrap();
    assert!(
        next == before || next == first_of_next_month(madrid),
        "{next} vs {before}"
    );

    // With a client, the client's timezone rules.
    let (status, ny_client) = app
        .post(
            "/clients",
            &t.operator_a,
            json!({"name": "NY", "type": "retail", "timezone": "America/New_York"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let ny = create_expecting_first_run(
        &app,
        &t.operator_a,
        json!({"name": "For NY", "client": id(&ny_client)}),
        "America/New_York".parse().unwrap(),
    )
    .await;
    assert_eq!(
        (&ny["timezone"], &ny["level"]),
        (&json!("America/New_York"), &json!("brand"))
    );

    // Read back, one and all.
    let (status, got) = app.get(&item(&scheduler), &t.operator_a).await;
    assert_eq!((status, &got), (StatusCode::OK, &created));
    let (status, headers, list) = app
        .call_full(
            Method::GET,
            &format!("{PATH}?_order[name]=asc"),
            Some(&t.operator_a),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-total-count"], "2");
    assert_eq!(list[1], created);

    // PUT replaces the whole object: what is left out takes its default again, and an
    // explicit null direction means both directions.
    let (status, replaced) = app
        .put(
            &item(&scheduler),
            &t.operator_a,
            json!({"name": "Weekly", "unit": "week", "frequency": 2, "callDirection": null,
                   "email": "ops@example.com", "enabled": false,
                   "nextExecution": "2030-01-07T08:00:00+01:00"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!(
        (
            &replaced["name"],
            &replaced["unit"],
            &replaced["frequency"],
            &replaced["callDirection"],
            &replaced["email"],
            &replaced["enabled"],
            &replaced["nextExecution"],
            &replaced["createdAt"],
        ),
        (
            &json!("Weekly"),
            &json!("week"),
            &json!(2),
            &Value::Null,
            &json!("ops@example.com"),
            &json!(false),
            &json!("2030-01-07T07:00:00Z"),
            &created["createdAt"],
        )
    );

    // PATCH changes what it names; a PUT echoing a GET (read-only fields included) is fine.
    let (status, patched) = app
        .patch(&item(&scheduler), &t.operator_a, json!({"enabled": true}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (&patched["enabled"], &patched["name"]),
        (&json!(true), &json!("Weekly"))
    );
    assert_eq!(
        patched["callDirection"],
        Value::Null,
        "a PATCH keeps 'both directions'"
    );
    let (status, echoed) = app
        .put(&item(&scheduler), &t.operator_a, patched.clone())
        .await;
    assert_eq!(status, StatusCode::OK, "{echoed}");
    assert_eq!(echoed["nextExecution"], patched["nextExecution"]);

    // DELETE, then it is gone.
    assert_eq!(
        app.delete(&item(&scheduler), &t.operator_a).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&item(&scheduler), &t.operator_a).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.delete(&item(&scheduler), &t.operator_a).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("{PATH}/not-a-uuid"), &t.operator_a)
            .await
            .0,
        StatusCode::BAD_REQUEST
    );

    // Platform administrators name the brand; without one it is a 422 on `brand`.
    let (status, body) = app.post(PATH, &app.root, json!({"name": "Root's"})).await;
    assert_eq!(
        (status, body["fields"]["brand"].is_string()),
        (StatusCode::UNPROCESSABLE_ENTITY, true)
    );
    let by_root = app
        .create(
            PATH,
            &app.root,
            json!({"name": "Root's", "brand": t.brand_b}),
        )
        .await;
    assert_eq!(
        (&by_root["brand"], &by_root["level"]),
        (&json!(t.brand_b), &json!("brand"))
    );

    // No token, no access.
    assert_eq!(
        app.call(Method::GET, PATH, None, None).await.0,
        StatusCode::UNAUTHORIZED
    );
}

async fn scheduler_next_execution_edits(app: TestApp) {
    let t = Tenants::create(&app).await;
    let madrid: Tz = "Europe/Madrid".parse().unwrap();

    // A value given on create is kept as given (in UTC).
    let created = app
        .create(
            PATH,
            &t.operator_a,
            json!({"name": "Edited", "nextExecution": "2026-03-01T08:00:00+01:00"}),
        )
        .await;
    let path = item(&id(&created));
    assert_eq!(created["nextExecution"], "2026-03-01T07:00:00Z");

    // A PATCH that does not mention it keeps the stored value, even when the recurrence
    // changes.
    let (status, patched) = app
        .patch(&path, &t.operator_a, json!({"unit": "day", "frequency": 3}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(patched["nextExecution"], "2026-03-01T07:00:00Z");

    // Manual edit wins: a past value (forcing a rerun) is kept as is.
    let (_, patched) = app
        .patch(
            &path,
            &t.operator_a,
            json!({"nextExecution": "2020-02-01T00:00:00Z", "unit": "month"}),
        )
        .await;
    assert_eq!(patched["nextExecution"], "2020-02-01T00:00:00Z");
    let (_, got) = app.get(&path, &t.operator_a).await;
    assert_eq!(got["nextExecution"], "2020-02-01T00:00:00Z");

    // Explicit null recomputes the first execution from now.
    let before = first_of_next_month(madrid);
    let (status, patched) = app
        .patch(&path, &t.operator_a, json!({"nextExecution": null}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let next = patched["nextExecution"].as_str().unwrap();
    assert!(
        next == before || next == first_of_next_month(madrid),
        "{next}"
    );

    // PUT with a value keeps it too; an invalid time is a 422 on the field.
    let (_, replaced) = app
        .put(
            &path,
            &t.operator_a,
            json!({"name": "Edited", "nextExecution": "2027-01-01T00:00:00.5Z"}),
        )
        .await;
    assert_eq!(replaced["nextExecution"], "2027-01-01T00:00:00.500Z");
    for bad in ["tomorrow", "2027-01-01T00:00:00", "2027-13-01T00:00:00Z"] {
        let (status, body) = app
            .patch(&path, &t.operator_a, json!({"nextExecution": bad}))
            .await;
        assert_eq!(
            (status, body["fields"]["nextExecution"].is_string()),
            (StatusCode::UNPROCESSABLE_ENTITY, true),
            "{bad}: {body}"
        );
    }
    let (status, body) = app
        .patch(&path, &t.operator_a, json!({"nextExecution": 7}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    // A cron scheduler's first run is the expression's next fire time.
    let before = next_first_at_eight(madrid);
    let cron = app
        .create(
            PATH,
            &t.operator_a,
            json!({"name": "Cron", "cron": "0 8 1 * *"}),
        )
        .await;
    assert_eq!(cron["cron"], "0 8 1 * *");
    let next = cron["nextExecution"].as_str().unwrap();
    assert!(
        next == before || next == next_first_at_eight(madrid),
        "{next}"
    );
}

async fn scheduler_field_rules(app: TestApp) {
    let t = Tenants::create(&app).await;
    let op = &t.operator_a;

    // name: required, 1–40 characters.
    rejected(&app, op, json!({}), "name").await;
    rejected(&app, op, json!({"name": "  "}), "name").await;
    rejected(&app, op, json!({"name": "n".repeat(41)}), "name").await;
    app.create(PATH, op, json!({"name": "n".repeat(40)})).await;

    // unit and frequency.
    rejected(&app, op, json!({"name": "u", "unit": "fortnight"}), "unit").await;
    rejected(&app, op, json!({"name": "f0", "frequency": 0}), "frequency").await;
    rejected(
        &app,
        op,
        json!({"name": "f-", "frequency": -1}),
        "frequency",
    )
    .await;
    rejected(
        &app,
        op,
        json!({"name": "f367", "frequency": 367}),
        "frequency",
    )
    .await;
    let yearly = app
        .create(
            PATH,
            op,
            json!({"name": "f366", "unit": "year", "frequency": 366}),
        )
        .await;
    assert_eq!(
        (&yearly["unit"], &yearly["frequency"]),
        (&json!("year"), &json!(366))
    );

    // cron: the parser's words in fields.cron.
    let message = rejected(
        &app,
        op,
        json!({"name": "c", "cron": "every monday"}),
        "cron",
    )
    .await;
    assert!(message.contains("every monday"), "{message}");
    rejected(
        &app,
        op,
        json!({"name": "c2", "cron": "0 99 * * *"}),
        "cron",
    )
    .await;

    // callDirection.
    rejected(
        &app,
        op,
        json!({"name": "d", "callDirection": "sideways"}),
        "callDirection",
    )
    .await;
    let inbound = app
        .create(PATH, op, json!({"name": "in", "callDirection": "inbound"}))
        .await;
    assert_eq!(inbound["callDirection"], "inbound");

    // clientType: only without a client, and one of the client types.
    rejected(
        &app,
        op,
        json!({"name": "ct", "client": t.client_a, "clientType": "vpbx"}),
        "clientType",
    )
    .await;
    rejected(
        &app,
        op,
        json!({"name": "ct", "clientType": "enterprise"}),
        "clientType",
    )
    .await;
    let typed = app
        .create(PATH, op, json!({"name": "ct", "clientType": "retail"}))
        .await;
    assert_eq!(typed["clientType"], "retail");

    // email: empty is none; else 1–10 valid addresses, stored normalised; every invalid
    // one named.
    let message = rejected(
        &app,
        op,
        json!({"name": "e", "email": "ok@example.com, not-an-address, also@bad"}),
        "email",
    )
    .await;
    assert!(
        message.contains("not-an-address")
            && message.contains("also@bad")
            && !message.contains("ok@example.com"),
        "{message}"
    );
    let eleven: Vec<String> = (0..11).map(|i| format!("u{i}@example.com")).collect();
    rejected(
        &app,
        op,
        json!({"name": "e", "email": eleven.join(",")}),
        "email",
    )
    .await;
    let ten = eleven[..10].join(" , ");
    let mailed = app
        .create(PATH, op, json!({"name": "e10", "email": ten}))
        .await;
    assert_eq!(mailed["email"], eleven[..10].join(","));
    let mailed = app
        .create(
            PATH,
            op,
            json!({"name": "e2", "email": " a@example.com ,b@example.org "}),
        )
        .await;
    assert_eq!(mailed["email"], "a@example.com,b@example.org");
    let none = app
        .create(PATH, op, json!({"name": "e0", "email": ""}))
        .await;
    assert_eq!(none["email"], "");
    let blank = app
        .create(PATH, op, json!({"name": "e00", "email": "  "}))
        .await;
    assert_eq!(blank["email"], "");
    for gap in [
        "a@example.com,",
        "a@example.com,,b@example.com",
        ",a@example.com",
    ] {
        let message = rejected(&app, op, json!({"name": "eg", "email": gap}), "email").await;
        assert!(message.contains("empty address"), "{gap}: {message}");
    }
    let repeated = app
        .create(
            PATH,
            op,
            json!({"name": "e3", "email": "a@example.com, A@example.com"}),
        )
        .await;
    assert_eq!(repeated["email"], "a@example.com");

    // nextExecution: an RFC 3339 time from 1970 on.
    rejected(
        &app,
        op,
        json!({"name": "n", "nextExecution": "0001-01-01T08:00:00Z"}),
        "nextExecution",
    )
    .await;
    rejected(
        &app,
        op,
        json!({"name": "n", "nextExecution": "tomorrow"}),
        "nextExecution",
    )
    .await;

    // Body shape: unknown fields and wrong types are a 422, malformed JSON a 400.
    let (status, _) = app
        .post(PATH, op, json!({"name": "x", "colour": "red"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app
        .post(PATH, op, json!({"name": "x", "frequency": "often"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app.post(PATH, op, json!(["name"])).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let res = app
        .http
        .post(app.url(PATH))
        .bearer_auth(op)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let scheduler = app.create(PATH, op, json!({"name": "patch me"})).await;
    let (status, _) = app.patch(&item(&id(&scheduler)), op, json!("name")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app
        .patch(&item(&id(&scheduler)), op, json!({"frequency": 0}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, unchanged) = app.get(&item(&id(&scheduler)), op).await;
    assert_eq!(unchanged, scheduler, "a rejected write changes nothing");
}

async fn scheduler_references(app: TestApp) {
    let t = Tenants::create(&app).await;
    let op = &t.operator_a;
    let other = app.client(op, &t.brand_a, "Other A", "vpbx").await;
    let refs = Refs::create(&app, op, &t.client_a, "A", "+34911000001").await;
    let other_ddi = id(&app
        .create(
            "/ddis",
            op,
            json!({"client": other, "ddiE164": "+34911000002"}),
        )
        .await);
    let other_user = id(&app
        .create(
            "/endpoints",
            op,
            json!({"client": other, "type": "User", "name": "bob"}),
        )
        .await);

    // carrier: outbound only (the default direction), with the spec's message.
    let message = rejected(
        &app,
        op,
        json!({"name": "c", "carrier": refs.carrier, "callDirection": "inbound"}),
        "carrier",
    )
    .await;
    assert_eq!(
        message,
        "Filter by carrier is only possible for outbound calls"
    );
    let message = rejected(
        &app,
        op,
        json!({"name": "c", "carrier": refs.carrier, "callDirection": null}),
        "carrier",
    )
    .await;
    assert_eq!(
        message,
        "Filter by carrier is only possible for outbound calls"
    );
    let with_carrier = app
        .create(PATH, op, json!({"name": "c", "carrier": refs.carrier}))
        .await;
    assert_eq!(with_carrier["carrier"], refs.carrier.as_str());
    // Turning such a scheduler inbound is refused too.
    let (status, body) = app
        .patch(
            &item(&id(&with_carrier)),
            op,
            json!({"callDirection": "inbound"}),
        )
        .await;
    assert_eq!(
        (status, body["fields"]["carrier"].is_string()),
        (StatusCode::UNPROCESSABLE_ENTITY, true)
    );

    // ddiProvider: not for outbound (the default); fine inbound or both.
    rejected(
        &app,
        op,
        json!({"name": "p", "ddiProvider": refs.ddi_provider}),
        "ddiProvider",
    )
    .await;
    app.create(
        PATH,
        op,
        json!({"name": "p1", "ddiProvider": refs.ddi_provider, "callDirection": "inbound"}),
    )
    .await;
    app.create(
        PATH,
        op,
        json!({"name": "p2", "ddiProvider": refs.ddi_provider, "callDirection": null}),
    )
    .await;

    // ddi: one of the chosen client, or of the brand when there is no client.
    rejected(
        &app,
        op,
        json!({"name": "d", "client": t.client_a, "ddi": other_ddi}),
        "ddi",
    )
    .await;
    app.create(
        PATH,
        op,
        json!({"name": "d1", "client": t.client_a, "ddi": refs.ddi}),
    )
    .await;
    app.create(PATH, op, json!({"name": "d2", "ddi": other_ddi}))
        .await;

    // endpointType/endpointId: only with a client; the type fits the client; the id is an
    // endpoint of that client of that type.
    rejected(
        &app,
        op,
        json!({"name": "e", "endpointType": "User"}),
        "endpointType",
    )
    .await;
    rejected(
        &app,
        op,
        json!({"name": "e", "endpointId": refs.user}),
        "endpointId",
    )
    .await;
    rejected(
        &app,
        op,
        json!({"name": "e", "client": t.client_a, "endpointType": "RetailAccount"}),
        "endpointType",
    )
    .await;
    rejected(
        &app,
        op,
        json!({"name": "e", "client": t.client_a, "endpointType": "User", "endpointId": other_user}),
        "endpointId",
    )
    .await;
    rejected(
        &app,
        op,
        json!({"name": "e", "client": t.client_a, "endpointType": "User", "endpointId": refs.fax}),
        "endpointId",
    )
    .await;
    rejected(
        &app,
        op,
        json!({"name": "e", "client": t.client_a, "endpointId": refs.user}),
        "endpointId",
    )
    .await;
    let by_endpoint = app
        .create(
            PATH,
            op,
            json!({"name": "e1", "client": t.client_a, "endpointType": "User", "endpointId": refs.user}),
        )
        .await;
    assert_eq!(
        (&by_endpoint["endpointType"], &by_endpoint["endpointId"]),
        (&json!("User"), &json!(refs.user))
    );
    app.create(
        PATH,
        op,
        json!({"name": "e2", "client": t.client_a, "endpointType": "Fax"}),
    )
    .await;

    // notificationTemplate: a callCsv template of the brand, or a global one.
    let global = app
        .create(
            "/notification_templates",
            &app.root,
            json!({"name": "Global", "type": "callCsv",
                   "contents": [{"language": "en", "subject": "s", "body": "b"}]}),
        )
        .await;
    app.create(
        PATH,
        op,
        json!({"name": "t1", "notificationTemplate": refs.template}),
    )
    .await;
    app.create(
        PATH,
        op,
        json!({"name": "t2", "notificationTemplate": id(&global)}),
    )
    .await;
    rejected(
        &app,
        op,
        json!({"name": "t", "notificationTemplate": uuid::Uuid::new_v4()}),
        "notificationTemplate",
    )
    .await;
    rejected(
        &app,
        op,
        json!({"name": "t", "notificationTemplate": "nope"}),
        "notificationTemplate",
    )
    .await;

    // client: must exist in the brand.
    rejected(
        &app,
        op,
        json!({"name": "x", "client": uuid::Uuid::new_v4()}),
        "client",
    )
    .await;
    rejected(&app, op, json!({"name": "x", "client": "nope"}), "client").await;

    // Client administrators cannot use the brand's filters.
    rejected(
        &app,
        &t.client_admin_a,
        json!({"name": "x", "carrier": refs.carrier}),
        "carrier",
    )
    .await;
    rejected(
        &app,
        &t.client_admin_a,
        json!({"name": "x", "ddiProvider": refs.ddi_provider, "callDirection": "inbound"}),
        "ddiProvider",
    )
    .await;
    // …but may use their own client's DDIs and endpoints.
    let own = app
        .create(
            PATH,
            &t.client_admin_a,
            json!({"name": "x", "ddi": refs.ddi, "endpointType": "User", "endpointId": refs.user}),
        )
        .await;
    assert_eq!(
        (&own["ddi"], &own["level"]),
        (&json!(refs.ddi), &json!("client"))
    );
    rejected(
        &app,
        &t.client_admin_a,
        json!({"name": "y", "ddi": other_ddi}),
        "ddi",
    )
    .await;
}

async fn scheduler_names_and_levels(app: TestApp) {
    let t = Tenants::create(&app).await;
    let client_a2 = app
        .client(&t.operator_a, &t.brand_a, "Client A2", "vpbx")
        .await;
    let admin_a2 = app.client_admin(&client_a2, "ca-a2").await;

    // Brand level: unique within the brand, whatever client it names.
    let brand_level = app
        .create(
            PATH,
            &t.operator_a,
            json!({"name": "Daily", "client": t.client_a}),
        )
        .await;
    let (status, _) = app
        .post(PATH, &t.operator_a, json!({"name": "Daily"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // Another brand may use the name.
    app.create(PATH, &t.operator_b, json!({"name": "Daily"}))
        .await;

    // Client level: the client administrator's client and level are forced.
    let client_level = app
        .create(
            PATH,
            &t.client_admin_a,
            json!({"name": "Daily", "unit": "day"}),
        )
        .await;
    assert_eq!(
        (
            &client_level["client"],
            &client_level["level"],
            &client_level["brand"]
        ),
        (&json!(t.client_a), &json!("client"), &json!(t.brand_a))
    );
    let echoed = app
        .create(
            PATH,
            &t.client_admin_a,
            json!({"name": "Echo", "client": t.client_a, "level": "brand"}),
        )
        .await;
    assert_eq!(echoed["level"], "client", "level is read-only");
    rejected(
        &app,
        &t.client_admin_a,
        json!({"name": "Other", "client": client_a2}),
        "client",
    )
    .await;
    let (status, _) = app
        .post(PATH, &t.client_admin_a, json!({"name": "Daily"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "unique within the client");
    // Another client of the brand may use the same name.
    app.create(PATH, &admin_a2, json!({"name": "Daily"})).await;

    // A client administrator sees only its client's client-level schedulers: not the
    // brand-level one that names its client.
    let (_, list) = app
        .get(&format!("{PATH}?_order[name]=asc"), &t.client_admin_a)
        .await;
    let ids: Vec<String> = list.as_array().unwrap().iter().map(id).collect();
    assert_eq!(ids, [id(&client_level), id(&echoed)]);
    let hidden = item(&id(&brand_level));
    assert_eq!(
        app.get(&hidden, &t.client_admin_a).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.patch(&hidden, &t.client_admin_a, json!({"name": "Mine"}))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.delete(&hidden, &t.client_admin_a).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&item(&id(&client_level)), &admin_a2).await.0,
        StatusCode::NOT_FOUND,
        "not another client's"
    );

    // The brand operator sees and manages them all; a client-level scheduler stays its
    // client's and never gets the brand's filters.
    let (_, headers, _) = app
        .call_full(Method::GET, PATH, Some(&t.operator_a), None)
        .await;
    assert_eq!(headers["x-total-count"], "4");
    let path = item(&id(&client_level));
    let (status, renamed) = app
        .patch(&path, &t.operator_a, json!({"name": "Daily 2"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (&renamed["level"], &renamed["client"]),
        (&json!("client"), &json!(t.client_a))
    );
    let (status, body) = app
        .patch(&path, &t.operator_a, json!({"client": client_a2}))
        .await;
    assert_eq!(
        (status, body["fields"]["client"].is_string()),
        (StatusCode::UNPROCESSABLE_ENTITY, true)
    );
    // Leaving the client out (or null) keeps it: it is forced, as on create.
    let (status, body) = app
        .patch(&path, &t.operator_a, json!({"client": null}))
        .await;
    assert_eq!(
        (status, &body["client"]),
        (StatusCode::OK, &json!(t.client_a))
    );
    let carrier = id(&app
        .create("/carriers", &t.operator_a, json!({"name": "C"}))
        .await);
    let (status, body) = app
        .patch(&path, &t.operator_a, json!({"carrier": carrier}))
        .await;
    assert_eq!(
        (status, body["fields"]["carrier"].is_string()),
        (StatusCode::UNPROCESSABLE_ENTITY, true)
    );

    // The client administrator edits and deletes its own.
    let (status, edited) = app
        .patch(&path, &t.client_admin_a, json!({"email": "me@example.com"}))
        .await;
    assert_eq!(
        (status, &edited["email"]),
        (StatusCode::OK, &json!("me@example.com"))
    );
    // A brand-level scheduler stays brand-level when the operator names a client later.
    let (_, moved) = app
        .patch(
            &hidden,
            &t.operator_a,
            json!({"client": client_a2, "level": "client"}),
        )
        .await;
    assert_eq!(
        (&moved["level"], &moved["client"]),
        (&json!("brand"), &json!(client_a2))
    );
    assert_eq!(
        app.delete(&path, &t.client_admin_a).await,
        StatusCode::NO_CONTENT
    );
}

async fn scheduler_list_filters_and_order(app: TestApp) {
    let t = Tenants::create(&app).await;
    let op = &t.operator_a;
    let b = app
        .create(
            PATH,
            op,
            json!({"name": "b", "nextExecution": "2030-01-01T00:00:00Z"}),
        )
        .await;
    app.create(PATH, op, json!({"name": "a", "client": t.client_a, "enabled": false, "nextExecution": "2031-01-01T00:00:00Z"}))
        .await;
    app.create(
        PATH,
        op,
        json!({"name": "c", "nextExecution": "2029-01-01T00:00:00Z"}),
    )
    .await;
    let names = |list: &Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, list) = app.get(&format!("{PATH}?_order[name]=desc"), op).await;
    assert_eq!(names(&list), ["c", "b", "a"]);
    let (_, list) = app
        .get(&format!("{PATH}?_order[nextExecution]=asc"), op)
        .await;
    assert_eq!(names(&list), ["c", "b", "a"]);
    let (_, list) = app.get(&format!("{PATH}?_order[createdAt]=asc"), op).await;
    assert_eq!(names(&list), ["b", "a", "c"]);
    let (_, list) = app.get(&format!("{PATH}?enabled=false"), op).await;
    assert_eq!(names(&list), ["a"]);
    let (_, list) = app.get(&format!("{PATH}?client={}", t.client_a), op).await;
    assert_eq!(names(&list), ["a"]);
    let (_, list) = app.get(&format!("{PATH}?name=b"), op).await;
    assert_eq!(list[0], b);
    let (_, list) = app.get(&format!("{PATH}?brand={}", t.brand_a), op).await;
    assert_eq!(list.as_array().unwrap().len(), 3);

    // Pagination.
    let (status, headers, page) = app
        .call_full(
            Method::GET,
            &format!("{PATH}?_order[name]=asc&itemsPerPage=1&page=2"),
            Some(op),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page, json!([b]));
    assert_eq!(headers["x-total-count"], "3");
    let link = headers["link"].to_str().unwrap();
    assert!(
        link.contains("rel=\"next\"") && link.contains("rel=\"prev\""),
        "{link}"
    );

    // Bad parameters are a 400, never everything.
    for query in [
        "enabled=maybe",
        "client=nope",
        "brand=nope",
        "colour=red",
        "_order[unit]=asc",
        "_order[name]=up",
        "itemsPerPage=0",
        "page=x",
    ] {
        let (status, body) = app.get(&format!("{PATH}?{query}"), op).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
    }
}

async fn scheduler_tenancy_matrix(app: TestApp) {
    let t = Tenants::create(&app).await;
    let refs_a = Refs::create(&app, &t.operator_a, &t.client_a, "A", "+34911000001").await;
    let refs_b = Refs::create(&app, &t.operator_b, &t.client_b, "B", "+44200000001").await;
    let b_brand_level = app
        .create(
            PATH,
            &t.operator_b,
            json!({"name": "B brand", "client": t.client_b}),
        )
        .await;
    let b_client_level = app
        .create(PATH, &t.client_admin_b, json!({"name": "B client"}))
        .await;
    let mine = app.create(PATH, &t.operator_a, json!({"name": "A"})).await;
    let mine_path = item(&id(&mine));

    // B's schedulers do not exist for operator A or client administrator A.
    for token in [&t.operator_a, &t.client_admin_a] {
        for theirs in [&b_brand_level, &b_client_level] {
            let path = item(&id(theirs));
            assert_eq!(app.get(&path, token).await.0, StatusCode::NOT_FOUND);
            assert_eq!(
                app.put(&path, token, json!({"name": "taken over"})).await.0,
                StatusCode::NOT_FOUND
            );
            assert_eq!(
                app.patch(&path, token, json!({"name": "taken over"}))
                    .await
                    .0,
                StatusCode::NOT_FOUND
            );
            assert_eq!(app.delete(&path, token).await, StatusCode::NOT_FOUND);
        }
        for query in [
            String::new(),
            format!("?brand={}", t.brand_b),
            format!("?client={}", t.client_b),
            "?name=B%20brand".to_string(),
        ] {
            let (status, list) = app.get(&format!("{PATH}{query}"), token).await;
            assert_eq!(status, StatusCode::OK);
            assert!(
                list.as_array()
                    .unwrap()
                    .iter()
                    .all(|s| s["brand"] != t.brand_b.as_str()),
                "{query}: {list}"
            );
        }
    }

    // Linking B's objects from A's scheduler is a 422 on the field, on create and update.
    let links = [
        ("client", json!({"client": t.client_b})),
        ("carrier", json!({"carrier": refs_b.carrier})),
        ("ddi", json!({"ddi": refs_b.ddi})),
        (
            "ddiProvider",
            json!({"ddiProvider": refs_b.ddi_provider, "callDirection": "inbound"}),
        ),
        (
            "endpointId",
            json!({"client": t.client_a, "endpointType": "User", "endpointId": refs_b.user}),
        ),
        (
            "notificationTemplate",
            json!({"notificationTemplate": refs_b.template}),
        ),
    ];
    for (field, link) in &links {
        let mut body = link.clone();
        body["name"] = json!(format!("link {field}"));
        rejected(&app, &t.operator_a, body, field).await;
        let (status, answer) = app.patch(&mine_path, &t.operator_a, link.clone()).await;
        assert_eq!(
            (status, answer["fields"][field].is_string()),
            (StatusCode::UNPROCESSABLE_ENTITY, true),
            "{field}: {answer}"
        );
    }
    // The client administrator cannot reach B's DDI or endpoints either.
    rejected(
        &app,
        &t.client_admin_a,
        json!({"name": "x", "ddi": refs_b.ddi}),
        "ddi",
    )
    .await;
    rejected(
        &app,
        &t.client_admin_a,
        json!({"name": "x", "endpointType": "User", "endpointId": refs_b.user}),
        "endpointId",
    )
    .await;
    // Naming brand B as operator A is refused too.
    let (status, _) = app
        .post(
            PATH,
            &t.operator_a,
            json!({"name": "x", "brand": t.brand_b}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app
        .patch(&mine_path, &t.operator_a, json!({"brand": t.brand_b}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // A's own references still work, and B's schedulers are untouched.
    let (status, _) = app
        .patch(
            &mine_path,
            &t.operator_a,
            json!({"client": t.client_a, "carrier": refs_a.carrier, "ddi": refs_a.ddi,
                   "endpointType": "User", "endpointId": refs_a.user,
                   "notificationTemplate": refs_a.template}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    for theirs in [&b_brand_level, &b_client_level] {
        let (status, now) = app.get(&item(&id(theirs)), &t.operator_b).await;
        assert_eq!((status, &now), (StatusCode::OK, theirs));
    }
    let (_, headers, _) = app
        .call_full(Method::GET, PATH, Some(&t.operator_b), None)
        .await;
    assert_eq!(headers["x-total-count"], "2");
}
