//! The `callcsv` command itself, as an operator uses it: configuration errors, `migrate`,
//! `admin create`, the first-start hint, `run-due --once`, a JWT secret that survives a
//! restart, and a clean exit on SIGTERM.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

/// The binary with a clean `CALLCSV_*` environment, working in `dir`.
pub(crate) fn callcsv(dir: &Path, vars: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_callcsv"));
    for (key, _) in std::env::vars() {
        if key.starts_with("CALLCSV_") {
            cmd.env_remove(key);
        }
    }
    cmd.current_dir(dir)
        .env("CALLCSV_DATA_DIR", dir.join("data"))
        .env("CALLCSV_LOG", "warn")
        .envs(vars.iter().copied());
    cmd
}

pub(crate) fn run(cmd: &mut Command, stdin: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub(crate) struct Serve {
    child: Child,
    pub(crate) base: String,
    /// Where the service's standard output (its log) goes.
    log: std::path::PathBuf,
}

impl Serve {
    pub(crate) async fn start(dir: &Path, vars: &[(&str, &str)]) -> Serve {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let bind = format!("127.0.0.1:{port}");
        let mut all = vec![
            ("CALLCSV_BIND", bind.as_str()),
            ("CALLCSV_RUNNER_INTERVAL", "0"),
        ];
        all.extend_from_slice(vars);
        let log = dir.join(format!("serve-{port}.log"));
        let child = callcsv(dir, &all)
            .arg("serve")
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let serve = Serve {
            child,
            base: format!("http://{bind}"),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while reqwest::get(format!("{}/readyz", serve.base))
            .await
            .map(|r| r.status())
            .ok()
            != Some(StatusCode::OK)
        {
            assert!(Instant::now() < deadline, "serve did not become ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        serve
    }

    pub(crate) async fn login(&self, user: &str, password: &str) -> reqwest::Response {
        reqwest::Client::new()
            .post(format!("{}/auth/login", self.base))
            .json(&json!({"username": user, "password": password}))
            .send()
            .await
            .unwrap()
    }

    /// SIGTERM, then the exit status, its standard error and its standard output (the log);
    /// it must stop by itself within 20 s.
    pub(crate) fn terminate(mut self) -> (std::process::ExitStatus, String, String) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let mut stderr = String::new();
                use std::io::Read;
                let _ = self
                    .child
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut stderr);
                let stdout = std::fs::read_to_string(&self.log).unwrap();
                return (status, stderr, stdout);
            }
            assert!(
                Instant::now() < deadline,
                "still running 20 s after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn configuration_errors_stop_the_service_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    for (name, value, expected) in [
        (
            "CALLCSV_DATABASE_URL",
            "mysql://localhost/x",
            "unknown scheme",
        ),
        ("CALLCSV_DATABASE_URL", "callcsv.db", "unknown scheme"),
        ("CALLCSV_BIND", "everywhere", "CALLCSV_BIND"),
        ("CALLCSV_RUNNER_INTERVAL", "-1", "CALLCSV_RUNNER_INTERVAL"),
        ("CALLCSV_SMTP_URL", "http://mail", "CALLCSV_SMTP_URL"),
        ("CALLCSV_FROBNICATE", "1", "unknown variable"),
    ] {
        let out = run(callcsv(dir.path(), &[(name, value)]).arg("serve"), "");
        assert_eq!(out.status.code(), Some(1), "{name}={value}");
        assert!(
            text(&out.stderr).contains(expected),
            "{name}={value}: {}",
            text(&out.stderr)
        );
    }
    assert!(
        !dir.path().join("data").exists(),
        "nothing was created by a refused start"
    );
}

#[tokio::test]
async fn migrate_admin_create_restart_and_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(callcsv(dir.path(), &[]).arg("migrate"), "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
        .unwrap()
        .count();
    assert!(
        text(&out.stdout).contains(&format!("applied {migrations} migration(s)")),
        "{}",
        text(&out.stdout)
    );

    // No administrator yet: the first start says how to create one.
    let serve = Serve::start(dir.path(), &[]).await;
    let (status, stderr, _) = serve.terminate();
    assert!(status.success(), "SIGTERM is a clean exit: {status}");
    assert!(
        stderr.contains("callcsv admin create --username"),
        "{stderr}"
    );

    let out = run(
        callcsv(dir.path(), &[]).args([
            "admin",
            "create",
            "--username",
            "ops",
            "--role",
            "brand",
            "--password-stdin",
        ]),
        "pw-long-enough\n",
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "brand administrators are created through the API"
    );
    let out = run(
        callcsv(dir.path(), &[]).args([
            "admin",
            "create",
            "--username",
            "admin",
            "--password-stdin",
        ]),
        "short\n",
    );
    assert_eq!(out.status.code(), Some(1));
    let out = run(
        callcsv(dir.path(), &[]).args([
            "admin",
            "create",
            "--username",
            "admin",
            "--role",
            "platform",
            "--password-stdin",
        ]),
        "pw-long-enough\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));

    // A token survives a restart: the generated secret is kept in the data dir, private.
    let serve = Serve::start(dir.path(), &[]).await;
    let res = serve.login("admin", "pw-long-enough").await;
    assert_eq!(res.status(), StatusCode::OK);
    let token = res.json::<serde_json::Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _, _) = serve.terminate();
    assert!(status.success());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("data/jwt_secret"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let serve = Serve::start(dir.path(), &[]).await;
    let res = reqwest::Client::new()
        .get(format!("{}/brands", serve.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "the old token still works after a restart"
    );
    drop(serve);

    let out = run(callcsv(dir.path(), &[]).args(["run-due", "--once"]), "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("recorded 0 occurrence(s), built 0 report(s)"),
        "{}",
        text(&out.stdout)
    );
    let out = run(callcsv(dir.path(), &[]).arg("run-due"), "");
    assert_eq!(
        out.status.code(),
        Some(1),
        "run-due without --once says why"
    );
}

/// The lines of a service's output that a newcomer would read as trouble.
fn errors_and_warnings(output: &str) -> Vec<&str> {
    output
        .lines()
        .filter(|line| line.contains("ERROR") || line.contains("WARN"))
        .collect()
}

/// A first start on a fresh data dir prints no error or warning. SQLite's WAL set-up
/// used to race the pool's first connections ("ERROR database is locked" on about one
/// start in four), so it is tried several times.
#[tokio::test]
async fn first_start_on_a_fresh_data_dir_is_clean_on_sqlite() {
    for attempt in 0..6 {
        let dir = tempfile::tempdir().unwrap();
        let serve = Serve::start(
            dir.path(),
            &[("CALLCSV_LOG", "info"), ("CALLCSV_RUNNER_INTERVAL", "30")],
        )
        .await;
        let (status, stderr, stdout) = serve.terminate();
        let output = stderr + &stdout;
        assert!(status.success(), "start {attempt}: {status}\n{output}");
        assert!(
            output.contains("applied migrations"),
            "start {attempt}: {output}"
        );
        let trouble = errors_and_warnings(&output);
        assert!(
            trouble.is_empty(),
            "start {attempt}: {trouble:#?}\n{output}"
        );
    }
}

#[tokio::test]
async fn first_start_on_a_fresh_database_is_clean_on_postgres() {
    if crate::common::pg_url().is_none() {
        eprintln!("skipped: CALLCSV_TEST_PG_URL is not set");
        return;
    }
    for attempt in 0..2 {
        let dir = tempfile::tempdir().unwrap();
        let (admin_url, name, url) = crate::common::create_pg_database();
        let serve = Serve::start(
            dir.path(),
            &[
                ("CALLCSV_LOG", "info"),
                ("CALLCSV_RUNNER_INTERVAL", "30"),
                ("CALLCSV_DATABASE_URL", &url),
            ],
        )
        .await;
        let (status, stderr, stdout) = serve.terminate();
        let output = stderr + &stdout;
        crate::common::drop_pg_database(&admin_url, &name);
        assert!(status.success(), "start {attempt}: {status}\n{output}");
        assert!(
            output.contains("applied migrations"),
            "start {attempt}: {output}"
        );
        let trouble = errors_and_warnings(&output);
        assert!(
            trouble.is_empty(),
            "start {attempt}: {trouble:#?}\n{output}"
        );
    }
}

/// Logs in with a wrong password and asks for a path with a query string, so the log has
/// request lines; returns what must never show in it.
async fn log_some_requests(serve: &Serve) -> Vec<&'static str> {
    let res = serve.login("nobody", "not-the-password-123").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = reqwest::get(format!("{}/brands?secret-query=q-123", serve.base))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    vec!["not-the-password-123", "q-123"]
}

/// Written to a file or a pipe, the text log has no terminal colour codes.
#[tokio::test]
async fn text_log_in_a_pipe_has_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), &[("CALLCSV_LOG", "info")]).await;
    let secrets = log_some_requests(&serve).await;
    let (status, _, log) = serve.terminate();
    assert!(status.success());
    assert!(log.contains("applied migrations"), "{log}");
    assert!(
        log.contains("/auth/login") && log.contains("status=401"),
        "{log}"
    );
    assert!(!log.contains('\x1b'), "escape codes in a pipe: {log:?}");
    for secret in secrets {
        assert!(!log.contains(secret), "{secret} in the log: {log}");
    }
}

/// `CALLCSV_LOG_FORMAT=json`: every line of the log is one JSON object with the event's
/// level, message and fields; nothing secret in it either.
#[tokio::test]
async fn json_log_is_one_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(
        dir.path(),
        &[("CALLCSV_LOG", "info"), ("CALLCSV_LOG_FORMAT", "json")],
    )
    .await;
    let secrets = log_some_requests(&serve).await;
    let (status, _, log) = serve.terminate();
    assert!(status.success());
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}")))
        .collect();
    assert!(
        lines.iter().all(|l| l["level"].is_string()
            && l["timestamp"].is_string()
            && l["message"].is_string()),
        "{log}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l["message"] == "applied migrations" && l["count"].is_number()),
        "{log}"
    );
    assert!(
        lines.iter().any(|l| l["message"] == "request"
            && l["path"] == "/auth/login"
            && l["status"] == 401
            && l["method"] == "POST"),
        "{log}"
    );
    for secret in secrets {
        assert!(!log.contains(secret), "{secret} in the log: {log}");
    }

    let out = run(
        callcsv(dir.path(), &[("CALLCSV_LOG_FORMAT", "xml")]).arg("migrate"),
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("CALLCSV_LOG_FORMAT"),
        "{}",
        text(&out.stderr)
    );
}

/// `--help` says what each command does and which variables it reads.
#[test]
fn help_names_each_command_and_the_variables() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(callcsv(dir.path(), &[]).arg("--help"), "");
    assert!(out.status.success());
    let help = text(&out.stdout);
    for (name, _, _) in callcsv::config::VARIABLES {
        assert!(help.contains(name), "{name} missing from --help:\n{help}");
    }
    for command in ["serve", "migrate", "run-due", "admin"] {
        assert!(
            help.contains(&format!("  {command} ")),
            "{command}:\n{help}"
        );
    }
    for command in [
        &["serve"][..],
        &["migrate"],
        &["run-due"],
        &["admin", "create"],
    ] {
        let out = run(callcsv(dir.path(), &[]).args(command).arg("--help"), "");
        assert!(out.status.success(), "{command:?}");
        let help = text(&out.stdout);
        assert!(
            help.lines().next().is_some_and(|l| l.len() > 20),
            "{command:?}: {help}"
        );
        assert!(
            help.contains("Reads ") && help.contains("CALLCSV_"),
            "{command:?}: {help}"
        );
    }
    assert!(!dir.path().join("data").exists(), "--help touches nothing");
}
