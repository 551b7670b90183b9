//! `/rating_profiles`: which rating plan prices a client's calls, or costs a carrier's,
//! from its `activationTime` on (the call's start picks the latest one not after it).
//! Brand business only: a client administrator sees none (403 on the collection, 404 on
//! items). Every reference must belong to the profile's brand.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::{
    created, no_content, ok, paged, parse_body, parse_id, parse_ref, parse_time, patched, resource,
    ts, ListParams,
};
use crate::auth::{Caller, Role};
use crate::db::rating_profiles::{self as profiles, RatingProfile};
use crate::db::{self, DbConnection};
use crate::error::{AppError, AppResult, Validator};
use crate::ids::{BrandId, CarrierId, ClientId, Id};
use crate::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/rating_profiles")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    );
    cfg.service(
        resource("/rating_profiles/{id}")
            .route(web::get().to(get))
            .route(web::put().to(replace))
            .route(web::patch().to(patch))
            .route(web::delete().to(delete)),
    );
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileView {
    pub id: String,
    pub brand: String,
    /// Exactly one of `client` and `carrier` is set; the other is `null`.
    pub client: Option<String>,
    pub carrier: Option<String>,
    pub rating_plan: String,
    pub activation_time: String,
    pub created_at: String,
    pub updated_at: String,
}

impl From<RatingProfile> for ProfileView {
    fn from(p: RatingProfile) -> ProfileView {
        ProfileView {
            id: p.id,
            brand: p.brand_id,
            client: p.client_id,
            carrier: p.carrier_id,
            rating_plan: p.rating_plan_id,
            activation_time: ts(p.activation_time),
            created_at: ts(p.created_at),
            updated_at: ts(p.updated_at),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProfileInput {
    pub brand: Option<String>,
    pub client: Option<String>,
    pub carrier: Option<String>,
    // Required, but optional here so a missing one is reported in `fields` with the rest.
    pub rating_plan: Option<String>,
    pub activation_time: Option<String>,
}

/// The id in a reference field, or `None` after recording why there is none.
fn reference(v: &mut Validator, field: &str, raw: Option<&str>) -> Option<String> {
    let raw = raw?;
    let parsed = parse_ref(field, raw).ok();
    v.check(parsed.is_some(), field, "not a UUID");
    parsed
}

impl ProfileInput {
    /// Validates against `brand_id` (client, carrier and plan must all be of that brand)
    /// and builds the row.
    fn into_row(
        self,
        conn: &mut DbConnection,
        brand_id: &str,
        id: String,
        created_at: chrono::NaiveDateTime,
    ) -> AppResult<RatingProfile> {
        if !db::brands::exists(conn, &BrandId::from_db(brand_id.to_string()))? {
            return Err(AppError::invalid_field("brand", "not found"));
        }
        let mut v = Validator::new();
        match (&self.client, &self.carrier) {
            (None, None) => v.error("client", "exactly one of client and carrier is required"),
            (Some(_), Some(_)) => v.error(
                "carrier",
                "a profile is for a client or a carrier, not both",
            ),
            _ => {}
        }
        // The same words whether a reference is missing or another brand's: never reveal
        // another tenant's ids.
        let client = reference(&mut v, "client", self.client.as_deref());
        if let Some(client_id) = &client {
            let of_brand = db::clients::find(conn, &ClientId::from_db(client_id.clone()))?
                .is_some_and(|c| c.brand_id == brand_id);
            v.check(of_brand, "client", "not found in the brand");
        }
        let carrier = reference(&mut v, "carrier", self.carrier.as_deref());
        if let Some(carrier_id) = &carrier {
            let of_brand = db::carriers::find(conn, &CarrierId::from_db(carrier_id.clone()))?
                .is_some_and(|c| c.brand_id == brand_id);
            v.check(of_brand, "carrier", "not found in the brand");
        }
        v.check(self.rating_plan.is_some(), "ratingPlan", "required");
        let plan = reference(&mut v, "ratingPlan", self.rating_plan.as_deref());
        if let Some(plan_id) = &plan {
            let of_brand =
                db::rating_plans::find(conn, plan_id)?.is_some_and(|p| p.brand_id == brand_id);
            v.check(of_brand, "ratingPlan", "not found in the brand");
        }
        let activation_time = match self.activation_time.as_deref() {
            None => {
                v.error("activationTime", "required");
                None
            }
            Some(raw) => {
                let parsed = parse_time(raw);
                v.check(
                    parsed.is_some(),
                    "activationTime",
                    "an RFC 3339 time with an offset (e.g. 2026-01-01T00:00:00Z)",
                );
                parsed
            }
        };
        v.finish()?;
        let (Some(rating_plan_id), Some(activation_time)) = (plan, activation_time) else {
            // Unreachable: both were checked above.
            return Err(AppError::invalid_field("ratingPlan", "required"));
        };
        Ok(RatingProfile {
            id,
            brand_id: brand_id.to_string(),
            client_id: client,
            carrier_id: carrier,
            rating_plan_id,
            activation_time,
            created_at,
            updated_at: db::now(),
        })
    }
}

/// Validates and stores the profile (insert or update) in one transaction, refusing a
/// second profile of the same client or carrier at the same instant, which would leave
/// the plan in force ambiguous.
fn store(
    conn: &mut DbConnection,
    input: ProfileInput,
    brand_id: &str,
    id: String,
    created_at: chrono::NaiveDateTime,
    is_new: bool,
) -> AppResult<RatingProfile> {
    db::transaction(conn, |conn| {
        let row = input.into_row(conn, brand_id, id, created_at)?;
        if profiles::same_activation_exists(conn, &row)? {
            let owner = if row.client_id.is_some() {
                "client"
            } else {
                "carrier"
            };
            return Err(AppError::conflict(format!(
                "the {owner} already has a rating profile with this activationTime"
            )));
        }
        if is_new {
            profiles::insert(conn, &row)?;
        } else {
            profiles::update(conn, &row)?;
        }
        Ok(row)
    })
}

async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    caller.require(&[Role::Platform, Role::Brand])?;
    let params = ListParams::parse(
        &req,
        &["brand", "client", "carrier", "ratingPlan"],
        &["activationTime", "createdAt"],
    )?;
    let scope = caller.list_scope(params.filter_id("brand")?, None);
    let (brand, nothing) = (scope.brand, scope.nothing);
    let filter = profiles::Filter {
        brand,
        client: params.filter_id("client")?,
        carrier: params.filter_id("carrier")?,
        rating_plan: params.filter_id("ratingPlan")?,
        nothing,
    };
    paged(
        &state.pool,
        &req,
        params,
        move |conn, params| profiles::list(conn, &filter, params),
        ProfileView::from,
    )
    .await
}

/// Loads a profile the caller may see; anything else (including every profile, for a
/// client administrator) is a 404.
async fn visible(state: &AppState, caller: &Caller, id: &str) -> AppResult<RatingProfile> {
    let id = parse_id(id)?;
    if caller.role == Role::Client {
        return Err(AppError::not_found());
    }
    let found = db::run(&state.pool, move |conn| profiles::find(conn, &id)).await?;
    found
        .filter(|p| caller.sees_brand(&p.brand_id))
        .ok_or_else(AppError::not_found)
}

async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    Ok(ok(&ProfileView::from(visible(&state, &caller, &id).await?)))
}

async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<Value>,
) -> AppResult<HttpResponse> {
    caller.require(&[Role::Platform, Role::Brand])?;
    let input: ProfileInput = parse_body(body.into_inner(), &[])?;
    let brand = caller.write_brand(input.brand.as_deref())?;
    let brand = parse_ref("brand", &brand)?;
    let row = db::run(&state.pool, move |conn| {
        store(conn, input, &brand, db::new_id(), db::now(), true)
    })
    .await?;
    Ok(created(
        format!("/rating_profiles/{}", row.id),
        &ProfileView::from(row),
    ))
}

/// PUT and PATCH end here; `visible` has already turned client administrators away.
async fn save(
    state: &AppState,
    current: RatingProfile,
    input: ProfileInput,
) -> AppResult<HttpResponse> {
    if input.brand.as_ref().is_some_and(|b| *b != current.brand_id) {
        return Err(AppError::invalid_field(
            "brand",
            "a rating profile cannot move to another brand",
        ));
    }
    let row = db::run(&state.pool, move |conn| {
        store(
            conn,
            input,
            &current.brand_id,
            current.id,
            current.created_at,
            false,
        )
    })
    .await?;
    Ok(ok(&ProfileView::from(row)))
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
    let input = patched(&ProfileView::from(current.clone()), body.into_inner(), &[])?;
    save(&state, current, input).await
}

async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let current = visible(&state, &caller, &id).await?;
    let deleted = db::run(&state.pool, move |conn| profiles::delete(conn, &current.id)).await?;
    if deleted == 0 {
        return Err(AppError::not_found()); // deleted by a concurrent request
    }
    Ok(no_content())
}
