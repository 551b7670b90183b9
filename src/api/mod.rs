//! The HTTP API: the route table, and the small pieces every resource shares (query
//! strings into list parameters, pagination, body parsing with merge-patch, responses).
//! Handlers only translate: request → one operation (inside `db::run`) → JSON view; the
//! rules live in the domain modules (see `tenancy` for the pattern, `rest` for the
//! handlers written once).

pub mod administrators;
pub mod alert_rules;
pub mod auth;
pub mod billable_calls;
pub mod brands;
pub mod call_csv_reports;
pub mod call_csv_schedulers;
pub mod carriers;
pub mod cdr_imports;
pub mod cdr_sources;
pub mod clients;
pub mod ddi_providers;
pub mod ddis;
pub mod endpoints;
pub mod health;
pub mod metrics;
pub mod notification_templates;
pub mod rating_plans;
pub mod rating_profiles;
pub mod rest;
pub mod stats;

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::error::{AppError, AppResult};
use crate::ids::Id;

// The shared parsing lives where the domain can use it; re-exported for the handlers.
pub use crate::fields::{
    check_name, parse_time, ts, valid_currency, valid_email, valid_language, valid_timezone,
};
pub use crate::listing::{
    Direction, ListParams, DEFAULT_ITEMS_PER_PAGE, MAX_ITEMS_PER_PAGE, MAX_PAGE,
};

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
    cdr_sources::routes(cfg);
    call_csv_schedulers::routes(cfg);
    call_csv_reports::routes(cfg);
    cdr_imports::routes(cfg);
    stats::routes(cfg);
    alert_rules::routes(cfg);
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

/// A UUID from a path, in the canonical lowercase form the database holds (400 if not).
/// (Untyped: the resources not converted to typed ids yet use it.)
pub fn parse_id(raw: &str) -> AppResult<String> {
    crate::ids::AnyId::parse(raw).map(String::from)
}

/// A reference field of a body (`"client": "<uuid>"`): a malformed id is a 422 on that field.
pub fn parse_ref(field: &str, raw: &str) -> AppResult<String> {
    crate::ids::AnyId::parse_ref(field, raw).map(String::from)
}

// ---------------------------------------------------------------------------------------
// Bodies

/// Body fields the server owns: accepted back in a PUT (clients often send what they got)
/// but ignored.
const SERVER_FIELDS: &[&str] = &["id", "createdAt", "updatedAt"];

/// Turns a create or replace body (POST, PUT) into a typed input: server-owned fields (`id`,
/// `createdAt`, `updatedAt` and `extra_read_only`) are dropped; wrong types, unknown fields
/// and `null` on a field openapi.yaml's input schema does not mark `nullable` are a 422
/// naming the problem (serde alone reads `null` as "absent" for every optional field).
pub fn parse_body<T: DeserializeOwned>(body: Value, extra_read_only: &[&str]) -> AppResult<T> {
    if let (Value::Object(map), Some(nullable)) = (&body, nullable_fields(schema_name::<T>())) {
        let mut v = crate::error::Validator::new();
        for (field, value) in map {
            let ignored = SERVER_FIELDS.contains(&field.as_str())
                || extra_read_only.contains(&field.as_str());
            if value.is_null() && !ignored && nullable.get(field) == Some(&false) {
                v.error(field, "must not be null (leave it out to get the default)");
            }
        }
        v.finish()?;
    }
    parse_merged(body, extra_read_only)
}

/// Like [`parse_body`] without the `null` check, for a merged PATCH document, where a
/// `null` left in place has the meaning the resource documents.
pub fn parse_merged<T: DeserializeOwned>(
    mut body: Value,
    extra_read_only: &[&str],
) -> AppResult<T> {
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

/// Input types whose openapi.yaml schema has another name than the type.
const SCHEMA_OF_TYPE: &[(&str, &str)] = &[
    ("TemplateInput", "NotificationTemplateInput"),
    ("PlanInput", "RatingPlanInput"),
    ("ProfileInput", "RatingProfileInput"),
    ("AlertRuleInput", "AlertRuleInput"),
    ("SchedulerInput", "CallCsvSchedulerInput"),
];

/// The openapi.yaml schema describing the input type `T` (by its name; a unit test checks
/// every input type resolves).
fn schema_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    let short = full.rsplit("::").next().unwrap_or(full);
    SCHEMA_OF_TYPE
        .iter()
        .find(|(rust, _)| *rust == short)
        .map_or(short, |(_, schema)| schema)
}

/// Property → nullable? of a schema in openapi.yaml's `components.schemas`.
fn nullable_fields(schema: &str) -> Option<&'static BTreeMap<String, bool>> {
    static TABLE: std::sync::OnceLock<BTreeMap<String, BTreeMap<String, bool>>> =
        std::sync::OnceLock::new();
    TABLE
        .get_or_init(|| nullable_by_schema(health::OPENAPI_YAML))
        .get(schema)
}

/// Reads `components.schemas` of an OpenAPI YAML document written the way ours is (schemas
/// indented four spaces, their properties eight, a property's keys ten).
fn nullable_by_schema(yaml: &str) -> BTreeMap<String, BTreeMap<String, bool>> {
    let mut table: BTreeMap<String, BTreeMap<String, bool>> = BTreeMap::new();
    let (mut in_components, mut in_schemas, mut in_properties) = (false, false, false);
    let mut schema: Option<String> = None;
    let mut property: Option<String> = None;
    for line in yaml.lines() {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let key = line.trim().trim_end_matches(':');
        match indent {
            0 => in_components = key == "components",
            2 => in_schemas = in_components && key == "schemas",
            4 if in_schemas && line.trim_end().ends_with(':') => {
                schema = Some(key.to_string());
                table.entry(key.to_string()).or_default();
                (in_properties, property) = (false, None);
            }
            6 => (in_properties, property) = (key == "properties", None),
            8 if in_properties && line.trim_end().ends_with(':') => {
                if let Some(s) = &schema {
                    table
                        .entry(s.clone())
                        .or_default()
                        .insert(key.to_string(), false);
                }
                property = Some(key.to_string());
            }
            10 if in_properties && key == "nullable: true" => {
                if let (Some(s), Some(p)) = (&schema, &property) {
                    table.entry(s.clone()).or_default().insert(p.clone(), true);
                }
            }
            _ => {}
        }
    }
    table
}

/// RFC 7386 JSON merge patch: `null` removes, objects merge, everything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    json_patch::merge(target, patch);
}

/// The input a PATCH yields: the current object's view with the patch merged in. A patch
/// that is not an object is a 422. With `keep_nulls`, a member the patch sets to `null`
/// stays `null` instead of being removed (RFC 7386's reading, which would bring back the
/// field's default where the client wrote null).
pub fn patched<V: Serialize, T: DeserializeOwned>(
    current: &V,
    patch: Value,
    extra_read_only: &[&str],
    keep_nulls: bool,
) -> AppResult<T> {
    let Value::Object(members) = &patch else {
        return Err(AppError::new(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "a merge patch must be a JSON object",
        ));
    };
    let mut value = serde_json::to_value(current).map_err(AppError::internal)?;
    merge_patch(&mut value, &patch);
    if let (true, Value::Object(fields)) = (keep_nulls, &mut value) {
        for (key, member) in members {
            if member.is_null() {
                fields.insert(key.clone(), Value::Null);
            }
        }
    }
    parse_merged(value, extra_read_only)
}

/// The request's media type (`Content-Type` without its parameters, lowercase; `""` when
/// absent).
pub fn media_type(req: &HttpRequest) -> String {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
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

/// `?force=true` on a DELETE (the only parameter a DELETE takes).
pub fn force_param(req: &HttpRequest) -> AppResult<bool> {
    let params = ListParams::parse(req, &["force"], &[])?;
    if params.page != 1 || params.per_page != DEFAULT_ITEMS_PER_PAGE {
        return Err(AppError::invalid_query("a DELETE takes only ?force=true"));
    }
    Ok(params.filter_bool("force")?.unwrap_or(false))
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
    let link_to = |page: i64| format!("<{}>", crate::listing::page_link(req, page));
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
    fn every_input_type_has_its_schema_in_openapi() {
        fn check<T>(expect_non_nullable: &str) {
            let schema = schema_name::<T>();
            let fields = nullable_fields(schema).unwrap_or_else(|| panic!("no schema {schema}"));
            assert!(!fields.is_empty(), "{schema} has no properties");
            assert_eq!(fields.get(expect_non_nullable), Some(&false), "{schema}");
        }
        check::<crate::tenancy::administrators::AdministratorInput>("active");
        check::<crate::tenancy::brands::BrandInput>("timezone");
        check::<crate::tenancy::clients::ClientInput>("name");
        check::<crate::tenancy::carriers::CarrierInput>("name");
        check::<crate::tenancy::ddi_providers::DdiProviderInput>("name");
        check::<crate::tenancy::ddis::DdiInput>("ddiE164");
        check::<crate::tenancy::endpoints::EndpointInput>("name");
        check::<crate::tenancy::notification_templates::TemplateInput>("name");
        check::<crate::rating::plans::PlanInput>("name");
        check::<crate::rating::profiles::ProfileInput>("ratingPlan");
        check::<crate::schedulers::SchedulerInput>("unit");
        check::<crate::sources::cdr_sources::CdrSourceInput>("format");
        let brand = nullable_fields("BrandInput").unwrap();
        assert_eq!(brand.get("email"), Some(&true));
        assert_eq!(brand.get("country"), Some(&true));
        let source = nullable_fields("CdrSourceInput").unwrap();
        for nullable in [
            "timezone",
            "numbering",
            "columns",
            "callTypes",
            "spool",
            "pull",
        ] {
            assert_eq!(source.get(nullable), Some(&true), "{nullable}");
        }
    }

    #[test]
    fn times_are_rfc3339_from_1970_to_9999_without_leap_seconds() {
        assert!(parse_time("2026-01-31T10:00:00Z").is_some());
        assert!(parse_time("1970-01-01T00:00:00Z").is_some());
        assert!(parse_time("9999-12-31T23:59:59.999Z").is_some());
        for bad in [
            "2016-12-31T23:59:60Z",
            "0000-01-01T00:00:00Z",
            "1969-12-31T23:59:59Z",
            "1970-01-01T00:30:00+01:00",
            "2026-01-31T10:00:00",
        ] {
            assert!(parse_time(bad).is_none(), "{bad}");
        }
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
}
