//! `/rating_plans` and `/rating_plans/{id}/rates`: a brand's tariffs and their rate tables
//! (shared/spec/rating.md). Rate imports (JSON array or CSV) are all-or-nothing: the rows
//! are validated with `rating::RawRateRow`, the resulting table with `rating::Plan`, then
//! stored in one transaction that bumps the plan's `rates_version`. Brand business only: a
//! client administrator sees no plan (403 on the collection, 404 on items).

use std::collections::BTreeMap;
use std::fmt;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::{
    check_name, created, no_content, ok, page, parse_body, parse_id, parse_ref, patched, read_body,
    resource, ts, valid_currency, valid_timezone, ListParams,
};
use crate::auth::{Caller, Role};
use crate::db::rating_plans::{self as plans, Rate, RatingPlan};
use crate::db::{self, DbConnection};
use crate::error::{AppError, AppResult, Validator};
use crate::ids::{BrandId, Id};
use crate::rating::{Plan, PlanError, PlanSettings, RateRow, RawRateRow, RoundingMethod};
use crate::AppState;

/// Most rate rows one import may carry.
pub const MAX_IMPORT_ROWS: usize = 100_000;

/// The rate fields of the API, in CSV column order (`id` is accepted on import and ignored,
/// so an exported table can be sent back as it is).
const RATE_FIELDS: &[&str] = &[
    "prefix",
    "destinationName",
    "connectFee",
    "rate",
    "rateUnit",
    "rateIncrement",
    "groupIntervalStart",
    "weekdays",
    "timeIn",
];
const REQUIRED_COLUMNS: &[&str] = &["prefix", "destinationName", "rate"];

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/rating_plans")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    );
    cfg.service(
        resource("/rating_plans/{id}")
            .route(web::get().to(get))
            .route(web::put().to(replace))
            .route(web::patch().to(patch))
            .route(web::delete().to(delete)),
    );
    cfg.service(
        resource("/rating_plans/{id}/rates")
            .route(web::get().to(list_rates))
            .route(web::post().to(append_rates))
            .route(web::put().to(replace_rates)),
    );
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

/// Output fields a body may carry back but that are not input.
const READ_ONLY: &[&str] = &["rateCount"];

impl PlanView {
    fn new(p: RatingPlan, rate_count: i64) -> PlanView {
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

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlanInput {
    pub brand: Option<String>,
    pub name: String,
    pub currency: Option<String>,
    pub rounding_method: Option<String>,
    pub rounding_decimals: Option<i64>,
    pub timezone: Option<String>,
}

impl PlanInput {
    /// Validates against the brand (whose currency and timezone are the defaults) and
    /// builds the row.
    fn into_row(
        self,
        conn: &mut DbConnection,
        brand_id: &str,
        id: String,
        created_at: chrono::NaiveDateTime,
    ) -> AppResult<RatingPlan> {
        let brand = db::brands::find(conn, &BrandId::from_db(brand_id.to_string()))?
            .ok_or_else(|| AppError::invalid_field("brand", "not found"))?;
        let mut v = Validator::new();
        check_name(&mut v, "name", &self.name, 100);
        let currency = self.currency.unwrap_or(brand.currency);
        v.check(
            valid_currency(&currency),
            "currency",
            "an ISO 4217 code (e.g. EUR)",
        );
        let rounding_method = match self.rounding_method.as_deref() {
            None => RoundingMethod::default(),
            Some(text) => text.parse().unwrap_or_else(|_| {
                v.error("roundingMethod", "one of up, down, middle");
                RoundingMethod::default()
            }),
        };
        let rounding_decimals = self.rounding_decimals.unwrap_or(4);
        v.check(
            (0..=6).contains(&rounding_decimals),
            "roundingDecimals",
            "a whole number from 0 to 6",
        );
        let timezone = self.timezone.unwrap_or(brand.timezone);
        v.check(
            valid_timezone(&timezone),
            "timezone",
            "not an IANA time zone (e.g. Europe/Madrid)",
        );
        v.finish()?;
        Ok(RatingPlan {
            id,
            brand_id: brand.id,
            name: self.name.trim().to_string(),
            currency,
            rounding_method: rounding_method.as_str().to_string(),
            rounding_decimals: rounding_decimals as i32,
            timezone,
            rates_version: 1,
            created_at,
            updated_at: db::now(),
        })
    }
}

async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    caller.require(&[Role::Platform, Role::Brand])?;
    let params = ListParams::parse(&req, &["brand", "name"], &["name", "createdAt"])?;
    let scope = caller.list_scope(params.filter_id("brand")?, None);
    let (brand, nothing) = (scope.brand, scope.nothing);
    let filter = plans::Filter {
        brand,
        name: params.filter("name").map(str::to_string),
        nothing,
    };
    let (params, total, views) = db::run(&state.pool, move |conn| {
        let (total, rows) = plans::list(conn, &filter, &params)?;
        let ids: Vec<String> = rows.iter().map(|p| p.id.clone()).collect();
        let counts = plans::rate_counts(conn, &ids)?;
        let views: Vec<PlanView> = rows
            .into_iter()
            .map(|p| {
                let count = counts.get(&p.id).copied().unwrap_or(0);
                PlanView::new(p, count)
            })
            .collect();
        Ok((params, total, views))
    })
    .await?;
    Ok(page(&req, &params, total, views))
}

/// Loads a plan the caller may see; anything else (including every plan, for a client
/// administrator) is a 404.
async fn visible(state: &AppState, caller: &Caller, id: &str) -> AppResult<RatingPlan> {
    let id = parse_id(id)?;
    if caller.role == Role::Client {
        return Err(AppError::not_found());
    }
    let found = db::run(&state.pool, move |conn| plans::find(conn, &id)).await?;
    found
        .filter(|p| caller.sees_brand(&p.brand_id))
        .ok_or_else(AppError::not_found)
}

/// The view of a stored plan, with its current rate count.
fn view_of(conn: &mut DbConnection, plan: RatingPlan) -> AppResult<PlanView> {
    let count = plans::rate_counts(conn, std::slice::from_ref(&plan.id))?
        .get(&plan.id)
        .copied()
        .unwrap_or(0);
    Ok(PlanView::new(plan, count))
}

async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let plan = visible(&state, &caller, &id).await?;
    let view = db::run(&state.pool, move |conn| view_of(conn, plan)).await?;
    Ok(ok(&view))
}

async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<Value>,
) -> AppResult<HttpResponse> {
    caller.require(&[Role::Platform, Role::Brand])?;
    let input: PlanInput = parse_body(body.into_inner(), READ_ONLY)?;
    let brand = caller.write_brand(input.brand.as_deref())?;
    let brand = parse_ref("brand", &brand)?;
    let row = db::run(&state.pool, move |conn| {
        let row = input.into_row(conn, &brand, db::new_id(), db::now())?;
        plans::insert(conn, &row)?;
        Ok(row)
    })
    .await?;
    Ok(created(
        format!("/rating_plans/{}", row.id),
        &PlanView::new(row, 0),
    ))
}

/// PUT and PATCH end here; `visible` has already turned client administrators away.
async fn save(state: &AppState, current: RatingPlan, input: PlanInput) -> AppResult<HttpResponse> {
    if input.brand.as_ref().is_some_and(|b| *b != current.brand_id) {
        return Err(AppError::invalid_field(
            "brand",
            "a rating plan cannot move to another brand",
        ));
    }
    let view = db::run(&state.pool, move |conn| {
        let row = input.into_row(conn, &current.brand_id, current.id, current.created_at)?;
        let stored = plans::update(conn, &row)?;
        view_of(conn, stored)
    })
    .await?;
    Ok(ok(&view))
}

async fn replace(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> AppResult<HttpResponse> {
    let current = visible(&state, &caller, &id).await?;
    let input = parse_body(body.into_inner(), READ_ONLY)?;
    save(&state, current, input).await
}

async fn patch(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> AppResult<HttpResponse> {
    let current = visible(&state, &caller, &id).await?;
    // The count only feeds the view that the patch is merged into; it is dropped again.
    let input = patched(
        &PlanView::new(current.clone(), 0),
        body.into_inner(),
        READ_ONLY,
    )?;
    save(&state, current, input).await
}

async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let current = visible(&state, &caller, &id).await?;
    let deleted = db::run(&state.pool, move |conn| {
        db::transaction(conn, |conn| {
            let users = plans::profile_count(conn, &current.id)?;
            if users > 0 {
                return Err(AppError::conflict(format!(
                    "the rating plan is used by {users} rating profile(s); delete or change them first"
                )));
            }
            plans::delete(conn, &current.id)
        })
    })
    .await?;
    if deleted == 0 {
        return Err(AppError::not_found()); // deleted by a concurrent request
    }
    Ok(no_content())
}

// ---------------------------------------------------------------------------------------
// Rates: reading

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

/// `?prefix=` as stored digits. An unescaped `+` in a query string decodes to a space, so
/// `?prefix=+44` arrives as `" 44"`: both forms mean prefix `44`.
fn prefix_filter(params: &ListParams) -> AppResult<Option<String>> {
    let Some(raw) = params.filter("prefix") else {
        return Ok(None);
    };
    let digits = raw.strip_prefix(['+', ' ']).unwrap_or(raw);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::invalid_query(format!(
            "prefix: {raw:?} is not digits with an optional leading +"
        )));
    }
    Ok(Some(digits.to_string()))
}

/// `GET /rating_plans/{id}/rates`: a page of JSON, or with `Accept: text/csv` every
/// matching row as CSV in the import format (so it can be edited and sent back).
async fn list_rates(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let plan = visible(&state, &caller, &id).await?;
    let params = ListParams::parse(&req, &["prefix"], &[])?;
    let prefix = prefix_filter(&params)?;
    let csv = wants_csv(&req);
    let (params, (total, rows)) = db::run(&state.pool, move |conn| {
        let page = (!csv).then_some(&params);
        let result = plans::list_rates(conn, &plan.id, prefix.as_deref(), page)?;
        Ok((params, result))
    })
    .await?;
    if csv {
        return rates_csv(total, rows);
    }
    let views: Vec<RateView> = rows.into_iter().map(RateView::from).collect();
    Ok(page(&req, &params, total, views))
}

fn rates_csv(total: i64, rows: Vec<Rate>) -> AppResult<HttpResponse> {
    let mut writer = csv::Writer::from_writer(Vec::with_capacity(64 * (rows.len() + 1)));
    let mut header = vec!["id"];
    header.extend(RATE_FIELDS);
    writer.write_record(&header).map_err(AppError::internal)?;
    for r in rows {
        let numbers =
            [r.rate_unit, r.rate_increment, r.group_interval_start].map(|n| n.to_string());
        writer
            .write_record([
                &r.id,
                &r.prefix,
                &r.destination_name,
                &r.connect_fee,
                &r.rate,
                &numbers[0],
                &numbers[1],
                &numbers[2],
                &r.weekdays,
                &r.time_in,
            ])
            .map_err(AppError::internal)?;
    }
    let body = writer.into_inner().map_err(AppError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("X-Total-Count", total.to_string()))
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"rates.csv\"",
        ))
        .body(body))
}

// ---------------------------------------------------------------------------------------
// Rates: importing

/// Where an imported row came from, for error messages: the physical line of a CSV body
/// (the header is line 1) or the 1-based position in a JSON array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Line(u64),
    Row(usize),
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Line(n) => write!(f, "line {n}"),
            Place::Row(n) => write!(f, "row {n}"),
        }
    }
}

/// The 422 for one bad row: `message` is `"line 17: rate: not a decimal"`, and `fields`
/// holds the place and the field (`{"line": "17", "rate": "not a decimal"}`; problems of
/// the row as a whole go under `rates`).
fn row_error(place: Place, problem: &str) -> AppError {
    let (field, detail) = match problem.split_once(": ") {
        Some((field, detail)) if RATE_FIELDS.contains(&field) => (field, detail),
        _ => ("rates", problem),
    };
    let (key, number) = match place {
        Place::Line(n) => ("line", n.to_string()),
        Place::Row(n) => ("row", n.to_string()),
    };
    let mut fields = BTreeMap::new();
    fields.insert(key.to_string(), number);
    fields.insert(field.to_string(), detail.to_string());
    AppError {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        code: "validation_failed",
        message: format!("{place}: {problem}"),
        fields,
    }
}

fn too_many_rows() -> AppError {
    AppError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("at most {MAX_IMPORT_ROWS} rates per request"),
    )
}

/// Sets a field of a raw row by its API name; `false` for an unknown name.
fn set_field(row: &mut RawRateRow, name: &str, value: Option<String>) -> bool {
    let slot = match name {
        "prefix" => &mut row.prefix,
        "destinationName" => &mut row.destination_name,
        "connectFee" => &mut row.connect_fee,
        "rate" => &mut row.rate,
        "rateUnit" => &mut row.rate_unit,
        "rateIncrement" => &mut row.rate_increment,
        "groupIntervalStart" => &mut row.group_interval_start,
        "weekdays" => &mut row.weekdays,
        "timeIn" => &mut row.time_in,
        "id" => return true, // server-owned: ignored, so an export can be re-imported
        _ => return false,
    };
    *slot = value;
    true
}

/// A JSON array of row objects. Values may be strings or numbers; numbers become their
/// text (as serde_json reads them: past ~15 significant digits a float is not exact, which
/// is why the API documents money as strings).
fn parse_json_rows(body: &[u8]) -> AppResult<Vec<(Place, RawRateRow)>> {
    let parsed: Value = serde_json::from_slice(body).map_err(|e| {
        AppError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("malformed JSON: {e}"),
        )
    })?;
    let Value::Array(items) = parsed else {
        return Err(AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "the body must be a JSON array of rate objects",
        ));
    };
    if items.len() > MAX_IMPORT_ROWS {
        return Err(too_many_rows());
    }
    let mut rows = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let place = Place::Row(index + 1);
        let Value::Object(map) = item else {
            return Err(row_error(place, "a rate must be a JSON object"));
        };
        let mut row = RawRateRow::default();
        for (key, value) in map {
            let text = match value {
                Value::Null => None,
                Value::String(s) => Some(s),
                Value::Number(n) => Some(n.to_string()),
                _ => {
                    return Err(row_error(
                        place,
                        &format!("{key}: must be a string or a number"),
                    ))
                }
            };
            if !set_field(&mut row, &key, text) {
                return Err(row_error(
                    place,
                    &format!("unknown field {key:?} (fields: {})", RATE_FIELDS.join(", ")),
                ));
            }
        }
        rows.push((place, row));
    }
    Ok(rows)
}

/// CSV with a header row naming the columns (any order, any subset of the rate fields
/// that includes the required ones). Places are physical lines, so a quoted cell spanning
/// lines does not shift the numbers of the rows after it.
fn parse_csv_rows(body: &[u8]) -> AppResult<Vec<(Place, RawRateRow)>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(body);
    let header_line = Place::Line(1);
    let headers = reader
        .headers()
        .map_err(|e| row_error(header_line, &format!("unreadable header row: {e}")))?
        .clone();
    if headers.iter().all(str::is_empty) {
        return Err(row_error(
            header_line,
            &format!(
                "a header row naming the columns is required ({})",
                RATE_FIELDS.join(", ")
            ),
        ));
    }
    for (i, name) in headers.iter().enumerate() {
        if name != "id" && !RATE_FIELDS.contains(&name) {
            return Err(row_error(
                header_line,
                &format!(
                    "unknown column {name:?} (columns: {})",
                    RATE_FIELDS.join(", ")
                ),
            ));
        }
        if headers.iter().take(i).any(|earlier| earlier == name) {
            return Err(row_error(
                header_line,
                &format!("column {name:?} given twice"),
            ));
        }
    }
    for required in REQUIRED_COLUMNS {
        if !headers.iter().any(|name| name == *required) {
            return Err(row_error(
                header_line,
                &format!("missing column {required:?}"),
            ));
        }
    }
    let mut lines = LineCounter::new(body);
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| lines.line_at(p.byte()));
            row_error(Place::Line(line), &format!("unreadable CSV: {e}"))
        })?;
        // A row of empty cells (",,,", as spreadsheets export) holds no rate.
        if record.iter().all(str::is_empty) {
            continue;
        }
        let place = Place::Line(record.position().map_or(0, |p| lines.line_at(p.byte())));
        if rows.len() == MAX_IMPORT_ROWS {
            return Err(too_many_rows());
        }
        if record.len() != headers.len() {
            return Err(row_error(
                place,
                &format!(
                    "{} cells where the header has {}",
                    record.len(),
                    headers.len()
                ),
            ));
        }
        let mut row = RawRateRow::default();
        for (name, cell) in headers.iter().zip(record.iter()) {
            set_field(&mut row, name, Some(cell.to_string()));
        }
        rows.push((place, row));
    }
    Ok(rows)
}

/// Physical line numbers of CSV records from their byte offsets. (The csv crate's own
/// line number of a record counts from before the blank lines it skipped.) Offsets only
/// grow, so the whole body is scanned once.
struct LineCounter<'a> {
    body: &'a [u8],
    offset: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(body: &'a [u8]) -> LineCounter<'a> {
        LineCounter {
            body,
            offset: 0,
            line: 1,
        }
    }

    /// The line of the first character at or after `start` that is not a line break.
    fn line_at(&mut self, start: u64) -> u64 {
        let mut start = usize::try_from(start)
            .unwrap_or(usize::MAX)
            .min(self.body.len());
        while start < self.body.len() && matches!(self.body[start], b'\n' | b'\r') {
            start += 1;
        }
        if start > self.offset {
            let breaks = self.body[self.offset..start]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            self.line += breaks as u64;
            self.offset = start;
        }
        self.line
    }
}

/// One imported row, validated, with the place it came from.
struct ImportedRow {
    place: Place,
    row: RateRow,
}

/// Validates every row (the first bad one fails the import) and checks that it fits the
/// table's integer columns.
fn validate_rows(raw: Vec<(Place, RawRateRow)>) -> AppResult<Vec<ImportedRow>> {
    raw.into_iter()
        .map(|(place, raw)| {
            let row = raw.validate().map_err(|e| row_error(place, &e))?;
            if i32::try_from(row.group_interval_start).is_err() {
                return Err(row_error(
                    place,
                    &format!("groupIntervalStart: at most {}", i32::MAX),
                ));
            }
            Ok(ImportedRow { place, row })
        })
        .collect()
}

/// The stored form of a validated row (see [`Rate`]).
fn stored_rate(plan_id: &str, row: &RateRow) -> Rate {
    Rate {
        id: db::new_id(),
        rating_plan_id: plan_id.to_string(),
        prefix: row.prefix.clone(),
        destination_name: row.destination_name.clone(),
        connect_fee: row.connect_fee.to_string(),
        rate: row.rate.to_string(),
        // Bounded by validation: units and increments by 86 400, the slot start above.
        rate_unit: row.rate_unit as i32,
        rate_increment: row.rate_increment as i32,
        group_interval_start: row.group_interval_start as i32,
        weekdays: row.weekdays.to_string(),
        time_in: row.time_in.format("%H:%M:%S").to_string(),
    }
}

/// A stored rate read back as a validated row (stored rows passed validation on import).
fn parsed_rate(plan_id: &str, r: Rate) -> AppResult<RateRow> {
    RawRateRow {
        prefix: Some(r.prefix),
        destination_name: Some(r.destination_name),
        connect_fee: Some(r.connect_fee),
        rate: Some(r.rate),
        rate_unit: Some(r.rate_unit.to_string()),
        rate_increment: Some(r.rate_increment.to_string()),
        group_interval_start: Some(r.group_interval_start.to_string()),
        weekdays: Some(r.weekdays),
        time_in: Some(r.time_in),
    }
    .validate()
    .map_err(|e| AppError::internal(format!("rating plan {plan_id}: stored rate {}: {e}", r.id)))
}

fn settings_of(plan: &RatingPlan) -> AppResult<PlanSettings> {
    let bad = |what: &str| AppError::internal(format!("rating plan {}: stored {what}", plan.id));
    Ok(PlanSettings {
        rounding_method: plan
            .rounding_method
            .parse()
            .map_err(|_| bad("roundingMethod"))?,
        rounding_decimals: u32::try_from(plan.rounding_decimals)
            .map_err(|_| bad("roundingDecimals"))?,
        timezone: plan.timezone.parse().map_err(|_| bad("timezone"))?,
    })
}

/// A table-level problem, reported at the imported row it names. Rows `0..kept` of the
/// table checked were already stored (an append); the imported ones follow in order.
fn table_error(e: PlanError, kept: usize, imported: &[Place]) -> AppError {
    match e.row.and_then(|i| i.checked_sub(kept)) {
        Some(i) if i < imported.len() => row_error(imported[i], &e.message),
        _ => AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            format!("the stored rates of the plan: {}", e.message),
        ),
    }
}

#[derive(Debug, Serialize)]
struct ImportSummary {
    imported: usize,
    total: usize,
}

/// The content types an import accepts.
fn is_csv_body(req: &HttpRequest) -> AppResult<bool> {
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
    match content_type.as_str() {
        "text/csv" => Ok(true),
        "application/json" => Ok(false),
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
    import(&state, &caller, &id, &req, payload, false).await
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
    import(&state, &caller, &id, &req, payload, true).await
}

/// The import itself: parse and validate the rows (off the async threads), then in one
/// transaction lock the plan by bumping its version, check the resulting table as a
/// whole, and store it. Any failure leaves the table as it was.
async fn import(
    state: &AppState,
    caller: &Caller,
    id: &str,
    req: &HttpRequest,
    payload: web::Payload,
    replace: bool,
) -> AppResult<HttpResponse> {
    let plan = visible(state, caller, id).await?;
    let csv = is_csv_body(req)?;
    let body = read_body(payload, state.config.max_body_bytes).await?;
    let started = std::time::Instant::now();
    let summary = db::run(&state.pool, move |conn| {
        let raw = if csv {
            parse_csv_rows(&body)?
        } else {
            parse_json_rows(&body)?
        };
        drop(body);
        let imported = validate_rows(raw)?;
        let new_rates: Vec<Rate> = imported
            .iter()
            .map(|r| stored_rate(&plan.id, &r.row))
            .collect();
        let (places, rows): (Vec<Place>, Vec<RateRow>) =
            imported.into_iter().map(|r| (r.place, r.row)).unzip();
        db::transaction(conn, |conn| {
            let plan =
                plans::bump_version(conn, &plan.id, db::now())?.ok_or_else(AppError::not_found)?;
            let mut table = Vec::new();
            if !replace {
                for stored in plans::all_rates(conn, &plan.id)? {
                    table.push(parsed_rate(&plan.id, stored)?);
                }
            }
            let kept = table.len();
            table.extend(rows);
            Plan::new(settings_of(&plan)?, table).map_err(|e| table_error(e, kept, &places))?;
            if replace {
                plans::delete_rates(conn, &plan.id)?;
            }
            plans::insert_rates(conn, &new_rates)?;
            Ok(ImportSummary {
                imported: new_rates.len(),
                total: kept + new_rates.len(),
            })
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_places_are_physical_lines() {
        let body = b"prefix,destinationName,rate\r\n44,UK,0.01\r\n\r\n\"34\",\"Spain\nmainland\",0.02\n,,\n1,US,0.03\n";
        let rows = parse_csv_rows(body).unwrap();
        let places: Vec<Place> = rows.iter().map(|(p, _)| *p).collect();
        assert_eq!(places, [Place::Line(2), Place::Line(4), Place::Line(7)]);
        assert_eq!(
            rows[1].1.destination_name.as_deref(),
            Some("Spain\nmainland")
        );
    }

    #[test]
    fn csv_header_problems_are_line_1() {
        for (body, message) in [
            (
                &b"prefix,colour,rate\n"[..],
                "line 1: unknown column \"colour\"",
            ),
            (
                b"prefix,prefix,destinationName,rate\n",
                "line 1: column \"prefix\" given twice",
            ),
            (
                b"prefix,destinationName\n",
                "line 1: missing column \"rate\"",
            ),
            (b"", "line 1: a header row"),
        ] {
            let e = parse_csv_rows(body).unwrap_err();
            assert!(e.message.starts_with(message), "{}", e.message);
        }
    }

    #[test]
    fn csv_with_byte_order_mark_reads_its_first_column() {
        let rows =
            parse_csv_rows("\u{feff}prefix,destinationName,rate\n44,UK,1\n".as_bytes()).unwrap();
        assert_eq!(rows[0].1.prefix.as_deref(), Some("44"));
    }

    #[test]
    fn json_numbers_become_text_and_places_are_rows() {
        let rows = parse_json_rows(
            br#"[{"prefix":44,"destinationName":"UK","rate":0.012,"rateUnit":60,"id":"x"}]"#,
        )
        .unwrap();
        assert_eq!(rows[0].0, Place::Row(1));
        assert_eq!(rows[0].1.prefix.as_deref(), Some("44"));
        assert_eq!(rows[0].1.rate.as_deref(), Some("0.012"));
        let e =
            parse_json_rows(br#"[{"prefix":"1","destinationName":"x","rate":"1"},{"rate":true}]"#)
                .unwrap_err();
        assert_eq!(e.message, "row 2: rate: must be a string or a number");
        assert_eq!(e.fields.get("row").map(String::as_str), Some("2"));
    }

    #[test]
    fn row_errors_name_the_field_and_place() {
        let e = row_error(Place::Line(17), "rate: not a decimal");
        assert_eq!(e.message, "line 17: rate: not a decimal");
        assert_eq!(
            e.fields.get("rate").map(String::as_str),
            Some("not a decimal")
        );
        assert_eq!(e.fields.get("line").map(String::as_str), Some("17"));
        let e = row_error(Place::Row(3), "prefix 44, weekdays all: something");
        assert!(e.fields.contains_key("rates"), "{:?}", e.fields);
    }
}
