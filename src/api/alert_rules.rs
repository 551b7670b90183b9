//! `/alert_rules` and `/alert_events`: the JSON views; the rules are in `alerts`.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use crate::alerts::events::{self, AlertEventView};
use crate::alerts::{AlertRules, ZonedRule};
use crate::api::rest::{self, Rest};
use crate::api::{ok, paged, resource, ts};
use crate::auth::Caller;
use crate::db::alerts::split_list;
use crate::error::AppResult;
use crate::ids::{AlertEventId, Id};
use crate::listing::ListParams;
use crate::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/alert_rules")
            .route(web::get().to(rest::list::<AlertRules>))
            .route(web::post().to(rest::create::<AlertRules>)),
    );
    cfg.service(
        resource("/alert_rules/{id}")
            .route(web::get().to(rest::get::<AlertRules>))
            .route(web::put().to(rest::update::<AlertRules>))
            .route(web::patch().to(rest::update::<AlertRules>))
            .route(web::delete().to(rest::delete::<AlertRules>)),
    );
    cfg.service(resource("/alert_rules/{id}/test").route(web::post().to(test_rule)));
    cfg.service(resource("/alert_events").route(web::get().to(list_events)));
    cfg.service(resource("/alert_events/{id}").route(web::get().to(get_event)));
}

impl Rest for AlertRules {
    const PATH: &'static str = "/alert_rules";
    const READ_ONLY: &'static [&'static str] = &["level", "timezone"];
    // `direction: null` means both directions, `per: null` the whole scope.
    const PATCH_KEEPS_NULLS: bool = true;
    type View = AlertRuleView;

    fn view(object: ZonedRule, _caller: &Caller) -> AppResult<AlertRuleView> {
        Ok(AlertRuleView::from(object))
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookView {
    pub url: String,
    /// Only in the answer that made it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertRuleView {
    pub id: String,
    pub brand: String,
    pub client: Option<String>,
    pub level: String,
    pub name: String,
    pub enabled: bool,
    pub kind: String,
    pub client_type: Option<String>,
    pub carrier: Option<String>,
    pub endpoint_type: Option<String>,
    pub endpoint_id: Option<String>,
    pub direction: Option<String>,
    pub destination_country: Option<String>,
    pub email: String,
    pub webhook: Option<WebhookView>,
    pub notification_template: Option<String>,
    pub timezone: String,
    // Each kind shows its own settings only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measure: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub countries: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefixes: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compare_to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_calls: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_calls: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minutes: Option<i32>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<ZonedRule> for AlertRuleView {
    fn from(z: ZonedRule) -> AlertRuleView {
        let r = z.rule;
        // A quality rule's metric and value share the columns of spend's measure and threshold.
        let quality = r.kind == crate::alerts::rules::QUALITY;
        let (measure, metric) = match quality {
            true => (None, r.measure),
            false => (r.measure, None),
        };
        let (threshold, value) = match quality {
            true => (None, r.threshold),
            false => (r.threshold, None),
        };
        AlertRuleView {
            id: r.id,
            brand: r.brand_id,
            client: r.client_id,
            level: r.level,
            name: r.name,
            enabled: r.enabled,
            kind: r.kind,
            client_type: r.client_type,
            carrier: r.carrier_id,
            endpoint_type: r.endpoint_type,
            endpoint_id: r.endpoint_id,
            direction: r.direction,
            destination_country: r.destination_countries,
            email: r.email,
            webhook: r.webhook_url.map(|url| WebhookView {
                url,
                secret: z.revealed_secret,
            }),
            notification_template: r.notification_template_id,
            timezone: z.timezone,
            measure,
            window: r.time_window,
            per: r.per,
            threshold,
            mode: r.mode,
            countries: r.countries.as_deref().map(split_list),
            prefixes: r.prefixes.as_deref().map(split_list),
            metric,
            condition: r.condition,
            value,
            compare_to: r.compare_to,
            min_calls: r.min_calls,
            max_calls: r.max_calls,
            minutes: r.minutes,
            created_at: ts(r.created_at),
            updated_at: ts(r.updated_at),
        }
    }
}

async fn list_events(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let params = ListParams::parse(&req, events::FILTERS, events::ORDER)?;
    paged(
        &state.pool,
        &req,
        params,
        move |conn, params| events::list(conn, &caller, params),
        AlertEventView::from,
    )
    .await
}

async fn get_event(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = AlertEventId::parse(&id)?;
    let event = crate::db::run(&state.pool, move |conn| events::find(conn, &caller, &id)).await?;
    Ok(ok(&AlertEventView::from(event)))
}

/// `POST /alert_rules/{id}/test`: the rule's figures now; nothing recorded or sent.
async fn test_rule(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = crate::ids::AlertRuleId::parse(&id)?;
    let grace = chrono::Duration::seconds(state.config.alert_grace_seconds);
    let answer = crate::db::run(&state.pool, move |conn| {
        crate::alerts::evaluate::test_rule(conn, &caller, &id, grace)
    })
    .await?;
    Ok(ok(&answer))
}
