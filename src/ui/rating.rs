//! The rating pages (brand business: a client administrator gets the API's 403/404):
//! plans, a plan's rate table searched by prefix or destination name, its CSV export and
//! the upload of a rate CSV — `RatingPlans::rates` and `RatingPlans::import_rates`, the
//! operations of `/rating_plans/{id}/rates` —, and the rating profiles.

use std::collections::HashMap;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use crate::db::rating_plans::Rate;
use crate::db::{self};
use crate::error::AppError;
use crate::ids::RatingPlanId;
use crate::listing::ListParams;
use crate::ops::Resource;
use crate::rating::import::{Format, ImportSummary};
use crate::rating::plans::CountedPlan;
use crate::rating::{RatingPlans, RatingProfiles};
use crate::tenancy::{Carriers, Clients};
use crate::ui::schedulers::all;
use crate::ui::upload::Upload;
use crate::ui::view::{self, Nav};
use crate::ui::{filled_query, html, page, path_id, query_params, Console, Pager, UiError};
use crate::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/rating_plans", web::get().to(plans))
        .route("/rating_plans/{id}", web::get().to(plan))
        .route("/rating_plans/{id}/rates.csv", web::get().to(export))
        .route("/rating_plans/{id}/rates", web::post().to(upload))
        .route("/rating_profiles", web::get().to(profiles));
}

#[derive(Template)]
#[template(path = "rating_plans.html")]
struct PlansPage {
    nav: Nav,
    plans: Vec<CountedPlan>,
    name: String,
    pager: Pager,
}

async fn plans(
    state: web::Data<AppState>,
    console: Console,
    req: HttpRequest,
) -> Result<HttpResponse, UiError> {
    RatingPlans::may_list(&console.caller)?;
    let params = query_params(
        &req,
        RatingPlans::filters(&console.caller),
        RatingPlans::ORDER,
    )?;
    let caller = console.caller.clone();
    let (params, total, plans) = db::run(&state.pool, move |conn| {
        let (total, plans) = RatingPlans::list(conn, &caller, &params)?;
        Ok((params, total, plans))
    })
    .await?;
    page(&PlansPage {
        nav: Nav::of(&console, "rating"),
        name: params.filter("name").unwrap_or_default().to_string(),
        plans,
        pager: Pager::new(&req, &params, total),
    })
}

#[derive(Template)]
#[template(path = "rating_plan.html")]
struct PlanPage {
    nav: Nav,
    plan: CountedPlan,
    rates: Vec<Rate>,
    /// The search box: a prefix (digits, optional `+`) or part of a destination name.
    q: String,
    export: String,
    pager: Pager,
    imported: Option<ImportSummary>,
    import_error: Option<String>,
}

/// The operation's rate filters for the search box: digits are a prefix, else a name.
fn rate_params(req: &HttpRequest) -> Result<(String, ListParams), UiError> {
    let mut q = String::new();
    let mut pairs = Vec::new();
    for (k, v) in filled_query(req) {
        if k == "q" {
            let digits = v.strip_prefix('+').unwrap_or(&v);
            let is_prefix = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
            let name = if is_prefix {
                "prefix"
            } else {
                "destinationName"
            };
            pairs.push((name.to_string(), v.clone()));
            q = v;
        } else {
            pairs.push((k, v));
        }
    }
    Ok((
        q,
        ListParams::from_pairs(pairs, RatingPlans::RATE_FILTERS, &[])?,
    ))
}

async fn plan_page(
    state: &AppState,
    console: &Console,
    req: &HttpRequest,
    id: RatingPlanId,
    outcome: Option<Result<ImportSummary, AppError>>,
) -> Result<HttpResponse, UiError> {
    let (q, params) = rate_params(req)?;
    let caller = console.caller.clone();
    let (params, plan, total, rates) = db::run(&state.pool, move |conn| {
        let plan = RatingPlans::find(conn, &caller, &id)?;
        let (total, rates) = RatingPlans::rates(conn, &caller, &id, &params, false)?;
        Ok((params, plan, total, rates))
    })
    .await?;
    let mut export = format!("/ui/rating_plans/{}/rates.csv", plan.plan.id);
    if !q.is_empty() {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("q", &q)
            .finish();
        export = format!("{export}?{query}");
    }
    let status = match &outcome {
        Some(Err(e)) => e.status,
        _ => StatusCode::OK,
    };
    let (imported, import_error) = match outcome {
        Some(Ok(summary)) => (Some(summary), None),
        Some(Err(e)) => (None, Some(e.message)),
        None => (None, None),
    };
    html(
        status,
        &PlanPage {
            nav: Nav::of(console, "rating"),
            pager: Pager::new(req, &params, total),
            plan,
            rates,
            q,
            export,
            imported,
            import_error,
        },
    )
}

async fn plan(
    state: web::Data<AppState>,
    console: Console,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, UiError> {
    let id: RatingPlanId = path_id(&id)?;
    plan_page(&state, &console, &req, id, None).await
}

/// The rates of the search (all pages) as CSV in the import format.
async fn export(
    state: web::Data<AppState>,
    console: Console,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, UiError> {
    let id: RatingPlanId = path_id(&id)?;
    let (_, params) = rate_params(&req)?;
    let caller = console.caller.clone();
    let body = db::run(&state.pool, move |conn| {
        let (_, rates) = RatingPlans::rates(conn, &caller, &id, &params, true)?;
        crate::rating::import::rates_csv(&rates)
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"rates.csv\"",
        ))
        .body(body))
}

/// The uploaded CSV through the API's import (all or nothing); the plan page shows what
/// it did, or the import's error with its line number (422, nothing stored).
async fn upload(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: Upload,
    id: web::Path<String>,
) -> Result<HttpResponse, UiError> {
    let id: RatingPlanId = path_id(&id)?;
    let replace = form.field("replace").is_some();
    let file = form
        .parts
        .iter()
        .find(|p| p.name == "file")
        // A form sent without choosing a file has the part, empty and unnamed.
        .filter(|p| !p.data.is_empty() || p.file_name.as_deref().is_some_and(|f| !f.is_empty()))
        .map(|p| p.data.clone());
    let caller = form.console.caller.clone();
    let plan_id = id.clone();
    let outcome = db::run(&state.pool, move |conn| {
        // The plan must be visible before anything is said about the file.
        RatingPlans::find_plan(conn, &caller, &plan_id)?;
        let Some(file) = file else {
            return Ok(Err(AppError::invalid_field(
                "file",
                "choose a CSV file of rates",
            )));
        };
        match RatingPlans::import_rates(conn, &caller, &plan_id, file, Format::Csv, replace) {
            Err(e) if e.status.is_client_error() && e.status != StatusCode::NOT_FOUND => Ok(Err(e)),
            outcome => outcome.map(Ok),
        }
    })
    .await?;
    plan_page(&state, &form.console, &req, id, Some(outcome)).await
}

struct ProfileRow {
    id: String,
    holder: String,
    plan_id: String,
    plan: String,
    activation: String,
}

#[derive(Template)]
#[template(path = "rating_profiles.html")]
struct ProfilesPage {
    nav: Nav,
    rows: Vec<ProfileRow>,
    pager: Pager,
}

async fn profiles(
    state: web::Data<AppState>,
    console: Console,
    req: HttpRequest,
) -> Result<HttpResponse, UiError> {
    RatingProfiles::may_list(&console.caller)?;
    let params = query_params(
        &req,
        RatingProfiles::filters(&console.caller),
        RatingProfiles::ORDER,
    )?;
    let viewer = console.clone();
    let (params, total, rows) = db::run(&state.pool, move |conn| {
        let caller = &viewer.caller;
        let (total, found) = RatingProfiles::list(conn, caller, &params)?;
        let names = |v: Vec<(String, String)>| v.into_iter().collect::<HashMap<_, _>>();
        let clients = names(
            all::<Clients>(conn, caller)?
                .into_iter()
                .map(|c| (c.id, c.name))
                .collect(),
        );
        let carriers = names(
            all::<Carriers>(conn, caller)?
                .into_iter()
                .map(|c| (c.id, c.name))
                .collect(),
        );
        let plans = names(
            all::<RatingPlans>(conn, caller)?
                .into_iter()
                .map(|p| (p.plan.id, p.plan.name))
                .collect(),
        );
        let rows = found
            .into_iter()
            .map(|p| ProfileRow {
                id: p.id.clone(),
                holder: match (&p.client_id, &p.carrier_id) {
                    (Some(c), _) => {
                        format!("client {}", clients.get(c).cloned().unwrap_or_default())
                    }
                    (_, Some(c)) => {
                        format!("carrier {}", carriers.get(c).cloned().unwrap_or_default())
                    }
                    _ => String::new(),
                },
                plan: plans.get(&p.rating_plan_id).cloned().unwrap_or_default(),
                plan_id: p.rating_plan_id,
                activation: view::local(p.activation_time, viewer.timezone),
            })
            .collect();
        Ok((params, total, rows))
    })
    .await?;
    page(&ProfilesPage {
        nav: Nav::of(&console, "rating"),
        rows,
        pager: Pager::new(&req, &params, total),
    })
}
