//! Summary reports (issue 10, item 4): schedulers of kind `summary` built by the runner,
//! downloaded, and compared figure for figure with `GET /stats` for the same period,
//! filters and grouping; the destination filters on a `calls` report; validation.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::billable_calls::{outbound, world};
use crate::common::{id, Backend, TestApp};
use crate::scheduler_runs::{
    app_with_runner, at_madrid, download, last_complete_month, reports_of, rfc,
};
use crate::smtp::SmtpServer;
use crate::{backend_cases, backend_tests};

backend_cases!(summaries_equal_stats_and_filters_apply_to_calls_reports);
backend_cases!(digest_in_the_email_tells_the_periods_stats);
backend_tests!(summary_fields_are_validated);

/// The CSV as rows of cells (header first).
fn rows_of(bytes: &[u8]) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes);
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

/// `GET /stats` for a report's period, as `token` sees it.
async fn stats_for(app: &TestApp, token: &str, report: &Value, query: &str) -> Value {
    let bound = |v: &Value| v.as_str().unwrap().replace('+', "%2B");
    let path = format!(
        "/stats?startTime[after]={}&startTime[strictly_before]={}&{query}",
        bound(&report["inDate"]),
        bound(&report["outDate"])
    );
    let (status, body) = app.get(&path, token).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

/// Every summary row (and the TOTAL row) carries the figures of the `/stats` row in the
/// same place; keys equal the stats row's key values.
fn assert_same(csv: &[Vec<String>], stats: &Value, dims: &[&str]) {
    let header = &csv[0];
    let rows = stats["rows"].as_array().unwrap();
    assert_eq!(csv.len(), rows.len() + 2, "{csv:?} vs {stats}");
    let col = |name: &str| header.iter().position(|h| h == name);
    let figures = |cells: &[String], expected: &Value| {
        for m in callcsv::stats::measures::Measures::NAMES {
            let Some(i) = col(m) else {
                assert!(expected.get(m).is_none(), "{m} missing from {header:?}");
                continue;
            };
            let want = match &expected[m] {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                v => v.to_string(),
            };
            assert_eq!(cells[i], want, "{m} in {cells:?} vs {expected}");
        }
    };
    for (cells, row) in csv[1..].iter().zip(rows) {
        for d in dims {
            let i = col(d).or_else(|| col(&format!("{d}Id"))).unwrap();
            let want = row["key"][d].as_str().unwrap_or("").to_string();
            assert_eq!(cells[i], want, "{d} in {cells:?} vs {row}");
        }
        figures(cells, row);
    }
    let total = csv.last().unwrap();
    assert_eq!(total[0], "TOTAL");
    figures(total, &stats["totals"]);
}

async fn summaries_equal_stats_and_filters_apply_to_calls_reports(backend: Backend) {
    let app = app_with_runner(backend, None).await;
    let w = world(&app).await;
    let op = &w.t.operator_a;
    let ca = &w.t.client_admin_a;
    let (first, next_month, due) = last_complete_month();
    let day = |n: u64, h: u32| rfc(at_madrid(first + chrono::Days::new(n), h));
    // The client is in Spain: calls to GB and FR are international.
    let (status, body) = app
        .patch(
            &format!("/clients/{}", w.t.client_a),
            op,
            json!({"country": "ES"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let endpoint = id(&app
        .create(
            "/endpoints",
            op,
            json!({"client": w.t.client_a, "type": "User", "name": "Reception"}),
        )
        .await);
    // Priced (ES) on the 2nd; unrated GB and FR calls on the 1st; one after the period.
    let mut es = outbound(&w, "es", &day(1, 12), json!(60));
    es["endpointId"] = json!(endpoint);
    let mut gb = outbound(&w, "gb", &day(0, 12), json!(120));
    gb["callee"] = json!("+442079460000");
    gb["endpointId"] = json!(endpoint);
    let mut fr = outbound(&w, "fr", &day(0, 13), json!(30));
    fr["callee"] = json!("+33142000000");
    let late = outbound(&w, "late", &rfc(at_madrid(next_month, 12)), json!(60));
    let (status, body) = app
        .post("/billable_calls", op, json!([es, gb, fr, late]))
        .await;
    assert_eq!(
        (status, &body["accepted"]),
        (StatusCode::OK, &json!(4)),
        "{body}"
    );

    let monthly = |extra: Value| {
        let mut body = json!({"unit": "month", "nextExecution": rfc(due)});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    // Brand level: by day and country, ordered by price (the 2nd's priced call first).
    let brand_summary = id(&app
        .create(
            "/call_csv_schedulers",
            op,
            monthly(json!({"name": "By day", "kind": "summary", "groupBy": "day,country"})),
        )
        .await);
    // A calls report with both new filters: international calls to GB or ES → only GB.
    let filtered = id(&app
        .create(
            "/call_csv_schedulers",
            op,
            monthly(json!({"name": "Intl", "destinationCountry": "GB,ES", "international": true})),
        )
        .await);
    // Client level without billing details: WxC Minute Tracker's report.
    let (status, body) = app
        .patch(
            &format!("/clients/{}", w.t.client_a),
            op,
            json!({"showBillingDetails": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let client_summary = id(&app
        .create(
            "/call_csv_schedulers",
            ca,
            monthly(
                json!({"name": "Minutes", "kind": "summary", "groupBy": "endpoint",
                           "international": true}),
            ),
        )
        .await);

    let report = reports_of(&app, op, &brand_summary, 1, &["none"]).await[0].clone();
    assert!(
        report["csv"]["fileName"]
            .as_str()
            .unwrap()
            .ends_with("-summary.csv"),
        "{report}"
    );
    let (_, bytes) = download(&app, op, report["id"].as_str().unwrap()).await;
    let csv = rows_of(&bytes);
    assert_eq!(
        csv[0].join(","),
        "day,country,countryName,calls,answered,asr,billedSeconds,minutes,acd,cost,price,margin,unrated"
    );
    let stats = stats_for(&app, op, &report, "groupBy=day,country&_order[price]=desc").await;
    assert_same(&csv, &stats, &["day", "country"]);
    let keys: Vec<String> = csv[1..].iter().map(|r| r[..3].join("/")).collect();
    let (d1, d2) = (
        first.to_string(),
        (first + chrono::Days::new(1)).to_string(),
    );
    assert_eq!(
        keys,
        vec![
            format!("{d2}/ES/Spain"),
            format!("{d1}/FR/France"),
            format!("{d1}/GB/United Kingdom"),
            "TOTAL//".to_string(),
        ]
    );
    assert_eq!(csv[1][10], "0.1000", "the priced call's price: {csv:?}");
    assert_eq!(csv[4][3], "3", "the TOTAL counts the period's three calls");

    let report = reports_of(&app, op, &filtered, 1, &["none"]).await[0].clone();
    assert!(!report["csv"]["fileName"]
        .as_str()
        .unwrap()
        .ends_with("-summary.csv"));
    let (_, bytes) = download(&app, op, report["id"].as_str().unwrap()).await;
    let calls: Vec<String> = rows_of(&bytes)[1..].iter().map(|r| r[0].clone()).collect();
    assert_eq!(calls, vec!["gb"]);

    let report = reports_of(&app, ca, &client_summary, 1, &["none"]).await[0].clone();
    let (_, bytes) = download(&app, ca, report["id"].as_str().unwrap()).await;
    let csv = rows_of(&bytes);
    assert_eq!(
        String::from_utf8(bytes).unwrap(),
        format!(
            "endpointId,endpointName,calls,answered,asr,billedSeconds,minutes,acd,price,unrated\r\n\
             ,,1,1,1.0000,30,0.5,30.0,,1\r\n\
             {endpoint},Reception,1,1,1.0000,120,2.0,120.0,,1\r\n\
             TOTAL,,2,2,1.0000,150,2.5,75.0,,2\r\n"
        )
    );
    let stats = stats_for(&app, ca, &report, "groupBy=endpoint&international=true").await;
    assert_same(&csv, &stats, &["endpoint"]);
}

async fn summary_fields_are_validated(app: TestApp) {
    let w = world(&app).await;
    let (op, ca) = (&w.t.operator_a, &w.t.client_admin_a);
    let cases = [
        (op, json!({"kind": "summary"}), "groupBy", "required"),
        (
            op,
            json!({"groupBy": "day"}),
            "groupBy",
            "only for kind summary",
        ),
        (op, json!({"kind": "pivot"}), "kind", "calls or summary"),
        (
            op,
            json!({"kind": "summary", "groupBy": "planet"}),
            "groupBy",
            "planet",
        ),
        (
            op,
            json!({"kind": "summary", "groupBy": "day,month"}),
            "groupBy",
            "at most one",
        ),
        (
            op,
            json!({"kind": "summary", "groupBy": "brand"}),
            "groupBy",
            "brand",
        ),
        (
            ca,
            json!({"kind": "summary", "groupBy": "carrier"}),
            "groupBy",
            "carrier",
        ),
        (
            op,
            json!({"destinationCountry": "GB,gbr"}),
            "destinationCountry",
            "\"gbr\"",
        ),
        (op, json!({"international": "yes"}), "", ""),
        (
            op,
            json!({"kind": "summary", "groupBy": "day", "unit": "year", "frequency": 2}),
            "frequency",
            "400 days",
        ),
    ];
    for (token, extra, field, words) in cases {
        let mut body = json!({"name": "S"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let (status, answer) = app.post("/call_csv_schedulers", token, body).await;
        if field.is_empty() {
            assert!(status.is_client_error(), "{extra}: {status} {answer}");
            continue;
        }
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{extra}: {answer}"
        );
        let message = answer["fields"][field].as_str().unwrap_or_default();
        assert!(message.contains(words), "{extra}: {answer}");
    }
    // A brand's summary by carrier and a client's by endpoint are fine; the view shows them.
    let (status, made) = app
        .post(
            "/call_csv_schedulers",
            op,
            json!({"name": "Carriers", "kind": "summary", "groupBy": "month,carrier",
                   "destinationCountry": "GB,IE", "international": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(
        (
            &made["kind"],
            &made["groupBy"],
            &made["destinationCountry"],
            &made["international"]
        ),
        (
            &json!("summary"),
            &json!("month,carrier"),
            &json!("GB,IE"),
            &json!(true)
        )
    );
    let (status, made) = app
        .post(
            "/call_csv_schedulers",
            ca,
            json!({"name": "Mine", "kind": "summary", "groupBy": "endpoint"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let (_, plain) = app
        .post("/call_csv_schedulers", op, json!({"name": "Plain"}))
        .await;
    assert_eq!(
        (&plain["kind"], &plain["groupBy"]),
        (&json!("calls"), &Value::Null)
    );
}

/// The line of a digest's text that starts with `label`, e.g. `Price:         0.1000 EUR`.
fn line<'a>(text: &'a str, label: &str) -> &'a str {
    text.lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no {label:?} line in {text}"))
}

/// A scheduler with `digest: true` sends its period's figures in the body, as text and as
/// HTML, equal to `GET /stats` for the same period and filters; a client's digest without
/// billing details shows no money; a scheduler without it sends the body alone.
async fn digest_in_the_email_tells_the_periods_stats(backend: Backend) {
    let smtp = SmtpServer::start();
    let app = app_with_runner(backend, Some(&smtp)).await;
    let w = world(&app).await;
    let (op, ca) = (&w.t.operator_a, &w.t.client_admin_a);
    let (first, _, due) = last_complete_month();
    let day = |n: u64, h: u32| rfc(at_madrid(first + chrono::Days::new(n), h));
    // Priced ES call on the 2nd; GB and FR (unrated) on the 1st; an unanswered GB attempt.
    let es = outbound(&w, "es", &day(1, 12), json!(60));
    let mut gb = outbound(&w, "gb", &day(0, 12), json!(120));
    gb["callee"] = json!("+442079460000");
    let mut fr = outbound(&w, "fr", &day(0, 13), json!(30));
    fr["callee"] = json!("+33142000000");
    let (status, body) = app.post("/billable_calls", op, json!([es, gb, fr])).await;
    assert_eq!(
        (status, &body["accepted"]),
        (StatusCode::OK, &json!(3)),
        "{body}"
    );
    let (status, body) = app
        .patch(
            &format!("/clients/{}", w.t.client_a),
            op,
            json!({"showBillingDetails": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let monthly = |name: &str, email: &str, digest: bool| {
        json!({"name": name, "unit": "month", "nextExecution": rfc(due),
               "email": email, "digest": digest})
    };
    let brand = app
        .create(
            "/call_csv_schedulers",
            op,
            monthly("Brand", "brand@example.com", true),
        )
        .await;
    assert_eq!(brand["digest"], json!(true), "{brand}");
    let brand = id(&brand);
    let client = id(&app
        .create(
            "/call_csv_schedulers",
            ca,
            monthly("Client", "client@example.com", true),
        )
        .await);
    let plain = id(&app
        .create(
            "/call_csv_schedulers",
            op,
            monthly("Plain", "plain@example.com", false),
        )
        .await);
    let mails = smtp.wait_for(3, std::time::Duration::from_secs(40)).await;
    let mail_to = |to: &str| {
        mails
            .iter()
            .map(|m| m.parsed())
            .find(|m| m.to == vec![to.to_string()])
            .unwrap_or_else(|| panic!("no mail to {to}"))
    };

    // Brand: every total equals /stats' for the report's period, with the currency.
    let report = reports_of(&app, op, &brand, 1, &["sent"]).await[0].clone();
    let totals = stats_for(&app, op, &report, "").await["totals"].clone();
    let mail = mail_to("brand@example.com");
    let text = &mail.body;
    assert!(
        text.starts_with("Greetings"),
        "the template's text first: {text}"
    );
    assert_eq!(
        line(text, "Calls:"),
        format!("Calls:         {}", totals["calls"])
    );
    assert_eq!(totals["calls"], json!(3), "{totals}");
    for (label, key) in [
        ("Minutes:", "minutes"),
        ("Price:", "price"),
        ("Cost:", "cost"),
        ("Margin:", "margin"),
    ] {
        let value = totals[key].as_str().unwrap();
        assert!(
            line(text, label).contains(&format!(" {value}")),
            "{label} {value}: {text}"
        );
    }
    // The brand's currency (EUR by default) after every amount.
    assert!(line(text, "Price:").ends_with(" EUR"), "{text}");
    assert_eq!(
        line(text, "Unrated calls:"),
        format!("Unrated calls: {}", totals["unrated"])
    );
    // Top destinations by minutes: GB (2.0), ES (1.0), FR (0.5).
    let top: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("Top destinations"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(top, vec!["GB", "ES", "FR"], "{text}");
    // Every day of the month, the ones without calls too.
    let days: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("Per day"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect();
    let month_days =
        (due.with_timezone(&chrono_tz::Europe::Madrid).date_naive() - first).num_days();
    assert_eq!(days.len() as i64, month_days, "{text}");
    assert!(
        days[0]
            .trim()
            .starts_with(&format!("{first}        2 calls        2.5 min")),
        "{days:?}"
    );
    let html = mail.html.expect("an HTML part");
    assert!(
        html.contains("United Kingdom (GB)") && html.contains("<table>"),
        "{html}"
    );
    assert!(
        html.contains(&format!(">{} ", totals["price"].as_str().unwrap())),
        "{html}"
    );
    // The CSV is still attached.
    let (_, csv) = download(&app, op, report["id"].as_str().unwrap()).await;
    assert_eq!(mail.attachment.as_deref(), Some(&csv[..]));

    // Client without billing details: figures, no money.
    reports_of(&app, ca, &client, 1, &["sent"]).await;
    let mail = mail_to("client@example.com");
    assert!(line(&mail.body, "Calls:").ends_with(" 3"), "{}", mail.body);
    for word in ["Price", "Cost", "Margin"] {
        assert!(!mail.body.contains(word), "{word}: {}", mail.body);
        assert!(!mail.html.as_deref().unwrap().contains(word));
    }
    // Without a digest: the template's text alone, no HTML part.
    reports_of(&app, op, &plain, 1, &["sent"]).await;
    let mail = mail_to("plain@example.com");
    assert!(!mail.body.contains("Calls:"), "{}", mail.body);
    assert_eq!(mail.html, None);
}
