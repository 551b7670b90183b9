//! `/endpoints`: the JSON view of an endpoint; the rules are in `tenancy::endpoints`.

use actix_web::web;
use serde::Serialize;

use crate::api::rest::{self, Rest};
use crate::api::{resource, ts};
use crate::auth::Caller;
use crate::db::endpoints::Endpoint;
use crate::error::AppResult;
use crate::tenancy::Endpoints;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/endpoints")
            .route(web::get().to(rest::list::<Endpoints>))
            .route(web::post().to(rest::create::<Endpoints>)),
    );
    cfg.service(
        resource("/endpoints/{id}")
            .route(web::get().to(rest::get::<Endpoints>))
            .route(web::put().to(rest::update::<Endpoints>))
            .route(web::patch().to(rest::update::<Endpoints>))
            .route(web::delete().to(rest::delete::<Endpoints>)),
    );
}

impl Rest for Endpoints {
    const PATH: &'static str = "/endpoints";
    type View = EndpointView;

    fn view(e: Endpoint, _caller: &Caller) -> AppResult<EndpointView> {
        Ok(EndpointView {
            id: e.id,
            brand: e.brand_id,
            client: e.client_id,
            endpoint_type: e.endpoint_type,
            name: e.name,
            code: e.code,
            created_at: ts(e.created_at),
            updated_at: ts(e.updated_at),
        })
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointView {
    pub id: String,
    pub brand: String,
    pub client: String,
    #[serde(rename = "type")]
    pub endpoint_type: String,
    pub name: String,
    pub code: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}
