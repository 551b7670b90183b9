//! The two CSV downloads both front doors (the JSON API and the console) answer with: a
//! report's stored file, and the streamed CSV of the calls a filter selects. Each holds a
//! slot of the stream limit (per brand) until its body ends; beyond the limit, 429.

use actix_web::body::SizedStream;
use actix_web::http::header::{
    self, Charset, ContentDisposition, DispositionParam, DispositionType, ExtendedValue,
};
use actix_web::{web, HttpResponse};
use tokio::io::AsyncReadExt;

use crate::auth::Caller;
use crate::calls::read;
use crate::db::{billable_calls::Filter, reports::Report};
use crate::error::{AppError, AppResult};
use crate::schedulers::reports;
use crate::AppState;

/// Read size when streaming a file: memory per download stays at this, whatever the file.
const CHUNK: usize = 64 * 1024;

/// Streams the report's CSV file in fixed-size chunks (never read whole into memory).
pub async fn report_file(state: &AppState, report: &Report) -> AppResult<HttpResponse> {
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
    let Some(path) = reports::file_of(report, &state.config.reports_dir()) else {
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
        .insert_header(attachment(&reports::file_name(report)))
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

/// Streams every call `filter` selects as CSV, one chunk at a time as the client reads (see
/// `report::paced`): memory per stream stays at one chunk however slow the reader. One
/// slot of the stream limit per brand (platform-wide streams share one key) is held until
/// the body ends; beyond the limit, 429.
pub fn calls_csv(state: &AppState, caller: &Caller, filter: Filter) -> HttpResponse {
    let tenant = filter.brand.clone().unwrap_or_else(|| "*".into());
    let permit = match state.streams.acquire(&tenant) {
        Ok(permit) => permit,
        Err(e) => return e.response_retry_after(crate::limits::RETRY_AFTER_SECONDS),
    };
    let export = read::Export::new(caller, filter);
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"billable_calls.csv\"",
        ))
        .streaming(super::paced::body(state.pool.clone(), export, Some(permit)))
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
