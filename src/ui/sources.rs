//! The CDR sources and imports pages (console.md, page 8): the brand's sources with how
//! records reach each (push address, spool directory, pull), a source's settings and a new
//! push secret, and the imports with their counts and first errors. Each page calls the
//! operation the API calls (`CdrSources`, `sources::imports`) with the session's caller, so
//! client administrators get the API's 403 and another brand's ids the console's 404.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use crate::db::cdr_imports::CdrImport;
use crate::db::{self, cdr_sources::CdrSource};
use crate::ids::{AnyId, CdrSourceId, Id};
use crate::ops::Resource;
use crate::sources::cdr_sources::CdrSources;
use crate::sources::imports;
use crate::ui::view::{self, Nav};
use crate::ui::{page, path_id, query_params, Change, Console, Pager, UiError};
use crate::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/cdr_sources", web::get().to(list))
        .route("/cdr_sources/{id}", web::get().to(show))
        .route(
            "/cdr_sources/{id}/rotate_secret",
            web::post().to(rotate_secret),
        )
        .route("/cdr_imports", web::get().to(import_list))
        .route("/cdr_imports/{id}", web::get().to(import_page));
}

/// One source as the list shows it.
struct SourceRow {
    id: String,
    name: String,
    format: String,
    timezone: String,
    arrivals: String,
    enabled: bool,
    last_error: Option<String>,
}

/// How records reach a source besides uploads and the CLI.
fn arrivals(s: &CdrSource) -> String {
    let mut ways = vec!["push".to_string()];
    if let Some(path) = &s.spool_path {
        let pattern = s.spool_pattern.as_deref().unwrap_or("*");
        ways.push(format!("spool {path}/{pattern}"));
    }
    if s.format == "webex-cdr" && s.pull_url.is_some() {
        ways.push("pull".into());
    }
    ways.join(", ")
}

fn source_row(s: CdrSource) -> SourceRow {
    SourceRow {
        arrivals: arrivals(&s),
        timezone: s.timezone.clone().unwrap_or_else(|| "brand's".into()),
        id: s.id,
        name: s.name,
        format: s.format,
        enabled: s.enabled,
        last_error: s.last_error,
    }
}

#[derive(Template)]
#[template(path = "sources.html")]
struct ListPage {
    nav: Nav,
    rows: Vec<SourceRow>,
    pager: Pager,
}

async fn list(
    state: web::Data<AppState>,
    console: Console,
    req: HttpRequest,
) -> Result<HttpResponse, UiError> {
    CdrSources::may_list(&console.caller)?;
    let params = query_params(
        &req,
        CdrSources::filters(&console.caller),
        CdrSources::ORDER,
    )?;
    let caller = console.caller.clone();
    let (params, total, rows) = db::run(&state.pool, move |conn| {
        let (total, found) = CdrSources::list(conn, &caller, &params)?;
        Ok((
            params,
            total,
            found.into_iter().map(|s| source_row(s.row)).collect(),
        ))
    })
    .await?;
    page(&ListPage {
        nav: Nav::of(&console, "cdr_sources"),
        rows,
        pager: Pager::new(&req, &params, total),
    })
}

/// A JSON setting shown as written, indented.
fn pretty(json: Option<&str>) -> String {
    match json.map(serde_json::from_str::<serde_json::Value>) {
        Some(Ok(value)) => serde_json::to_string_pretty(&value).unwrap_or_default(),
        Some(Err(_)) => json.unwrap_or_default().to_string(),
        None => String::new(),
    }
}

#[derive(Template)]
#[template(path = "source.html")]
struct SourcePage {
    nav: Nav,
    source: SourceRow,
    /// Where a switch posts its records.
    push_url: String,
    callid_prefix: String,
    answered_only: bool,
    numbering: String,
    direction_rules: String,
    mapping: String,
    last_pulled_at: String,
    created: String,
    /// Shown once, right after a new secret was made.
    new_secret: Option<String>,
    imports: Vec<ImportRow>,
}

/// The address a switch posts to, as the browser reached this service.
fn push_url(req: &HttpRequest, id: &str) -> String {
    let info = req.connection_info();
    format!(
        "{}://{}/cdr_sources/{id}/records",
        info.scheme(),
        info.host()
    )
}

fn source_page(
    console: &Console,
    req: &HttpRequest,
    s: CdrSource,
    new_secret: Option<String>,
    imports: Vec<ImportRow>,
) -> SourcePage {
    SourcePage {
        nav: Nav::of(console, "cdr_sources"),
        push_url: push_url(req, &s.id),
        callid_prefix: s.callid_prefix.clone(),
        answered_only: s.answered_only,
        numbering: pretty(s.numbering.as_deref()),
        direction_rules: pretty(Some(&s.direction_rules)),
        mapping: pretty(Some(&s.mapping)),
        last_pulled_at: view::local_opt(s.last_pulled_at, console.timezone),
        created: view::local(s.created_at, console.timezone),
        new_secret,
        imports,
        source: source_row(s),
    }
}

/// The source's latest imports, newest first.
fn latest_imports(
    conn: &mut db::DbConnection,
    console: &Console,
    source: &str,
) -> crate::error::AppResult<Vec<ImportRow>> {
    let params = crate::listing::ListParams::from_pairs(
        vec![
            ("source".into(), source.to_string()),
            ("_order[startedAt]".into(), "desc".into()),
            ("itemsPerPage".into(), "10".into()),
        ],
        imports::FILTERS,
        imports::ORDER,
    )?;
    let (_, found) = imports::list(conn, &console.caller, &params)?;
    Ok(found
        .into_iter()
        .map(|i| import_row(i, console, None))
        .collect())
}

async fn show(
    state: web::Data<AppState>,
    console: Console,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, UiError> {
    let id: CdrSourceId = path_id(&id)?;
    let viewer = console.clone();
    let (source, imports) = db::run(&state.pool, move |conn| {
        let source = CdrSources::find(conn, &viewer.caller, &id)?;
        let imports = latest_imports(conn, &viewer, &source.row.id)?;
        Ok((source, imports))
    })
    .await?;
    page(&source_page(&console, &req, source.row, None, imports))
}

/// A new push secret, shown once on the source's page; the old one stops working.
async fn rotate_secret(
    state: web::Data<AppState>,
    change: Change,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, UiError> {
    let id: CdrSourceId = path_id(&id)?;
    let console = change.console;
    let viewer = console.clone();
    let (source, imports) = db::run(&state.pool, move |conn| {
        let source = CdrSources::rotate_secret(conn, &viewer.caller, &id)?;
        let imports = latest_imports(conn, &viewer, &source.row.id)?;
        Ok((source, imports))
    })
    .await?;
    let secret = source.push_secret.map(|s| s.0);
    page(&source_page(&console, &req, source.row, secret, imports))
}

/// One import as the lists show it.
struct ImportRow {
    id: String,
    source: String,
    source_name: String,
    origin: String,
    file_name: String,
    started: String,
    finished: String,
    status: String,
    records: i64,
    accepted: i64,
    duplicates: i64,
    rejected: i64,
    unrated: i64,
    skipped: i64,
    bytes: i64,
    failure: Option<String>,
}

fn import_row(i: CdrImport, console: &Console, source_name: Option<String>) -> ImportRow {
    ImportRow {
        started: view::local(i.started_at, console.timezone),
        finished: view::local_opt(i.finished_at, console.timezone),
        skipped: i.skipped_unanswered + i.skipped_internal + i.skipped_leg + i.skipped_filtered,
        source_name: source_name.unwrap_or_default(),
        id: i.id,
        source: i.source_id,
        origin: i.origin,
        file_name: i.file_name.unwrap_or_default(),
        status: i.status,
        records: i.records,
        accepted: i.accepted,
        duplicates: i.duplicates,
        rejected: i.rejected,
        unrated: i.unrated,
        bytes: i.bytes,
        failure: i.failure,
    }
}

#[derive(Template)]
#[template(path = "imports.html")]
struct ImportsPage {
    nav: Nav,
    rows: Vec<ImportRow>,
    sources: Vec<(String, String)>,
    source: String,
    status: String,
    origin: String,
    statuses: &'static [&'static str],
    origins: &'static [&'static str],
    pager: Pager,
}

async fn import_list(
    state: web::Data<AppState>,
    console: Console,
    req: HttpRequest,
) -> Result<HttpResponse, UiError> {
    CdrSources::may_list(&console.caller)?;
    let mut params = query_params(&req, imports::FILTERS, imports::ORDER)?;
    if params.order.is_empty() {
        params.order = vec![("startedAt".to_string(), crate::listing::Direction::Desc)];
    }
    let given = |name: &str| params.filter(name).unwrap_or_default().to_string();
    let (source, status, origin) = (given("source"), given("status"), given("origin"));
    let viewer = console.clone();
    let (params, total, rows, sources) = db::run(&state.pool, move |conn| {
        let (total, found) = imports::list(conn, &viewer.caller, &params)?;
        let sources: Vec<(String, String)> =
            crate::ui::schedulers::all::<CdrSources>(conn, &viewer.caller)?
                .into_iter()
                .map(|s| (s.row.id, s.row.name))
                .collect();
        let name = |id: &str| {
            sources
                .iter()
                .find(|(i, _)| i == id)
                .map(|(_, n)| n.clone())
        };
        let rows = found
            .into_iter()
            .map(|i| {
                let n = name(&i.source_id);
                import_row(i, &viewer, n)
            })
            .collect();
        Ok((params, total, rows, sources))
    })
    .await?;
    page(&ImportsPage {
        nav: Nav::of(&console, "cdr_imports"),
        rows,
        sources,
        source,
        status,
        origin,
        statuses: imports::STATUSES,
        origins: &["upload", "push", "spool", "pull", "cli"],
        pager: Pager::new(&req, &params, total),
    })
}

/// One of an import's first errors.
struct ErrorRow {
    line: String,
    callid: String,
    message: String,
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    nav: Nav,
    import: ImportRow,
    sha256: String,
    error_count: i64,
    errors: Vec<ErrorRow>,
}

async fn import_page(
    state: web::Data<AppState>,
    console: Console,
    id: web::Path<String>,
) -> Result<HttpResponse, UiError> {
    let id: AnyId = path_id(&id)?;
    let viewer = console.clone();
    let (import, name) = db::run(&state.pool, move |conn| {
        let import = imports::find(conn, &viewer.caller, &id)?;
        let source = CdrSourceId::from_db(import.source_id.clone());
        let name = CdrSources::find(conn, &viewer.caller, &source)
            .ok()
            .map(|s| s.row.name);
        Ok((import, name))
    })
    .await?;
    let listed: Vec<serde_json::Value> = serde_json::from_str(&import.errors).unwrap_or_default();
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let errors = listed
        .iter()
        .map(|e| ErrorRow {
            line: text(&e["line"]),
            callid: text(&e["callid"]),
            message: text(&e["message"]),
        })
        .collect();
    page(&ImportPage {
        nav: Nav::of(&console, "cdr_imports"),
        sha256: import.sha256.clone().unwrap_or_default(),
        error_count: import.error_count,
        errors,
        import: import_row(import, &console, name),
    })
}
