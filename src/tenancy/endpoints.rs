//! Endpoints: the internal parties of a client that calls are attributed to. Which types
//! a client may have depends on its type (see [`crate::tenancy`]). Brand operators (and
//! platform administrators) manage them; a client administrator reads its own.

use serde::Deserialize;

use crate::auth::{Caller, Role};
use crate::db::{self, endpoints, endpoints::Endpoint, DbConnection};
use crate::error::{AppError, AppResult, Validator};
use crate::fields::{check_code, check_name, reference};
use crate::ids::{ClientId, EndpointId, Id};
use crate::listing::ListParams;
use crate::ops::Resource;
use crate::tenancy;

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
    /// The extension or user id records carry; unique in the client (409).
    pub code: Option<String>,
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
        let client_id = reference(&mut v, "client", self.client.as_deref());
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
        let code = check_code(&mut v, self.code);
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
            code,
        })
    }
}

pub struct Endpoints;

impl Resource for Endpoints {
    type Id = EndpointId;
    type Object = Endpoint;
    type Input = EndpointInput;

    const FILTERS: &'static [&'static str] = &["client", "type", "name"];
    const ORDER: &'static [&'static str] = &["name", "createdAt"];

    fn id_of(endpoint: &Endpoint) -> &str {
        &endpoint.id
    }

    fn find(conn: &mut DbConnection, caller: &Caller, id: &EndpointId) -> AppResult<Endpoint> {
        endpoints::find(conn, id.as_str())?
            .filter(|e| caller.sees_client(&e.brand_id, &e.client_id))
            .ok_or_else(AppError::not_found)
    }

    fn list(
        conn: &mut DbConnection,
        caller: &Caller,
        params: &ListParams,
    ) -> AppResult<(i64, Vec<Endpoint>)> {
        let mut filter = endpoints::Filter {
            brand: caller.brand_scope(),
            client: params.filter_id("client")?,
            endpoint_type: params.filter_choice("type", tenancy::ENDPOINT_TYPES)?,
            name: params.filter("name").map(str::to_string),
            nothing: false,
        };
        // Another client named by a client administrator matches nothing (a brand
        // operator's list is already held to its brand above).
        if let Some(own) = caller.client_scope() {
            filter.nothing |= filter.client.as_ref().is_some_and(|c| *c != own);
            filter.client = Some(own);
        }
        endpoints::list(conn, &filter, params)
    }

    fn may_create(caller: &Caller) -> AppResult<()> {
        caller.require(&[Role::Platform, Role::Brand])
    }

    fn create(
        conn: &mut DbConnection,
        caller: &Caller,
        input: EndpointInput,
    ) -> AppResult<Endpoint> {
        Self::may_create(caller)?;
        let row = input.into_row(conn, caller, None, db::new_id(), db::now())?;
        endpoints::insert(conn, &row)?;
        Ok(row)
    }

    fn may_change(caller: &Caller, _current: &Endpoint) -> AppResult<()> {
        caller.require(&[Role::Platform, Role::Brand])
    }

    /// The endpoint may move to another client of its brand, never to another brand.
    fn save(
        conn: &mut DbConnection,
        caller: &Caller,
        current: Endpoint,
        input: EndpointInput,
    ) -> AppResult<Endpoint> {
        let keep = Some(current.brand_id.as_str());
        let row = input.into_row(conn, caller, keep, current.id.clone(), current.created_at)?;
        endpoints::update(conn, &row)?;
        Ok(row)
    }

    fn remove(
        conn: &mut DbConnection,
        _caller: &Caller,
        current: Endpoint,
        _force: bool,
    ) -> AppResult<()> {
        endpoints::delete(conn, &current.id)?;
        Ok(())
    }
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
