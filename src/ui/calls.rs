//! The calls search: the filters of `calls::read` from a form (times in the viewer's zone),
//! a page of calls sortable by its columns, and **Export CSV** of exactly the current
//! filter through the same streamed export as `GET /billable_calls` with `Accept:
//! text/csv`. A call's detail is `calls::read::detail`. Client administrators see neither
//! cost nor carrier (`calls::read::sees_costs`). The rerate form (`call_rerate.rs`) is
//! `POST /billable_calls/rerate`'s operation.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::Timelike;

use crate::auth::{Caller, Role};
use crate::calls::read;
use crate::db::{self, billable_calls::BillableCall, DbConnection};
use crate::error::AppResult;
use crate::ids::{BrandId, Id};
use crate::listing::ListParams;
use crate::sources::cdr_sources::CdrSources;
use crate::tenancy::{Carriers, Clients};
use crate::ui::schedulers::{all, Choice};
use crate::ui::view::{self, Nav};
use crate::ui::{filled_query, Console, Pager, UiError};
use crate::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/calls", web::get().to(search))
        .route("/calls/export", web::get().to(export))
        .configure(crate::ui::call_rerate::routes)
        .route("/calls/{id}", web::get().to(crate::ui::call_detail::show));
}

struct Row {
    id: String,
    start: String,
    caller: String,
    callee: String,
    direction: String,
    client: String,
    carrier: String,
    duration: String,
    destination: String,
    price: String,
    cost: String,
    disposition: String,
    rating_error: Option<String>,
}

#[derive(Template)]
#[template(path = "calls.html")]
struct SearchPage {
    nav: Nav,
    rows: Vec<Row>,
    costs: bool,
    clients: Vec<Choice>,
    carriers: Vec<Choice>,
    sources: Vec<Choice>,
    countries: Vec<Choice>,
    form: HashMap<String, String>,
    export: String,
    dispositions: &'static [&'static str],
    pager: Pager,
    /// Why the range is what it is: a sort without an index and no range given.
    range_note: Option<String>,
    /// The operation refused the sort (more than `read::SORT_CAP` calls match).
    sort_error: Option<String>,
}

impl SearchPage {
    fn v(&self, name: &str) -> &str {
        self.form.get(name).map(String::as_str).unwrap_or_default()
    }

    fn is(&self, name: &str, value: &str) -> bool {
        self.v(name) == value
    }

    /// How the list is ordered by `field` now: `Some(true)` ascending.
    fn order_of(&self, field: &str) -> Option<bool> {
        match self
            .form
            .get(&format!("_order[{field}]"))
            .map(String::as_str)
        {
            Some(d) => Some(d.eq_ignore_ascii_case("asc")),
            None if field == "startTime" && !self.form.keys().any(|k| k.starts_with("_order[")) => {
                Some(false)
            }
            None => None,
        }
    }

    /// `aria-sort` of a column header.
    fn aria_sort(&self, field: &str) -> &'static str {
        match self.order_of(field) {
            Some(true) => "ascending",
            Some(false) => "descending",
            None => "none",
        }
    }

    /// The page ordered by `field` (ascending, or descending when it is ascending now),
    /// the filters kept, back on page 1.
    fn sort_link(&self, field: &str) -> String {
        let direction = if self.order_of(field) == Some(true) {
            "desc"
        } else {
            "asc"
        };
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        let mut kept: Vec<(&String, &String)> = self
            .form
            .iter()
            .filter(|(k, _)| *k != "page" && !k.starts_with("_order["))
            .collect();
        kept.sort();
        for (k, v) in kept {
            query.append_pair(k, v);
        }
        query.append_pair(&format!("_order[{field}]"), direction);
        format!("/ui/calls?{}", query.finish())
    }
}

/// The page's query (blanks dropped) and the operation's parameters it stands for: `from`
/// and `to` are `datetime-local` values in the viewer's zone.
pub fn read_query(
    req: &HttpRequest,
    console: &Console,
) -> Result<(HashMap<String, String>, ListParams), UiError> {
    let mut form = HashMap::new();
    let mut pairs = Vec::new();
    for (k, v) in filled_query(req) {
        let operation_name = match k.as_str() {
            "from" => Some("startTime[after]"),
            "to" => Some("startTime[strictly_before]"),
            _ => None,
        };
        match operation_name {
            Some(name) => {
                let t = view::from_local_input(&v, console.timezone)
                    .map_err(|e| crate::error::AppError::invalid_query(format!("{k}: {e}")))?;
                pairs.push((name.to_string(), t));
            }
            None => pairs.push((k.clone(), v.clone())),
        }
        form.insert(k, v);
    }
    let mut order = vec![];
    if !form.keys().any(|k| k.starts_with("_order[")) {
        order.push(("_order[startTime]".to_string(), "desc".to_string()));
    }
    let params =
        ListParams::from_pairs(pairs.into_iter().chain(order), read::FILTERS, read::ORDER)?;
    Ok((form, params))
}

/// Names and currencies for the rows: client and carrier names, each brand's currency.
struct Names {
    clients: HashMap<String, String>,
    carriers: HashMap<String, String>,
    currencies: HashMap<String, String>,
}

fn names(conn: &mut DbConnection, caller: &Caller, calls: &[BillableCall]) -> AppResult<Names> {
    let clients = all::<Clients>(conn, caller)?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    let carriers = match caller.role {
        Role::Client => HashMap::new(),
        _ => all::<Carriers>(conn, caller)?
            .into_iter()
            .map(|c| (c.id, c.name))
            .collect(),
    };
    let mut currencies = HashMap::new();
    for call in calls {
        if !currencies.contains_key(&call.brand_id) {
            let brand = db::brands::find(conn, &BrandId::from_db(call.brand_id.clone()))?;
            let currency = brand.map(|b| b.currency).unwrap_or_default();
            currencies.insert(call.brand_id.clone(), currency);
        }
    }
    Ok(Names {
        clients,
        carriers,
        currencies,
    })
}

fn row(c: BillableCall, names: &Names, console: &Console) -> Row {
    let currency = names
        .currencies
        .get(&c.brand_id)
        .cloned()
        .unwrap_or_default();
    let money = |amount: Option<String>| view::money(amount, &currency);
    let costs = console.sees_costs();
    Row {
        id: c.id,
        start: view::local(c.start_time, console.timezone),
        caller: c.caller,
        callee: c.callee,
        direction: c.direction,
        client: names.clients.get(&c.client_id).cloned().unwrap_or_default(),
        carrier: match (costs, &c.carrier_id) {
            (true, Some(id)) => names.carriers.get(id).cloned().unwrap_or_default(),
            _ => String::new(),
        },
        duration: format!("{} s", c.billed_seconds),
        destination: c.destination_name.unwrap_or_default(),
        price: money(c.price),
        cost: if costs { money(c.cost) } else { String::new() },
        disposition: c.disposition,
        rating_error: c.rating_error,
    }
}

/// What a sort no index serves is called in the page's words.
fn sort_label(field: &str) -> &'static str {
    match field {
        "duration" => "billed duration",
        "caller" => "caller",
        _ => "callee",
    }
}

/// A sort no index serves (`read::SORT_CAP`) with neither From nor To given covers the
/// last 24 hours: the form shows that From, and the returned note says why.
fn default_range(
    form: &mut HashMap<String, String>,
    params: &mut ListParams,
    console: &Console,
) -> Option<String> {
    let field = read::sorted_without_index(params)?;
    if form.contains_key("from") || form.contains_key("to") {
        return None;
    }
    let since = chrono::Utc::now().naive_utc() - chrono::Duration::hours(24);
    // To the minute, as a datetime-local input shows it.
    let since = since
        .date()
        .and_hms_opt(since.hour(), since.minute(), 0)
        .unwrap_or(since);
    let note = format!(
        "Sorting by {} covers at most {} calls, so without a range this page shows the last \
         24 hours (from {}). Choose From and To for another range.",
        sort_label(field),
        read::SORT_CAP,
        view::local(since, console.timezone)
    );
    form.insert("from".into(), view::local_input(since, console.timezone));
    params
        .filters
        .insert("startTime[after]".into(), crate::fields::ts(since));
    Some(note)
}

async fn search(
    state: web::Data<AppState>,
    console: Console,
    req: HttpRequest,
) -> Result<HttpResponse, UiError> {
    let (mut form, mut params) = read_query(&req, &console)?;
    let range_note = default_range(&mut form, &mut params, &console);
    let filter = read::filter(&console.caller, &params)?;
    let (caller, viewer) = (console.caller.clone(), console.clone());
    let listed = db::run(&state.pool, move |conn| {
        let (total, calls, refused) =
            match read::list_counted_up_to(conn, &filter, &params, COUNT_CAP) {
                Ok((total, calls)) => (total, calls, false),
                Err(e) if read::is_sort_refusal(&e) => (0, vec![], true),
                Err(e) => return Err(e),
            };
        let names = names(conn, &caller, &calls)?;
        let rows: Vec<Row> = calls.into_iter().map(|c| row(c, &names, &viewer)).collect();
        let choice = |m: &HashMap<String, String>| {
            let mut v: Vec<Choice> = m
                .iter()
                .map(|(id, name)| Choice::new(id.clone(), name.clone()))
                .collect();
            v.sort_by(|a, b| a.label.cmp(&b.label));
            v
        };
        let sources = all::<CdrSources>(conn, &caller)?
            .into_iter()
            .map(|s| Choice::new(s.row.id, s.row.name))
            .collect();
        Ok((
            params,
            total,
            rows,
            choice(&names.clients),
            choice(&names.carriers),
            sources,
            refused,
        ))
    });
    let (params, total, rows, clients, carriers, sources, refused) = listed.await?;
    let sort_error = match read::sorted_without_index(&params) {
        Some(field) if refused => Some(format!(
            "Sorting by {} takes at most {} calls, and more than that match: choose a \
             shorter range with From and To, or more filters, or sort by Start.",
            sort_label(field),
            read::SORT_CAP
        )),
        _ => None,
    };
    // The same filter (blanks left out, page and order dropped): every matching call.
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    let mut filled: Vec<(&String, &String)> = form
        .iter()
        .filter(|(k, _)| *k != "page" && !k.starts_with("_order["))
        .collect();
    filled.sort();
    for (k, v) in filled {
        query.append_pair(k, v);
    }
    let export = format!("/ui/calls/export?{}", query.finish());
    let rows_here = rows.len();
    let status = match sort_error {
        Some(_) => actix_web::http::StatusCode::BAD_REQUEST,
        None => actix_web::http::StatusCode::OK,
    };
    crate::ui::html(
        status,
        &SearchPage {
            nav: Nav::of(&console, "calls"),
            rows,
            costs: console.sees_costs(),
            clients: if console.caller.role == Role::Client {
                vec![]
            } else {
                clients
            },
            carriers,
            sources,
            countries: countries(),
            form,
            export,
            dispositions: crate::db::billable_calls::DISPOSITIONS,
            pager: Pager::counted_up_to(&req, &params, total, COUNT_CAP, rows_here),
            range_note,
            sort_error,
        },
    )
}

/// Calls counted for the pager at most: past it the page says "more than 10000 in all".
const COUNT_CAP: i64 = 10_000;

/// The destination countries to choose from, by name.
fn countries() -> Vec<Choice> {
    let mut all: Vec<Choice> = crate::calls::country_names::all()
        .iter()
        .map(|(code, name)| Choice::new(code.to_string(), format!("{name} ({code})")))
        .collect();
    all.sort_by(|a, b| a.label.cmp(&b.label));
    all
}

/// Every call of the page's filter (all pages) as CSV, streamed.
async fn export(
    state: web::Data<AppState>,
    console: Console,
    req: HttpRequest,
) -> Result<HttpResponse, UiError> {
    let (_, params) = read_query(&req, &console)?;
    let filter = read::filter(&console.caller, &params)?;
    Ok(crate::report::download::calls_csv(
        &state,
        &console.caller,
        filter,
    ))
}
