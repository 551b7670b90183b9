//! `/billable_calls`: ingestion (JSON or CSV), reading (JSON pages or a CSV stream of every
//! matching row), and rerating. Client administrators read their own calls only, without
//! cost, carrier or provider details.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::{
    ok, paged, parse_body, parse_ref, parse_time, read_body, resource, ts, ListParams,
};
use crate::auth::{Caller, Role};
use crate::calls::{ingest, input, rerate};
use crate::db::billable_calls::{self as calls, BillableCall, Filter};
use crate::db::{self, DbPool};
use crate::error::{AppError, AppResult};
use crate::ids::{BrandId, CallId, CarrierId, ClientId, Id};
use crate::limits::Permit;
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

/// Output columns, in CSV order; the client-role view drops [`HIDDEN_FROM_CLIENTS`].
const COLUMNS: &[&str] = &[
    "id",
    "brand",
    "callid",
    "startTime",
    "duration",
    "billedSeconds",
    "caller",
    "callee",
    "direction",
    "client",
    "carrier",
    "ddi",
    "ddiProvider",
    "sourceIp",
    "endpointType",
    "endpointId",
    "cost",
    "price",
    "ratingError",
    "destinationName",
    "ratingPlan",
    "createdAt",
    "updatedAt",
];
/// What client administrators may not see: the operator's costs and suppliers, and the
/// rating plan (rating plans are closed to them).
const HIDDEN_FROM_CLIENTS: &[&str] = &["cost", "carrier", "ddiProvider", "sourceIp", "ratingPlan"];

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
        }
    }
}

/// The brand an ingestion or rerate works on: the operator's own, or `?brand=` for
/// platform administrators.
fn brand_for_write(caller: &Caller, req: &HttpRequest) -> AppResult<String> {
    caller.require(&[Role::Platform, Role::Brand])?;
    let params = ListParams::parse(req, &["brand"], &[])?;
    let brand = caller.write_brand(params.filter("brand"))?;
    parse_ref("brand", &brand)
}

async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let brand = brand_for_write(&caller, &req)?;
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let is_csv = match content_type.as_str() {
        "text/csv" => true,
        "application/json" => false,
        _ => {
            return Err(AppError::new(
                actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send application/json (an object or an array) or text/csv",
            ))
        }
    };
    // A body, its parsed rows and their validation take up to a few times
    // CALLCSV_MAX_BODY_BYTES: a slot of the ingestion limit is taken before reading it.
    let permit = match state.ingestions.acquire(&brand) {
        Ok(permit) => permit,
        Err(e) => return Ok(e.response_retry_after(crate::limits::RETRY_AFTER_SECONDS)),
    };
    let body = read_body(payload, state.config.max_body_bytes).await?;
    let plans = state.plans.clone();
    let summary = db::run(&state.pool, move |conn| {
        let _permit = permit;
        let rows = if is_csv {
            input::parse_csv(&body)?
        } else {
            input::parse_json(&body)?
        };
        drop(body);
        if !db::brands::exists(conn, &BrandId::from_db(brand.clone()))? {
            return Err(AppError::invalid_field("brand", "not found"));
        }
        ingest::ingest(conn, &plans, &brand, rows)
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

const FILTERS: &[&str] = &[
    "startTime[after]",
    "startTime[strictly_before]",
    "direction",
    "brand",
    "client",
    "carrier",
    "ddi",
    "ddiProvider",
    "endpointType",
    "endpointId",
    "callid",
];

/// The read filter from the query, narrowed to what the caller may see.
fn read_filter(caller: &Caller, params: &ListParams) -> AppResult<Filter> {
    let mut f = Filter {
        brand: params.filter_id("brand")?,
        client: params.filter_id("client")?,
        after: params.filter_time("startTime[after]")?,
        strictly_before: params.filter_time("startTime[strictly_before]")?,
        direction: params.filter_choice("direction", &["inbound", "outbound"])?,
        carrier: params.filter_id("carrier")?,
        ddi: params.filter_id("ddi")?,
        ddi_provider: params.filter_id("ddiProvider")?,
        endpoint_type: params.filter_choice("endpointType", crate::tenancy::ENDPOINT_TYPES)?,
        endpoint_id: params.filter_id("endpointId")?,
        callid: params.filter("callid").map(str::to_string),
        client_type: None,
    };
    if caller.role == Role::Client && (f.carrier.is_some() || f.ddi_provider.is_some()) {
        return Err(AppError::invalid_query(
            "carrier and ddiProvider filters are not available to client administrators",
        ));
    }
    let scope = caller.list_scope(f.brand.take(), f.client.take());
    (f.brand, f.client) = (scope.brand, scope.client);
    if scope.nothing {
        // Outside the caller's tenant nothing matches: an id that can never exist.
        f.brand = Some(String::from("-"));
    }
    Ok(f)
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

async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let params = ListParams::parse(&req, FILTERS, &["startTime", "callid", "duration"])?;
    let filter = read_filter(&caller, &params)?;
    let full = caller.role != Role::Client;
    if wants_csv(&req) {
        // One slot of the stream limit per brand (platform-wide streams share one key).
        let tenant = filter.brand.clone().unwrap_or_else(|| "*".into());
        let permit = match state.streams.acquire(&tenant) {
            Ok(permit) => permit,
            Err(e) => return Ok(e.response_retry_after(crate::limits::RETRY_AFTER_SECONDS)),
        };
        return Ok(stream_csv(state.pool.clone(), filter, full, permit));
    }
    paged(
        &state.pool,
        &req,
        params,
        move |conn, params| calls::list(conn, &filter, params),
        |c| CallView::new(c, full),
    )
    .await
}

/// Rows fetched per chunk of the CSV stream: about 450 kB encoded, the most a slow reader's
/// stream holds at once (see `report::paced`).
const STREAM_CHUNK_ROWS: i64 = 1000;

/// The CSV stream's chunks: the header, then keyset chunks of the matching calls.
struct CallChunks {
    filter: Filter,
    columns: Vec<&'static str>,
    cursor: Option<calls::Cursor>,
    header_sent: bool,
}

impl report::paced::Chunks for CallChunks {
    fn next_chunk(&mut self, conn: &mut db::DbConnection) -> AppResult<Option<Vec<u8>>> {
        let mut writer = csv::Writer::from_writer(Vec::with_capacity(64 * 1024));
        let csv_error = |e: csv::Error| AppError::internal(format!("CSV: {e}"));
        if !self.header_sent {
            self.header_sent = true;
            writer.write_record(&self.columns).map_err(csv_error)?;
            return writer
                .into_inner()
                .map(Some)
                .map_err(|e| AppError::internal(e.to_string()));
        }
        let chunk = calls::next_chunk(conn, &self.filter, self.cursor.as_ref(), STREAM_CHUNK_ROWS)?;
        let Some(last) = chunk.last() else {
            return Ok(None);
        };
        self.cursor = Some((last.start_time, last.callid.clone(), last.id.clone()));
        for call in &chunk {
            writer
                .write_record(csv_cells(call, &self.columns))
                .map_err(csv_error)?;
        }
        writer
            .into_inner()
            .map(Some)
            .map_err(|e| AppError::internal(e.to_string()))
    }
}

/// Streams every matching call as CSV, one keyset chunk at a time as the client reads
/// (see `report::paced`): memory per stream stays at one chunk however slow the reader,
/// and the permit (a slot of the concurrent-stream limit) is held until the body ends.
fn stream_csv(pool: DbPool, filter: Filter, full: bool, permit: Permit) -> HttpResponse {
    let columns: Vec<&'static str> = COLUMNS
        .iter()
        .copied()
        .filter(|c| full || !HIDDEN_FROM_CLIENTS.contains(c))
        .collect();
    let chunks = CallChunks {
        filter,
        columns,
        cursor: None,
        header_sent: false,
    };
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"billable_calls.csv\"",
        ))
        .streaming(report::paced::body(pool, chunks, Some(permit)))
}

fn csv_cells(c: &BillableCall, columns: &[&str]) -> Vec<String> {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    columns
        .iter()
        .map(|column| match *column {
            "id" => c.id.clone(),
            "brand" => c.brand_id.clone(),
            "callid" => c.callid.clone(),
            "startTime" => ts(c.start_time),
            "duration" => c.duration.clone(),
            "billedSeconds" => c.billed_seconds.to_string(),
            "caller" => c.caller.clone(),
            "callee" => c.callee.clone(),
            "direction" => c.direction.clone(),
            "client" => c.client_id.clone(),
            "carrier" => opt(&c.carrier_id),
            "ddi" => opt(&c.ddi_id),
            "ddiProvider" => opt(&c.ddi_provider_id),
            "sourceIp" => opt(&c.source_ip),
            "endpointType" => opt(&c.endpoint_type),
            "endpointId" => opt(&c.endpoint_id),
            "cost" => opt(&c.cost),
            "price" => opt(&c.price),
            "ratingError" => opt(&c.rating_error),
            "destinationName" => opt(&c.destination_name),
            "ratingPlan" => opt(&c.rating_plan_id),
            "createdAt" => ts(c.created_at),
            "updatedAt" => ts(c.updated_at),
            _ => String::new(),
        })
        .collect()
}

async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = CallId::parse(&id)?;
    let call = db::run(&state.pool, move |conn| calls::find(conn, &id)).await?;
    let call = call
        .filter(|c| caller.sees_client(&c.brand_id, &c.client_id))
        .ok_or_else(AppError::not_found)?;
    Ok(ok(&CallView::new(call, caller.role != Role::Client)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RerateInput {
    #[serde(rename = "startTime[after]")]
    after: String,
    #[serde(rename = "startTime[strictly_before]")]
    strictly_before: String,
    client: Option<String>,
    carrier: Option<String>,
}

async fn rerate_calls(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<Value>,
) -> AppResult<HttpResponse> {
    let brand = brand_for_write(&caller, &req)?;
    let input: RerateInput = parse_body(body.into_inner(), &[])?;
    let after = parse_time(&input.after).ok_or_else(|| {
        AppError::invalid_field("startTime[after]", "not an RFC 3339 time with an offset")
    })?;
    let before = parse_time(&input.strictly_before).ok_or_else(|| {
        AppError::invalid_field(
            "startTime[strictly_before]",
            "not an RFC 3339 time with an offset",
        )
    })?;
    if before <= after {
        return Err(AppError::invalid_field(
            "startTime[strictly_before]",
            "must be later than startTime[after]",
        ));
    }
    let client = input
        .client
        .as_deref()
        .map(|c| parse_ref("client", c))
        .transpose()?;
    let carrier = input
        .carrier
        .as_deref()
        .map(|c| parse_ref("carrier", c))
        .transpose()?;
    let plans = state.plans.clone();
    let summary = db::run(&state.pool, move |conn| {
        if let Some(c) = &client {
            if db::clients::find(conn, &ClientId::from_db(c.clone()))?
                .filter(|x| x.brand_id == brand)
                .is_none()
            {
                return Err(AppError::invalid_field("client", "not found"));
            }
        }
        if let Some(c) = &carrier {
            if db::carriers::find(conn, &CarrierId::from_db(c.clone()))?
                .filter(|x| x.brand_id == brand)
                .is_none()
            {
                return Err(AppError::invalid_field("carrier", "not found"));
            }
        }
        let filter = Filter {
            brand: Some(brand),
            client,
            carrier,
            after: Some(after),
            strictly_before: Some(before),
            ..Default::default()
        };
        rerate::rerate(conn, &plans, &filter)
    })
    .await?;
    Ok(ok(&summary))
}
