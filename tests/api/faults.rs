//! Fault tests against the real binary (`callcsv serve` as child processes, each with its
//! own data dir and database): a crash (abort, like `kill -9`) at each step of a run and a
//! restart finish every occurrence with exactly one report and one email (a second copy
//! only in the flagged SMTP-accepted-before-commit case); SMTP refusing, answering 4xx then
//! recovering, answering 5xx; and two instances on one PostgreSQL racing over 1 000 due
//! occurrences without a duplicate.
//!
//! Every child is killed when its guard is dropped; when a test fails, the guards print the
//! tail of each child's log (stdout and stderr) on the way out.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, DurationRound, SecondsFormat, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::backend_cases;
use crate::common::{pg_url, Backend, ROOT_PASSWORD, ROOT_USER};
use crate::smtp::SmtpServer;

backend_cases!(
    crash_after_claim,
    crash_mid_csv,
    crash_after_report_commit,
    crash_before_smtp,
    crash_after_smtp,
    smtp_refused_then_back_4xx_then_recovered_and_5xx,
);

async fn crash_after_claim(backend: Backend) {
    crash_and_restart(backend, "after_claim").await;
}

async fn crash_mid_csv(backend: Backend) {
    crash_and_restart(backend, "mid_csv").await;
}

async fn crash_after_report_commit(backend: Backend) {
    crash_and_restart(backend, "after_report_commit").await;
}

async fn crash_before_smtp(backend: Backend) {
    crash_and_restart(backend, "before_smtp").await;
}

async fn crash_after_smtp(backend: Backend) {
    crash_and_restart(backend, "after_smtp").await;
}

// ---- the database, the child processes, the HTTP client -----------------------------

/// The service's database: SQLite in the data dir (the default URL), or a fresh
/// PostgreSQL database dropped again at the end.
struct Database {
    /// `CALLCSV_DATABASE_URL` for PostgreSQL; `None` = the default SQLite file.
    url: Option<String>,
    /// (admin url, database name) to drop.
    pg: Option<(String, String)>,
}

impl Database {
    async fn new(backend: Backend) -> Database {
        match backend {
            Backend::Sqlite => Database {
                url: None,
                pg: None,
            },
            Backend::Postgres => {
                let (admin_url, name, url) =
                    tokio::task::spawn_blocking(crate::common::create_pg_database)
                        .await
                        .unwrap();
                Database {
                    url: Some(url),
                    pg: Some((admin_url, name)),
                }
            }
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.pg.take() {
            use diesel::{Connection, PgConnection, RunQueryDsl};
            if let Ok(mut conn) = PgConnection::establish(&admin_url) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn);
            }
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// One `callcsv serve` child. Killed (and reaped) on drop; prints its log tail then if the
/// test is failing.
struct Service {
    label: String,
    child: Child,
    base: String,
    log: PathBuf,
    http: reqwest::Client,
    exited: Option<ExitStatus>,
}

impl Service {
    /// Starts the binary on a free port with the fault-test settings, `extra` overriding
    /// them. Its stdout and stderr go to `<log_dir>/<label>.log`.
    fn spawn(
        label: &str,
        data_dir: &Path,
        log_dir: &Path,
        db: &Database,
        smtp_url: &str,
        extra: &[(&str, &str)],
    ) -> Service {
        let port = free_port();
        let log = log_dir.join(format!("{}.log", label.replace(' ', "-")));
        let out = std::fs::File::create(&log).expect("child log file");
        let err = out.try_clone().expect("child log file");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_callcsv"));
        cmd.arg("serve");
        // Nothing of the test process's own CALLCSV_* settings leaks into the child (an
        // unknown variable would even stop it), and no .env file is picked up.
        for (key, _) in std::env::vars() {
            if key.starts_with("CALLCSV_") {
                cmd.env_remove(key);
            }
        }
        let mut vars: BTreeMap<&str, String> = BTreeMap::new();
        vars.insert("CALLCSV_DATA_DIR", data_dir.to_string_lossy().into());
        vars.insert("CALLCSV_BIND", format!("127.0.0.1:{port}"));
        vars.insert("CALLCSV_BOOTSTRAP_ADMIN", ROOT_USER.into());
        vars.insert("CALLCSV_BOOTSTRAP_PASSWORD", ROOT_PASSWORD.into());
        vars.insert("CALLCSV_RUNNER_INTERVAL", "1".into());
        vars.insert("CALLCSV_REPORT_LEASE_SECONDS", "5".into());
        vars.insert("CALLCSV_MAIL_BACKOFF_SECONDS", "1".into());
        vars.insert("CALLCSV_SMTP_URL", smtp_url.into());
        vars.insert("CALLCSV_LOG", "warn".into());
        vars.insert("CALLCSV_DB_POOL_SIZE", "4".into());
        // One send at a time, so "the message accepted just before the crash" is one
        // message: with several in flight, each one handed over when the process died is
        // (rightly) flagged too.
        vars.insert("CALLCSV_MAIL_CONCURRENCY", "1".into());
        if let Some(url) = &db.url {
            vars.insert("CALLCSV_DATABASE_URL", url.clone());
        }
        for (k, v) in extra {
            vars.insert(k, v.to_string());
        }
        cmd.envs(&vars)
            .current_dir(data_dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        let child = cmd.spawn().expect("spawn the callcsv binary");
        Service {
            label: label.to_string(),
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
            http: http_client(),
            exited: None,
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The last lines of the child's output, for failure messages.
    fn tail(&self) -> String {
        let text = self.log_text();
        let lines: Vec<&str> = text.lines().collect();
        let from = lines.len().saturating_sub(40);
        format!(
            "---- {} ({}), last {} log lines ----\n{}\n----",
            self.label,
            self.base,
            lines.len() - from,
            lines[from..].join("\n")
        )
    }

    fn try_exit(&mut self) -> Option<ExitStatus> {
        if self.exited.is_none() {
            self.exited = self.child.try_wait().expect("try_wait");
        }
        self.exited
    }

    /// Polls `/readyz` until it answers 200 (60 s at most; fails at once if the child died).
    async fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.try_exit() {
                panic!("{} exited ({status}) before being ready", self.label);
            }
            if let Ok(res) = self.http.get(format!("{}/readyz", self.base)).send().await {
                if res.status() == StatusCode::OK {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "{} not ready after 60 s",
                self.label
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits for the child to exit on its own (the crash point), at most `timeout`.
    async fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_exit() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "{} still running after {timeout:?}: it never reached its crash point",
                self.label
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if self.try_exit().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            eprintln!("{}", self.tail());
        }
    }
}

fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// A logged-in caller of one service.
#[derive(Clone)]
struct Api {
    base: String,
    http: reqwest::Client,
    token: String,
}

impl Api {
    /// Logs in on `svc`.
    async fn login(svc: &Service, username: &str, password: &str) -> Api {
        let anonymous = Api {
            base: svc.base.clone(),
            http: svc.http.clone(),
            token: String::new(),
        };
        anonymous.login_as(username, password).await
    }

    /// Another caller of the same service.
    async fn login_as(&self, username: &str, password: &str) -> Api {
        let mut api = Api {
            token: String::new(),
            ..self.clone()
        };
        let (status, _, body) = api
            .call(
                Method::POST,
                "/auth/login",
                Some(json!({"username": username, "password": password})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "login {username}: {body}");
        api.token = body["token"].as_str().unwrap().to_string();
        api
    }

    /// The same caller (same token) talking to another service of the same deployment.
    fn on(&self, svc: &Service) -> Api {
        Api {
            base: svc.base.clone(),
            http: svc.http.clone(),
            token: self.token.clone(),
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if !self.token.is_empty() {
            req = req.bearer_auth(&self.token);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        assert_ne!(
            status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{method} {path}: {value}"
        );
        (status, headers, value)
    }

    async fn get(&self, path: &str) -> Value {
        let (status, _, body) = self.call(Method::GET, path, None).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        body
    }

    async fn create(&self, path: &str, body: Value) -> Value {
        let (status, _, created) = self.call(Method::POST, path, Some(body.clone())).await;
        assert_eq!(status, StatusCode::CREATED, "POST {path} {body}: {created}");
        created
    }

    async fn download(&self, report: &str) -> Vec<u8> {
        let res = self
            .http
            .get(format!("{}/call_csv_reports/{report}/csv", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "download of report {report}");
        res.bytes().await.unwrap().to_vec()
    }
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_string()
}

fn rfc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn parse_time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().expect("a timestamp"))
        .expect("RFC 3339")
        .with_timezone(&Utc)
}

/// A brand (UTC) with a client and a carrier, and the brand operator's login.
struct Tenant {
    op: Api,
    client: String,
    carrier: String,
}

async fn tenant(root: &Api) -> Tenant {
    let brand = id_of(
        &root
            .create("/brands", json!({"name": "Fault Brand", "timezone": "UTC"}))
            .await,
    );
    let client = id_of(
        &root
            .create(
                "/clients",
                json!({"brand": brand, "name": "Fault Client", "type": "vpbx"}),
            )
            .await,
    );
    root.create(
        "/administrators",
        json!({"username": "fault-op", "password": "operator-pw", "role": "brand", "brand": brand}),
    )
    .await;
    let op = root.login_as("fault-op", "operator-pw").await;
    let carrier = id_of(&op.create("/carriers", json!({"name": "Carrier F"})).await);
    Tenant {
        op,
        client,
        carrier,
    }
}

/// Ingests outbound calls of the tenant at `times` (callids `call-<n>`).
async fn ingest(t: &Tenant, times: &[DateTime<Utc>]) {
    let rows: Vec<Value> = times
        .iter()
        .enumerate()
        .map(|(n, at)| {
            json!({"callid": format!("call-{n}"), "startTime": rfc(*at), "duration": 60,
                   "caller": "+34911000001", "callee": "+34600111222", "direction": "outbound",
                   "client": t.client, "carrier": t.carrier})
        })
        .collect();
    let (status, _, summary) =
        t.op.call(Method::POST, "/billable_calls", Some(Value::Array(rows)))
            .await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    assert_eq!(summary["accepted"], times.len(), "{summary}");
}

/// Every (ready) report of a scheduler, or of the caller's brand when `scheduler` is None.
async fn reports(api: &Api, scheduler: Option<&str>) -> Vec<Value> {
    let filter = scheduler
        .map(|s| format!("&scheduler={s}"))
        .unwrap_or_default();
    let mut all = vec![];
    for page in 1.. {
        let list = api
            .get(&format!(
                "/call_csv_reports?itemsPerPage=1000&page={page}&_order[inDate]=asc{filter}"
            ))
            .await;
        let list = list.as_array().expect("a list").clone();
        let n = list.len();
        all.extend(list);
        if n < 1000 {
            break;
        }
    }
    all
}

/// Polls until the scheduler has `n` reports all with emailStatus `status`.
async fn wait_settled(
    api: &Api,
    scheduler: &str,
    n: usize,
    status: &str,
    timeout: Duration,
) -> Vec<Value> {
    let deadline = Instant::now() + timeout;
    loop {
        let list = reports(api, Some(scheduler)).await;
        if list.len() >= n && list.iter().all(|r| r["emailStatus"] == status) {
            return list;
        }
        assert!(
            Instant::now() < deadline,
            "waited {timeout:?} for {n} reports with email {status}; have {list:#?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Message-ID → how many copies the SMTP server accepted.
fn copies_by_message_id(smtp: &SmtpServer) -> HashMap<String, usize> {
    let mut copies = HashMap::new();
    for m in smtp.messages() {
        *copies.entry(m.parsed().message_id).or_insert(0) += 1;
    }
    copies
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                out.extend(files_under(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// The report store holds exactly one CSV per report (`<report id>-<token>.csv`) and no
/// temporary or orphaned file.
fn assert_report_store_clean(data_dir: &Path, report_ids: &[String]) {
    let files = files_under(&data_dir.join("reports"));
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().to_string())
        .collect();
    let temps: Vec<&String> = names.iter().filter(|n| n.ends_with(".tmp")).collect();
    assert!(temps.is_empty(), "temporary files left: {temps:?}");
    for id in report_ids {
        let mine = names.iter().filter(|n| n.starts_with(id.as_str())).count();
        assert_eq!(mine, 1, "report {id}: {mine} stored files among {names:?}");
    }
    assert_eq!(
        names.len(),
        report_ids.len(),
        "files in the report store that no report owns: {names:?}"
    );
}

// ---- 1. crash at each point, then restart --------------------------------------------

/// A daily scheduler three due times behind (brand in UTC), calls on every day of the last
/// week; the first run aborts at `point`, the restart (without the crash variable, same
/// data dir and database) must finish every occurrence exactly once.
async fn crash_and_restart(backend: Backend, point: &str) {
    let started = Instant::now();
    let smtp = SmtpServer::start();
    let data = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let db = Database::new(backend).await;

    let mut first = Service::spawn(
        "first run",
        data.path(),
        logs.path(),
        &db,
        &smtp.url(),
        &[("CALLCSV_TEST_CRASH_AT", point)],
    );
    first.wait_ready().await;
    let root = Api::login(&first, ROOT_USER, ROOT_PASSWORD).await;
    let t = tenant(&root).await;

    // 1-3 calls on each of the last 7 days, so every period has rows (and mid_csv is
    // reached on the first report).
    let today = Utc::now()
        .duration_trunc(chrono::Duration::days(1))
        .unwrap();
    let mut calls = vec![];
    for d in 0..8i64 {
        for h in 0..=(d % 3) {
            calls.push(today - chrono::Duration::days(d) + chrono::Duration::hours(6 + 6 * h));
        }
    }
    ingest(&t, &calls).await;

    // Due at t0, t0 + 1 day, t0 + 2 days (all past); t0 + 3 days is an hour ahead.
    let now = Utc::now()
        .duration_trunc(chrono::Duration::minutes(1))
        .unwrap();
    let t0 = now - chrono::Duration::days(3) + chrono::Duration::hours(1);
    let expected = 3;
    let sch =
        t.op.create(
            "/call_csv_schedulers",
            json!({"name": "Daily", "unit": "day", "frequency": 1, "email": "ops@example.com",
                   "nextExecution": rfc(t0)}),
        )
        .await;
    let sid = id_of(&sch);

    let status = first.wait_exit(Duration::from_secs(60)).await;
    assert!(
        !status.success(),
        "the first run must die at {point}, exited {status}"
    );
    let crash_line = format!("crashing at {point}");
    assert!(
        first.log_text().contains(&crash_line),
        "the first run died ({status}) but not at {point}:\n{}",
        first.tail()
    );
    let crashed_at = Instant::now();

    let mut second = Service::spawn("restart", data.path(), logs.path(), &db, &smtp.url(), &[]);
    second.wait_ready().await;
    let op = t.op.on(&second);
    let list = wait_settled(&op, &sid, expected, "sent", Duration::from_secs(60)).await;
    let recovered = crashed_at.elapsed();
    // Give a stray resend (which would be a bug) the time of a few runner passes to show.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let list_after = reports(&op, Some(&sid)).await;
    assert_eq!(list_after.len(), list.len(), "{list_after:#?}");

    // Exactly one report per occurrence, each with its own period.
    assert_eq!(list.len(), expected, "one report per occurrence: {list:#?}");
    let in_dates: HashSet<&str> = list.iter().map(|r| r["inDate"].as_str().unwrap()).collect();
    assert_eq!(in_dates.len(), expected, "distinct periods: {list:#?}");
    for (k, r) in list.iter().enumerate() {
        let due = t0 + chrono::Duration::days(k as i64);
        let out_date = due.duration_trunc(chrono::Duration::days(1)).unwrap();
        assert_eq!(r["outDate"], rfc(out_date), "{r}");
        assert_eq!(
            r["inDate"],
            rfc(out_date - chrono::Duration::days(1)),
            "{r}"
        );
    }

    // Each CSV downloads with the rows of its period.
    for r in &list {
        let (from, to) = (parse_time(&r["inDate"]), parse_time(&r["outDate"]));
        let rows = calls.iter().filter(|c| **c >= from && **c < to).count();
        assert!(rows > 0);
        assert_eq!(r["rowCount"], rows, "{r}");
        let csv = op.download(r["id"].as_str().unwrap()).await;
        let text = String::from_utf8(csv).unwrap();
        assert!(text.starts_with("callid,"), "{text}");
        assert_eq!(
            text.matches("\r\n").count(),
            rows + 1,
            "header + rows: {text}"
        );
    }

    // One email per report by Message-ID; after `after_smtp` the report whose acceptance
    // was never recorded may have a second copy, and must then be flagged.
    let copies = copies_by_message_id(&smtp);
    let first_message = smtp
        .messages()
        .first()
        .map(|m| m.parsed().message_id)
        .unwrap_or_default();
    let mut flagged = vec![];
    for r in &list {
        let rid = r["id"].as_str().unwrap();
        let message_id = format!("<{rid}@callcsv>");
        let n = copies.get(&message_id).copied().unwrap_or(0);
        let flag = r["possibleDuplicateEmail"] == true;
        if flag {
            flagged.push(rid.to_string());
        }
        match (point, n) {
            (_, 1) => {}
            ("after_smtp", 2) => assert!(flag, "a second copy without the flag: {r}"),
            _ => panic!("report {rid}: {n} copies of {message_id} after a crash at {point}"),
        }
        assert!(r["emailAttempts"].as_i64().unwrap() >= 1, "{r}");
        assert!(r["emailError"].is_null(), "{r}");
    }
    let total: usize = copies.values().sum();
    assert_eq!(
        copies.len(),
        expected,
        "only the reports' own messages: {copies:?}"
    );
    match point {
        // The message accepted before the crash is the one resent, and only it is flagged.
        "after_smtp" => {
            assert_eq!(
                flagged.len(),
                1,
                "exactly the crashed send is flagged: {list:#?}"
            );
            assert_eq!(first_message, format!("<{}@callcsv>", flagged[0]));
        }
        // Any other crash, including one after the email's claim but before the message
        // was handed to the server, cannot have delivered anything: nothing is flagged.
        _ => assert!(
            flagged.is_empty(),
            "flagged without an SMTP crash: {list:#?}"
        ),
    }

    let sch = op.get(&format!("/call_csv_schedulers/{sid}")).await;
    assert!(sch["lastExecution"].is_string(), "{sch}");
    assert!(sch["lastExecutionError"].is_null(), "{sch}");
    let ids: Vec<String> = list.iter().map(id_of).collect();
    assert_report_store_clean(data.path(), &ids);
    eprintln!(
        "crash at {point} ({backend:?}): {expected} reports, {total} messages, flagged {flagged:?}; \
         recovered {:.1} s after the crash, {:.1} s in all",
        recovered.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}

// ---- 2. SMTP refusing, 4xx then recovering, 5xx --------------------------------------

/// A TCP relay on a fixed port in front of the test SMTP server: closed (connections
/// refused) until [`Relay::open`], so the service first meets a refusing server that then
/// comes back on the same address.
struct Relay {
    port: u16,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Relay {
    fn closed() -> Relay {
        Relay {
            port: free_port(),
            task: None,
        }
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=none", self.port)
    }

    async fn open(&mut self, target: u16) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .expect("re-bind the relay port");
        self.task = Some(tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                tokio::spawn(async move {
                    if let Ok(mut outbound) =
                        tokio::net::TcpStream::connect(("127.0.0.1", target)).await
                    {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        }));
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

async fn smtp_refused_then_back_4xx_then_recovered_and_5xx(backend: Backend) {
    let started = Instant::now();
    let smtp = SmtpServer::start();
    let mut relay = Relay::closed();
    let data = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let db = Database::new(backend).await;
    let mut svc = Service::spawn("service", data.path(), logs.path(), &db, &relay.url(), &[]);
    svc.wait_ready().await;
    let root = Api::login(&svc, ROOT_USER, ROOT_PASSWORD).await;
    let t = tenant(&root).await;
    let op = &t.op;
    let due = rfc(Utc::now() - chrono::Duration::hours(1));
    let scheduler = |name: &str, email: &str| json!({"name": name, "unit": "day", "email": email, "nextExecution": due});

    // Refused: the report is built, its email stays pending with the error, and goes once
    // a server listens on that address again.
    let s1 = id_of(
        &op.create(
            "/call_csv_schedulers",
            scheduler("Refused", "a@example.com"),
        )
        .await,
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let report = loop {
        let list = reports(op, Some(&s1)).await;
        if let Some(r) = list.first().filter(|r| r["emailError"].is_string()) {
            break r.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no email error recorded: {list:#?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        report["emailStatus"], "pending",
        "refused is temporary: {report}"
    );
    let error = report["emailError"].as_str().unwrap();
    assert!(
        error.contains(&relay.port.to_string()),
        "the error names the server: {error}"
    );
    assert!(smtp.messages().is_empty());
    relay.open(smtp.port()).await;
    let sent = wait_settled(op, &s1, 1, "sent", Duration::from_secs(30)).await;
    assert!(
        sent[0]["emailAttempts"].as_i64().unwrap() >= 2,
        "{}",
        sent[0]
    );
    assert!(sent[0]["emailError"].is_null(), "{}", sent[0]);
    let copies = copies_by_message_id(&smtp);
    assert_eq!(copies.len(), 1);
    assert_eq!(copies[&format!("<{}@callcsv>", id_of(&sent[0]))], 1);

    // 4xx twice, then accepted: three attempts, one message.
    smtp.fail_next(2, "451 4.3.0 try again later");
    let s2 = id_of(
        &op.create("/call_csv_schedulers", scheduler("Busy", "b@example.com"))
            .await,
    );
    let sent = wait_settled(op, &s2, 1, "sent", Duration::from_secs(30)).await;
    assert_eq!(sent[0]["emailAttempts"], 3, "{}", sent[0]);
    assert!(sent[0]["emailError"].is_null(), "{}", sent[0]);
    assert_eq!(sent[0]["possibleDuplicateEmail"], false, "{}", sent[0]);
    let copies = copies_by_message_id(&smtp);
    assert_eq!(copies.len(), 2);
    assert_eq!(copies[&format!("<{}@callcsv>", id_of(&sent[0]))], 1);

    // 5xx: failed at once, with the server's text on the report and the scheduler.
    smtp.fail_next(1, "550 5.1.1 mailbox unavailable");
    let s3 = id_of(
        &op.create("/call_csv_schedulers", scheduler("Bounce", "c@example.com"))
            .await,
    );
    let failed = wait_settled(op, &s3, 1, "failed", Duration::from_secs(30)).await;
    let error = failed[0]["emailError"].as_str().unwrap_or_default();
    assert!(
        error.contains("550 5.1.1 mailbox unavailable"),
        "{}",
        failed[0]
    );
    assert_eq!(failed[0]["emailAttempts"], 1, "not retried: {}", failed[0]);
    let sch = op.get(&format!("/call_csv_schedulers/{s3}")).await;
    let last_error = sch["lastExecutionError"].as_str().unwrap_or_default();
    assert!(
        last_error.contains("550 5.1.1 mailbox unavailable"),
        "{sch}"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(smtp.messages().len(), 2, "nothing more was delivered");
    assert!(svc.try_exit().is_none(), "the service kept running");
    eprintln!(
        "SMTP behaviours ({backend:?}): {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

// ---- 3. two instances on PostgreSQL racing over 1 000 due occurrences ------------------

const RACE_SCHEDULERS: usize = 100;
const RACE_MISSED_DAYS: i64 = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_postgres_race_over_1000_due_occurrences() {
    if pg_url().is_none() {
        eprintln!("skipped: CALLCSV_TEST_PG_URL is not set");
        return;
    }
    let expected = RACE_SCHEDULERS * RACE_MISSED_DAYS as usize;
    let smtp = SmtpServer::start();
    // One report store shared by both instances, as a production pair shares a volume.
    let data = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let db = Database::new(Backend::Postgres).await;

    // Set up through an instance whose runner is off, so the race starts with every
    // occurrence already due and both runners starting together.
    let mut setup = Service::spawn(
        "setup",
        data.path(),
        logs.path(),
        &db,
        &smtp.url(),
        &[("CALLCSV_RUNNER_INTERVAL", "0")],
    );
    setup.wait_ready().await;
    let root = Api::login(&setup, ROOT_USER, ROOT_PASSWORD).await;
    let t = tenant(&root).await;
    let today = Utc::now()
        .duration_trunc(chrono::Duration::days(1))
        .unwrap();
    let calls: Vec<DateTime<Utc>> = (0..=RACE_MISSED_DAYS + 1)
        .map(|d| today - chrono::Duration::days(d) + chrono::Duration::hours(12))
        .collect();
    ingest(&t, &calls).await;
    let now = Utc::now()
        .duration_trunc(chrono::Duration::minutes(1))
        .unwrap();
    let t0 = now - chrono::Duration::days(RACE_MISSED_DAYS) + chrono::Duration::hours(1);
    let mut schedulers = HashSet::new();
    for batch in (0..RACE_SCHEDULERS).collect::<Vec<_>>().chunks(10) {
        let created = futures_util::future::join_all(batch.iter().map(|i| {
            t.op.create(
                "/call_csv_schedulers",
                json!({"name": format!("Race {i:03}"), "unit": "day",
                       "email": format!("r{i}@example.com"), "nextExecution": rfc(t0)}),
            )
        }))
        .await;
        schedulers.extend(created.iter().map(id_of));
    }
    assert_eq!(schedulers.len(), RACE_SCHEDULERS);
    drop(setup);

    let started = Instant::now();
    let info = [("CALLCSV_LOG", "info")];
    let mut a = Service::spawn(
        "instance A",
        data.path(),
        logs.path(),
        &db,
        &smtp.url(),
        &info,
    );
    let mut b = Service::spawn(
        "instance B",
        data.path(),
        logs.path(),
        &db,
        &smtp.url(),
        &info,
    );
    a.wait_ready().await;
    b.wait_ready().await;
    let op = t.op.on(&a);

    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let (status, headers, _) = op
            .call(
                Method::GET,
                "/call_csv_reports?emailStatus=sent&itemsPerPage=1",
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let sent: usize = headers["x-total-count"].to_str().unwrap().parse().unwrap();
        if sent >= expected {
            break;
        }
        for svc in [&mut a, &mut b] {
            assert!(svc.try_exit().is_none(), "{} died", svc.label);
        }
        assert!(
            Instant::now() < deadline,
            "after 300 s only {sent} of {expected} reports are sent"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let elapsed = started.elapsed();
    // A few more runner passes: nothing more may appear.
    tokio::time::sleep(Duration::from_millis(2500)).await;

    let list = reports(&op, None).await;
    assert_eq!(list.len(), expected, "exactly {expected} reports");
    let occurrences: HashSet<(String, String)> = list
        .iter()
        .map(|r| {
            (
                r["scheduler"].as_str().unwrap().to_string(),
                r["inDate"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(occurrences.len(), expected, "distinct (scheduler, inDate)");
    let per_scheduler = occurrences.iter().fold(HashMap::new(), |mut m, (s, _)| {
        *m.entry(s.clone()).or_insert(0usize) += 1;
        m
    });
    assert_eq!(per_scheduler.len(), RACE_SCHEDULERS);
    assert!(per_scheduler
        .values()
        .all(|n| *n == RACE_MISSED_DAYS as usize));
    assert!(list.iter().all(|r| r["emailStatus"] == "sent"));
    assert!(list.iter().all(|r| r["rowCount"] == 1), "one call per day");
    let flagged = list
        .iter()
        .filter(|r| r["possibleDuplicateEmail"] == true)
        .count();
    assert_eq!(flagged, 0, "no crash, so no possible duplicate");

    let messages = smtp.messages();
    let copies = copies_by_message_id(&smtp);
    let report_ids: HashSet<String> = list
        .iter()
        .map(|r| format!("<{}@callcsv>", id_of(r)))
        .collect();
    assert_eq!(messages.len(), expected, "exactly {expected} emails");
    assert_eq!(copies.len(), expected, "distinct Message-IDs");
    assert_eq!(
        copies.keys().cloned().collect::<HashSet<_>>(),
        report_ids,
        "one message per report"
    );
    let ids: Vec<String> = list.iter().map(id_of).collect();
    assert_report_store_clean(data.path(), &ids);

    // Who did what, from the instances' logs.
    let count = |svc: &Service, what: &str| svc.log_text().matches(what).count();
    let (built_a, built_b) = (count(&a, "report built"), count(&b, "report built"));
    let (mailed_a, mailed_b) = (count(&a, "report emailed"), count(&b, "report emailed"));
    assert_eq!(built_a + built_b, expected, "each report built once");
    assert_eq!(mailed_a + mailed_b, expected, "each email sent once");
    assert!(
        built_a > 0 && built_b > 0,
        "both instances built reports: A {built_a}, B {built_b}"
    );
    eprintln!(
        "two instances, {expected} occurrences: all sent in {:.1} s; built A {built_a} / B {built_b}, \
         emailed A {mailed_a} / B {mailed_b}; {} SMTP connections",
        elapsed.as_secs_f64(),
        smtp.connections()
    );
}
