//! Rerate of a range of calls (brand and platform administrators): the form's times are
//! read in the viewer's zone, then it is `POST /billable_calls/rerate`'s operation
//! (`calls::brand_to_write` + `calls::rerate::rerate_range`), its summary shown in the page
//! and its errors next to their fields.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::auth::{Caller, Role};
use crate::calls::rerate::{self, RerateInput, RerateSummary};
use crate::db::{self, DbConnection};
use crate::error::{AppError, AppResult, Validator};
use crate::tenancy::{Brands, Carriers, Clients};
use crate::ui::schedulers::{all, Choice};
use crate::ui::session::Change;
use crate::ui::view::{self, Nav};
use crate::ui::{html, page, Console, UiError};
use crate::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/calls/rerate", web::get().to(form))
        .route("/calls/rerate", web::post().to(run));
}

#[derive(Template)]
#[template(path = "call_rerate.html")]
struct ReratePage {
    nav: Nav,
    values: BTreeMap<String, String>,
    errors: BTreeMap<String, String>,
    error: Option<String>,
    platform: bool,
    brands: Vec<Choice>,
    clients: Vec<Choice>,
    carriers: Vec<Choice>,
    done: Option<RerateSummary>,
}

impl ReratePage {
    fn v(&self, name: &str) -> &str {
        self.values
            .get(name)
            .map(String::as_str)
            .unwrap_or_default()
    }
    fn is(&self, name: &str, value: &str) -> bool {
        self.v(name) == value
    }
    fn err(&self, name: &str) -> &str {
        self.errors
            .get(name)
            .map(String::as_str)
            .unwrap_or_default()
    }
    fn invalid(&self, name: &str) -> &'static str {
        if self.errors.contains_key(name) {
            "true"
        } else {
            "false"
        }
    }
}

struct Choices {
    brands: Vec<Choice>,
    clients: Vec<Choice>,
    carriers: Vec<Choice>,
}

fn choices(conn: &mut DbConnection, caller: &Caller) -> AppResult<Choices> {
    let pick = |v: Vec<(String, String)>| {
        v.into_iter()
            .map(|(id, name)| Choice::new(id, name))
            .collect()
    };
    Ok(Choices {
        brands: match caller.role {
            Role::Platform => pick(
                all::<Brands>(conn, caller)?
                    .into_iter()
                    .map(|b| (b.id, b.name))
                    .collect(),
            ),
            _ => vec![],
        },
        clients: pick(
            all::<Clients>(conn, caller)?
                .into_iter()
                .map(|c| (c.id, c.name))
                .collect(),
        ),
        carriers: pick(
            all::<Carriers>(conn, caller)?
                .into_iter()
                .map(|c| (c.id, c.name))
                .collect(),
        ),
    })
}

fn rerate_page(
    console: &Console,
    values: BTreeMap<String, String>,
    failure: Option<AppError>,
    choices: Choices,
    done: Option<RerateSummary>,
) -> ReratePage {
    let (errors, error) = match failure {
        Some(e) if !e.fields.is_empty() => (e.fields, None),
        Some(e) => (BTreeMap::new(), Some(e.message)),
        None => (BTreeMap::new(), None),
    };
    ReratePage {
        nav: Nav::of(console, "calls"),
        values,
        errors,
        error,
        platform: console.caller.role == Role::Platform,
        brands: choices.brands,
        clients: choices.clients,
        carriers: choices.carriers,
        done,
    }
}

async fn form(state: web::Data<AppState>, console: Console) -> Result<HttpResponse, UiError> {
    crate::calls::may_write(&console.caller)?;
    let caller = console.caller.clone();
    let choices = db::run(&state.pool, move |conn| choices(conn, &caller)).await?;
    page(&rerate_page(&console, BTreeMap::new(), None, choices, None))
}

/// The operation's input from the form: the times read in `zone` (errors by the API's
/// field names, so they show next to the same inputs).
fn input_of(change: &Change, zone: chrono_tz::Tz) -> AppResult<RerateInput> {
    let mut v = Validator::new();
    let mut time = |name: &str| match change.field(name) {
        None => {
            v.error(name, "required");
            String::new()
        }
        Some(raw) => view::from_local_input(&raw, zone).unwrap_or_else(|e| {
            v.error(name, e);
            String::new()
        }),
    };
    let after = time("startTime[after]");
    let strictly_before = time("startTime[strictly_before]");
    v.finish()?;
    Ok(RerateInput {
        after,
        strictly_before,
        client: change.field("client"),
        carrier: change.field("carrier"),
    })
}

async fn run(state: web::Data<AppState>, change: Change) -> Result<HttpResponse, UiError> {
    let console = change.console.clone();
    let caller = console.caller.clone();
    let read = input_of(&change, console.timezone);
    let brand = change.field("brand");
    let plans = state.plans.clone();
    let (outcome, choices) = db::run(&state.pool, move |conn| {
        let outcome = crate::calls::brand_to_write(&caller, brand.as_deref())
            .and_then(|brand| rerate::rerate_range(conn, &plans, &brand, read?));
        match outcome {
            Err(e) if e.status != StatusCode::UNPROCESSABLE_ENTITY => Err(e),
            outcome => Ok((outcome, choices(conn, &caller)?)),
        }
    })
    .await?;
    let values = change
        .form
        .iter()
        .filter(|(k, _)| k != crate::ui::session::CSRF_FIELD)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    match outcome {
        Ok(summary) => page(&rerate_page(&console, values, None, choices, Some(summary))),
        Err(e) => html(
            StatusCode::UNPROCESSABLE_ENTITY,
            &rerate_page(&console, values, Some(e), choices, None),
        ),
    }
}
