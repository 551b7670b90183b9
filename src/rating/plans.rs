//! Rating plans: a brand's tariffs and their rate tables. Brand business only: a client
//! administrator sees no plan (403 on the list, 404 on each). A plan's currency and
//! timezone default to its brand's. Imports are in `rating::import`.

use serde::Deserialize;

use crate::auth::Caller;
use crate::db::rating_plans::{self as plans, Rate, RatingPlan};
use crate::db::{self, DbConnection};
use crate::error::{AppError, AppResult, Validator};
use crate::fields::{check_name, valid_currency, valid_timezone};
use crate::ids::{BrandId, Id, RatingPlanId};
use crate::listing::ListParams;
use crate::ops::Resource;
use crate::rating::import::{self, Format, ImportSummary};
use crate::rating::RoundingMethod;
use crate::tenancy::{brand_business, brand_kept};

/// A plan with how many rate rows it has (read-only, shown with it).
#[derive(Debug, Clone)]
pub struct CountedPlan {
    pub plan: RatingPlan,
    pub rate_count: i64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlanInput {
    pub brand: Option<String>,
    pub name: String,
    pub currency: Option<String>,
    pub rounding_method: Option<String>,
    pub rounding_decimals: Option<i64>,
    pub timezone: Option<String>,
}

impl PlanInput {
    /// Validates against the brand (whose currency and timezone are the defaults) and
    /// builds the row.
    fn into_row(
        self,
        conn: &mut DbConnection,
        brand: &BrandId,
        id: String,
        created_at: chrono::NaiveDateTime,
    ) -> AppResult<RatingPlan> {
        let brand = db::brands::find(conn, brand)?
            .ok_or_else(|| AppError::invalid_field("brand", "not found"))?;
        let mut v = Validator::new();
        check_name(&mut v, "name", &self.name, 100);
        let currency = self.currency.unwrap_or(brand.currency);
        v.check(
            valid_currency(&currency),
            "currency",
            "an ISO 4217 code (e.g. EUR)",
        );
        let rounding_method = match self.rounding_method.as_deref() {
            None => RoundingMethod::default(),
            Some(text) => text.parse().unwrap_or_else(|_| {
                v.error("roundingMethod", "one of up, down, middle");
                RoundingMethod::default()
            }),
        };
        let rounding_decimals = self.rounding_decimals.unwrap_or(4);
        v.check(
            (0..=6).contains(&rounding_decimals),
            "roundingDecimals",
            "a whole number from 0 to 6",
        );
        let timezone = self.timezone.unwrap_or(brand.timezone);
        v.check(
            valid_timezone(&timezone),
            "timezone",
            "not an IANA time zone (e.g. Europe/Madrid)",
        );
        v.finish()?;
        Ok(RatingPlan {
            id,
            brand_id: brand.id,
            name: self.name.trim().to_string(),
            currency,
            rounding_method: rounding_method.as_str().to_string(),
            rounding_decimals: rounding_decimals as i32,
            timezone,
            rates_version: 1,
            created_at,
            updated_at: db::now(),
        })
    }
}

/// The plan with its current rate count.
fn counted(conn: &mut DbConnection, plan: RatingPlan) -> AppResult<CountedPlan> {
    let rate_count = plans::rate_counts(conn, std::slice::from_ref(&plan.id))?
        .get(&plan.id)
        .copied()
        .unwrap_or(0);
    Ok(CountedPlan { plan, rate_count })
}

pub struct RatingPlans;

impl Resource for RatingPlans {
    type Id = RatingPlanId;
    type Object = CountedPlan;
    type Input = PlanInput;

    const FILTERS: &'static [&'static str] = &["brand", "name"];
    const ORDER: &'static [&'static str] = &["name", "createdAt"];

    fn id_of(plan: &CountedPlan) -> &str {
        &plan.plan.id
    }

    fn find(conn: &mut DbConnection, caller: &Caller, id: &RatingPlanId) -> AppResult<CountedPlan> {
        let plan = Self::find_plan(conn, caller, id)?;
        counted(conn, plan)
    }

    fn may_list(caller: &Caller) -> AppResult<()> {
        brand_business::may_manage(caller)
    }

    fn list(
        conn: &mut DbConnection,
        caller: &Caller,
        params: &ListParams,
    ) -> AppResult<(i64, Vec<CountedPlan>)> {
        Self::may_list(caller)?;
        let scope = caller.list_scope(params.filter_id("brand")?, None);
        let filter = plans::Filter {
            brand: scope.brand,
            name: params.filter("name").map(str::to_string),
            nothing: scope.nothing,
        };
        let (total, rows) = plans::list(conn, &filter, params)?;
        let ids: Vec<String> = rows.iter().map(|p| p.id.clone()).collect();
        let counts = plans::rate_counts(conn, &ids)?;
        let rows = rows
            .into_iter()
            .map(|plan| {
                let rate_count = counts.get(&plan.id).copied().unwrap_or(0);
                CountedPlan { plan, rate_count }
            })
            .collect();
        Ok((total, rows))
    }

    fn may_create(caller: &Caller) -> AppResult<()> {
        brand_business::may_manage(caller)
    }

    fn create(
        conn: &mut DbConnection,
        caller: &Caller,
        input: PlanInput,
    ) -> AppResult<CountedPlan> {
        Self::may_create(caller)?;
        let brand = caller.write_brand(input.brand.as_deref())?;
        let brand = BrandId::parse_ref("brand", &brand)?;
        let plan = input.into_row(conn, &brand, db::new_id(), db::now())?;
        plans::insert(conn, &plan)?;
        Ok(CountedPlan {
            plan,
            rate_count: 0,
        })
    }

    fn save(
        conn: &mut DbConnection,
        _caller: &Caller,
        current: CountedPlan,
        input: PlanInput,
    ) -> AppResult<CountedPlan> {
        let current = current.plan;
        let brand = brand_kept(input.brand.as_deref(), &current.brand_id, "a rating plan")?;
        let row = input.into_row(conn, &brand, current.id, current.created_at)?;
        let stored = plans::update(conn, &row)?;
        counted(conn, stored)
    }

    /// A plan some rating profile uses is a 409 until they are deleted or changed.
    fn remove(
        conn: &mut DbConnection,
        _caller: &Caller,
        current: CountedPlan,
        _force: bool,
    ) -> AppResult<()> {
        let id = current.plan.id;
        let deleted = db::transaction(conn, |conn| {
            let users = plans::profile_count(conn, &id)?;
            if users > 0 {
                return Err(AppError::conflict(format!(
                    "the rating plan is used by {users} rating profile(s); delete or change them first"
                )));
            }
            plans::delete(conn, &id)
        })?;
        if deleted == 0 {
            return Err(AppError::not_found()); // deleted by a concurrent request
        }
        Ok(())
    }
}

impl RatingPlans {
    /// The plan, if the caller may see it (without its rate count).
    pub fn find_plan(
        conn: &mut DbConnection,
        caller: &Caller,
        id: &RatingPlanId,
    ) -> AppResult<RatingPlan> {
        let found = plans::find(conn, id.as_str())?;
        brand_business::visible(caller, found, |p| &p.brand_id)
    }

    /// The filters a rate table takes: `prefix` (exact) and `destinationName` (contains,
    /// any case).
    pub const RATE_FILTERS: &'static [&'static str] = &["prefix", "destinationName"];

    /// The plan's rates (of one prefix with `?prefix=`, whose destination name contains
    /// `?destinationName=`) in table order: a page of `params`, or with `every_row` all of
    /// them (an export).
    pub fn rates(
        conn: &mut DbConnection,
        caller: &Caller,
        id: &RatingPlanId,
        params: &ListParams,
        every_row: bool,
    ) -> AppResult<(i64, Vec<Rate>)> {
        let plan = Self::find_plan(conn, caller, id)?;
        let filter = plans::RateFilter {
            prefix: prefix_filter(params)?,
            name_part: params.filter("destinationName").map(str::to_string),
        };
        let page = (!every_row).then_some(params);
        plans::list_rates(conn, &plan.id, &filter, page)
    }

    /// Imports rates into a plan the caller may see (see `rating::import`).
    pub fn import_rates(
        conn: &mut DbConnection,
        caller: &Caller,
        id: &RatingPlanId,
        body: impl AsRef<[u8]>,
        format: Format,
        replace: bool,
    ) -> AppResult<ImportSummary> {
        let plan = Self::find_plan(conn, caller, id)?;
        import::import(conn, &plan, body, format, replace)
    }
}

/// `?prefix=` as stored digits. An unescaped `+` in a query string decodes to a space, so
/// `?prefix=+44` arrives as `" 44"`: both forms mean prefix `44`.
fn prefix_filter(params: &ListParams) -> AppResult<Option<String>> {
    let Some(raw) = params.filter("prefix") else {
        return Ok(None);
    };
    let digits = raw.strip_prefix(['+', ' ']).unwrap_or(raw);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::invalid_query(format!(
            "prefix: {raw:?} is not digits with an optional leading +"
        )));
    }
    Ok(Some(digits.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;
    use crate::ops::testing::{brand, caller, database, operator_of, platform};

    fn input(name: &str) -> PlanInput {
        PlanInput {
            brand: None,
            name: name.into(),
            currency: None,
            rounding_method: None,
            rounding_decimals: None,
            timezone: None,
        }
    }

    #[test]
    fn plans_stay_inside_their_brand_and_take_its_defaults() {
        let (_dir, mut conn) = database();
        let (a, b) = (brand(&mut conn, "A"), brand(&mut conn, "B"));
        let (op_a, op_b) = (operator_of(&a), operator_of(&b));
        let conn = &mut conn;
        let plan = RatingPlans::create(conn, &op_a, input(" Retail ")).unwrap();
        assert_eq!(
            (plan.plan.name.as_str(), plan.plan.currency.as_str()),
            ("Retail", "EUR")
        );
        assert_eq!(plan.plan.timezone, "Europe/Madrid");
        let id = RatingPlanId::from_db(plan.plan.id.clone());

        let csv = "prefix,destinationName,rate\n44,UK,0.01\n34,Spain,0.02\n";
        let err = RatingPlans::import_rates(conn, &op_b, &id, csv, Format::Csv, false);
        assert_eq!(err.unwrap_err().code, "not_found");
        let summary = RatingPlans::import_rates(conn, &op_a, &id, csv, Format::Csv, true);
        assert_eq!(summary.unwrap().total, 2);
        assert_eq!(
            RatingPlans::find(conn, &platform(), &id)
                .unwrap()
                .rate_count,
            2
        );

        let client_admin = caller(Role::Client, Some(&a), Some("c"));
        for who in [&op_b, &client_admin] {
            assert_eq!(
                RatingPlans::find(conn, who, &id).unwrap_err().code,
                "not_found"
            );
            let rates = RatingPlans::rates(conn, who, &id, &ListParams::default(), true);
            assert_eq!(rates.unwrap_err().code, "not_found");
        }
        let mut params = ListParams::default();
        params.filters.insert("prefix".into(), "+44".into());
        let (total, rows) = RatingPlans::rates(conn, &op_a, &id, &params, false).unwrap();
        assert_eq!((total, rows[0].destination_name.as_str()), (1, "UK"));
        assert_eq!(
            RatingPlans::list(conn, &op_b, &ListParams::default())
                .unwrap()
                .0,
            0
        );
        RatingPlans::delete(conn, &op_a, &id, false).unwrap();
    }
}
