//! `/carriers`: the routes a brand's outbound calls leave by. Brand operators (and platform
//! administrators, naming the brand) manage them. Carriers are the brand's business, not
//! its clients': a client administrator sees none (403 on the collection, 404 on items).

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::{
    check_name, created, no_content, ok, paged, parse_body, parse_id, parse_ref, patched, resource,
    ts, ListParams,
};
use crate::auth::{Caller, Role};
use crate::db::{self, carriers, carriers::Carrier, DbConnection};
use crate::error::{AppError, AppResult, Validator};
use crate::AppState;

pub const MAX_DESCRIPTION_CHARS: usize = 1000;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/carriers")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    );
    cfg.service(
        resource("/carriers/{id}")
            .route(web::get().to(get))
            .route(web::put().to(replace))
            .route(web::patch().to(patch))
            .route(web::delete().to(delete)),
    );
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CarrierView {
    pub id: String,
    pub brand: String,
    pub name: String,
    pub description: String,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Carrier> for CarrierView {
    fn from(c: Carrier) -> CarrierView {
        CarrierView {
            id: c.id,
            brand: c.brand_id,
            name: c.name,
            description: c.description,
            created_at: ts(c.created_at),
            updated_at: ts(c.updated_at),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CarrierInput {
    pub brand: Option<String>,
    pub name: String,
    pub description: Option<String>,
}

impl CarrierInput {
    /// Validates and builds the row for `brand_id` (which must exist).
    fn into_row(
        self,
        conn: &mut DbConnection,
        brand_id: &str,
        id: String,
        created_at: chrono::NaiveDateTime,
    ) -> AppResult<Carrier> {
        if !db::brands::exists(conn, brand_id)? {
            return Err(AppError::invalid_field("brand", "not found"));
        }
        let mut v = Validator::new();
        check_name(&mut v, "name", &self.name, 100);
        let description = self.description.unwrap_or_default();
        check_description(&mut v, &description);
        v.finish()?;
        Ok(Carrier {
            id,
            brand_id: brand_id.to_string(),
            name: self.name.trim().to_string(),
            description,
            created_at,
            updated_at: db::now(),
        })
    }
}

/// A free-text description: may be empty, bounded, no control characters but newlines.
pub fn check_description(v: &mut Validator, description: &str) {
    v.check(
        description.chars().count() <= MAX_DESCRIPTION_CHARS,
        "description",
        format!("at most {MAX_DESCRIPTION_CHARS} characters"),
    );
    v.check(
        !description
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t'),
        "description",
        "must not contain control characters",
    );
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
    let filter = carriers::Filter {
        brand,
        name: params.filter("name").map(str::to_string),
        nothing,
    };
    paged(
        &state.pool,
        &req,
        params,
        move |conn, params| carriers::list(conn, &filter, params),
        CarrierView::from,
    )
    .await
}

/// Loads a carrier the caller may see; anything else (including every carrier, for a
/// client administrator) is a 404.
async fn visible(state: &AppState, caller: &Caller, id: &str) -> AppResult<Carrier> {
    let id = parse_id(id)?;
    if caller.role == Role::Client {
        return Err(AppError::not_found());
    }
    let found = db::run(&state.pool, move |conn| carriers::find(conn, &id)).await?;
    found
        .filter(|c| caller.sees_brand(&c.brand_id))
        .ok_or_else(AppError::not_found)
}

async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    Ok(ok(&CarrierView::from(visible(&state, &caller, &id).await?)))
}

async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<Value>,
) -> AppResult<HttpResponse> {
    caller.require(&[Role::Platform, Role::Brand])?;
    let input: CarrierInput = parse_body(body.into_inner(), &[])?;
    let brand = caller.write_brand(input.brand.as_deref())?;
    let brand = parse_ref("brand", &brand)?;
    let row = db::run(&state.pool, move |conn| {
        let row = input.into_row(conn, &brand, db::new_id(), db::now())?;
        carriers::insert(conn, &row)?;
        Ok(row)
    })
    .await?;
    Ok(created(
        format!("/carriers/{}", row.id),
        &CarrierView::from(row),
    ))
}

/// PUT and PATCH end here; `visible` has already turned client administrators away.
async fn save(state: &AppState, current: Carrier, input: CarrierInput) -> AppResult<HttpResponse> {
    if input.brand.as_ref().is_some_and(|b| *b != current.brand_id) {
        return Err(AppError::invalid_field(
            "brand",
            "a carrier cannot move to another brand",
        ));
    }
    let row = db::run(&state.pool, move |conn| {
        let row = input.into_row(conn, &current.brand_id, current.id, current.created_at)?;
        carriers::update(conn, &row)?;
        Ok(row)
    })
    .await?;
    Ok(ok(&CarrierView::from(row)))
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
    let input = patched(&CarrierView::from(current.clone()), body.into_inner(), &[])?;
    save(&state, current, input).await
}

async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let current = visible(&state, &caller, &id).await?;
    let deleted = db::run(&state.pool, move |conn| carriers::delete(conn, &current.id)).await?;
    if deleted == 0 {
        return Err(AppError::not_found()); // deleted by a concurrent request
    }
    Ok(no_content())
}
