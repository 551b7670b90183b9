//! `/call_csv_reports`: the reports the runner built, read-only (every other method is a
//! 405), and `/{id}/csv`, which streams the stored file. Who reads which report is
//! `schedulers::reports`'s rule.

use actix_web::body::SizedStream;
use actix_web::http::header::{
    Charset, ContentDisposition, DispositionParam, DispositionType, ExtendedValue,
};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use tokio::io::AsyncReadExt;

use crate::api::{ok, paged, resource, ts, ListParams};
use crate::auth::Caller;
use crate::db::{self, reports::Report};
use crate::error::{AppError, AppResult};
use crate::ids::{Id, ReportId};
use crate::schedulers::reports;
use crate::AppState;

/// Read size when streaming a file: memory per download stays at this, whatever the file.
const CHUNK: usize = 64 * 1024;

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

/// Streams the report's CSV file in fixed-size chunks (never read whole into memory).
async fn download(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let report = visible(&state, caller, &id).await?;
    // Downloads share the concurrent-stream limit with the calls' CSV stream.
    let permit = match state.streams.acquire(&report.brand_id) {
        Ok(permit) => permit,
        Err(e) => return Ok(e.response_retry_after(crate::limits::RETRY_AFTER_SECONDS)),
    };
    let gone = || {
        AppError::new(
            actix_web::http::StatusCode::NOT_FOUND,
            "file_not_found",
            "the report's CSV file is no longer on the server",
        )
    };
    let Some(path) = reports::file_of(&report, &state.config.reports_dir()) else {
        tracing::error!(report = %report.id, path = ?report.file_path, "report has no usable file path");
        return Err(gone());
    };
    let file = match tokio::fs::File::open(&path).await {
        Ok(file) => file,
        Err(e) => {
            tracing::error!(report = %report.id, path = %path.display(), error = %e, "report file missing");
            return Err(gone());
        }
    };
    // The size of the file as it is, so Content-Length matches the bytes sent.
    let size = file
        .metadata()
        .await
        .map_err(|e| AppError::internal(format!("{}: {e}", path.display())))?
        .len();
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(attachment(&reports::file_name(&report)))
        .body(SizedStream::new(size, file_chunks(file, permit))))
}

/// The file's bytes, [`CHUNK`] at a time; the permit (a slot of the stream limit) goes
/// with them and is released when the body ends or the client leaves.
fn file_chunks(
    file: tokio::fs::File,
    permit: crate::limits::Permit,
) -> impl futures_util::Stream<Item = Result<web::Bytes, std::io::Error>> {
    futures_util::stream::unfold(Some((file, permit)), |held| async move {
        let (mut file, permit) = held?;
        let mut buffer = vec![0; CHUNK];
        match file.read(&mut buffer).await {
            Ok(0) => None,
            Ok(n) => {
                buffer.truncate(n);
                Some((Ok(web::Bytes::from(buffer)), Some((file, permit))))
            }
            // Yield the error, then end the stream.
            Err(e) => Some((Err(e), None)),
        }
    })
}

/// `Content-Disposition: attachment` naming the file: a plain-ASCII `filename` every client
/// understands (quotes, backslashes and non-ASCII replaced), plus RFC 6266 `filename*` with
/// the exact UTF-8 name when it differs.
fn attachment(file_name: &str) -> ContentDisposition {
    let ascii: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut parameters = vec![DispositionParam::Filename(ascii.clone())];
    if ascii != file_name {
        parameters.push(DispositionParam::FilenameExt(ExtendedValue {
            charset: Charset::Ext("UTF-8".to_string()),
            language_tag: None,
            value: file_name.as_bytes().to_vec(),
        }));
    }
    ContentDisposition {
        disposition: DispositionType::Attachment,
        parameters,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachment_quotes_safely() {
        assert_eq!(
            attachment("Demo-20180101-20181231.csv").to_string(),
            "attachment; filename=\"Demo-20180101-20181231.csv\""
        );
        let header = attachment("Telefónica \"x\".csv").to_string();
        assert!(
            header.starts_with(
                "attachment; filename=\"Telef_nica _x_.csv\"; filename*=UTF-8''Telef%C3%B3nica"
            ),
            "{header}"
        );
    }
}
