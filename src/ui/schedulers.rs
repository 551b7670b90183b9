//! The call CSV schedulers pages: list, create/edit form (errors next to their fields),
//! enable/disable, delete with confirmation. Every action is one `Schedulers` operation
//! with the session's caller, as `/call_csv_schedulers` does.

use std::collections::{BTreeMap, HashMap};

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono_tz::Tz;
use serde_json::{Map, Value};

use crate::auth::{Caller, Role};
use crate::db::{self, schedulers::Scheduler, DbConnection};
use crate::error::{AppError, AppResult, Validator};
use crate::ids::SchedulerId;
use crate::listing::ListParams;
use crate::ops::Resource;
use crate::schedulers::{SchedulerInput, Schedulers, ZonedScheduler};
use crate::tenancy::{self, Brands, Carriers, Clients, DdiProviders, Ddis};
use crate::ui::session::{field, from_htmx, Change};
use crate::ui::view::{self, Nav};
use crate::ui::{html, page, path_id, query_params, see_other, Console, Pager, UiError};
use crate::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/schedulers", web::get().to(list))
        .route("/schedulers", web::post().to(create))
        .route("/schedulers/new", web::get().to(new))
        .route("/schedulers/{id}", web::get().to(edit))
        .route("/schedulers/{id}", web::post().to(update))
        .route("/schedulers/{id}/enabled", web::post().to(set_enabled))
        .route("/schedulers/{id}/delete", web::get().to(confirm_delete))
        .route("/schedulers/{id}/delete", web::post().to(delete));
}

/// One row of the list, written for people.
struct Row {
    id: String,
    name: String,
    scope: String,
    every: String,
    next: String,
    last: String,
    /// `Some(error)` when the last run failed.
    last_error: Option<String>,
    ran: bool,
    enabled: bool,
    zone: String,
}

#[derive(Template)]
#[template(path = "schedulers.html")]
struct ListPage {
    nav: Nav,
    rows: Vec<Row>,
    name: String,
    enabled: String,
    pager: Pager,
}

/// Client names by id, for the rows' scope.
fn client_names(conn: &mut DbConnection, caller: &Caller) -> AppResult<HashMap<String, String>> {
    Ok(all::<Clients>(conn, caller)?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect())
}

/// Every object of a resource the caller may see (the form's choices), up to a page's maximum.
pub fn all<R: Resource>(conn: &mut DbConnection, caller: &Caller) -> AppResult<Vec<R::Object>> {
    if R::may_list(caller).is_err() {
        return Ok(vec![]);
    }
    let params = ListParams {
        per_page: crate::listing::MAX_ITEMS_PER_PAGE,
        ..ListParams::default()
    };
    Ok(R::list(conn, caller, &params)?.1)
}

fn row(z: ZonedScheduler, clients: &HashMap<String, String>) -> Row {
    let zone: Tz = z.timezone.parse().unwrap_or(Tz::UTC);
    let s = z.scheduler;
    let scope = match (&s.client_id, &s.client_type) {
        (Some(c), _) => format!(
            "client {}",
            clients.get(c).map(String::as_str).unwrap_or("(unknown)")
        ),
        (None, Some(t)) => format!("{t} clients"),
        (None, None) => "whole brand".into(),
    };
    let every = match &s.cron {
        Some(cron) => format!("cron {cron}"),
        None if s.frequency == 1 => format!("every {}", s.unit),
        None => format!("every {} {}s", s.frequency, s.unit),
    };
    Row {
        id: s.id,
        name: s.name,
        scope: if s.level == crate::schedulers::CLIENT_LEVEL {
            format!("{scope} (client level)")
        } else {
            scope
        },
        every,
        next: view::local_opt(s.next_execution, zone),
        last: view::local_opt(s.last_execution, zone),
        ran: s.last_execution.is_some(),
        last_error: s.last_execution_error,
        enabled: s.enabled,
        zone: z.timezone,
    }
}

async fn list(
    state: web::Data<AppState>,
    console: Console,
    req: HttpRequest,
) -> Result<HttpResponse, UiError> {
    let params = query_params(
        &req,
        Schedulers::filters(&console.caller),
        Schedulers::ORDER,
    )?;
    let caller = console.caller.clone();
    let (params, total, rows) = db::run(&state.pool, move |conn| {
        Schedulers::may_list(&caller)?;
        let (total, found) = Schedulers::list(conn, &caller, &params)?;
        let clients = client_names(conn, &caller)?;
        let rows = found.into_iter().map(|z| row(z, &clients)).collect();
        Ok((params, total, rows))
    })
    .await?;
    page(&ListPage {
        nav: Nav::of(&console, "schedulers"),
        rows,
        name: params.filter("name").unwrap_or_default().to_string(),
        enabled: params.filter("enabled").unwrap_or_default().to_string(),
        pager: Pager::new(&req, &params, total),
    })
}

/// A `<select>` choice; `data` is what the page's script needs of it (a client's type).
pub struct Choice {
    pub value: String,
    pub label: String,
    pub data: String,
}

impl Choice {
    pub fn new(value: String, label: String) -> Choice {
        Choice {
            value,
            label,
            data: String::new(),
        }
    }
}

fn choices<T>(items: Vec<T>, f: impl Fn(T) -> (String, String)) -> Vec<Choice> {
    items
        .into_iter()
        .map(|item| {
            let (value, label) = f(item);
            Choice::new(value, label)
        })
        .collect()
}

/// An endpoint type and the client types that have it (`data-client-types`).
pub struct EndpointType {
    pub name: &'static str,
    pub client_types: String,
}

#[derive(Template)]
#[template(path = "scheduler_form.html")]
struct FormPage {
    nav: Nav,
    /// `None` = a new scheduler.
    id: Option<String>,
    values: BTreeMap<String, String>,
    errors: BTreeMap<String, String>,
    /// The message of an error that names no field.
    error: Option<String>,
    zone: String,
    brands: Vec<Choice>,
    clients: Vec<Choice>,
    carriers: Vec<Choice>,
    ddi_providers: Vec<Choice>,
    ddis: Vec<Choice>,
    platform: bool,
    brand_level: bool,
    last: String,
    last_error: Option<String>,
    /// The days of the report the next run builds, as stored now.
    next_period: Option<String>,
    client_types: &'static [&'static str],
    /// The endpoint types that fit the chosen client (all of them before one is chosen).
    endpoint_types: Vec<EndpointType>,
    /// The `groupBy` dimensions this scheduler may use.
    dimensions: Vec<&'static str>,
}

impl FormPage {
    fn v(&self, name: &str) -> &str {
        self.values
            .get(name)
            .map(String::as_str)
            .unwrap_or_default()
    }

    fn is(&self, name: &str, value: &str) -> bool {
        self.v(name) == value
    }

    fn has_error(&self, name: &str) -> bool {
        self.errors.contains_key(name)
    }

    fn err(&self, name: &str) -> &str {
        self.errors
            .get(name)
            .map(String::as_str)
            .unwrap_or_default()
    }

    fn invalid(&self, name: &str) -> &'static str {
        if self.has_error(name) {
            "true"
        } else {
            "false"
        }
    }

    /// The value of the `n`th `groupBy` dimension (1 or 2).
    fn group(&self, n: usize) -> &str {
        self.v("groupBy")
            .split(',')
            .map(str::trim)
            .nth(n - 1)
            .unwrap_or_default()
    }

    fn action(&self) -> String {
        match &self.id {
            Some(id) => format!("/ui/schedulers/{id}"),
            None => "/ui/schedulers".into(),
        }
    }
}

/// The form's choices the caller may pick from, loaded through the list operations.
struct Choices {
    brands: Vec<Choice>,
    clients: Vec<Choice>,
    carriers: Vec<Choice>,
    ddi_providers: Vec<Choice>,
    ddis: Vec<Choice>,
}

fn load_choices(conn: &mut DbConnection, caller: &Caller) -> AppResult<Choices> {
    let brand_admin = caller.role != Role::Client;
    Ok(Choices {
        brands: match caller.role {
            Role::Platform => choices(all::<Brands>(conn, caller)?, |b| (b.id, b.name)),
            _ => vec![],
        },
        clients: all::<Clients>(conn, caller)?
            .into_iter()
            .map(|c| Choice {
                data: c.client_type,
                ..Choice::new(c.id, c.name)
            })
            .collect(),
        carriers: match brand_admin {
            true => choices(all::<Carriers>(conn, caller)?, |c| (c.id, c.name)),
            false => vec![],
        },
        ddi_providers: match brand_admin {
            true => choices(all::<DdiProviders>(conn, caller)?, |p| (p.id, p.name)),
            false => vec![],
        },
        ddis: choices(all::<Ddis>(conn, caller)?, |d| (d.id, d.ddi_e164)),
    })
}

/// The form's values for a stored scheduler (times in its zone).
fn values_of(s: &Scheduler, zone: Tz) -> BTreeMap<String, String> {
    let mut v = BTreeMap::new();
    let mut put = |k: &str, value: Option<String>| {
        if let Some(value) = value {
            v.insert(k.to_string(), value);
        }
    };
    put("brand", Some(s.brand_id.clone()));
    put("client", s.client_id.clone());
    put("name", Some(s.name.clone()));
    put("clientType", s.client_type.clone());
    put("unit", Some(s.unit.clone()));
    put("frequency", Some(s.frequency.to_string()));
    put("cron", s.cron.clone());
    put(
        "callDirection",
        Some(s.call_direction.clone().unwrap_or_else(|| "both".into())),
    );
    put("carrier", s.carrier_id.clone());
    put("ddiProvider", s.ddi_provider_id.clone());
    put("ddi", s.ddi_id.clone());
    put("endpointType", s.endpoint_type.clone());
    put("endpointId", s.endpoint_id.clone());
    put("email", Some(s.email.clone()));
    put("notificationTemplate", s.notification_template_id.clone());
    put(
        "nextExecution",
        s.next_execution.map(|t| view::local_input(t, zone)),
    );
    put("enabled", s.enabled.then(|| "on".to_string()));
    put("kind", Some(s.kind.clone()));
    put("groupBy", s.group_by.clone());
    put("destinationCountry", s.destination_countries.clone());
    put("international", s.international.map(|i| i.to_string()));
    put("digest", s.digest.then(|| "on".to_string()));
    v
}

/// The fields the form sends, by the API's names.
const TEXT_FIELDS: &[&str] = &[
    "brand",
    "client",
    "name",
    "clientType",
    "unit",
    "cron",
    "carrier",
    "ddiProvider",
    "ddi",
    "endpointType",
    "endpointId",
    "email",
    "notificationTemplate",
    "kind",
    "destinationCountry",
];

/// The operation's input from the posted form: blanks are absent, `nextExecution` is read
/// in `zone`. What cannot even be read is reported by field, like the operation's errors.
fn input_of(form: &[(String, String)], zone: Tz, state: &AppState) -> AppResult<SchedulerInput> {
    let mut body = Map::new();
    let mut v = Validator::new();
    for name in TEXT_FIELDS {
        if let Some(value) = field(form, name) {
            body.insert(name.to_string(), Value::String(value));
        }
    }
    if let Some(raw) = field(form, "frequency") {
        match raw.parse::<i64>() {
            Ok(n) => {
                body.insert("frequency".into(), n.into());
            }
            Err(_) => v.error("frequency", "a whole number"),
        }
    }
    match field(form, "callDirection").as_deref() {
        Some("both") => {
            body.insert("callDirection".into(), Value::Null);
        }
        Some(direction) => {
            body.insert("callDirection".into(), direction.into());
        }
        None => {}
    }
    if let Some(raw) = field(form, "nextExecution") {
        match view::from_local_input(&raw, zone) {
            Ok(t) => {
                body.insert("nextExecution".into(), t.into());
            }
            Err(e) => v.error("nextExecution", e),
        }
    }
    body.insert("enabled".into(), field(form, "enabled").is_some().into());
    body.insert("digest".into(), field(form, "digest").is_some().into());
    // A summary's grouping: one or two dimensions, chosen in two selects.
    let group: Vec<String> = ["groupBy1", "groupBy2"]
        .iter()
        .filter_map(|name| field(form, name))
        .collect();
    if !group.is_empty() && field(form, "kind").as_deref() == Some(crate::schedulers::KIND_SUMMARY)
    {
        body.insert("groupBy".into(), group.join(",").into());
    }
    match field(form, "international").as_deref() {
        Some("true") => {
            body.insert("international".into(), true.into());
        }
        Some("false") => {
            body.insert("international".into(), false.into());
        }
        Some(_) => v.error("international", "international, national or any"),
        None => {}
    }
    v.finish()?;
    let input: SchedulerInput = serde_json::from_value(Value::Object(body))
        .map_err(|e| AppError::bad_request(format!("the form could not be read: {e}")))?;
    Ok(Schedulers::with_config(input, &state.config))
}

fn form_page(
    console: &Console,
    id: Option<String>,
    values: BTreeMap<String, String>,
    failure: Option<AppError>,
    zone: &str,
    choices: Choices,
    current: Option<&ZonedScheduler>,
) -> FormPage {
    let next_period = current
        .and_then(ZonedScheduler::next_period)
        .map(|(first, last)| format!("{first} to {last}"));
    let current = current.map(|z| &z.scheduler);
    let (errors, error) = match failure {
        Some(e) if !e.fields.is_empty() => (e.fields, None),
        Some(e) => (BTreeMap::new(), Some(e.message)),
        None => (BTreeMap::new(), None),
    };
    let zone_tz: Tz = zone.parse().unwrap_or(Tz::UTC);
    let brand_level = current.is_none_or(|s| s.level == crate::schedulers::BRAND_LEVEL)
        && console.caller.role != Role::Client;
    // With a client chosen (or a client administrator's own), only its endpoint types.
    let client = values
        .get("client")
        .cloned()
        .or_else(|| console.caller.client_id.clone());
    let client_type = client.and_then(|id| {
        choices
            .clients
            .iter()
            .find(|c| c.value == id)
            .map(|c| c.data.clone())
    });
    let endpoint_types = tenancy::ENDPOINT_TYPES
        .iter()
        .filter(|t| {
            client_type
                .as_deref()
                .is_none_or(|ct| tenancy::endpoint_type_fits(ct, t))
        })
        .map(|t| EndpointType {
            name: t,
            client_types: tenancy::CLIENT_TYPES
                .iter()
                .filter(|ct| tenancy::endpoint_type_fits(ct, t))
                .copied()
                .collect::<Vec<_>>()
                .join(" "),
        })
        .collect();
    let dimensions = crate::stats::Dimension::ALL
        .iter()
        .filter(|d| **d != crate::stats::Dimension::Brand && (brand_level || !d.is_supplier()))
        .map(|d| d.name())
        .collect();
    FormPage {
        nav: Nav::of(console, "schedulers"),
        id,
        values,
        errors,
        error,
        zone: zone.to_string(),
        brands: choices.brands,
        clients: if console.caller.role == Role::Client {
            vec![]
        } else {
            choices.clients
        },
        carriers: choices.carriers,
        ddi_providers: choices.ddi_providers,
        ddis: choices.ddis,
        platform: console.caller.role == Role::Platform,
        brand_level,
        last: current
            .map(|s| view::local_opt(s.last_execution, zone_tz))
            .unwrap_or_default(),
        last_error: current.and_then(|s| s.last_execution_error.clone()),
        next_period,
        client_types: tenancy::CLIENT_TYPES,
        endpoint_types,
        dimensions,
    }
}

async fn new(state: web::Data<AppState>, console: Console) -> Result<HttpResponse, UiError> {
    let caller = console.caller.clone();
    let choices = db::run(&state.pool, move |conn| {
        Schedulers::may_create(&caller)?;
        load_choices(conn, &caller)
    })
    .await?;
    let mut values = BTreeMap::new();
    values.insert("unit".to_string(), "month".to_string());
    values.insert("frequency".to_string(), "1".to_string());
    values.insert("callDirection".to_string(), "outbound".to_string());
    values.insert("enabled".to_string(), "on".to_string());
    values.insert("kind".to_string(), "calls".to_string());
    let zone = console.timezone.name().to_string();
    page(&form_page(
        &console, None, values, None, &zone, choices, None,
    ))
}

/// The posted values, to show the form again as it was sent.
fn posted(form: &[(String, String)]) -> BTreeMap<String, String> {
    let mut values: BTreeMap<String, String> = form
        .iter()
        .filter(|(k, _)| k != crate::ui::session::CSRF_FIELD)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let group = [field(form, "groupBy1"), field(form, "groupBy2")];
    values.insert(
        "groupBy".into(),
        group.map(Option::unwrap_or_default).join(","),
    );
    values
}

async fn create(state: web::Data<AppState>, change: Change) -> Result<HttpResponse, UiError> {
    let console = change.console;
    let zone = console.timezone;
    let read = input_of(&change.form, zone, &state);
    let caller = console.caller.clone();
    let outcome = db::run(&state.pool, move |conn| {
        let created = Schedulers::create_from(conn, &caller, || read);
        match created {
            Ok(z) => Ok(Ok(z)),
            Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
                Ok(Err((e, load_choices(conn, &caller)?)))
            }
            Err(e) => Err(e),
        }
    })
    .await?;
    match outcome {
        Ok(_) => Ok(see_other("/ui/schedulers")),
        Err((e, choices)) => html(
            StatusCode::UNPROCESSABLE_ENTITY,
            &form_page(
                &console,
                None,
                posted(&change.form),
                Some(e),
                zone.name(),
                choices,
                None,
            ),
        ),
    }
}

async fn edit(
    state: web::Data<AppState>,
    console: Console,
    id: web::Path<String>,
) -> Result<HttpResponse, UiError> {
    let id: SchedulerId = path_id(&id)?;
    let caller = console.caller.clone();
    let (found, choices) = db::run(&state.pool, move |conn| {
        let found = Schedulers::find(conn, &caller, &id)?;
        Ok((found, load_choices(conn, &caller)?))
    })
    .await?;
    let zone: Tz = found.timezone.parse().unwrap_or(Tz::UTC);
    let s = &found.scheduler;
    page(&form_page(
        &console,
        Some(s.id.clone()),
        values_of(s, zone),
        None,
        &found.timezone,
        choices,
        Some(&found),
    ))
}

async fn update(
    state: web::Data<AppState>,
    change: Change,
    id: web::Path<String>,
) -> Result<HttpResponse, UiError> {
    let id: SchedulerId = path_id(&id)?;
    let console = change.console;
    let caller = console.caller.clone();
    let (form, config) = (change.form.clone(), state.clone());
    let outcome = db::run(&state.pool, move |conn| {
        let current = Schedulers::find(conn, &caller, &id)?;
        let zone: Tz = current.timezone.parse().unwrap_or(Tz::UTC);
        let saved = Schedulers::update(conn, &caller, &id, |_| input_of(&form, zone, &config));
        match saved {
            Ok(z) => Ok(Ok(z)),
            Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
                Ok(Err((e, load_choices(conn, &caller)?, current)))
            }
            Err(e) => Err(e),
        }
    })
    .await?;
    match outcome {
        Ok(_) => Ok(see_other("/ui/schedulers")),
        Err((e, choices, current)) => html(
            StatusCode::UNPROCESSABLE_ENTITY,
            &form_page(
                &console,
                Some(current.scheduler.id.clone()),
                posted(&change.form),
                Some(e),
                &current.timezone,
                choices,
                Some(&current),
            ),
        ),
    }
}

/// One row of the list alone: what an htmx request gets back.
#[derive(Template)]
#[template(path = "scheduler_row.html")]
struct RowFragment {
    nav: Nav,
    r: Row,
}

/// Enable or disable (`enabled=true|false`): the scheduler saved with only that changed.
/// From htmx, the answer is the scheduler's new row; otherwise back to the list.
async fn set_enabled(
    state: web::Data<AppState>,
    req: HttpRequest,
    change: Change,
    id: web::Path<String>,
) -> Result<HttpResponse, UiError> {
    let id: SchedulerId = path_id(&id)?;
    let enabled = match change.field("enabled").as_deref() {
        Some("true") => true,
        Some("false") => false,
        _ => return Err(AppError::invalid_field("enabled", "true or false").into()),
    };
    let (caller, config) = (change.console.caller.clone(), state.config.clone());
    let r = db::run(&state.pool, move |conn| {
        let saved = Schedulers::update(conn, &caller, &id, |current| {
            let input = SchedulerInput {
                enabled: Some(enabled),
                ..SchedulerInput::of(&current.scheduler)
            };
            Ok(Schedulers::with_config(input, &config))
        })?;
        Ok(row(saved, &client_names(conn, &caller)?))
    })
    .await?;
    if from_htmx(&req) {
        let nav = Nav::of(&change.console, "schedulers");
        return page(&RowFragment { nav, r });
    }
    Ok(see_other("/ui/schedulers"))
}

#[derive(Template)]
#[template(path = "scheduler_delete.html")]
struct DeletePage {
    nav: Nav,
    id: String,
    name: String,
}

async fn confirm_delete(
    state: web::Data<AppState>,
    console: Console,
    id: web::Path<String>,
) -> Result<HttpResponse, UiError> {
    let id: SchedulerId = path_id(&id)?;
    let caller = console.caller.clone();
    let found = db::run(&state.pool, move |conn| {
        let found = Schedulers::find(conn, &caller, &id)?;
        Schedulers::may_change(&caller, &found)?;
        Ok(found)
    })
    .await?;
    page(&DeletePage {
        nav: Nav::of(&console, "schedulers"),
        id: found.scheduler.id,
        name: found.scheduler.name,
    })
}

async fn delete(
    state: web::Data<AppState>,
    change: Change,
    id: web::Path<String>,
) -> Result<HttpResponse, UiError> {
    let id: SchedulerId = path_id(&id)?;
    let caller = change.console.caller.clone();
    db::run(&state.pool, move |conn| {
        Schedulers::delete(conn, &caller, &id, false)
    })
    .await?;
    Ok(see_other("/ui/schedulers"))
}
