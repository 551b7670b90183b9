//! `/call_csv_schedulers`: the JSON view of a scheduler; the rules are in `schedulers`.

use actix_web::web;
use serde::Serialize;

use crate::api::rest::{self, Rest};
use crate::api::{resource, ts};
use crate::auth::Caller;
use crate::error::AppResult;
use crate::schedulers::{Schedulers, ZonedScheduler};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/call_csv_schedulers")
            .route(web::get().to(rest::list::<Schedulers>))
            .route(web::post().to(rest::create::<Schedulers>)),
    );
    cfg.service(
        resource("/call_csv_schedulers/{id}")
            .route(web::get().to(rest::get::<Schedulers>))
            .route(web::put().to(rest::update::<Schedulers>))
            .route(web::patch().to(rest::update::<Schedulers>))
            .route(web::delete().to(rest::delete::<Schedulers>)),
    );
}

impl Rest for Schedulers {
    const PATH: &'static str = "/call_csv_schedulers";
    const READ_ONLY: &'static [&'static str] =
        &["level", "timezone", "lastExecution", "lastExecutionError"];
    // `callDirection: null` means both directions, not "back to the default (outbound)".
    const PATCH_KEEPS_NULLS: bool = true;
    type View = SchedulerView;

    fn view(object: ZonedScheduler, _caller: &Caller) -> AppResult<SchedulerView> {
        Ok(SchedulerView::from(object))
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SchedulerView {
    pub id: String,
    pub brand: String,
    pub client: Option<String>,
    pub level: String,
    pub name: String,
    pub client_type: Option<String>,
    pub unit: String,
    pub frequency: i32,
    pub cron: Option<String>,
    pub call_direction: Option<String>,
    pub carrier: Option<String>,
    pub ddi_provider: Option<String>,
    pub ddi: Option<String>,
    pub endpoint_type: Option<String>,
    pub endpoint_id: Option<String>,
    pub email: String,
    pub notification_template: Option<String>,
    pub kind: String,
    pub group_by: Option<String>,
    pub destination_country: Option<String>,
    pub international: Option<bool>,
    pub digest: bool,
    pub timezone: String,
    pub next_execution: Option<String>,
    pub last_execution: Option<String>,
    pub last_execution_error: Option<String>,
    pub enabled: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl From<ZonedScheduler> for SchedulerView {
    fn from(z: ZonedScheduler) -> SchedulerView {
        let s = z.scheduler;
        SchedulerView {
            id: s.id,
            brand: s.brand_id,
            client: s.client_id,
            level: s.level,
            name: s.name,
            client_type: s.client_type,
            unit: s.unit,
            frequency: s.frequency,
            cron: s.cron,
            call_direction: s.call_direction,
            carrier: s.carrier_id,
            ddi_provider: s.ddi_provider_id,
            ddi: s.ddi_id,
            endpoint_type: s.endpoint_type,
            endpoint_id: s.endpoint_id,
            email: s.email,
            notification_template: s.notification_template_id,
            kind: s.kind,
            group_by: s.group_by,
            destination_country: s.destination_countries,
            international: s.international,
            digest: s.digest,
            timezone: z.timezone,
            next_execution: s.next_execution.map(ts),
            last_execution: s.last_execution.map(ts),
            last_execution_error: s.last_execution_error,
            enabled: s.enabled,
            created_at: ts(s.created_at),
            updated_at: ts(s.updated_at),
        }
    }
}
