//! Queries on `ddi_providers`: who delivers a brand's inbound calls. The address list and
//! the transformation rules are stored as JSON text (canonical addresses; rules as the API
//! shows them); [`DdiProvider::addresses`] and [`DdiProvider::rules`] read them back.

use diesel::prelude::*;

use crate::db::schema::ddi_providers;
use crate::db::{DbConnection, MultiBackend};
use crate::detection::TransformationRule;
use crate::error::{unique, AppError, AppResult};
use crate::listing::{Direction, ListParams};

const NAME_TAKEN: &str = "a DDI provider with this name already exists in the brand";

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = ddi_providers, treat_none_as_null = true)]
pub struct DdiProvider {
    pub id: String,
    pub brand_id: String,
    pub name: String,
    pub description: String,
    /// JSON array of canonical address texts (see `detection::address_text`).
    pub addresses: String,
    /// JSON array of `TransformationRule`s, in the order they were given.
    pub transformation_rules: String,
    pub created_at: chrono::NaiveDateTime,
    pub updated_at: chrono::NaiveDateTime,
}

impl DdiProvider {
    /// The stored address entries (parse them with `detection::parse_addresses`).
    pub fn addresses(&self) -> AppResult<Vec<String>> {
        serde_json::from_str(&self.addresses).map_err(|e| {
            AppError::internal(format!("ddi provider {}: stored addresses: {e}", self.id))
        })
    }

    /// The stored rules, in list order (compile them with `detection::CompiledRules`).
    pub fn rules(&self) -> AppResult<Vec<TransformationRule>> {
        serde_json::from_str(&self.transformation_rules)
            .map_err(|e| AppError::internal(format!("ddi provider {}: stored rules: {e}", self.id)))
    }
}

/// The JSON text stored for an address list or a rule list.
pub fn to_json<T: serde::Serialize>(value: &T) -> AppResult<String> {
    serde_json::to_string(value).map_err(AppError::internal)
}

pub fn find(conn: &mut DbConnection, id: &str) -> AppResult<Option<DdiProvider>> {
    Ok(ddi_providers::table
        .find(id)
        .select(DdiProvider::as_select())
        .first(conn)
        .optional()?)
}

/// Every provider of a brand in ascending id order: the order inbound detection tries
/// them in.
pub fn of_brand(conn: &mut DbConnection, brand_id: &str) -> AppResult<Vec<DdiProvider>> {
    Ok(ddi_providers::table
        .filter(ddi_providers::brand_id.eq(brand_id))
        .order(ddi_providers::id.asc())
        .select(DdiProvider::as_select())
        .load(conn)?)
}

pub use crate::db::BrandFilter as Filter;

fn filtered(f: &Filter) -> ddi_providers::BoxedQuery<'_, MultiBackend> {
    let mut query = ddi_providers::table.into_boxed();
    if f.nothing {
        query = query.filter(ddi_providers::id.eq(""));
    }
    if let Some(b) = &f.brand {
        query = query.filter(ddi_providers::brand_id.eq(b));
    }
    if let Some(n) = &f.name {
        query = query.filter(ddi_providers::name.eq(n));
    }
    query
}

pub fn list(
    conn: &mut DbConnection,
    f: &Filter,
    params: &ListParams,
) -> AppResult<(i64, Vec<DdiProvider>)> {
    let total = filtered(f).count().get_result(conn)?;
    let mut query = filtered(f);
    for (field, direction) in &params.order {
        query = match (field.as_str(), direction) {
            ("name", Direction::Asc) => query.then_order_by(ddi_providers::name.asc()),
            ("name", Direction::Desc) => query.then_order_by(ddi_providers::name.desc()),
            ("createdAt", Direction::Asc) => query.then_order_by(ddi_providers::created_at.asc()),
            ("createdAt", Direction::Desc) => query.then_order_by(ddi_providers::created_at.desc()),
            _ => query,
        };
    }
    let rows = query
        .then_order_by(ddi_providers::id.asc())
        .limit(params.per_page)
        .offset(params.offset())
        .select(DdiProvider::as_select())
        .load(conn)?;
    Ok((total, rows))
}

pub fn insert(conn: &mut DbConnection, provider: &DdiProvider) -> AppResult<()> {
    diesel::insert_into(ddi_providers::table)
        .values(provider)
        .execute(conn)
        .map_err(unique(NAME_TAKEN))?;
    Ok(())
}

pub fn update(conn: &mut DbConnection, provider: &DdiProvider) -> AppResult<()> {
    let updated = diesel::update(ddi_providers::table.find(&provider.id))
        .set(provider)
        .execute(conn)
        .map_err(unique(NAME_TAKEN))?;
    if updated == 0 {
        return Err(AppError::not_found()); // deleted meanwhile
    }
    Ok(())
}

/// Deletes the provider; DDIs linked to it keep existing, unlinked (ON DELETE SET NULL).
pub fn delete(conn: &mut DbConnection, id: &str) -> AppResult<usize> {
    Ok(diesel::delete(ddi_providers::table.find(id)).execute(conn)?)
}
