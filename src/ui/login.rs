//! Signing in and out of the console: the same accounts, password check and failed-login
//! throttle as `POST /auth/login` (`auth::login`), answered with a session cookie instead
//! of a token. The sign-in form carries its own CSRF token (double submit with a
//! short-lived cookie), so no other site can sign a browser in under its own account.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::auth::login::{self, Login};
use crate::db;
use crate::error::AppError;
use crate::ui::session::{self, same_token, Change, LOGIN_COOKIE};
use crate::ui::{html, see_other, Console, UiError};
use crate::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/login", web::get().to(form))
        .route("/login", web::post().to(sign_in))
        .route("/logout", web::post().to(sign_out));
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    csrf: String,
    next: String,
    username: String,
    error: Option<String>,
    version: &'static str,
}

/// The sign-in page with a fresh form token (in the form and in its cookie).
fn login_page(
    req: &HttpRequest,
    state: &AppState,
    status: StatusCode,
    next: String,
    username: String,
    error: Option<String>,
) -> Result<HttpResponse, UiError> {
    let csrf = session::random_token();
    let page = LoginPage {
        csrf: csrf.clone(),
        next,
        username,
        error,
        version: env!("CARGO_PKG_VERSION"),
    };
    let mut response = html(status, &page)?;
    response
        .add_cookie(&session::cookie(req, state, LOGIN_COOKIE, csrf))
        .map_err(AppError::internal)?;
    Ok(response)
}

#[derive(Deserialize)]
struct Next {
    next: Option<String>,
}

async fn form(
    state: web::Data<AppState>,
    req: HttpRequest,
    console: Option<Console>,
    query: web::Query<Next>,
) -> Result<HttpResponse, UiError> {
    let next = session::safe_next(query.next.as_deref());
    if console.is_some() {
        return Ok(see_other(&next));
    }
    login_page(&req, &state, StatusCode::OK, next, String::new(), None)
}

#[derive(Deserialize)]
struct SignIn {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

async fn sign_in(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<SignIn>,
) -> Result<HttpResponse, UiError> {
    let form = form.into_inner();
    let cookie = req.cookie(LOGIN_COOKIE).map(|c| c.value().to_string());
    if !cookie.is_some_and(|c| !form.csrf.is_empty() && same_token(&c, &form.csrf)) {
        return Err(session::csrf_refused());
    }
    let next = session::safe_next(form.next.as_deref());
    let address = req.peer_addr().map(|a| a.ip());
    let (pool, throttle) = (state.pool.clone(), state.login_throttle.clone());
    let credentials = Login {
        username: form.username.clone(),
        password: form.password,
    };
    let idle = state.config.ui_session_idle_seconds;
    let signed_in = web::block(move || {
        let admin = login::log_in(&pool, &throttle, credentials, address)?;
        session::start(&mut *pool.get()?, &admin, idle)
    })
    .await
    .map_err(AppError::from)?;
    match signed_in {
        Ok(token) => {
            let mut response = see_other(&next);
            response
                .add_cookie(&session::cookie(&req, &state, session::COOKIE, token))
                .map_err(AppError::internal)?;
            response
                .add_removal_cookie(&session::removal(&req, &state, LOGIN_COOKIE))
                .map_err(AppError::internal)?;
            Ok(response)
        }
        // The same words for a wrong password, an unknown user and a disabled one.
        Err(e) if e.status == StatusCode::UNAUTHORIZED => login_page(
            &req,
            &state,
            StatusCode::UNAUTHORIZED,
            next,
            form.username,
            Some("Wrong user name or password, or the account is disabled.".into()),
        ),
        Err(e) if e.status == StatusCode::TOO_MANY_REQUESTS => {
            let wait = e.retry_after.unwrap_or(60);
            let mut response = login_page(
                &req,
                &state,
                StatusCode::TOO_MANY_REQUESTS,
                next,
                form.username,
                Some(format!(
                    "Too many failed sign-ins for this user name or address. Wait {wait} seconds and try again."
                )),
            )?;
            response.headers_mut().insert(
                actix_web::http::header::RETRY_AFTER,
                actix_web::http::header::HeaderValue::from(wait),
            );
            Ok(response)
        }
        Err(e) => Err(e.into()),
    }
}

/// Ends the session on the server and drops the cookie.
async fn sign_out(
    state: web::Data<AppState>,
    req: HttpRequest,
    change: Change,
) -> Result<HttpResponse, UiError> {
    let id = change.console.session_id().to_string();
    db::run(&state.pool, move |conn| session::end(conn, &id)).await?;
    let mut response = see_other("/ui/login");
    response
        .add_removal_cookie(&session::removal(&req, &state, session::COOKIE))
        .map_err(AppError::internal)?;
    Ok(response)
}
