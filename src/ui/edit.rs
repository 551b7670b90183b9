//! Create and edit forms for the tenancy resources (clients, carriers, DDIs, notification
//! templates), one page shape: a resource lists its fields, reads its form into the JSON
//! body its API route takes, and the form calls `Resource::create_from` / `update` with
//! the session's caller — the same operations, so the same validation and tenancy. The
//! operation's field errors show next to their fields; another tenant's id is the 404
//! page.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::auth::{Caller, Role};
use crate::db::{self, DbConnection};
use crate::error::{AppError, AppResult};
use crate::ops::Resource;
use crate::tenancy::{Brands, Carriers, Clients, DdiProviders, Ddis, NotificationTemplates};
use crate::ui::schedulers::{all, Choice};
use crate::ui::session::Change;
use crate::ui::view::Nav;
use crate::ui::{html, page, path_id, see_other, Console, UiError};
use crate::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    resource::<Clients>(cfg);
    resource::<Carriers>(cfg);
    resource::<Ddis>(cfg);
    resource::<NotificationTemplates>(cfg);
}

fn resource<R: Edited>(cfg: &mut web::ServiceConfig)
where
    R::Input: DeserializeOwned,
{
    let path = format!("/{}", R::PATH);
    cfg.route(&path, web::post().to(create::<R>))
        .route(&format!("{path}/new"), web::get().to(new::<R>))
        .route(&format!("{path}/{{id}}"), web::get().to(edit::<R>))
        .route(&format!("{path}/{{id}}"), web::post().to(update::<R>));
}

/// How an input is shown.
pub enum Kind {
    Text,
    /// Several lines (a template's body).
    Area,
    Select(Vec<Choice>),
    Check,
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

/// What a resource's form is made of.
pub trait Edited: Resource + 'static {
    /// The console path (`clients`) and nav section.
    const PATH: &'static str;
    const SECTION: &'static str;
    /// "client": the pages' titles.
    const NOUN: &'static str;

    /// The form's fields for this caller (`values`: the form as it stands, to offer only
    /// what fits it), with `creating` for a new object.
    fn fields(
        conn: &mut DbConnection,
        caller: &Caller,
        values: &BTreeMap<String, String>,
        creating: bool,
    ) -> AppResult<Vec<Field>>;

    /// The form's values for a stored object.
    fn values(object: &Self::Object) -> BTreeMap<String, String>;

    /// What the page calls the object.
    fn title(object: &Self::Object) -> String;

    /// The API's JSON body for the posted form. By default each field by its name: text as
    /// a string (blank left out), a check box as a boolean.
    fn body(fields: &[Field], form: &BTreeMap<String, String>) -> Map<String, Value> {
        let mut body = Map::new();
        for f in fields {
            let value = form.get(&f.name).map(|v| v.trim()).unwrap_or_default();
            match f.kind {
                Kind::Check => {
                    body.insert(f.name.clone(), (!value.is_empty()).into());
                }
                _ if value.is_empty() => {}
                _ => {
                    body.insert(f.name.clone(), value.into());
                }
            }
        }
        body
    }

    /// Links shown under the form of a stored object (a template's preview).
    fn extra_links(_object: &Self::Object) -> Vec<(String, String)> {
        vec![]
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
    error: Option<String>,
    links: Vec<(String, String)>,
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

/// The posted form as name → value (the CSRF token left out).
fn posted(form: &[(String, String)]) -> BTreeMap<String, String> {
    form.iter()
        .filter(|(k, _)| k != crate::ui::session::CSRF_FIELD)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The operation's input from the form (the API's body, read by the same type).
fn input_of<R: Edited>(fields: &[Field], form: &BTreeMap<String, String>) -> AppResult<R::Input>
where
    R::Input: DeserializeOwned,
{
    serde_json::from_value(Value::Object(R::body(fields, form)))
        .map_err(|e| AppError::bad_request(format!("the form could not be read: {e}")))
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
    let (errors, error) = match failure {
        Some(e) if !e.fields.is_empty() => (e.fields, None),
        Some(e) => (BTreeMap::new(), Some(e.message)),
        None => (BTreeMap::new(), None),
    };
    FormPage {
        nav: Nav::of(console, R::SECTION),
        heading,
        action: match id {
            Some(id) => format!("/ui/{}/{id}", R::PATH),
            None => format!("/ui/{}", R::PATH),
        },
        back: format!("/ui/{}", R::PATH),
        fields,
        values,
        errors,
        error,
        links,
    }
}

async fn new<R: Edited>(
    state: web::Data<AppState>,
    console: Console,
) -> Result<HttpResponse, UiError>
where
    R::Input: DeserializeOwned,
{
    let caller = console.caller.clone();
    let fields = db::run(&state.pool, move |conn| {
        R::may_create(&caller)?;
        R::fields(conn, &caller, &BTreeMap::new(), true)
    })
    .await?;
    let heading = format!("New {}", R::NOUN);
    page(&form_page::<R>(
        &console,
        None,
        heading,
        fields,
        BTreeMap::new(),
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
    let values = posted(&change.form);
    let form = values.clone();
    let (outcome, fields) = db::run(&state.pool, move |conn| {
        R::may_create(&caller)?;
        let fields = R::fields(conn, &caller, &form, true)?;
        let created = R::create_from(conn, &caller, || input_of::<R>(&fields, &form));
        match created {
            Ok(o) => Ok((Ok(R::id_of(&o).to_string()), fields)),
            Err(e) if e.status.is_client_error() && e.status != StatusCode::FORBIDDEN => {
                Ok((Err(e), fields))
            }
            Err(e) => Err(e),
        }
    })
    .await?;
    match outcome {
        Ok(id) => Ok(see_other(&format!("/ui/{}/{id}", R::PATH))),
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
    let (object, fields, values) = db::run(&state.pool, move |conn| {
        let object = R::find(conn, &caller, &id)?;
        let values = R::values(&object);
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
    let values = posted(&change.form);
    let form = values.clone();
    let (outcome, fields, current) = db::run(&state.pool, move |conn| {
        let current = R::find(conn, &caller, &id)?;
        let fields = R::fields(conn, &caller, &form, false)?;
        let saved = R::update(conn, &caller, &id, |_| input_of::<R>(&fields, &form));
        match saved {
            Ok(_) => Ok((Ok(()), fields, current)),
            Err(e) if e.status.is_client_error() && e.status != StatusCode::FORBIDDEN => {
                Ok((Err(e), fields, current))
            }
            Err(e) => Err(e),
        }
    })
    .await?;
    let object_id = R::id_of(&current).to_string();
    match outcome {
        Ok(()) => Ok(see_other(&format!("/ui/{}/{object_id}", R::PATH))),
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

// ---------------------------------------------------------------------------------------
// The resources

fn pick(items: Vec<(String, String)>) -> Vec<Choice> {
    items
        .into_iter()
        .map(|(value, label)| Choice::new(value, label))
        .collect()
}

fn fixed(values: &[&str]) -> Vec<Choice> {
    values
        .iter()
        .map(|v| Choice::new(v.to_string(), v.to_string()))
        .collect()
}

/// A platform administrator's brand select (when creating); nobody else chooses.
fn brand_field(
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

fn put(v: &mut BTreeMap<String, String>, name: &str, value: Option<&str>) {
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

    fn values(c: &Self::Object) -> BTreeMap<String, String> {
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

    fn values(c: &Self::Object) -> BTreeMap<String, String> {
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

    fn values(d: &Self::Object) -> BTreeMap<String, String> {
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
                        "Variables: ${CALLCSV_COMPANY}, ${CALLCSV_BRAND}, ${CALLCSV_SCHEDULER}, \
                         ${CALLCSV_DATE_IN}, ${CALLCSV_DATE_OUT}, ${CALLCSV_ROWS}.",
                    );
                }
                f.push(field);
            }
        }
        Ok(f)
    }

    fn values(t: &Self::Object) -> BTreeMap<String, String> {
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
    fn body(fields: &[Field], form: &BTreeMap<String, String>) -> Map<String, Value> {
        let get = |name: &str| form.get(name).map(|v| v.trim()).unwrap_or_default();
        let mut body = Map::new();
        for f in fields.iter().filter(|f| !f.name.starts_with("contents[")) {
            if !get(&f.name).is_empty() {
                body.insert(f.name.clone(), get(&f.name).into());
            }
        }
        let mut contents = Vec::new();
        for i in 0.. {
            if !fields
                .iter()
                .any(|f| f.name.starts_with(&format!("contents[{i}].")))
            {
                break;
            }
            let mut item = Map::new();
            for (name, _) in CONTENT_FIELDS {
                // The body keeps its line breaks and spaces as written.
                let raw = form
                    .get(&format!("contents[{i}].{name}"))
                    .map(|v| {
                        if *name == "body" {
                            v.replace("\r\n", "\n")
                        } else {
                            v.trim().to_string()
                        }
                    })
                    .unwrap_or_default();
                if !raw.trim().is_empty() {
                    item.insert(name.to_string(), raw.into());
                }
            }
            if !item.is_empty() {
                contents.push(Value::Object(item));
            }
        }
        body.insert("contents".into(), contents.into());
        body
    }

    fn extra_links(t: &Self::Object) -> Vec<(String, String)> {
        vec![(
            format!("/ui/notification_templates/{}/preview", t.id),
            "Preview the email".into(),
        )]
    }
}
