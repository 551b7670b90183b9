//! `/call_csv_reports`: the reports the runner built, read-only (every other method is a
//! 405), and `/{id}/csv`, which streams the stored file. Who reads which report is
//! `schedulers::reports`'s rule.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use crate::api::{ok, paged, resource, ts, ListParams};
use crate::auth::Caller;
use crate::db::{self, reports::Report};
use crate::error::AppResult;
use crate::ids::{Id, ReportId};
use crate::schedulers::reports;
use crate::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/call_csv_reports").route(web::get().to(list)));
    cfg.service(resource("/call_csv_reports/{id}").route(web::get().to(get)));
    cfg.service(resource("/call_csv_reports/{id}/csv").route(web::get().to(download)));
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CsvFileView {
    pub file_name: Option<String>,
    pub file_size: Option<i64>,
    pub mime_type: &'static str,
    pub sha256: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportView {
    pub id: String,
    pub scheduler: String,
    pub brand: String,
    pub client: Option<String>,
    pub in_date: String,
    pub out_date: String,
    pub created_at: String,
    pub row_count: Option<i64>,
    pub csv: CsvFileView,
    pub sent_to: Vec<String>,
    pub email_status: String,
    pub email_attempts: i32,
    pub email_error: Option<String>,
    pub sent_at: Option<String>,
    /// The mail may have reached its recipients twice (a crash hid an earlier delivery).
    pub possible_duplicate_email: bool,
}

impl From<Report> for ReportView {
    fn from(r: Report) -> ReportView {
        let email_status = match r.email_status.as_str() {
            "sending" => "pending".to_string(),
            _ => r.email_status,
        };
        ReportView {
            sent_to: r
                .sent_to
                .split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(str::to_string)
                .collect(),
            id: r.id,
            scheduler: r.scheduler_id,
            brand: r.brand_id,
            client: r.client_id,
            in_date: ts(r.in_date),
            out_date: ts(r.out_date),
            created_at: ts(r.created_at),
            row_count: r.row_count,
            csv: CsvFileView {
                file_name: r.file_name,
                file_size: r.file_size,
                mime_type: "text/csv",
                sha256: r.sha256,
            },
            email_status,
            email_attempts: r.email_attempts,
            email_error: r.email_error,
            sent_at: r.sent_at.map(ts),
            possible_duplicate_email: r.email_possible_duplicate,
        }
    }
}

async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let params = ListParams::parse(&req, reports::FILTERS, reports::ORDER)?;
    paged(
        &state.pool,
        &req,
        params,
        move |conn, params| reports::list(conn, &caller, params),
        ReportView::from,
    )
    .await
}

/// A built report the caller may read (404 otherwise).
async fn visible(state: &AppState, caller: Caller, id: &str) -> AppResult<Report> {
    let id = ReportId::parse(id)?;
    db::run(&state.pool, move |conn| reports::find(conn, &caller, &id)).await
}

async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    Ok(ok(&ReportView::from(visible(&state, caller, &id).await?)))
}

/// Streams the report's CSV file (`report::download`, shared with the console).
async fn download(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let report = visible(&state, caller, &id).await?;
    crate::report::download::report_file(&state, &report).await
}
