//! `/cdr_imports`: every arrival of CDR records, with its counts and first errors
//! (read-only; who sees which is `sources::imports`' rule), and the upload of a file to a
//! source, `POST /cdr_sources/{id}/imports`.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::Value;

use crate::api::{ok, paged, resource, ts, ListParams};
use crate::auth::Caller;
use crate::db;
use crate::db::cdr_imports::CdrImport;
use crate::error::AppResult;
use crate::ids::{AnyId, Id};
use crate::sources::imports;
use crate::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/cdr_imports").route(web::get().to(list)));
    cfg.service(resource("/cdr_imports/{id}").route(web::get().to(get)));
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
