//! `/carriers`: the JSON view of a carrier; the rules are in `tenancy::carriers`.

use actix_web::web;
use serde::Serialize;

use crate::api::rest::{self, Rest};
use crate::api::{resource, ts};
use crate::auth::Caller;
use crate::db::carriers::Carrier;
use crate::error::AppResult;
use crate::tenancy::Carriers;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/carriers")
            .route(web::get().to(rest::list::<Carriers>))
            .route(web::post().to(rest::create::<Carriers>)),
    );
    cfg.service(
        resource("/carriers/{id}")
            .route(web::get().to(rest::get::<Carriers>))
            .route(web::put().to(rest::update::<Carriers>))
            .route(web::patch().to(rest::update::<Carriers>))
            .route(web::delete().to(rest::delete::<Carriers>)),
    );
}

impl Rest for Carriers {
    const PATH: &'static str = "/carriers";
    type View = CarrierView;

    fn view(c: Carrier, _caller: &Caller) -> AppResult<CarrierView> {
        Ok(CarrierView {
            id: c.id,
            brand: c.brand_id,
            name: c.name,
            description: c.description,
            code: c.code,
            created_at: ts(c.created_at),
            updated_at: ts(c.updated_at),
        })
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CarrierView {
    pub id: String,
    pub brand: String,
    pub name: String,
    pub description: String,
    pub code: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}
