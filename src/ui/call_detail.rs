//! A call's page: its numbers, how it was rated (plan, destination, error), where it came
//! from (source and import), as `calls::read::detail` lets the viewer see it: a client
//! administrator gets neither cost, carrier, DDI provider nor rating plan.

use actix_web::{web, HttpResponse};
use askama::Template;

use crate::calls::read;
use crate::db;
use crate::ids::CallId;
use crate::ui::view::{self, Nav};
use crate::ui::{page, path_id, Console, UiError};
use crate::AppState;

#[derive(Template)]
#[template(path = "call_detail.html")]
struct DetailPage {
    nav: Nav,
    costs: bool,
    callid: String,
    /// (label, value) pairs, in the page's order; empty values are left out.
    fields: Vec<(&'static str, String)>,
    rating_plan: Option<(String, String)>,
    rating_error: Option<String>,
    import: Option<ImportLine>,
}

struct ImportLine {
    id: String,
    what: String,
    started: String,
    status: String,
}

pub async fn show(
    state: web::Data<AppState>,
    console: Console,
    id: web::Path<String>,
) -> Result<HttpResponse, UiError> {
    let id: CallId = path_id(&id)?;
    let caller = console.caller.clone();
    let d = db::run(&state.pool, move |conn| read::detail(conn, &caller, &id)).await?;
    let zone = console.timezone;
    let c = d.call;
    let money = |a: Option<String>| view::money(a, &d.currency);
    let country =
        c.destination_country.as_deref().map(
            |code| match crate::calls::country_names::english_name(code) {
                Some(name) => format!("{name} ({code})"),
                None => code.to_string(),
            },
        );
    let costs = console.sees_costs();
    let mut fields: Vec<(&'static str, Option<String>)> = vec![
        (
            "Start",
            Some(format!(
                "{} {}",
                view::local(c.start_time, zone),
                zone.name()
            )),
        ),
        ("Duration", Some(format!("{} s", c.duration))),
        ("Billed", Some(format!("{} s", c.billed_seconds))),
        ("Caller", Some(c.caller)),
        ("Callee", Some(c.callee)),
        ("Direction", Some(c.direction)),
        ("Disposition", Some(c.disposition)),
        (
            "Hangup cause (Q.850)",
            c.hangup_cause.map(|h| h.to_string()),
        ),
        ("Client", d.client),
        ("DDI", d.ddi),
        (
            "Endpoint",
            c.endpoint_type.map(|t| match c.endpoint_id {
                Some(id) => format!("{t} {id}"),
                None => t,
            }),
        ),
        ("Destination country", country),
        ("Destination", c.destination_name),
        ("Price", Some(money(c.price)).filter(|m| !m.is_empty())),
    ];
    if costs {
        fields.extend([
            ("Cost", Some(money(c.cost)).filter(|m| !m.is_empty())),
            ("Carrier", d.carrier),
            ("DDI provider", d.ddi_provider),
            ("Source address", c.source_ip),
        ]);
    }
    fields.extend([
        ("Source", d.source),
        ("Stored", Some(view::local(c.created_at, zone))),
        (
            "Last rated or changed",
            Some(view::local(c.updated_at, zone)),
        ),
    ]);
    page(&DetailPage {
        nav: Nav::of(&console, "calls"),
        costs,
        callid: c.callid,
        fields: fields
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect(),
        rating_plan: d.rating_plan,
        rating_error: c.rating_error,
        import: d.import.map(|i| ImportLine {
            what: match i.file_name {
                Some(f) => format!("{} of {f}", i.origin),
                None => i.origin,
            },
            started: view::local(i.started_at, zone),
            status: i.status,
            id: i.id,
        }),
    })
}
