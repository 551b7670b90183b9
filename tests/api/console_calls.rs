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
    console_calls_sorted_without_an_index_read_a_bounded_range,
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
            "destinationCountry=ES&_order%5Bcallee%5D=desc&from=2026-01-01T00%3A00",
            vec!["+34600999000", "+34600111222"],
        ),
        (
            "_order%5Bcallee%5D=asc&from=2026-01-01T00%3A00",
            vec!["+34600111222", "+34600999000", "+442079460000"],
        ),
        (
            "_order%5Bduration%5D=desc&to=2026-02-01T00%3A00",
            vec!["+34600111222", "+442079460000", "+34600999000"],
        ),
    ] {
        let page = b.get(&format!("/ui/calls?{query}")).await;
        assert_eq!(page.status, StatusCode::OK, "{query}: {}", page.body);
        assert_eq!(callids(&page.body, &all), expected, "{query}");
    }
    // Column titles sort, keeping the filters; the current order is marked.
    let page = b
        .get("/ui/calls?unrated=true&from=2026-01-01T00%3A00&_order%5Bcallee%5D=asc")
        .await;
    assert!(
        page.body.contains(
            "href=\"/ui/calls?from=2026-01-01T00%3A00&#38;unrated=true&#38;_order%5Bcallee%5D=desc\""
        ),
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

/// Sorting by duration, caller or callee sorts every matching call, so the operation takes
/// at most `SORT_CAP` (10 000) of them, from the console and the API alike; the console
/// without a range shows the last 24 hours and says so.
async fn console_calls_sorted_without_an_index_read_a_bounded_range(app: crate::common::TestApp) {
    let w = world(&app).await;
    let op = &w.t.operator_a;
    let now = chrono::Utc::now();
    let at = |hours: i64| (now - chrono::Duration::hours(hours)).to_rfc3339();
    let mut rows = vec![];
    for (callee, hours, seconds) in [
        ("+34600000030", 1, 30),
        ("+34600000090", 2, 90),
        ("+34600000060", 3, 60),
        ("+34600000500", 72, 500),
    ] {
        let mut call = outbound(&w, callee, &at(hours), json!(seconds));
        call["callee"] = json!(callee);
        rows.push(call);
    }
    let (status, body) = app.post("/billable_calls", op, json!(rows)).await;
    assert!(status.is_success(), "{body}");
    let numbers = [
        "+34600000030",
        "+34600000090",
        "+34600000060",
        "+34600000500",
    ];

    let mut b = Browser::signed_in(&app, "op-a", "operator-pw").await;
    let page = b.get("/ui/calls?_order%5Bduration%5D=desc").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(
        callids(&page.body, &numbers),
        ["+34600000090", "+34600000060", "+34600000030"],
        "the last 24 hours, longest first"
    );
    assert!(
        page.body
            .contains("without a range this page shows the last 24 hours"),
        "{}",
        page.body
    );
    // The From it used is in the form, so the next search and the export keep it.
    assert!(
        page.body.contains("name=\"from\" value=\"20"),
        "{}",
        page.body
    );
    // With a range of its own, the page sorts that range and adds no note; by start time
    // nothing is bounded.
    let page = b
        .get("/ui/calls?from=2020-01-01T00%3A00&_order%5Bcallee%5D=desc")
        .await;
    assert_eq!(
        callids(&page.body, &numbers),
        [
            "+34600000500",
            "+34600000090",
            "+34600000060",
            "+34600000030"
        ]
    );
    assert!(!page.body.contains("last 24 hours"));
    let page = b.get("/ui/calls").await;
    assert_eq!(callids(&page.body, &numbers).len(), 4);
    let (status, sorted) = app
        .get("/billable_calls?_order%5Bduration%5D=asc", op)
        .await;
    assert_eq!(status, StatusCode::OK, "{sorted}");
    let seconds: Vec<i64> = sorted
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["billedSeconds"].as_i64().unwrap())
        .collect();
    assert_eq!(seconds, [30, 60, 90, 500]);

    // 10 001 calls in one day: sorting them by duration is refused by both front doors.
    let many: Vec<_> = (0..10_001)
        .map(|i| {
            let start = format!(
                "2026-03-01T{:02}:{:02}:{:02}Z",
                i / 3600,
                i / 60 % 60,
                i % 60
            );
            outbound(&w, &format!("many-{i}"), &start, json!(i % 600))
        })
        .collect();
    let (status, body) = app.post("/billable_calls", op, json!(many)).await;
    assert!(status.is_success(), "{body}");
    assert_eq!(body["accepted"], 10_001, "{body}");
    let day = "from=2026-03-01T00%3A00&to=2026-03-02T00%3A00";
    let page = b
        .get(&format!("/ui/calls?{day}&_order%5Bduration%5D=desc"))
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    assert!(
        page.body.contains(
            "Sorting by billed duration takes at most 10000 calls, and more than that match"
        ),
        "{}",
        page.body
    );
    assert!(page.body.contains("role=\"alert\""));
    assert!(!page.body.contains("many-"), "no rows");
    let api_day = "startTime%5Bafter%5D=2026-03-01T00%3A00%3A00Z&startTime%5Bstrictly_before%5D=2026-03-02T00%3A00%3A00Z";
    let (status, refused) = app
        .get(
            &format!("/billable_calls?{api_day}&_order%5Bcaller%5D=asc"),
            op,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(refused["code"], "invalid_query");
    assert!(
        refused["fields"]["_order[caller]"]
            .as_str()
            .is_some_and(|m| m.contains("at most 10000")),
        "{refused}"
    );
    // By start time the same day pages as before; a shorter range sorts by duration.
    let (status, _) = app
        .get(
            &format!("/billable_calls?{api_day}&_order%5BstartTime%5D=desc"),
            op,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let page = b.get(&format!("/ui/calls?{day}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("more than 10000 in all"),
        "{}",
        page.body
    );
    let page = b
        .get("/ui/calls?from=2026-03-01T01%3A00&to=2026-03-01T02%3A00&_order%5Bduration%5D=desc")
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains(">599 s<"), "{}", page.body);
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
