//! `/billable_calls`: ingestion (JSON or CSV), reading (JSON pages or a CSV stream of every
//! matching row), and rerating. Who reads what is `calls::read`'s rule; ingestion and
//! rerating are `calls::ingest` and `calls::rerate`.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::Value;

use crate::api::{media_type, ok, paged, parse_body, read_body, resource, ts, ListParams};
use crate::auth::{Caller, Role};
use crate::calls::ingest::{self, Format};
use crate::calls::rerate::{self, RerateInput};
use crate::calls::{self, read};
use crate::db;
use crate::db::billable_calls::BillableCall;
use crate::error::{AppError, AppResult};
use crate::ids::{BrandId, CallId, Id};
use crate::report;
use crate::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/billable_calls")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    );
    cfg.service(resource("/billable_calls/rerate").route(web::post().to(rerate_calls)));
    cfg.service(resource("/billable_calls/{id}").route(web::get().to(get)));
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallView {
    pub id: String,
    pub brand: String,
    pub callid: String,
    pub start_time: String,
    pub duration: String,
    pub billed_seconds: i64,
    pub caller: String,
    pub callee: String,
    pub direction: String,
    pub client: String,
    #[serde(skip_serializing_if = "Hidden::is_hidden")]
    pub carrier: Hidden<String>,
    pub ddi: Option<String>,
    #[serde(skip_serializing_if = "Hidden::is_hidden")]
    pub ddi_provider: Hidden<String>,
    #[serde(skip_serializing_if = "Hidden::is_hidden")]
    pub source_ip: Hidden<String>,
    pub endpoint_type: Option<String>,
    pub endpoint_id: Option<String>,
    #[serde(skip_serializing_if = "Hidden::is_hidden")]
    pub cost: Hidden<String>,
    pub price: Option<String>,
    pub rating_error: Option<String>,
    pub destination_name: Option<String>,
    #[serde(skip_serializing_if = "Hidden::is_hidden")]
    pub rating_plan: Hidden<String>,
    pub created_at: String,
    pub updated_at: String,
    /// The CDR source the call came from; none when posted to the API.
    pub source: Option<String>,
    pub disposition: String,
    /// Q.850 cause, when the record had one.
    pub hangup_cause: Option<i32>,
    /// ISO alpha-2 of the external party's number; none for extensions and unknown ones.
    pub destination_country: Option<String>,
}

/// A field some roles may not see: `Hidden` is left out of the JSON entirely.
#[derive(Debug)]
pub enum Hidden<T> {
    Shown(Option<T>),
    Hidden,
}

impl<T> Hidden<T> {
    fn is_hidden(&self) -> bool {
        matches!(self, Hidden::Hidden)
    }
    fn of(value: Option<T>, show: bool) -> Hidden<T> {
        if show {
            Hidden::Shown(value)
        } else {
            Hidden::Hidden
        }
    }
}

impl<T: Serialize> Serialize for Hidden<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Hidden::Shown(v) => v.serialize(s),
            Hidden::Hidden => s.serialize_none(),
        }
    }
}

impl CallView {
    fn new(c: BillableCall, full: bool) -> CallView {
        CallView {
            id: c.id,
            brand: c.brand_id,
            callid: c.callid,
            start_time: ts(c.start_time),
            duration: c.duration,
            billed_seconds: c.billed_seconds,
            caller: c.caller,
            callee: c.callee,
            direction: c.direction,
            client: c.client_id,
            carrier: Hidden::of(c.carrier_id, full),
            ddi: c.ddi_id,
            ddi_provider: Hidden::of(c.ddi_provider_id, full),
            source_ip: Hidden::of(c.source_ip, full),
            endpoint_type: c.endpoint_type,
            endpoint_id: c.endpoint_id,
            cost: Hidden::of(c.cost, full),
            price: c.price,
            rating_error: c.rating_error,
            destination_name: c.destination_name,
            rating_plan: Hidden::of(c.rating_plan_id, full),
            created_at: ts(c.created_at),
            updated_at: ts(c.updated_at),
            source: c.source_id,
            disposition: c.disposition,
            hangup_cause: c.hangup_cause,
            destination_country: c.destination_country,
        }
    }
}

/// The brand an ingestion or rerate works on: `?brand=` (a platform administrator's
/// choice; everybody else writes to their own).
fn brand_for_write(caller: &Caller, req: &HttpRequest) -> AppResult<BrandId> {
    caller.require(&[Role::Platform, Role::Brand])?;
    let params = ListParams::parse(req, &["brand"], &[])?;
    calls::brand_to_write(caller, params.filter("brand"))
}

async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let brand = brand_for_write(&caller, &req)?;
    let format = body_format(&req)?;
    // A body, its parsed rows and their validation take up to a few times
    // CALLCSV_MAX_BODY_BYTES: a slot of the ingestion limit is taken before reading it.
    let permit = match state.ingestions.acquire(brand.as_str()) {
        Ok(permit) => permit,
        Err(e) => return Ok(e.response_retry_after(crate::limits::RETRY_AFTER_SECONDS)),
    };
    let body = read_body(payload, state.config.max_body_bytes).await?;
    let plans = state.plans.clone();
    let summary = db::run(&state.pool, move |conn| {
        let _permit = permit;
        ingest::ingest_body(conn, &plans, &brand, format, body)
    })
    .await?;
    tracing::info!(
        accepted = summary.accepted,
        duplicates = summary.duplicates,
        rejected = summary.rejected,
        "ingested calls"
    );
    Ok(ok(&summary))
}

/// The body's format from its Content-Type (415 for anything but JSON and CSV).
fn body_format(req: &HttpRequest) -> AppResult<Format> {
    match media_type(req).as_str() {
        "text/csv" => Ok(Format::Csv),
        "application/json" => Ok(Format::Json),
        _ => Err(AppError::new(
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send application/json (an object or an array) or text/csv",
        )),
    }
}

pub(crate) fn wants_csv(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| {
            accept
                .split(',')
                .any(|part| part.trim().starts_with("text/csv"))
        })
}

async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let params = ListParams::parse(&req, read::FILTERS, read::ORDER)?;
    let filter = read::filter(&caller, &params)?;
    if wants_csv(&req) {
        return Ok(report::download::calls_csv(&state, &caller, filter));
    }
    let full = read::sees_costs(&caller);
    paged(
        &state.pool,
        &req,
        params,
        move |conn, params| read::list(conn, &filter, params),
        |c| CallView::new(c, full),
    )
    .await
}

async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let (id, asking) = (CallId::parse(&id)?, caller.clone());
    let call = db::run(&state.pool, move |conn| read::find(conn, &asking, &id)).await?;
    Ok(ok(&CallView::new(call, read::sees_costs(&caller))))
}

async fn rerate_calls(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<Value>,
) -> AppResult<HttpResponse> {
    let brand = brand_for_write(&caller, &req)?;
    let input: RerateInput = parse_body(body.into_inner(), &[])?;
    let plans = state.plans.clone();
    let summary = db::run(&state.pool, move |conn| {
        rerate::rerate_range(conn, &plans, &brand, input)
    })
    .await?;
    Ok(ok(&summary))
}
