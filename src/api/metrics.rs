//! `GET /metrics`: the scheduler and report queues as Prometheus gauges (see
//! `monitoring`). Open unless `CALLCSV_METRICS_TOKEN` is set; then the scraper sends that
//! token as a bearer token (no JWT: a scraper is not an administrator).

use actix_web::{web, HttpRequest, HttpResponse};

use crate::api::resource;
use crate::auth::caller::bearer_token;
use crate::db;
use crate::error::AppResult;
use crate::monitoring::{self, CONTENT_TYPE};
use crate::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/metrics").route(web::get().to(metrics)));
}

async fn metrics(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let expected = state.config.metrics_token.as_ref().map(|t| t.0.as_str());
    monitoring::may_scrape(bearer_token(&req), expected)?;
    let text = db::run(&state.pool, monitoring::exposition).await?;
    Ok(HttpResponse::Ok().content_type(CONTENT_TYPE).body(text))
}
