//! `/rating_profiles`: the JSON view of a rating profile; the rules are in
//! `rating::profiles`.

use actix_web::web;
use serde::Serialize;

use crate::api::rest::{self, Rest};
use crate::api::{resource, ts};
use crate::auth::Caller;
use crate::db::rating_profiles::RatingProfile;
use crate::error::AppResult;
use crate::rating::RatingProfiles;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/rating_profiles")
            .route(web::get().to(rest::list::<RatingProfiles>))
            .route(web::post().to(rest::create::<RatingProfiles>)),
    );
    cfg.service(
        resource("/rating_profiles/{id}")
            .route(web::get().to(rest::get::<RatingProfiles>))
            .route(web::put().to(rest::update::<RatingProfiles>))
            .route(web::patch().to(rest::update::<RatingProfiles>))
            .route(web::delete().to(rest::delete::<RatingProfiles>)),
    );
}

impl Rest for RatingProfiles {
    const PATH: &'static str = "/rating_profiles";
    type View = ProfileView;

    fn view(object: RatingProfile, _caller: &Caller) -> AppResult<ProfileView> {
        Ok(ProfileView::from(object))
    }
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
