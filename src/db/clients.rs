//! Queries on `clients`.

use diesel::prelude::*;

use crate::ids::{ClientId, Id};

use crate::db::schema::clients;
use crate::db::DbConnection;
use crate::error::AppResult;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = clients, treat_none_as_null = true)]
pub struct Client {
    pub id: String,
    pub brand_id: String,
    pub name: String,
    pub client_type: String,
    pub timezone: String,
    pub language: String,
    pub show_billing_details: bool,
    pub created_at: chrono::NaiveDateTime,
    pub updated_at: chrono::NaiveDateTime,
    /// The account code records carry, unique in the brand.
    pub code: Option<String>,
    /// Home country (ISO 3166-1 alpha-2); None = the brand's.
    pub country: Option<String>,
}

const NAME_TAKEN: &str = "a client with this name already exists in the brand";
const CODE_TAKEN: &[(&str, &str, &str)] =
    &[("code", "code", "another client of the brand has this code")];

pub fn find(conn: &mut DbConnection, id: &ClientId) -> AppResult<Option<Client>> {
    Ok(clients::table
        .find(id.as_str())
        .select(Client::as_select())
        .first(conn)
        .optional()?)
}

#[derive(Default)]
pub struct Filter {
    pub brand: Option<String>,
    pub only_id: Option<String>,
    pub name: Option<String>,
    pub client_type: Option<String>,
}

fn filtered(f: &Filter) -> clients::BoxedQuery<'_, crate::db::MultiBackend> {
    let mut query = clients::table.into_boxed();
    if let Some(b) = &f.brand {
        query = query.filter(clients::brand_id.eq(b));
    }
    if let Some(id) = &f.only_id {
        query = query.filter(clients::id.eq(id));
    }
    if let Some(n) = &f.name {
        query = query.filter(clients::name.eq(n));
    }
    if let Some(t) = &f.client_type {
        query = query.filter(clients::client_type.eq(t));
    }
    query
}

pub fn list(
    conn: &mut DbConnection,
    f: &Filter,
    params: &crate::listing::ListParams,
) -> AppResult<(i64, Vec<Client>)> {
    use crate::listing::Direction;
    let total = filtered(f).count().get_result(conn)?;
    let mut query = filtered(f);
    for (field, direction) in &params.order {
        query = match (field.as_str(), direction) {
            ("name", Direction::Asc) => query.then_order_by(clients::name.asc()),
            ("name", Direction::Desc) => query.then_order_by(clients::name.desc()),
            ("createdAt", Direction::Asc) => query.then_order_by(clients::created_at.asc()),
            ("createdAt", Direction::Desc) => query.then_order_by(clients::created_at.desc()),
            _ => query,
        };
    }
    let rows = query
        .then_order_by(clients::id.asc())
        .limit(params.per_page)
        .offset(params.offset())
        .select(Client::as_select())
        .load(conn)?;
    Ok((total, rows))
}

/// The ids of a brand's clients of `client_type`.
pub fn ids_of_type(
    conn: &mut DbConnection,
    brand: &str,
    client_type: &str,
) -> AppResult<Vec<String>> {
    Ok(clients::table
        .filter(clients::brand_id.eq(brand))
        .filter(clients::client_type.eq(client_type))
        .select(clients::id)
        .load(conn)?)
}

pub fn insert(conn: &mut DbConnection, client: &Client) -> AppResult<()> {
    diesel::insert_into(clients::table)
        .values(client)
        .execute(conn)
        .map_err(crate::error::unique_among(CODE_TAKEN, NAME_TAKEN))?;
    Ok(())
}

pub fn update(conn: &mut DbConnection, client: &Client) -> AppResult<()> {
    diesel::update(clients::table.find(&client.id))
        .set(client)
        .execute(conn)
        .map_err(crate::error::unique_among(CODE_TAKEN, NAME_TAKEN))?;
    Ok(())
}

/// True when something was created under the client (deleting it would take that along).
pub fn has_data(conn: &mut DbConnection, id: &str) -> AppResult<bool> {
    use crate::db::schema::{administrators, ddis, endpoints};
    let counts: [i64; 3] = [
        ddis::table
            .filter(ddis::client_id.eq(id))
            .count()
            .get_result(conn)?,
        endpoints::table
            .filter(endpoints::client_id.eq(id))
            .count()
            .get_result(conn)?,
        administrators::table
            .filter(administrators::client_id.eq(id))
            .count()
            .get_result(conn)?,
    ];
    Ok(counts.iter().any(|&n| n > 0))
}

/// The endpoint types the client has (to refuse a type change they would not fit).
pub fn endpoint_types(conn: &mut DbConnection, id: &str) -> AppResult<Vec<String>> {
    use crate::db::schema::endpoints;
    Ok(endpoints::table
        .filter(endpoints::client_id.eq(id))
        .select(endpoints::endpoint_type)
        .distinct()
        .load(conn)?)
}

/// Deletes a client; its calls go with it (cascade), and their statistics here first (call
/// inside a transaction).
pub fn delete(conn: &mut DbConnection, id: &ClientId) -> AppResult<usize> {
    crate::db::rollups::forget_client(conn, id.as_str())?;
    Ok(diesel::delete(clients::table.find(id.as_str())).execute(conn)?)
}
