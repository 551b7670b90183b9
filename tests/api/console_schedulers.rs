//! The scheduler form's summary fields (kind, groupBy, destinationCountry, international)
//! and the filters it offers per role and client: what the form sends is what the API
//! stores, errors come back next to their fields.

use reqwest::StatusCode;

use crate::backend_tests;
use crate::common::{id, Tenants, TestApp};
use crate::console::Browser;

backend_tests!(console_scheduler_form_sets_summary_fields_and_fits_its_filters);

async fn console_scheduler_form_sets_summary_fields_and_fits_its_filters(app: TestApp) {
    let t = Tenants::create(&app).await;
    let mut b = Browser::signed_in(&app, "op-a", "operator-pw").await;
    let form = b.get("/ui/schedulers/new").await;
    assert_eq!(form.status, StatusCode::OK);
    for field in [
        "name=\"kind\"",
        "name=\"groupBy1\"",
        "name=\"destinationCountry\"",
        "name=\"international\"",
    ] {
        assert!(form.body.contains(field), "{field}");
    }
    // The brand's form groups by carrier too; the client select names each client's type.
    assert!(form.body.contains("<option value=\"carrier\""));
    assert!(form.body.contains("data-type=\"vpbx\""));
    let csrf = form.csrf();
    let summary = |name: &'static str, group1: &'static str, country: &'static str| {
        vec![
            ("name", name),
            ("unit", "month"),
            ("frequency", "1"),
            ("callDirection", "outbound"),
            ("kind", "summary"),
            ("groupBy1", group1),
            ("groupBy2", "client"),
            ("destinationCountry", country),
            ("international", "true"),
            ("digest", "on"),
        ]
    };
    let with_csrf = |fields: Vec<(&'static str, &'static str)>, csrf: &str| {
        let mut v: Vec<(String, String)> = vec![("_csrf".into(), csrf.to_string())];
        v.extend(
            fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        v
    };

    // Without the token: 403, nothing made.
    let fields = summary("<b>By country</b>", "country", "GB,IE");
    let refused = b.post("/ui/schedulers", &fields).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    // The operation's errors, next to their fields, the values kept.
    let bad = with_csrf(summary("Bad", "client", "XX"), &csrf);
    let bad: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let page = b.post("/ui/schedulers", &bad).await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("id=\"groupBy-error\">client given twice"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("id=\"destinationCountry-error\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("value=\"XX\""));

    let good = with_csrf(summary("<b>By country</b>", "country", "GB,IE"), &csrf);
    let good: Vec<(&str, &str)> = good.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let made = b.post("/ui/schedulers", &good).await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let (_, list) = app.get("/call_csv_schedulers", &t.operator_a).await;
    let s = &list[0];
    assert_eq!(s["kind"], "summary");
    assert_eq!(s["groupBy"], "country,client");
    assert_eq!(s["destinationCountry"], "GB,IE");
    assert_eq!(s["international"], true);
    assert_eq!(s["digest"], true);
    let sid = id(s);

    // The edit form shows them, escaped; saving with one dimension and "any" keeps that.
    let edit = b.get(&format!("/ui/schedulers/{sid}")).await;
    assert!(
        edit.body.contains("<option value=\"summary\" selected>"),
        "{}",
        edit.body
    );
    assert!(edit.body.contains("<option value=\"country\" selected>"));
    assert!(edit.body.contains("<option value=\"client\" selected>"));
    assert!(edit.body.contains("<option value=\"true\" selected>"));
    assert!(edit
        .body
        .contains("id=\"digest\" name=\"digest\" type=\"checkbox\" checked"));
    assert!(edit.body.contains("&#60;b&#62;By country&#60;/b&#62;"));
    assert!(!edit.body.contains("<b>By country"));
    let saved = b
        .post(
            &format!("/ui/schedulers/{sid}"),
            &[
                ("_csrf", csrf.as_str()),
                ("name", "By country"),
                ("unit", "month"),
                ("frequency", "1"),
                ("callDirection", "outbound"),
                ("kind", "summary"),
                ("groupBy1", "country"),
                ("groupBy2", ""),
                ("destinationCountry", ""),
                ("international", ""),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let (_, s) = app
        .get(&format!("/call_csv_schedulers/{sid}"), &t.operator_a)
        .await;
    assert_eq!(s["groupBy"], "country");
    assert_eq!(s["destinationCountry"], serde_json::Value::Null);
    assert_eq!(s["international"], serde_json::Value::Null);
    assert_eq!(s["digest"], false, "an unticked box");
    // Back to a calls report: the grouping goes.
    let saved = b
        .post(
            &format!("/ui/schedulers/{sid}"),
            &[
                ("_csrf", csrf.as_str()),
                ("name", "By country"),
                ("unit", "month"),
                ("frequency", "1"),
                ("kind", "calls"),
                ("groupBy1", "country"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let (_, s) = app
        .get(&format!("/call_csv_schedulers/{sid}"), &t.operator_a)
        .await;
    assert_eq!(
        (s["kind"].as_str(), &s["groupBy"]),
        (Some("calls"), &serde_json::Value::Null)
    );

    // Another brand's scheduler: the 404 page, for the form and its POST.
    let mut other = Browser::signed_in(&app, "op-b", "operator-pw").await;
    assert_eq!(
        other.get(&format!("/ui/schedulers/{sid}")).await.status,
        StatusCode::NOT_FOUND
    );

    // A client administrator (of a vpbx client): no supplier groupings, and only the
    // endpoint types a vpbx client has.
    let mut c = Browser::signed_in(&app, "ca-a", "client-pw").await;
    let form = c.get("/ui/schedulers/new").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        !form.body.contains("<option value=\"carrier\""),
        "{}",
        form.body
    );
    assert!(!form.body.contains("<option value=\"ddiProvider\""));
    assert!(form.body.contains("<option value=\"endpoint\""));
    assert!(form.body.contains("<option value=\"Friend\""));
    assert!(!form.body.contains("<option value=\"RetailAccount\""));
}
