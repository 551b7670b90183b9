//! `/clients`: a brand's customers. Brand operators (and platform administrators, naming
//! the brand) manage them; a client administrator reads its own client only.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::{
    check_name, created, force_param, no_content, ok, paged, parse_body, parse_id, parse_ref,
    patched, resource, ts, ListParams,
};
use crate::auth::{Caller, Role};
use crate::db::{self, clients, clients::Client, DbConnection};
use crate::error::{AppError, AppResult, Validator};
use crate::ids::{BrandId, ClientId, Id};
use crate::tenancy;
use crate::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/clients")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    );
    cfg.service(
        resource("/clients/{id}")
            .route(web::get().to(get))
            .route(web::put().to(replace))
            .route(web::patch().to(patch))
            .route(web::delete().to(delete)),
    );
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientView {
    pub id: String,
    pub brand: String,
    pub name: String,
    #[serde(rename = "type")]
    pub client_type: String,
    pub timezone: String,
    pub language: String,
    pub show_billing_details: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Client> for ClientView {
    fn from(c: Client) -> ClientView {
        ClientView {
            id: c.id,
            brand: c.brand_id,
            name: c.name,
            client_type: c.client_type,
            timezone: c.timezone,
            language: c.language,
            show_billing_details: c.show_billing_details,
            created_at: ts(c.created_at),
            updated_at: ts(c.updated_at),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientInput {
    pub brand: Option<String>,
    pub name: String,
    #[serde(rename = "type")]
    pub client_type: String,
    pub timezone: Option<String>,
    pub language: Option<String>,
    pub show_billing_details: Option<bool>,
}

impl ClientInput {
    /// Validates against the brand (whose timezone and language are the defaults) and
    /// builds the row.
    fn into_row(
        self,
        conn: &mut DbConnection,
        brand_id: &str,
        id: String,
        created_at: chrono::NaiveDateTime,
    ) -> AppResult<Client> {
        let brand = db::brands::find(conn, &BrandId::from_db(brand_id.to_string()))?
            .ok_or_else(|| AppError::invalid_field("brand", "not found"))?;
        let mut v = Validator::new();
        check_name(&mut v, "name", &self.name, 100);
        v.check(
            tenancy::CLIENT_TYPES.contains(&self.client_type.as_str()),
            "type",
            format!("one of {}", tenancy::CLIENT_TYPES.join(", ")),
        );
        let timezone = self.timezone.unwrap_or(brand.timezone);
        v.check(
            super::valid_timezone(&timezone),
            "timezone",
            "not an IANA time zone (e.g. Europe/Madrid)",
        );
        let language = self.language.unwrap_or(brand.language);
        v.check(
            super::valid_language(&language),
            "language",
            "not a language code (e.g. en, es, pt-BR)",
        );
        v.finish()?;
        Ok(Client {
            id,
            brand_id: brand.id,
            name: self.name.trim().to_string(),
            client_type: self.client_type,
            timezone,
            language,
            show_billing_details: self.show_billing_details.unwrap_or(true),
            created_at,
            updated_at: db::now(),
        })
    }
}

async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let params = ListParams::parse(&req, &["brand", "name", "type"], &["name", "createdAt"])?;
    let mut filter = clients::Filter {
        brand: params.filter_id("brand")?,
        name: params.filter("name").map(str::to_string),
        client_type: params.filter_choice("type", tenancy::CLIENT_TYPES)?,
        only_id: None,
    };
    if let Some(own) = caller.brand_scope() {
        if filter.brand.as_ref().is_some_and(|b| *b != own) {
            filter.only_id = Some(String::new()); // another brand: nothing
        }
        filter.brand = Some(own);
    }
    if let Some(own) = caller.client_scope() {
        if filter.only_id.is_none() {
            filter.only_id = Some(own);
        }
    }
    paged(
        &state.pool,
        &req,
        params,
        move |conn, params| clients::list(conn, &filter, params),
        ClientView::from,
    )
    .await
}

/// Loads a client the caller may see; anything else is a 404.
async fn visible(state: &AppState, caller: &Caller, id: &str) -> AppResult<Client> {
    let id = parse_id(id)?;
    let found = db::run(&state.pool, move |conn| {
        clients::find(conn, &ClientId::from_db(id))
    })
    .await?;
    found
        .filter(|c| caller.sees_client(&c.brand_id, &c.id))
        .ok_or_else(AppError::not_found)
}

async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    Ok(ok(&ClientView::from(visible(&state, &caller, &id).await?)))
}

async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<Value>,
) -> AppResult<HttpResponse> {
    caller.require(&[Role::Platform, Role::Brand])?;
    let input: ClientInput = parse_body(body.into_inner(), &[])?;
    let brand = caller.write_brand(input.brand.as_deref())?;
    let brand = parse_ref("brand", &brand)?;
    let row = db::run(&state.pool, move |conn| {
        let row = input.into_row(conn, &brand, db::new_id(), db::now())?;
        clients::insert(conn, &row)?;
        Ok(row)
    })
    .await?;
    Ok(created(
        format!("/clients/{}", row.id),
        &ClientView::from(row),
    ))
}

async fn save(
    state: &AppState,
    caller: &Caller,
    current: Client,
    input: ClientInput,
) -> AppResult<HttpResponse> {
    caller.require(&[Role::Platform, Role::Brand])?;
    if input.brand.as_ref().is_some_and(|b| *b != current.brand_id) {
        return Err(AppError::invalid_field(
            "brand",
            "a client cannot move to another brand",
        ));
    }
    let row = db::run(&state.pool, move |conn| {
        db::transaction(conn, |conn| {
            let row = input.into_row(
                conn,
                &current.brand_id,
                current.id.clone(),
                current.created_at,
            )?;
            if row.client_type != current.client_type {
                let misfits: Vec<String> = clients::endpoint_types(conn, &row.id)?
                    .into_iter()
                    .filter(|t| !tenancy::endpoint_type_fits(&row.client_type, t))
                    .collect();
                if !misfits.is_empty() {
                    return Err(AppError::invalid_field(
                        "type",
                        format!(
                            "the client has endpoints of type {} that a {} client cannot have",
                            misfits.join(", "),
                            row.client_type
                        ),
                    ));
                }
            }
            clients::update(conn, &row)?;
            Ok(row)
        })
    })
    .await?;
    Ok(ok(&ClientView::from(row)))
}

async fn replace(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> AppResult<HttpResponse> {
    let current = visible(&state, &caller, &id).await?;
    let input = parse_body(body.into_inner(), &[])?;
    save(&state, &caller, current, input).await
}

async fn patch(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> AppResult<HttpResponse> {
    let current = visible(&state, &caller, &id).await?;
    let input = patched(&ClientView::from(current.clone()), body.into_inner(), &[])?;
    save(&state, &caller, current, input).await
}

async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let current = visible(&state, &caller, &id).await?;
    caller.require(&[Role::Platform, Role::Brand])?;
    let force = force_param(&req)?;
    if force {
        caller.require(&[Role::Platform])?;
    }
    db::run(&state.pool, move |conn| {
        db::transaction(conn, |conn| {
            if !force && clients::has_data(conn, &current.id)? {
                return Err(AppError::conflict(
                    "the client has DDIs, endpoints or administrators; delete them first (or a platform administrator uses ?force=true)",
                ));
            }
            clients::delete(conn, &ClientId::from_db(current.id.clone()))
        })
    })
    .await?;
    Ok(no_content())
}
