//! Unauthenticated operational endpoints: liveness, readiness, the OpenAPI document.

use actix_web::{web, HttpResponse};

use crate::api::resource;
use crate::db;
use crate::error::AppResult;
use crate::monitoring;
use crate::AppState;

/// The API contract, served as written (the same file the route test checks).
pub const OPENAPI_YAML: &str = include_str!("../../openapi.yaml");

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/healthz").route(web::get().to(healthz)));
    cfg.service(resource("/readyz").route(web::get().to(readyz)));
    cfg.service(resource("/openapi.yaml").route(web::get().to(openapi)));
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// Ready when the database answers.
async fn readyz(state: web::Data<AppState>) -> AppResult<HttpResponse> {
    db::run(&state.pool, monitoring::ready).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"status": "ready"})))
}

async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/yaml")
        .body(OPENAPI_YAML)
}
