//! `/ddi_providers`: who delivers a brand's inbound calls, recognised by source address,
//! with the rules that turn their callee numbers into E.164 (see `crate::detection`).
//! Same roles as `/carriers`: brand business, invisible to client administrators.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::api::{
    check_name, created, no_content, ok, page, parse_body, parse_id, parse_ref, patched, resource,
    ts, ListParams,
};
use crate::auth::{Caller, Role};
use crate::db::{self, ddi_providers, ddi_providers::DdiProvider, DbConnection};
use crate::detection::{self, TransformationRule, MAX_PRIORITY, MAX_RULES};
use crate::error::{AppError, AppResult, Validator};
use crate::fields::check_description;
use crate::ids::{BrandId, Id};
use crate::AppState;

/// A provider's address list is a handful of SBCs or a few blocks; the cap keeps a body
/// (and the per-call matching) small.
pub const MAX_ADDRESSES: usize = 1000;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/ddi_providers")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    );
    cfg.service(
        resource("/ddi_providers/{id}")
            .route(web::get().to(get))
            .route(web::put().to(replace))
            .route(web::patch().to(patch))
            .route(web::delete().to(delete)),
    );
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DdiProviderView {
    pub id: String,
    pub brand: String,
    pub name: String,
    pub description: String,
    pub addresses: Vec<String>,
    pub transformation_rules: Vec<TransformationRule>,
    pub created_at: String,
    pub updated_at: String,
}

impl DdiProviderView {
    fn from_row(p: DdiProvider) -> AppResult<DdiProviderView> {
        Ok(DdiProviderView {
            addresses: p.addresses()?,
            transformation_rules: p.rules()?,
            id: p.id,
            brand: p.brand_id,
            name: p.name,
            description: p.description,
            created_at: ts(p.created_at),
            updated_at: ts(p.updated_at),
        })
    }
}

/// `addresses` and `transformationRules` are taken as raw JSON so that every problem,
/// down to one rule's priority, is reported under its own field name.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DdiProviderInput {
    pub brand: Option<String>,
    pub name: String,
    pub description: Option<String>,
    pub addresses: Option<Value>,
    pub transformation_rules: Option<Value>,
}

impl DdiProviderInput {
    /// Validates and builds the row for `brand_id` (which must exist).
    fn into_row(
        self,
        conn: &mut DbConnection,
        brand_id: &str,
        id: String,
        created_at: chrono::NaiveDateTime,
    ) -> AppResult<DdiProvider> {
        if !db::brands::exists(conn, &BrandId::from_db(brand_id.to_string()))? {
            return Err(AppError::invalid_field("brand", "not found"));
        }
        let mut v = Validator::new();
        check_name(&mut v, "name", &self.name, 100);
        let description = self.description.unwrap_or_default();
        check_description(&mut v, &description);
        let addresses = check_addresses(&mut v, self.addresses);
        let rules = check_rules(&mut v, self.transformation_rules);
        v.finish()?;
        Ok(DdiProvider {
            id,
            brand_id: brand_id.to_string(),
            name: self.name.trim().to_string(),
            description,
            addresses: ddi_providers::to_json(&addresses)?,
            transformation_rules: ddi_providers::to_json(&rules)?,
            created_at,
            updated_at: db::now(),
        })
    }
}

/// The address list in canonical text; absent or `null` is an empty list.
fn check_addresses(v: &mut Validator, raw: Option<Value>) -> Vec<String> {
    let items = match raw {
        None | Some(Value::Null) => return vec![],
        Some(Value::Array(items)) => items,
        Some(_) => {
            v.error(
                "addresses",
                "must be an array of IP addresses or CIDR blocks",
            );
            return vec![];
        }
    };
    if items.len() > MAX_ADDRESSES {
        v.error("addresses", format!("at most {MAX_ADDRESSES} addresses"));
        return vec![];
    }
    let mut nets = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let field = format!("addresses[{i}]");
        let Some(text) = item.as_str() else {
            v.error(&field, "must be a string");
            continue;
        };
        match detection::parse_address(text) {
            Err(e) => v.error(&field, e),
            Ok(net) => match nets.iter().find(|(_, n)| *n == net) {
                Some((j, _)) => v.error(&field, format!("duplicate of addresses[{j}]")),
                None => nets.push((i, net)),
            },
        }
    }
    nets.iter()
        .map(|(_, net)| detection::address_text(net))
        .collect()
}

/// The rule list as given (order kept; priority decides the order they run in);
/// absent or `null` is an empty list.
fn check_rules(v: &mut Validator, raw: Option<Value>) -> Vec<TransformationRule> {
    let items = match raw {
        None | Some(Value::Null) => return vec![],
        Some(Value::Array(items)) => items,
        Some(_) => {
            v.error(
                "transformationRules",
                "must be an array of {matchExpr, replaceExpr, priority}",
            );
            return vec![];
        }
    };
    if items.len() > MAX_RULES {
        v.error("transformationRules", format!("at most {MAX_RULES} rules"));
        return vec![];
    }
    items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| check_rule(v, &format!("transformationRules[{i}]"), item))
        .collect()
}

fn check_rule(v: &mut Validator, field: &str, item: &Value) -> Option<TransformationRule> {
    let Value::Object(map) = item else {
        v.error(
            field,
            "must be an object {matchExpr, replaceExpr, priority}",
        );
        return None;
    };
    if let Some(unknown) = map
        .keys()
        .find(|k| !["matchExpr", "replaceExpr", "priority"].contains(&k.as_str()))
    {
        v.error(
            field,
            format!("unknown field {unknown:?} (expected matchExpr, replaceExpr, priority)"),
        );
    }
    let match_field = format!("{field}.matchExpr");
    let replace_field = format!("{field}.replaceExpr");
    let priority_field = format!("{field}.priority");

    let match_expr = string_field(v, map, "matchExpr", &match_field);
    let replace_expr = string_field(v, map, "replaceExpr", &replace_field);
    let regex = match_expr
        .as_deref()
        .and_then(|expr| match detection::compile_match(expr) {
            Ok(re) => Some(re),
            Err(e) => {
                v.error(&match_field, e);
                None
            }
        });
    // Group references can only be checked against a pattern that compiled.
    if let (Some(re), Some(replace)) = (&regex, &replace_expr) {
        if let Err(e) = detection::check_replacement(re, replace) {
            v.error(&replace_field, e);
        }
    }
    let priority = match map.get("priority").and_then(Value::as_i64) {
        Some(p) if (0..=MAX_PRIORITY).contains(&p) => Some(p),
        _ => {
            v.error(
                &priority_field,
                format!("required, an integer from 0 to {MAX_PRIORITY}"),
            );
            None
        }
    };
    Some(TransformationRule {
        match_expr: match_expr?,
        replace_expr: replace_expr?,
        priority: priority?,
    })
}

fn string_field(
    v: &mut Validator,
    map: &Map<String, Value>,
    key: &str,
    field: &str,
) -> Option<String> {
    match map.get(key) {
        Some(Value::String(s)) => Some(s.clone()),
        _ => {
            v.error(field, "required, a string");
            None
        }
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
    let filter = ddi_providers::Filter {
        brand,
        name: params.filter("name").map(str::to_string),
        nothing,
    };
    let (params, (total, rows)) = db::run(&state.pool, move |conn| {
        let result = ddi_providers::list(conn, &filter, &params)?;
        Ok((params, result))
    })
    .await?;
    let views = rows
        .into_iter()
        .map(DdiProviderView::from_row)
        .collect::<AppResult<Vec<_>>>()?;
    Ok(page(&req, &params, total, views))
}

/// Loads a provider the caller may see; anything else (including every provider, for a
/// client administrator) is a 404.
async fn visible(state: &AppState, caller: &Caller, id: &str) -> AppResult<DdiProvider> {
    let id = parse_id(id)?;
    if caller.role == Role::Client {
        return Err(AppError::not_found());
    }
    let found = db::run(&state.pool, move |conn| ddi_providers::find(conn, &id)).await?;
    found
        .filter(|p| caller.sees_brand(&p.brand_id))
        .ok_or_else(AppError::not_found)
}

async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let found = visible(&state, &caller, &id).await?;
    Ok(ok(&DdiProviderView::from_row(found)?))
}

async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<Value>,
) -> AppResult<HttpResponse> {
    caller.require(&[Role::Platform, Role::Brand])?;
    let input: DdiProviderInput = parse_body(body.into_inner(), &[])?;
    let brand = caller.write_brand(input.brand.as_deref())?;
    let brand = parse_ref("brand", &brand)?;
    let row = db::run(&state.pool, move |conn| {
        let row = input.into_row(conn, &brand, db::new_id(), db::now())?;
        ddi_providers::insert(conn, &row)?;
        Ok(row)
    })
    .await?;
    Ok(created(
        format!("/ddi_providers/{}", row.id),
        &DdiProviderView::from_row(row)?,
    ))
}

/// PUT and PATCH end here; `visible` has already turned client administrators away.
async fn save(
    state: &AppState,
    current: DdiProvider,
    input: DdiProviderInput,
) -> AppResult<HttpResponse> {
    if input.brand.as_ref().is_some_and(|b| *b != current.brand_id) {
        return Err(AppError::invalid_field(
            "brand",
            "a DDI provider cannot move to another brand",
        ));
    }
    let row = db::run(&state.pool, move |conn| {
        let row = input.into_row(conn, &current.brand_id, current.id, current.created_at)?;
        ddi_providers::update(conn, &row)?;
        Ok(row)
    })
    .await?;
    Ok(ok(&DdiProviderView::from_row(row)?))
}

async fn replace(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> AppResult<HttpResponse> {
    let current = visible(&state, &caller, &id).await?;
    let input = parse_body(body.into_inner(), &[])?;
    save(&state, current, input).await
}

async fn patch(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> AppResult<HttpResponse> {
    let current = visible(&state, &caller, &id).await?;
    let view = DdiProviderView::from_row(current.clone())?;
    let input = patched(&view, body.into_inner(), &[])?;
    save(&state, current, input).await
}

async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let current = visible(&state, &caller, &id).await?;
    let deleted = db::run(&state.pool, move |conn| {
        ddi_providers::delete(conn, &current.id)
    })
    .await?;
    if deleted == 0 {
        return Err(AppError::not_found()); // deleted by a concurrent request
    }
    Ok(no_content())
}
