//! The CDR sources and imports pages (console.md, page 8): the brand's sources with how
//! records reach each (push address, spool directory, pull), a source's settings and a new
//! push secret, create and edit forms and deletion, and the imports with their counts and
//! first errors. Each page calls the operation the API calls (`CdrSources`,
//! `sources::imports`) with the session's caller, so client administrators get the API's 403
//! and another brand's ids the console's 404.

use std::collections::BTreeMap;

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono_tz::Tz;
use serde_json::{Map, Value};

use crate::auth::Caller;
use crate::db::cdr_imports::CdrImport;
use crate::db::{self, cdr_sources::CdrSource, DbConnection};
use crate::error::AppResult;
use crate::ids::{AnyId, CdrSourceId, Id};
use crate::ops::Resource;
use crate::sources::cdr_sources::{self, CdrSources, Source};
use crate::sources::imports;
use crate::sources::Format;
use crate::tenancy::{Carriers, Clients};
use crate::ui::edit::{
    brand_field, fields_body, fixed, items, pick, put, Ctx, Edited, Field, Kind,
};
use crate::ui::schedulers::all;
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

// ---------------------------------------------------------------------------------------
// The create and edit forms: every member of `POST /cdr_sources`, named as the operation
// names its errors (`numbering.countryCode`, `direction[1].matchExpr`, `spool.path`), so
// each error shows next to its field. A new source's push secret is shown once.

/// How many blank direction rules and numbering rewrite rules the form offers.
const BLANK_DIRECTION_RULES: usize = 2;
const BLANK_REWRITE_RULES: usize = 1;

/// Formats whose column layout is configurable (`columns`).
const WITH_COLUMNS: &[&str] = &["asterisk-csv", "freeswitch-csv"];
const WEBEX: &str = "webex-cdr";

/// How many rows of a repeated group (`direction[i].field`) the values hold.
fn rows_in(values: &BTreeMap<String, String>, first: impl Fn(usize) -> String) -> usize {
    (0..)
        .take_while(|i| values.contains_key(&first(*i)))
        .count()
}

/// `value` put at a dotted path (`mapping.carrier.field`) of `body`.
fn insert_at(body: &mut Map<String, Value>, path: &str, value: Value) {
    match path.split_once('.') {
        None => {
            body.insert(path.to_string(), value);
        }
        Some((head, rest)) => {
            let inner = body
                .entry(head.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(inner) = inner {
                insert_at(inner, rest, value);
            }
        }
    }
}

impl Edited for CdrSources {
    const PATH: &'static str = "cdr_sources";
    const SECTION: &'static str = "cdr_sources";
    const NOUN: &'static str = "CDR source";
    // `/ui/cdr_sources/{id}` is the source's page (push address, secret, imports).
    const EDIT_AT: &'static str = "/edit";
    const DELETE_NOTE: &'static str = "Its imports and spool checkpoints go with it; the calls \
        it brought stay (their source is history). Pushes to it are refused from then on.";

    fn fields(
        conn: &mut DbConnection,
        caller: &Caller,
        values: &BTreeMap<String, String>,
        creating: bool,
    ) -> AppResult<Vec<Field>> {
        let format = values.get("format").map(String::as_str).unwrap_or_default();
        let formats: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
        let mut f: Vec<Field> = brand_field(conn, caller, creating)?.into_iter().collect();
        f.extend([
            Field::new("name", "Name", Kind::Text),
            Field::new("format", "Format", Kind::Select(fixed(&formats))).help(
                "Column names belong to asterisk-csv and freeswitch-csv, call types and pull \
                 to webex-cdr: after changing the format, save to see its settings.",
            ),
            Field::new("timezone", "Time zone (empty = the brand's)", Kind::Text)
                .help("An IANA name such as Europe/Madrid: the zone of the records' times."),
        ]);
        if WITH_COLUMNS.contains(&format) {
            f.push(
                Field::new(
                    "columns",
                    "Columns (empty = the format's layout)",
                    Kind::Lines,
                )
                .help("One record field name per line, in the file's order."),
            );
        }
        f.extend([
            Field::new("answeredOnly", "Answered calls only", Kind::Check),
            Field::new("enabled", "Enabled (accepts records)", Kind::Check),
            Field::new("callidPrefix", "Call id prefix", Kind::Text).help(
                "Put before each record's call id (at most 32 characters), so two switches' \
                 ids never meet.",
            ),
            Field::new(
                "numbering.countryCode",
                "Numbering: country code",
                Kind::Text,
            )
            .help(
                "Leave every numbering field empty for the brand's country's conventions; \
                 an empty one takes the brand's country's value. E.g. 34.",
            ),
            Field::new(
                "numbering.nationalPrefix",
                "Numbering: national prefix",
                Kind::Text,
            )
            .help("E.g. 0; empty where the country dials none."),
            Field::new(
                "numbering.internationalPrefix",
                "Numbering: international prefix",
                Kind::Text,
            )
            .help("E.g. 00."),
            Field::new(
                "numbering.extensionMaxDigits",
                "Numbering: extensions have at most this many digits (empty = 6)",
                Kind::Number,
            ),
        ]);
        let rewrite = |i: usize| format!("numbering.rewriteRules[{i}].matchExpr");
        for i in 0..rows_in(values, rewrite) + BLANK_REWRITE_RULES {
            let (at, n) = (format!("numbering.rewriteRules[{i}]"), i + 1);
            f.extend([
                Field::new(
                    &format!("{at}.matchExpr"),
                    &format!("Number rewrite {n}: match (regular expression)"),
                    Kind::Text,
                )
                .help("Applied before the numbering plan; only the first match is replaced."),
                Field::new(
                    &format!("{at}.replaceExpr"),
                    &format!("Number rewrite {n}: replace with"),
                    Kind::Text,
                ),
                Field::new(
                    &format!("{at}.priority"),
                    &format!("Number rewrite {n}: priority (lower first)"),
                    Kind::Number,
                ),
            ]);
        }
        let direction = |i: usize| format!("direction[{i}].field");
        for i in 0..rows_in(values, direction) + BLANK_DIRECTION_RULES {
            let (at, n) = (format!("direction[{i}]"), i + 1);
            f.extend([
                Field::new(
                    &format!("{at}.field"),
                    &format!("Direction rule {n}: record field"),
                    Kind::Text,
                )
                .help("The first rule whose field matches decides; no rule: the format's own."),
                Field::new(
                    &format!("{at}.matchExpr"),
                    &format!("Direction rule {n}: matches (regular expression)"),
                    Kind::Text,
                ),
                Field::new(
                    &format!("{at}.direction"),
                    &format!("Direction rule {n}: the call is"),
                    Kind::Select(fixed(&["inbound", "outbound", "internal", "skip"])),
                ),
            ]);
        }
        let clients = all::<Clients>(conn, caller)?
            .into_iter()
            .map(|c| (c.id, c.name))
            .collect();
        let carriers = all::<Carriers>(conn, caller)?
            .into_iter()
            .map(|c| (c.id, c.name))
            .collect();
        f.extend([
            Field::new(
                "mapping.client.field",
                "Client: record field holding its account code",
                Kind::Text,
            ),
            Field::new(
                "mapping.carrier.field",
                "Carrier: record field holding it",
                Kind::Text,
            ),
            Field::new(
                "mapping.carrier.matchExpr",
                "Carrier: pattern in that field",
                Kind::Text,
            )
            .help(
                "Its first group (or whole match) is the carrier's code; empty: the whole value.",
            ),
            Field::new(
                "mapping.endpoint.field",
                "Endpoint: record field holding its code",
                Kind::Text,
            ),
            Field::new(
                "mapping.defaultClient",
                "Client when the record names none",
                Kind::Select(pick(clients)),
            ),
            Field::new(
                "mapping.defaultCarrier",
                "Carrier when the record names none",
                Kind::Select(pick(carriers)),
            ),
        ]);
        if format == WEBEX {
            f.extend([
                Field::new(
                    "callTypes",
                    "Call types (empty = the PSTN ones)",
                    Kind::Lines,
                )
                .help("One Webex call type per line."),
                Field::new("pull.url", "Pull: feed URL", Kind::Text).help(
                    "Empty with a token: Webex's CDR feed. Leave the three pull fields empty \
                     for no pull.",
                ),
                Field::new("pull.token", "Pull: access token", Kind::Password)
                    .help("Empty keeps the stored one (while the URL stays)."),
                Field::new(
                    "pull.intervalMinutes",
                    "Pull: every so many minutes (empty = 15)",
                    Kind::Number,
                ),
            ]);
        }
        f.extend([
            Field::new("spool.path", "Spool: directory", Kind::Text)
                .help("Inside CALLCSV_SPOOL_ROOT (relative to it); empty for no spool."),
            Field::new("spool.pattern", "Spool: file name pattern", Kind::Text).help("E.g. *.csv."),
        ]);
        Ok(f)
    }

    fn values(s: &Source, _zone: Tz) -> BTreeMap<String, String> {
        let row = &s.row;
        let mut v = BTreeMap::new();
        put(&mut v, "name", Some(&row.name));
        put(&mut v, "format", Some(&row.format));
        put(&mut v, "timezone", row.timezone.as_deref());
        put(&mut v, "answeredOnly", row.answered_only.then_some("on"));
        put(&mut v, "enabled", row.enabled.then_some("on"));
        put(&mut v, "callidPrefix", Some(&row.callid_prefix));
        put(&mut v, "spool.path", row.spool_path.as_deref());
        put(&mut v, "spool.pattern", row.spool_pattern.as_deref());
        put(&mut v, "pull.url", row.pull_url.as_deref());
        let interval = row.pull_interval_minutes.map(|m| m.to_string());
        put(&mut v, "pull.intervalMinutes", interval.as_deref());
        let Ok(stored) = cdr_sources::stored(row) else {
            return v;
        };
        if let Some(columns) = &stored.columns {
            v.insert("columns".into(), columns.join("\n"));
        }
        if let Some(types) = &stored.call_types {
            v.insert("callTypes".into(), types.join("\n"));
        }
        if let Some(n) = &stored.numbering {
            put(&mut v, "numbering.countryCode", Some(&n.country_code));
            put(&mut v, "numbering.nationalPrefix", Some(&n.national_prefix));
            put(
                &mut v,
                "numbering.internationalPrefix",
                Some(&n.international_prefix),
            );
            v.insert(
                "numbering.extensionMaxDigits".into(),
                n.extension_max_digits.to_string(),
            );
            for (i, r) in n.rewrite_rules.iter().enumerate() {
                let at = |name: &str| format!("numbering.rewriteRules[{i}].{name}");
                v.insert(at("matchExpr"), r.match_expr.clone());
                v.insert(at("replaceExpr"), r.replace_expr.clone());
                v.insert(at("priority"), r.priority.to_string());
            }
        }
        for (i, r) in stored.direction.iter().enumerate() {
            let at = |name: &str| format!("direction[{i}].{name}");
            v.insert(at("field"), r.field.clone());
            v.insert(at("matchExpr"), r.match_expr.clone());
            v.insert(at("direction"), r.direction.clone());
        }
        let m = &stored.mapping;
        let client = m.client.as_ref().map(|c| c.field.as_str());
        put(&mut v, "mapping.client.field", client);
        let endpoint = m.endpoint.as_ref().map(|e| e.field.as_str());
        put(&mut v, "mapping.endpoint.field", endpoint);
        if let Some(c) = &m.carrier {
            put(&mut v, "mapping.carrier.field", Some(&c.field));
            put(&mut v, "mapping.carrier.matchExpr", c.match_expr.as_deref());
        }
        put(&mut v, "mapping.defaultClient", m.default_client.as_deref());
        put(
            &mut v,
            "mapping.defaultCarrier",
            m.default_carrier.as_deref(),
        );
        v
    }

    fn defaults() -> BTreeMap<String, String> {
        let mut v = BTreeMap::new();
        v.insert("answeredOnly".into(), "on".into());
        v.insert("enabled".into(), "on".into());
        v
    }

    fn title(s: &Source) -> String {
        s.row.name.clone()
    }

    /// The API's body: dotted names as nested objects, the rule rows as lists; a group
    /// left empty (numbering, spool, pull, an empty list) is left out, as the API's
    /// "absent" (the brand's numbering, no spool, no pull, the format's layout).
    fn body(
        fields: &[Field],
        form: &BTreeMap<String, String>,
        ctx: &Ctx<'_, Source>,
    ) -> AppResult<Map<String, Value>> {
        let flat = fields_body(
            fields.iter().filter(|f| !f.name.contains('[')),
            form,
            ctx.zone,
        )?;
        let mut body = Map::new();
        for (name, value) in flat {
            let empty_list = value.as_array().is_some_and(Vec::is_empty);
            if !empty_list {
                insert_at(&mut body, &name, value);
            }
        }
        let mut rules = items(fields, form, "numbering.rewriteRules", ctx.zone)?;
        for r in &mut rules {
            if let Value::Object(r) = r {
                r.entry("replaceExpr").or_insert_with(|| "".into());
            }
        }
        if !rules.is_empty() {
            insert_at(&mut body, "numbering.rewriteRules", rules.into());
        }
        body.insert(
            "direction".into(),
            items(fields, form, "direction", ctx.zone)?.into(),
        );
        Ok(body)
    }

    fn page_of(id: &str) -> String {
        format!("/ui/cdr_sources/{id}")
    }

    fn shown_once(s: &Source) -> Option<(&'static str, String)> {
        s.push_secret.as_ref().map(|secret| {
            (
                "The push secret (the password a switch sends with its records)",
                secret.0.clone(),
            )
        })
    }
}
