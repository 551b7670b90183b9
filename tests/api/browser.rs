//! The console in a real browser: Debian's chromium, driven through chromedriver
//! (fantoccini). One journey — sign in, the dashboard draws its charts and map, create a scheduler through the form (the call
//! direction hides the filters that do not apply), edit its next execution, sign out — and
//! screenshots of every page at 1280×800 and 390×844 in `target/screenshots/` for people to
//! look at. Checks what only a browser shows: the scripts run under the CSP, and no page
//! is wider than a phone.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (`.ci/run` installs them). Without
//! them the test says so and passes, unless `CALLCSV_TEST_BROWSER=1` (set by `.ci/run`)
//! makes a missing browser a failure.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::common::{Backend, TestApp};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const WIDE: (u32, u32) = (1280, 800);
const PHONE: (u32, u32) = (390, 844);

/// chromedriver on a free port, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_driver() -> Driver {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..100 {
        if reqwest::get(format!("{}/status", driver.url)).await.is_ok() {
            return driver;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not answer on {}", driver.url);
}

async fn browser(driver: &Driver) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--lang=en-US", "--hide-scrollbars", "--window-size=1280,800"]
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a chromium session")
}

fn screenshots_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The viewport's size set (the window is a little larger than what it shows).
async fn viewport(c: &Client, (width, height): (u32, u32)) {
    c.set_window_size(width, height).await.unwrap();
    let inner = c
        .execute("return [window.innerWidth, window.innerHeight]", vec![])
        .await
        .unwrap();
    let (iw, ih) = (inner[0].as_u64().unwrap(), inner[1].as_u64().unwrap());
    c.set_window_size(2 * width - iw as u32, 2 * height - ih as u32)
        .await
        .unwrap();
}

/// Screenshots of the page at both widths; at the phone's, the page must not scroll
/// sideways (wide tables scroll inside their own box).
async fn shoot(c: &Client, app: &TestApp, name: &str, path: &str) {
    for size in [WIDE, PHONE] {
        viewport(c, size).await;
        c.goto(&app.url(path)).await.unwrap();
        let png = c.screenshot().await.unwrap();
        let file = screenshots_dir().join(format!("{name}-{}x{}.png", size.0, size.1));
        std::fs::write(&file, png).unwrap();
        let fits = c
            .execute(
                "return document.documentElement.scrollWidth <= window.innerWidth",
                vec![],
            )
            .await
            .unwrap();
        if fits != json!(true) {
            let wide = c
                .execute(
                    "return Array.from(document.querySelectorAll('body *')).filter(e => \
                     e.getBoundingClientRect().right > window.innerWidth).map(e => \
                     e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))",
                    vec![],
                )
                .await
                .unwrap();
            panic!("{path} at {size:?} scrolls sideways: {wide}");
        }
        if size == PHONE {
            // The sections stay one row (scrolling sideways), the current one in view.
            let header = c
                .execute(
                    "var h = document.querySelector('header.top'); \
                     var a = document.querySelector('header.top nav a[aria-current=page]'); \
                     if (!h) return [0, true]; \
                     var r = a ? a.getBoundingClientRect() : null; \
                     return [Math.round(h.getBoundingClientRect().height), \
                             !r || (r.left >= 0 && r.right <= window.innerWidth)]",
                    vec![],
                )
                .await
                .unwrap();
            let height = header[0].as_i64().unwrap();
            assert!(
                height <= 100,
                "{path}: the header is {height} px high at {size:?}"
            );
            assert_eq!(
                header[1],
                json!(true),
                "{path}: the current section out of view"
            );
        }
    }
    viewport(c, WIDE).await;
}

async fn wait_for_path(c: &Client, path: &str) {
    for _ in 0..100 {
        if c.current_url().await.unwrap().path() == path {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "still at {} instead of {path}",
        c.current_url().await.unwrap()
    );
}

async fn text(c: &Client) -> String {
    c.find(Locator::Css("body"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_in_a_browser_sign_in_create_and_reschedule_a_scheduler_sign_out() {
    let required = std::env::var("CALLCSV_TEST_BROWSER").is_ok_and(|v| v == "1");
    if !std::path::Path::new(CHROMEDRIVER).exists() || !std::path::Path::new(CHROMIUM).exists() {
        assert!(
            !required,
            "CALLCSV_TEST_BROWSER=1 but {CHROMIUM} or {CHROMEDRIVER} is missing: apt-get install chromium chromium-driver"
        );
        eprintln!(
            "skipped: no {CHROMIUM} / {CHROMEDRIVER} (apt-get install chromium chromium-driver)"
        );
        return;
    }
    let app = TestApp::start(Backend::Sqlite).await;
    let brand = app.brand("Demo Telecom").await;
    let operator = app.brand_operator(&brand, "operator").await;
    let acme = app
        .client(&operator, &brand, "<b>Acme</b> & Co", "retail")
        .await;
    // Two calls of the last hours for the dashboard to draw: Spain and the United Kingdom.
    let carrier = app
        .create("/carriers", &operator, json!({"name": "Transit"}))
        .await["id"]
        .clone();
    let carrier_delete = format!("/ui/carriers/{}/delete", carrier.as_str().unwrap());
    let provider = app
        .create(
            "/ddi_providers",
            &operator,
            json!({"name": "Numbers Inc", "addresses": ["192.0.2.0/24"],
                   "transformationRules": [{"matchExpr": "^0034", "replaceExpr": "+34", "priority": 1}]}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.create(
        "/alert_rules",
        &operator,
        json!({"name": "Daily calls", "kind": "spend", "measure": "calls", "window": "day",
               "per": "client", "threshold": "2", "email": "noc@example.com"}),
    )
    .await;
    let now = chrono::Utc::now();
    let calls = json!([
        {"callid": "b-1", "startTime": (now - chrono::Duration::hours(2)).to_rfc3339(), "duration": 600,
         "caller": "+34911000001", "callee": "+34600111222", "direction": "outbound", "client": acme, "carrier": carrier},
        {"callid": "b-2", "startTime": (now - chrono::Duration::hours(3)).to_rfc3339(), "duration": 60,
         "caller": "+34911000001", "callee": "+442079460000", "direction": "outbound", "client": acme, "carrier": carrier},
    ]);
    let (status, body) = app.post("/billable_calls", &operator, calls).await;
    assert!(status.is_success(), "{body}");
    assert_eq!(body["accepted"], 2, "{body}");
    // The two calls fire the alert rule: an event for the dashboard and the events page.
    app.run_runner_once().await;
    let driver = start_driver().await;
    let c = browser(&driver).await;
    viewport(&c, WIDE).await;

    // Sign in.
    shoot(&c, &app, "login", "/ui/login").await;
    c.goto(&app.url("/ui/schedulers")).await.unwrap();
    wait_for_path(&c, "/ui/login").await;
    c.find(Locator::Id("username"))
        .await
        .unwrap()
        .send_keys("operator")
        .await
        .unwrap();
    c.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys("operator-pw")
        .await
        .unwrap();
    c.find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The start page, the dashboard, draws its charts (uPlot's canvas, under the CSP) and
    // the world map (server-drawn SVG paths, Spain in the darkest shade).
    wait_for_path(&c, "/ui/").await;
    c.wait()
        .for_element(Locator::Css(".chart canvas"))
        .await
        .unwrap();
    let drawn = c
        .execute(
            "return [document.querySelectorAll('.chart canvas').length, \
             document.querySelectorAll('.world-map svg path').length, \
             document.querySelectorAll('.world-map path.shade-5').length, \
             document.querySelector('.chart canvas').width]",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        drawn[0],
        json!(2),
        "calls/minutes and price/cost charts: {drawn}"
    );
    assert!(drawn[1].as_u64().unwrap() > 170, "the countries: {drawn}");
    assert_eq!(drawn[2], json!(1), "Spain has the most minutes: {drawn}");
    assert!(
        drawn[3].as_u64().unwrap() > 300,
        "the chart has a size: {drawn}"
    );
    assert!(text(&c).await.contains("Spain"));
    c.find(Locator::LinkText("Schedulers"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&c, "/ui/schedulers").await;
    assert!(text(&c).await.contains("Call CSV schedulers"));
    // The scripts ran under the CSP (no inline script anywhere).
    let htmx = c.execute("return typeof htmx", vec![]).await.unwrap();
    assert_eq!(htmx, json!("object"), "htmx loaded");

    // Create a scheduler through the form; the carrier filter shows only for outbound calls.
    c.find(Locator::LinkText("New scheduler"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&c, "/ui/schedulers/new").await;
    let carrier = c.find(Locator::Id("carrier")).await.unwrap();
    assert!(carrier.is_displayed().await.unwrap());
    c.find(Locator::Css("#callDirection option[value=inbound]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert!(!carrier.is_displayed().await.unwrap(), "hidden for inbound");
    c.find(Locator::Css("#callDirection option[value=outbound]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.find(Locator::Id("name"))
        .await
        .unwrap()
        .send_keys("Nightly Acme")
        .await
        .unwrap();
    c.find(Locator::Id("email"))
        .await
        .unwrap()
        .send_keys("billing@example.com")
        .await
        .unwrap();
    c.find(Locator::Css("form.grid-form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&c, "/ui/schedulers").await;
    assert!(text(&c).await.contains("Nightly Acme"));

    // Edit its next execution (in the brand's zone, Europe/Madrid).
    c.find(Locator::LinkText("Nightly Acme"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let edit_path = c.current_url().await.unwrap().path().to_string();
    let next = c.find(Locator::Id("nextExecution")).await.unwrap();
    // A datetime-local input's keyboard order depends on the locale: set the value as the
    // picker would.
    c.execute(
        "arguments[0].value = arguments[1]",
        vec![
            serde_json::to_value(&next).unwrap(),
            json!("2026-03-01T08:00:00"),
        ],
    )
    .await
    .unwrap();
    shoot_current(&c, "scheduler-edit").await;
    c.find(Locator::Css("form.grid-form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&c, "/ui/schedulers").await;
    assert!(
        text(&c).await.contains("2026-03-01 08:00"),
        "{}",
        text(&c).await
    );
    let (_, list) = app.get("/call_csv_schedulers", &operator).await;
    assert_eq!(list[0]["nextExecution"], "2026-03-01T07:00:00Z");

    // Disable it from the list: htmx swaps the row in place (no page load).
    c.execute("window.notReloaded = true", vec![])
        .await
        .unwrap();
    c.find(Locator::Css("button[aria-label='Disable Nightly Acme']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css("button[aria-label='Enable Nightly Acme']"))
        .await
        .unwrap();
    let same_page = c
        .execute("return window.notReloaded === true", vec![])
        .await
        .unwrap();
    assert_eq!(same_page, json!(true), "swapped by htmx, not reloaded");
    let (_, list) = app.get("/call_csv_schedulers", &operator).await;
    assert_eq!(list[0]["enabled"], false);

    // Every page, at both widths.
    let provider_page = format!("/ui/ddi_providers/{provider}?number=0034911000001");
    let provider_edit = format!("/ui/ddi_providers/{provider}/edit");
    for (name, path) in [
        ("dashboard", "/ui/"),
        ("dashboard-30d", "/ui/?range=30d"),
        ("statistics-traffic", "/ui/statistics/traffic"),
        ("statistics-compare", "/ui/statistics/compare"),
        ("statistics-countries", "/ui/statistics/countries"),
        ("statistics-carriers", "/ui/statistics/carriers"),
        ("statistics-clients", "/ui/statistics/clients"),
        ("schedulers", "/ui/schedulers"),
        ("scheduler-new", "/ui/schedulers/new"),
        ("scheduler", edit_path.as_str()),
        ("reports", "/ui/reports"),
        ("calls", "/ui/calls"),
        ("clients", "/ui/clients"),
        ("carriers", "/ui/carriers"),
        ("ddi-providers", "/ui/ddi_providers"),
        ("ddis", "/ui/ddis"),
        ("endpoints", "/ui/endpoints"),
        ("endpoint-new", "/ui/endpoints/new"),
        ("ddi-provider", provider_page.as_str()),
        ("ddi-provider-edit", provider_edit.as_str()),
        ("carrier-delete", carrier_delete.as_str()),
        ("administrators", "/ui/administrators"),
        ("administrator-new", "/ui/administrators/new"),
        ("rating-plans", "/ui/rating_plans"),
        ("rating-profile-new", "/ui/rating_profiles/new"),
        ("rating-profiles", "/ui/rating_profiles"),
        ("templates", "/ui/notification_templates"),
        ("cdr-sources", "/ui/cdr_sources"),
        ("cdr-source-new", "/ui/cdr_sources/new?format=webex-cdr"),
        ("cdr-imports", "/ui/cdr_imports"),
        ("alert-rules", "/ui/alert_rules"),
        ("alert-rule-new", "/ui/alert_rules/new?kind=quality"),
        ("alert-events", "/ui/alert_events"),
        ("not-found", "/ui/nowhere"),
    ] {
        shoot(&c, &app, name, path).await;
    }
    c.goto(&app.url("/ui/clients")).await.unwrap();
    assert!(text(&c).await.contains("<b>Acme</b> & Co"), "shown as text");

    // Sign out: back to the sign-in page, and the console is closed.
    c.find(Locator::Css(".who button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&c, "/ui/login").await;
    c.goto(&app.url("/ui/schedulers")).await.unwrap();
    wait_for_path(&c, "/ui/login").await;
    c.close().await.unwrap();
}

/// A screenshot of the page as it is now, at the wide size.
async fn shoot_current(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    let file = screenshots_dir().join(format!("{name}-{}x{}.png", WIDE.0, WIDE.1));
    std::fs::write(file, png).unwrap();
}
