//! The console's calls pages beyond the search (see `console` for the search itself):
//! every filter of console.md, sortable columns, a call's detail per role, and the rerate
//! of a range (the API's operation), with CSRF, tenancy 404s and escaping.

use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::billable_calls::{outbound, world};
use crate::common::id;
use crate::console::Browser;

backend_tests!(
    console_calls_filter_sort_and_show_a_call,
    console_calls_rerate_a_range_as_the_api_does,
);

/// The callids of a calls page, in the page's order.
fn callids(body: &str, candidates: &[&str]) -> Vec<String> {
    let mut found: Vec<(usize, String)> = candidates
        .iter()
        .filter_map(|c| body.find(&format!(">{c}<")).map(|i| (i, c.to_string())))
        .collect();
    found.sort();
    found.into_iter().map(|(_, c)| c).collect()
}

async fn console_calls_filter_sort_and_show_a_call(app: crate::common::TestApp) {
    let w = world(&app).await;
    let op = &w.t.operator_a;
    let mut uk = outbound(&w, "to-uk", "2026-01-05T11:00:00+01:00", json!(60));
    uk["callee"] = json!("+442079460000");
    let mut hostile = outbound(
        &w,
        "<script>alert(2)</script>",
        "2026-01-05T12:00:00+01:00",
        json!(5),
    );
    hostile["callee"] = json!("+34600999000");
    let rows = json!([
        outbound(&w, "to-es", "2026-01-05T10:00:00+01:00", json!(90)),
        uk,
        hostile,
    ]);
    let (status, body) = app.post("/billable_calls", op, rows).await;
    assert!(status.is_success(), "{body}");
    let (_, calls) = app.get("/billable_calls?callid=to-es", op).await;
    let es = id(&calls[0]);
    let (_, calls) = app.get("/billable_calls?callid=to-uk", op).await;
    let uk = id(&calls[0]);
    let (_, calls) = app
        .get("/billable_calls?number%5Bstart%5D=%2B346009", op)
        .await;
    let script = id(&calls[0]);

    let mut b = Browser::signed_in(&app, "op-a", "operator-pw").await;
    // The callid column is not shown: find the calls by their callees instead.
    let all = ["+34600111222", "+442079460000", "+34600999000"];
    let page = b.get("/ui/calls").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(!page.body.contains("<script>alert(2)"), "escaped");
    for (query, expected) in [
        ("number%5Bstart%5D=%2B44", vec!["+442079460000"]),
        ("number%5Bpartial%5D=6009", vec!["+34600999000"]),
        ("number%5Bpartial%5D=%25", vec![]),
        ("unrated=true", vec!["+442079460000"]),
        ("destinationCountry=GB", vec!["+442079460000"]),
        (
            "destinationCountry=ES&_order%5Bcallee%5D=desc",
            vec!["+34600999000", "+34600111222"],
        ),
        (
            "_order%5Bcallee%5D=asc",
            vec!["+34600111222", "+34600999000", "+442079460000"],
        ),
        (
            "_order%5Bduration%5D=desc",
            vec!["+34600111222", "+442079460000", "+34600999000"],
        ),
    ] {
        let page = b.get(&format!("/ui/calls?{query}")).await;
        assert_eq!(page.status, StatusCode::OK, "{query}: {}", page.body);
        assert_eq!(callids(&page.body, &all), expected, "{query}");
    }
    // Column titles sort, keeping the filters; the current order is marked.
    let page = b.get("/ui/calls?unrated=true&_order%5Bcallee%5D=asc").await;
    assert!(
        page.body
            .contains("href=\"/ui/calls?unrated=true&#38;_order%5Bcallee%5D=desc\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("aria-sort=\"ascending\""));
    let bad = b.get("/ui/calls?unrated=maybe").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    // A call's page: its rating (plan, destination, price and cost), numbers and source.
    let detail = b.get(&format!("/ui/calls/{es}")).await;
    assert_eq!(detail.status, StatusCode::OK, "{}", detail.body);
    for text in [
        "to-es",
        "+34600111222",
        "Spain",
        "0.1500 EUR",
        "0.0750 EUR",
        "Carrier 1",
        "Retail",
    ] {
        assert!(detail.body.contains(text), "{text}: {}", detail.body);
    }
    assert!(detail
        .body
        .contains(&format!("/ui/rating_plans/{}", w.client_plan)));
    let detail = b.get(&format!("/ui/calls/{script}")).await;
    assert!(detail
        .body
        .contains("Call &#60;script&#62;alert(2)&#60;/script&#62;"));
    assert!(!detail.body.contains("<script>alert(2)"));
    let detail = b.get(&format!("/ui/calls/{uk}")).await;
    let (_, api) = app.get(&format!("/billable_calls/{uk}"), op).await;
    let error = api["ratingError"].as_str().expect("a rating error");
    assert!(detail.body.contains(error), "{}", detail.body);

    // The client administrator: the same call without cost, carrier or plan.
    let mut c = Browser::signed_in(&app, "ca-a", "client-pw").await;
    let detail = c.get(&format!("/ui/calls/{es}")).await;
    assert_eq!(detail.status, StatusCode::OK);
    assert!(detail.body.contains("0.1500 EUR"));
    for hidden in ["0.0750", "Carrier 1", "Retail", ">Cost<", "Rating plan"] {
        assert!(!detail.body.contains(hidden), "{hidden}: {}", detail.body);
    }

    // Another brand's operator, a malformed id: the console's 404 page.
    let mut other = Browser::signed_in(&app, "op-b", "operator-pw").await;
    for path in [format!("/ui/calls/{es}"), "/ui/calls/nope".to_string()] {
        let page = other.get(&path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert!(page.body.contains("Not found"));
    }
}

async fn console_calls_rerate_a_range_as_the_api_does(app: crate::common::TestApp) {
    let w = world(&app).await;
    let op = &w.t.operator_a;
    let rows = json!([outbound(
        &w,
        "to-es",
        "2026-01-05T10:00:00+01:00",
        json!(90)
    )]);
    app.post("/billable_calls", op, rows).await;
    // The retail rate doubles; stored calls keep their price until rerated.
    let rates = json!([{"prefix": "+34", "destinationName": "Spain", "rate": "0.20", "rateUnit": 60, "rateIncrement": 1}]);
    let (status, body) = app
        .put(
            &format!("/rating_plans/{}/rates?replace=true", w.client_plan),
            op,
            rates,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let mut b = Browser::signed_in(&app, "op-a", "operator-pw").await;
    let form = b.get("/ui/calls/rerate").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.body.contains("Client A"));
    let csrf = form.csrf();
    let range = [
        ("startTime[after]", "2026-01-05T00:00"),
        ("startTime[strictly_before]", "2026-01-06T00:00"),
    ];
    // Without the token: 403, nothing rerated.
    let refused = b.post("/ui/calls/rerate", &range).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let (_, call) = app.get("/billable_calls?callid=to-es", op).await;
    assert_eq!(call[0]["price"], "0.1500");

    // The operation's own errors, next to their fields.
    let backwards = b
        .post(
            "/ui/calls/rerate",
            &[
                ("_csrf", csrf.as_str()),
                ("startTime[after]", "2026-01-06T00:00"),
                ("startTime[strictly_before]", "2026-01-05T00:00"),
            ],
        )
        .await;
    assert_eq!(backwards.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        backwards
            .body
            .contains("must be later than startTime[after]"),
        "{}",
        backwards.body
    );
    let theirs = b
        .post(
            "/ui/calls/rerate",
            &[
                ("_csrf", csrf.as_str()),
                range[0],
                range[1],
                ("client", w.t.client_b.as_str()),
            ],
        )
        .await;
    assert_eq!(theirs.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        theirs.body.contains("id=\"client-error\">not found"),
        "{}",
        theirs.body
    );

    let done = b
        .post(
            "/ui/calls/rerate",
            &[("_csrf", csrf.as_str()), range[0], range[1]],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(
        done.body.contains("1 calls matched, 1 changed"),
        "{}",
        done.body
    );
    let (_, call) = app.get("/billable_calls?callid=to-es", op).await;
    assert_eq!(call[0]["price"], "0.3000");

    // Client administrators rerate nothing: no form, and a refused POST.
    let mut c = Browser::signed_in(&app, "ca-a", "client-pw").await;
    assert_eq!(
        c.get("/ui/calls/rerate").await.status,
        StatusCode::FORBIDDEN
    );
    let csrf = c.csrf().await;
    let page = c
        .post(
            "/ui/calls/rerate",
            &[("_csrf", csrf.as_str()), range[0], range[1]],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(!c.get("/ui/calls").await.body.contains("Rerate a range"));
}
