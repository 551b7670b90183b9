//! The operators' web console at `/ui/` (console.md): server-rendered pages (askama
//! templates compiled in, escaped by default) over the same operations the JSON API
//! calls, with the session's administrator as the caller. Handlers only translate: form
//! or query → operation → template. Sessions and CSRF are `session`'s, the embedded files
//! `assets`'.

mod accounts;
mod alerts;
pub mod assets;
mod call_detail;
mod call_rerate;
mod calls;
mod dashboard;
mod edit;
mod login;
mod map;
mod rating;
mod rating_forms;
mod reports;
mod schedulers;
pub mod session;
mod sources;
mod statistics;
mod tenancy;
mod tenancy_tools;
mod upload;
mod view;

use actix_web::http::{header, StatusCode};
use actix_web::middleware::DefaultHeaders;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use askama::Template;

use crate::error::AppError;
use crate::ids::Id;
use crate::listing::ListParams;

pub use session::{Change, Console};

/// Every console response's security headers: no inline script or style, no framing, no
/// MIME sniffing, no referrer beyond this origin.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The console's routes under `/ui`, and `/` sending browsers there.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/").route(web::get().to(root)));
    cfg.service(
        web::scope("/ui")
            .wrap(
                DefaultHeaders::new()
                    .add((header::CONTENT_SECURITY_POLICY, CSP))
                    .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                    .add((header::REFERRER_POLICY, "same-origin"))
                    .add((header::X_FRAME_OPTIONS, "DENY")),
            )
            .route("", web::get().to(to_home))
            .route("/static/{name}", web::get().to(assets::serve))
            .configure(login::routes)
            .configure(dashboard::routes)
            .configure(statistics::routes)
            .configure(schedulers::routes)
            .configure(reports::routes)
            .configure(calls::routes)
            .configure(tenancy::routes)
            // Before the pages whose `/{id}` would take `/new`.
            .configure(edit::routes)
            .configure(sources::routes)
            .configure(alerts::routes)
            .configure(rating::routes)
            .configure(tenancy_tools::routes)
            .default_service(web::to(not_found)),
    );
}

/// `GET /`: a browser (it accepts HTML) goes to the console; anything else hears the API's 404.
async fn root(req: HttpRequest) -> HttpResponse {
    let html = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if html {
        HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/ui/"))
            .finish()
    } else {
        AppError::not_found().error_response()
    }
}

async fn to_home() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/ui/"))
        .finish()
}

async fn not_found(console: Option<Console>) -> Result<HttpResponse, UiError> {
    match console {
        Some(_) => Err(UiError::App(AppError::not_found())),
        None => Err(UiError::SignIn),
    }
}

/// 303 to a console page (after a form's POST).
pub fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .finish()
}

/// A page as HTML, never cached (it shows a tenant's data).
pub fn html(status: StatusCode, page: &impl Template) -> Result<HttpResponse, UiError> {
    let body = page.render().map_err(AppError::internal)?;
    Ok(HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}

pub fn page(page: &impl Template) -> Result<HttpResponse, UiError> {
    html(StatusCode::OK, page)
}

/// The id of a console URL; malformed is the console's 404 (no such page).
pub fn path_id<I: Id>(raw: &str) -> Result<I, UiError> {
    crate::ids::canonical(raw)
        .map(I::from_db)
        .ok_or(UiError::App(AppError::not_found()))
}

/// A list's parameters from the page's query string (a filter form): blank fields are
/// left out, the rest is read as the API reads its query.
pub fn query_params(
    req: &HttpRequest,
    filters: &[&str],
    order: &[&str],
) -> Result<ListParams, UiError> {
    Ok(ListParams::from_pairs(filled_query(req), filters, order)?)
}

/// The query string's pairs, blank fields (an untouched filter) left out.
pub fn filled_query(req: &HttpRequest) -> Vec<(String, String)> {
    url::form_urlencoded::parse(req.query_string().as_bytes())
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| (k.into_owned(), v.trim().to_string()))
        .collect()
}

/// A list's page links, keeping the other query parameters.
pub struct Pager {
    pub page: i64,
    /// "Page 2 of 7 · 321 in all", or "Page 2 · more than 10 000" when counting stopped.
    pub position: String,
    pub prev: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    pub fn new(req: &HttpRequest, params: &ListParams, total: i64) -> Pager {
        let pages = ((total + params.per_page - 1) / params.per_page).max(1);
        let link = |page: i64| crate::listing::page_link(req, page);
        Pager {
            page: params.page,
            position: format!("Page {} of {pages} · {total} in all", params.page),
            prev: (params.page > 1).then(|| link(params.page - 1)),
            next: (params.page < pages).then(|| link(params.page + 1)),
        }
    }

    /// For a count that stopped past `cap` (see `calls::read::list_counted_up_to`): the
    /// pages go on while the current one is full.
    pub fn counted_up_to(
        req: &HttpRequest,
        params: &ListParams,
        counted: i64,
        cap: i64,
        rows_here: usize,
    ) -> Pager {
        if counted <= cap {
            return Pager::new(req, params, counted);
        }
        let link = |page: i64| crate::listing::page_link(req, page);
        Pager {
            page: params.page,
            position: format!("Page {} · more than {cap} in all", params.page),
            prev: (params.page > 1).then(|| link(params.page - 1)),
            next: (rows_here as i64 >= params.per_page).then(|| link(params.page + 1)),
        }
    }
}

/// What a console handler fails with: no session (→ the sign-in page), or an operation's
/// error shown as the console's error page with its status (404 for another tenant's id).
#[derive(Debug)]
pub enum UiError {
    SignIn,
    App(AppError),
}

impl From<AppError> for UiError {
    fn from(e: AppError) -> UiError {
        UiError::App(e)
    }
}

impl std::fmt::Display for UiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UiError::SignIn => f.write_str("sign in"),
            UiError::App(e) => write!(f, "{}", e.message),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    message: &'a str,
}

impl ResponseError for UiError {
    fn status_code(&self) -> StatusCode {
        match self {
            UiError::SignIn => StatusCode::SEE_OTHER,
            UiError::App(e) => e.status,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            UiError::SignIn => HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/ui/login"))
                // htmx follows a redirect itself and would swap the sign-in page into a
                // fragment: tell it to load the page instead.
                .insert_header(("HX-Redirect", "/ui/login"))
                .finish(),
            UiError::App(e) => {
                if e.status.is_server_error() {
                    tracing::error!(code = e.code, message = %e.message, "console request failed");
                }
                let title = match e.status {
                    StatusCode::NOT_FOUND => "Not found",
                    StatusCode::FORBIDDEN => "Not allowed",
                    StatusCode::TOO_MANY_REQUESTS => "Too many attempts",
                    s if s.is_server_error() => "Something went wrong",
                    _ => "This request cannot be done",
                };
                let message = match e.status {
                    StatusCode::NOT_FOUND => "There is nothing here, or it is not yours to see.",
                    s if s.is_server_error() => "The server could not answer; try again later.",
                    _ => e.message.as_str(),
                };
                let page = ErrorPage {
                    status: e.status.as_u16(),
                    title,
                    message,
                };
                let mut response = html(e.status, &page).unwrap_or_else(|_| {
                    HttpResponse::build(e.status)
                        .content_type("text/plain; charset=utf-8")
                        .body(title.to_string())
                });
                if let Some(seconds) = e.retry_after {
                    if let Ok(v) = header::HeaderValue::from_str(&seconds.to_string()) {
                        response.headers_mut().insert(header::RETRY_AFTER, v);
                    }
                }
                response
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pager_whose_count_stopped_goes_on_while_pages_are_full() {
        let req =
            actix_web::test::TestRequest::with_uri("/ui/calls?client=x&page=2").to_http_request();
        let params = ListParams {
            page: 2,
            per_page: 50,
            ..ListParams::default()
        };
        // Counted in full: pages as usual.
        let p = Pager::counted_up_to(&req, &params, 120, 10_000, 50);
        assert_eq!(p.position, "Page 2 of 3 · 120 in all");
        assert_eq!(p.next.as_deref(), Some("/ui/calls?client=x&page=3"));
        // Stopped past the cap: no last page, a next one while this one is full.
        let p = Pager::counted_up_to(&req, &params, 10_001, 10_000, 50);
        assert_eq!(p.position, "Page 2 · more than 10000 in all");
        assert_eq!(p.prev.as_deref(), Some("/ui/calls?client=x&page=1"));
        assert_eq!(p.next.as_deref(), Some("/ui/calls?client=x&page=3"));
        let p = Pager::counted_up_to(&req, &params, 10_001, 10_000, 7);
        assert_eq!(p.next, None);
    }
}
