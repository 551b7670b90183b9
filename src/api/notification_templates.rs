//! `/notification_templates`: the JSON view of a template; the rules are in
//! `tenancy::notification_templates`.

use actix_web::web;
use serde::Serialize;

use crate::api::rest::{self, Rest};
use crate::api::{resource, ts};
use crate::auth::Caller;
use crate::db::notification_templates::{NotificationTemplate, TemplateContent};
use crate::error::AppResult;
use crate::tenancy::NotificationTemplates;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/notification_templates")
            .route(web::get().to(rest::list::<NotificationTemplates>))
            .route(web::post().to(rest::create::<NotificationTemplates>)),
    );
    cfg.service(
        resource("/notification_templates/{id}")
            .route(web::get().to(rest::get::<NotificationTemplates>))
            .route(web::put().to(rest::update::<NotificationTemplates>))
            .route(web::patch().to(rest::update::<NotificationTemplates>))
            .route(web::delete().to(rest::delete::<NotificationTemplates>)),
    );
}

impl Rest for NotificationTemplates {
    const PATH: &'static str = "/notification_templates";
    type View = TemplateView;

    fn view(t: NotificationTemplate, _caller: &Caller) -> AppResult<TemplateView> {
        Ok(TemplateView {
            contents: t.contents()?,
            id: t.id,
            brand: t.brand_id,
            name: t.name,
            template_type: t.template_type,
            created_at: ts(t.created_at),
            updated_at: ts(t.updated_at),
        })
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateView {
    pub id: String,
    pub brand: Option<String>,
    pub name: String,
    #[serde(rename = "type")]
    pub template_type: String,
    pub contents: Vec<TemplateContent>,
    pub created_at: String,
    pub updated_at: String,
}
