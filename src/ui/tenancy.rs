//! The tenancy lists (brands, administrators, clients, carriers, DDI providers, DDIs,
//! endpoints, notification templates): one page shape, each a `Resource::list` with the session's caller, so a role
//! sees exactly what the API shows it (and a 403 page where the API says 403). Their forms
//! are `edit`'s, a provider's and a template's own pages `tenancy_tools`'.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use crate::auth::Caller;
use crate::db::{self, DbConnection};
use crate::error::AppResult;
use crate::ops::Resource;
use crate::tenancy::{
    Administrators, Brands, Carriers, Clients, DdiProviders, Ddis, Endpoints, NotificationTemplates,
};
use crate::ui::schedulers::all;
use crate::ui::view::{self, Nav};
use crate::ui::{page, query_params, Console, Pager, UiError};
use crate::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/brands", web::get().to(list::<Brands>))
        .route("/administrators", web::get().to(list::<Administrators>))
        .route("/clients", web::get().to(list::<Clients>))
        .route("/carriers", web::get().to(list::<Carriers>))
        .route("/ddi_providers", web::get().to(list::<DdiProviders>))
        .route("/ddis", web::get().to(list::<Ddis>))
        .route("/endpoints", web::get().to(list::<Endpoints>))
        .route(
            "/notification_templates",
            web::get().to(list::<NotificationTemplates>),
        );
}

/// How a resource's list page looks: its title, columns and the cells of one object.
trait Listed: Resource {
    const SECTION: &'static str;
    const TITLE: &'static str;
    const COLUMNS: &'static [&'static str];
    /// Whether the page offers a "New" form (`edit`'s).
    const NEW: bool = false;
    /// Whether a row's link is a page anyone who sees the row may read (a DDI provider's),
    /// rather than its form.
    const LINK_IS_PAGE: bool = false;
    fn cells(object: Self::Object, names: &Names, console: &Console) -> Vec<String>;
    /// Where a row's first cell leads (the object's form or page).
    fn link(_object: &Self::Object) -> Option<String> {
        None
    }
}

/// Client and brand names by id (DDIs and endpoints show their client, administrators
/// their brand and client).
struct Names {
    clients: HashMap<String, String>,
    brands: HashMap<String, String>,
}

fn names(conn: &mut DbConnection, caller: &Caller) -> AppResult<Names> {
    Ok(Names {
        clients: all::<Clients>(conn, caller)?
            .into_iter()
            .map(|c| (c.id, c.name))
            .collect(),
        brands: all::<Brands>(conn, caller)?
            .into_iter()
            .map(|b| (b.id, b.name))
            .collect(),
    })
}

fn client_name(names: &Names, id: &str) -> String {
    names.clients.get(id).cloned().unwrap_or_default()
}

impl Listed for Brands {
    const NEW: bool = true;
    fn link(o: &Self::Object) -> Option<String> {
        Some(format!("/ui/brands/{}", o.id))
    }
    const SECTION: &'static str = "brands";
    const TITLE: &'static str = "Brands";
    const COLUMNS: &'static [&'static str] = &[
        "Name",
        "Time zone",
        "Language",
        "Currency",
        "Country",
        "Created",
    ];
    fn cells(b: Self::Object, _: &Names, console: &Console) -> Vec<String> {
        vec![
            b.name,
            b.timezone,
            b.language,
            b.currency,
            b.country.unwrap_or_default(),
            view::local(b.created_at, console.timezone),
        ]
    }
}

impl Listed for Administrators {
    const NEW: bool = true;
    fn link(o: &Self::Object) -> Option<String> {
        Some(format!("/ui/administrators/{}", o.id))
    }
    const SECTION: &'static str = "administrators";
    const TITLE: &'static str = "Administrators";
    const COLUMNS: &'static [&'static str] =
        &["User name", "Role", "Brand", "Client", "Status", "Created"];
    fn cells(a: Self::Object, names: &Names, console: &Console) -> Vec<String> {
        let name = |map: &HashMap<String, String>, id: Option<String>| {
            id.and_then(|id| map.get(&id).cloned()).unwrap_or_default()
        };
        vec![
            a.username,
            a.role,
            name(&names.brands, a.brand_id),
            name(&names.clients, a.client_id),
            if a.active { "active" } else { "deactivated" }.to_string(),
            view::local(a.created_at, console.timezone),
        ]
    }
}

impl Listed for Clients {
    const NEW: bool = true;
    fn link(o: &Self::Object) -> Option<String> {
        Some(format!("/ui/clients/{}", o.id))
    }
    const SECTION: &'static str = "clients";
    const TITLE: &'static str = "Clients";
    const COLUMNS: &'static [&'static str] =
        &["Name", "Type", "Time zone", "Language", "Code", "Created"];
    fn cells(c: Self::Object, _: &Names, console: &Console) -> Vec<String> {
        vec![
            c.name,
            c.client_type,
            c.timezone,
            c.language,
            c.code.unwrap_or_default(),
            view::local(c.created_at, console.timezone),
        ]
    }
}

impl Listed for Carriers {
    const NEW: bool = true;
    fn link(o: &Self::Object) -> Option<String> {
        Some(format!("/ui/carriers/{}", o.id))
    }
    const SECTION: &'static str = "carriers";
    const TITLE: &'static str = "Carriers";
    const COLUMNS: &'static [&'static str] = &["Name", "Description", "Code", "Created"];
    fn cells(c: Self::Object, _: &Names, console: &Console) -> Vec<String> {
        vec![
            c.name,
            c.description,
            c.code.unwrap_or_default(),
            view::local(c.created_at, console.timezone),
        ]
    }
}

impl Listed for DdiProviders {
    const NEW: bool = true;
    const LINK_IS_PAGE: bool = true;
    fn link(o: &Self::Object) -> Option<String> {
        Some(format!("/ui/ddi_providers/{}", o.id))
    }
    const SECTION: &'static str = "ddi_providers";
    const TITLE: &'static str = "DDI providers";
    const COLUMNS: &'static [&'static str] = &["Name", "Description", "Created"];
    fn cells(p: Self::Object, _: &Names, console: &Console) -> Vec<String> {
        vec![
            p.name,
            p.description,
            view::local(p.created_at, console.timezone),
        ]
    }
}

impl Listed for Ddis {
    const NEW: bool = true;
    fn link(o: &Self::Object) -> Option<String> {
        Some(format!("/ui/ddis/{}", o.id))
    }
    const SECTION: &'static str = "ddis";
    const TITLE: &'static str = "DDIs";
    const COLUMNS: &'static [&'static str] = &["DDI", "Client", "Created"];
    fn cells(d: Self::Object, names: &Names, console: &Console) -> Vec<String> {
        vec![
            d.ddi_e164,
            client_name(names, &d.client_id),
            view::local(d.created_at, console.timezone),
        ]
    }
}

impl Listed for Endpoints {
    const NEW: bool = true;
    fn link(o: &Self::Object) -> Option<String> {
        Some(format!("/ui/endpoints/{}", o.id))
    }
    const SECTION: &'static str = "endpoints";
    const TITLE: &'static str = "Endpoints";
    const COLUMNS: &'static [&'static str] = &["Name", "Type", "Client", "Code", "Created"];
    fn cells(e: Self::Object, names: &Names, console: &Console) -> Vec<String> {
        vec![
            e.name,
            e.endpoint_type,
            client_name(names, &e.client_id),
            e.code.unwrap_or_default(),
            view::local(e.created_at, console.timezone),
        ]
    }
}

impl Listed for NotificationTemplates {
    const SECTION: &'static str = "notification_templates";
    const TITLE: &'static str = "Notification templates";
    const COLUMNS: &'static [&'static str] = &["Name", "Type", "For", "Languages", "Created"];
    const NEW: bool = true;
    fn link(t: &Self::Object) -> Option<String> {
        Some(format!("/ui/notification_templates/{}", t.id))
    }
    fn cells(t: Self::Object, _: &Names, console: &Console) -> Vec<String> {
        let languages = t
            .contents()
            .map(|c| {
                c.iter()
                    .map(|c| c.language.clone())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        vec![
            t.name,
            t.template_type,
            if t.brand_id.is_some() {
                "the brand"
            } else {
                "every brand (global)"
            }
            .to_string(),
            languages,
            view::local(t.created_at, console.timezone),
        ]
    }
}

#[derive(Template)]
#[template(path = "table.html")]
struct TablePage {
    nav: Nav,
    title: &'static str,
    columns: &'static [&'static str],
    /// Each row's link (for its first cell) and cells.
    rows: Vec<(Option<String>, Vec<String>)>,
    /// The "New" form's address, when there is one.
    new_link: Option<String>,
    pager: Pager,
}

async fn list<R: Listed>(
    state: web::Data<AppState>,
    console: Console,
    req: HttpRequest,
) -> Result<HttpResponse, UiError> {
    R::may_list(&console.caller)?;
    let params = query_params(&req, R::filters(&console.caller), R::ORDER)?;
    let viewer = console.clone();
    let (params, total, rows) = db::run(&state.pool, move |conn| {
        let (total, found) = R::list(conn, &viewer.caller, &params)?;
        let names = names(conn, &viewer.caller)?;
        let rows = found
            .into_iter()
            .map(|o| {
                // A row leads to its form only for who may change it.
                let link = R::link(&o)
                    .filter(|_| R::LINK_IS_PAGE || R::may_change(&viewer.caller, &o).is_ok());
                (link, R::cells(o, &names, &viewer))
            })
            .collect();
        Ok((params, total, rows))
    })
    .await?;
    page(&TablePage {
        nav: Nav::of(&console, R::SECTION),
        title: R::TITLE,
        columns: R::COLUMNS,
        rows,
        new_link: (R::NEW && R::may_create(&console.caller).is_ok())
            .then(|| format!("/ui/{}/new", R::SECTION)),
        pager: Pager::new(&req, &params, total),
    })
}
