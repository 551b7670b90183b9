//! `/notification_templates`: the subject and body of the mails the runner sends, one per
//! language. A template with no brand is the global default: platform administrators
//! manage those; brand operators manage their brand's and read the global ones.

use std::collections::HashSet;

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::{
    check_name, created, no_content, ok, page, parse_body, parse_id, parse_ref, patched, resource,
    ts, valid_email, valid_language, ListParams,
};
use crate::auth::{Caller, Role};
use crate::db::notification_templates::{
    self as templates, NotificationTemplate, TemplateContent, TEMPLATE_TYPES,
};
use crate::db::{self, DbConnection};
use crate::error::{AppError, AppResult, Validator};
use crate::ids::{BrandId, Id};
use crate::AppState;

/// Bounds that keep one template a reasonable mail (and a reasonable row).
const MAX_LANGUAGES: usize = 50;
const MAX_SUBJECT: usize = 200;
const MAX_BODY: usize = 100_000;
const MAX_FROM_NAME: usize = 100;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/notification_templates")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    );
    cfg.service(
        resource("/notification_templates/{id}")
            .route(web::get().to(get))
            .route(web::put().to(replace))
            .route(web::patch().to(patch))
            .route(web::delete().to(delete)),
    );
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateView {
    pub id: String,
    pub brand: Option<String>,
    pub name: String,
    #[serde(rename = "type")]
    pub template_type: String,
    pub contents: Vec<TemplateContent>,
    pub created_at: String,
    pub updated_at: String,
}

impl TemplateView {
    fn of(t: NotificationTemplate) -> AppResult<TemplateView> {
        Ok(TemplateView {
            contents: t.contents()?,
            id: t.id,
            brand: t.brand_id,
            name: t.name,
            template_type: t.template_type,
            created_at: ts(t.created_at),
            updated_at: ts(t.updated_at),
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TemplateInput {
    pub brand: Option<String>,
    // Required, but optional here so a missing one is reported in `fields` with the rest.
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub template_type: Option<String>,
    /// Checked item by item (see [`parse_contents`]) so each problem names its place.
    pub contents: Option<Value>,
}

/// One element of `contents` as sent.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ContentInput {
    language: Option<String>,
    from_name: Option<String>,
    from_address: Option<String>,
    subject: Option<String>,
    body: Option<String>,
}

/// Checks `contents` into a list, recording each problem under `contents[i].field`.
fn parse_contents(v: &mut Validator, raw: Option<Value>) -> Vec<TemplateContent> {
    let items = match raw {
        None | Some(Value::Null) => {
            v.error("contents", "required");
            return vec![];
        }
        Some(Value::Array(items)) => items,
        Some(_) => {
            v.error(
                "contents",
                "an array of {language, fromName, fromAddress, subject, body}",
            );
            return vec![];
        }
    };
    v.check(!items.is_empty(), "contents", "at least one language");
    v.check(
        items.len() <= MAX_LANGUAGES,
        "contents",
        format!("at most {MAX_LANGUAGES} languages"),
    );
    let mut languages = HashSet::new();
    let mut contents = vec![];
    for (i, item) in items.into_iter().enumerate() {
        let at = |field: &str| format!("contents[{i}].{field}");
        let item: ContentInput = match serde_json::from_value(item) {
            Ok(item) => item,
            Err(e) => {
                v.error(&format!("contents[{i}]"), e.to_string());
                continue;
            }
        };
        let language = item.language.unwrap_or_default();
        if !valid_language(&language) {
            v.error(&at("language"), "a language code (e.g. en, es, pt-BR)");
        } else if !languages.insert(language.to_ascii_lowercase()) {
            v.error(&at("language"), "given twice in contents");
        }
        // Name, address and subject become mail headers: a line break there would let a
        // template write headers of its own.
        let from_name = item.from_name.map(|n| n.trim().to_string());
        if let Some(name) = &from_name {
            v.check(
                name.chars().count() <= MAX_FROM_NAME,
                &at("fromName"),
                format!("at most {MAX_FROM_NAME} characters"),
            );
            v.check(
                !name.chars().any(char::is_control),
                &at("fromName"),
                "must not contain control characters",
            );
        }
        let from_address = item
            .from_address
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty());
        if let Some(address) = &from_address {
            v.check(
                valid_email(address),
                &at("fromAddress"),
                "not a valid address",
            );
        }
        let subject = item.subject.unwrap_or_default();
        check_name(v, &at("subject"), &subject, MAX_SUBJECT);
        let body = item.body.unwrap_or_default();
        v.check(
            body.chars().count() <= MAX_BODY,
            &at("body"),
            format!("at most {MAX_BODY} characters"),
        );
        contents.push(TemplateContent {
            language,
            from_name: from_name.filter(|n| !n.is_empty()),
            from_address,
            subject: subject.trim().to_string(),
            body,
        });
    }
    contents
}

impl TemplateInput {
    /// Validates and builds the row for `brand_id` (`None`: global).
    fn into_row(
        self,
        conn: &mut DbConnection,
        brand_id: Option<String>,
        id: String,
        created_at: chrono::NaiveDateTime,
    ) -> AppResult<NotificationTemplate> {
        if let Some(brand) = &brand_id {
            if !db::brands::exists(conn, &BrandId::from_db(brand.clone()))? {
                return Err(AppError::invalid_field("brand", "not found"));
            }
        }
        let mut v = Validator::new();
        let name = self.name.unwrap_or_default();
        check_name(&mut v, "name", &name, 100);
        let template_type = self.template_type.unwrap_or_default();
        v.check(
            TEMPLATE_TYPES.contains(&template_type.as_str()),
            "type",
            format!("one of {}", TEMPLATE_TYPES.join(", ")),
        );
        let contents = parse_contents(&mut v, self.contents);
        v.finish()?;
        Ok(NotificationTemplate {
            id,
            brand_id,
            name: name.trim().to_string(),
            template_type,
            contents: serde_json::to_string(&contents).map_err(AppError::internal)?,
            created_at,
            updated_at: db::now(),
        })
    }
}

/// The brand a template is written for: a platform administrator's choice (none = global),
/// a brand operator's own brand.
fn write_brand(caller: &Caller, requested: Option<&str>) -> AppResult<Option<String>> {
    match (caller.role, requested) {
        (Role::Platform, None) => Ok(None),
        (Role::Platform, Some(b)) => parse_ref("brand", b).map(Some),
        _ => caller.write_brand(requested).map(Some),
    }
}

/// Client administrators have nothing to do with templates.
fn require_operator(caller: &Caller) -> AppResult<()> {
    caller.require(&[Role::Platform, Role::Brand])
}

async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    require_operator(&caller)?;
    let params = ListParams::parse(&req, &["brand", "type", "name"], &["name", "createdAt"])?;
    let mut filter = templates::Filter {
        brand: params.filter_id("brand")?,
        template_type: params.filter_choice("type", TEMPLATE_TYPES)?,
        name: params.filter("name").map(str::to_string),
        ..Default::default()
    };
    if let Some(own) = caller.brand_scope() {
        match &filter.brand {
            // Another brand matches nothing, whether it exists or not.
            Some(b) if *b != own => filter.nothing = true,
            Some(_) => {}
            None => filter.brand_or_global = Some(own),
        }
    }
    let (params, (total, rows)) = db::run(&state.pool, move |conn| {
        let result = templates::list(conn, &filter, &params)?;
        Ok((params, result))
    })
    .await?;
    let views = rows
        .into_iter()
        .map(TemplateView::of)
        .collect::<AppResult<Vec<_>>>()?;
    Ok(page(&req, &params, total, views))
}

/// Loads a template the caller may read (its brand's or a global one); else a 404.
async fn visible(state: &AppState, caller: &Caller, id: &str) -> AppResult<NotificationTemplate> {
    let id = parse_id(id)?;
    if caller.role == Role::Client {
        return Err(AppError::not_found());
    }
    let found = db::run(&state.pool, move |conn| templates::find(conn, &id)).await?;
    found
        .filter(|t| t.brand_id.as_deref().is_none_or(|b| caller.sees_brand(b)))
        .ok_or_else(AppError::not_found)
}

/// Loads a template the caller may change: global ones are read-only to brand operators.
async fn writable(state: &AppState, caller: &Caller, id: &str) -> AppResult<NotificationTemplate> {
    let current = visible(state, caller, id).await?;
    require_operator(caller)?;
    if current.brand_id.is_none() && !caller.is_platform() {
        return Err(AppError::forbidden(
            "global templates are managed by platform administrators",
        ));
    }
    Ok(current)
}

async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    Ok(ok(&TemplateView::of(visible(&state, &caller, &id).await?)?))
}

async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<Value>,
) -> AppResult<HttpResponse> {
    require_operator(&caller)?;
    let input: TemplateInput = parse_body(body.into_inner(), &[])?;
    let brand = write_brand(&caller, input.brand.as_deref())?;
    let row = db::run(&state.pool, move |conn| {
        let row = input.into_row(conn, brand, db::new_id(), db::now())?;
        templates::insert(conn, &row)?;
        Ok(row)
    })
    .await?;
    Ok(created(
        format!("/notification_templates/{}", row.id),
        &TemplateView::of(row)?,
    ))
}

async fn save(
    state: &AppState,
    caller: &Caller,
    current: NotificationTemplate,
    input: TemplateInput,
) -> AppResult<HttpResponse> {
    let brand = write_brand(caller, input.brand.as_deref())?;
    if brand != current.brand_id {
        return Err(AppError::invalid_field(
            "brand",
            "a template cannot move to another brand (or between brand and global)",
        ));
    }
    let row = db::run(&state.pool, move |conn| {
        let row = input.into_row(conn, brand, current.id, current.created_at)?;
        templates::update(conn, &row)?;
        Ok(row)
    })
    .await?;
    Ok(ok(&TemplateView::of(row)?))
}

async fn replace(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> AppResult<HttpResponse> {
    let current = writable(&state, &caller, &id).await?;
    let input = parse_body(body.into_inner(), &[])?;
    save(&state, &caller, current, input).await
}

async fn patch(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> AppResult<HttpResponse> {
    let current = writable(&state, &caller, &id).await?;
    let input = patched(&TemplateView::of(current.clone())?, body.into_inner(), &[])?;
    save(&state, &caller, current, input).await
}

async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let current = writable(&state, &caller, &id).await?;
    db::run(&state.pool, move |conn| {
        templates::delete(conn, &current.id)
    })
    .await?;
    Ok(no_content())
}
