//! `callcsv demo` as a newcomer runs it: the real binary loads the demo tenant, refuses
//! to load it twice, one `run-due --once` builds the due reports, and the API shows the
//! objects, the rated calls, the reports with their CSV, and the email in the outbox.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::Value;

use crate::cli::{callcsv, run, text, Serve};
use crate::common::{create_pg_database, drop_pg_database, Backend};

const PASSWORD: &str = "demo-password-1";

/// Drops the test's PostgreSQL database on the way out, also when an assertion fails.
struct PgDatabase(Option<(String, String)>);

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.0.take() {
            drop_pg_database(&admin_url, &name);
        }
    }
}

async fn get(serve: &Serve, token: &str, path: &str) -> (Value, i64) {
    let res = reqwest::Client::new()
        .get(format!("{}{path}", serve.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "GET {path}");
    let total = res.headers()["x-total-count"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    (res.json().await.unwrap(), total)
}

async fn demo_tenant(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let mut vars = vec![("CALLCSV_RUNNER_INTERVAL", "0")];
    let (pg, url) = match backend {
        Backend::Sqlite => (PgDatabase(None), None),
        Backend::Postgres => {
            let (admin_url, name, url) = create_pg_database();
            (PgDatabase(Some((admin_url, name))), Some(url))
        }
    };
    if let Some(url) = &url {
        vars.push(("CALLCSV_DATABASE_URL", url));
    }

    let out = run(
        callcsv(dir.path(), &vars).args(["demo", "--calls", "3000", "--password", PASSWORD]),
        "",
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}\n{stdout}", text(&out.stderr));
    assert!(
        stdout.contains(&format!("Log in as \"admin\" with password \"{PASSWORD}\"")),
        "{stdout}"
    );
    assert!(
        stdout.contains("3000 calls") && stdout.contains("http://127.0.0.1:8080"),
        "{stdout}"
    );

    // Once is enough: the same brand again is refused and changes nothing.
    let again = run(
        callcsv(dir.path(), &vars).args(["demo", "--calls", "10"]),
        "",
    );
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again.stderr).contains("\"Demo\" exists already"),
        "{}",
        text(&again.stderr)
    );

    // One runner pass builds the three due reports and emails one.
    let pass = run(callcsv(dir.path(), &vars).args(["run-due", "--once"]), "");
    assert!(
        text(&pass.stdout)
            .starts_with("recorded 3 occurrence(s), built 3 report(s), sent 1 email(s)"),
        "{}{}",
        text(&pass.stdout),
        text(&pass.stderr)
    );

    let serve = Serve::start(dir.path(), &vars).await;
    let res = serve.login("admin", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
    let token = res.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let t = token.as_str();

    let (brands, n) = get(&serve, t, "/brands?name=Demo").await;
    assert_eq!(n, 1);
    let brand = brands[0]["id"].as_str().unwrap().to_string();
    assert_eq!(brands[0]["timezone"], "Europe/Madrid");
    let (clients, n) = get(&serve, t, &format!("/clients?brand={brand}")).await;
    assert_eq!(n, 5);
    let types: HashSet<&str> = clients
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect();
    assert_eq!(types.len(), 4, "a client of every type: {types:?}");
    for (path, expected) in [
        ("/carriers", 2),
        ("/ddi_providers", 2),
        ("/rating_plans", 6),
        ("/rating_profiles", 8),
        ("/ddis", 10),
        ("/endpoints", 20),
        ("/call_csv_schedulers", 3),
    ] {
        // The only brand of this database: its objects are all there are.
        let (_, n) = get(&serve, t, path).await;
        assert_eq!(n, expected, "{path}");
    }
    let (plans, _) = get(&serve, t, &format!("/rating_plans?brand={brand}")).await;
    let plan = plans[0]["id"].as_str().unwrap();
    let (_, rates) = get(&serve, t, &format!("/rating_plans/{plan}/rates")).await;
    assert!(rates >= 300, "{rates} rates");

    // The calls, rated: every outbound call has a price but the few to a destination no
    // plan has; inbound calls found their DDI and provider.
    let (_, n) = get(&serve, t, &format!("/billable_calls?brand={brand}")).await;
    assert_eq!(n, 3000);
    let csv = reqwest::Client::new()
        .get(format!("{}/billable_calls?brand={brand}", serve.base))
        .bearer_auth(t)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header = reader.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (direction, price, cost, provider, ddi) = (
        col("direction"),
        col("price"),
        col("cost"),
        col("ddiProvider"),
        col("ddi"),
    );
    let (mut outbound, mut unrated, mut inbound, mut detected) = (0, 0, 0, 0);
    for row in reader.records() {
        let row = row.unwrap();
        if &row[direction] == "outbound" {
            outbound += 1;
            unrated += usize::from(row[price].is_empty());
            assert_eq!(row[price].is_empty(), row[cost].is_empty(), "{row:?}");
        } else {
            inbound += 1;
            assert!(!row[ddi].is_empty(), "{row:?}");
            detected += usize::from(!row[provider].is_empty());
        }
    }
    assert_eq!(outbound + inbound, 3000);
    assert!(
        unrated > 0 && unrated * 100 < outbound,
        "{unrated} unrated of {outbound}"
    );
    assert!(
        inbound > 200 && detected * 2 > inbound,
        "{detected} of {inbound}"
    );

    // The reports the runner pass built, their CSV, and the email in the outbox.
    let (reports, n) = get(&serve, t, &format!("/call_csv_reports?brand={brand}")).await;
    assert_eq!(n, 3, "{reports}");
    for report in reports.as_array().unwrap() {
        assert!(report["rowCount"].as_i64().unwrap() > 0, "{report}");
        let res = reqwest::Client::new()
            .get(format!(
                "{}/call_csv_reports/{}/csv",
                serve.base,
                report["id"].as_str().unwrap()
            ))
            .bearer_auth(t)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let body = res.text().await.unwrap();
        assert!(body.starts_with("callid,startTime,"), "{body}");
    }
    assert!(reports
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["emailStatus"] == "sent"));
    let emails: Vec<_> = std::fs::read_dir(dir.path().join("data/outbox"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    assert_eq!(emails.len(), 1);
    let email = std::fs::read_to_string(&emails[0]).unwrap();
    assert!(email.contains("billing@demo-telecom.example"), "{email}");

    // The client administrator sees its own client's scheduler only.
    let res = serve.login("demo-atlas", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
    let client_token = res.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let (schedulers, n) = get(&serve, &client_token, "/call_csv_schedulers").await;
    assert_eq!(n, 1, "{schedulers}");
    assert_eq!(schedulers[0]["unit"], "week");

    let (status, _, _) = serve.terminate();
    assert!(status.success());
    drop(pg);
}

crate::backend_cases!(demo_tenant);
