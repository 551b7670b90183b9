//! Configuration: one typed struct read from `CALLCSV_*` environment variables (a `.env`
//! file may set them), validated at start so a typo stops the service with a clear message
//! instead of surfacing later. Secrets are redacted from `Debug`.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Which database the service talks to, chosen from the URL scheme.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A file path (the part after `sqlite://`).
    Sqlite(PathBuf),
    /// The full `postgres://…` URL, handed to libpq as is.
    Postgres(String),
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            DatabaseUrl::Postgres(url) => write!(f, "{}", redact_url(url)),
        }
    }
}

impl DatabaseUrl {
    /// Parses `sqlite://<path>` or `postgres://…`/`postgresql://…`; any other scheme is an
    /// error, never a silently created file.
    pub fn parse(raw: &str) -> Result<DatabaseUrl, String> {
        if let Some(path) = raw.strip_prefix("sqlite://") {
            if path.is_empty() || path.contains(":memory:") {
                return Err(format!(
                    "CALLCSV_DATABASE_URL: {raw:?} needs a file path (sqlite://./data/callcsv.db); \
                     an in-memory database would be a different database per pooled connection"
                ));
            }
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
        }
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(raw.to_string()));
        }
        Err(format!(
            "CALLCSV_DATABASE_URL: unknown scheme in {:?}; use sqlite://<path> or postgres://user@host/db",
            redact_url(raw)
        ))
    }
}

/// A secret string that never shows in logs or `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// How log lines are written: text for people, JSON for log pipelines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub bind: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: DatabaseUrl,
    /// `None` = generate once into the data dir (see [`Config::jwt_secret_file`]).
    pub jwt_secret: Option<Secret>,
    pub jwt_ttl_seconds: i64,
    pub smtp_url: Option<Secret>,
    pub mail_from: String,
    /// Seconds between runner polls; 0 disables the runner in this process.
    pub runner_interval_seconds: u64,
    /// Seconds between two scans of the spool directories.
    pub spool_poll_seconds: u64,
    pub bootstrap_admin: Option<String>,
    pub bootstrap_password: Option<Secret>,
    pub db_pool_size: u32,
    pub max_body_bytes: usize,
    /// Largest CDR file upload (streamed, so this bounds disk and time, not memory).
    pub max_import_bytes: u64,
    /// CSV attachments larger than this are sent gzip-compressed.
    pub mail_gzip_above_bytes: u64,
    /// How long temporary SMTP failures are retried before a report is marked failed.
    pub mail_retry_seconds: i64,
    /// How long after a quality window closes it is judged (late records still count).
    pub alert_grace_seconds: i64,
    /// Whether alert webhooks may go to loopback, private and link-local addresses.
    pub webhook_allow_private: bool,
    /// Seconds an alert webhook's connection and answer may take.
    pub webhook_timeout_seconds: u64,
    pub log_filter: String,
    pub log_format: LogFormat,
    pub report_lease_seconds: i64,
    pub mail_backoff_seconds: i64,
    /// `None` = `GET /metrics` is open; otherwise the bearer token it requires.
    pub metrics_token: Option<Secret>,
    /// Most missed occurrences a scheduler's `nextExecution` may ask to catch up at once.
    pub max_catch_up: usize,
    /// Emails sent at the same time (each its own SMTP connection), apart from building.
    pub mail_concurrency: usize,
    /// Seconds connecting, and then each read or write of an SMTP conversation, may take.
    pub mail_send_timeout_seconds: u64,
    /// Attempts with an unknown outcome after which an email is `failed` instead of resent.
    pub mail_unknown_outcome_limit: i32,
    /// Concurrent CSV streams + report downloads, in total and per brand (429 beyond).
    pub max_streams: usize,
    pub max_streams_per_brand: usize,
    /// Concurrent call ingestions (each holds its body and rows), in total and per brand.
    pub max_ingestions: usize,
    pub max_ingestions_per_brand: usize,
    /// Failed logins a minute per user name, and per client address, before 429.
    pub login_failures_per_user: u32,
    pub login_failures_per_address: u32,
    /// The directory CDR sources' spool directories must be inside (canonical: symlinks
    /// resolved); `None` = spool sources are refused.
    pub spool_root: Option<PathBuf>,
    /// Whether `callcsv serve` serves the web console at `/ui/`.
    pub ui_enabled: bool,
    /// Seconds a console session lives without a request.
    pub ui_session_idle_seconds: i64,
    /// Console cookies are `Secure` always (otherwise only on requests that came over https).
    pub cookie_secure: bool,
}

/// Every variable the service reads, with its default, for the README table and `--help`.
pub const VARIABLES: &[(&str, &str, &str)] = &[
    ("CALLCSV_BIND", "127.0.0.1:8080", "listen address"),
    (
        "CALLCSV_DATA_DIR",
        "./data",
        "SQLite file, report files, mail outbox, generated JWT secret",
    ),
    (
        "CALLCSV_DATABASE_URL",
        "sqlite://<data dir>/callcsv.db",
        "sqlite://<path> or postgres://user@host/db",
    ),
    (
        "CALLCSV_JWT_SECRET",
        "generated once into <data dir>/jwt_secret",
        "HS256 secret (at least 32 characters)",
    ),
    ("CALLCSV_JWT_TTL", "3600", "token lifetime in seconds"),
    (
        "CALLCSV_SMTP_URL",
        "unset = .eml files in <data dir>/outbox/",
        "smtp://user:pass@host:587 (STARTTLS), smtps://host:465, smtp://host:25?tls=none",
    ),
    (
        "CALLCSV_MAIL_FROM",
        "callcsv <no-reply@localhost>",
        "sender when a template names none",
    ),
    (
        "CALLCSV_MAIL_GZIP_ABOVE",
        "10485760",
        "CSV attachments above this many bytes are gzip-compressed",
    ),
    (
        "CALLCSV_MAIL_RETRY_SECONDS",
        "86400",
        "how long temporary SMTP failures are retried",
    ),
    (
        "CALLCSV_ALERT_GRACE_SECONDS",
        "900",
        "seconds after a quality alert window closes before it is judged (late records count)",
    ),
    (
        "CALLCSV_WEBHOOK_ALLOW_PRIVATE",
        "false",
        "let alert webhooks reach loopback, private and link-local addresses",
    ),
    (
        "CALLCSV_WEBHOOK_TIMEOUT_SECONDS",
        "10",
        "seconds an alert webhook may take to connect and answer",
    ),
    (
        "CALLCSV_RUNNER_INTERVAL",
        "30",
        "seconds between runner polls (0 disables the runner in this process)",
    ),
    (
        "CALLCSV_SPOOL_POLL_SECONDS",
        "5",
        "seconds between two scans of the CDR sources' spool directories (with CALLCSV_SPOOL_ROOT)",
    ),
    (
        "CALLCSV_BOOTSTRAP_ADMIN",
        "unset",
        "create this platform administrator on start when none exists",
    ),
    (
        "CALLCSV_BOOTSTRAP_PASSWORD",
        "unset",
        "its password (at least 8 characters)",
    ),
    (
        "CALLCSV_DB_POOL_SIZE",
        "8",
        "database connections per process",
    ),
    (
        "CALLCSV_MAX_BODY_BYTES",
        "67108864",
        "largest request body accepted (413 above)",
    ),
    (
        "CALLCSV_MAX_IMPORT_BYTES",
        "10737418240",
        "largest file uploaded to a CDR source (413 above); it is read as it arrives, not held",
    ),
    (
        "CALLCSV_LOG",
        "info",
        "log filter (tracing EnvFilter syntax, e.g. callcsv=debug)",
    ),
    (
        "CALLCSV_LOG_FORMAT",
        "text",
        "text (colours only on a terminal) or json (one JSON object per line, for log pipelines)",
    ),
    (
        "CALLCSV_MAIL_BACKOFF_SECONDS",
        "30",
        "first wait after a temporary SMTP failure; doubles per attempt up to an hour",
    ),
    (
        "CALLCSV_REPORT_LEASE_SECONDS",
        "300",
        "how long a runner owns a claimed report or email before another instance may take it over",
    ),
    (
        "CALLCSV_METRICS_TOKEN",
        "unset = GET /metrics is open",
        "when set, GET /metrics requires Authorization: Bearer <this token> (at least 16 characters)",
    ),
    (
        "CALLCSV_MAX_CATCH_UP",
        "1000",
        "most missed runs a scheduler's nextExecution may ask to catch up (422 above)",
    ),
    (
        "CALLCSV_MAIL_CONCURRENCY",
        "4",
        "emails sent at the same time, by delivery workers separate from report building",
    ),
    (
        "CALLCSV_MAIL_SEND_TIMEOUT_SECONDS",
        "30",
        "how long connecting to the SMTP server, and each read or write after, may take",
    ),
    (
        "CALLCSV_MAIL_UNKNOWN_OUTCOME_LIMIT",
        "3",
        "sends whose outcome is unknown (connection lost after the message) before an email is failed",
    ),
    (
        "CALLCSV_MAX_STREAMS",
        "200",
        "concurrent CSV streams and report downloads per instance (429 with Retry-After beyond)",
    ),
    (
        "CALLCSV_MAX_STREAMS_PER_BRAND",
        "50",
        "the share of CALLCSV_MAX_STREAMS one brand may use",
    ),
    (
        "CALLCSV_MAX_INGESTIONS",
        "4",
        "concurrent POST /billable_calls per instance (each may hold a few times CALLCSV_MAX_BODY_BYTES)",
    ),
    (
        "CALLCSV_MAX_INGESTIONS_PER_BRAND",
        "2",
        "the share of CALLCSV_MAX_INGESTIONS one brand may use",
    ),
    (
        "CALLCSV_LOGIN_FAILURES_PER_USER",
        "10",
        "failed logins a minute per user name before 429 (counted per instance)",
    ),
    (
        "CALLCSV_LOGIN_FAILURES_PER_ADDRESS",
        "10",
        "failed logins a minute per client address before 429 (counted per instance)",
    ),
    (
        "CALLCSV_SPOOL_ROOT",
        "unset = spool sources refused",
        "an existing directory that every CDR source's spool directory must be inside",
    ),
    (
        "CALLCSV_UI",
        "true",
        "serve the web console at /ui/ (false turns it off; / then answers 404)",
    ),
    (
        "CALLCSV_UI_SESSION_IDLE",
        "1800",
        "seconds a console session stays signed in without a request",
    ),
    (
        "CALLCSV_COOKIE_SECURE",
        "false",
        "true marks the console's cookie Secure on every response (it is anyway on requests that came over https)",
    ),
];

impl Config {
    /// Reads the process environment (after loading `.env` if there is one).
    pub fn from_env() -> Result<Config, String> {
        // A missing .env file is normal; a malformed one is worth stopping for.
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(e) if e.not_found() => {}
            Err(e) => return Err(format!(".env: {e}")),
        }
        let vars: HashMap<String, String> = std::env::vars()
            .filter(|(k, _)| k.starts_with("CALLCSV_"))
            .collect();
        Config::from_map(&vars)
    }

    /// Builds and validates a config from variables; tests call this with their own map.
    pub fn from_map(vars: &HashMap<String, String>) -> Result<Config, String> {
        let known: Vec<&str> = VARIABLES.iter().map(|(name, _, _)| *name).collect();
        for name in vars.keys() {
            if name.starts_with("CALLCSV_TEST_") {
                continue;
            }
            if !known.contains(&name.as_str()) {
                return Err(format!(
                    "{name}: unknown variable (known: {})",
                    known.join(", ")
                ));
            }
        }
        let get = |name: &str| {
            vars.get(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };

        let bind = match get("CALLCSV_BIND") {
            Some(v) => v.parse().map_err(|_| {
                format!("CALLCSV_BIND: {v:?} is not an address like 127.0.0.1:8080")
            })?,
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
        };
        let data_dir = PathBuf::from(get("CALLCSV_DATA_DIR").unwrap_or_else(|| "./data".into()));
        let database_url = match get("CALLCSV_DATABASE_URL") {
            Some(v) => DatabaseUrl::parse(&v)?,
            None => DatabaseUrl::Sqlite(data_dir.join("callcsv.db")),
        };
        let jwt_secret = get("CALLCSV_JWT_SECRET").map(Secret);
        if let Some(Secret(s)) = &jwt_secret {
            if s.len() < 32 {
                return Err("CALLCSV_JWT_SECRET: must be at least 32 characters".into());
            }
        }
        let smtp_url = get("CALLCSV_SMTP_URL").map(Secret);
        if let Some(Secret(s)) = &smtp_url {
            if !(s.starts_with("smtp://") || s.starts_with("smtps://")) {
                return Err(format!(
                    "CALLCSV_SMTP_URL: {:?} must start with smtp:// or smtps://",
                    redact_url(s)
                ));
            }
        }
        let bootstrap_admin = get("CALLCSV_BOOTSTRAP_ADMIN");
        let bootstrap_password = get("CALLCSV_BOOTSTRAP_PASSWORD").map(Secret);
        match (&bootstrap_admin, &bootstrap_password) {
            (Some(_), None) => {
                return Err(
                    "CALLCSV_BOOTSTRAP_PASSWORD: required with CALLCSV_BOOTSTRAP_ADMIN".into(),
                )
            }
            (None, Some(_)) => {
                return Err(
                    "CALLCSV_BOOTSTRAP_ADMIN: required with CALLCSV_BOOTSTRAP_PASSWORD".into(),
                )
            }
            (Some(_), Some(Secret(p))) if p.chars().count() < 8 => {
                return Err("CALLCSV_BOOTSTRAP_PASSWORD: must be at least 8 characters".into())
            }
            _ => {}
        }

        let metrics_token = metrics_token(vars)?;
        let spool_root = get("CALLCSV_SPOOL_ROOT")
            .map(|raw| spool_root(&raw))
            .transpose()?;

        Ok(Config {
            bind,
            data_dir,
            database_url,
            jwt_secret,
            jwt_ttl_seconds: number(&get, "CALLCSV_JWT_TTL", 3600, 60, 31 * 24 * 3600)?,
            smtp_url,
            mail_from: get("CALLCSV_MAIL_FROM")
                .unwrap_or_else(|| "callcsv <no-reply@localhost>".into()),
            runner_interval_seconds: number(&get, "CALLCSV_RUNNER_INTERVAL", 30, 0, 24 * 3600)?,
            spool_poll_seconds: number(&get, "CALLCSV_SPOOL_POLL_SECONDS", 5, 1, 24 * 3600)?,
            bootstrap_admin,
            bootstrap_password,
            db_pool_size: number(&get, "CALLCSV_DB_POOL_SIZE", 8, 1, 256)?,
            max_body_bytes: number(
                &get,
                "CALLCSV_MAX_BODY_BYTES",
                64 * 1024 * 1024,
                1024,
                1 << 32,
            )?,
            max_import_bytes: number(
                &get,
                "CALLCSV_MAX_IMPORT_BYTES",
                10 * 1024 * 1024 * 1024,
                1024,
                1 << 50,
            )?,
            mail_gzip_above_bytes: number(
                &get,
                "CALLCSV_MAIL_GZIP_ABOVE",
                10 * 1024 * 1024,
                0,
                u64::MAX,
            )?,
            mail_retry_seconds: number(&get, "CALLCSV_MAIL_RETRY_SECONDS", 86400, 0, 365 * 86400)?,
            alert_grace_seconds: number(&get, "CALLCSV_ALERT_GRACE_SECONDS", 900, 0, 7 * 86400)?,
            webhook_allow_private: flag(&get, "CALLCSV_WEBHOOK_ALLOW_PRIVATE", false)?,
            webhook_timeout_seconds: number(&get, "CALLCSV_WEBHOOK_TIMEOUT_SECONDS", 10, 1, 300)?,
            log_filter: get("CALLCSV_LOG").unwrap_or_else(|| "info".into()),
            log_format: match get("CALLCSV_LOG_FORMAT").as_deref() {
                None | Some("text") => LogFormat::Text,
                Some("json") => LogFormat::Json,
                Some(other) => {
                    return Err(format!("CALLCSV_LOG_FORMAT: {other:?} is not text or json"))
                }
            },
            report_lease_seconds: number(&get, "CALLCSV_REPORT_LEASE_SECONDS", 300, 5, 86400)?,
            mail_backoff_seconds: number(&get, "CALLCSV_MAIL_BACKOFF_SECONDS", 30, 1, 3600)?,
            metrics_token,
            max_catch_up: number(&get, "CALLCSV_MAX_CATCH_UP", 1000, 1, 1_000_000)?,
            mail_concurrency: number(&get, "CALLCSV_MAIL_CONCURRENCY", 4, 1, 64)?,
            mail_send_timeout_seconds: number(
                &get,
                "CALLCSV_MAIL_SEND_TIMEOUT_SECONDS",
                30,
                1,
                3600,
            )?,
            mail_unknown_outcome_limit: number(
                &get,
                "CALLCSV_MAIL_UNKNOWN_OUTCOME_LIMIT",
                3,
                1,
                100,
            )?,
            max_streams: number(&get, "CALLCSV_MAX_STREAMS", 200, 1, 100_000)?,
            max_streams_per_brand: number(&get, "CALLCSV_MAX_STREAMS_PER_BRAND", 50, 1, 100_000)?,
            max_ingestions: number(&get, "CALLCSV_MAX_INGESTIONS", 4, 1, 1000)?,
            max_ingestions_per_brand: number(&get, "CALLCSV_MAX_INGESTIONS_PER_BRAND", 2, 1, 1000)?,
            login_failures_per_user: number(
                &get,
                "CALLCSV_LOGIN_FAILURES_PER_USER",
                10,
                1,
                10_000,
            )?,
            login_failures_per_address: number(
                &get,
                "CALLCSV_LOGIN_FAILURES_PER_ADDRESS",
                10,
                1,
                10_000,
            )?,
            spool_root,
            ui_enabled: flag(&get, "CALLCSV_UI", true)?,
            ui_session_idle_seconds: number(
                &get,
                "CALLCSV_UI_SESSION_IDLE",
                1800,
                60,
                30 * 24 * 3600,
            )?,
            cookie_secure: flag(&get, "CALLCSV_COOKIE_SECURE", false)?,
        })
    }

    /// Where the generated JWT secret is kept when `CALLCSV_JWT_SECRET` is unset.
    pub fn jwt_secret_file(&self) -> PathBuf {
        self.data_dir.join("jwt_secret")
    }

    pub fn outbox_dir(&self) -> PathBuf {
        self.data_dir.join("outbox")
    }

    pub fn reports_dir(&self) -> PathBuf {
        self.data_dir.join("reports")
    }
}

/// `CALLCSV_METRICS_TOKEN`: unset leaves `/metrics` open. Unlike other variables, set but
/// empty is an error rather than the default, so a blank secret never opens what the
/// operator meant to protect.
fn metrics_token(vars: &HashMap<String, String>) -> Result<Option<Secret>, String> {
    let Some(raw) = vars.get("CALLCSV_METRICS_TOKEN") else {
        return Ok(None);
    };
    let token = raw.trim();
    if token.is_empty() {
        return Err(
            "CALLCSV_METRICS_TOKEN: empty; unset it to leave /metrics open, or set a token".into(),
        );
    }
    if token.chars().count() < 16 {
        return Err("CALLCSV_METRICS_TOKEN: must be at least 16 characters".into());
    }
    // It travels in an Authorization header: printable ASCII, no spaces.
    if !token.chars().all(|c| c.is_ascii_graphic()) {
        return Err("CALLCSV_METRICS_TOKEN: only printable ASCII characters without spaces".into());
    }
    Ok(Some(Secret(token.to_string())))
}

/// `CALLCSV_SPOOL_ROOT`: an existing directory, kept canonical (symlinks resolved) so that
/// a spool path is checked against where the root really is.
fn spool_root(raw: &str) -> Result<PathBuf, String> {
    let root =
        std::fs::canonicalize(raw).map_err(|e| format!("CALLCSV_SPOOL_ROOT: {raw:?}: {e}"))?;
    if !root.is_dir() {
        return Err(format!("CALLCSV_SPOOL_ROOT: {raw:?} is not a directory"));
    }
    Ok(root)
}

/// Reads an integer variable within bounds, or its default.
/// A `true`/`false` variable (also `1`/`0`, `yes`/`no`).
fn flag(get: &impl Fn(&str) -> Option<String>, name: &str, default: bool) -> Result<bool, String> {
    match get(name).map(|v| v.to_ascii_lowercase()).as_deref() {
        None => Ok(default),
        Some("true" | "1" | "yes") => Ok(true),
        Some("false" | "0" | "no") => Ok(false),
        Some(other) => Err(format!("{name}: {other:?} is not true or false")),
    }
}

fn number<T>(
    get: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: T,
    min: T,
    max: T,
) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + fmt::Display + Copy,
{
    match get(name) {
        None => Ok(default),
        Some(raw) => match raw.parse::<T>() {
            Ok(v) if v >= min && v <= max => Ok(v),
            _ => Err(format!(
                "{name}: {raw:?} is not a whole number between {min} and {max}"
            )),
        },
    }
}

/// Hides the password part of a URL (`postgres://user:secret@host` → `postgres://user:***@host`).
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

/// The JWT secret: configured, or read from / generated into the data dir (mode 0600) so
/// tokens survive restarts.
pub fn load_or_create_jwt_secret(config: &Config) -> Result<Secret, String> {
    if let Some(secret) = &config.jwt_secret {
        return Ok(secret.clone());
    }
    let path = config.jwt_secret_file();
    if path.exists() {
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let text = text.trim().to_string();
        if text.len() < 32 {
            return Err(format!(
                "{}: secret shorter than 32 characters; delete it to regenerate",
                path.display()
            ));
        }
        return Ok(Secret(text));
    }
    let secret = random_token(48);
    write_private_file(&path, &secret).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Secret(secret))
}

/// Random URL-safe text of `len` characters.
pub fn random_token(len: usize) -> String {
    use rand::distr::{Alphanumeric, SampleString};
    Alphanumeric.sample_string(&mut rand::rng(), len)
}

fn write_private_file(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_are_sqlite_under_data_dir() {
        let c = Config::from_map(&map(&[])).unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(
            c.database_url,
            DatabaseUrl::Sqlite(PathBuf::from("./data/callcsv.db"))
        );
        assert_eq!(c.runner_interval_seconds, 30);
        assert_eq!(c.spool_poll_seconds, 5);
    }

    #[test]
    fn unknown_scheme_is_rejected() {
        let err = Config::from_map(&map(&[("CALLCSV_DATABASE_URL", "mysql://x")])).unwrap_err();
        assert!(err.contains("unknown scheme"), "{err}");
        assert!(DatabaseUrl::parse("callcsv.db").is_err());
        assert!(DatabaseUrl::parse("sqlite://:memory:").is_err());
    }

    #[test]
    fn postgres_password_is_redacted() {
        let url = DatabaseUrl::parse("postgres://u:hunter2@h/db").unwrap();
        assert!(!format!("{url:?}").contains("hunter2"));
    }

    #[test]
    fn bad_numbers_and_unknown_variables_are_clear_errors() {
        let err = Config::from_map(&map(&[("CALLCSV_RUNNER_INTERVAL", "soon")])).unwrap_err();
        assert!(err.starts_with("CALLCSV_RUNNER_INTERVAL"), "{err}");
        let err = Config::from_map(&map(&[("CALLCSV_BINDD", "x")])).unwrap_err();
        assert!(err.contains("unknown variable"), "{err}");
        let err = Config::from_map(&map(&[("CALLCSV_BOOTSTRAP_ADMIN", "root")])).unwrap_err();
        assert!(err.contains("BOOTSTRAP_PASSWORD"), "{err}");
    }

    #[test]
    fn the_spool_root_is_an_existing_directory_kept_canonical() {
        assert_eq!(Config::from_map(&map(&[])).unwrap().spool_root, None);
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::create_dir(&real).unwrap();
        std::os::unix::fs::symlink(&real, dir.path().join("link")).unwrap();
        let through_link = dir.path().join("link").to_string_lossy().into_owned();
        let c = Config::from_map(&map(&[("CALLCSV_SPOOL_ROOT", through_link.as_str())])).unwrap();
        assert_eq!(c.spool_root, Some(real.canonicalize().unwrap()));
        let missing = dir.path().join("missing").to_string_lossy().into_owned();
        let err = Config::from_map(&map(&[("CALLCSV_SPOOL_ROOT", missing.as_str())])).unwrap_err();
        assert!(err.starts_with("CALLCSV_SPOOL_ROOT:"), "{err}");
        let file = dir.path().join("file");
        std::fs::write(&file, "x").unwrap();
        let file = file.to_string_lossy().into_owned();
        let err = Config::from_map(&map(&[("CALLCSV_SPOOL_ROOT", file.as_str())])).unwrap_err();
        assert!(err.contains("not a directory"), "{err}");
    }

    #[test]
    fn metrics_token_is_optional_long_enough_and_redacted() {
        assert_eq!(Config::from_map(&map(&[])).unwrap().metrics_token, None);
        for bad in [
            "",
            "  ",
            "short-token",
            "has spaces inside it",
            "non-ascii-tökenvalue",
        ] {
            let err = Config::from_map(&map(&[("CALLCSV_METRICS_TOKEN", bad)])).unwrap_err();
            assert!(err.starts_with("CALLCSV_METRICS_TOKEN:"), "{bad:?}: {err}");
        }
        let c =
            Config::from_map(&map(&[("CALLCSV_METRICS_TOKEN", " scrape-0123456789 ")])).unwrap();
        assert_eq!(c.metrics_token, Some(Secret("scrape-0123456789".into())));
        assert!(!format!("{c:?}").contains("scrape-0123456789"));
    }
}
