//! Building the running service: prepare the state (data dir, database, migrations, JWT
//! secret, bootstrap administrator), then the actix application with its error mapping
//! for malformed requests, request logging and graceful shutdown.

use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::dev::{Server, Service};
use actix_web::error::{JsonPayloadError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::{web, App};

use crate::auth::jwt::JwtKeys;
use crate::config::{load_or_create_jwt_secret, Config};
use crate::db;
use crate::error::AppError;
use crate::AppState;

/// Everything that must hold before the first request; blocking, call at start-up.
pub fn prepare(config: Config) -> Result<AppState, String> {
    let state = open(config)?;
    let mut conn = state.pool.get().map_err(|e| format!("database: {e}"))?;
    bootstrap_admin(&state.config, &mut conn)?;
    Ok(state)
}

/// The state without the first-administrator step: data dir, database, migrations, JWT
/// secret. For commands that make their own administrator (`callcsv demo`).
pub fn open(config: Config) -> Result<AppState, String> {
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| format!("{}: {e}", config.data_dir.display()))?;
    let pool = db::connect(&config.database_url, config.db_pool_size)?;
    let mut conn = pool.get().map_err(|e| format!("database: {e}"))?;
    let applied = db::run_migrations(&mut conn)?;
    if !applied.is_empty() {
        tracing::info!(count = applied.len(), "applied migrations");
    }
    drop(conn);
    let secret = load_or_create_jwt_secret(&config)?;
    let jwt = JwtKeys::new(&secret.0, config.jwt_ttl_seconds);
    let login_throttle = crate::auth::throttle::LoginThrottle::new(
        config.login_failures_per_user,
        config.login_failures_per_address,
    );
    // Streams fetch their chunks with at most half the pool at once: the other half stays
    // for every other request however many streams are reading.
    let streams = crate::limits::Limiter::new(
        "CSV streams and report downloads",
        config.max_streams,
        config.max_streams_per_brand,
        (config.db_pool_size as usize / 2).max(1),
    );
    let ingestions = crate::limits::Limiter::new(
        "call ingestions",
        config.max_ingestions,
        config.max_ingestions_per_brand,
        0,
    );
    let pushes = Arc::new(crate::sources::push::Prepared::new(&config.database_url));
    Ok(AppState {
        streams,
        ingestions,
        login_throttle: Arc::new(login_throttle),
        pool,
        config: Arc::new(config),
        jwt: Arc::new(jwt),
        plans: Default::default(),
        pushes,
    })
}

/// Creates the first platform administrator from `CALLCSV_BOOTSTRAP_*` when there is none,
/// or says how to create one.
fn bootstrap_admin(config: &Config, conn: &mut db::DbConnection) -> Result<(), String> {
    let existing = db::administrators::count(conn).map_err(|e| e.message)?;
    if existing > 0 {
        return Ok(());
    }
    match (&config.bootstrap_admin, &config.bootstrap_password) {
        (Some(username), Some(password)) => {
            db::administrators::create_platform(conn, username, &password.0)
                .map_err(|e| e.message)?;
            tracing::info!(username = %username, "created the bootstrap platform administrator");
        }
        _ => {
            eprintln!(
                "No administrator exists yet. Create one with\n    \
                 callcsv admin create --username admin --role platform\n\
                 (or `cargo run --release -- admin create …`), or start once with \
                 CALLCSV_BOOTSTRAP_ADMIN and CALLCSV_BOOTSTRAP_PASSWORD set."
            );
        }
    }
    Ok(())
}

/// The application's settings for body/query extraction: every malformed input becomes a
/// 4xx in the one error shape.
pub fn configure_app(cfg: &mut web::ServiceConfig, max_body_bytes: usize, ui: bool) {
    let json = web::JsonConfig::default()
        .limit(max_body_bytes)
        .content_type(|mime| mime.subtype() == mime::JSON || mime.suffix() == Some(mime::JSON))
        .error_handler(|err, _req| json_error(err).into());
    let query = web::QueryConfig::default().error_handler(|err: QueryPayloadError, _req| {
        AppError::invalid_query(err.to_string()).into()
    });
    cfg.app_data(json)
        .app_data(query)
        .app_data(web::PayloadConfig::new(max_body_bytes))
        .configure(crate::api::configure)
        .configure(|cfg| {
            if ui {
                crate::ui::configure(cfg);
            }
        })
        .default_service(web::to(|| async {
            Err::<actix_web::HttpResponse, _>(AppError::not_found())
        }));
}

fn json_error(err: JsonPayloadError) -> AppError {
    match err {
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => AppError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("body larger than {limit} bytes"),
        ),
        JsonPayloadError::ContentType => AppError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send Content-Type: application/json (or application/merge-patch+json)",
        ),
        JsonPayloadError::Deserialize(e) => AppError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("malformed JSON: {e}"),
        ),
        other => AppError::bad_request(other.to_string()),
    }
}

pub use crate::conn::MAX_URL_BYTES;

/// 414 with the error shape for a URL longer than [`MAX_URL_BYTES`]: measured here for
/// requests that come whole (in-process ones), and told by the marker path that
/// `crate::conn` puts in place of a long target on a connection.
async fn reject_long_urls(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let length = match req.path().strip_prefix(crate::conn::LONG_URL_MARKER) {
        Some(length) => length.parse().unwrap_or(usize::MAX),
        None => req.uri().path_and_query().map_or(0, |pq| pq.as_str().len()),
    };
    if length > MAX_URL_BYTES {
        let error = AppError::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            format!("the URL has {length} bytes; at most {MAX_URL_BYTES}"),
        );
        let response = actix_web::ResponseError::error_response(&error);
        return Ok(req.into_response(response).map_into_right_body());
    }
    next.call(req).await.map(|res| res.map_into_left_body())
}

/// The running service: the HTTP server and, when enabled, the scheduler runner.
pub struct Running {
    server: Server,
    runner: Option<tokio::task::JoinHandle<()>>,
    stopping: Arc<AtomicBool>,
}

impl Running {
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until the server stops (SIGTERM/SIGINT or a handle's `stop`), then lets the
    /// runner finish the item it is on.
    pub async fn wait(self) -> std::io::Result<()> {
        let served = self.server.await;
        self.stopping.store(true, Ordering::Relaxed);
        if let Some(runner) = self.runner {
            let _ = runner.await;
        }
        served
    }
}

/// Fills in `destinationCountry` of calls stored before calls had it, a chunk per
/// transaction from its checkpoint (`calls::country::backfill_step`), on its own thread:
/// requests are served meanwhile, and a restart resumes where it stopped.
fn spawn_backfill(pool: db::DbPool, stopping: Arc<AtomicBool>) {
    let work = move || {
        let mut total = 0;
        while !stopping.load(Ordering::Relaxed) {
            let step = pool
                .get()
                .map_err(crate::error::AppError::from)
                .and_then(|mut conn| crate::calls::country::backfill_step(&mut conn));
            match step {
                Ok(0) => break,
                Ok(n) => total += n,
                Err(e) => {
                    tracing::warn!(error = %e.message, "destination country backfill; retrying in 10 s");
                    std::thread::sleep(Duration::from_secs(10));
                }
            }
        }
        if total > 0 {
            tracing::info!(calls = total, "destination country backfill done");
        }
    };
    if let Err(e) = std::thread::Builder::new()
        .name("country-backfill".into())
        .spawn(work)
    {
        tracing::warn!(error = %e, "destination country backfill not started");
    }
}

/// Folds the statistics' journal into `call_rollups` (`db::rollups::fold`) every half
/// second, on a thread of its own, until the service stops.
fn spawn_rollup_folder(pool: db::DbPool, stopping: Arc<AtomicBool>) {
    let work = move || {
        while !stopping.load(Ordering::Relaxed) {
            let started = Instant::now();
            let folded = pool
                .get()
                .map_err(crate::error::AppError::from)
                .and_then(|mut conn| crate::db::rollups::fold_all(&mut conn));
            match folded {
                Ok(0) => {}
                Ok(rows) => tracing::debug!(
                    rows,
                    ms = started.elapsed().as_millis() as u64,
                    "statistics journal folded"
                ),
                Err(e) => tracing::warn!(error = %e.message, "statistics fold; retrying"),
            }
            std::thread::sleep(FOLD_EVERY);
        }
    };
    if let Err(e) = std::thread::Builder::new()
        .name("rollup-fold".into())
        .spawn(work)
    {
        tracing::warn!(error = %e, "statistics fold not started");
    }
}

/// How often the statistics' journal is folded (see [`spawn_rollup_folder`]).
const FOLD_EVERY: Duration = Duration::from_millis(500);

/// Starts the HTTP server on an already bound listener (tests bind port 0) and the runner.
/// Must be called inside the actix system that will drive them.
pub fn start(state: AppState, listener: TcpListener, workers: usize) -> std::io::Result<Running> {
    let stopping = Arc::new(AtomicBool::new(false));
    let runner = crate::runner::spawn(state.pool.clone(), state.config.clone(), stopping.clone())
        .map_err(std::io::Error::other)?;
    spawn_backfill(state.pool.clone(), stopping.clone());
    spawn_rollup_folder(state.pool.clone(), stopping.clone());
    let server = http_server(state, listener, workers)?;
    Ok(Running {
        server,
        runner,
        stopping,
    })
}

/// The HTTP server on an already bound listener (tests bind port 0). Each connection's
/// bytes pass through `crate::conn::Guarded` before actix-http's HTTP/1 parser (so a
/// request line too long for the parser still gets the error shape); otherwise what
/// `actix_web::HttpServer` does, with its defaults (5 s keep-alive and request head
/// timeouts, 1 s to close).
pub fn http_server(
    state: AppState,
    listener: TcpListener,
    workers: usize,
) -> std::io::Result<Server> {
    use actix_service::{fn_service, map_config, IntoServiceFactory, ServiceFactoryExt};

    let state = web::Data::new(state);
    let max_body = state.config.max_body_bytes;
    let ui = state.config.ui_enabled;
    let local = listener.local_addr()?;
    let builder = actix_server::Server::build();
    let shutdown = builder.graceful_shutdown_signal();
    let server = builder
        .workers(workers)
        .shutdown_timeout(20)
        .listen("callcsv", listener, move || {
            let state = state.clone();
            let app = App::new()
                .app_data(state)
                .configure(|cfg| configure_app(cfg, max_body, ui))
                .wrap_fn(|mut req, srv| {
                    // HEAD is served as GET (RFC 9110 asks every server for it); the HTTP
                    // layer still knows the request was HEAD and sends the headers without
                    // the body.
                    if req.method() == actix_web::http::Method::HEAD {
                        req.head_mut().method = actix_web::http::Method::GET;
                    }
                    srv.call(req)
                })
                .wrap(actix_web::middleware::from_fn(reject_long_urls))
                .wrap_fn(|req, srv| {
                    // One line per request: method, path (never the query or headers, which
                    // may carry secrets), status and time.
                    let started = Instant::now();
                    let method = req.method().clone();
                    let path = req.path().to_string();
                    let fut = srv.call(req);
                    async move {
                        let res = fut.await?;
                        tracing::info!(%method, %path, status = res.status().as_u16(), ms = started.elapsed().as_millis() as u64, "request");
                        Ok(res)
                    }
                })
                .into_factory()
                .map_err(|err: actix_web::Error| err.error_response());
            let shutdown = shutdown.clone();
            let http = actix_http::HttpService::build()
                .client_request_timeout(Duration::from_secs(5))
                .client_disconnect_timeout(Duration::from_secs(1))
                .local_addr(local)
                .graceful_shutdown_signal(move || {
                    let shutdown = shutdown.clone();
                    async move { shutdown.notified().await }
                })
                .finish(map_config(app, |_| actix_web::dev::AppConfig::default()));
            fn_service(|io: actix_rt::net::TcpStream| async move {
                let peer = io.peer_addr().ok();
                Ok::<_, actix_http::error::DispatchError>((
                    crate::conn::Guarded::new(io),
                    actix_http::Protocol::Http1,
                    peer,
                ))
            })
            .and_then(http)
        })?
        .run();
    Ok(server)
}
