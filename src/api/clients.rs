//! `/clients`: the JSON view of a client; the rules are in `tenancy::clients`.

use actix_web::web;
use serde::Serialize;

use crate::api::rest::{self, Rest};
use crate::api::{resource, ts};
use crate::auth::Caller;
use crate::db::clients::Client;
use crate::error::AppResult;
use crate::tenancy::Clients;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/clients")
            .route(web::get().to(rest::list::<Clients>))
            .route(web::post().to(rest::create::<Clients>)),
    );
    cfg.service(
        resource("/clients/{id}")
            .route(web::get().to(rest::get::<Clients>))
            .route(web::put().to(rest::update::<Clients>))
            .route(web::patch().to(rest::update::<Clients>))
            .route(web::delete().to(rest::delete::<Clients>)),
    );
}

impl Rest for Clients {
    const PATH: &'static str = "/clients";
    const DELETE_TAKES_FORCE: bool = true;
    type View = ClientView;

    fn view(c: Client, _caller: &Caller) -> AppResult<ClientView> {
        Ok(ClientView {
            id: c.id,
            brand: c.brand_id,
            name: c.name,
            client_type: c.client_type,
            timezone: c.timezone,
            language: c.language,
            show_billing_details: c.show_billing_details,
            code: c.code,
            country: c.country,
            created_at: ts(c.created_at),
            updated_at: ts(c.updated_at),
        })
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientView {
    pub id: String,
    pub brand: String,
    pub name: String,
    #[serde(rename = "type")]
    pub client_type: String,
    pub timezone: String,
    pub language: String,
    pub show_billing_details: bool,
    pub code: Option<String>,
    /// Home country (ISO alpha-2); none = the brand's. Calls elsewhere are international.
    pub country: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}
