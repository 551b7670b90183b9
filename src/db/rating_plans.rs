//! Queries on `rating_plans` and their `rates`: plan CRUD, the rate table's pages, and the
//! batched, version-bumping writes a rate import needs. Every change to a plan bumps its
//! `rates_version`, which is what `calls::rater::PlanCache` keys built plans by.

use std::collections::HashMap;

use diesel::prelude::*;

use crate::db::schema::{rates, rating_plans, rating_profiles};
use crate::db::{DbConnection, MultiBackend};
use crate::error::{unique, AppError, AppResult};
use crate::listing::{Direction, ListParams};

const NAME_TAKEN: &str = "a rating plan with this name already exists in the brand";

/// Rates per INSERT statement: 11 columns × 2 500 rows = 27 500 bound parameters, under
/// SQLite's limit of 32 766 per statement (PostgreSQL allows 65 535). Big statements are
/// what makes a 100 000-row import take seconds rather than minutes.
pub const RATE_INSERT_CHUNK: usize = 2_500;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = rating_plans)]
pub struct RatingPlan {
    pub id: String,
    pub brand_id: String,
    pub name: String,
    pub currency: String,
    pub rounding_method: String,
    pub rounding_decimals: i32,
    pub timezone: String,
    pub rates_version: i64,
    pub created_at: chrono::NaiveDateTime,
    pub updated_at: chrono::NaiveDateTime,
}

/// One stored rate row: text as the API shows it (prefix digits without `+`, decimals as
/// written, canonical weekdays, `HH:MM:SS`), so the unique index sees `6-7` and `6,7` as the
/// same row.
// `treat_none_as_default_value = false` makes Diesel write one multi-row INSERT on SQLite
// too; otherwise it inserts row by row in a nested transaction, which SQLite refuses
// inside the import's transaction.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = rates, treat_none_as_default_value = false)]
pub struct Rate {
    pub id: String,
    pub rating_plan_id: String,
    pub prefix: String,
    pub destination_name: String,
    pub connect_fee: String,
    pub rate: String,
    pub rate_unit: i32,
    pub rate_increment: i32,
    pub group_interval_start: i32,
    pub weekdays: String,
    pub time_in: String,
}

pub fn find(conn: &mut DbConnection, id: &str) -> AppResult<Option<RatingPlan>> {
    Ok(rating_plans::table
        .find(id)
        .select(RatingPlan::as_select())
        .first(conn)
        .optional()?)
}

/// What a plan list may be narrowed to: the caller's brand and the query's filters.
#[derive(Default)]
pub struct Filter {
    pub brand: Option<String>,
    pub name: Option<String>,
    /// Set when the query can match nothing (another tenant's brand was asked for).
    pub nothing: bool,
}

fn filtered(f: &Filter) -> rating_plans::BoxedQuery<'_, MultiBackend> {
    let mut query = rating_plans::table.into_boxed();
    if f.nothing {
        query = query.filter(rating_plans::id.eq(""));
    }
    if let Some(b) = &f.brand {
        query = query.filter(rating_plans::brand_id.eq(b));
    }
    if let Some(n) = &f.name {
        query = query.filter(rating_plans::name.eq(n));
    }
    query
}

pub fn list(
    conn: &mut DbConnection,
    f: &Filter,
    params: &ListParams,
) -> AppResult<(i64, Vec<RatingPlan>)> {
    let total = filtered(f).count().get_result(conn)?;
    let mut query = filtered(f);
    for (field, direction) in &params.order {
        query = match (field.as_str(), direction) {
            ("name", Direction::Asc) => query.then_order_by(rating_plans::name.asc()),
            ("name", Direction::Desc) => query.then_order_by(rating_plans::name.desc()),
            ("createdAt", Direction::Asc) => query.then_order_by(rating_plans::created_at.asc()),
            ("createdAt", Direction::Desc) => query.then_order_by(rating_plans::created_at.desc()),
            _ => query,
        };
    }
    let rows = query
        .then_order_by(rating_plans::id.asc())
        .limit(params.per_page)
        .offset(params.offset())
        .select(RatingPlan::as_select())
        .load(conn)?;
    Ok((total, rows))
}

pub fn insert(conn: &mut DbConnection, plan: &RatingPlan) -> AppResult<()> {
    diesel::insert_into(rating_plans::table)
        .values(plan)
        .execute(conn)
        .map_err(unique(NAME_TAKEN))?;
    Ok(())
}

/// Saves the plan's settings and bumps its rates version (the settings are part of a
/// built plan). Returns the stored row.
pub fn update(conn: &mut DbConnection, plan: &RatingPlan) -> AppResult<RatingPlan> {
    let updated = diesel::update(rating_plans::table.find(&plan.id))
        .set((
            rating_plans::name.eq(&plan.name),
            rating_plans::currency.eq(&plan.currency),
            rating_plans::rounding_method.eq(&plan.rounding_method),
            rating_plans::rounding_decimals.eq(plan.rounding_decimals),
            rating_plans::timezone.eq(&plan.timezone),
            rating_plans::rates_version.eq(rating_plans::rates_version + 1),
            rating_plans::updated_at.eq(plan.updated_at),
        ))
        .execute(conn)
        .map_err(unique(NAME_TAKEN))?;
    // RETURNING is not available through the MultiConnection: read the row back.
    match updated {
        0 => Err(AppError::not_found()), // deleted by a concurrent request
        _ => find(conn, &plan.id)?.ok_or_else(AppError::not_found),
    }
}

/// Bumps the plan's rates version and returns the plan as now stored (`None` if it is gone).
///
/// An import calls this first in its transaction: the UPDATE takes the plan's row lock on
/// PostgreSQL and SQLite's write lock, so concurrent imports into one plan run one after the
/// other and each validates against the table the previous one left.
pub fn bump_version(
    conn: &mut DbConnection,
    id: &str,
    now: chrono::NaiveDateTime,
) -> AppResult<Option<RatingPlan>> {
    let updated = diesel::update(rating_plans::table.find(id))
        .set((
            rating_plans::rates_version.eq(rating_plans::rates_version + 1),
            rating_plans::updated_at.eq(now),
        ))
        .execute(conn)?;
    match updated {
        0 => Ok(None),
        _ => find(conn, id),
    }
}

/// How many rating profiles use the plan (a plan in use cannot be deleted).
pub fn profile_count(conn: &mut DbConnection, id: &str) -> AppResult<i64> {
    Ok(rating_profiles::table
        .filter(rating_profiles::rating_plan_id.eq(id))
        .count()
        .get_result(conn)?)
}

/// Deletes the plan and, by cascade, its rates.
pub fn delete(conn: &mut DbConnection, id: &str) -> AppResult<usize> {
    Ok(diesel::delete(rating_plans::table.find(id)).execute(conn)?)
}

// ---------------------------------------------------------------------------------------
// Rates

/// Number of rates of each of `plan_ids` (plans without rates are absent).
pub fn rate_counts(
    conn: &mut DbConnection,
    plan_ids: &[String],
) -> AppResult<HashMap<String, i64>> {
    if plan_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let counts: Vec<(String, i64)> = rates::table
        .filter(rates::rating_plan_id.eq_any(plan_ids))
        .group_by(rates::rating_plan_id)
        .select((rates::rating_plan_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(counts.into_iter().collect())
}

/// Which rates of a plan: of one prefix, and/or whose destination name contains a text
/// (any case).
#[derive(Debug, Default, Clone)]
pub struct RateFilter {
    pub prefix: Option<String>,
    pub name_part: Option<String>,
}

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

fn rates_of<'a>(plan_id: &'a str, f: &RateFilter) -> rates::BoxedQuery<'a, MultiBackend> {
    let mut query = rates::table
        .filter(rates::rating_plan_id.eq(plan_id))
        .into_boxed();
    if let Some(p) = &f.prefix {
        query = query.filter(rates::prefix.eq(p.clone()));
    }
    if let Some(part) = &f.name_part {
        let pattern = format!(
            "%{}%",
            crate::db::billable_calls::like_literal(&part.to_lowercase())
        );
        query = query.filter(lower(rates::destination_name).like(pattern).escape('\\'));
    }
    query
}

/// A page of a plan's rates (those `f` names) in table order: prefix, weekdays, timeIn,
/// groupIntervalStart. `None` for `page` means every matching row.
pub fn list_rates(
    conn: &mut DbConnection,
    plan_id: &str,
    f: &RateFilter,
    page: Option<&ListParams>,
) -> AppResult<(i64, Vec<Rate>)> {
    let total = rates_of(plan_id, f).count().get_result(conn)?;
    let mut query = rates_of(plan_id, f).order_by((
        rates::prefix.asc(),
        rates::weekdays.asc(),
        rates::time_in.asc(),
        rates::group_interval_start.asc(),
        rates::id.asc(),
    ));
    if let Some(params) = page {
        query = query.limit(params.per_page).offset(params.offset());
    }
    let rows = query.select(Rate::as_select()).load(conn)?;
    Ok((total, rows))
}

/// Every rate of the plan, in no particular order.
pub fn all_rates(conn: &mut DbConnection, plan_id: &str) -> AppResult<Vec<Rate>> {
    Ok(rates::table
        .filter(rates::rating_plan_id.eq(plan_id))
        .select(Rate::as_select())
        .load(conn)?)
}

pub fn delete_rates(conn: &mut DbConnection, plan_id: &str) -> AppResult<usize> {
    Ok(diesel::delete(rates::table.filter(rates::rating_plan_id.eq(plan_id))).execute(conn)?)
}

/// Inserts rates in multi-row statements of [`RATE_INSERT_CHUNK`]. Call inside a
/// transaction: a failing chunk must take the earlier ones with it.
pub fn insert_rates(conn: &mut DbConnection, rows: &[Rate]) -> AppResult<()> {
    for chunk in rows.chunks(RATE_INSERT_CHUNK) {
        // Multi-row INSERT is backend-specific in Diesel: dispatch on the variant.
        match conn {
            DbConnection::Sqlite(c) => diesel::insert_into(rates::table).values(chunk).execute(c),
            DbConnection::Pg(c) => diesel::insert_into(rates::table).values(chunk).execute(c),
        }
        .map_err(unique(
            "a rate with the same prefix, weekdays, timeIn and groupIntervalStart already \
                 exists in the plan",
        ))?;
    }
    Ok(())
}
