//! The HTTP API: the route table, and the small pieces every resource shares (list
//! parameters and pagination, body parsing with merge-patch, ids, common field checks).
//! Handlers stay thin: extract → authorise → query → view.

pub mod administrators;
pub mod auth;
pub mod billable_calls;
pub mod brands;
pub mod call_csv_reports;
pub mod call_csv_schedulers;
pub mod carriers;
pub mod clients;
pub mod ddi_providers;
pub mod ddis;
pub mod endpoints;
pub mod health;
pub mod metrics;
pub mod notification_templates;
pub mod rating_plans;
pub mod rating_profiles;

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDateTime, SecondsFormat};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::error::{AppError, AppResult};

pub const MAX_ITEMS_PER_PAGE: i64 = 1000;
pub const DEFAULT_ITEMS_PER_PAGE: i64 = 50;

/// The route table: every path the API serves. A path answers 405 for methods it lacks.
pub fn configure(cfg: &mut web::ServiceConfig) {
    health::routes(cfg);
    metrics::routes(cfg);
    auth::routes(cfg);
    administrators::routes(cfg);
    brands::routes(cfg);
    clients::routes(cfg);
    carriers::routes(cfg);
    ddi_providers::routes(cfg);
    ddis::routes(cfg);
    endpoints::routes(cfg);
    notification_templates::routes(cfg);
    rating_plans::routes(cfg);
    rating_profiles::routes(cfg);
    billable_calls::routes(cfg);
    call_csv_schedulers::routes(cfg);
    call_csv_reports::routes(cfg);
}

/// A resource whose unlisted methods answer 405 (actix would say 404), with the `Allow`
/// header RFC 9110 asks for.
pub fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(|req: HttpRequest| async move {
        let mut response =
            actix_web::ResponseError::error_response(&AppError::method_not_allowed());
        let allow = req.match_pattern().and_then(|p| allowed_methods(&p));
        if let Some(value) = allow.and_then(|m| header::HeaderValue::from_str(m).ok()) {
            response.headers_mut().insert(header::ALLOW, value);
        }
        response
    }))
}

/// The methods a route pattern serves, as an `Allow` value (`GET, POST`), read from the
/// OpenAPI document's `paths` (a route test keeps that document and the routes in step, so
/// the list cannot drift from what is registered).
fn allowed_methods(pattern: &str) -> Option<&'static str> {
    static TABLE: std::sync::OnceLock<BTreeMap<String, String>> = std::sync::OnceLock::new();
    TABLE
        .get_or_init(|| methods_by_path(health::OPENAPI_YAML))
        .get(&path_shape(pattern))
        .map(String::as_str)
}

/// A path with each `{parameter}` reduced to `{}`, so `/plans/{planId}` and `/plans/{id}`
/// compare equal.
fn path_shape(path: &str) -> String {
    let mut shape = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                shape.push_str("{}");
            }
            '}' => in_param = false,
            _ if !in_param => shape.push(c),
            _ => {}
        }
    }
    shape
}

/// Path shape → "GET, POST", from the `paths:` section of an OpenAPI YAML document written
/// the way ours is (paths indented two spaces, their operations four).
fn methods_by_path(yaml: &str) -> BTreeMap<String, String> {
    const METHODS: &[&str] = &["get", "put", "post", "delete", "patch", "head", "options"];
    let mut table: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut in_paths = false;
    let mut current: Option<String> = None;
    for line in yaml.lines() {
        if !line.starts_with(' ') && !line.trim().is_empty() {
            in_paths = line.trim_end() == "paths:";
            current = None;
            continue;
        }
        if !in_paths {
            continue;
        }
        if let Some(path) = line.strip_prefix("  /") {
            let path = format!("/{}", path.trim_end().trim_end_matches(':'));
            current = Some(path_shape(path.trim_matches(|c| c == '\'' || c == '"')));
        } else if let (Some(path), Some(key)) = (&current, line.strip_prefix("    ")) {
            let key = key.trim_end().trim_end_matches(':');
            if METHODS.contains(&key) {
                table
                    .entry(path.clone())
                    .or_default()
                    .push(key.to_uppercase());
            }
        }
    }
    table
        .into_iter()
        .map(|(path, mut methods)| {
            // HEAD is served wherever GET is (see `server::start`).
            if methods.iter().any(|m| m == "GET") {
                methods.push("HEAD".into());
            }
            (path, methods.join(", "))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Ids and times

/// A UUID from a path or a body, in the canonical lowercase form the database holds.
pub fn parse_id(raw: &str) -> AppResult<String> {
    uuid::Uuid::parse_str(raw)
        .map(|u| u.to_string())
        .map_err(|_| {
            AppError::new(
                actix_web::http::StatusCode::BAD_REQUEST,
                "invalid_id",
                format!("{raw:?} is not a UUID"),
            )
        })
}

/// A reference field of a body (`"client": "<uuid>"`): a malformed id is a 422 on that field.
pub fn parse_ref(field: &str, raw: &str) -> AppResult<String> {
    uuid::Uuid::parse_str(raw)
        .map(|u| u.to_string())
        .map_err(|_| AppError::invalid_field(field, "not a UUID"))
}

/// Output form of a stored timestamp: RFC 3339 in UTC with `Z`.
pub fn ts(t: NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Parses an RFC 3339 time with a required offset into a stored (UTC) timestamp.
pub fn parse_time(raw: &str) -> Option<NaiveDateTime> {
    DateTime::parse_from_rfc3339(raw.trim())
        .ok()
        .map(|t| t.naive_utc())
}

// ---------------------------------------------------------------------------------------
// Bodies

/// Body fields the server owns: accepted back in a PUT (clients often send what they got)
/// but ignored.
const SERVER_FIELDS: &[&str] = &["id", "createdAt", "updatedAt"];

/// Turns a JSON body into a typed input: server-owned fields (`id`, `createdAt`,
/// `updatedAt` and `extra_read_only`) are dropped; wrong types and unknown fields are a 422
/// naming the problem.
pub fn parse_body<T: DeserializeOwned>(mut body: Value, extra_read_only: &[&str]) -> AppResult<T> {
    let Value::Object(map) = &mut body else {
        return Err(AppError::new(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "the body must be a JSON object",
        ));
    };
    for field in SERVER_FIELDS.iter().chain(extra_read_only) {
        map.remove(*field);
    }
    serde_json::from_value(body).map_err(|e| {
        let message = e.to_string();
        // serde names the field for unknown fields and missing fields; keep its words.
        AppError::new(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            message,
        )
    })
}

/// RFC 7386 JSON merge patch: `null` removes, objects merge, everything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(fields) => {
            if !target.is_object() {
                *target = Value::Object(Default::default());
            }
            if let Value::Object(map) = target {
                for (key, value) in fields {
                    if value.is_null() {
                        map.remove(key);
                    } else {
                        merge_patch(map.entry(key.clone()).or_insert(Value::Null), value);
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

/// The input a PATCH yields: the current object's view with the patch merged in. A patch
/// that is not an object is a 422.
pub fn patched<V: Serialize, T: DeserializeOwned>(
    current: &V,
    patch: Value,
    extra_read_only: &[&str],
) -> AppResult<T> {
    if !patch.is_object() {
        return Err(AppError::new(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "a merge patch must be a JSON object",
        ));
    }
    let mut value = serde_json::to_value(current).map_err(AppError::internal)?;
    merge_patch(&mut value, &patch);
    parse_body(value, extra_read_only)
}

/// Reads a raw body (CSV or JSON handled by the caller) up to `limit` bytes (413 above it).
pub async fn read_body(mut payload: web::Payload, limit: usize) -> AppResult<web::BytesMut> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| AppError::bad_request(format!("reading the body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(AppError::new(
                actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("body larger than {limit} bytes"),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

// ---------------------------------------------------------------------------------------
// Responses

pub fn created<T: Serialize>(location: String, body: &T) -> HttpResponse {
    HttpResponse::Created()
        .insert_header((header::LOCATION, location))
        .json(body)
}

pub fn ok<T: Serialize>(body: &T) -> HttpResponse {
    HttpResponse::Ok().json(body)
}

pub fn no_content() -> HttpResponse {
    HttpResponse::NoContent().finish()
}

// ---------------------------------------------------------------------------------------
// Lists

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Asc,
    Desc,
}

/// Parsed `?page=&itemsPerPage=&_order[field]=&<filters>` of a collection request.
/// Unknown parameters are a 400, so a typo never silently returns everything.
#[derive(Debug)]
pub struct ListParams {
    pub page: i64,
    pub per_page: i64,
    filters: BTreeMap<String, String>,
    pub order: Vec<(String, Direction)>,
}

impl ListParams {
    pub fn parse(
        req: &HttpRequest,
        allowed_filters: &[&str],
        allowed_order: &[&str],
    ) -> AppResult<ListParams> {
        let mut params = ListParams {
            page: 1,
            per_page: DEFAULT_ITEMS_PER_PAGE,
            filters: BTreeMap::new(),
            order: vec![],
        };
        let mut seen = std::collections::HashSet::new();
        for (key, value) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
            let (key, value) = (key.into_owned(), value.into_owned());
            if !seen.insert(key.clone()) {
                return Err(AppError::invalid_query(format!(
                    "{key}: given more than once"
                )));
            }
            match key.as_str() {
                "page" => params.page = positive(&key, &value, i64::MAX / MAX_ITEMS_PER_PAGE)?,
                "itemsPerPage" => params.per_page = positive(&key, &value, MAX_ITEMS_PER_PAGE)?,
                _ if key.starts_with("_order[") && key.ends_with(']') => {
                    let field = &key["_order[".len()..key.len() - 1];
                    if !allowed_order.contains(&field) {
                        return Err(AppError::invalid_query(format!(
                            "{key}: cannot order by {field:?} (possible: {})",
                            allowed_order.join(", ")
                        )));
                    }
                    let direction = match value.as_str() {
                        "asc" | "ASC" => Direction::Asc,
                        "desc" | "DESC" => Direction::Desc,
                        _ => {
                            return Err(AppError::invalid_query(format!(
                                "{key}: expected asc or desc"
                            )))
                        }
                    };
                    params.order.push((field.to_string(), direction));
                }
                _ if allowed_filters.contains(&key.as_str()) => {
                    params.filters.insert(key, value);
                }
                _ => {
                    let mut known: Vec<&str> = vec!["page", "itemsPerPage"];
                    known.extend(allowed_filters);
                    return Err(AppError::invalid_query(format!(
                        "unknown query parameter {key:?} (possible: {}, _order[field])",
                        known.join(", ")
                    )));
                }
            }
        }
        Ok(params)
    }

    pub fn offset(&self) -> i64 {
        (self.page - 1) * self.per_page
    }

    pub fn filter(&self, name: &str) -> Option<&str> {
        self.filters.get(name).map(String::as_str)
    }

    /// A filter holding an id; malformed → 400.
    pub fn filter_id(&self, name: &str) -> AppResult<Option<String>> {
        match self.filter(name) {
            None => Ok(None),
            Some(raw) => uuid::Uuid::parse_str(raw)
                .map(|u| Some(u.to_string()))
                .map_err(|_| AppError::invalid_query(format!("{name}: {raw:?} is not a UUID"))),
        }
    }

    /// A filter holding an RFC 3339 time; malformed → 400.
    pub fn filter_time(&self, name: &str) -> AppResult<Option<NaiveDateTime>> {
        match self.filter(name) {
            None => Ok(None),
            Some(raw) => parse_time(raw).map(Some).ok_or_else(|| {
                AppError::invalid_query(format!(
                    "{name}: {raw:?} is not an RFC 3339 time with an offset"
                ))
            }),
        }
    }

    pub fn filter_bool(&self, name: &str) -> AppResult<Option<bool>> {
        match self.filter(name) {
            None => Ok(None),
            Some("true") | Some("1") => Ok(Some(true)),
            Some("false") | Some("0") => Ok(Some(false)),
            Some(raw) => Err(AppError::invalid_query(format!(
                "{name}: {raw:?} is not true or false"
            ))),
        }
    }

    /// A filter restricted to a set of values; anything else → 400.
    pub fn filter_choice(&self, name: &str, choices: &[&str]) -> AppResult<Option<String>> {
        match self.filter(name) {
            None => Ok(None),
            Some(raw) if choices.contains(&raw) => Ok(Some(raw.to_string())),
            Some(raw) => Err(AppError::invalid_query(format!(
                "{name}: {raw:?} is not one of {}",
                choices.join(", ")
            ))),
        }
    }
}

/// `?force=true` on a DELETE (the only parameter a DELETE takes).
pub fn force_param(req: &HttpRequest) -> AppResult<bool> {
    let params = ListParams::parse(req, &["force"], &[])?;
    if params.page != 1 || params.per_page != DEFAULT_ITEMS_PER_PAGE {
        return Err(AppError::invalid_query("a DELETE takes only ?force=true"));
    }
    Ok(params.filter_bool("force")?.unwrap_or(false))
}

fn positive(key: &str, value: &str, max: i64) -> AppResult<i64> {
    match value.parse::<i64>() {
        Ok(n) if n >= 1 && n <= max => Ok(n),
        _ => Err(AppError::invalid_query(format!(
            "{key}: {value:?} must be a whole number from 1 to {max}"
        ))),
    }
}

/// A page of a collection: the JSON array, `X-Total-Count`, and `Link` rel=next/prev.
pub fn page<T: Serialize>(
    req: &HttpRequest,
    params: &ListParams,
    total: i64,
    items: Vec<T>,
) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    response.insert_header(("X-Total-Count", total.to_string()));
    let mut links = vec![];
    let link_to = |page: i64| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
            if key != "page" {
                query.append_pair(&key, &value);
            }
        }
        query.append_pair("page", &page.to_string());
        format!("<{}?{}>", req.path(), query.finish())
    };
    if params.offset() + params.per_page < total {
        links.push(format!("{}; rel=\"next\"", link_to(params.page + 1)));
    }
    if params.page > 1 {
        links.push(format!("{}; rel=\"prev\"", link_to(params.page - 1)));
    }
    if !links.is_empty() {
        response.insert_header((header::LINK, links.join(", ")));
    }
    response.json(items)
}

/// A list handler's common tail: runs `query` for the page off the async threads and
/// answers with the page of `view`s.
pub async fn paged<R, V>(
    pool: &crate::db::DbPool,
    req: &HttpRequest,
    params: ListParams,
    query: impl FnOnce(&mut crate::db::DbConnection, &ListParams) -> AppResult<(i64, Vec<R>)>
        + Send
        + 'static,
    view: impl FnMut(R) -> V,
) -> AppResult<HttpResponse>
where
    R: Send + 'static,
    V: Serialize,
{
    let (params, (total, rows)) = crate::db::run(pool, move |conn| {
        let result = query(conn, &params)?;
        Ok((params, result))
    })
    .await?;
    Ok(page(
        req,
        &params,
        total,
        rows.into_iter().map(view).collect::<Vec<_>>(),
    ))
}

// ---------------------------------------------------------------------------------------
// Field checks shared by resources

pub fn valid_timezone(tz: &str) -> bool {
    tz.parse::<chrono_tz::Tz>().is_ok()
}

/// `en`, `es`, `pt-BR`: an ISO 639-1 code with an optional region.
pub fn valid_language(lang: &str) -> bool {
    let mut parts = lang.split('-');
    let base = parts.next().unwrap_or("");
    let region = parts.next();
    parts.next().is_none()
        && base.len() == 2
        && base.chars().all(|c| c.is_ascii_lowercase())
        && region.is_none_or(|r| r.len() == 2 && r.chars().all(|c| c.is_ascii_uppercase()))
}

pub fn valid_currency(code: &str) -> bool {
    code.len() == 3 && code.chars().all(|c| c.is_ascii_uppercase())
}

/// A plain mail address (`local@domain.tld`); display names are not accepted here.
pub fn valid_email(addr: &str) -> bool {
    let Some((local, domain)) = addr.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && domain.len() <= 253
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && addr.is_ascii()
        && !addr
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>,;\"()[]\\".contains(c))
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
}

/// A name: 1 to `max` characters, no control characters, not only spaces.
pub fn check_name(v: &mut crate::error::Validator, field: &str, name: &str, max: usize) {
    let len = name.chars().count();
    v.check(!name.trim().is_empty(), field, "must not be empty");
    v.check(len <= max, field, format!("at most {max} characters"));
    v.check(
        !name.chars().any(char::is_control),
        field,
        "must not contain control characters",
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_lists_come_from_the_openapi_paths() {
        let table = methods_by_path(health::OPENAPI_YAML);
        assert_eq!(table["/carriers"], "GET, POST, HEAD");
        assert_eq!(table["/carriers/{}"], "GET, PUT, PATCH, DELETE, HEAD");
        assert_eq!(table["/call_csv_reports/{}/csv"], "GET, HEAD");
        assert_eq!(table["/auth/login"], "POST");
        assert_eq!(
            path_shape("/rating_plans/{planId}/rates"),
            "/rating_plans/{}/rates"
        );
        assert_eq!(
            allowed_methods("/rating_plans/{id}/rates"),
            table.get("/rating_plans/{}/rates").map(String::as_str)
        );
        assert!(allowed_methods("/nowhere").is_none());
    }

    #[test]
    fn merge_patch_follows_rfc7386() {
        let mut target = serde_json::json!({"a": "b", "c": {"d": "e", "f": "g"}});
        merge_patch(
            &mut target,
            &serde_json::json!({"a": "z", "c": {"f": null}}),
        );
        assert_eq!(target, serde_json::json!({"a": "z", "c": {"d": "e"}}));
    }

    #[test]
    fn field_checks() {
        assert!(valid_timezone("Europe/Madrid") && !valid_timezone("Mars/Base"));
        assert!(valid_language("en") && valid_language("pt-BR") && !valid_language("english"));
        assert!(valid_currency("EUR") && !valid_currency("eur"));
        assert!(
            valid_email("ops@example.com")
                && !valid_email("ops@localhost")
                && !valid_email("a b@x.com")
        );
    }
}
