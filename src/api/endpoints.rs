//! `/endpoints`: the internal parties of a client that calls are attributed to. Which types
//! a client may have depends on its type (see [`crate::tenancy`]). Brand operators (and
//! platform administrators) manage them; a client administrator reads its own.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::{
    check_name, created, no_content, ok, paged, parse_body, parse_id, parse_ref, patched, resource,
    ts, ListParams,
};
use crate::auth::{Caller, Role};
use crate::db::{self, endpoints, endpoints::Endpoint, DbConnection};
use crate::error::{AppError, AppResult, Validator};
use crate::ids::{ClientId, Id};
use crate::tenancy;
use crate::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/endpoints")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    );
    cfg.service(
        resource("/endpoints/{id}")
            .route(web::get().to(get))
            .route(web::put().to(replace))
            .route(web::patch().to(patch))
            .route(web::delete().to(delete)),
    );
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointView {
    pub id: String,
    pub brand: String,
    pub client: String,
    #[serde(rename = "type")]
    pub endpoint_type: String,
    pub name: String,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Endpoint> for EndpointView {
    fn from(e: Endpoint) -> EndpointView {
        EndpointView {
            id: e.id,
            brand: e.brand_id,
            client: e.client_id,
            endpoint_type: e.endpoint_type,
            name: e.name,
            created_at: ts(e.created_at),
            updated_at: ts(e.updated_at),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EndpointInput {
    /// Never needed (it is the client's); accepted so a PUT can send back what a GET gave.
    pub brand: Option<String>,
    // Required, but optional here so a missing one is reported in `fields` with the rest.
    pub client: Option<String>,
    #[serde(rename = "type")]
    pub endpoint_type: Option<String>,
    pub name: Option<String>,
}

/// Why `endpoint_type` does not fit a client of `client_type`, naming what would.
fn misfit_message(client_type: &str) -> String {
    match tenancy::endpoint_types_for(client_type) {
        [] => format!("a {client_type} client cannot have endpoints"),
        allowed => format!("a {client_type} client accepts {}", allowed.join(", ")),
    }
}

impl EndpointInput {
    /// Validates (the client must be one the caller manages and, when `keep_brand` is
    /// given, of that brand) and builds the row, whose brand is the client's.
    fn into_row(
        self,
        conn: &mut DbConnection,
        caller: &Caller,
        keep_brand: Option<&str>,
        id: String,
        created_at: chrono::NaiveDateTime,
    ) -> AppResult<Endpoint> {
        let mut v = Validator::new();
        v.check(self.client.is_some(), "client", "required");
        let client_id = match self.client.as_deref().map(|raw| parse_ref("client", raw)) {
            Some(Ok(id)) => Some(id),
            Some(Err(_)) => {
                v.error("client", "not a UUID");
                None
            }
            None => None,
        };
        let client = match &client_id {
            Some(id) => db::clients::find(conn, &ClientId::from_db(id.clone()))?
                .filter(|c| caller.sees_client(&c.brand_id, &c.id))
                .filter(|c| keep_brand.is_none_or(|b| b == c.brand_id)),
            None => None,
        };
        // The same words whether the client is missing or another tenant's.
        v.check(
            client_id.is_none() || client.is_some(),
            "client",
            "not found",
        );
        if let (Some(brand), Some(client)) = (&self.brand, &client) {
            v.check(
                *brand == client.brand_id,
                "brand",
                "is not the client's brand",
            );
        }
        let endpoint_type = self.endpoint_type.unwrap_or_default();
        if !tenancy::ENDPOINT_TYPES.contains(&endpoint_type.as_str()) {
            v.error(
                "type",
                format!("one of {}", tenancy::ENDPOINT_TYPES.join(", ")),
            );
        } else if let Some(client) = &client {
            v.check(
                tenancy::endpoint_type_fits(&client.client_type, &endpoint_type),
                "type",
                misfit_message(&client.client_type),
            );
        }
        let name = self.name.unwrap_or_default();
        check_name(&mut v, "name", &name, 100);
        v.finish()?;
        let client = client.ok_or_else(|| AppError::invalid_field("client", "not found"))?;
        Ok(Endpoint {
            id,
            brand_id: client.brand_id,
            client_id: client.id,
            endpoint_type,
            name: name.trim().to_string(),
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
    let params = ListParams::parse(&req, &["client", "type", "name"], &["name", "createdAt"])?;
    let mut filter = endpoints::Filter {
        brand: caller.brand_scope(),
        client: params.filter_id("client")?,
        endpoint_type: params.filter_choice("type", tenancy::ENDPOINT_TYPES)?,
        name: params.filter("name").map(str::to_string),
        nothing: false,
    };
    // Another client named by a client administrator matches nothing (a brand operator's
    // list is already held to its brand above).
    if let Some(own) = caller.client_scope() {
        filter.nothing |= filter.client.as_ref().is_some_and(|c| *c != own);
        filter.client = Some(own);
    }
    paged(
        &state.pool,
        &req,
        params,
        move |conn, params| endpoints::list(conn, &filter, params),
        EndpointView::from,
    )
    .await
}

/// Loads an endpoint the caller may see; anything else is a 404.
async fn visible(state: &AppState, caller: &Caller, id: &str) -> AppResult<Endpoint> {
    let id = parse_id(id)?;
    let found = db::run(&state.pool, move |conn| endpoints::find(conn, &id)).await?;
    found
        .filter(|e| caller.sees_client(&e.brand_id, &e.client_id))
        .ok_or_else(AppError::not_found)
}

async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    Ok(ok(&EndpointView::from(
        visible(&state, &caller, &id).await?,
    )))
}

async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<Value>,
) -> AppResult<HttpResponse> {
    caller.require(&[Role::Platform, Role::Brand])?;
    let input: EndpointInput = parse_body(body.into_inner(), &[])?;
    let row = db::run(&state.pool, move |conn| {
        let row = input.into_row(conn, &caller, None, db::new_id(), db::now())?;
        endpoints::insert(conn, &row)?;
        Ok(row)
    })
    .await?;
    Ok(created(
        format!("/endpoints/{}", row.id),
        &EndpointView::from(row),
    ))
}

/// Writes a PUT or PATCH. The endpoint may move to another client of its brand, never to
/// another brand.
async fn save(
    state: &AppState,
    caller: Caller,
    current: Endpoint,
    input: EndpointInput,
) -> AppResult<HttpResponse> {
    let row = db::run(&state.pool, move |conn| {
        let row = input.into_row(
            conn,
            &caller,
            Some(&current.brand_id),
            current.id,
            current.created_at,
        )?;
        endpoints::update(conn, &row)?;
        Ok(row)
    })
    .await?;
    Ok(ok(&EndpointView::from(row)))
}

async fn replace(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> AppResult<HttpResponse> {
    let current = visible(&state, &caller, &id).await?;
    caller.require(&[Role::Platform, Role::Brand])?;
    let input = parse_body(body.into_inner(), &[])?;
    save(&state, caller, current, input).await
}

async fn patch(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> AppResult<HttpResponse> {
    let current = visible(&state, &caller, &id).await?;
    caller.require(&[Role::Platform, Role::Brand])?;
    let input = patched(&EndpointView::from(current.clone()), body.into_inner(), &[])?;
    save(&state, caller, current, input).await
}

async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let current = visible(&state, &caller, &id).await?;
    caller.require(&[Role::Platform, Role::Brand])?;
    db::run(&state.pool, move |conn| {
        endpoints::delete(conn, &current.id)
    })
    .await?;
    Ok(no_content())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misfits_name_what_would_fit() {
        assert_eq!(
            misfit_message("vpbx"),
            "a vpbx client accepts User, Fax, Friend"
        );
        assert_eq!(
            misfit_message("wholesale"),
            "a wholesale client cannot have endpoints"
        );
    }
}
