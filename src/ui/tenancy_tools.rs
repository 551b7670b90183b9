//! A DDI provider's page with its "try a number" box (`DdiProviders::try_number`, the
//! rules ingestion applies), and a notification template's preview: each language version
//! rendered by the mail module's own `compose::render` with sample values.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{Datelike, NaiveDate};

use crate::db;
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
    sample: String,
    versions: Vec<Version>,
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
    let versions = template
        .contents()?
        .iter()
        .map(|c| {
            let r = compose::render(Some(c), &ctx);
            Version {
                language: c.language.clone(),
                from: compose::sender(
                    r.from,
                    brand.as_ref().and_then(|b| b.email.as_deref()),
                    &state.config.mail_from,
                ),
                subject: r.subject,
                body: r.body,
            }
        })
        .collect();
    page(&PreviewPage {
        nav: Nav::of(&console, "notification_templates"),
        id: template.id,
        name: template.name,
        sample: format!(
            "client “{}”, brand “{}”, scheduler “{}”, {} to {}, {} rows",
            ctx.company, ctx.brand, ctx.scheduler, ctx.date_in, ctx.date_out, ctx.rows
        ),
        versions,
    })
}
