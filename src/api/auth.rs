//! `POST /auth/login` and `POST /auth/refresh`: short-lived bearer tokens.

use actix_web::{web, HttpResponse};
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
    role: &str,
    brand: Option<String>,
    client: Option<String>,
) -> AppResult<HttpResponse> {
    let (token, expires_at) = state.jwt.issue(id).map_err(AppError::internal)?;
    Ok(HttpResponse::Ok().json(TokenView {
        token,
        expires_at: expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        role: role.to_string(),
        brand,
        client,
    }))
}

async fn login(state: web::Data<AppState>, body: web::Json<Value>) -> AppResult<HttpResponse> {
    let login: Login = parse_body(body.into_inner(), &[])?;
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
            token_for(&state, &a.id, &a.role, a.brand_id, a.client_id)
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
    token_for(
        &state,
        &caller.id,
        caller.role.as_str(),
        caller.brand_id,
        caller.client_id,
    )
}
