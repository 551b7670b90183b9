//! `/brands`: platform administrators manage brands; brand and client administrators read
//! their own.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::{
    check_name, created, force_param, no_content, ok, paged, parse_body, parse_id, patched,
    resource, ts, ListParams,
};
use crate::auth::{Caller, Role};
use crate::db::{self, brands, brands::Brand};
use crate::error::{AppError, AppResult, Validator};
use crate::ids::{BrandId, Id};
use crate::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/brands")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    );
    cfg.service(
        resource("/brands/{id}")
            .route(web::get().to(get))
            .route(web::put().to(replace))
            .route(web::patch().to(patch))
            .route(web::delete().to(delete)),
    );
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BrandView {
    pub id: String,
    pub name: String,
    pub timezone: String,
    pub language: String,
    pub currency: String,
    pub email: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Brand> for BrandView {
    fn from(b: Brand) -> BrandView {
        BrandView {
            id: b.id,
            name: b.name,
            timezone: b.timezone,
            language: b.language,
            currency: b.currency,
            email: b.email,
            created_at: ts(b.created_at),
            updated_at: ts(b.updated_at),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BrandInput {
    pub name: String,
    pub timezone: Option<String>,
    pub language: Option<String>,
    pub currency: Option<String>,
    pub email: Option<String>,
}

impl BrandInput {
    /// Validates and fills defaults into a row (id and times are the caller's).
    fn into_row(self, id: String, created_at: chrono::NaiveDateTime) -> AppResult<Brand> {
        let mut v = Validator::new();
        check_name(&mut v, "name", &self.name, 100);
        let timezone = self.timezone.unwrap_or_else(|| "UTC".into());
        v.check(
            super::valid_timezone(&timezone),
            "timezone",
            "not an IANA time zone (e.g. Europe/Madrid)",
        );
        let language = self.language.unwrap_or_else(|| "en".into());
        v.check(
            super::valid_language(&language),
            "language",
            "not a language code (e.g. en, es, pt-BR)",
        );
        let currency = self.currency.unwrap_or_else(|| "EUR".into());
        v.check(
            super::valid_currency(&currency),
            "currency",
            "not an ISO 4217 code (e.g. EUR)",
        );
        let email = self.email.filter(|e| !e.trim().is_empty());
        if let Some(email) = &email {
            v.check(super::valid_email(email), "email", "not a valid address");
        }
        v.finish()?;
        Ok(Brand {
            id,
            name: self.name.trim().to_string(),
            timezone,
            language,
            currency,
            email,
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
    let params = ListParams::parse(&req, &["name"], &["name", "createdAt"])?;
    let only = caller.brand_scope();
    if !caller.is_platform() && only.is_none() {
        return Err(AppError::forbidden("no brand"));
    }
    paged(
        &state.pool,
        &req,
        params,
        move |conn, params| brands::list(conn, only.as_deref(), params),
        BrandView::from,
    )
    .await
}

/// Loads a brand the caller may see; anything else is a 404.
async fn visible(state: &AppState, caller: &Caller, id: &str) -> AppResult<Brand> {
    let id = parse_id(id)?;
    let brand = db::run(&state.pool, move |conn| {
        brands::find(conn, &BrandId::from_db(id))
    })
    .await?;
    match brand {
        Some(b) if caller.sees_brand(&b.id) => Ok(b),
        _ => Err(AppError::not_found()),
    }
}

async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let brand = visible(&state, &caller, &id).await?;
    Ok(ok(&BrandView::from(brand)))
}

async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<Value>,
) -> AppResult<HttpResponse> {
    caller.require(&[Role::Platform])?;
    let input: BrandInput = parse_body(body.into_inner(), &[])?;
    let row = input.into_row(db::new_id(), db::now())?;
    let row = db::run(&state.pool, move |conn| {
        brands::insert(conn, &row).map(|_| row)
    })
    .await?;
    Ok(created(
        format!("/brands/{}", row.id),
        &BrandView::from(row),
    ))
}

async fn save(state: &AppState, current: Brand, input: BrandInput) -> AppResult<HttpResponse> {
    let row = input.into_row(current.id, current.created_at)?;
    let row = db::run(&state.pool, move |conn| {
        brands::update(conn, &row).map(|_| row)
    })
    .await?;
    Ok(ok(&BrandView::from(row)))
}

async fn replace(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> AppResult<HttpResponse> {
    let current = visible(&state, &caller, &id).await?;
    caller.require(&[Role::Platform])?;
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
    caller.require(&[Role::Platform])?;
    let input = patched(&BrandView::from(current.clone()), body.into_inner(), &[])?;
    save(&state, current, input).await
}

async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let current = visible(&state, &caller, &id).await?;
    caller.require(&[Role::Platform])?;
    let force = force_param(&req)?;
    db::run(&state.pool, move |conn| {
        db::transaction(conn, |conn| {
            if !force && brands::has_data(conn, &BrandId::from_db(current.id.clone()))? {
                return Err(AppError::conflict(
                    "the brand has clients, carriers, providers, templates or administrators; delete them first or use ?force=true",
                ));
            }
            brands::delete(conn, &BrandId::from_db(current.id.clone()))
        })
    })
    .await?;
    Ok(no_content())
}
