//! `POST /auth/login` and `POST /auth/refresh`: short-lived bearer tokens.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::{parse_body, resource};
use crate::auth::{password, Caller};
use crate::db;
use crate::error::{AppError, AppResult};
use crate::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/auth/login").route(web::post().to(login)));
    cfg.service(resource("/auth/refresh").route(web::post().to(refresh)));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    username: String,
    password: String,
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

fn token_for(
    state: &AppState,
    id: &str,
    version: i64,
    role: &str,
    brand: Option<String>,
    client: Option<String>,
) -> AppResult<HttpResponse> {
    let (token, expires_at) = state.jwt.issue(id, version).map_err(AppError::internal)?;
    Ok(HttpResponse::Ok().json(TokenView {
        token,
        expires_at: expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        role: role.to_string(),
        brand,
        client,
    }))
}

async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<Value>,
) -> AppResult<HttpResponse> {
    let login: Login = parse_body(body.into_inner(), &[])?;
    // Counted before the password is checked, the same way whether the user exists or not.
    let address = req.peer_addr().map(|a| a.ip());
    if let Err(seconds) = state.login_throttle.attempt(&login.username, address) {
        tracing::warn!(username = %login.username, ?address, "login throttled");
        let error = AppError::too_many_requests(
            "too many failed logins for this user name or address; retry after the time in Retry-After",
        );
        return Ok(error.response_retry_after(seconds));
    }
    let username = login.username.clone();
    let admin = db::run(&state.pool, move |conn| {
        db::administrators::find_by_username(conn, &username)
    })
    .await?;
    // Hashing is slow on purpose: do it off the async threads, and also for unknown users
    // so the answer time does not reveal which usernames exist.
    let stored = admin.as_ref().map(|a| a.password_hash.clone());
    let matches = web::block(move || {
        password::verify(
            &login.password,
            stored.as_deref().unwrap_or(password::dummy_hash()),
        )
    })
    .await?;
    match admin {
        Some(a) if matches && a.active => {
            tracing::info!(admin = %a.id, "login");
            state.login_throttle.succeeded(&a.username, address);
            token_for(
                &state,
                &a.id,
                a.token_version,
                &a.role,
                a.brand_id,
                a.client_id,
            )
        }
        _ => Err(AppError::new(
            actix_web::http::StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "wrong username or password, or the administrator is disabled",
        )),
    }
}

/// A new token for a caller whose current token is still valid (and who is still active:
/// the extractor checked).
async fn refresh(state: web::Data<AppState>, caller: Caller) -> AppResult<HttpResponse> {
    // The version the extractor just checked the token against (read again: a password
    // change in between makes the new token invalid too, as it should).
    let id = caller.id.clone();
    let admin = db::run(&state.pool, move |conn| {
        db::administrators::find_active(conn, &id)
    })
    .await?
    .ok_or_else(|| AppError::unauthorized("administrator disabled or deleted"))?;
    token_for(
        &state,
        &caller.id,
        admin.token_version,
        caller.role.as_str(),
        caller.brand_id,
        caller.client_id,
    )
}
