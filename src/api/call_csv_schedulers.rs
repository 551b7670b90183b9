//! `/call_csv_schedulers`: standing orders for a periodic call CSV report (schedulers.md).
//! Brand operators manage every scheduler of their brand; a client administrator manages
//! only its own client's client-level ones. Every field rule of the spec is checked here.

use std::collections::{HashMap, HashSet};

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{Datelike, NaiveDateTime, SubsecRound};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::api::{
    check_name, created, merge_patch, no_content, ok, page, parse_body, parse_ref, parse_time,
    resource, ts, valid_email, ListParams,
};
use crate::auth::{Caller, Role};
use crate::db::{self, schedulers, schedulers::Scheduler, DbConnection};
use crate::error::{AppError, AppResult, Validator};
use crate::ids::{BrandId, CarrierId, ClientId, Id, SchedulerId};
use crate::schedule::{self, Recurrence, Unit, MAX_FREQUENCY};
use crate::tenancy;
use crate::AppState;

/// Created by a brand operator (or platform administrator): the brand's CSV columns.
const BRAND_LEVEL: &str = "brand";
/// Created by a client administrator: the client's CSV columns, managed by that client.
const CLIENT_LEVEL: &str = "client";

/// Output fields the server owns; accepted back in a PUT or PATCH and ignored.
const READ_ONLY: &[&str] = &["level", "timezone", "lastExecution", "lastExecutionError"];

/// Recipients one scheduler may mail.
const MAX_RECIPIENTS: usize = 10;
/// The earliest year `nextExecution` may be set to.
const MIN_NEXT_EXECUTION_YEAR: i32 = 1970;
const MAX_NAME: usize = 40;
const CALL_DIRECTIONS: &[&str] = &["inbound", "outbound"];

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/call_csv_schedulers")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    );
    cfg.service(
        resource("/call_csv_schedulers/{id}")
            .route(web::get().to(get))
            .route(web::put().to(replace))
            .route(web::patch().to(patch))
            .route(web::delete().to(delete)),
    );
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SchedulerView {
    pub id: String,
    pub brand: String,
    pub client: Option<String>,
    pub level: String,
    pub name: String,
    pub client_type: Option<String>,
    pub unit: String,
    pub frequency: i32,
    pub cron: Option<String>,
    pub call_direction: Option<String>,
    pub carrier: Option<String>,
    pub ddi_provider: Option<String>,
    pub ddi: Option<String>,
    pub endpoint_type: Option<String>,
    pub endpoint_id: Option<String>,
    pub email: String,
    pub notification_template: Option<String>,
    pub timezone: String,
    pub next_execution: Option<String>,
    pub last_execution: Option<String>,
    pub last_execution_error: Option<String>,
    pub enabled: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl SchedulerView {
    fn new(s: Scheduler, timezone: String) -> SchedulerView {
        SchedulerView {
            id: s.id,
            brand: s.brand_id,
            client: s.client_id,
            level: s.level,
            name: s.name,
            client_type: s.client_type,
            unit: s.unit,
            frequency: s.frequency,
            cron: s.cron,
            call_direction: s.call_direction,
            carrier: s.carrier_id,
            ddi_provider: s.ddi_provider_id,
            ddi: s.ddi_id,
            endpoint_type: s.endpoint_type,
            endpoint_id: s.endpoint_id,
            email: s.email,
            notification_template: s.notification_template_id,
            timezone,
            next_execution: s.next_execution.map(ts),
            last_execution: s.last_execution.map(ts),
            last_execution_error: s.last_execution_error,
            enabled: s.enabled,
            created_at: ts(s.created_at),
            updated_at: ts(s.updated_at),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SchedulerInput {
    pub brand: Option<String>,
    pub client: Option<String>,
    // Required, but optional here so a missing one is reported in `fields` with the rest.
    pub name: Option<String>,
    pub client_type: Option<String>,
    pub unit: Option<String>,
    pub frequency: Option<i64>,
    pub cron: Option<String>,
    /// Absent → `outbound` (the default); `null` → both directions. Hence the two levels.
    #[serde(default, deserialize_with = "present")]
    pub call_direction: Option<Option<String>>,
    pub carrier: Option<String>,
    pub ddi_provider: Option<String>,
    pub ddi: Option<String>,
    pub endpoint_type: Option<String>,
    pub endpoint_id: Option<String>,
    pub email: Option<String>,
    pub notification_template: Option<String>,
    /// Absent or null → the first execution is computed; a value is kept as given.
    pub next_execution: Option<String>,
    pub enabled: Option<bool>,
}

/// A field that was present in the body (`Some`), holding a value or `null`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// What is settled about a scheduler before its body is read: the brand, the level, and
/// for client-level schedulers the client they belong to.
struct Owner {
    brand_id: String,
    level: &'static str,
    /// Client-level schedulers belong to one client for good.
    client_id: Option<String>,
}

/// The id in a reference field, or `None` after recording why there is none.
fn reference(v: &mut Validator, field: &str, raw: Option<&str>) -> Option<String> {
    let parsed = raw.map(|raw| parse_ref(field, raw).ok());
    if parsed == Some(None) {
        v.error(field, "not a UUID");
    }
    parsed.flatten()
}

/// `email` as stored: the addresses trimmed, without repeats, joined by `,`; `""` (or only
/// blanks) = none. An empty entry in a list (`"a@example.com,"`) is an error, not skipped:
/// it usually means an address went missing.
fn normalise_email(raw: &str) -> Result<String, String> {
    if raw.trim().is_empty() {
        return Ok(String::new());
    }
    if raw.split(',').any(|a| a.trim().is_empty()) {
        return Err("an empty address between commas".into());
    }
    let mut seen = HashSet::new();
    let addresses: Vec<&str> = raw
        .split(',')
        .map(str::trim)
        .filter(|a| seen.insert(a.to_ascii_lowercase()))
        .collect();
    // Counted first, so the message below names at most MAX_RECIPIENTS addresses.
    if addresses.len() > MAX_RECIPIENTS {
        return Err(format!(
            "at most {MAX_RECIPIENTS} addresses, got {}",
            addresses.len()
        ));
    }
    let invalid: Vec<String> = addresses
        .iter()
        .filter(|a| !valid_email(a))
        .map(|a| format!("{a:?}"))
        .collect();
    if !invalid.is_empty() {
        return Err(format!("not a valid address: {}", invalid.join(", ")));
    }
    Ok(addresses.join(","))
}

impl SchedulerInput {
    /// Validates every field against `owner` (every reference must be of its brand, and of
    /// its client where the spec says so) and builds the row. `kept` holds what the body
    /// cannot change: the run history of an existing scheduler.
    fn into_row(
        self,
        conn: &mut DbConnection,
        owner: &Owner,
        kept: Kept,
        max_catch_up: usize,
    ) -> AppResult<(Scheduler, String)> {
        let brand = db::brands::find(conn, &BrandId::from_db(owner.brand_id.clone()))?
            .ok_or_else(|| AppError::invalid_field("brand", "not found"))?;
        let brand_level = owner.level == BRAND_LEVEL;
        let mut v = Validator::new();

        let name = self.name.as_deref().unwrap_or_default().trim().to_string();
        v.check(self.name.is_some(), "name", "required");
        check_name(&mut v, "name", &name, MAX_NAME);

        // The client: fixed for client-level schedulers, free (or none) for brand-level ones.
        let client_id = match (
            &owner.client_id,
            reference(&mut v, "client", self.client.as_deref()),
        ) {
            (Some(fixed), Some(asked)) if asked != *fixed => {
                v.error("client", "a client-level scheduler belongs to its client");
                None
            }
            (Some(fixed), _) => Some(fixed.clone()),
            (None, asked) => asked,
        };
        let client = match &client_id {
            Some(id) => {
                // The same words whether the client is missing or another brand's: never
                // reveal another tenant's ids.
                let found = db::clients::find(conn, &ClientId::from_db(id.clone()))?
                    .filter(|c| c.brand_id == brand.id);
                v.check(found.is_some(), "client", "not found in the brand");
                found
            }
            None => None,
        };

        if let Some(client_type) = &self.client_type {
            if client_id.is_some() {
                v.error(
                    "clientType",
                    "only when no client is set (it filters the clients of the brand)",
                );
            }
            v.check(
                tenancy::CLIENT_TYPES.contains(&client_type.as_str()),
                "clientType",
                format!("one of {}", tenancy::CLIENT_TYPES.join(", ")),
            );
        }

        let unit = match self.unit.as_deref().unwrap_or("month").parse::<Unit>() {
            Ok(unit) => unit,
            Err(e) => {
                v.error("unit", e);
                Unit::Month
            }
        };
        let frequency = self.frequency.unwrap_or(1);
        let frequency_ok = (1..=i64::from(MAX_FREQUENCY)).contains(&frequency);
        v.check(
            frequency_ok,
            "frequency",
            format!("a whole number from 1 to {MAX_FREQUENCY} (0 would never advance)"),
        );
        let cron = self
            .cron
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty());
        if let Some(Err(e)) = cron.as_deref().map(schedule::parse_cron) {
            v.error("cron", e);
        }

        let call_direction = match self.call_direction {
            None => Some("outbound".to_string()),
            Some(direction) => direction,
        };
        if let Some(direction) = &call_direction {
            v.check(
                CALL_DIRECTIONS.contains(&direction.as_str()),
                "callDirection",
                "inbound, outbound, or null for both",
            );
        }
        let outbound = call_direction.as_deref() == Some("outbound");

        // Carrier and DDI provider are the brand's business: brand-level schedulers only.
        let carrier = reference(&mut v, "carrier", self.carrier.as_deref());
        if let Some(id) = &carrier {
            v.check(
                brand_level,
                "carrier",
                "only brand-level schedulers filter by carrier",
            );
            v.check(
                outbound,
                "carrier",
                "Filter by carrier is only possible for outbound calls",
            );
            let of_brand = db::carriers::find(conn, &CarrierId::from_db(id.clone()))?
                .is_some_and(|c| c.brand_id == brand.id);
            v.check(of_brand, "carrier", "not found in the brand");
        }
        let ddi_provider = reference(&mut v, "ddiProvider", self.ddi_provider.as_deref());
        if let Some(id) = &ddi_provider {
            v.check(
                brand_level,
                "ddiProvider",
                "only brand-level schedulers filter by DDI provider",
            );
            v.check(
                !outbound,
                "ddiProvider",
                "Filter by DDI provider is only possible for inbound calls (or both directions)",
            );
            let of_brand =
                db::ddi_providers::find(conn, id)?.is_some_and(|p| p.brand_id == brand.id);
            v.check(of_brand, "ddiProvider", "not found in the brand");
        }

        let ddi = reference(&mut v, "ddi", self.ddi.as_deref());
        if let Some(id) = &ddi {
            match db::ddis::find(conn, id)?.filter(|d| d.brand_id == brand.id) {
                None => v.error("ddi", "not found in the brand"),
                Some(d) => v.check(
                    client_id.as_ref().is_none_or(|c| *c == d.client_id),
                    "ddi",
                    "not a DDI of the scheduler's client",
                ),
            }
        }

        // Endpoints belong to a client, so filtering by one needs the client.
        let endpoint_id = reference(&mut v, "endpointId", self.endpoint_id.as_deref());
        if let Some(endpoint_type) = &self.endpoint_type {
            match &client {
                None => v.error("endpointType", "only with a client"),
                Some(c) => v.check(
                    tenancy::endpoint_type_fits(&c.client_type, endpoint_type),
                    "endpointType",
                    format!(
                        "a {} client has no {endpoint_type:?} endpoints (possible: {})",
                        c.client_type,
                        tenancy::endpoint_types_for(&c.client_type).join(", ")
                    ),
                ),
            }
        }
        if let Some(id) = &endpoint_id {
            match (&client, &self.endpoint_type) {
                (None, _) => v.error("endpointId", "only with a client"),
                (Some(_), None) => v.error("endpointId", "needs endpointType"),
                (Some(c), Some(endpoint_type)) => {
                    let fits = db::endpoints::find(conn, id)?
                        .is_some_and(|e| e.client_id == c.id && e.endpoint_type == *endpoint_type);
                    v.check(
                        fits,
                        "endpointId",
                        format!("not a {endpoint_type} of the client"),
                    );
                }
            }
        }

        let email = match normalise_email(self.email.as_deref().unwrap_or_default()) {
            Ok(email) => email,
            Err(e) => {
                v.error("email", e);
                String::new()
            }
        };

        let template = reference(
            &mut v,
            "notificationTemplate",
            self.notification_template.as_deref(),
        );
        if let Some(id) = &template {
            // The brand's own templates, or a global one (no brand).
            let usable = db::notification_templates::find(conn, id)?.is_some_and(|t| {
                t.template_type == "callCsv" && t.brand_id.as_ref().is_none_or(|b| *b == brand.id)
            });
            v.check(
                usable,
                "notificationTemplate",
                "not a callCsv template of the brand or a global one",
            );
        }

        let next_execution = match &self.next_execution {
            None => None,
            Some(raw) => {
                let parsed = parse_time(raw).map(|t| t.trunc_subsecs(6));
                v.check(
                    parsed.is_some(),
                    "nextExecution",
                    "an RFC 3339 time with an offset (e.g. 2026-01-01T08:00:00+01:00)",
                );
                // Periods reach back from it (up to 366 years for a yearly scheduler), so a
                // year like 0001 would give dates no RFC 3339 can write.
                let sane = parsed.is_none_or(|t| t.year() >= MIN_NEXT_EXECUTION_YEAR);
                v.check(
                    sane,
                    "nextExecution",
                    format!("must be in {MIN_NEXT_EXECUTION_YEAR} or later"),
                );
                parsed.filter(|_| sane)
            }
        };
        v.finish()?;

        let timezone = client
            .as_ref()
            .map_or(&brand.timezone, |c| &c.timezone)
            .clone();
        let next_execution = match next_execution {
            Some(t) => t,
            None => first_execution(conn, unit, frequency, cron.as_deref(), &timezone)?,
        };
        // A row that already broke the bounds (made before they existed) stays editable.
        if kept.schedule != Some((unit.as_str(), frequency, cron.clone(), next_execution)) {
            check_bounds(
                conn,
                unit,
                frequency,
                cron.as_deref(),
                &timezone,
                next_execution,
                max_catch_up,
            )?;
        }
        let row = Scheduler {
            id: kept.id,
            brand_id: brand.id,
            client_id,
            level: owner.level.to_string(),
            name,
            client_type: self.client_type,
            unit: unit.as_str().to_string(),
            frequency: i32::try_from(frequency).map_err(AppError::internal)?,
            cron,
            call_direction,
            carrier_id: carrier,
            ddi_provider_id: ddi_provider,
            ddi_id: ddi,
            endpoint_type: self.endpoint_type,
            endpoint_id,
            email,
            notification_template_id: template,
            next_execution: Some(next_execution),
            last_execution: kept.last_execution,
            last_execution_error: kept.last_execution_error,
            enabled: self.enabled.unwrap_or(true),
            created_at: kept.created_at,
            updated_at: db::now(),
        };
        Ok((row, timezone))
    }
}

/// The fields of a row that no body sets.
struct Kept {
    id: String,
    created_at: NaiveDateTime,
    last_execution: Option<NaiveDateTime>,
    last_execution_error: Option<String>,
    /// unit, frequency, cron and nextExecution as stored.
    schedule: Option<(&'static str, i64, Option<String>, NaiveDateTime)>,
}

impl Kept {
    fn new() -> Kept {
        Kept {
            id: db::new_id(),
            created_at: db::now(),
            last_execution: None,
            last_execution_error: None,
            schedule: None,
        }
    }

    fn of(s: &Scheduler) -> Kept {
        Kept {
            id: s.id.clone(),
            created_at: s.created_at,
            last_execution: s.last_execution,
            last_execution_error: s.last_execution_error.clone(),
            schedule: s
                .unit
                .parse::<Unit>()
                .ok()
                .zip(s.next_execution)
                .map(|(u, n)| (u.as_str(), i64::from(s.frequency), s.cron.clone(), n)),
        }
    }
}

/// The first run of a scheduler that has no `nextExecution`, from the database's "now".
fn first_execution(
    conn: &mut DbConnection,
    unit: Unit,
    frequency: i64,
    cron: Option<&str>,
    timezone: &str,
) -> AppResult<NaiveDateTime> {
    let tz: chrono_tz::Tz = timezone
        .parse()
        .map_err(|_| AppError::internal(format!("stored timezone {timezone:?} is invalid")))?;
    // Both were validated: a failure here is a bug, not bad input.
    let frequency = u32::try_from(frequency).map_err(AppError::internal)?;
    let recurrence = Recurrence::from_fields(unit, frequency, cron).map_err(AppError::internal)?;
    let now = db::utc(db::clock(conn)?);
    schedule::first_execution(&recurrence, tz, now)
        .map(|t| t.naive_utc())
        .ok_or_else(|| AppError::invalid_field("cron", "the expression has no fire time after now"))
}

/// The bounds of schedule::bound_violations: a catch-up of at most `max_catch_up` runs, cron
/// fires at least 15 minutes apart.
fn check_bounds(
    conn: &mut DbConnection,
    unit: Unit,
    frequency: i64,
    cron: Option<&str>,
    timezone: &str,
    next: NaiveDateTime,
    max_catch_up: usize,
) -> AppResult<()> {
    let tz: chrono_tz::Tz = timezone.parse().map_err(AppError::internal)?;
    let frequency = u32::try_from(frequency).map_err(AppError::internal)?;
    let recurrence = Recurrence::from_fields(unit, frequency, cron).map_err(AppError::internal)?;
    let now = db::utc(db::clock(conn)?);
    let mut v = Validator::new();
    for (field, message) in
        schedule::bound_violations(&recurrence, tz, next.and_utc(), now, max_catch_up)
    {
        v.error(field, message);
    }
    v.finish()
}

/// The scheduler's timezone: its client's when it has one, else its brand's. `cache` saves
/// a lookup per row when a list holds many schedulers of the same client or brand.
fn timezone_of(
    conn: &mut DbConnection,
    s: &Scheduler,
    cache: &mut HashMap<String, String>,
) -> AppResult<String> {
    let key = s.client_id.clone().unwrap_or_else(|| s.brand_id.clone());
    if let Some(tz) = cache.get(&key) {
        return Ok(tz.clone());
    }
    let tz = match &s.client_id {
        Some(id) => db::clients::find(conn, &ClientId::from_db(id.clone()))?.map(|c| c.timezone),
        None => db::brands::find(conn, &BrandId::from_db(s.brand_id.clone()))?.map(|b| b.timezone),
    }
    .ok_or_else(|| AppError::internal(format!("scheduler {}: owner missing", s.id)))?;
    cache.insert(key, tz.clone());
    Ok(tz)
}

/// May the caller see (and so manage) this scheduler? Client administrators see only their
/// client's client-level ones; a brand-level scheduler naming their client is the brand's.
fn sees(caller: &Caller, s: &Scheduler) -> bool {
    match caller.role {
        Role::Platform => true,
        Role::Brand => caller.brand_id.as_deref() == Some(s.brand_id.as_str()),
        Role::Client => {
            s.level == CLIENT_LEVEL
                && caller.brand_id.as_deref() == Some(s.brand_id.as_str())
                && s.client_id.is_some()
                && s.client_id == caller.client_id
        }
    }
}

async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let params = ListParams::parse(
        &req,
        &["brand", "client", "name", "enabled"],
        &["name", "nextExecution", "createdAt"],
    )?;
    let mut filter = schedulers::Filter {
        brand: params.filter_id("brand")?,
        client: params.filter_id("client")?,
        level: None,
        name: params.filter("name").map(str::to_string),
        enabled: params.filter_bool("enabled")?,
        nothing: false,
    };
    // Naming another tenant's brand or client matches nothing rather than failing, so
    // the answer is the same whether that tenant exists or not.
    let scope = caller.list_scope(filter.brand.take(), filter.client.take());
    (filter.brand, filter.client, filter.nothing) = (scope.brand, scope.client, scope.nothing);
    if caller.client_scope().is_some() {
        filter.level = Some(CLIENT_LEVEL.to_string());
    }
    let (params, total, views) = db::run(&state.pool, move |conn| {
        let (total, rows) = schedulers::list(conn, &filter, &params)?;
        let mut cache = HashMap::new();
        let mut views = Vec::with_capacity(rows.len());
        for row in rows {
            let tz = timezone_of(conn, &row, &mut cache)?;
            views.push(SchedulerView::new(row, tz));
        }
        Ok((params, total, views))
    })
    .await?;
    Ok(page(&req, &params, total, views))
}

/// Loads a scheduler the caller may see; anything else is a 404.
async fn visible(state: &AppState, caller: &Caller, id: &str) -> AppResult<Scheduler> {
    let id = SchedulerId::parse(id)?;
    let found = db::run(&state.pool, move |conn| schedulers::find(conn, id.as_str())).await?;
    found
        .filter(|s| sees(caller, s))
        .ok_or_else(AppError::not_found)
}

async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let current = visible(&state, &caller, &id).await?;
    let view = db::run(&state.pool, move |conn| {
        let tz = timezone_of(conn, &current, &mut HashMap::new())?;
        Ok(SchedulerView::new(current, tz))
    })
    .await?;
    Ok(ok(&view))
}

async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<Value>,
) -> AppResult<HttpResponse> {
    let input: SchedulerInput = parse_body(body.into_inner(), READ_ONLY)?;
    let brand_id = parse_ref("brand", &caller.write_brand(input.brand.as_deref())?)?;
    // Who creates it decides its level, for good: a client administrator's scheduler is its
    // client's, whatever the body says.
    let owner = match caller.role {
        Role::Client => {
            let own = caller
                .client_id
                .clone()
                .ok_or_else(|| AppError::forbidden("no client"))?;
            Owner {
                brand_id,
                level: CLIENT_LEVEL,
                client_id: Some(own),
            }
        }
        Role::Platform | Role::Brand => Owner {
            brand_id,
            level: BRAND_LEVEL,
            client_id: None,
        },
    };
    let max_catch_up = state.config.max_catch_up;
    let (row, tz) = db::run(&state.pool, move |conn| {
        let (row, tz) = input.into_row(conn, &owner, Kept::new(), max_catch_up)?;
        schedulers::insert(conn, &row)?;
        Ok((row, tz))
    })
    .await?;
    Ok(created(
        format!("/call_csv_schedulers/{}", row.id),
        &SchedulerView::new(row, tz),
    ))
}

async fn save(
    state: &AppState,
    current: Scheduler,
    input: SchedulerInput,
) -> AppResult<HttpResponse> {
    if input.brand.as_ref().is_some_and(|b| *b != current.brand_id) {
        return Err(AppError::invalid_field(
            "brand",
            "a scheduler cannot move to another brand",
        ));
    }
    let level = if current.level == CLIENT_LEVEL {
        CLIENT_LEVEL
    } else {
        BRAND_LEVEL
    };
    let owner = Owner {
        brand_id: current.brand_id.clone(),
        level,
        client_id: (level == CLIENT_LEVEL)
            .then(|| current.client_id.clone())
            .flatten(),
    };
    let max_catch_up = state.config.max_catch_up;
    let (row, tz) = db::run(&state.pool, move |conn| {
        let (row, tz) = input.into_row(conn, &owner, Kept::of(&current), max_catch_up)?;
        schedulers::update(conn, &row)?;
        Ok((row, tz))
    })
    .await?;
    Ok(ok(&SchedulerView::new(row, tz)))
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
    let patch = body.into_inner();
    let Value::Object(members) = &patch else {
        return Err(AppError::new(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "a merge patch must be a JSON object",
        ));
    };
    // `timezone` is read-only and dropped by `parse_body`, so it need not be looked up here.
    let mut merged = serde_json::to_value(SchedulerView::new(current.clone(), String::new()))
        .map_err(AppError::internal)?;
    merge_patch(&mut merged, &patch);
    // RFC 7386 reads `null` as "remove the member", which would bring back a default
    // (`callDirection` → outbound) where the operator wrote null (both directions). Here an
    // explicit null means null, as in a PUT.
    if let Value::Object(fields) = &mut merged {
        for (key, value) in members {
            if value.is_null() {
                fields.insert(key.clone(), Value::Null);
            }
        }
    }
    let input = crate::api::parse_merged(merged, READ_ONLY)?;
    save(&state, current, input).await
}

async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let current = visible(&state, &caller, &id).await?;
    // The scheduler's reports stay (no foreign key): they are the record of what was sent.
    db::run(&state.pool, move |conn| {
        schedulers::delete(conn, &SchedulerId::from_db(current.id))
    })
    .await?;
    Ok(no_content())
}
