//! `/brands`: the JSON view of a brand; the rules are in `tenancy::brands`.

use actix_web::web;
use serde::Serialize;

use crate::api::rest::{self, Rest};
use crate::api::{resource, ts};
use crate::auth::Caller;
use crate::db::brands::Brand;
use crate::error::AppResult;
use crate::tenancy::Brands;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/brands")
            .route(web::get().to(rest::list::<Brands>))
            .route(web::post().to(rest::create::<Brands>)),
    );
    cfg.service(
        resource("/brands/{id}")
            .route(web::get().to(rest::get::<Brands>))
            .route(web::put().to(rest::update::<Brands>))
            .route(web::patch().to(rest::update::<Brands>))
            .route(web::delete().to(rest::delete::<Brands>)),
    );
}

impl Rest for Brands {
    const PATH: &'static str = "/brands";
    const DELETE_TAKES_FORCE: bool = true;
    type View = BrandView;

    fn view(b: Brand, _caller: &Caller) -> AppResult<BrandView> {
        Ok(BrandView {
            id: b.id,
            name: b.name,
            timezone: b.timezone,
            language: b.language,
            currency: b.currency,
            email: b.email,
            country: b.country,
            created_at: ts(b.created_at),
            updated_at: ts(b.updated_at),
        })
    }
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
    pub country: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}
