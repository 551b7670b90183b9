//! `POST /auth/login` and `POST /auth/refresh`: short-lived bearer tokens. Who may have
//! one is `auth::login`'s rule.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::Value;

use crate::api::{parse_body, resource};
use crate::auth::login::{self, Login};
use crate::auth::Caller;
use crate::db::{self, administrators::Administrator};
use crate::error::{AppError, AppResult};
use crate::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/auth/login").route(web::post().to(log_in)));
    cfg.service(resource("/auth/refresh").route(web::post().to(refresh)));
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TokenView {
    token: String,
    expires_at: String,
    role: String,
    brand: Option<String>,
    client: Option<String>,
}

/// A new token for `admin`, as the body of a 200.
fn token_for(state: &AppState, admin: Administrator) -> AppResult<HttpResponse> {
    let (token, expires_at) = state
        .jwt
        .issue(&admin.id, admin.token_version)
        .map_err(AppError::internal)?;
    Ok(HttpResponse::Ok().json(TokenView {
        token,
        expires_at: expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        role: admin.role,
        brand: admin.brand_id,
        client: admin.client_id,
    }))
}

async fn log_in(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<Value>,
) -> AppResult<HttpResponse> {
    let login: Login = parse_body(body.into_inner(), &[])?;
    let address = req.peer_addr().map(|a| a.ip());
    let (pool, throttle) = (state.pool.clone(), state.login_throttle.clone());
    let admin = web::block(move || login::log_in(&pool, &throttle, login, address)).await??;
    token_for(&state, admin)
}

/// A new token for a caller whose current token is still valid.
async fn refresh(state: web::Data<AppState>, caller: Caller) -> AppResult<HttpResponse> {
    let admin = db::run(&state.pool, move |conn| login::renewable(conn, &caller)).await?;
    token_for(&state, admin)
}
