//! The call CSV reports pages: the list (filters by scheduler, client, creation dates and
//! email status) and the download, through `schedulers::reports` with the session's caller
//! and the same streamed response as `/call_csv_reports/{id}/csv`.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{NaiveDate, TimeZone};
use chrono_tz::Tz;

use crate::auth::Role;
use crate::db::{self, reports::Report};
use crate::error::AppError;
use crate::ids::ReportId;
use crate::listing::ListParams;
use crate::schedulers::{reports, Schedulers};
use crate::tenancy::Clients;
use crate::ui::schedulers::{all, Choice};
use crate::ui::view::{self, Nav};
use crate::ui::{filled_query, page, path_id, Console, Pager, UiError};
use crate::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/reports", web::get().to(list))
        .route("/reports/{id}/csv", web::get().to(download));
}

struct Row {
    id: String,
    scheduler: String,
    period: String,
    created: String,
    rows: String,
    size: String,
    email: String,
    email_error: Option<String>,
    duplicate: bool,
    sent_to: String,
}

#[derive(Template)]
#[template(path = "reports.html")]
struct ListPage {
    nav: Nav,
    rows: Vec<Row>,
    schedulers: Vec<Choice>,
    clients: Vec<Choice>,
    scheduler: String,
    client: String,
    from: String,
    to: String,
    email_status: String,
    statuses: &'static [&'static str],
    pager: Pager,
}

impl ListPage {
    fn status_is(&self, status: &str) -> bool {
        self.email_status == status
    }
}

fn size(bytes: Option<i64>) -> String {
    match bytes {
        None => String::new(),
        Some(b) if b < 1024 => format!("{b} B"),
        Some(b) if b < 1024 * 1024 => format!("{:.1} KB", b as f64 / 1024.0),
        Some(b) => format!("{:.1} MB", b as f64 / (1024.0 * 1024.0)),
    }
}

fn row(r: Report, viewer: Tz) -> Row {
    // The period in the zone it was computed in (the scheduler's), named.
    let zone: Tz = r
        .timezone
        .as_deref()
        .and_then(|z| z.parse().ok())
        .unwrap_or(viewer);
    Row {
        period: format!(
            "{} → {} {}",
            view::local(r.in_date, zone),
            view::local(r.out_date, zone),
            zone.name()
        ),
        created: view::local(r.created_at, viewer),
        rows: r.row_count.map(|n| n.to_string()).unwrap_or_default(),
        size: size(r.file_size),
        email: match r.email_status.as_str() {
            "sending" => "pending".into(),
            other => other.to_string(),
        },
        email_error: r.email_error,
        duplicate: r.email_possible_duplicate,
        sent_to: r.sent_to.replace(',', ", "),
        scheduler: r.scheduler_name,
        id: r.id,
    }
}

/// A day (`2026-12-01`) of the page's filter as the start of that day in `zone`, RFC 3339.
fn day_start(raw: &str, zone: Tz, field: &str) -> Result<String, AppError> {
    let day = NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map_err(|_| AppError::invalid_query(format!("{field}: a date like 2026-12-01")))?;
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    let at = zone
        .from_local_datetime(&midnight)
        .earliest()
        .ok_or_else(|| {
            AppError::invalid_query(format!("{field}: not a time in {}", zone.name()))
        })?;
    Ok(at.to_rfc3339())
}

async fn list(
    state: web::Data<AppState>,
    console: Console,
    req: HttpRequest,
) -> Result<HttpResponse, UiError> {
    let query = filled_query(&req);
    let get = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let zone = console.timezone;
    // The page's own names for the operation's filters: days in the viewer's zone.
    let mut pairs = Vec::new();
    for (k, v) in &query {
        match k.as_str() {
            "from" => pairs.push(("createdAt[after]".into(), day_start(v, zone, "from")?)),
            "to" => {
                let next = NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d")
                    .ok()
                    .and_then(|d| d.succ_opt())
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| v.clone());
                pairs.push((
                    "createdAt[strictly_before]".into(),
                    day_start(&next, zone, "to")?,
                ));
            }
            _ => pairs.push((k.clone(), v.clone())),
        }
    }
    let params = ListParams::from_pairs(pairs, reports::FILTERS, reports::ORDER)?;
    let caller = console.caller.clone();
    let (params, total, rows, schedulers, clients) = db::run(&state.pool, move |conn| {
        let (total, found) = reports::list(conn, &caller, &params)?;
        let rows: Vec<Row> = found.into_iter().map(|r| row(r, zone)).collect();
        let schedulers = all::<Schedulers>(conn, &caller)?
            .into_iter()
            .map(|z| Choice::new(z.scheduler.id, z.scheduler.name))
            .collect();
        let clients = match caller.role {
            Role::Client => vec![],
            _ => all::<Clients>(conn, &caller)?
                .into_iter()
                .map(|c| Choice::new(c.id, c.name))
                .collect(),
        };
        Ok((params, total, rows, schedulers, clients))
    })
    .await?;
    page(&ListPage {
        nav: Nav::of(&console, "reports"),
        rows,
        schedulers,
        clients,
        scheduler: get("scheduler"),
        client: get("client"),
        from: get("from"),
        to: get("to"),
        email_status: get("emailStatus"),
        statuses: reports::EMAIL_STATUSES,
        pager: Pager::new(&req, &params, total),
    })
}

async fn download(
    state: web::Data<AppState>,
    console: Console,
    id: web::Path<String>,
) -> Result<HttpResponse, UiError> {
    let id: ReportId = path_id(&id)?;
    let caller = console.caller;
    let report = db::run(&state.pool, move |conn| reports::find(conn, &caller, &id)).await?;
    Ok(crate::report::download::report_file(&state, &report).await?)
}
