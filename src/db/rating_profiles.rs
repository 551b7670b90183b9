//! Queries on `rating_profiles`: which rating plan a client (price) or a carrier (cost) uses
//! from its activation time on.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::rating_profiles;
use crate::db::{DbConnection, MultiBackend};
use crate::error::{AppError, AppResult};
use crate::listing::{Direction, ListParams};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = rating_profiles, treat_none_as_null = true)]
pub struct RatingProfile {
    pub id: String,
    pub brand_id: String,
    /// Exactly one of `client_id` and `carrier_id` is set.
    pub client_id: Option<String>,
    pub carrier_id: Option<String>,
    pub rating_plan_id: String,
    pub activation_time: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn find(conn: &mut DbConnection, id: &str) -> AppResult<Option<RatingProfile>> {
    Ok(rating_profiles::table
        .find(id)
        .select(RatingProfile::as_select())
        .first(conn)
        .optional()?)
}

/// What a list may be narrowed to: the caller's brand and the query's filters.
#[derive(Default)]
pub struct Filter {
    pub brand: Option<String>,
    pub client: Option<String>,
    pub carrier: Option<String>,
    pub rating_plan: Option<String>,
    /// Set when the query can match nothing (another tenant's brand was asked for).
    pub nothing: bool,
}

fn filtered(f: &Filter) -> rating_profiles::BoxedQuery<'_, MultiBackend> {
    let mut query = rating_profiles::table.into_boxed();
    if f.nothing {
        query = query.filter(rating_profiles::id.eq(""));
    }
    if let Some(b) = &f.brand {
        query = query.filter(rating_profiles::brand_id.eq(b));
    }
    if let Some(c) = &f.client {
        query = query.filter(rating_profiles::client_id.eq(c));
    }
    if let Some(c) = &f.carrier {
        query = query.filter(rating_profiles::carrier_id.eq(c));
    }
    if let Some(p) = &f.rating_plan {
        query = query.filter(rating_profiles::rating_plan_id.eq(p));
    }
    query
}

pub fn list(
    conn: &mut DbConnection,
    f: &Filter,
    params: &ListParams,
) -> AppResult<(i64, Vec<RatingProfile>)> {
    use rating_profiles::{activation_time, created_at};
    let total = filtered(f).count().get_result(conn)?;
    let mut query = filtered(f);
    for (field, direction) in &params.order {
        query = match (field.as_str(), direction) {
            ("activationTime", Direction::Asc) => query.then_order_by(activation_time.asc()),
            ("activationTime", Direction::Desc) => query.then_order_by(activation_time.desc()),
            ("createdAt", Direction::Asc) => query.then_order_by(created_at.asc()),
            ("createdAt", Direction::Desc) => query.then_order_by(created_at.desc()),
            _ => query,
        };
    }
    let rows = query
        .then_order_by(rating_profiles::id.asc())
        .limit(params.per_page)
        .offset(params.offset())
        .select(RatingProfile::as_select())
        .load(conn)?;
    Ok((total, rows))
}

/// True when another profile of the same client (or carrier) starts at the same instant:
/// "the latest activationTime <= start" would then not name one plan.
pub fn same_activation_exists(conn: &mut DbConnection, p: &RatingProfile) -> AppResult<bool> {
    let mut query = rating_profiles::table
        .filter(rating_profiles::id.ne(&p.id))
        .filter(rating_profiles::activation_time.eq(p.activation_time))
        .into_boxed::<MultiBackend>();
    query = match (&p.client_id, &p.carrier_id) {
        (Some(client), _) => query.filter(rating_profiles::client_id.eq(client)),
        (None, Some(carrier)) => query.filter(rating_profiles::carrier_id.eq(carrier)),
        (None, None) => return Ok(false),
    };
    let n: i64 = query.count().get_result(conn)?;
    Ok(n > 0)
}

pub fn insert(conn: &mut DbConnection, profile: &RatingProfile) -> AppResult<()> {
    diesel::insert_into(rating_profiles::table)
        .values(profile)
        .execute(conn)?;
    Ok(())
}

pub fn update(conn: &mut DbConnection, profile: &RatingProfile) -> AppResult<()> {
    let updated = diesel::update(rating_profiles::table.find(&profile.id))
        .set(profile)
        .execute(conn)?;
    if updated == 0 {
        return Err(AppError::not_found()); // deleted meanwhile
    }
    Ok(())
}

pub fn delete(conn: &mut DbConnection, id: &str) -> AppResult<usize> {
    Ok(diesel::delete(rating_profiles::table.find(id)).execute(conn)?)
}
