//! `/ddis`: the JSON view of a DDI; the rules are in `tenancy::ddis`.

use actix_web::web;
use serde::Serialize;

use crate::api::rest::{self, Rest};
use crate::api::{resource, ts};
use crate::auth::{Caller, Role};
use crate::db::ddis::Ddi;
use crate::error::AppResult;
use crate::tenancy::Ddis;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/ddis")
            .route(web::get().to(rest::list::<Ddis>))
            .route(web::post().to(rest::create::<Ddis>)),
    );
    cfg.service(
        resource("/ddis/{id}")
            .route(web::get().to(rest::get::<Ddis>))
            .route(web::put().to(rest::update::<Ddis>))
            .route(web::patch().to(rest::update::<Ddis>))
            .route(web::delete().to(rest::delete::<Ddis>)),
    );
}

impl Rest for Ddis {
    const PATH: &'static str = "/ddis";
    type View = DdiView;

    /// Client administrators never see the provider.
    fn view(d: Ddi, caller: &Caller) -> AppResult<DdiView> {
        let ddi_provider = match caller.role {
            Role::Client => None,
            Role::Platform | Role::Brand => Some(d.ddi_provider_id),
        };
        Ok(DdiView {
            id: d.id,
            brand: d.brand_id,
            client: d.client_id,
            ddi_e164: d.ddi_e164,
            ddi_provider,
            created_at: ts(d.created_at),
            updated_at: ts(d.updated_at),
        })
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DdiView {
    pub id: String,
    pub brand: String,
    pub client: String,
    pub ddi_e164: String,
    /// Outer `None`: hidden from this caller (the field is left out); inner: the link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ddi_provider: Option<Option<String>>,
    pub created_at: String,
    pub updated_at: String,
}
