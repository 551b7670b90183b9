//! `/cdr_imports`: every arrival of CDR records, with its counts and first errors
//! (read-only; who sees which is `sources::imports`' rule); and the two HTTP arrivals,
//! `POST /cdr_sources/{id}/imports` (a file, streamed to the import as it arrives) and
//! `POST /cdr_sources/{id}/records` (a switch's push, authenticated by the source's secret).

use std::io::{self, Read};

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use futures_util::StreamExt;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::api::{created, ok, paged, read_body, resource, ts, ListParams};
use crate::auth::Caller;
use crate::db;
use crate::db::cdr_imports::{CdrImport, Counts};
use crate::error::{AppError, AppResult};
use crate::ids::{AnyId, CdrSourceId, Id};
use crate::sources::{arrivals, import, imports, push};
use crate::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/cdr_imports").route(web::get().to(list)));
    cfg.service(resource("/cdr_imports/{id}").route(web::get().to(get)));
    cfg.service(resource("/cdr_sources/{id}/imports").route(web::post().to(upload)));
    cfg.service(resource("/cdr_sources/{id}/records").route(web::post().to(push_records)));
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Skipped {
    pub unanswered: i64,
    pub internal: i64,
    pub leg: i64,
    pub filtered: i64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportView {
    pub id: String,
    pub brand: String,
    pub source: String,
    pub origin: String,
    pub file_name: Option<String>,
    pub bytes: i64,
    pub sha256: Option<String>,
    pub status: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub records: i64,
    pub accepted: i64,
    pub duplicates: i64,
    pub rejected: i64,
    pub unrated: i64,
    pub skipped: Skipped,
    pub errors: Value,
    pub error_count: i64,
    pub failure: Option<String>,
}

impl ImportView {
    pub fn new(i: CdrImport) -> ImportView {
        ImportView {
            id: i.id,
            brand: i.brand_id,
            source: i.source_id,
            origin: i.origin,
            file_name: i.file_name,
            bytes: i.bytes,
            sha256: i.sha256,
            status: i.status,
            started_at: ts(i.started_at),
            finished_at: i.finished_at.map(ts),
            records: i.records,
            accepted: i.accepted,
            duplicates: i.duplicates,
            rejected: i.rejected,
            unrated: i.unrated,
            skipped: Skipped {
                unanswered: i.skipped_unanswered,
                internal: i.skipped_internal,
                leg: i.skipped_leg,
                filtered: i.skipped_filtered,
            },
            errors: serde_json::from_str(&i.errors).unwrap_or(Value::Array(vec![])),
            error_count: i.error_count,
            failure: i.failure,
        }
    }
}

async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let params = ListParams::parse(&req, imports::FILTERS, imports::ORDER)?;
    paged(
        &state.pool,
        &req,
        params,
        move |conn, params| imports::list(conn, &caller, params),
        ImportView::new,
    )
    .await
}

async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = AnyId::parse(&id)?;
    let found = db::run(&state.pool, move |conn| imports::find(conn, &caller, &id)).await?;
    Ok(ok(&ImportView::new(found)))
}

/// An HTTP body as a blocking `Read`, fed chunk by chunk from the async side.
struct BodyReader {
    chunks: mpsc::Receiver<Result<Bytes, String>>,
    current: Bytes,
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.blocking_recv() {
                None => return Ok(0),
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(message)) => return Err(io::Error::other(message)),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

/// Passes the body on to the import as it arrives; stops at `limit` bytes.
async fn feed(
    mut payload: web::Payload,
    chunks: mpsc::Sender<Result<Bytes, String>>,
    limit: u64,
) -> Result<(), AppError> {
    let mut seen = 0u64;
    while let Some(chunk) = payload.next().await {
        let item = match chunk {
            Ok(bytes) => {
                seen += bytes.len() as u64;
                if seen > limit {
                    let message =
                        format!("the file is larger than CALLCSV_MAX_IMPORT_BYTES ({limit} bytes)");
                    let _ = chunks.send(Err(message.clone())).await;
                    return Err(AppError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "payload_too_large",
                        message,
                    ));
                }
                Ok(bytes)
            }
            Err(e) => Err(format!("the upload broke off: {e}")),
        };
        let broke = item.is_err();
        // The import stopped reading (it failed): nothing more to pass on.
        if chunks.send(item).await.is_err() || broke {
            break;
        }
    }
    Ok(())
}

async fn upload(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let id = CdrSourceId::parse(&id)?;
    let params = ListParams::parse(&req, &["fileName"], &[])?;
    let file_name = params.filter("fileName").map(str::to_string);
    let limit = state.config.max_import_bytes;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(AppError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the file is larger than CALLCSV_MAX_IMPORT_BYTES ({limit} bytes)"),
        ));
    }
    let plans = state.plans.clone();
    let loaded = db::run(&state.pool, move |conn| {
        arrivals::for_upload(conn, &plans, &caller, &id)
    })
    .await?;
    let permit = match state.ingestions.acquire(loaded.settings.brand_id.as_str()) {
        Ok(permit) => permit,
        Err(e) => return Ok(e.response_retry_after(crate::limits::RETRY_AFTER_SECONDS)),
    };
    let (sender, chunks) = mpsc::channel(8);
    let reader = BodyReader {
        chunks,
        current: Bytes::new(),
    };
    let importing = db::run(&state.pool, move |conn| {
        let _permit = permit;
        import::import_stream(
            conn,
            &loaded,
            import::Origin::Upload,
            file_name,
            reader,
            &mut |_| {},
        )
    });
    let (imported, fed) = tokio::join!(importing, feed(payload, sender, limit));
    let imported = imported?;
    fed?;
    Ok(created(
        format!("/cdr_imports/{}", imported.id),
        &ImportView::new(imported),
    ))
}

/// The secret a push carries: HTTP Basic's password (any user name) or a Bearer token.
fn push_secret(req: &HttpRequest) -> Option<String> {
    use base64::Engine;
    let value = req
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim();
    let (scheme, rest) = value.split_once(' ')?;
    match scheme.to_ascii_lowercase().as_str() {
        "bearer" => Some(rest.trim().to_string()),
        "basic" => {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(rest.trim())
                .ok()?;
            let text = String::from_utf8(decoded).ok()?;
            text.split_once(':')
                .map(|(_, password)| password.to_string())
        }
        _ => None,
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PushedView {
    /// The import of the source and hour the records were counted in.
    import: String,
    records: i64,
    accepted: i64,
    duplicates: i64,
    rejected: i64,
    unrated: i64,
    skipped: Skipped,
    errors: Vec<serde_json::Value>,
}

async fn push_records(
    state: web::Data<AppState>,
    id: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let id = CdrSourceId::parse(&id)?;
    let secret = push_secret(&req);
    let (plans, prepared) = (state.plans.clone(), state.pushes.clone());
    // The secret is checked before the body is read: against the source as kept for pushes
    // (no query), else against the database.
    let loaded = match prepared.cached(id.as_str(), secret.as_deref()) {
        Some(loaded) => loaded,
        None => {
            let loading = prepared.clone();
            db::run(&state.pool, move |conn| {
                arrivals::for_push(conn, &plans, &loading, &id, secret.as_deref())
            })
            .await?
        }
    };
    let body = read_body(payload, state.config.max_body_bytes).await?;
    let pool = state.pool.clone();
    // No connection is held while the push waits for its turn to be stored.
    let pushed = web::block(move || {
        let resolved = push::resolve(&pool, &prepared, &loaded, &body)?;
        prepared.store(&pool, resolved)
    })
    .await??;
    let c: Counts = pushed.counts;
    Ok(ok(&PushedView {
        import: pushed.import_id,
        records: c.records,
        accepted: c.accepted,
        duplicates: c.duplicates,
        rejected: c.rejected,
        unrated: c.unrated,
        skipped: Skipped {
            unanswered: c.skipped_unanswered,
            internal: c.skipped_internal,
            leg: c.skipped_leg,
            filtered: c.skipped_filtered,
        },
        errors: pushed.errors,
    }))
}
