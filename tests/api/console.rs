//! The web console over HTTP, as a browser without JavaScript uses it (cookies kept by
//! hand, redirects not followed so each step is seen): sign-in and its security
//! (cookie attributes, throttle, CSRF, logout, idle and deactivated sessions, headers,
//! no API access with the cookie), and each page per role (tenancy 404s, escaping, no cost
//! for client administrators), on both backends.

use std::collections::HashMap;

use reqwest::header::{HeaderMap, COOKIE, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::common::{id, Backend, Tenants, TestApp, ROOT_PASSWORD, ROOT_USER};

/// A browser session against the app: keeps the cookies the console sets.
pub struct Browser<'a> {
    app: &'a TestApp,
    http: reqwest::Client,
    pub cookies: HashMap<String, String>,
    /// The last Set-Cookie headers seen, for attribute checks.
    pub set_cookies: Vec<String>,
}

pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The `_csrf` value of the page's first form.
    pub fn csrf(&self) -> String {
        let marker = "name=\"_csrf\" value=\"";
        let start = self.body.find(marker).expect("a form with a CSRF token") + marker.len();
        let end = start + self.body[start..].find('"').unwrap();
        self.body[start..end].to_string()
    }
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Browser<'a> {
        Browser {
            app,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: HashMap::new(),
            set_cookies: vec![],
        }
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let req = if cookie.is_empty() {
            req
        } else {
            req.header(COOKIE, cookie)
        };
        let res = req.send().await.expect("request sent");
        let status = res.status();
        let headers = res.headers().clone();
        self.set_cookies = headers
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        for set in &self.set_cookies {
            let pair = set.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            let removed = set.contains("Max-Age=0") || value.is_empty();
            if removed {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
        let body = res.text().await.unwrap();
        assert_ne!(
            status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "never a 500: {body}"
        );
        Page {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let req = self
            .http
            .get(self.app.url(path))
            .header("accept", "text/html");
        self.send(req).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let req = self.http.post(self.app.url(path)).form(form);
        self.send(req).await
    }

    /// Signs in through the form; returns the answer to the POST.
    pub async fn sign_in(&mut self, username: &str, password: &str) -> Page {
        let form = self.get("/ui/login").await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.body);
        let csrf = form.csrf();
        self.post(
            "/ui/login",
            &[
                ("_csrf", &csrf),
                ("username", username),
                ("password", password),
            ],
        )
        .await
    }

    /// Signs in and checks it worked.
    pub async fn signed_in(app: &'a TestApp, username: &str, password: &str) -> Browser<'a> {
        let mut b = Browser::new(app);
        let answer = b.sign_in(username, password).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        assert!(b.cookies.contains_key("callcsv_session"));
        b
    }

    /// A page's CSRF token (any signed-in page carries it).
    pub async fn csrf(&mut self) -> String {
        self.get("/ui/schedulers").await.csrf()
    }
}

backend_tests!(
    console_sign_in_sets_a_strict_session_cookie_and_logout_ends_it,
    console_sign_in_never_tells_which_user_names_exist_and_is_throttled,
    console_state_changes_need_the_csrf_token,
    console_sessions_end_when_idle_or_the_administrator_is_deactivated,
    console_schedulers_pages_create_edit_disable_and_delete,
    console_pages_escape_text_and_hide_other_tenants,
    console_calls_search_and_export_hide_costs_from_client_administrators,
    console_reports_list_and_download,
);

async fn console_sign_in_sets_a_strict_session_cookie_and_logout_ends_it(app: TestApp) {
    let mut b = Browser::new(&app);
    // A browser asking for / is sent to the console; API clients keep their 404.
    let root = b.get("/").await;
    assert_eq!(root.status, StatusCode::SEE_OTHER);
    assert_eq!(root.location(), "/ui/");
    let (status, _) = app.call(reqwest::Method::GET, "/", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let page = b.get("/ui/schedulers").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/ui/login");

    let answer = b.sign_in(ROOT_USER, ROOT_PASSWORD).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let session = b
        .set_cookies
        .iter()
        .find(|c| c.starts_with("callcsv_session="))
        .expect("session cookie")
        .clone();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/ui"] {
        assert!(session.contains(attribute), "{attribute} in {session}");
    }
    assert!(
        !session.contains("Secure"),
        "plain http without CALLCSV_COOKIE_SECURE"
    );

    let page = b.get("/ui/schedulers").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Call CSV schedulers"));
    let h = |name: &str| {
        page.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    let csp = h("content-security-policy");
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(h("x-content-type-options"), "nosniff");
    assert_eq!(h("referrer-policy"), "same-origin");
    assert!(
        !page.body.contains("<script>") && !page.body.contains(" style="),
        "no inline script or style"
    );

    // The cookie opens no API route.
    let res = reqwest::Client::new()
        .get(app.url("/call_csv_schedulers"))
        .header(
            COOKIE,
            format!("callcsv_session={}", b.cookies["callcsv_session"]),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // Logout ends the session on the server: the old cookie, replayed, opens nothing.
    let stolen = b.cookies["callcsv_session"].clone();
    let csrf = page.csrf();
    let out = b.post("/ui/logout", &[("_csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), "/ui/login");
    assert!(!b.cookies.contains_key("callcsv_session"), "cookie removed");
    b.cookies.insert("callcsv_session".into(), stolen);
    let page = b.get("/ui/schedulers").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/ui/login");

    // Static files are embedded and served with their types; JS + CSS under 300 KB.
    let js = b.get("/ui/static/htmx.min.js").await;
    assert_eq!(js.status, StatusCode::OK);
    assert!(js.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    let total: usize = callcsv::ui::assets::sizes().map(|(_, n)| n).sum();
    assert!(total < 300 * 1024, "JS + CSS are {total} bytes");
}

async fn console_sign_in_never_tells_which_user_names_exist_and_is_throttled(app: TestApp) {
    let mut b = Browser::new(&app);
    let wrong = b.sign_in(ROOT_USER, "not-the-password").await;
    let unknown = b.sign_in("nobody-here", "not-the-password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    let message = "Wrong user name or password, or the account is disabled.";
    assert!(wrong.body.contains(message) && unknown.body.contains(message));
    assert!(!b.cookies.contains_key("callcsv_session"));

    // 10 failures a minute per user name and per address, then 429 with a clear message,
    // even with the right password.
    for _ in 0..8 {
        assert_eq!(
            b.sign_in(ROOT_USER, "nope").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let blocked = b.sign_in(ROOT_USER, ROOT_PASSWORD).await;
    assert_eq!(
        blocked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        blocked.body
    );
    assert!(
        blocked.body.contains("Too many failed sign-ins"),
        "{}",
        blocked.body
    );
    assert!(blocked.headers.contains_key("retry-after"));
    assert!(!b.cookies.contains_key("callcsv_session"));

    // The sign-in form itself needs its token (no sign-in from another site).
    let mut other = Browser::new(&app);
    let forged = other
        .post(
            "/ui/login",
            &[("username", "someone"), ("password", "something")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

async fn console_state_changes_need_the_csrf_token(app: TestApp) {
    let brand = app.brand("Brand A").await;
    let mut b = Browser::signed_in(&app, ROOT_USER, ROOT_PASSWORD).await;
    let fields = [("brand", brand.as_str()), ("name", "Nightly")];
    let none = b.post("/ui/schedulers", &fields).await;
    assert_eq!(none.status, StatusCode::FORBIDDEN, "{}", none.body);
    assert!(none.body.contains("CSRF"));
    let wrong = b
        .post(
            "/ui/schedulers",
            &[("_csrf", "forged"), ("brand", &brand), ("name", "Nightly")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let out = b.post("/ui/logout", &[]).await;
    assert_eq!(out.status, StatusCode::FORBIDDEN, "logout needs it too");
    let (_, list) = app.get("/call_csv_schedulers", &app.root).await;
    assert_eq!(list.as_array().unwrap().len(), 0, "nothing was created");

    // htmx sends it as a header.
    let csrf = b.csrf().await;
    let cookie = format!("callcsv_session={}", b.cookies["callcsv_session"]);
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(app.url("/ui/schedulers"))
        .header(COOKIE, cookie)
        .header("X-CSRF-Token", csrf)
        .header("HX-Request", "true")
        .form(&[("brand", brand.as_str()), ("name", "Nightly")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, list) = app.get("/call_csv_schedulers", &app.root).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
}

async fn console_sessions_end_when_idle_or_the_administrator_is_deactivated(app: TestApp) {
    let t = Tenants::create(&app).await;
    let mut b = Browser::signed_in(&app, "op-a", "operator-pw").await;
    assert_eq!(b.get("/ui/schedulers").await.status, StatusCode::OK);
    let (_, admins) = app.get("/administrators?username=op-a", &app.root).await;
    let admin = id(&admins[0]);
    let (status, body) = app
        .patch(
            &format!("/administrators/{admin}"),
            &app.root,
            json!({"active": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let page = b.get("/ui/schedulers").await;
    assert_eq!(
        page.status,
        StatusCode::SEE_OTHER,
        "deactivated: signed out at once"
    );
    assert_eq!(page.location(), "/ui/login");
    app.patch(
        &format!("/administrators/{admin}"),
        &app.root,
        json!({"active": true}),
    )
    .await;
    let page = b.get("/ui/schedulers").await;
    assert_eq!(
        page.status,
        StatusCode::SEE_OTHER,
        "the session stays ended"
    );

    // Idle longer than CALLCSV_UI_SESSION_IDLE (30 min by default): signed out.
    let mut b = Browser::signed_in(&app, "ca-a", "client-pw").await;
    assert_eq!(b.get("/ui/schedulers").await.status, StatusCode::OK);
    let pool = app.pool();
    tokio::task::spawn_blocking(move || {
        use diesel::{ExpressionMethods, RunQueryDsl};
        let mut conn = pool.get().unwrap();
        let long_ago = chrono::Utc::now().naive_utc() - chrono::Duration::minutes(31);
        diesel::update(callcsv::db::schema::ui_sessions::table)
            .set(callcsv::db::schema::ui_sessions::last_seen_at.eq(long_ago))
            .execute(&mut *conn)
            .unwrap();
    })
    .await
    .unwrap();
    let page = b.get("/ui/schedulers").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "idle session ended");
    let _ = t;
}

async fn console_schedulers_pages_create_edit_disable_and_delete(app: TestApp) {
    let t = Tenants::create(&app).await;
    let mut b = Browser::signed_in(&app, "op-a", "operator-pw").await;
    let form = b.get("/ui/schedulers/new").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        form.body.contains("Client A"),
        "the brand's clients to choose from"
    );
    assert!(form.body.contains("in Europe/Madrid"), "the zone is named");
    let csrf = form.csrf();

    // Errors come back next to their fields, with what was typed.
    let bad = b
        .post(
            "/ui/schedulers",
            &[
                ("_csrf", &csrf),
                ("name", ""),
                ("frequency", "0"),
                ("unit", "month"),
                ("callDirection", "inbound"),
                ("email", "not-an-address"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body.contains("id=\"name-error\""), "{}", bad.body);
    assert!(bad.body.contains("id=\"frequency-error\""));
    assert!(bad.body.contains("id=\"email-error\""));
    assert!(bad.body.contains("value=\"not-an-address\""));

    let made = b
        .post(
            "/ui/schedulers",
            &[
                ("_csrf", &csrf),
                ("name", "Monthly A"),
                ("client", &t.client_a),
                ("frequency", "1"),
                ("unit", "month"),
                ("callDirection", "outbound"),
                ("email", "billing@example.com"),
                ("enabled", "on"),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let (_, list) = app.get("/call_csv_schedulers", &t.operator_a).await;
    let s = &list[0];
    assert_eq!(s["name"], "Monthly A");
    assert_eq!(s["client"], t.client_a.as_str());
    assert_eq!(s["email"], "billing@example.com");
    let sid = id(s);

    let page = b.get("/ui/schedulers").await;
    assert!(page.body.contains("Monthly A") && page.body.contains("client Client A"));
    assert!(page.body.contains("never"), "not run yet");

    // Edit the next execution (in the scheduler's zone: the client's, Europe/Madrid).
    let edit = b.get(&format!("/ui/schedulers/{sid}")).await;
    assert_eq!(edit.status, StatusCode::OK);
    assert!(edit.body.contains("value=\"Monthly A\""));
    let saved = b
        .post(
            &format!("/ui/schedulers/{sid}"),
            &[
                ("_csrf", &csrf),
                ("name", "Monthly A"),
                ("client", &t.client_a),
                ("frequency", "1"),
                ("unit", "month"),
                ("callDirection", "outbound"),
                ("email", "billing@example.com"),
                ("nextExecution", "2026-03-01T08:00"),
                ("enabled", "on"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let (_, s) = app
        .get(&format!("/call_csv_schedulers/{sid}"), &t.operator_a)
        .await;
    assert_eq!(s["nextExecution"], "2026-03-01T07:00:00Z");
    let page = b.get("/ui/schedulers").await;
    assert!(page.body.contains("2026-03-01 08:00"), "{}", page.body);
    let edit = b.get(&format!("/ui/schedulers/{sid}")).await;
    assert!(
        edit.body
            .contains("The next run builds the report of 2026-02-01 to 2026-02-28"),
        "{}",
        edit.body
    );

    // Disable, then delete after the confirmation page.
    let off = b
        .post(
            &format!("/ui/schedulers/{sid}/enabled"),
            &[("_csrf", &csrf), ("enabled", "false")],
        )
        .await;
    assert_eq!(off.status, StatusCode::SEE_OTHER, "{}", off.body);
    let (_, s) = app
        .get(&format!("/call_csv_schedulers/{sid}"), &t.operator_a)
        .await;
    assert_eq!(s["enabled"], false);
    assert_eq!(
        s["nextExecution"], "2026-03-01T07:00:00Z",
        "nothing else changed"
    );
    // From htmx (the list's button), the answer is the row alone, to swap in place.
    let cookie = format!("callcsv_session={}", b.cookies["callcsv_session"]);
    let res = reqwest::Client::new()
        .post(app.url(&format!("/ui/schedulers/{sid}/enabled")))
        .header(COOKIE, cookie)
        .header("X-CSRF-Token", &csrf)
        .header("HX-Request", "true")
        .form(&[("enabled", "true")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let fragment = res.text().await.unwrap();
    assert!(fragment.trim_start().starts_with("<tr>"), "{fragment}");
    assert!(fragment.contains("Monthly A") && fragment.contains("Yes · disable"));
    assert!(!fragment.contains("<html"));
    let (_, s) = app
        .get(&format!("/call_csv_schedulers/{sid}"), &t.operator_a)
        .await;
    assert_eq!(s["enabled"], true);

    let confirm = b.get(&format!("/ui/schedulers/{sid}/delete")).await;
    assert!(confirm.body.contains("Delete the scheduler"));
    let gone = b
        .post(&format!("/ui/schedulers/{sid}/delete"), &[("_csrf", &csrf)])
        .await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER);
    let (status, _) = app
        .get(&format!("/call_csv_schedulers/{sid}"), &t.operator_a)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A client administrator's form has no brand-level fields; its scheduler is its client's.
    let mut c = Browser::signed_in(&app, "ca-a", "client-pw").await;
    let form = c.get("/ui/schedulers/new").await;
    assert!(!form.body.contains("name=\"carrier\""));
    let csrf = form.csrf();
    let made = c
        .post(
            "/ui/schedulers",
            &[
                ("_csrf", &csrf),
                ("name", "Mine"),
                ("unit", "week"),
                ("frequency", "1"),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let (_, list) = app.get("/call_csv_schedulers", &t.client_admin_a).await;
    assert_eq!(list[0]["level"], "client");
}

async fn console_pages_escape_text_and_hide_other_tenants(app: TestApp) {
    let t = Tenants::create(&app).await;
    app.client(
        &t.operator_a,
        &t.brand_a,
        "<script>alert(1)</script>",
        "retail",
    )
    .await;
    let other = id(&app
        .create(
            "/call_csv_schedulers",
            &t.operator_b,
            json!({"name": "B's"}),
        )
        .await);
    let mut b = Browser::signed_in(&app, "op-a", "operator-pw").await;
    let page = b.get("/ui/clients").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<script>alert(1)"));
    assert!(!page.body.contains("Client B"), "another brand's client");

    // Another tenant's id, a malformed id and an unknown page: the console's 404 page.
    for path in [
        format!("/ui/schedulers/{other}"),
        format!("/ui/schedulers/{other}/delete"),
        "/ui/schedulers/not-an-id".to_string(),
        "/ui/nowhere".to_string(),
    ] {
        let page = b.get(&path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert!(page.body.contains("Not found"), "{path}: {}", page.body);
        assert!(page.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
    }
    let csrf = b.csrf().await;
    let page = b
        .post(
            &format!("/ui/schedulers/{other}/delete"),
            &[("_csrf", &csrf)],
        )
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .get(&format!("/call_csv_schedulers/{other}"), &t.operator_b)
        .await;
    assert_eq!(status, StatusCode::OK, "still there");

    // A client administrator sees no carriers page (the API's 403), and its own lists.
    let mut c = Browser::signed_in(&app, "ca-a", "client-pw").await;
    assert_eq!(c.get("/ui/carriers").await.status, StatusCode::FORBIDDEN);
    assert_eq!(c.get("/ui/ddis").await.status, StatusCode::OK);
    let schedulers = c.get("/ui/schedulers").await;
    assert!(!schedulers.body.contains("B's"));
}

async fn console_calls_search_and_export_hide_costs_from_client_administrators(app: TestApp) {
    let w = crate::billable_calls::world(&app).await;
    let op = &w.t.operator_a;
    let rows = json!([
        crate::billable_calls::outbound(&w, "call-1", "2026-01-05T10:00:00+01:00", json!(90)),
        crate::billable_calls::outbound(&w, "call-2", "2026-01-06T10:00:00+01:00", json!(30)),
    ]);
    let (status, body) = app.post("/billable_calls", op, rows).await;
    assert!(status.is_success(), "{body}");

    let mut b = Browser::signed_in(&app, "op-a", "operator-pw").await;
    let page = b.get("/ui/calls").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Cost"));
    assert!(
        page.body.contains("2026-01-05 10:00"),
        "start in Europe/Madrid: {}",
        page.body
    );
    assert!(page.body.contains(" EUR"), "money with its currency");
    let filtered = b.get("/ui/calls?from=2026-01-06T00:00&to=&callid=").await;
    assert!(!filtered.body.contains("2026-01-05 10:00"));
    assert!(filtered.body.contains("2026-01-06 10:00"));
    assert!(filtered
        .body
        .contains("/ui/calls/export?from=2026-01-06T00%3A00"));

    // The export is the API's CSV of the same filter.
    let csv = b.get("/ui/calls/export?from=2026-01-06T00%3A00").await;
    assert_eq!(csv.status, StatusCode::OK);
    let api = reqwest::Client::new()
        .get(app.url("/billable_calls?startTime[after]=2026-01-06T00:00:00%2B01:00"))
        .bearer_auth(op)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(csv.body, api);
    assert_eq!(csv.body.lines().count(), 2, "{}", csv.body);

    let mut c = Browser::signed_in(&app, "ca-a", "client-pw").await;
    let page = c.get("/ui/calls").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("call") || page.body.contains("2026-01-05"));
    assert!(!page.body.contains(">Cost<"), "no cost column");
    assert!(!page.body.contains(">Carrier<"), "no carrier");
    let csv = c.get("/ui/calls/export").await;
    let header = csv.body.lines().next().unwrap_or_default().to_string();
    assert!(!header.split(',').any(|h| h == "cost"), "{header}");
}

async fn console_reports_list_and_download(app: TestApp) {
    let t = Tenants::create(&app).await;
    // Due an hour ago: the runner builds the report of the month before.
    let due = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    app.create(
        "/call_csv_schedulers",
        &t.operator_a,
        json!({"name": "Due", "nextExecution": due}),
    )
    .await;
    app.run_runner_once().await;
    let (_, reports) = app.get("/call_csv_reports", &t.operator_a).await;
    let report = id(&reports[0]);

    let mut b = Browser::signed_in(&app, "op-a", "operator-pw").await;
    let page = b.get("/ui/reports").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Due"));
    assert!(page.body.contains(&format!("/ui/reports/{report}/csv")));
    let csv = b.get(&format!("/ui/reports/{report}/csv")).await;
    assert_eq!(csv.status, StatusCode::OK);
    let api = reqwest::Client::new()
        .get(app.url(&format!("/call_csv_reports/{report}/csv")))
        .bearer_auth(&t.operator_a)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(csv.body, api);
    let filtered = b.get("/ui/reports?emailStatus=failed").await;
    assert!(!filtered.body.contains(&format!("/ui/reports/{report}/csv")));

    // Brand B sees neither the report in its list nor its file.
    let mut other = Browser::signed_in(&app, "op-b", "operator-pw").await;
    assert!(!other.get("/ui/reports").await.body.contains("Due"));
    let csv = other.get(&format!("/ui/reports/{report}/csv")).await;
    assert_eq!(csv.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_is_off_with_callcsv_ui_false() {
    let app = TestApp::start_with(Backend::Sqlite, &[("CALLCSV_UI", "false")]).await;
    let mut b = Browser::new(&app);
    assert_eq!(b.get("/ui/login").await.status, StatusCode::NOT_FOUND);
    assert_eq!(b.get("/").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_cookie_is_secure_when_configured() {
    let app = TestApp::start_with(Backend::Sqlite, &[("CALLCSV_COOKIE_SECURE", "true")]).await;
    let mut b = Browser::new(&app);
    b.sign_in(ROOT_USER, ROOT_PASSWORD).await;
    let session = b
        .set_cookies
        .iter()
        .find(|c| c.starts_with("callcsv_session="))
        .expect("session cookie");
    assert!(session.contains("Secure"), "{session}");
}
