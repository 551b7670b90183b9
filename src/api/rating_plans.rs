//! `/rating_plans` and `/rating_plans/{id}/rates`: the JSON (and CSV) views of a brand's
//! tariffs and their rate tables; the rules are in `rating::plans` and `rating::import`.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use crate::api::rest::{self, Rest};
use crate::api::{media_type, ok, page, read_body, resource, ts, ListParams};
use crate::auth::Caller;
use crate::db;
use crate::db::rating_plans::Rate;
use crate::error::{AppError, AppResult};
use crate::ids::{Id, RatingPlanId};
use crate::rating::import::Format;
use crate::rating::plans::CountedPlan;
use crate::rating::RatingPlans;
use crate::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/rating_plans")
            .route(web::get().to(rest::list::<RatingPlans>))
            .route(web::post().to(rest::create::<RatingPlans>)),
    );
    cfg.service(
        resource("/rating_plans/{id}")
            .route(web::get().to(rest::get::<RatingPlans>))
            .route(web::put().to(rest::update::<RatingPlans>))
            .route(web::patch().to(rest::update::<RatingPlans>))
            .route(web::delete().to(rest::delete::<RatingPlans>)),
    );
    cfg.service(
        resource("/rating_plans/{id}/rates")
            .route(web::get().to(list_rates))
            .route(web::post().to(append_rates))
            .route(web::put().to(replace_rates)),
    );
}

impl Rest for RatingPlans {
    const PATH: &'static str = "/rating_plans";
    /// How many rate rows the plan has.
    const READ_ONLY: &'static [&'static str] = &["rateCount"];
    type View = PlanView;

    fn view(object: CountedPlan, _caller: &Caller) -> AppResult<PlanView> {
        Ok(PlanView::from(object))
    }
}

// ---------------------------------------------------------------------------------------
// Plans

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanView {
    pub id: String,
    pub brand: String,
    pub name: String,
    pub currency: String,
    pub rounding_method: String,
    pub rounding_decimals: i32,
    pub timezone: String,
    /// Read-only: how many rate rows the plan has.
    pub rate_count: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<CountedPlan> for PlanView {
    fn from(
        CountedPlan {
            plan: p,
            rate_count,
        }: CountedPlan,
    ) -> PlanView {
        PlanView {
            id: p.id,
            brand: p.brand_id,
            name: p.name,
            currency: p.currency,
            rounding_method: p.rounding_method,
            rounding_decimals: p.rounding_decimals,
            timezone: p.timezone,
            rate_count,
            created_at: ts(p.created_at),
            updated_at: ts(p.updated_at),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Rates

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RateView {
    pub id: String,
    pub prefix: String,
    pub destination_name: String,
    pub connect_fee: String,
    pub rate: String,
    pub rate_unit: i32,
    pub rate_increment: i32,
    pub group_interval_start: i32,
    pub weekdays: String,
    pub time_in: String,
}

impl From<Rate> for RateView {
    fn from(r: Rate) -> RateView {
        RateView {
            id: r.id,
            prefix: r.prefix,
            destination_name: r.destination_name,
            connect_fee: r.connect_fee,
            rate: r.rate,
            rate_unit: r.rate_unit,
            rate_increment: r.rate_increment,
            group_interval_start: r.group_interval_start,
            weekdays: r.weekdays,
            time_in: r.time_in,
        }
    }
}

fn wants_csv(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| {
            accept
                .split(',')
                .any(|part| part.trim().starts_with("text/csv"))
        })
}

/// `GET /rating_plans/{id}/rates`: a page of JSON, or with `Accept: text/csv` every
/// matching row as CSV in the import format (so it can be edited and sent back).
async fn list_rates(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let id = RatingPlanId::parse(&id)?;
    let params = ListParams::parse(&req, RatingPlans::RATE_FILTERS, &[])?;
    let csv = wants_csv(&req);
    let (params, (total, rows)) = db::run(&state.pool, move |conn| {
        let rates = RatingPlans::rates(conn, &caller, &id, &params, csv)?;
        Ok((params, rates))
    })
    .await?;
    if csv {
        return rates_csv(total, rows);
    }
    let views: Vec<RateView> = rows.into_iter().map(RateView::from).collect();
    Ok(page(&req, &params, total, views))
}

fn rates_csv(total: i64, rows: Vec<Rate>) -> AppResult<HttpResponse> {
    let body = crate::rating::import::rates_csv(&rows)?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("X-Total-Count", total.to_string()))
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"rates.csv\"",
        ))
        .body(body))
}

/// The body formats an import accepts, by content type.
fn body_format(req: &HttpRequest) -> AppResult<Format> {
    match media_type(req).as_str() {
        "text/csv" => Ok(Format::Csv),
        "application/json" => Ok(Format::Json),
        _ => Err(AppError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send application/json (an array of rates) or text/csv (with a header row)",
        )),
    }
}

/// `?replace=true|false`, the only query parameter an import takes.
fn replace_param(req: &HttpRequest) -> AppResult<Option<bool>> {
    let mut replace = None;
    for (key, value) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
        match (key.as_ref(), value.as_ref()) {
            ("replace", "true") if replace.is_none() => replace = Some(true),
            ("replace", "false") if replace.is_none() => replace = Some(false),
            ("replace", _) => {
                return Err(AppError::invalid_query(
                    "replace: given once, as true or false",
                ))
            }
            _ => {
                return Err(AppError::invalid_query(format!(
                    "unknown query parameter {key:?} (possible: replace)"
                )))
            }
        }
    }
    Ok(replace)
}

/// `POST /rating_plans/{id}/rates`: appends the rows to the table.
async fn append_rates(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    if replace_param(&req)? == Some(true) {
        return Err(AppError::bad_request(
            "POST appends rates; to replace the whole table use PUT ?replace=true",
        ));
    }
    import(&state, caller, &id, &req, payload, false).await
}

/// `PUT /rating_plans/{id}/rates?replace=true`: the rows become the whole table.
async fn replace_rates(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    if replace_param(&req)? != Some(true) {
        return Err(AppError::bad_request(
            "PUT replaces the whole rate table and needs ?replace=true; POST appends rates",
        ));
    }
    import(&state, caller, &id, &req, payload, true).await
}

/// The import itself: the plan must be visible before its body is read; the rows are
/// parsed, checked and stored off the async threads, all or nothing.
async fn import(
    state: &AppState,
    caller: Caller,
    id: &str,
    req: &HttpRequest,
    payload: web::Payload,
    replace: bool,
) -> AppResult<HttpResponse> {
    let id = RatingPlanId::parse(id)?;
    let (check, found) = (caller.clone(), id.clone());
    db::run(&state.pool, move |conn| {
        RatingPlans::find_plan(conn, &check, &found)
    })
    .await?;
    let format = body_format(req)?;
    let body = read_body(payload, state.config.max_body_bytes).await?;
    let started = std::time::Instant::now();
    let summary = db::run(&state.pool, move |conn| {
        RatingPlans::import_rates(conn, &caller, &id, body, format, replace)
    })
    .await?;
    tracing::info!(
        imported = summary.imported,
        total = summary.total,
        replace,
        ms = started.elapsed().as_millis() as u64,
        "imported rates"
    );
    Ok(ok(&summary))
}
