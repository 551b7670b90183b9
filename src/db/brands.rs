//! Queries on `brands`.

use diesel::prelude::*;

use crate::ids::{BrandId, Id};

use crate::db::schema::{
    administrators, brands, carriers, cdr_sources, clients, ddi_providers, notification_templates,
};
use crate::db::{DbConnection, MultiBackend};
use crate::error::AppResult;
use crate::listing::{Direction, ListParams};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = brands, treat_none_as_null = true)]
pub struct Brand {
    pub id: String,
    pub name: String,
    pub timezone: String,
    pub language: String,
    pub currency: String,
    pub email: Option<String>,
    pub created_at: chrono::NaiveDateTime,
    pub updated_at: chrono::NaiveDateTime,
    /// ISO 3166-1 alpha-2, in capitals: the numbering conventions of its CDR sources.
    pub country: Option<String>,
}

/// Filters a list may use: the caller's brand (None = all) and `?name=`.
fn filtered<'a>(
    only: Option<&'a str>,
    params: &'a ListParams,
) -> brands::BoxedQuery<'a, MultiBackend> {
    let mut query = brands::table.into_boxed();
    if let Some(id) = only {
        query = query.filter(brands::id.eq(id));
    }
    if let Some(name) = params.filter("name") {
        query = query.filter(brands::name.eq(name));
    }
    query
}

pub fn list(
    conn: &mut DbConnection,
    only: Option<&str>,
    params: &ListParams,
) -> AppResult<(i64, Vec<Brand>)> {
    let total = filtered(only, params).count().get_result(conn)?;
    let mut query = filtered(only, params);
    for (field, direction) in &params.order {
        query = match (field.as_str(), direction) {
            ("name", Direction::Asc) => query.then_order_by(brands::name.asc()),
            ("name", Direction::Desc) => query.then_order_by(brands::name.desc()),
            ("createdAt", Direction::Asc) => query.then_order_by(brands::created_at.asc()),
            ("createdAt", Direction::Desc) => query.then_order_by(brands::created_at.desc()),
            _ => query,
        };
    }
    let rows = query
        .then_order_by(brands::id.asc())
        .limit(params.per_page)
        .offset(params.offset())
        .select(Brand::as_select())
        .load(conn)?;
    Ok((total, rows))
}

pub fn find(conn: &mut DbConnection, id: &BrandId) -> AppResult<Option<Brand>> {
    Ok(brands::table
        .find(id.as_str())
        .select(Brand::as_select())
        .first(conn)
        .optional()?)
}

pub fn exists(conn: &mut DbConnection, id: &BrandId) -> AppResult<bool> {
    Ok(find(conn, id)?.is_some())
}

pub fn insert(conn: &mut DbConnection, brand: &Brand) -> AppResult<()> {
    diesel::insert_into(brands::table)
        .values(brand)
        .execute(conn)
        .map_err(crate::error::unique(
            "a brand with this name already exists",
        ))?;
    Ok(())
}

pub fn update(conn: &mut DbConnection, brand: &Brand) -> AppResult<()> {
    diesel::update(brands::table.find(&brand.id))
        .set(brand)
        .execute(conn)
        .map_err(crate::error::unique(
            "a brand with this name already exists",
        ))?;
    Ok(())
}

/// True when something was created under the brand (deleting it would take that along).
pub fn has_data(conn: &mut DbConnection, id: &BrandId) -> AppResult<bool> {
    let counts: [i64; 6] = [
        clients::table
            .filter(clients::brand_id.eq(id.as_str()))
            .count()
            .get_result(conn)?,
        carriers::table
            .filter(carriers::brand_id.eq(id.as_str()))
            .count()
            .get_result(conn)?,
        ddi_providers::table
            .filter(ddi_providers::brand_id.eq(id.as_str()))
            .count()
            .get_result(conn)?,
        notification_templates::table
            .filter(notification_templates::brand_id.eq(id.as_str()))
            .count()
            .get_result(conn)?,
        administrators::table
            .filter(administrators::brand_id.eq(id.as_str()))
            .count()
            .get_result(conn)?,
        cdr_sources::table
            .filter(cdr_sources::brand_id.eq(id.as_str()))
            .count()
            .get_result(conn)?,
    ];
    Ok(counts.iter().any(|&n| n > 0))
}

/// Deletes the brand; foreign keys cascade to everything under it, and its statistics
/// (`call_rollups`, which has no foreign key: see migration 000020) go first.
pub fn delete(conn: &mut DbConnection, id: &BrandId) -> AppResult<usize> {
    crate::db::rollups::forget_brand(conn, id.as_str())?;
    Ok(diesel::delete(brands::table.find(id.as_str())).execute(conn)?)
}
