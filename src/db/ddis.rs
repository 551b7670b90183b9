//! Queries on `ddis`: a brand's public numbers, each assigned to one of its clients and
//! optionally linked to the DDI provider that delivers it.

use diesel::prelude::*;

use crate::db::schema::{ddi_providers, ddis};
use crate::db::{DbConnection, MultiBackend};
use crate::error::{unique, AppResult};
use crate::listing::{Direction, ListParams};

const DUPLICATE: &str = "a DDI with this number already exists in the brand";

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = ddis, treat_none_as_null = true)]
pub struct Ddi {
    pub id: String,
    pub brand_id: String,
    pub client_id: String,
    pub ddi_e164: String,
    pub ddi_provider_id: Option<String>,
    pub created_at: chrono::NaiveDateTime,
    pub updated_at: chrono::NaiveDateTime,
}

pub fn find(conn: &mut DbConnection, id: &str) -> AppResult<Option<Ddi>> {
    Ok(ddis::table
        .find(id)
        .select(Ddi::as_select())
        .first(conn)
        .optional()?)
}

/// What a list may be restricted to; the handler puts the caller's tenant in here.
#[derive(Debug, Default)]
pub struct Filter {
    pub brand: Option<String>,
    pub client: Option<String>,
    pub ddi_e164: Option<String>,
    pub ddi_provider: Option<String>,
    /// Set when the request can match nothing (e.g. it names another tenant's brand).
    pub nothing: bool,
}

fn filtered(f: &Filter) -> ddis::BoxedQuery<'_, MultiBackend> {
    let mut query = ddis::table.into_boxed();
    if f.nothing {
        // No row has an empty id.
        query = query.filter(ddis::id.eq(""));
    }
    if let Some(b) = &f.brand {
        query = query.filter(ddis::brand_id.eq(b));
    }
    if let Some(c) = &f.client {
        query = query.filter(ddis::client_id.eq(c));
    }
    if let Some(n) = &f.ddi_e164 {
        query = query.filter(ddis::ddi_e164.eq(n));
    }
    if let Some(p) = &f.ddi_provider {
        query = query.filter(ddis::ddi_provider_id.eq(p));
    }
    query
}

pub fn list(
    conn: &mut DbConnection,
    f: &Filter,
    params: &ListParams,
) -> AppResult<(i64, Vec<Ddi>)> {
    let total = filtered(f).count().get_result(conn)?;
    let mut query = filtered(f);
    for (field, direction) in &params.order {
        query = match (field.as_str(), direction) {
            ("ddiE164", Direction::Asc) => query.then_order_by(ddis::ddi_e164.asc()),
            ("ddiE164", Direction::Desc) => query.then_order_by(ddis::ddi_e164.desc()),
            ("createdAt", Direction::Asc) => query.then_order_by(ddis::created_at.asc()),
            ("createdAt", Direction::Desc) => query.then_order_by(ddis::created_at.desc()),
            _ => query,
        };
    }
    let rows = query
        .then_order_by(ddis::id.asc())
        .limit(params.per_page)
        .offset(params.offset())
        .select(Ddi::as_select())
        .load(conn)?;
    Ok((total, rows))
}

pub fn insert(conn: &mut DbConnection, ddi: &Ddi) -> AppResult<()> {
    diesel::insert_into(ddis::table)
        .values(ddi)
        .execute(conn)
        .map_err(unique(DUPLICATE))?;
    Ok(())
}

pub fn update(conn: &mut DbConnection, ddi: &Ddi) -> AppResult<()> {
    diesel::update(ddis::table.find(&ddi.id))
        .set(ddi)
        .execute(conn)
        .map_err(unique(DUPLICATE))?;
    Ok(())
}

pub fn delete(conn: &mut DbConnection, id: &str) -> AppResult<usize> {
    Ok(diesel::delete(ddis::table.find(id)).execute(conn)?)
}

/// The brand of a DDI provider, `None` when there is no such provider. Asked here rather
/// than through the providers' own module so a DDI needs nothing of it but its table.
pub fn provider_brand(conn: &mut DbConnection, provider_id: &str) -> AppResult<Option<String>> {
    Ok(ddi_providers::table
        .find(provider_id)
        .select(ddi_providers::brand_id)
        .first(conn)
        .optional()?)
}
