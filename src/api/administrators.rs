//! `/administrators`: the JSON view of an administrator; the rules are in
//! `tenancy::administrators`.

use actix_web::web;
use serde::Serialize;

use crate::api::rest::{self, Rest};
use crate::api::{resource, ts};
use crate::auth::Caller;
use crate::db::administrators::Administrator;
use crate::error::AppResult;
use crate::tenancy::Administrators;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/administrators")
            .route(web::get().to(rest::list::<Administrators>))
            .route(web::post().to(rest::create::<Administrators>)),
    );
    cfg.service(
        resource("/administrators/{id}")
            .route(web::get().to(rest::get::<Administrators>))
            .route(web::put().to(rest::update::<Administrators>))
            .route(web::patch().to(rest::update::<Administrators>))
            .route(web::delete().to(rest::delete::<Administrators>)),
    );
}

impl Rest for Administrators {
    const PATH: &'static str = "/administrators";
    type View = AdministratorView;

    fn view(a: Administrator, _caller: &Caller) -> AppResult<AdministratorView> {
        Ok(AdministratorView {
            id: a.id,
            username: a.username,
            role: a.role,
            brand: a.brand_id,
            client: a.client_id,
            active: a.active,
            timezone: a.timezone,
            created_at: ts(a.created_at),
            updated_at: ts(a.updated_at),
        })
    }
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
