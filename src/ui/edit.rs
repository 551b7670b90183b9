//! Create, edit and delete pages for the console's editable resources (tenancy, accounts,
//! rating), one page shape: a resource lists its fields, reads its form into the JSON body
//! its API route takes, and the form calls `Resource::create_from` / `update` / `delete`
//! with the session's caller — the same operations, so the same validation and tenancy.
//! The operation's field errors show next to their fields, a refusal (in use, conflict)
//! in the page; another tenant's id is the 404 page.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono_tz::Tz;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::auth::{Caller, Role};
use crate::config::Config;
use crate::db::{self, DbConnection};
use crate::error::{AppError, AppResult};
use crate::ops::Resource;
use crate::tenancy::{Brands, Carriers, Clients, DdiProviders, Ddis, NotificationTemplates};
use crate::ui::schedulers::{all, Choice};
use crate::ui::session::Change;
use crate::ui::view::{self, Nav};
use crate::ui::{filled_query, html, page, path_id, see_other, Console, UiError};
use crate::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    resource::<Clients>(cfg);
    resource::<Carriers>(cfg);
    resource::<Ddis>(cfg);
    resource::<NotificationTemplates>(cfg);
    resource::<crate::tenancy::Endpoints>(cfg);
    resource::<DdiProviders>(cfg);
    resource::<Brands>(cfg);
    resource::<crate::tenancy::Administrators>(cfg);
    resource::<crate::rating::RatingPlans>(cfg);
    resource::<crate::rating::RatingProfiles>(cfg);
    resource::<crate::alerts::AlertRules>(cfg);
    resource::<crate::sources::cdr_sources::CdrSources>(cfg);
}

fn resource<R: Edited>(cfg: &mut web::ServiceConfig)
where
    R::Input: DeserializeOwned,
{
    let path = format!("/{}", R::PATH);
    let object = format!("{path}/{{id}}{}", R::EDIT_AT);
    cfg.route(&path, web::post().to(create::<R>))
        .route(&format!("{path}/new"), web::get().to(new::<R>))
        .route(
            &format!("{path}/{{id}}/delete"),
            web::get().to(confirm_delete::<R>),
        )
        .route(
            &format!("{path}/{{id}}/delete"),
            web::post().to(delete::<R>),
        )
        .route(&object, web::get().to(edit::<R>))
        .route(&object, web::post().to(update::<R>));
}

/// How an input is shown.
pub enum Kind {
    Text,
    /// Several lines (a template's body).
    Area,
    /// One item per line, sent as a list (a provider's addresses).
    Lines,
    /// Short items separated by commas or spaces, sent as a list (country codes).
    Words,
    Select(Vec<Choice>),
    Check,
    /// A whole number.
    Number,
    /// Never shown back; blank keeps the stored one.
    Password,
    /// A date and time in the viewer's zone, sent as RFC 3339.
    LocalTime,
}

pub struct Field {
    pub name: String,
    pub label: String,
    pub kind: Kind,
    pub help: &'static str,
}

impl Field {
    pub fn new(name: &str, label: &str, kind: Kind) -> Field {
        Field {
            name: name.to_string(),
            label: label.to_string(),
            kind,
            help: "",
        }
    }

    pub fn help(mut self, help: &'static str) -> Field {
        self.help = help;
        self
    }
}

/// What reading a form may need besides the form: the object it changes (`None` when
/// creating), the viewer's zone and who is asking.
pub struct Ctx<'a, O> {
    pub current: Option<&'a O>,
    pub zone: Tz,
    pub caller: &'a Caller,
}

/// What a resource's form is made of.
pub trait Edited: Resource + 'static {
    /// The console path (`clients`) and nav section.
    const PATH: &'static str;
    const SECTION: &'static str;
    /// "client": the pages' titles.
    const NOUN: &'static str;
    /// What follows the id in the form's address: `/edit` where `/{id}` is another page.
    const EDIT_AT: &'static str = "";
    /// Said on the delete confirmation page: what goes with it, what stays.
    const DELETE_NOTE: &'static str = "";

    /// The form's fields for this caller (`values`: the form as it stands, to offer only
    /// what fits it), with `creating` for a new object.
    fn fields(
        conn: &mut DbConnection,
        caller: &Caller,
        values: &BTreeMap<String, String>,
        creating: bool,
    ) -> AppResult<Vec<Field>>;

    /// The form's values for a stored object (times in `zone`).
    fn values(object: &Self::Object, zone: Tz) -> BTreeMap<String, String>;

    /// A new object's form values (a box ticked by default).
    fn defaults() -> BTreeMap<String, String> {
        BTreeMap::new()
    }

    /// What the page calls the object.
    fn title(object: &Self::Object) -> String;

    /// The API's JSON body for the posted form; by default each field by its kind.
    fn body(
        fields: &[Field],
        form: &BTreeMap<String, String>,
        ctx: &Ctx<'_, Self::Object>,
    ) -> AppResult<Map<String, Value>> {
        fields_body(fields, form, ctx.zone)
    }

    /// Links shown under the form of a stored object (a template's preview).
    fn extra_links(_object: &Self::Object) -> Vec<(String, String)> {
        vec![]
    }

    /// Where a saved object is shown: its form, unless it has a page of its own.
    fn page_of(id: &str) -> String {
        format!("/ui/{}/{id}{}", Self::PATH, Self::EDIT_AT)
    }

    /// Where the list is.
    fn list_page() -> String {
        format!("/ui/{}", Self::PATH)
    }

    /// What a save revealed that is shown only this once (a webhook's signing secret):
    /// what it is, and its value.
    fn shown_once(_object: &Self::Object) -> Option<(&'static str, String)> {
        None
    }
}

/// Each field by its name and kind: text as a string (blank left out), a check box as a
/// boolean, a number as a number, lines as a list, a local time as RFC 3339. What cannot
/// be read (a number that is not one) is an error by field, as the operation's are.
pub fn fields_body<'f>(
    fields: impl IntoIterator<Item = &'f Field>,
    form: &BTreeMap<String, String>,
    zone: Tz,
) -> AppResult<Map<String, Value>> {
    let mut body = Map::new();
    let mut bad = BTreeMap::new();
    for f in fields {
        let raw = form.get(&f.name).map(String::as_str).unwrap_or_default();
        let value = raw.trim();
        let read: Result<Option<Value>, String> = match &f.kind {
            Kind::Check => Ok(Some((!value.is_empty()).into())),
            Kind::Lines => Ok(Some(list_items(&f.kind, raw).map(Value::from).collect())),
            _ if value.is_empty() => Ok(None),
            Kind::Words => Ok(Some(list_items(&f.kind, raw).map(Value::from).collect())),
            Kind::Number => value
                .parse::<i64>()
                .map(|n| Some(n.into()))
                .map_err(|_| "a whole number".to_string()),
            Kind::LocalTime => view::from_local_input(value, zone).map(|t| Some(t.into())),
            Kind::Area => Ok(Some(raw.replace("\r\n", "\n").into())),
            Kind::Text | Kind::Password | Kind::Select(_) => Ok(Some(value.into())),
        };
        match read {
            Ok(Some(v)) => {
                body.insert(f.name.clone(), v);
            }
            Ok(None) => {}
            Err(e) => {
                bad.insert(f.name.clone(), e);
            }
        }
    }
    if bad.is_empty() {
        Ok(body)
    } else {
        let mut e = AppError::invalid_field("form", "");
        e.fields = bad;
        Err(e)
    }
}

/// The items a list field holds: its non-blank lines, or its words.
fn list_items<'r>(kind: &Kind, raw: &'r str) -> Box<dyn Iterator<Item = &'r str> + 'r> {
    match kind {
        Kind::Words => Box::new(
            raw.split(|c: char| c == ',' || c.is_whitespace())
                .filter(|w| !w.is_empty()),
        ),
        _ => Box::new(raw.lines().map(str::trim).filter(|l| !l.is_empty())),
    }
}

/// The items of a repeated group of fields (`contents[0].subject`, `contents[1].…`) as
/// the API's list of objects, each member read by its kind; an untouched item is left out.
pub fn items(
    fields: &[Field],
    form: &BTreeMap<String, String>,
    list: &str,
    zone: Tz,
) -> AppResult<Vec<Value>> {
    let mut found = Vec::new();
    let mut bad = BTreeMap::new();
    for i in 0.. {
        let prefix = format!("{list}[{i}].");
        let members: Vec<&Field> = fields
            .iter()
            .filter(|f| f.name.starts_with(&prefix))
            .collect();
        if members.is_empty() {
            break;
        }
        match fields_body(members, form, zone) {
            Ok(read) => {
                let item: Map<String, Value> = read
                    .into_iter()
                    .map(|(k, v)| (k[prefix.len()..].to_string(), v))
                    .collect();
                if !item.is_empty() {
                    found.push(Value::Object(item));
                }
            }
            Err(e) => bad.extend(e.fields),
        }
    }
    if bad.is_empty() {
        Ok(found)
    } else {
        let mut e = AppError::invalid_field("form", "");
        e.fields = bad;
        Err(e)
    }
}

#[derive(Template)]
#[template(path = "edit_form.html")]
struct FormPage {
    nav: Nav,
    heading: String,
    action: String,
    back: String,
    fields: Vec<Field>,
    values: BTreeMap<String, String>,
    errors: BTreeMap<String, String>,
    /// Field errors of no field shown (a whole rule's), and a refusal's message.
    other_errors: Vec<String>,
    error: Option<String>,
    links: Vec<(String, String)>,
    delete: Option<String>,
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
    fn err(&self, name: &str) -> &str {
        self.errors
            .get(name)
            .map(String::as_str)
            .unwrap_or_default()
    }
    fn invalid(&self, name: &str) -> &'static str {
        if self.errors.contains_key(name) {
            "true"
        } else {
            "false"
        }
    }
    /// An id usable in HTML for a field name (`contents[0].body` → `contents-0--body`).
    fn dom_id(&self, name: &str) -> String {
        name.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect()
    }
}

/// The operation's field errors placed on the form: by name; an item of a list field
/// (`addresses[2]`) on that field, naming the line; a group's (`numbering`) on the group's
/// first field; any other under the heading.
fn place_errors(
    fields: &[Field],
    values: &BTreeMap<String, String>,
    errors: BTreeMap<String, String>,
) -> (BTreeMap<String, String>, Vec<String>) {
    let mut placed: BTreeMap<String, String> = BTreeMap::new();
    let mut other = Vec::new();
    for (name, message) in errors {
        if fields.iter().any(|f| f.name == name) {
            placed.insert(name, message);
            continue;
        }
        let item = name.split_once('[').and_then(|(list, rest)| {
            let index: usize = rest.split(']').next()?.parse().ok()?;
            fields
                .iter()
                .find(|f| f.name == list && matches!(f.kind, Kind::Lines | Kind::Words))
                .map(|f| (f, index))
        });
        match item {
            Some((field, index)) => {
                let list = field.name.clone();
                let line = values
                    .get(&list)
                    .and_then(|v| list_items(&field.kind, v).nth(index))
                    .unwrap_or_default()
                    .to_string();
                let text = format!("“{line}”: {message}");
                placed
                    .entry(list)
                    .and_modify(|m| {
                        m.push_str("; ");
                        m.push_str(&text)
                    })
                    .or_insert(text);
            }
            None => {
                // A group's own error (`numbering`, `direction[1]`): on its first field.
                let group = fields.iter().find(|f| {
                    f.name
                        .strip_prefix(name.as_str())
                        .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
                });
                match group {
                    Some(first) => {
                        placed
                            .entry(first.name.clone())
                            .and_modify(|m| {
                                m.push_str("; ");
                                m.push_str(&message)
                            })
                            .or_insert(message);
                    }
                    None => other.push(format!("{name}: {message}")),
                }
            }
        }
    }
    (placed, other)
}

/// The posted form as name → value (the CSRF token left out).
fn posted(form: &[(String, String)]) -> BTreeMap<String, String> {
    form.iter()
        .filter(|(k, _)| k != crate::ui::session::CSRF_FIELD)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The operation's input from the form (the API's body, read by the same type, completed
/// from the service's settings as the API's is). A required text left blank goes in empty,
/// so the operation judges it with the rest and says so next to the field, as it does for
/// the API.
fn input_of<R: Edited>(
    fields: &[Field],
    form: &BTreeMap<String, String>,
    ctx: &Ctx<'_, R::Object>,
    config: &Config,
) -> AppResult<R::Input>
where
    R::Input: DeserializeOwned,
{
    let mut body = R::body(fields, form, ctx)?;
    loop {
        let text = match serde_json::from_value(Value::Object(body.clone())) {
            Ok(input) => return Ok(R::with_config(input, config)),
            Err(e) => e.to_string(),
        };
        let missing = text
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next());
        match missing {
            Some(name) if !body.contains_key(name) => {
                body.insert(name.to_string(), "".into());
            }
            Some(name) => return Err(AppError::invalid_field(name, "required")),
            None => {
                return Err(AppError::bad_request(format!(
                    "the form could not be read: {text}"
                )))
            }
        }
    }
}

/// A failure the form shows (the input's fault), as opposed to one the error page shows.
fn shown_in_form(e: &AppError) -> bool {
    e.status.is_client_error()
        && e.status != StatusCode::FORBIDDEN
        && e.status != StatusCode::NOT_FOUND
}

#[allow(clippy::too_many_arguments)]
fn form_page<R: Edited>(
    console: &Console,
    id: Option<&str>,
    heading: String,
    fields: Vec<Field>,
    values: BTreeMap<String, String>,
    failure: Option<AppError>,
    links: Vec<(String, String)>,
) -> FormPage {
    let (errors, other_errors, error) = match failure {
        Some(e) if !e.fields.is_empty() => {
            let (placed, other) = place_errors(&fields, &values, e.fields);
            (placed, other, None)
        }
        Some(e) => (BTreeMap::new(), vec![], Some(e.message)),
        None => (BTreeMap::new(), vec![], None),
    };
    FormPage {
        nav: Nav::of(console, R::SECTION),
        heading,
        action: match id {
            Some(id) => format!("/ui/{}/{id}{}", R::PATH, R::EDIT_AT),
            None => format!("/ui/{}", R::PATH),
        },
        back: match id {
            Some(id) if !R::EDIT_AT.is_empty() => R::page_of(id),
            _ => R::list_page(),
        },
        delete: id.map(|id| format!("/ui/{}/{id}/delete", R::PATH)),
        fields,
        values,
        errors,
        other_errors,
        error,
        links,
    }
}

/// A new object's form: the defaults, then what the link asked for (`?kind=spend`).
async fn new<R: Edited>(
    state: web::Data<AppState>,
    console: Console,
    req: HttpRequest,
) -> Result<HttpResponse, UiError>
where
    R::Input: DeserializeOwned,
{
    let caller = console.caller.clone();
    let mut values = R::defaults();
    values.extend(filled_query(&req));
    let shown = values.clone();
    let fields = db::run(&state.pool, move |conn| {
        R::may_create(&caller)?;
        R::fields(conn, &caller, &shown, true)
    })
    .await?;
    let heading = format!("New {}", R::NOUN);
    page(&form_page::<R>(
        &console,
        None,
        heading,
        fields,
        values,
        None,
        vec![],
    ))
}

async fn create<R: Edited>(
    state: web::Data<AppState>,
    change: Change,
) -> Result<HttpResponse, UiError>
where
    R::Input: DeserializeOwned,
{
    let console = change.console.clone();
    let caller = console.caller.clone();
    let zone = console.timezone;
    let values = posted(&change.form);
    let form = values.clone();
    let config = state.config.clone();
    let (outcome, fields) = db::run(&state.pool, move |conn| {
        R::may_create(&caller)?;
        let fields = R::fields(conn, &caller, &form, true)?;
        let ctx = Ctx {
            current: None,
            zone,
            caller: &caller,
        };
        let created = R::create_from(conn, &caller, || {
            input_of::<R>(&fields, &form, &ctx, &config)
        });
        match created {
            Ok(o) => Ok((Ok((R::id_of(&o).to_string(), R::shown_once(&o))), fields)),
            Err(e) if shown_in_form(&e) => Ok((Err(e), fields)),
            Err(e) => Err(e),
        }
    })
    .await?;
    match outcome {
        Ok((id, None)) => Ok(see_other(&R::page_of(&id))),
        Ok((id, Some(secret))) => once_page::<R>(&console, &id, secret),
        Err(e) => html(
            e.status,
            &form_page::<R>(
                &console,
                None,
                format!("New {}", R::NOUN),
                fields,
                values,
                Some(e),
                vec![],
            ),
        ),
    }
}

async fn edit<R: Edited>(
    state: web::Data<AppState>,
    console: Console,
    id: web::Path<String>,
) -> Result<HttpResponse, UiError>
where
    R::Input: DeserializeOwned,
{
    let id: R::Id = path_id(&id)?;
    let caller = console.caller.clone();
    let zone = console.timezone;
    let (object, fields, values) = db::run(&state.pool, move |conn| {
        let object = R::find(conn, &caller, &id)?;
        // Who may only read it hears the API's 403, not a form it cannot save.
        R::may_change(&caller, &object)?;
        let values = R::values(&object, zone);
        let fields = R::fields(conn, &caller, &values, false)?;
        Ok((object, fields, values))
    })
    .await?;
    let heading = format!("Edit the {} “{}”", R::NOUN, R::title(&object));
    page(&form_page::<R>(
        &console,
        Some(R::id_of(&object)),
        heading,
        fields,
        values,
        None,
        R::extra_links(&object),
    ))
}

async fn update<R: Edited>(
    state: web::Data<AppState>,
    change: Change,
    id: web::Path<String>,
) -> Result<HttpResponse, UiError>
where
    R::Input: DeserializeOwned,
{
    let id: R::Id = path_id(&id)?;
    let console = change.console.clone();
    let caller = console.caller.clone();
    let zone = console.timezone;
    let values = posted(&change.form);
    let form = values.clone();
    let config = state.config.clone();
    let (outcome, fields, current) = db::run(&state.pool, move |conn| {
        let current = R::find(conn, &caller, &id)?;
        let fields = R::fields(conn, &caller, &form, false)?;
        let saved = R::update(conn, &caller, &id, |found| {
            let ctx = Ctx {
                current: Some(found),
                zone,
                caller: &caller,
            };
            input_of::<R>(&fields, &form, &ctx, &config)
        });
        match saved {
            Ok(o) => Ok((Ok(R::shown_once(&o)), fields, current)),
            Err(e) if shown_in_form(&e) => Ok((Err(e), fields, current)),
            Err(e) => Err(e),
        }
    })
    .await?;
    let object_id = R::id_of(&current).to_string();
    match outcome {
        Ok(None) => Ok(see_other(&R::page_of(&object_id))),
        Ok(Some(secret)) => once_page::<R>(&console, &object_id, secret),
        Err(e) => html(
            e.status,
            &form_page::<R>(
                &console,
                Some(&object_id),
                format!("Edit the {} “{}”", R::NOUN, R::title(&current)),
                fields,
                values,
                Some(e),
                R::extra_links(&current),
            ),
        ),
    }
}

#[derive(Template)]
#[template(path = "shown_once.html")]
struct OncePage {
    nav: Nav,
    heading: String,
    what: &'static str,
    value: String,
    next: String,
}

/// "Saved", with what is shown this once (never cached: `html` says `no-store`).
fn once_page<R: Edited>(
    console: &Console,
    id: &str,
    (what, value): (&'static str, String),
) -> Result<HttpResponse, UiError> {
    page(&OncePage {
        nav: Nav::of(console, R::SECTION),
        heading: format!("The {} is saved", R::NOUN),
        what,
        value,
        next: R::page_of(id),
    })
}

#[derive(Template)]
#[template(path = "delete_confirm.html")]
struct DeletePage {
    nav: Nav,
    heading: String,
    note: &'static str,
    action: String,
    back: String,
    error: Option<String>,
}

fn delete_page<R: Edited>(
    console: &Console,
    object: &R::Object,
    error: Option<String>,
) -> DeletePage {
    let id = R::id_of(object);
    DeletePage {
        nav: Nav::of(console, R::SECTION),
        heading: format!("Delete the {} “{}”?", R::NOUN, R::title(object)),
        note: R::DELETE_NOTE,
        action: format!("/ui/{}/{id}/delete", R::PATH),
        back: R::page_of(id),
        error,
    }
}

/// The confirmation page; the role check comes first, so a caller who may not delete
/// hears the API's 403 here already.
async fn confirm_delete<R: Edited>(
    state: web::Data<AppState>,
    console: Console,
    id: web::Path<String>,
) -> Result<HttpResponse, UiError> {
    let id: R::Id = path_id(&id)?;
    let caller = console.caller.clone();
    let object = db::run(&state.pool, move |conn| {
        let object = R::find(conn, &caller, &id)?;
        R::may_change(&caller, &object)?;
        Ok(object)
    })
    .await?;
    page(&delete_page::<R>(&console, &object, None))
}

/// Deletes through the operation (never forced: what hangs below stays, and the refusal
/// says so in the page).
async fn delete<R: Edited>(
    state: web::Data<AppState>,
    change: Change,
    id: web::Path<String>,
) -> Result<HttpResponse, UiError> {
    let id: R::Id = path_id(&id)?;
    let console = change.console.clone();
    let caller = console.caller.clone();
    let (outcome, current) = db::run(&state.pool, move |conn| {
        let current = R::find(conn, &caller, &id)?;
        match R::delete(conn, &caller, &id, false) {
            Ok(()) => Ok((Ok(()), current)),
            Err(e) if shown_in_form(&e) => Ok((Err(e), current)),
            Err(e) => Err(e),
        }
    })
    .await?;
    match outcome {
        Ok(()) => Ok(see_other(&R::list_page())),
        Err(e) => {
            let message = match e.fields.is_empty() {
                true => e.message.clone(),
                false => e.fields.values().cloned().collect::<Vec<_>>().join("; "),
            };
            html(
                e.status,
                &delete_page::<R>(&console, &current, Some(message)),
            )
        }
    }
}

// ---------------------------------------------------------------------------------------
// The resources

pub(super) fn pick(items: Vec<(String, String)>) -> Vec<Choice> {
    items
        .into_iter()
        .map(|(value, label)| Choice::new(value, label))
        .collect()
}

pub(super) fn fixed(values: &[&str]) -> Vec<Choice> {
    values
        .iter()
        .map(|v| Choice::new(v.to_string(), v.to_string()))
        .collect()
}

/// A platform administrator's brand select (when creating); nobody else chooses.
pub(super) fn brand_field(
    conn: &mut DbConnection,
    caller: &Caller,
    creating: bool,
) -> AppResult<Option<Field>> {
    if caller.role != Role::Platform || !creating {
        return Ok(None);
    }
    let brands = all::<Brands>(conn, caller)?
        .into_iter()
        .map(|b| (b.id, b.name))
        .collect();
    Ok(Some(Field::new(
        "brand",
        "Brand",
        Kind::Select(pick(brands)),
    )))
}

pub(super) fn put(v: &mut BTreeMap<String, String>, name: &str, value: Option<&str>) {
    if let Some(value) = value {
        v.insert(name.to_string(), value.to_string());
    }
}

impl Edited for Clients {
    const PATH: &'static str = "clients";
    const SECTION: &'static str = "clients";
    const NOUN: &'static str = "client";

    fn fields(
        conn: &mut DbConnection,
        caller: &Caller,
        _values: &BTreeMap<String, String>,
        creating: bool,
    ) -> AppResult<Vec<Field>> {
        let mut f: Vec<Field> = brand_field(conn, caller, creating)?.into_iter().collect();
        f.extend([
            Field::new("name", "Name", Kind::Text),
            Field::new(
                "type",
                "Type",
                Kind::Select(fixed(crate::tenancy::CLIENT_TYPES)),
            ),
            Field::new("timezone", "Time zone (empty = the brand's)", Kind::Text)
                .help("An IANA name such as Europe/Madrid."),
            Field::new("language", "Language (empty = the brand's)", Kind::Text)
                .help("A language tag such as es or en-GB: the report emails' language."),
            Field::new("code", "Account code (what call records carry)", Kind::Text),
            Field::new("country", "Home country (empty = the brand's)", Kind::Text)
                .help("ISO code such as ES: calls to other countries are international."),
            Field::new("showBillingDetails", "Show billing details", Kind::Check),
        ]);
        Ok(f)
    }

    fn values(c: &Self::Object, _zone: Tz) -> BTreeMap<String, String> {
        let mut v = BTreeMap::new();
        put(&mut v, "name", Some(&c.name));
        put(&mut v, "type", Some(&c.client_type));
        put(&mut v, "timezone", Some(&c.timezone));
        put(&mut v, "language", Some(&c.language));
        put(&mut v, "code", c.code.as_deref());
        put(&mut v, "country", c.country.as_deref());
        put(
            &mut v,
            "showBillingDetails",
            c.show_billing_details.then_some("on"),
        );
        v
    }

    fn title(c: &Self::Object) -> String {
        c.name.clone()
    }
}

impl Edited for Carriers {
    const PATH: &'static str = "carriers";
    const SECTION: &'static str = "carriers";
    const NOUN: &'static str = "carrier";

    fn fields(
        conn: &mut DbConnection,
        caller: &Caller,
        _values: &BTreeMap<String, String>,
        creating: bool,
    ) -> AppResult<Vec<Field>> {
        let mut f: Vec<Field> = brand_field(conn, caller, creating)?.into_iter().collect();
        f.extend([
            Field::new("name", "Name", Kind::Text),
            Field::new("description", "Description", Kind::Text),
            Field::new(
                "code",
                "Code (the trunk or gateway name records carry)",
                Kind::Text,
            ),
        ]);
        Ok(f)
    }

    fn values(c: &Self::Object, _zone: Tz) -> BTreeMap<String, String> {
        let mut v = BTreeMap::new();
        put(&mut v, "name", Some(&c.name));
        put(&mut v, "description", Some(&c.description));
        put(&mut v, "code", c.code.as_deref());
        v
    }

    fn title(c: &Self::Object) -> String {
        c.name.clone()
    }
}

impl Edited for Ddis {
    const PATH: &'static str = "ddis";
    const SECTION: &'static str = "ddis";
    const NOUN: &'static str = "DDI";

    fn fields(
        conn: &mut DbConnection,
        caller: &Caller,
        _values: &BTreeMap<String, String>,
        creating: bool,
    ) -> AppResult<Vec<Field>> {
        let clients = all::<Clients>(conn, caller)?
            .into_iter()
            .map(|c| (c.id, c.name))
            .collect();
        let providers = all::<DdiProviders>(conn, caller)?
            .into_iter()
            .map(|p| (p.id, p.name))
            .collect();
        let mut f: Vec<Field> = brand_field(conn, caller, creating)?.into_iter().collect();
        f.extend([
            Field::new("ddiE164", "Number (E.164)", Kind::Text).help("Like +34911000001."),
            Field::new("client", "Client", Kind::Select(pick(clients))),
            Field::new(
                "ddiProvider",
                "DDI provider (empty = detected by address)",
                Kind::Select(pick(providers)),
            ),
        ]);
        Ok(f)
    }

    fn values(d: &Self::Object, _zone: Tz) -> BTreeMap<String, String> {
        let mut v = BTreeMap::new();
        put(&mut v, "ddiE164", Some(&d.ddi_e164));
        put(&mut v, "client", Some(&d.client_id));
        put(&mut v, "ddiProvider", d.ddi_provider_id.as_deref());
        v
    }

    fn title(d: &Self::Object) -> String {
        d.ddi_e164.clone()
    }
}

/// How many language versions a template's form offers beyond those it has.
const BLANK_CONTENTS: usize = 1;
const CONTENT_FIELDS: &[(&str, &str)] = &[
    ("language", "Language"),
    ("fromName", "From name"),
    ("fromAddress", "From address (empty = the brand's)"),
    ("subject", "Subject"),
    ("body", "Body"),
];

impl Edited for NotificationTemplates {
    const PATH: &'static str = "notification_templates";
    const SECTION: &'static str = "notification_templates";
    const NOUN: &'static str = "notification template";

    fn fields(
        conn: &mut DbConnection,
        caller: &Caller,
        values: &BTreeMap<String, String>,
        creating: bool,
    ) -> AppResult<Vec<Field>> {
        let mut f: Vec<Field> = brand_field(conn, caller, creating)?.into_iter().collect();
        if let Some(brand) = f.first_mut() {
            brand.label = "Brand (empty = the global default)".into();
        }
        f.push(Field::new("name", "Name", Kind::Text));
        f.push(Field::new(
            "type",
            "Type",
            Kind::Select(fixed(crate::db::notification_templates::TEMPLATE_TYPES)),
        ));
        let stored = (0..)
            .take_while(|i| values.contains_key(&format!("contents[{i}].language")))
            .count();
        for i in 0..stored + BLANK_CONTENTS {
            for (name, label) in CONTENT_FIELDS {
                let kind = if *name == "body" {
                    Kind::Area
                } else {
                    Kind::Text
                };
                let mut field = Field::new(
                    &format!("contents[{i}].{name}"),
                    &format!("{label} ({})", i + 1),
                    kind,
                );
                if *name == "body" {
                    field = field.help(
                        "Variables of a callCsv template: ${CALLCSV_COMPANY}, ${CALLCSV_BRAND}, \
                         ${CALLCSV_SCHEDULER}, ${CALLCSV_DATE_IN}, ${CALLCSV_DATE_OUT}, \
                         ${CALLCSV_ROWS}. Of an alert template: ${ALERT_RULE}, ${ALERT_KIND}, \
                         ${ALERT_SUBJECT}, ${ALERT_MEASURED}, ${ALERT_THRESHOLD}, \
                         ${ALERT_WINDOW_FROM}, ${ALERT_WINDOW_TO}, ${ALERT_CALLS}.",
                    );
                }
                f.push(field);
            }
        }
        Ok(f)
    }

    fn values(t: &Self::Object, _zone: Tz) -> BTreeMap<String, String> {
        let mut v = BTreeMap::new();
        put(&mut v, "name", Some(&t.name));
        put(&mut v, "type", Some(&t.template_type));
        for (i, c) in t.contents().unwrap_or_default().iter().enumerate() {
            let mut field = |name: &str, value: Option<&str>| {
                put(&mut v, &format!("contents[{i}].{name}"), value)
            };
            field("language", Some(&c.language));
            field("fromName", c.from_name.as_deref());
            field("fromAddress", c.from_address.as_deref());
            field("subject", Some(&c.subject));
            field("body", Some(&c.body));
        }
        v
    }

    fn title(t: &Self::Object) -> String {
        t.name.clone()
    }

    /// `contents` as the API's list: each language version the form filled, in order
    /// (an untouched blank version is left out).
    fn body(
        fields: &[Field],
        form: &BTreeMap<String, String>,
        ctx: &Ctx<'_, Self::Object>,
    ) -> AppResult<Map<String, Value>> {
        let mut body = fields_body(
            fields.iter().filter(|f| !f.name.starts_with("contents[")),
            form,
            ctx.zone,
        )?;
        body.insert(
            "contents".into(),
            items(fields, form, "contents", ctx.zone)?.into(),
        );
        Ok(body)
    }

    fn extra_links(t: &Self::Object) -> Vec<(String, String)> {
        vec![(
            format!("/ui/notification_templates/{}/preview", t.id),
            "Preview the email".into(),
        )]
    }
}

impl Edited for crate::tenancy::Endpoints {
    const PATH: &'static str = "endpoints";
    const SECTION: &'static str = "endpoints";
    const NOUN: &'static str = "endpoint";

    fn fields(
        conn: &mut DbConnection,
        caller: &Caller,
        _values: &BTreeMap<String, String>,
        _creating: bool,
    ) -> AppResult<Vec<Field>> {
        // The client decides which types fit; the operation says so next to "type".
        let clients = all::<Clients>(conn, caller)?
            .into_iter()
            .map(|c| (c.id, format!("{} ({})", c.name, c.client_type)))
            .collect();
        Ok(vec![
            Field::new("client", "Client", Kind::Select(pick(clients))),
            Field::new(
                "type",
                "Type",
                Kind::Select(fixed(crate::tenancy::ENDPOINT_TYPES)),
            )
            .help("Which types a client may have depends on its type."),
            Field::new("name", "Name", Kind::Text),
            Field::new(
                "code",
                "Code (the extension or user id records carry)",
                Kind::Text,
            ),
        ])
    }

    fn values(e: &Self::Object, _zone: Tz) -> BTreeMap<String, String> {
        let mut v = BTreeMap::new();
        put(&mut v, "client", Some(&e.client_id));
        put(&mut v, "type", Some(&e.endpoint_type));
        put(&mut v, "name", Some(&e.name));
        put(&mut v, "code", e.code.as_deref());
        v
    }

    fn title(e: &Self::Object) -> String {
        e.name.clone()
    }
}

/// How many blank transformation rules a provider's form offers beyond its own.
const BLANK_RULES: usize = 2;

impl Edited for DdiProviders {
    const PATH: &'static str = "ddi_providers";
    const SECTION: &'static str = "ddi_providers";
    const NOUN: &'static str = "DDI provider";
    // `/ui/ddi_providers/{id}` is the provider's page with its "try a number" box.
    const EDIT_AT: &'static str = "/edit";
    const DELETE_NOTE: &'static str =
        "Its DDIs stay, without a provider. While a scheduler filters by it, it cannot be deleted.";

    fn fields(
        conn: &mut DbConnection,
        caller: &Caller,
        values: &BTreeMap<String, String>,
        creating: bool,
    ) -> AppResult<Vec<Field>> {
        let mut f: Vec<Field> = brand_field(conn, caller, creating)?.into_iter().collect();
        f.extend([
            Field::new("name", "Name", Kind::Text),
            Field::new("description", "Description", Kind::Text),
            Field::new("addresses", "Addresses", Kind::Lines).help(
                "One IP address or CIDR block per line (e.g. 192.0.2.0/24): calls from them are this provider's.",
            ),
        ]);
        let stored = (0..)
            .take_while(|i| values.contains_key(&format!("transformationRules[{i}].matchExpr")))
            .count();
        for i in 0..stored + BLANK_RULES {
            let n = i + 1;
            f.push(
                Field::new(
                    &format!("transformationRules[{i}].matchExpr"),
                    &format!("Rule {n}: match (regular expression)"),
                    Kind::Text,
                )
                .help("Only the first match in the number is replaced, e.g. ^0034."),
            );
            f.push(
                Field::new(
                    &format!("transformationRules[{i}].replaceExpr"),
                    &format!("Rule {n}: replace with"),
                    Kind::Text,
                )
                .help("$1 or ${name} for a group, e.g. +34; empty removes the match."),
            );
            f.push(Field::new(
                &format!("transformationRules[{i}].priority"),
                &format!("Rule {n}: priority (lower first)"),
                Kind::Number,
            ));
        }
        Ok(f)
    }

    fn values(p: &Self::Object, _zone: Tz) -> BTreeMap<String, String> {
        let mut v = BTreeMap::new();
        put(&mut v, "name", Some(&p.name));
        put(&mut v, "description", Some(&p.description));
        v.insert(
            "addresses".into(),
            p.addresses().unwrap_or_default().join("\n"),
        );
        for (i, r) in p.rules().unwrap_or_default().iter().enumerate() {
            let rule = |name: &str| format!("transformationRules[{i}].{name}");
            v.insert(rule("matchExpr"), r.match_expr.clone());
            v.insert(rule("replaceExpr"), r.replace_expr.clone());
            v.insert(rule("priority"), r.priority.to_string());
        }
        v
    }

    fn title(p: &Self::Object) -> String {
        p.name.clone()
    }

    /// `transformationRules` as the API's list; a rule's blank replacement is an empty
    /// one (it removes what matched), not a missing one.
    fn body(
        fields: &[Field],
        form: &BTreeMap<String, String>,
        ctx: &Ctx<'_, Self::Object>,
    ) -> AppResult<Map<String, Value>> {
        let rule = "transformationRules";
        let mut body = fields_body(
            fields.iter().filter(|f| !f.name.starts_with(rule)),
            form,
            ctx.zone,
        )?;
        let mut rules = items(fields, form, rule, ctx.zone)?;
        for r in &mut rules {
            if let Value::Object(r) = r {
                r.entry("replaceExpr").or_insert_with(|| "".into());
            }
        }
        body.insert(rule.into(), rules.into());
        Ok(body)
    }

    fn page_of(id: &str) -> String {
        format!("/ui/ddi_providers/{id}")
    }
}
