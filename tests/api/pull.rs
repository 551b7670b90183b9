//! Webex pull (issue 9): a `webex-cdr` source's feed asked by the runner, here a local HTTP
//! server that answers as Webex's `cdr_feed` does: pages of `{"items": […]}` linked by
//! `Link: rel="next"`, a `429` with `Retry-After`, a `401`, a page that is not JSON, a page
//! that fails half-way through a window. Windows of at most 12 hours ending 5 minutes ago,
//! each reaching one hour back before the previous one's end; the checkpoint moves only
//! with a window read whole; every window an import with `origin: pull`.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::backend_cases;
use crate::common::{id, Backend, Tenants, TestApp};

backend_cases!(
    pull_windows_pages_retry_after_and_overlap,
    pull_failures_show_on_the_source_and_keep_the_checkpoint,
    pull_two_runners_at_once_ask_each_window_once,
    pull_crash_mid_window_stores_each_call_once,
);

/// How the fake feed answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Two pages: two items, then (after the link) two more.
    Pages,
    Unauthorized,
    NotJson,
    /// The first page, then a 500 for the second.
    SecondPageFails,
}

/// A request the feed received.
#[derive(Debug, Clone)]
struct Seen {
    target: String,
    authorization: Option<String>,
    at: Instant,
}

impl Seen {
    fn param(&self, name: &str) -> Option<String> {
        let url = url::Url::parse(&format!("http://feed{}", self.target)).unwrap();
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    fn time(&self, name: &str) -> NaiveDateTime {
        let text = self.param(name).expect(name);
        assert!(
            regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
                .unwrap()
                .is_match(&text),
            "{name}={text}"
        );
        NaiveDateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S%.3fZ").unwrap()
    }

    fn window(&self) -> (NaiveDateTime, NaiveDateTime) {
        (self.time("startTime"), self.time("endTime"))
    }
}

struct FeedState {
    mode: Mode,
    /// `429`s still to answer (with `Retry-After: 1`).
    throttle: usize,
    seen: Vec<Seen>,
}

struct Feed {
    url: String,
    state: Arc<Mutex<FeedState>>,
}

impl Feed {
    fn start() -> Feed {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v1/cdr_feed", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(FeedState {
            mode: Mode::Pages,
            throttle: 0,
            seen: vec![],
        }));
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                answer(stream, &shared);
            }
        });
        Feed { url, state }
    }

    fn set(&self, mode: Mode, throttle: usize) {
        let mut state = self.state.lock().unwrap();
        state.mode = mode;
        state.throttle = throttle;
    }

    fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }
}

fn item(report: &str, answered: bool, call_type: &str, called: &str) -> Value {
    json!({
        "Report ID": report,
        "Start time": "2026-11-30T10:00:00.000Z",
        "Answered": if answered { "true" } else { "false" },
        "Duration": if answered { 61 } else { 0 },
        "Calling number": "+34911111111",
        "Called number": called,
        "Direction": "ORIGINATING",
        "Call type": call_type,
    })
}

fn answer(stream: TcpStream, state: &Mutex<FeedState>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let target = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("")
        .to_string();
    let mut authorization = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim_end().is_empty() {
            break;
        }
        if let Some((name, value)) = line.trim_end().split_once(':') {
            if name.eq_ignore_ascii_case("authorization") {
                authorization = Some(value.trim().to_string());
            }
        }
    }
    let second = target.contains("page=2");
    let (status, headers, body) = {
        let mut state = state.lock().unwrap();
        state.seen.push(Seen {
            target: target.clone(),
            authorization,
            at: Instant::now(),
        });
        let query = target.split_once('?').map_or("", |(_, q)| q);
        let link = format!(
            "Link: <https://elsewhere.example/first>; rel=\"first\", </v1/cdr_feed?{query}&page=2>; rel=\"next\"\r\n"
        );
        let first_page = json!({"items": [
            item("r-1", true, "SIP_NATIONAL", "+34912345678"),
            item("r-2", false, "SIP_NATIONAL", "+34912345679"),
        ]});
        let second_page = json!({"items": [
            item("r-3", true, "SIP_MOBILE", "+34612345678"),
            item("r-4", true, "SIP_ENTERPRISE", "+34911111112"),
        ]});
        if state.throttle > 0 {
            state.throttle -= 1;
            (
                "429 Too Many Requests",
                "Retry-After: 1\r\n".to_string(),
                "{}".to_string(),
            )
        } else {
            match (state.mode, second) {
                (Mode::Unauthorized, _) => (
                    "401 Unauthorized",
                    String::new(),
                    json!({"message": "The request requires a valid access token set in the Authorization request header.", "trackingId": "ROUTER_1"}).to_string(),
                ),
                (Mode::NotJson, _) => ("200 OK", String::new(), "<html>maintenance</html>".into()),
                (Mode::SecondPageFails, true) => (
                    "500 Internal Server Error",
                    String::new(),
                    "{\"message\": \"oops\"}".into(),
                ),
                (_, false) => ("200 OK", link, first_page.to_string()),
                (_, true) => ("200 OK", String::new(), second_page.to_string()),
            }
        }
    };
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
}

struct Pulling {
    app: TestApp,
    feed: Feed,
    source: String,
    operator: String,
}

/// An app, a brand in Spain and a `webex-cdr` source pulling the local feed with the token
/// `tok-1`, its calls going to the brand's client.
async fn pulling(backend: Backend) -> Pulling {
    pulling_with(backend, &[]).await
}

async fn pulling_with(backend: Backend, extra: &[(&str, &str)]) -> Pulling {
    let app = TestApp::start_with(backend, extra).await;
    let feed = Feed::start();
    let t = Tenants::create(&app).await;
    app.brand_country(&t.brand_a, "ES").await;
    let created = app
        .create(
            "/cdr_sources",
            &t.operator_a,
            json!({"name": "Webex", "format": "webex-cdr",
                   "pull": {"url": feed.url, "token": "tok-1"},
                   "mapping": {"defaultClient": t.client_a}}),
        )
        .await;
    assert_eq!(created["pull"]["intervalMinutes"], 15);
    Pulling {
        app,
        feed,
        source: id(&created),
        operator: t.operator_a,
    }
}

impl Pulling {
    async fn pull(&self) -> usize {
        self.app.run_runner_once().await.pull_imports
    }

    /// The source's pull imports, oldest first.
    async fn imports(&self) -> Vec<Value> {
        let (status, body) = self
            .app
            .get(
                &format!(
                    "/cdr_imports?source={}&origin=pull&_order[startedAt]=asc&itemsPerPage=100",
                    self.source
                ),
                &self.operator,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body.as_array().unwrap().clone()
    }

    async fn shown(&self) -> Value {
        let (status, body) = self
            .app
            .get(&format!("/cdr_sources/{}", self.source), &self.operator)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(!body.to_string().contains("tok-1"), "{body}");
        body
    }

    async fn calls(&self) -> Vec<String> {
        let pool = self.app.pool();
        tokio::task::spawn_blocking(move || {
            use callcsv::db::schema::billable_calls as b;
            let mut conn = pool.get().unwrap();
            b::table
                .select(b::callid)
                .order(b::callid)
                .load(&mut conn)
                .unwrap()
        })
        .await
        .unwrap()
    }

    async fn checkpoint(&self) -> Option<NaiveDateTime> {
        let (pool, source) = (self.app.pool(), self.source.clone());
        tokio::task::spawn_blocking(move || {
            use callcsv::db::schema::cdr_sources as s;
            let mut conn = pool.get().unwrap();
            s::table
                .find(source)
                .select(s::pull_checkpoint)
                .first(&mut conn)
                .unwrap()
        })
        .await
        .unwrap()
    }

    async fn set_checkpoint(&self, at: NaiveDateTime) {
        let (pool, source) = (self.app.pool(), self.source.clone());
        tokio::task::spawn_blocking(move || {
            use callcsv::db::schema::cdr_sources as s;
            let mut conn = pool.get().unwrap();
            diesel::update(s::table.find(source))
                .set(s::pull_checkpoint.eq(Some(at)))
                .execute(&mut conn)
                .unwrap();
        })
        .await
        .unwrap()
    }

    /// As if the source's interval (15 minutes) had passed since its last pull.
    async fn interval_passes(&self) {
        let (pool, source) = (self.app.pool(), self.source.clone());
        tokio::task::spawn_blocking(move || {
            use callcsv::db::schema::cdr_imports as i;
            let mut conn = pool.get().unwrap();
            let rows: Vec<(String, NaiveDateTime)> = i::table
                .filter(i::source_id.eq(&source))
                .select((i::id, i::started_at))
                .load(&mut conn)
                .unwrap();
            for (id, started) in rows {
                diesel::update(i::table.find(id))
                    .set(i::started_at.eq(started - Duration::minutes(15)))
                    .execute(&mut conn)
                    .unwrap();
            }
        })
        .await
        .unwrap()
    }
}

fn counts(import: &Value) -> (i64, i64, i64, i64, i64) {
    (
        import["records"].as_i64().unwrap(),
        import["accepted"].as_i64().unwrap(),
        import["duplicates"].as_i64().unwrap(),
        import["skipped"]["unanswered"].as_i64().unwrap(),
        import["skipped"]["internal"].as_i64().unwrap(),
    )
}

async fn pull_windows_pages_retry_after_and_overlap(backend: Backend) {
    let p = pulling(backend).await;
    p.feed.set(Mode::Pages, 1);
    let before = Utc::now().naive_utc();
    assert_eq!(p.pull().await, 1);
    let after = Utc::now().naive_utc();

    // The 429, the same page again a second later, then the linked page.
    let seen = p.feed.seen();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert_eq!(seen[0].target, seen[1].target);
    assert!(
        seen[1].at - seen[0].at >= std::time::Duration::from_secs(1),
        "Retry-After honoured"
    );
    assert!(seen[2].target.ends_with("&page=2"), "{}", seen[2].target);
    assert_eq!(
        seen[2].window(),
        seen[0].window(),
        "the link keeps the window"
    );
    for s in &seen {
        assert_eq!(s.authorization.as_deref(), Some("Bearer tok-1"));
        assert!(s.target.starts_with("/v1/cdr_feed?"), "{}", s.target);
    }
    assert_eq!(seen[0].param("max").as_deref(), Some("500"));
    // The first window: the 12 hours before the last 5 minutes.
    let (start, end) = seen[0].window();
    assert_eq!(end - start, Duration::hours(12));
    assert!(end <= after - Duration::minutes(5), "{end} {after}");
    assert!(end >= before - Duration::minutes(5) - Duration::seconds(1));
    assert_eq!(p.checkpoint().await, Some(end));

    let imports = p.imports().await;
    assert_eq!(imports.len(), 1);
    assert_eq!(imports[0]["status"], "done", "{}", imports[0]);
    assert_eq!(imports[0]["origin"], "pull");
    assert_eq!(
        imports[0]["fileName"],
        format!(
            "{}/{}",
            seen[0].param("startTime").unwrap(),
            seen[0].param("endTime").unwrap()
        )
    );
    assert_eq!(counts(&imports[0]), (4, 2, 0, 1, 1));
    assert!(imports[0]["bytes"].as_i64().unwrap() > 0);
    assert_eq!(p.calls().await, ["r-1", "r-3"]);
    let shown = p.shown().await;
    assert_eq!(shown["lastError"], Value::Null);
    assert!(shown["lastPulledAt"].is_string(), "{shown}");
    assert_eq!(shown["pull"]["hasToken"], true);

    // Not due again before its interval: nothing asked.
    assert_eq!(p.pull().await, 0);
    assert_eq!(p.feed.seen().len(), 3);

    // An interval later: the next window reaches one hour back, its calls are duplicates.
    p.interval_passes().await;
    assert_eq!(p.pull().await, 1);
    let seen = p.feed.seen();
    assert_eq!(seen.len(), 5);
    let (start2, end2) = seen[3].window();
    assert_eq!(start2, end - Duration::hours(1), "an hour of overlap");
    assert!(end2 >= end && end2 <= Utc::now().naive_utc() - Duration::minutes(5));
    let imports = p.imports().await;
    assert_eq!(counts(&imports[1]), (4, 0, 2, 1, 1));
    assert_eq!(p.calls().await, ["r-1", "r-3"], "nothing stored twice");
    assert_eq!(p.checkpoint().await, Some(end2));

    // Behind by 20 hours (the service was down): windows of 12 hours at most, each an hour
    // over the previous one, the last ending 5 minutes ago.
    let behind = end2 - Duration::hours(20);
    p.set_checkpoint(behind).await;
    p.interval_passes().await;
    assert_eq!(p.pull().await, 2);
    let seen = p.feed.seen();
    assert_eq!(seen.len(), 9);
    let (a, b) = (seen[5].window(), seen[7].window());
    assert_eq!(a.0, behind - Duration::hours(1));
    assert_eq!(a.1 - a.0, Duration::hours(12));
    assert_eq!(b.0, a.1 - Duration::hours(1));
    assert!(b.1 - b.0 <= Duration::hours(12));
    assert!(b.1 <= Utc::now().naive_utc() - Duration::minutes(5));
    assert_eq!(p.checkpoint().await, Some(b.1));
    assert_eq!(p.imports().await.len(), 4);
    assert_eq!(p.calls().await, ["r-1", "r-3"]);
}

async fn pull_failures_show_on_the_source_and_keep_the_checkpoint(backend: Backend) {
    let p = pulling(backend).await;

    // A token the feed refuses: a failed import, the reason on the source, no checkpoint.
    p.feed.set(Mode::Unauthorized, 0);
    assert_eq!(p.pull().await, 1);
    let imports = p.imports().await;
    assert_eq!(imports[0]["status"], "failed");
    assert_eq!(imports[0]["origin"], "pull");
    let failure = imports[0]["failure"].as_str().unwrap();
    assert!(failure.contains("401"), "{failure}");
    let shown = p.shown().await;
    let error = shown["lastError"].as_str().expect("the problem is shown");
    assert!(error.contains("401 Unauthorized"), "{error}");
    assert!(error.contains("valid access token"), "{error}");
    assert!(!error.contains("startTime"), "no query in errors: {error}");
    assert_eq!(shown["lastPulledAt"], Value::Null);
    // Where pulling starts is kept: an hour after the start of the first window, as if a
    // window had ended there.
    let first = p.feed.seen()[0].window();
    assert_eq!(p.checkpoint().await, Some(first.0 + Duration::hours(1)));

    // Retried an interval later, with a good token: the same start, done, the problem
    // cleared.
    p.feed.set(Mode::Pages, 0);
    p.interval_passes().await;
    // The first 12 hours, then (when a second passed since) the little that followed.
    assert!(p.pull().await >= 1);
    assert_eq!(p.feed.seen()[1].window().0, first.0);
    let shown = p.shown().await;
    assert_eq!(shown["lastError"], Value::Null);
    assert!(shown["lastPulledAt"].is_string());
    let checkpoint = p.checkpoint().await.expect("a window read whole");
    assert_eq!(p.calls().await, ["r-1", "r-3"]);

    // A page that is not JSON: failed, the checkpoint where it was. (Moved back two hours
    // first, so that a window is ready whatever the clock.)
    let earlier = checkpoint - Duration::hours(2);
    p.set_checkpoint(earlier).await;
    p.feed.set(Mode::NotJson, 0);
    p.interval_passes().await;
    assert_eq!(p.pull().await, 1);
    let imports = p.imports().await;
    assert_eq!(imports.last().unwrap()["status"], "failed");
    let error = p.shown().await["lastError"].as_str().unwrap().to_string();
    assert!(error.contains("not a page of records"), "{error}");
    assert_eq!(p.checkpoint().await, Some(earlier));

    // A window whose second page fails: the first page's calls are stored and counted, the
    // checkpoint stays, and the retry asks the same start again.
    let from = checkpoint - Duration::hours(3);
    p.feed.set(Mode::SecondPageFails, 0);
    p.interval_passes().await;
    let asked = p.feed.seen().len();
    assert_eq!(p.pull().await, 1);
    let imports = p.imports().await;
    let last = imports.last().unwrap();
    assert_eq!(last["status"], "failed");
    assert_eq!(counts(last), (2, 0, 1, 1, 0), "{last}");
    assert!(p.shown().await["lastError"]
        .as_str()
        .unwrap()
        .contains("500"));
    assert_eq!(p.checkpoint().await, Some(earlier));
    assert_eq!(p.feed.seen()[asked].window().0, from);

    p.feed.set(Mode::Pages, 0);
    p.interval_passes().await;
    assert_eq!(p.pull().await, 1);
    let seen = p.feed.seen();
    assert_eq!(
        seen[seen.len() - 2].window().0,
        from,
        "the same window again"
    );
    assert_eq!(p.shown().await["lastError"], Value::Null);
    assert!(p.checkpoint().await >= Some(checkpoint));
    assert_eq!(p.calls().await, ["r-1", "r-3"]);

    // A feed nobody answers at: shown with its URL, the checkpoint kept.
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/v1/cdr_feed", listener.local_addr().unwrap())
    };
    let kept = checkpoint - Duration::hours(1);
    p.set_checkpoint(kept).await;
    let (status, body) = p
        .app
        .patch(
            &format!("/cdr_sources/{}", p.source),
            &p.operator,
            json!({"pull": {"url": closed, "token": "tok-1"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    p.interval_passes().await;
    assert_eq!(p.pull().await, 1);
    let error = p.shown().await["lastError"].as_str().unwrap().to_string();
    assert!(error.starts_with(&format!("pull: {closed}")), "{error}");
    assert!(error.to_lowercase().contains("connect"), "{error}");
    assert_eq!(p.checkpoint().await, Some(kept));
    assert_eq!(p.imports().await.last().unwrap()["status"], "failed");
}

async fn pull_two_runners_at_once_ask_each_window_once(backend: Backend) {
    let p = pulling(backend).await;
    let (a, b) = (p.app.runner(), p.app.runner());
    let (ra, rb) = tokio::join!(
        tokio::task::spawn_blocking(move || a.run_once()),
        tokio::task::spawn_blocking(move || b.run_once()),
    );
    let pulled = ra.unwrap().unwrap().pull_imports + rb.unwrap().unwrap().pull_imports;
    // One held the lease; the other found it taken, or found the source pulled already.
    assert_eq!(pulled, 1);
    assert_eq!(p.imports().await.len(), 1);
    assert_eq!(p.feed.seen().len(), 2, "one window, two pages");
    assert_eq!(p.calls().await, ["r-1", "r-3"]);
}

async fn pull_crash_mid_window_stores_each_call_once(backend: Backend) {
    let p = pulling_with(backend, &[("CALLCSV_REPORT_LEASE_SECONDS", "5")]).await;
    // `callcsv run-due --once` on the same database, aborting (like kill -9) right after
    // committing the window's first page.
    p.app.run_due_crashing_at("pull_after_batch", &[]).await;
    assert_eq!(p.calls().await, ["r-1"], "the first page stored");
    let imports = p.imports().await;
    assert_eq!(imports[0]["status"], "running");
    assert_eq!(p.feed.seen().len(), 1);
    let window = p.feed.seen()[0].window();
    assert_eq!(
        p.checkpoint().await,
        Some(window.0 + Duration::hours(1)),
        "the window not complete"
    );

    // The dead runner's lease runs out; a pull an interval later marks its import failed and
    // asks the same window again: nothing lost, nothing twice.
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    p.interval_passes().await;
    // The crashed window again, then the seconds that passed meanwhile.
    assert_eq!(p.pull().await, 2);
    assert_eq!(p.calls().await, ["r-1", "r-3"]);
    let imports = p.imports().await;
    assert_eq!(imports[0]["status"], "failed", "{}", imports[0]);
    assert_eq!(imports[1]["status"], "done");
    assert_eq!(counts(&imports[1]), (4, 1, 1, 1, 1));
    assert_eq!(
        p.feed.seen()[1].window().0,
        window.0,
        "the same start again"
    );
    assert!(p.checkpoint().await >= Some(window.1));
}
