//! Console sessions: a random token in an `HttpOnly`, `SameSite=Strict`, `Path=/ui` cookie,
//! its SHA-256 in `ui_sessions`. Every request loads the administrator as stored now (as
//! the API's bearer extractor does), so a deactivated or deleted administrator, or one
//! whose password changed, is signed out at once; a session idle longer than
//! `CALLCSV_UI_SESSION_IDLE` is gone. The cookie is read only here: no API route knows it.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use sha2::{Digest, Sha256};

use crate::auth::{Caller, Role};
use crate::db::{self, administrators::Administrator, ui_sessions, DbConnection};
use crate::error::{AppError, AppResult};
use crate::ids::{BrandId, ClientId, Id};
use crate::ui::UiError;
use crate::AppState;

pub const COOKIE: &str = "callcsv_session";
/// The token the sign-in form carries before there is a session (double submit).
pub const LOGIN_COOKIE: &str = "callcsv_login";
pub const CSRF_HEADER: &str = "x-csrf-token";
pub const CSRF_FIELD: &str = "_csrf";
/// A session's `last_seen_at` is written at most this often (seconds), not on every page.
const TOUCH_EVERY: i64 = 30;

/// The signed-in administrator of a console request.
#[derive(Debug, Clone)]
pub struct Console {
    pub caller: Caller,
    /// The token every state-changing request of this session must carry.
    pub csrf: String,
    /// Where times are shown: the administrator's zone, else its client's or brand's, else UTC.
    pub timezone: chrono_tz::Tz,
    session_id: String,
}

impl Console {
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    pub fn sees_costs(&self) -> bool {
        crate::calls::read::sees_costs(&self.caller)
    }
}

pub fn random_token() -> String {
    crate::config::random_token(43)
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Equal strings, compared in time that does not depend on where they differ.
pub fn same_token(a: &str, b: &str) -> bool {
    let (a, b) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// Whether the cookie must be `Secure`: always when configured, else when the request came
/// over https (directly or as a proxy says).
pub fn secure(req: &HttpRequest, state: &AppState) -> bool {
    state.config.cookie_secure || req.connection_info().scheme() == "https"
}

pub fn cookie<'c>(req: &HttpRequest, state: &AppState, name: &'c str, value: String) -> Cookie<'c> {
    Cookie::build(name, value)
        .path("/ui")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure(req, state))
        .finish()
}

/// A cookie that removes `name` in the browser.
pub fn removal<'c>(req: &HttpRequest, state: &AppState, name: &'c str) -> Cookie<'c> {
    let mut c = cookie(req, state, name, String::new());
    c.make_removal();
    c
}

/// Starts a session for `admin`; returns the cookie's token.
pub fn start(
    conn: &mut DbConnection,
    admin: &Administrator,
    idle_seconds: i64,
) -> AppResult<String> {
    let token = random_token();
    let now = db::now();
    // Old idle sessions of anyone go now: the table holds only live ones.
    ui_sessions::delete_idle(conn, now - chrono::Duration::seconds(idle_seconds))?;
    ui_sessions::insert(
        conn,
        &ui_sessions::UiSession {
            id: hash(&token),
            administrator_id: admin.id.clone(),
            token_version: admin.token_version,
            csrf_token: random_token(),
            created_at: now,
            last_seen_at: now,
        },
    )?;
    Ok(token)
}

/// Ends the session of this cookie token on the server.
pub fn end(conn: &mut DbConnection, session_id: &str) -> AppResult<()> {
    ui_sessions::delete(conn, session_id)
}

/// The live session of a cookie token, with its administrator as stored now; `None` when
/// there is none (never was, ended, idle too long, administrator gone or changed).
fn load(conn: &mut DbConnection, token: &str, idle_seconds: i64) -> AppResult<Option<Console>> {
    let id = hash(token);
    let Some(session) = ui_sessions::find(conn, &id)? else {
        return Ok(None);
    };
    let now = db::now();
    let admin = db::administrators::find_active(conn, &session.administrator_id)?
        .filter(|a| a.token_version == session.token_version);
    let idle = now - session.last_seen_at > chrono::Duration::seconds(idle_seconds);
    let (Some(admin), false) = (admin, idle) else {
        ui_sessions::delete(conn, &id)?;
        return Ok(None);
    };
    if now - session.last_seen_at > chrono::Duration::seconds(TOUCH_EVERY) {
        ui_sessions::touch(conn, &id, now)?;
    }
    let role =
        Role::parse(&admin.role).ok_or_else(|| AppError::internal("stored role is invalid"))?;
    let timezone = viewer_timezone(conn, &admin)?;
    Ok(Some(Console {
        caller: Caller {
            id: admin.id,
            username: admin.username,
            role,
            brand_id: admin.brand_id,
            client_id: admin.client_id,
        },
        csrf: session.csrf_token,
        timezone,
        session_id: id,
    }))
}

fn viewer_timezone(conn: &mut DbConnection, admin: &Administrator) -> AppResult<chrono_tz::Tz> {
    let mut zone = admin.timezone.clone();
    if let (None, Some(client)) = (&zone, &admin.client_id) {
        zone = db::clients::find(conn, &ClientId::from_db(client.clone()))?.map(|c| c.timezone);
    }
    if let (None, Some(brand)) = (&zone, &admin.brand_id) {
        zone = db::brands::find(conn, &BrandId::from_db(brand.clone()))?.map(|b| b.timezone);
    }
    Ok(zone
        .and_then(|z| z.parse().ok())
        .unwrap_or(chrono_tz::Tz::UTC))
}

impl FromRequest for Console {
    type Error = UiError;
    type Future = Pin<Box<dyn Future<Output = Result<Console, UiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = req.cookie(COOKIE).map(|c| c.value().to_string());
        Box::pin(async move {
            let state = state.ok_or_else(|| AppError::internal("AppState missing"))?;
            let token = token.ok_or(UiError::SignIn)?;
            let idle = state.config.ui_session_idle_seconds;
            db::run(&state.pool, move |conn| load(conn, &token, idle))
                .await?
                .ok_or(UiError::SignIn)
        })
    }
}

/// A state-changing console request: a live session, and the session's CSRF token in the
/// `X-CSRF-Token` header (htmx) or the `_csrf` field of the urlencoded form. Without
/// either, 403. The form's other fields are the handler's.
pub struct Change {
    pub console: Console,
    pub form: Vec<(String, String)>,
}

impl Change {
    /// The form's value of `name`, trimmed; `None` when absent or blank.
    pub fn field(&self, name: &str) -> Option<String> {
        field(&self.form, name)
    }
}

pub fn field(form: &[(String, String)], name: &str) -> Option<String> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

pub fn csrf_refused() -> UiError {
    UiError::App(AppError::forbidden(
        "this form has expired or did not come from the console (CSRF token missing or wrong); reload the page and try again",
    ))
}

impl FromRequest for Change {
    type Error = UiError;
    type Future = Pin<Box<dyn Future<Output = Result<Change, UiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let console = Console::from_request(req, payload);
        let form = web::Form::<Vec<(String, String)>>::from_request(req, payload);
        let header = req
            .headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        Box::pin(async move {
            let console = console.await?;
            // An unreadable body carries no token: the same 403 as a missing one.
            let form = form.await.map(|f| f.into_inner()).unwrap_or_default();
            let given = header.or_else(|| field(&form, CSRF_FIELD));
            match given {
                Some(token) if same_token(&token, &console.csrf) => Ok(Change { console, form }),
                _ => Err(csrf_refused()),
            }
        })
    }
}

/// The `HX-Request` header: the request came from htmx (answer a fragment, redirect with
/// `HX-Redirect`).
pub fn from_htmx(req: &HttpRequest) -> bool {
    req.headers().contains_key("hx-request")
}

/// Where to go after signing in: a console path only (never another site).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with("/ui/") && !n.starts_with("/ui//") && !n.contains('\\') => {
            n.to_string()
        }
        _ => "/ui/".to_string(),
    }
}

pub fn location(to: &str) -> (header::HeaderName, String) {
    (header::LOCATION, to.to_string())
}
