//! A DDI provider's page with its "try a number" box (`DdiProviders::try_number`, the
//! rules ingestion applies), and a notification template's preview: each language version
//! rendered with sample values by what sends it — a report template by the mail module's
//! `compose::render`, an alert template by `alerts::notify::email` (its `${ALERT_…}`).

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{Datelike, NaiveDate};

use crate::alerts::notify;
use crate::db;
use crate::db::alerts::AlertEvent;
use crate::detection::TransformationRule;
use crate::ids::{BrandId, DdiProviderId, Id, NotificationTemplateId};
use crate::mail::compose::{self, ReportContext};
use crate::ops::Resource;
use crate::tenancy::{DdiProviders, NotificationTemplates};
use crate::ui::view::Nav;
use crate::ui::{filled_query, page, path_id, Console, UiError};
use crate::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/ddi_providers/{id}", web::get().to(provider))
        .route(
            "/notification_templates/{id}/preview",
            web::get().to(preview),
        );
}

#[derive(Template)]
#[template(path = "ddi_provider.html")]
struct ProviderPage {
    nav: Nav,
    id: String,
    name: String,
    description: String,
    addresses: Vec<String>,
    rules: Vec<TransformationRule>,
    number: String,
    result: Option<String>,
}

async fn provider(
    state: web::Data<AppState>,
    console: Console,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, UiError> {
    let id: DdiProviderId = path_id(&id)?;
    let number = filled_query(&req)
        .into_iter()
        .find(|(k, _)| k == "number")
        .map(|(_, v)| v)
        .unwrap_or_default();
    let caller = console.caller.clone();
    let tried = number.clone();
    let (p, addresses, rules, result) = db::run(&state.pool, move |conn| {
        let p = DdiProviders::find(conn, &caller, &id)?;
        let result = match tried.is_empty() {
            true => None,
            false => Some(DdiProviders::try_number(conn, &caller, &id, &tried)?),
        };
        let (addresses, rules) = (p.addresses()?, p.rules()?);
        Ok((p, addresses, rules, result))
    })
    .await?;
    page(&ProviderPage {
        nav: Nav::of(&console, "ddi_providers"),
        id: p.id,
        name: p.name,
        description: p.description,
        addresses,
        rules,
        number,
        result,
    })
}

struct Version {
    language: String,
    from: String,
    subject: String,
    body: String,
}

#[derive(Template)]
#[template(path = "template_preview.html")]
struct PreviewPage {
    nav: Nav,
    id: String,
    name: String,
    /// "a report email" or "an alert email".
    what: &'static str,
    sample: String,
    versions: Vec<Version>,
}

/// An alert event as the preview of an `alert` template shows it: a client's spend rule
/// that fired for yesterday (times are shown in `zone` by the template).
fn sample_alert(brand: &str, zone: chrono_tz::Tz) -> AlertEvent {
    use chrono::TimeZone;
    let today = chrono::Utc::now().with_timezone(&zone).date_naive();
    let midnight = |d: NaiveDate| {
        let local = d.and_hms_opt(0, 0, 0).unwrap_or_default();
        zone.from_local_datetime(&local)
            .earliest()
            .map(|t| t.naive_utc())
            .unwrap_or(local)
    };
    let yesterday = today.pred_opt().unwrap_or(today);
    let (window_from, window_to) = (midnight(yesterday), midnight(today));
    AlertEvent {
        id: String::new(),
        rule_id: String::new(),
        brand_id: brand.to_string(),
        client_id: None,
        level: "brand".into(),
        rule_name: "Daily spend".into(),
        kind: "spend".into(),
        subject_type: Some("client".into()),
        subject_id: Some(String::new()),
        subject_name: Some("Example Client".into()),
        subject_key: String::new(),
        window_from,
        window_to,
        measured: "612.40".into(),
        threshold: "500.00".into(),
        previous: None,
        fired_at: window_to,
        calls: "call-1001,call-1002".into(),
        sent_to: "billing@example.com".into(),
        email_status: String::new(),
        email_attempts: 0,
        email_error: None,
        email_next_attempt: None,
        email_lease_until: None,
        webhook_status: String::new(),
        webhook_attempts: 0,
        webhook_error: None,
        webhook_next_attempt: None,
        webhook_lease_until: None,
        created_at: window_to,
        updated_at: window_to,
    }
}

async fn preview(
    state: web::Data<AppState>,
    console: Console,
    id: web::Path<String>,
) -> Result<HttpResponse, UiError> {
    let id: NotificationTemplateId = path_id(&id)?;
    let caller = console.caller.clone();
    let (template, brand) = db::run(&state.pool, move |conn| {
        let t = NotificationTemplates::find(conn, &caller, &id)?;
        // A global template is shown as the viewer's brand would send it.
        let brand_id = t.brand_id.clone().or(caller.brand_id.clone());
        let brand = match brand_id {
            Some(b) => db::brands::find(conn, &BrandId::from_db(b))?,
            None => None,
        };
        Ok((t, brand))
    })
    .await?;
    // Last month's report of a client, as a scheduler's run would describe it.
    let today = chrono::Utc::now().date_naive();
    let first = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap_or(today);
    let date_out = first.pred_opt().unwrap_or(first);
    let date_in = date_out.with_day(1).unwrap_or(date_out);
    let ctx = ReportContext {
        company: "Example Client".into(),
        brand: brand
            .as_ref()
            .map(|b| b.name.clone())
            .unwrap_or_else(|| "Example Brand".into()),
        scheduler: "Monthly calls".into(),
        date_in,
        date_out,
        rows: 1234,
    };
    let brand_email = brand.as_ref().and_then(|b| b.email.as_deref());
    let contents = template.contents()?;
    let (what, sample, versions) = if template.template_type == "alert" {
        let event = sample_alert(
            brand.as_ref().map(|b| b.id.as_str()).unwrap_or_default(),
            console.timezone,
        );
        let versions = contents
            .iter()
            .map(|c| {
                let mail = notify::email(
                    &event,
                    console.timezone,
                    Some(c),
                    brand_email,
                    &state.config.mail_from,
                );
                Version {
                    language: c.language.clone(),
                    from: mail.from,
                    subject: mail.subject,
                    body: mail.body,
                }
            })
            .collect();
        let sample = format!(
            "the {} rule “{}” fired for the client “{}”, {} against a threshold of {}, \
             yesterday in {}",
            event.kind,
            event.rule_name,
            event.subject_name.as_deref().unwrap_or_default(),
            event.measured,
            event.threshold,
            console.timezone.name()
        );
        ("an alert email", sample, versions)
    } else {
        let versions = contents
            .iter()
            .map(|c| {
                let r = compose::render(Some(c), &ctx);
                Version {
                    language: c.language.clone(),
                    from: compose::sender(r.from, brand_email, &state.config.mail_from),
                    subject: r.subject,
                    body: r.body,
                }
            })
            .collect();
        let sample = format!(
            "client “{}”, brand “{}”, scheduler “{}”, {} to {}, {} rows",
            ctx.company, ctx.brand, ctx.scheduler, ctx.date_in, ctx.date_out, ctx.rows
        );
        ("a report email", sample, versions)
    };
    page(&PreviewPage {
        nav: Nav::of(&console, "notification_templates"),
        id: template.id,
        name: template.name,
        what,
        sample,
        versions,
    })
}
