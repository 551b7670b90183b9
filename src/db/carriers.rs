//! Queries on `carriers`: the routes a brand's outbound calls leave by (their rating
//! profile gives a call's cost).

use diesel::prelude::*;

use crate::ids::{CarrierId, Id};

use crate::db::schema::carriers;
use crate::db::{DbConnection, MultiBackend};
use crate::error::{unique_among, AppError, AppResult};
use crate::listing::{Direction, ListParams};

const NAME_TAKEN: &str = "a carrier with this name already exists in the brand";
const CODE_TAKEN: &[(&str, &str, &str)] =
    &[("code", "code", "another carrier of the brand has this code")];

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = carriers, treat_none_as_null = true)]
pub struct Carrier {
    pub id: String,
    pub brand_id: String,
    pub name: String,
    pub description: String,
    pub created_at: chrono::NaiveDateTime,
    pub updated_at: chrono::NaiveDateTime,
    /// The trunk, gateway or vendor name records carry, unique in the brand.
    pub code: Option<String>,
}

pub fn find(conn: &mut DbConnection, id: &CarrierId) -> AppResult<Option<Carrier>> {
    Ok(carriers::table
        .find(id.as_str())
        .select(Carrier::as_select())
        .first(conn)
        .optional()?)
}

pub use crate::db::BrandFilter as Filter;

fn filtered(f: &Filter) -> carriers::BoxedQuery<'_, MultiBackend> {
    let mut query = carriers::table.into_boxed();
    if f.nothing {
        query = query.filter(carriers::id.eq(""));
    }
    if let Some(b) = &f.brand {
        query = query.filter(carriers::brand_id.eq(b));
    }
    if let Some(n) = &f.name {
        query = query.filter(carriers::name.eq(n));
    }
    query
}

pub fn list(
    conn: &mut DbConnection,
    f: &Filter,
    params: &ListParams,
) -> AppResult<(i64, Vec<Carrier>)> {
    let total = filtered(f).count().get_result(conn)?;
    let mut query = filtered(f);
    for (field, direction) in &params.order {
        query = match (field.as_str(), direction) {
            ("name", Direction::Asc) => query.then_order_by(carriers::name.asc()),
            ("name", Direction::Desc) => query.then_order_by(carriers::name.desc()),
            ("createdAt", Direction::Asc) => query.then_order_by(carriers::created_at.asc()),
            ("createdAt", Direction::Desc) => query.then_order_by(carriers::created_at.desc()),
            _ => query,
        };
    }
    let rows = query
        .then_order_by(carriers::id.asc())
        .limit(params.per_page)
        .offset(params.offset())
        .select(Carrier::as_select())
        .load(conn)?;
    Ok((total, rows))
}

pub fn insert(conn: &mut DbConnection, carrier: &Carrier) -> AppResult<()> {
    diesel::insert_into(carriers::table)
        .values(carrier)
        .execute(conn)
        .map_err(unique_among(CODE_TAKEN, NAME_TAKEN))?;
    Ok(())
}

pub fn update(conn: &mut DbConnection, carrier: &Carrier) -> AppResult<()> {
    let updated = diesel::update(carriers::table.find(&carrier.id))
        .set(carrier)
        .execute(conn)
        .map_err(unique_among(CODE_TAKEN, NAME_TAKEN))?;
    if updated == 0 {
        return Err(AppError::not_found()); // deleted meanwhile
    }
    Ok(())
}

/// Deletes the carrier; a table that still references it makes this a 409.
pub fn delete(conn: &mut DbConnection, id: &CarrierId) -> AppResult<usize> {
    Ok(diesel::delete(carriers::table.find(id.as_str())).execute(conn)?)
}
