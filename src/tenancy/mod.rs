//! The tenancy: brands, their clients, carriers, DDI providers, DDIs, endpoints,
//! notification templates and administrators. Each submodule holds one resource's
//! operations; the pure rules (client types and the endpoint types each accepts) are below.
//!
//! # How an operation is written (the pattern every domain module follows)
//!
//! - One unit struct per resource implements [`crate::ops::Resource`]: `find` (the object
//!   if the caller may see it, else 404), `list` (scoped to the caller's tenant), `create`,
//!   `save` (a change to an object already found visible) and `remove`. Each takes the
//!   [`Caller`](crate::auth::Caller) (role and tenant), typed input and a
//!   `&mut DbConnection`, applies every validation, tenancy and visibility rule, and
//!   returns the domain object or one `AppError`. Ids are typed (`crate::ids`); fields are
//!   checked with `crate::fields`.
//! - The trait's provided methods are the shape written once: `update(id, read)` finds the
//!   visible object, runs `may_change`, builds the input from the current object with
//!   `read` and saves; `replace(id, input)` is `update` ignoring the current object;
//!   `delete(id, force)` is find, `may_change`, `remove`.
//! - PATCH is `update` with a `read` that merges the patch into the current object's view
//!   (the JSON API's RFC 7386 merge; a console form would fill its fields from the current
//!   object the same way). Load, merge and save happen on one connection in one call.
//! - `may_list` / `may_create` / `may_change` are the role checks that need neither input
//!   nor database; the operations apply them themselves, and they run before the input is
//!   read so a caller without the right hears 403 whatever it sent.
//! - Front doors only translate: `api::rest` has the generic handlers (parse the path,
//!   query and body, call one operation inside `db::run`, render the view); a resource's
//!   `api` module holds its JSON view and `impl Rest`. The console and commands call the
//!   same operations with a connection of their own.
//! - Nothing here imports `api/`; the queries stay in `db/`.

pub mod administrators;
pub mod brands;
pub mod carriers;
pub mod clients;
pub mod ddi_providers;
pub mod ddis;
pub mod endpoints;
pub mod notification_templates;

pub use administrators::Administrators;
pub use brands::Brands;
pub use carriers::Carriers;
pub use clients::Clients;
pub use ddi_providers::DdiProviders;
pub use ddis::Ddis;
pub use endpoints::Endpoints;
pub use notification_templates::NotificationTemplates;

use crate::auth::Caller;
use crate::db::{self, DbConnection};
use crate::error::{AppError, AppResult};
use crate::ids::{BrandId, Id};

/// The brand a new object goes to: the caller's own, or the one a platform administrator
/// names (see `Caller::write_brand`); it must exist (a 422 on `brand` otherwise).
pub fn brand_to_write(
    conn: &mut DbConnection,
    caller: &Caller,
    requested: Option<&str>,
) -> AppResult<BrandId> {
    let brand = BrandId::parse_ref("brand", &caller.write_brand(requested)?)?;
    existing_brand(conn, brand)
}

/// The brand a changed object stays in: a body may restate it but not name another
/// (`what` names the object in the message).
pub fn brand_kept(requested: Option<&str>, current: &str, what: &str) -> AppResult<BrandId> {
    match requested {
        Some(b) if b != current => Err(AppError::invalid_field(
            "brand",
            format!("{what} cannot move to another brand"),
        )),
        _ => Ok(BrandId::from_db(current.to_string())),
    }
}

/// Objects that are the brand's business, not its clients' (carriers, DDI providers):
/// managed by platform administrators and the brand's operators, invisible to client
/// administrators (403 on the list, 404 on each).
pub mod brand_business {
    use crate::auth::{Caller, Role};
    use crate::db::BrandFilter;
    use crate::error::{AppError, AppResult};
    use crate::listing::ListParams;

    pub fn may_manage(caller: &Caller) -> AppResult<()> {
        caller.require(&[Role::Platform, Role::Brand])
    }

    /// `found`, if the caller may see it; a 404 otherwise.
    pub fn visible<T>(caller: &Caller, found: Option<T>, brand: fn(&T) -> &str) -> AppResult<T> {
        found
            .filter(|o| caller.role != Role::Client && caller.sees_brand(brand(o)))
            .ok_or_else(AppError::not_found)
    }

    /// The list's `?brand=&name=` held to the caller's brand.
    pub fn filter(caller: &Caller, params: &ListParams) -> AppResult<BrandFilter> {
        may_manage(caller)?;
        let scope = caller.list_scope(params.filter_id("brand")?, None);
        Ok(BrandFilter {
            brand: scope.brand,
            name: params.filter("name").map(str::to_string),
            nothing: scope.nothing,
        })
    }
}

/// `brand`, if it exists; a 422 on `brand` otherwise.
pub fn existing_brand(conn: &mut DbConnection, brand: BrandId) -> AppResult<BrandId> {
    match db::brands::exists(conn, &brand)? {
        true => Ok(brand),
        false => Err(AppError::invalid_field("brand", "not found")),
    }
}

pub const CLIENT_TYPES: &[&str] = &["vpbx", "residential", "retail", "wholesale"];

pub const ENDPOINT_TYPES: &[&str] = &[
    "User",
    "Fax",
    "Friend",
    "RetailAccount",
    "ResidentialDevice",
];

/// The endpoint types a client of `client_type` may have.
pub fn endpoint_types_for(client_type: &str) -> &'static [&'static str] {
    match client_type {
        "vpbx" => &["User", "Fax", "Friend"],
        "retail" => &["RetailAccount"],
        "residential" => &["ResidentialDevice", "Fax"],
        _ => &[],
    }
}

pub fn endpoint_type_fits(client_type: &str, endpoint_type: &str) -> bool {
    endpoint_types_for(client_type).contains(&endpoint_type)
}

/// The endpoint filter of a scheduler or an alert rule (`endpointType`, `endpointId`)
/// checked against its client (`None`: it has none): both need the client, the type must
/// be one the client's type has, the endpoint one of the client's of that type. Answers the
/// endpoint id as given.
pub fn check_endpoint_filter(
    conn: &mut DbConnection,
    v: &mut crate::error::Validator,
    client: Option<&db::clients::Client>,
    endpoint_type: Option<&str>,
    endpoint_id: Option<&str>,
) -> AppResult<Option<String>> {
    let endpoint_id = crate::fields::reference(v, "endpointId", endpoint_id);
    if let Some(endpoint_type) = endpoint_type {
        match client {
            None => v.error("endpointType", "only with a client"),
            Some(c) => v.check(
                endpoint_type_fits(&c.client_type, endpoint_type),
                "endpointType",
                format!(
                    "a {} client has no {endpoint_type:?} endpoints (possible: {})",
                    c.client_type,
                    endpoint_types_for(&c.client_type).join(", ")
                ),
            ),
        }
    }
    if let Some(id) = &endpoint_id {
        match (client, endpoint_type) {
            (None, _) => v.error("endpointId", "only with a client"),
            (Some(_), None) => v.error("endpointId", "needs endpointType"),
            (Some(c), Some(endpoint_type)) => {
                let fits = db::endpoints::find(conn, id)?
                    .is_some_and(|e| e.client_id == c.id && e.endpoint_type == endpoint_type);
                v.check(
                    fits,
                    "endpointId",
                    format!("not a {endpoint_type} of the client"),
                );
            }
        }
    }
    Ok(endpoint_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_types_fit_client_types() {
        assert!(endpoint_type_fits("vpbx", "Friend"));
        assert!(endpoint_type_fits("residential", "Fax"));
        assert!(!endpoint_type_fits("retail", "User"));
        assert!(!endpoint_type_fits("wholesale", "User"));
        assert!(!endpoint_type_fits("vpbx", "user"));
    }
}
