//! The test app: the real service, started in-process on a free port against its own
//! database (a fresh SQLite file, or a fresh PostgreSQL database when
//! `CALLCSV_TEST_PG_URL` is set), driven over HTTP with reqwest.

use std::collections::HashMap;
use std::net::TcpListener;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub const ROOT_USER: &str = "root";
pub const ROOT_PASSWORD: &str = "root-password";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    #[allow(dead_code)] // read by tests that differ per backend
    pub backend: Backend,
    pub data_dir: tempfile::TempDir,
    /// The bootstrap platform administrator's token.
    pub root: String,
    handle: actix_web::dev::ServerHandle,
    pg: Option<(String, String)>,
    /// The app's pool and configuration, for [`TestApp::run_runner_once`].
    pool: callcsv::db::DbPool,
    config: std::sync::Arc<callcsv::config::Config>,
}

/// Generates a `sqlite` and a `postgres` test for each listed `async fn name(app: TestApp)`.
/// The PostgreSQL one is `ignored` when `CALLCSV_TEST_PG_URL` was unset at build time
/// (see build.rs), and skipped with a note when it is unset when run; `.ci/run` always
/// sets it.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = $crate::common::TestApp::start($crate::common::Backend::Sqlite).await;
                    super::$name(app).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(callcsv_pg_tests), ignore = "CALLCSV_TEST_PG_URL is not set")]
                async fn postgres() {
                    if $crate::common::pg_url().is_none() {
                        eprintln!("skipped: CALLCSV_TEST_PG_URL is not set");
                        return;
                    }
                    let app = $crate::common::TestApp::start($crate::common::Backend::Postgres).await;
                    super::$name(app).await;
                }
            }
        )*
    };
}

/// Like [`backend_tests!`] for tests that start their own app: each listed
/// `async fn name(backend: Backend)` runs once per backend.
#[macro_export]
macro_rules! backend_cases {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::common::Backend::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(callcsv_pg_tests), ignore = "CALLCSV_TEST_PG_URL is not set")]
                async fn postgres() {
                    if $crate::common::pg_url().is_none() {
                        eprintln!("skipped: CALLCSV_TEST_PG_URL is not set");
                        return;
                    }
                    super::$name($crate::common::Backend::Postgres).await;
                }
            }
        )*
    };
}

pub fn pg_url() -> Option<String> {
    std::env::var("CALLCSV_TEST_PG_URL")
        .ok()
        .filter(|v| !v.is_empty())
}

fn random_suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..16].to_string()
}

/// Creates a fresh PostgreSQL database; returns (admin url, database name, its url).
pub fn create_pg_database() -> (String, String, String) {
    use diesel::{Connection, PgConnection, RunQueryDsl};
    let admin_url = pg_url().expect("CALLCSV_TEST_PG_URL");
    let name = format!("callcsv_t_{}", random_suffix());
    let mut conn =
        PgConnection::establish(&admin_url).expect("PostgreSQL reachable at CALLCSV_TEST_PG_URL");
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .expect("create test database");
    let mut url = url::Url::parse(&admin_url).expect("CALLCSV_TEST_PG_URL is a URL");
    url.set_path(&name);
    (admin_url, name, url.to_string())
}

/// Drops a database made by [`create_pg_database`] (FORCE closes what is still connected).
pub fn drop_pg_database(admin_url: &str, name: &str) {
    use diesel::{Connection, PgConnection, RunQueryDsl};
    if let Ok(mut conn) = PgConnection::establish(admin_url) {
        let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn);
    }
}

impl TestApp {
    pub async fn start(backend: Backend) -> TestApp {
        TestApp::start_with(backend, &[]).await
    }

    /// Starts the service with extra `CALLCSV_*` variables.
    pub async fn start_with(backend: Backend, extra: &[(&str, &str)]) -> TestApp {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut vars: HashMap<String, String> = HashMap::new();
        vars.insert(
            "CALLCSV_DATA_DIR".into(),
            data_dir.path().to_string_lossy().into(),
        );
        vars.insert("CALLCSV_BOOTSTRAP_ADMIN".into(), ROOT_USER.into());
        vars.insert("CALLCSV_BOOTSTRAP_PASSWORD".into(), ROOT_PASSWORD.into());
        vars.insert("CALLCSV_RUNNER_INTERVAL".into(), "0".into());
        vars.insert("CALLCSV_DB_POOL_SIZE".into(), "4".into());
        let pg = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => {
                let (admin_url, name, url) = tokio::task::spawn_blocking(create_pg_database)
                    .await
                    .unwrap();
                vars.insert("CALLCSV_DATABASE_URL".into(), url);
                Some((admin_url, name))
            }
        };
        for (k, v) in extra {
            vars.insert(k.to_string(), v.to_string());
        }
        let config = callcsv::config::Config::from_map(&vars).expect("test config");
        let state = tokio::task::spawn_blocking(move || callcsv::server::prepare(config))
            .await
            .unwrap()
            .expect("service prepares");
        let (pool, state_config) = (state.pool.clone(), state.config.clone());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = callcsv::server::start(state, listener, 1).expect("server starts");
                tx.send(server.handle()).unwrap();
                let _ = server.wait().await;
            })
        });
        let handle = rx.recv().unwrap();
        let mut app = TestApp {
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
            backend,
            data_dir,
            root: String::new(),
            handle,
            pg,
            pool,
            config: state_config,
        };
        app.root = app.login(ROOT_USER, ROOT_PASSWORD).await;
        app
    }

    /// One runner pass in the test's process, as `callcsv run-due --once` does: for tests
    /// that keep the app's own runner off (the default here) and want a pass at a known
    /// moment.
    pub async fn run_runner_once(&self) -> callcsv::runner::Pass {
        let runner = self.runner();
        tokio::task::spawn_blocking(move || runner.run_once())
            .await
            .unwrap()
            .expect("runner pass")
    }

    /// Only the runner's first step: records what is due, builds nothing. Returns how many
    /// occurrences were recorded.
    pub async fn record_due(&self) -> usize {
        let runner = self.runner();
        tokio::task::spawn_blocking(move || runner.record_due())
            .await
            .unwrap()
            .expect("recording due occurrences")
    }

    /// A runner of the app's database, as another process would have (its own leases).
    pub fn runner(&self) -> callcsv::runner::Runner {
        callcsv::runner::Runner::new(self.pool.clone(), self.config.clone(), Default::default())
            .expect("runner starts")
    }

    /// `CALLCSV_DATABASE_URL` for another process on the app's database; `None` when it is
    /// the default SQLite file of the data dir.
    pub fn database_url(&self) -> Option<String> {
        match &self.config.database_url {
            callcsv::config::DatabaseUrl::Postgres(url) => Some(url.clone()),
            callcsv::config::DatabaseUrl::Sqlite(_) => None,
        }
    }

    /// `callcsv run-due --once` in another process on the app's database (with `extra`
    /// variables and a 5 s lease), aborting like `kill -9` at the fault point `point`.
    pub async fn run_due_crashing_at(&self, point: &str, extra: &[(&str, &str)]) {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_callcsv"));
        for (key, _) in std::env::vars() {
            if key.starts_with("CALLCSV_") {
                cmd.env_remove(key);
            }
        }
        cmd.env("CALLCSV_DATA_DIR", self.data_dir.path())
            .env("CALLCSV_REPORT_LEASE_SECONDS", "5")
            .env("CALLCSV_LOG", "warn")
            .env("CALLCSV_TEST_CRASH_AT", point)
            .envs(extra.iter().copied())
            .args(["run-due", "--once"]);
        if let Some(url) = self.database_url() {
            cmd.env("CALLCSV_DATABASE_URL", url);
        }
        let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "the child crashed: {stderr}");
        assert!(stderr.contains(&format!("crashing at {point}")), "{stderr}");
    }

    /// The app's database pool, for tests that set up a state the API cannot reach.
    pub fn pool(&self) -> callcsv::db::DbPool {
        self.pool.clone()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Logs in and returns the token (panics unless 200).
    pub async fn login(&self, username: &str, password: &str) -> String {
        let (status, body) = self
            .call(
                Method::POST,
                "/auth/login",
                None,
                Some(json!({"username": username, "password": password})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "login {username}: {body}");
        body["token"].as_str().unwrap().to_string()
    }

    /// Any JSON call: returns the status and the parsed body (Null when empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (status, _, body) = self.call_full(method, path, token, body).await;
        (status, body)
    }

    /// Like `call`, also returning the headers.
    pub async fn call_full(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut req = self.http.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request sent");
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        if status.is_client_error() || status.is_server_error() {
            assert!(
                value.get("code").is_some() && value.get("message").is_some(),
                "error responses use the one error shape, got {status} {value}"
            );
        }
        assert_ne!(
            status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "never a 500: {value}"
        );
        (status, headers, value)
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> StatusCode {
        self.call(Method::DELETE, path, Some(token), None).await.0
    }

    /// POST that must succeed with 201; returns the created object.
    pub async fn create(&self, path: &str, token: &str, body: Value) -> Value {
        let (status, created) = self.post(path, token, body.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "POST {path} {body}: {created}");
        created
    }

    // ---- fixtures -------------------------------------------------------------------

    pub async fn brand(&self, name: &str) -> String {
        let b = self
            .create(
                "/brands",
                &self.root,
                json!({"name": name, "timezone": "Europe/Madrid"}),
            )
            .await;
        b["id"].as_str().unwrap().to_string()
    }

    /// Gives `brand` a `country` (CDR sources number by it).
    pub async fn brand_country(&self, brand: &str, country: &str) {
        let path = format!("/brands/{brand}");
        let (status, body) = self
            .patch(&path, &self.root, json!({ "country": country }))
            .await;
        assert_eq!(status, StatusCode::OK, "PATCH {path} {body}");
    }

    pub async fn client(&self, token: &str, brand: &str, name: &str, client_type: &str) -> String {
        let body = json!({"brand": brand, "name": name, "type": client_type});
        let c = self.create("/clients", token, body).await;
        c["id"].as_str().unwrap().to_string()
    }

    /// Creates a brand operator of `brand` and returns its token.
    pub async fn brand_operator(&self, brand: &str, username: &str) -> String {
        let body = json!({"username": username, "password": "operator-pw", "role": "brand", "brand": brand});
        self.create("/administrators", &self.root, body).await;
        self.login(username, "operator-pw").await
    }

    /// Creates a client administrator of `client` and returns its token.
    pub async fn client_admin(&self, client: &str, username: &str) -> String {
        let body = json!({"username": username, "password": "client-pw", "role": "client", "client": client});
        self.create("/administrators", &self.root, body).await;
        self.login(username, "client-pw").await
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop the server, then drop the PostgreSQL database (FORCE closes the pool's
        // connections).
        drop(self.handle.stop(false));
        if let Some((admin_url, name)) = self.pg.take() {
            drop_pg_database(&admin_url, &name);
        }
    }
}

/// A fixture of two tenants for isolation tests: brands A and B, each with a vpbx client,
/// a brand operator and a client administrator.
pub struct Tenants {
    pub brand_a: String,
    pub brand_b: String,
    pub client_a: String,
    pub client_b: String,
    pub operator_a: String,
    pub operator_b: String,
    pub client_admin_a: String,
    pub client_admin_b: String,
}

impl Tenants {
    pub async fn create(app: &TestApp) -> Tenants {
        let brand_a = app.brand("Brand A").await;
        let brand_b = app.brand("Brand B").await;
        let client_a = app.client(&app.root, &brand_a, "Client A", "vpbx").await;
        let client_b = app.client(&app.root, &brand_b, "Client B", "vpbx").await;
        Tenants {
            operator_a: app.brand_operator(&brand_a, "op-a").await,
            operator_b: app.brand_operator(&brand_b, "op-b").await,
            client_admin_a: app.client_admin(&client_a, "ca-a").await,
            client_admin_b: app.client_admin(&client_b, "ca-b").await,
            brand_a,
            brand_b,
            client_a,
            client_b,
        }
    }
}

pub fn id(v: &Value) -> String {
    v["id"].as_str().expect("object has an id").to_string()
}
