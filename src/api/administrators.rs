//! `/administrators`: platform administrators manage everybody; a brand operator manages
//! its brand's operators and its clients' administrators; a client administrator sees and
//! edits only itself (password and timezone).

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::{
    check_name, created, no_content, ok, paged, parse_body, parse_id, parse_ref, patched, resource,
    ts, ListParams,
};
use crate::auth::{password, Caller, Role};
use crate::db::{self, administrators, administrators::Administrator, DbConnection};
use crate::error::{AppError, AppResult, Validator};
use crate::ids::{BrandId, ClientId, Id};
use crate::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/administrators")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    );
    cfg.service(
        resource("/administrators/{id}")
            .route(web::get().to(get))
            .route(web::put().to(replace))
            .route(web::patch().to(patch))
            .route(web::delete().to(delete)),
    );
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdministratorView {
    pub id: String,
    pub username: String,
    pub role: String,
    pub brand: Option<String>,
    pub client: Option<String>,
    pub active: bool,
    pub timezone: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Administrator> for AdministratorView {
    fn from(a: Administrator) -> AdministratorView {
        AdministratorView {
            id: a.id,
            username: a.username,
            role: a.role,
            brand: a.brand_id,
            client: a.client_id,
            active: a.active,
            timezone: a.timezone,
            created_at: ts(a.created_at),
            updated_at: ts(a.updated_at),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AdministratorInput {
    pub username: String,
    /// Required on create; absent on update = keep the current one.
    pub password: Option<String>,
    pub role: String,
    pub brand: Option<String>,
    pub client: Option<String>,
    pub active: Option<bool>,
    pub timezone: Option<String>,
}

/// Field checks that need no database.
fn validate_fields(input: &AdministratorInput, creating: bool) -> AppResult<Role> {
    let mut v = Validator::new();
    check_name(&mut v, "username", &input.username, 100);
    v.check(
        !input.username.contains(char::is_whitespace),
        "username",
        "must not contain spaces",
    );
    match &input.password {
        Some(p) => v.check(
            p.chars().count() >= 8 && p.len() <= 1024,
            "password",
            "8 to 1024 characters",
        ),
        None => v.check(!creating, "password", "required"),
    }
    let role = Role::parse(&input.role);
    v.check(role.is_some(), "role", "one of platform, brand, client");
    if let Some(tz) = &input.timezone {
        v.check(
            super::valid_timezone(tz),
            "timezone",
            "not an IANA time zone (e.g. Europe/Madrid)",
        );
    }
    v.finish()?;
    role.ok_or_else(|| AppError::invalid_field("role", "one of platform, brand, client"))
}

/// Resolves and checks the brand/client an administrator of `role` belongs to, as the
/// caller is allowed to assign them. Returns (brand, client).
fn tenant_of(
    conn: &mut DbConnection,
    caller: &Caller,
    role: Role,
    brand: Option<String>,
    client: Option<String>,
) -> AppResult<(Option<String>, Option<String>)> {
    if caller.role == Role::Brand && role == Role::Platform {
        return Err(AppError::forbidden(
            "a brand operator cannot create platform administrators",
        ));
    }
    match role {
        Role::Platform => {
            if brand.is_some() || client.is_some() {
                return Err(AppError::invalid_field(
                    "brand",
                    "platform administrators belong to no brand or client",
                ));
            }
            Ok((None, None))
        }
        Role::Brand => {
            if client.is_some() {
                return Err(AppError::invalid_field(
                    "client",
                    "brand operators belong to no client",
                ));
            }
            let brand = caller.write_brand(brand.as_deref())?;
            let brand = parse_ref("brand", &brand)?;
            if !db::brands::exists(conn, &BrandId::from_db(brand.clone()))? {
                return Err(AppError::invalid_field("brand", "not found"));
            }
            Ok((Some(brand), None))
        }
        Role::Client => {
            let client = client.ok_or_else(|| {
                AppError::invalid_field("client", "required for client administrators")
            })?;
            let client = parse_ref("client", &client)?;
            let found = db::clients::find(conn, &ClientId::from_db(client.clone()))?
                .filter(|c| caller.sees_client(&c.brand_id, &c.id));
            let found = found.ok_or_else(|| AppError::invalid_field("client", "not found"))?;
            if let Some(b) = brand {
                if b != found.brand_id {
                    return Err(AppError::invalid_field(
                        "brand",
                        "is not the client's brand",
                    ));
                }
            }
            Ok((Some(found.brand_id), Some(found.id)))
        }
    }
}

/// May the caller see this administrator? (Client administrators see themselves only.)
fn sees(caller: &Caller, a: &Administrator) -> bool {
    match caller.role {
        Role::Platform => true,
        Role::Brand => a.brand_id.is_some() && a.brand_id == caller.brand_id,
        Role::Client => a.id == caller.id,
    }
}

async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let params = ListParams::parse(
        &req,
        &["username", "role", "brand", "client", "active"],
        &["username", "createdAt"],
    )?;
    let mut filter = administrators::Filter {
        brand: params.filter_id("brand")?,
        username: params.filter("username").map(str::to_string),
        role: params.filter_choice("role", &["platform", "brand", "client"])?,
        client: params.filter_id("client")?,
        active: params.filter_bool("active")?,
        ..Default::default()
    };
    match caller.role {
        Role::Platform => {}
        Role::Brand => {
            // Another brand named in the filter simply matches nothing.
            if filter.brand.is_some() && filter.brand != caller.brand_id {
                filter.only_id = Some(String::new());
            }
            filter.brand = caller.brand_id.clone();
        }
        Role::Client => filter.only_id = Some(caller.id.clone()),
    }
    paged(
        &state.pool,
        &req,
        params,
        move |conn, params| administrators::list(conn, &filter, params),
        AdministratorView::from,
    )
    .await
}

async fn visible(state: &AppState, caller: &Caller, id: &str) -> AppResult<Administrator> {
    let id = parse_id(id)?;
    let found = db::run(&state.pool, move |conn| administrators::find(conn, &id)).await?;
    found
        .filter(|a| sees(caller, a))
        .ok_or_else(AppError::not_found)
}

async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    Ok(ok(&AdministratorView::from(
        visible(&state, &caller, &id).await?,
    )))
}

async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<Value>,
) -> AppResult<HttpResponse> {
    caller.require(&[Role::Platform, Role::Brand])?;
    let input: AdministratorInput = parse_body(body.into_inner(), &[])?;
    let role = validate_fields(&input, true)?;
    let plain = input.password.clone().unwrap_or_default();
    let hash = web::block(move || password::hash(&plain))
        .await?
        .map_err(AppError::internal)?;
    let row = db::run(&state.pool, move |conn| {
        let (brand_id, client_id) = tenant_of(conn, &caller, role, input.brand, input.client)?;
        let now = db::now();
        let row = Administrator {
            id: db::new_id(),
            username: input.username.trim().to_string(),
            password_hash: hash,
            role: role.as_str().to_string(),
            brand_id,
            client_id,
            active: input.active.unwrap_or(true),
            timezone: input.timezone,
            created_at: now,
            updated_at: now,
            token_version: 0,
        };
        administrators::insert(conn, &row)?;
        Ok(row)
    })
    .await?;
    Ok(created(
        format!("/administrators/{}", row.id),
        &AdministratorView::from(row),
    ))
}

async fn save(
    state: &AppState,
    caller: Caller,
    current: Administrator,
    input: AdministratorInput,
) -> AppResult<HttpResponse> {
    let role = validate_fields(&input, false)?;
    let is_self = current.id == caller.id;
    if caller.role == Role::Client {
        // A client administrator may change its own password and timezone, nothing else.
        let same = input.username.trim() == current.username
            && role.as_str() == current.role
            && input
                .brand
                .as_deref()
                .is_none_or(|b| Some(b) == current.brand_id.as_deref())
            && input
                .client
                .as_deref()
                .is_none_or(|c| Some(c) == current.client_id.as_deref())
            && input.active.unwrap_or(current.active) == current.active;
        if !same {
            return Err(AppError::forbidden(
                "a client administrator may change only its password and timezone",
            ));
        }
    }
    if is_self && input.active == Some(false) {
        return Err(AppError::invalid_field(
            "active",
            "you cannot deactivate yourself",
        ));
    }
    if is_self && role.as_str() != current.role {
        return Err(AppError::invalid_field(
            "role",
            "you cannot change your own role",
        ));
    }
    let password_changed = input.password.is_some();
    let hash = match input.password.clone() {
        Some(plain) => web::block(move || password::hash(&plain))
            .await?
            .map_err(AppError::internal)?,
        None => current.password_hash.clone(),
    };
    let row = db::run(&state.pool, move |conn| {
        let (brand_id, client_id) = if caller.role == Role::Client {
            (current.brand_id.clone(), current.client_id.clone())
        } else {
            tenant_of(conn, &caller, role, input.brand, input.client)?
        };
        let row = Administrator {
            username: input.username.trim().to_string(),
            password_hash: hash,
            role: role.as_str().to_string(),
            brand_id,
            client_id,
            active: input.active.unwrap_or(current.active),
            timezone: input.timezone,
            updated_at: db::now(),
            ..current
        };
        diesel::Connection::transaction(conn, |conn| {
            administrators::update(conn, &row)?;
            if password_changed {
                // Tokens issued before the change stop working (see `auth::caller`).
                administrators::revoke_tokens(conn, &row.id)?;
            }
            Ok::<_, AppError>(())
        })?;
        Ok(row)
    })
    .await?;
    Ok(ok(&AdministratorView::from(row)))
}

async fn replace(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> AppResult<HttpResponse> {
    let current = visible(&state, &caller, &id).await?;
    let input = parse_body(body.into_inner(), &[])?;
    save(&state, caller, current, input).await
}

async fn patch(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> AppResult<HttpResponse> {
    let current = visible(&state, &caller, &id).await?;
    let input = patched(
        &AdministratorView::from(current.clone()),
        body.into_inner(),
        &[],
    )?;
    save(&state, caller, current, input).await
}

async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let current = visible(&state, &caller, &id).await?;
    caller.require(&[Role::Platform, Role::Brand])?;
    if current.id == caller.id {
        return Err(AppError::invalid_field("id", "you cannot delete yourself"));
    }
    if caller.role == Role::Brand && current.role == "platform" {
        return Err(AppError::not_found());
    }
    db::run(&state.pool, move |conn| {
        administrators::delete(conn, &current.id)
    })
    .await?;
    Ok(no_content())
}
