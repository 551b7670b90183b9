//! `/ddi_providers`: the JSON view of a DDI provider; the rules are in
//! `tenancy::ddi_providers`.

use actix_web::web;
use serde::Serialize;

use crate::api::rest::{self, Rest};
use crate::api::{resource, ts};
use crate::auth::Caller;
use crate::db::ddi_providers::DdiProvider;
use crate::detection::TransformationRule;
use crate::error::AppResult;
use crate::tenancy::DdiProviders;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/ddi_providers")
            .route(web::get().to(rest::list::<DdiProviders>))
            .route(web::post().to(rest::create::<DdiProviders>)),
    );
    cfg.service(
        resource("/ddi_providers/{id}")
            .route(web::get().to(rest::get::<DdiProviders>))
            .route(web::put().to(rest::update::<DdiProviders>))
            .route(web::patch().to(rest::update::<DdiProviders>))
            .route(web::delete().to(rest::delete::<DdiProviders>)),
    );
}

impl Rest for DdiProviders {
    const PATH: &'static str = "/ddi_providers";
    type View = DdiProviderView;

    fn view(p: DdiProvider, _caller: &Caller) -> AppResult<DdiProviderView> {
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
