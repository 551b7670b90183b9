//! The console's dashboard and statistics pages over HTTP, per role, on both backends: the
//! figures they show equal `GET /stats`'s for the same range, their CSVs are the API's
//! stats CSV, client administrators see no cost nor carriers, another tenant's client is
//! the console's 404, bad input a 400 page, text escaped.

use chrono::{Duration, Utc};
use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::backend_tests;
use crate::billable_calls::{outbound, world, World};
use crate::common::{id, TestApp};
use crate::console::{Browser, Page};

backend_tests!(
    console_dashboard_shows_get_stats_figures_chart_map_and_scheduler_health,
    console_statistics_pages_match_get_stats_and_download_its_csv,
);

/// The text of the element with this id (`<dd id="total-calls">3</dd>` → `3`).
fn by_id(page: &Page, id: &str) -> String {
    let marker = format!("id=\"{id}\">");
    let start = page
        .body
        .find(&marker)
        .unwrap_or_else(|| panic!("no #{id} in {}", page.body))
        + marker.len();
    let end = start + page.body[start..].find('<').unwrap();
    page.body[start..end].to_string()
}

/// The table row whose `data-key` is `key`, its cells' texts.
fn row(page: &Page, key: &str) -> Vec<String> {
    let marker = format!("data-key=\"{key}\">");
    let start = page
        .body
        .find(&marker)
        .unwrap_or_else(|| panic!("no row {key} in {}", page.body))
        + marker.len();
    let end = start + page.body[start..].find("</tr>").unwrap();
    page.body[start..end]
        .split("</td>")
        .filter_map(|cell| {
            cell.rsplit_once('>')
                .map(|(_, text)| text.trim().to_string())
        })
        .collect()
}

/// `0.6667` as the console shows it: `66.67 %`.
fn percent(asr: &Value) -> String {
    let v: rust_decimal::Decimal = asr.as_str().unwrap().parse().unwrap();
    let mut p = v * rust_decimal::Decimal::ONE_HUNDRED;
    p.rescale(2);
    format!("{p} %")
}

/// The totals on `page` are GET /stats's `totals` (money with the brand's currency).
fn assert_totals(page: &Page, api: &Value, costs: bool) {
    let t = &api["totals"];
    assert_eq!(by_id(page, "total-calls"), t["calls"].to_string(), "{api}");
    assert_eq!(by_id(page, "total-answered"), t["answered"].to_string());
    assert_eq!(by_id(page, "total-asr"), percent(&t["asr"]));
    assert_eq!(by_id(page, "total-minutes"), t["minutes"].as_str().unwrap());
    assert_eq!(
        by_id(page, "total-acd"),
        format!("{} s", t["acd"].as_str().unwrap())
    );
    assert_eq!(
        by_id(page, "total-price"),
        format!("{} EUR", t["price"].as_str().unwrap())
    );
    if costs {
        assert_eq!(
            by_id(page, "total-cost"),
            format!("{} EUR", t["cost"].as_str().unwrap())
        );
        assert_eq!(
            by_id(page, "total-margin"),
            format!("{} EUR", t["margin"].as_str().unwrap())
        );
    } else {
        assert!(t.get("cost").is_none(), "{api}");
        for hidden in ["total-cost", "total-margin", ">Cost<", ">Margin<"] {
            assert!(!page.body.contains(hidden), "{hidden} shown");
        }
    }
}

async fn stats(app: &TestApp, token: &str, query: &str) -> Value {
    let (status, body) = app.get(&format!("/stats?{query}"), token).await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    body
}

async fn stats_csv(app: &TestApp, token: &str, query: &str) -> String {
    reqwest::Client::new()
        .get(app.url(&format!("/stats?{query}")))
        .bearer_auth(token)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

fn enc(t: chrono::DateTime<Utc>) -> String {
    url::form_urlencoded::byte_serialize(t.to_rfc3339().as_bytes()).collect()
}

async fn post_calls(app: &TestApp, w: &World, rows: Value) {
    let n = rows.as_array().unwrap().len();
    let (status, body) = app.post("/billable_calls", &w.t.operator_a, rows).await;
    assert!(status.is_success(), "{body}");
    assert_eq!(body["accepted"], n, "{body}");
}

async fn console_dashboard_shows_get_stats_figures_chart_map_and_scheduler_health(app: TestApp) {
    let w = world(&app).await;
    let now = Utc::now();
    let at = |hours: i64| (now - Duration::hours(hours)).to_rfc3339();
    let mut uk = outbound(&w, "uk", &at(4), json!(45));
    uk["callee"] = json!("+442079460000");
    post_calls(
        &app,
        &w,
        json!([
            outbound(&w, "es-1", &at(2), json!(90)),
            outbound(&w, "es-2", &at(3), json!(30)),
            uk,
            outbound(&w, "old", &at(24 * 3), json!(60)),
        ]),
    )
    .await;
    crate::stats::store_unanswered(&app, &w, "busy", (now - Duration::hours(1)).naive_utc()).await;
    let op = &w.t.operator_a;

    let mut b = Browser::signed_in(&app, "op-a", "operator-pw").await;
    let page = b.get("/ui/").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    // The last 24 hours: the same calls as GET /stats over any range holding just them.
    let last_day = format!(
        "startTime[after]={}&startTime[strictly_before]={}",
        enc(now - Duration::hours(20)),
        enc(now + Duration::hours(1))
    );
    let api = stats(&app, op, &last_day).await;
    assert_eq!(api["totals"]["calls"], 4, "{api}");
    assert_totals(&page, &api, true);
    assert!(page.body.contains("Europe/Madrid"), "the zone is named");
    assert!(page.body.contains("aria-current=\"page\">24 hours"));
    // The charts' data (calls per hour, 24 points) and the price/cost chart.
    assert!(page.body.contains("class=\"chart\" data-chart="));
    assert!(page.body.contains("Calls and minutes per hour"));
    assert!(page.body.contains("Price and cost per hour (EUR)"));
    assert!(page.body.contains("/ui/static/uPlot.iife.min.js"));
    // Top destinations: Spain first (most minutes), then the United Kingdom; the map
    // shades Spain darkest.
    let spain = row(&page, "ES");
    assert_eq!(spain[0..3], ["ES", "Spain", "2"], "{spain:?}");
    let api_es = stats(
        &app,
        op,
        &format!("{last_day}&groupBy=country&destinationCountry=ES"),
    )
    .await;
    assert_eq!(spain[5], api_es["rows"][0]["minutes"].as_str().unwrap());
    assert!(page.body.find("data-key=\"ES\"") < page.body.find("data-key=\"GB\""));
    assert!(
        page.body.contains("<path class=\"shade-5\" d=\"M"),
        "Spain darkest"
    );
    assert!(
        page.body.contains("<title>Spain (ES): 2.0 min</title>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("<title>Brazil (BR): 0.0 min</title>"));
    assert!(
        page.body.contains("No scheduler&#39;s last run failed")
            || page.body.contains("No scheduler's last run failed")
    );
    assert!(by_id(&page, "emails-failed") == "0 failed");

    // 7 days hold the older call too.
    let page = b.get("/ui/?range=7d").await;
    assert_eq!(page.status, StatusCode::OK);
    let week = format!(
        "startTime[after]={}&startTime[strictly_before]={}",
        enc(now - Duration::days(5)),
        enc(now + Duration::hours(1))
    );
    let api = stats(&app, op, &week).await;
    assert_eq!(api["totals"]["calls"], 5);
    assert_totals(&page, &api, true);
    assert!(page.body.contains("Calls and minutes per day"));
    assert_eq!(b.get("/ui/?range=30d").await.status, StatusCode::OK);
    let bad = b.get("/ui/?range=1y").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert!(bad.body.contains("range"), "{}", bad.body);

    // The client administrator: its client's calls, no cost, margin nor price/cost chart.
    let mut c = Browser::signed_in(&app, "ca-a", "client-pw").await;
    let page = c.get("/ui/").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let api = stats(&app, &w.t.client_admin_a, &last_day).await;
    assert_totals(&page, &api, false);
    assert!(!page.body.contains("Price and cost"));
    // Another brand's client administrator sees none of brand A's calls.
    let mut other = Browser::signed_in(&app, "ca-b", "client-pw").await;
    let page = other.get("/ui/").await;
    assert_eq!(by_id(&page, "total-calls"), "0");
    assert!(!page.body.contains("data-key=\"ES\""));

    // Scheduler health: a failed last run and a failed report email, their errors escaped.
    let due = (now - Duration::hours(1)).to_rfc3339();
    let scheduler = id(&app
        .create(
            "/call_csv_schedulers",
            op,
            json!({"name": "Nightly <A>", "nextExecution": due, "email": "billing@example.com"}),
        )
        .await);
    app.run_runner_once().await;
    let pool = app.pool();
    let sid = scheduler.clone();
    tokio::task::spawn_blocking(move || {
        use callcsv::db::schema::{call_csv_reports as r, call_csv_schedulers as s};
        let mut conn = pool.get().unwrap();
        diesel::update(s::table.filter(s::id.eq(&sid)))
            .set(s::last_execution_error.eq(Some("<b>disk full</b>")))
            .execute(&mut *conn)
            .unwrap();
        let changed = diesel::update(r::table.filter(r::scheduler_id.eq(&sid)))
            .set((
                r::email_status.eq("failed"),
                r::email_error.eq(Some("550 <mailbox> unavailable")),
            ))
            .execute(&mut *conn)
            .unwrap();
        assert_eq!(changed, 1, "the runner built one report");
    })
    .await
    .unwrap();
    let page = b.get("/ui/").await;
    assert!(page.body.contains("Nightly &#60;A&#62;"), "{}", page.body);
    assert!(page.body.contains("&#60;b&#62;disk full&#60;/b&#62;"));
    assert!(!page.body.contains("<b>disk full"));
    assert!(page.body.contains(&format!("/ui/schedulers/{scheduler}")));
    assert!(by_id(&page, "emails-failed") == "1 failed");
    assert!(page.body.contains("550 &#60;mailbox&#62; unavailable"));
    // Brand B's operator sees neither.
    let mut ob = Browser::signed_in(&app, "op-b", "operator-pw").await;
    let page = ob.get("/ui/").await;
    assert!(!page.body.contains("Nightly"));
    assert!(by_id(&page, "emails-failed") == "0 failed");
}

async fn console_statistics_pages_match_get_stats_and_download_its_csv(app: TestApp) {
    let w = world(&app).await;
    let op = &w.t.operator_a;
    let mut uk = outbound(&w, "uk", "2026-01-06T10:20:00+01:00", json!(45));
    uk["callee"] = json!("+442079460000");
    post_calls(
        &app,
        &w,
        json!([
            outbound(&w, "a", "2026-01-05T10:00:00+01:00", json!(90)),
            outbound(&w, "b", "2026-01-05T11:30:00+01:00", json!(30)),
            outbound(&w, "c", "2026-01-06T10:05:00+01:00", json!(61)),
            uk,
            outbound(&w, "d", "2026-01-20T09:00:00+01:00", json!(120)),
        ]),
    )
    .await;
    let evil = app
        .client(op, &w.t.brand_a, "<script>alert(1)</script>", "retail")
        .await;
    let mut b = Browser::signed_in(&app, "op-a", "operator-pw").await;
    let two_days = "startTime[after]=2026-01-05&startTime[strictly_before]=2026-01-07&timezone=Europe%2FMadrid";

    // Traffic, up to 72 hours: hourly rows, totals and CSV as GET /stats's.
    let page = b
        .get("/ui/statistics/traffic?from=2026-01-05&to=2026-01-06")
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_totals(&page, &stats(&app, op, two_days).await, true);
    let hourly = stats(&app, op, &format!("{two_days}&groupBy=hour")).await;
    assert_eq!(hourly["rows"][0]["key"]["hour"], "2026-01-05T10:00+01:00");
    let ten = row(&page, "2026-01-05 10:00+01:00");
    assert_eq!(ten[1], "1", "{ten:?}");
    assert_eq!(ten[4], hourly["rows"][0]["minutes"].as_str().unwrap());
    assert!(page
        .body
        .contains("Calls and minutes per hour (Europe/Madrid)"));
    assert!(page.body.contains("data-chart="));
    let csv = b
        .get("/ui/statistics/traffic/csv?from=2026-01-05&to=2026-01-06")
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert_eq!(
        csv.body,
        stats_csv(&app, op, &format!("{two_days}&groupBy=hour")).await
    );
    assert!(page
        .body
        .contains("/ui/statistics/traffic/csv?from=2026-01-05&#38;to=2026-01-06"));
    // Longer: daily.
    let month = "startTime[after]=2026-01-01&startTime[strictly_before]=2026-02-01&timezone=Europe%2FMadrid";
    let page = b
        .get("/ui/statistics/traffic?from=2026-01-01&to=2026-01-31")
        .await;
    assert_totals(&page, &stats(&app, op, month).await, true);
    assert_eq!(row(&page, "2026-01-05")[1], "2");
    assert_eq!(row(&page, "2026-01-20")[1], "1");
    let csv = b
        .get("/ui/statistics/traffic/csv?from=2026-01-01&to=2026-01-31")
        .await;
    assert_eq!(
        csv.body,
        stats_csv(&app, op, &format!("{month}&groupBy=day")).await
    );

    // Day comparison: 6 January against the day before, hour by hour.
    let page = b.get("/ui/statistics/compare?day=2026-01-06&days=1").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(row(&page, "10:00"), ["10:00", "2", "1.0", "1.8", "1.5"]);
    assert_eq!(row(&page, "11:00"), ["11:00", "0", "1.0", "0.0", "0.5"]);
    let csv = b
        .get("/ui/statistics/compare/csv?day=2026-01-06&days=1")
        .await;
    assert_eq!(
        csv.body,
        stats_csv(&app, op, &format!("{two_days}&groupBy=hour")).await
    );

    // Countries: table and map, ordered by minutes, as GET /stats.
    let by_country = format!("{month}&groupBy=country&_order[billedSeconds]=desc");
    let api = stats(&app, op, &by_country).await;
    let page = b
        .get("/ui/statistics/countries?from=2026-01-01&to=2026-01-31")
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let es = row(&page, "ES");
    assert_eq!(es[..3], ["ES", "Spain", "4"], "{es:?}");
    assert_eq!(
        es[7],
        format!("{} EUR", api["rows"][0]["price"].as_str().unwrap())
    );
    assert_eq!(
        es[8],
        format!("{} EUR", api["rows"][0]["cost"].as_str().unwrap())
    );
    assert!(page.body.contains("<svg viewBox="));
    assert!(page.body.contains("United Kingdom (GB)"));
    let csv = b
        .get("/ui/statistics/countries/csv?from=2026-01-01&to=2026-01-31")
        .await;
    assert_eq!(csv.body, stats_csv(&app, op, &by_country).await);

    // Carriers (brand only): cost, price, margin.
    let by_carrier = format!("{month}&groupBy=carrier&_order[billedSeconds]=desc");
    let api = stats(&app, op, &by_carrier).await;
    let page = b
        .get("/ui/statistics/carriers?from=2026-01-01&to=2026-01-31")
        .await;
    let carrier = row(&page, &w.carrier);
    assert_eq!(carrier[1], "Carrier 1");
    assert_eq!(
        carrier[9],
        format!("{} EUR", api["rows"][0]["margin"].as_str().unwrap())
    );
    let csv = b
        .get("/ui/statistics/carriers/csv?from=2026-01-01&to=2026-01-31")
        .await;
    assert_eq!(csv.body, stats_csv(&app, op, &by_carrier).await);

    // Clients, names escaped; one client narrows every page, another tenant's is a 404.
    let page = b
        .get("/ui/statistics/clients?from=2026-01-01&to=2026-01-31")
        .await;
    assert_eq!(row(&page, &w.t.client_a)[1], "Client A");
    assert!(
        page.body
            .contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "the choice, escaped"
    );
    assert!(!page.body.contains("<script>alert(1)"));
    let page = b
        .get(&format!(
            "/ui/statistics/traffic?from=2026-01-01&to=2026-01-31&client={evil}"
        ))
        .await;
    assert_eq!(by_id(&page, "total-calls"), "0");
    for path in [
        format!("/ui/statistics/traffic?client={}", w.t.client_b),
        format!("/ui/statistics/countries/csv?client={}", w.t.client_b),
        "/ui/statistics/nowhere".to_string(),
    ] {
        let page = b.get(&path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert!(page.body.contains("Not found"));
    }
    // Bad input: a clear 400 page, never a 500.
    for (path, says) in [
        ("/ui/statistics/traffic?from=yesterday", "from: a date"),
        (
            "/ui/statistics/traffic?from=2026-02-01&to=2026-01-01",
            "after to",
        ),
        (
            "/ui/statistics/traffic?from=2020-01-01&to=2026-01-01",
            "400 days",
        ),
        (
            "/ui/statistics/compare?day=2026-01-06&days=0",
            "days: a whole number",
        ),
        ("/ui/statistics/clients?client=not-an-id", "client"),
    ] {
        let page = b.get(path).await;
        assert_eq!(
            page.status,
            StatusCode::BAD_REQUEST,
            "{path}: {}",
            page.body
        );
        assert!(page.body.contains(says), "{path}: {}", page.body);
    }

    // A client administrator: its own figures, no cost nor margin, no carriers page (the
    // operation's 403), and CSVs without cost.
    let ca = &w.t.client_admin_a;
    let mut c = Browser::signed_in(&app, "ca-a", "client-pw").await;
    let page = c
        .get("/ui/statistics/countries?from=2026-01-01&to=2026-01-31")
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert_totals(&page, &stats(&app, ca, month).await, false);
    assert!(
        !page.body.contains("/ui/statistics/carriers"),
        "no carriers tab"
    );
    assert_eq!(
        c.get("/ui/statistics/carriers").await.status,
        StatusCode::FORBIDDEN
    );
    let csv = c
        .get("/ui/statistics/clients/csv?from=2026-01-01&to=2026-01-31")
        .await;
    let header = csv.body.lines().next().unwrap_or_default().to_string();
    assert!(
        !header.split(',').any(|h| h == "cost" || h == "margin"),
        "{header}"
    );
    assert_eq!(
        csv.body,
        stats_csv(
            &app,
            ca,
            &format!("{month}&groupBy=client&_order[billedSeconds]=desc")
        )
        .await
    );
    // Brand B's operator sees none of it.
    let mut ob = Browser::signed_in(&app, "op-b", "operator-pw").await;
    let page = ob
        .get("/ui/statistics/countries?from=2026-01-01&to=2026-01-31")
        .await;
    assert_eq!(by_id(&page, "total-calls"), "0");
    assert!(!page.body.contains("Client A"));
}
