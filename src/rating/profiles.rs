//! Rating profiles: which rating plan prices a client's calls, or costs a carrier's, from
//! its `activationTime` on (the call's start picks the latest one not after it). Brand
//! business only: a client administrator sees none (403 on the list, 404 on each). Every
//! reference must belong to the profile's brand.

use serde::Deserialize;

use crate::auth::Caller;
use crate::db::rating_profiles::{self as profiles, RatingProfile};
use crate::db::{self, DbConnection};
use crate::error::{AppError, AppResult, Validator};
use crate::fields::{parse_time, reference};
use crate::ids::{BrandId, CarrierId, ClientId, Id, RatingProfileId};
use crate::listing::ListParams;
use crate::ops::Resource;
use crate::tenancy::{brand_business, brand_kept};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProfileInput {
    pub brand: Option<String>,
    pub client: Option<String>,
    pub carrier: Option<String>,
    // Required, but optional here so a missing one is reported in `fields` with the rest.
    pub rating_plan: Option<String>,
    pub activation_time: Option<String>,
}

impl ProfileInput {
    /// Validates against `brand_id` (client, carrier and plan must all be of that brand)
    /// and builds the row.
    fn into_row(
        self,
        conn: &mut DbConnection,
        brand: &BrandId,
        id: String,
        created_at: chrono::NaiveDateTime,
    ) -> AppResult<RatingProfile> {
        let brand_id = brand.as_str();
        if !db::brands::exists(conn, brand)? {
            return Err(AppError::invalid_field("brand", "not found"));
        }
        let mut v = Validator::new();
        match (&self.client, &self.carrier) {
            (None, None) => v.error("client", "exactly one of client and carrier is required"),
            (Some(_), Some(_)) => v.error(
                "carrier",
                "a profile is for a client or a carrier, not both",
            ),
            _ => {}
        }
        // The same words whether a reference is missing or another brand's: never reveal
        // another tenant's ids.
        let client = reference(&mut v, "client", self.client.as_deref());
        if let Some(client_id) = &client {
            let of_brand = db::clients::find(conn, &ClientId::from_db(client_id.clone()))?
                .is_some_and(|c| c.brand_id == brand_id);
            v.check(of_brand, "client", "not found in the brand");
        }
        let carrier = reference(&mut v, "carrier", self.carrier.as_deref());
        if let Some(carrier_id) = &carrier {
            let of_brand = db::carriers::find(conn, &CarrierId::from_db(carrier_id.clone()))?
                .is_some_and(|c| c.brand_id == brand_id);
            v.check(of_brand, "carrier", "not found in the brand");
        }
        v.check(self.rating_plan.is_some(), "ratingPlan", "required");
        let plan = reference(&mut v, "ratingPlan", self.rating_plan.as_deref());
        if let Some(plan_id) = &plan {
            let of_brand =
                db::rating_plans::find(conn, plan_id)?.is_some_and(|p| p.brand_id == brand_id);
            v.check(of_brand, "ratingPlan", "not found in the brand");
        }
        let activation_time = match self.activation_time.as_deref() {
            None => {
                v.error("activationTime", "required");
                None
            }
            Some(raw) => {
                let parsed = parse_time(raw);
                v.check(
                    parsed.is_some(),
                    "activationTime",
                    "an RFC 3339 time with an offset (e.g. 2026-01-01T00:00:00Z)",
                );
                parsed
            }
        };
        v.finish()?;
        let (Some(rating_plan_id), Some(activation_time)) = (plan, activation_time) else {
            // Unreachable: both were checked above.
            return Err(AppError::invalid_field("ratingPlan", "required"));
        };
        Ok(RatingProfile {
            id,
            brand_id: brand_id.to_string(),
            client_id: client,
            carrier_id: carrier,
            rating_plan_id,
            activation_time,
            created_at,
            updated_at: db::now(),
        })
    }
}

/// Validates and stores the profile (insert or update) in one transaction, refusing a
/// second profile of the same client or carrier at the same instant, which would leave
/// the plan in force ambiguous.
fn store(
    conn: &mut DbConnection,
    input: ProfileInput,
    brand: &BrandId,
    id: String,
    created_at: chrono::NaiveDateTime,
    is_new: bool,
) -> AppResult<RatingProfile> {
    db::transaction(conn, |conn| {
        let row = input.into_row(conn, brand, id, created_at)?;
        if profiles::same_activation_exists(conn, &row)? {
            let owner = if row.client_id.is_some() {
                "client"
            } else {
                "carrier"
            };
            return Err(AppError::conflict(format!(
                "the {owner} already has a rating profile with this activationTime"
            )));
        }
        if is_new {
            profiles::insert(conn, &row)?;
        } else {
            profiles::update(conn, &row)?;
        }
        Ok(row)
    })
}

pub struct RatingProfiles;

impl Resource for RatingProfiles {
    type Id = RatingProfileId;
    type Object = RatingProfile;
    type Input = ProfileInput;

    const FILTERS: &'static [&'static str] = &["brand", "client", "carrier", "ratingPlan"];
    const ORDER: &'static [&'static str] = &["activationTime", "createdAt"];

    fn id_of(profile: &RatingProfile) -> &str {
        &profile.id
    }

    fn find(
        conn: &mut DbConnection,
        caller: &Caller,
        id: &RatingProfileId,
    ) -> AppResult<RatingProfile> {
        let found = profiles::find(conn, id.as_str())?;
        brand_business::visible(caller, found, |p| &p.brand_id)
    }

    fn may_list(caller: &Caller) -> AppResult<()> {
        brand_business::may_manage(caller)
    }

    fn list(
        conn: &mut DbConnection,
        caller: &Caller,
        params: &ListParams,
    ) -> AppResult<(i64, Vec<RatingProfile>)> {
        Self::may_list(caller)?;
        let scope = caller.list_scope(params.filter_id("brand")?, None);
        let filter = profiles::Filter {
            brand: scope.brand,
            client: params.filter_id("client")?,
            carrier: params.filter_id("carrier")?,
            rating_plan: params.filter_id("ratingPlan")?,
            nothing: scope.nothing,
        };
        profiles::list(conn, &filter, params)
    }

    fn may_create(caller: &Caller) -> AppResult<()> {
        brand_business::may_manage(caller)
    }

    fn create(
        conn: &mut DbConnection,
        caller: &Caller,
        input: ProfileInput,
    ) -> AppResult<RatingProfile> {
        Self::may_create(caller)?;
        let brand = caller.write_brand(input.brand.as_deref())?;
        let brand = BrandId::parse_ref("brand", &brand)?;
        store(conn, input, &brand, db::new_id(), db::now(), true)
    }

    fn save(
        conn: &mut DbConnection,
        _caller: &Caller,
        current: RatingProfile,
        input: ProfileInput,
    ) -> AppResult<RatingProfile> {
        let brand = brand_kept(
            input.brand.as_deref(),
            &current.brand_id,
            "a rating profile",
        )?;
        store(conn, input, &brand, current.id, current.created_at, false)
    }

    fn remove(
        conn: &mut DbConnection,
        _caller: &Caller,
        current: RatingProfile,
        _force: bool,
    ) -> AppResult<()> {
        if profiles::delete(conn, &current.id)? == 0 {
            return Err(AppError::not_found()); // deleted by a concurrent request
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;
    use crate::ops::testing::{brand, caller, database, operator_of};
    use crate::rating::plans::{PlanInput, RatingPlans};

    #[test]
    fn profiles_refer_only_to_their_own_brand() {
        let (_dir, mut conn) = database();
        let (a, b) = (brand(&mut conn, "A"), brand(&mut conn, "B"));
        let (op_a, op_b) = (operator_of(&a), operator_of(&b));
        let conn = &mut conn;
        let plan_input = || PlanInput {
            brand: None,
            name: "Retail".into(),
            currency: None,
            rounding_method: None,
            rounding_decimals: None,
            timezone: None,
        };
        let plan_a = RatingPlans::create(conn, &op_a, plan_input())
            .unwrap()
            .plan
            .id;
        let carrier = crate::tenancy::Carriers::create(
            conn,
            &op_b,
            crate::tenancy::carriers::CarrierInput {
                brand: None,
                name: "Transit".into(),
                description: None,
                code: None,
            },
        )
        .unwrap()
        .id;
        let input = |plan: &str| ProfileInput {
            brand: None,
            client: None,
            carrier: Some(carrier.clone()),
            rating_plan: Some(plan.into()),
            activation_time: Some("2026-01-01T00:00:00Z".into()),
        };
        // B's operator cannot price its carrier with A's plan, and hears only "not found".
        let err = RatingProfiles::create(conn, &op_b, input(&plan_a)).unwrap_err();
        assert_eq!(
            err.fields.get("ratingPlan").map(String::as_str),
            Some("not found in the brand")
        );
        let plan_b = RatingPlans::create(conn, &op_b, plan_input())
            .unwrap()
            .plan
            .id;
        let profile = RatingProfiles::create(conn, &op_b, input(&plan_b)).unwrap();
        let id = RatingProfileId::from_db(profile.id);
        // The same instant twice is a conflict; A's operator and client administrators see nothing.
        let err = RatingProfiles::create(conn, &op_b, input(&plan_b)).unwrap_err();
        assert_eq!(err.code, "conflict");
        let client_admin = caller(Role::Client, Some(&b), Some("c"));
        for who in [&op_a, &client_admin] {
            assert_eq!(
                RatingProfiles::find(conn, who, &id).unwrap_err().code,
                "not_found"
            );
        }
        RatingProfiles::delete(conn, &op_b, &id, false).unwrap();
    }
}
