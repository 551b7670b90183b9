//! Queries on `endpoints`: the internal parties of a client (users, fax, friends, retail
//! accounts, residential devices) that calls can be attributed to.

use diesel::prelude::*;

use crate::db::schema::endpoints;
use crate::db::{DbConnection, MultiBackend};
use crate::error::{unique_among, AppResult};
use crate::listing::{Direction, ListParams};

const DUPLICATE: &str = "the client already has an endpoint of this type with this name";
const CODE_TAKEN: &[(&str, &str, &str)] = &[(
    "code",
    "code",
    "another endpoint of the client has this code",
)];

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = endpoints, treat_none_as_null = true)]
pub struct Endpoint {
    pub id: String,
    /// Always the client's brand; stored so brand-wide lists need no join.
    pub brand_id: String,
    pub client_id: String,
    pub endpoint_type: String,
    pub name: String,
    pub created_at: chrono::NaiveDateTime,
    pub updated_at: chrono::NaiveDateTime,
    /// The extension or user id records carry, unique in the client.
    pub code: Option<String>,
}

pub fn find(conn: &mut DbConnection, id: &str) -> AppResult<Option<Endpoint>> {
    Ok(endpoints::table
        .find(id)
        .select(Endpoint::as_select())
        .first(conn)
        .optional()?)
}

/// What a list may be restricted to; the handler puts the caller's tenant in here.
#[derive(Debug, Default)]
pub struct Filter {
    pub brand: Option<String>,
    pub client: Option<String>,
    pub endpoint_type: Option<String>,
    pub name: Option<String>,
    /// Set when the request can match nothing (e.g. it names another tenant's client).
    pub nothing: bool,
}

fn filtered(f: &Filter) -> endpoints::BoxedQuery<'_, MultiBackend> {
    let mut query = endpoints::table.into_boxed();
    if f.nothing {
        // No row has an empty id.
        query = query.filter(endpoints::id.eq(""));
    }
    if let Some(b) = &f.brand {
        query = query.filter(endpoints::brand_id.eq(b));
    }
    if let Some(c) = &f.client {
        query = query.filter(endpoints::client_id.eq(c));
    }
    if let Some(t) = &f.endpoint_type {
        query = query.filter(endpoints::endpoint_type.eq(t));
    }
    if let Some(n) = &f.name {
        query = query.filter(endpoints::name.eq(n));
    }
    query
}

pub fn list(
    conn: &mut DbConnection,
    f: &Filter,
    params: &ListParams,
) -> AppResult<(i64, Vec<Endpoint>)> {
    let total = filtered(f).count().get_result(conn)?;
    let mut query = filtered(f);
    for (field, direction) in &params.order {
        query = match (field.as_str(), direction) {
            ("name", Direction::Asc) => query.then_order_by(endpoints::name.asc()),
            ("name", Direction::Desc) => query.then_order_by(endpoints::name.desc()),
            ("createdAt", Direction::Asc) => query.then_order_by(endpoints::created_at.asc()),
            ("createdAt", Direction::Desc) => query.then_order_by(endpoints::created_at.desc()),
            _ => query,
        };
    }
    let rows = query
        .then_order_by(endpoints::id.asc())
        .limit(params.per_page)
        .offset(params.offset())
        .select(Endpoint::as_select())
        .load(conn)?;
    Ok((total, rows))
}

pub fn insert(conn: &mut DbConnection, endpoint: &Endpoint) -> AppResult<()> {
    diesel::insert_into(endpoints::table)
        .values(endpoint)
        .execute(conn)
        .map_err(unique_among(CODE_TAKEN, DUPLICATE))?;
    Ok(())
}

pub fn update(conn: &mut DbConnection, endpoint: &Endpoint) -> AppResult<()> {
    diesel::update(endpoints::table.find(&endpoint.id))
        .set(endpoint)
        .execute(conn)
        .map_err(unique_among(CODE_TAKEN, DUPLICATE))?;
    Ok(())
}

pub fn delete(conn: &mut DbConnection, id: &str) -> AppResult<usize> {
    Ok(diesel::delete(endpoints::table.find(id)).execute(conn)?)
}
