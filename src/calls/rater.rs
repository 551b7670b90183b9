//! Pricing calls at ingestion and rerating: which plan is in force for a client (price) or
//! carrier (cost) at a call's start (the profile with the latest activationTime <= start),
//! and a process-wide cache of built plan indexes keyed by the plan's rates version, so the
//! rate table is read once per version, never per call.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::billable_calls::ANSWERED;
use crate::db::schema::{rates, rating_plans, rating_profiles};
use crate::db::DbConnection;
use crate::error::{AppError, AppResult};
use crate::rating::{self, Plan, PlanSettings, RawRateRow, RoundingMethod};

/// Built plans by id, each with the rates version it was built from.
#[derive(Default)]
pub struct PlanCache {
    plans: Mutex<HashMap<String, (i64, Arc<Plan>)>>,
}

/// A plan's settings row as stored.
type PlanRow = (String, String, i32, String, i64);

impl PlanCache {
    /// The plan index for this stored row: cached when its version is current, else built
    /// from the rate table (and cached).
    fn get(&self, conn: &mut DbConnection, row: &PlanRow) -> AppResult<Arc<Plan>> {
        let (id, method, decimals, timezone, version) = row;
        if let Some((v, plan)) = self.plans.lock().map_err(AppError::internal)?.get(id) {
            if v == version {
                return Ok(plan.clone());
            }
        }
        let settings = PlanSettings {
            rounding_method: RoundingMethod::from_str(method)
                .map_err(|e| AppError::internal(format!("plan {id}: {e}")))?,
            rounding_decimals: *decimals as u32,
            timezone: timezone
                .parse()
                .map_err(|_| AppError::internal(format!("plan {id}: bad timezone")))?,
        };
        let stored = rates::table
            .filter(rates::rating_plan_id.eq(id))
            .select((
                rates::prefix,
                rates::destination_name,
                rates::connect_fee,
                rates::rate,
                rates::rate_unit,
                rates::rate_increment,
                rates::group_interval_start,
                rates::weekdays,
                rates::time_in,
            ))
            .load::<(
                String,
                String,
                String,
                String,
                i32,
                i32,
                i32,
                String,
                String,
            )>(conn)?;
        let mut rows = Vec::with_capacity(stored.len());
        for (prefix, name, fee, rate, unit, increment, gis, weekdays, time_in) in stored {
            let raw = RawRateRow {
                prefix: Some(prefix),
                destination_name: Some(name),
                connect_fee: Some(fee),
                rate: Some(rate),
                rate_unit: Some(unit.to_string()),
                rate_increment: Some(increment.to_string()),
                group_interval_start: Some(gis.to_string()),
                weekdays: Some(weekdays),
                time_in: Some(time_in),
            };
            rows.push(
                raw.validate()
                    .map_err(|e| AppError::internal(format!("plan {id}: stored rate: {e}")))?,
            );
        }
        let plan = Arc::new(
            Plan::new(settings, rows).map_err(|e| AppError::internal(format!("plan {id}: {e}")))?,
        );
        self.plans
            .lock()
            .map_err(AppError::internal)?
            .insert(id.clone(), (*version, plan.clone()));
        Ok(plan)
    }
}

/// A call as rating sees it.
pub struct CallToRate<'a> {
    pub direction: &'a str,
    pub client_id: &'a str,
    /// None: an outbound call whose record named no carrier (CDR sources store those; the
    /// API's own ingestion requires one): no cost, `cost: no carrier for record`.
    pub carrier_id: Option<&'a str>,
    pub callee: &'a str,
    pub start: NaiveDateTime,
    pub billed_seconds: u64,
}

/// What rating decided for one call (amounts in their stored text form).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Outcome {
    pub cost: Option<String>,
    pub price: Option<String>,
    pub error: Option<String>,
    pub destination_name: Option<String>,
    pub rating_plan_id: Option<String>,
}

/// The brand's profiles and the plans they use, ready to price any number of calls.
pub struct Rater {
    client_profiles: HashMap<String, Vec<(NaiveDateTime, String)>>,
    carrier_profiles: HashMap<String, Vec<(NaiveDateTime, String)>>,
    plans: HashMap<String, Arc<Plan>>,
}

impl Rater {
    pub fn load(conn: &mut DbConnection, cache: &PlanCache, brand_id: &str) -> AppResult<Rater> {
        let profiles = rating_profiles::table
            .filter(rating_profiles::brand_id.eq(brand_id))
            .select((
                rating_profiles::client_id,
                rating_profiles::carrier_id,
                rating_profiles::activation_time,
                rating_profiles::rating_plan_id,
            ))
            .load::<(Option<String>, Option<String>, NaiveDateTime, String)>(conn)?;
        let mut client_profiles: HashMap<String, Vec<(NaiveDateTime, String)>> = HashMap::new();
        let mut carrier_profiles: HashMap<String, Vec<(NaiveDateTime, String)>> = HashMap::new();
        for (client, carrier, activation, plan) in profiles {
            if let Some(c) = client {
                client_profiles
                    .entry(c)
                    .or_default()
                    .push((activation, plan));
            } else if let Some(c) = carrier {
                carrier_profiles
                    .entry(c)
                    .or_default()
                    .push((activation, plan));
            }
        }
        for list in client_profiles
            .values_mut()
            .chain(carrier_profiles.values_mut())
        {
            list.sort();
        }
        let plan_rows = rating_plans::table
            .filter(rating_plans::brand_id.eq(brand_id))
            .select((
                rating_plans::id,
                rating_plans::rounding_method,
                rating_plans::rounding_decimals,
                rating_plans::timezone,
                rating_plans::rates_version,
            ))
            .load::<PlanRow>(conn)?;
        let mut plans = HashMap::new();
        for row in &plan_rows {
            let used = client_profiles
                .values()
                .chain(carrier_profiles.values())
                .any(|list| list.iter().any(|(_, p)| *p == row.0));
            if used {
                plans.insert(row.0.clone(), cache.get(conn, row)?);
            }
        }
        Ok(Rater {
            client_profiles,
            carrier_profiles,
            plans,
        })
    }

    /// The plan id in force at `start` in a sorted profile list.
    fn plan_at(list: Option<&Vec<(NaiveDateTime, String)>>, start: NaiveDateTime) -> Option<&str> {
        let list = list?;
        let n = list.partition_point(|(activation, _)| *activation <= start);
        n.checked_sub(1).map(|i| list[i].1.as_str())
    }

    /// Rates one call. Inbound calls have no cost or price. An outbound call's price (its
    /// client's plan) and cost (its carrier's plan) are computed independently: a side that
    /// cannot be computed stays empty, the other is kept, and `error` names the failing
    /// side(s), price first, joined by "; ".
    ///
    /// `rating_plan_id` is the client's plan in force at the start (even if it had no rate
    /// for the call); `destination_name` comes from the price only. Neither is ever taken
    /// from the carrier's plan: client administrators see both fields, and the carrier's
    /// plan is the brand's business.
    pub fn rate(&self, call: &CallToRate) -> Outcome {
        if call.direction != "outbound" {
            return Outcome::default();
        }
        let start = call.start.and_utc();
        let price_plan = Self::plan_at(self.client_profiles.get(call.client_id), call.start);
        let price = match price_plan.and_then(|id| self.plans.get(id)) {
            None => Err("price: no rating profile for the client at the call's start".to_string()),
            Some(plan) => plan
                .charge(call.callee, start, call.billed_seconds)
                .map(|c| (c.amount, c.destination_name.to_string()))
                .map_err(|e| format!("price: {e}")),
        };
        let cost = match call.carrier_id {
            None => Err("cost: no carrier for record".to_string()),
            Some(carrier) => {
                let plan = Self::plan_at(self.carrier_profiles.get(carrier), call.start)
                    .and_then(|id| self.plans.get(id));
                match plan {
                    None => Err(
                        "cost: no rating profile for the carrier at the call's start".to_string(),
                    ),
                    Some(plan) => plan
                        .charge(call.callee, start, call.billed_seconds)
                        .map(|c| c.amount)
                        .map_err(|e| format!("cost: {e}")),
                }
            }
        };
        let errors: Vec<&str> = [price.as_ref().err(), cost.as_ref().err()]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        let error = (!errors.is_empty()).then(|| errors.join("; "));
        let (price, destination_name) = match price {
            Ok((amount, name)) => (Some(rating::format_amount(amount)), Some(name)),
            Err(_) => (None, None),
        };
        Outcome {
            cost: cost.ok().map(rating::format_amount),
            price,
            error,
            destination_name,
            rating_plan_id: price_plan.map(str::to_string),
        }
    }
}

/// Whether a stored call counts as `unrated`: an answered outbound call without a price
/// (inbound calls have neither amount by design, unanswered ones are never rated; a call
/// with a price and no cost is rated, its `ratingError` says what the cost lacks).
pub fn is_unrated(direction: &str, disposition: &str, price: Option<&str>) -> bool {
    direction == "outbound" && disposition == ANSWERED && price.is_none()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rating::{RateRow, WeekdaySet};
    use chrono::{NaiveDate, NaiveTime};
    use rust_decimal::Decimal;

    /// A plan of (prefix, destination name, rate per minute) rows, per second, rounded
    /// half-up to 4 places.
    fn plan(rows: &[(&str, &str, &str)]) -> Arc<Plan> {
        let settings = PlanSettings {
            rounding_method: RoundingMethod::Middle,
            rounding_decimals: 4,
            timezone: chrono_tz::UTC,
        };
        let rows = rows
            .iter()
            .map(|(prefix, name, rate)| RateRow {
                prefix: prefix.to_string(),
                destination_name: name.to_string(),
                connect_fee: Decimal::ZERO,
                rate: rate.parse().unwrap(),
                rate_unit: 60,
                rate_increment: 1,
                group_interval_start: 0,
                weekdays: WeekdaySet::ALL,
                time_in: NaiveTime::MIN,
            })
            .collect();
        Arc::new(Plan::new(settings, rows).unwrap())
    }

    fn since() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2020, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
    }

    /// Client "client" priced by "retail" (Spain only), carrier "carrier" costed by
    /// "wholesale" (Spain and the UK); "bare-client" and "bare-carrier" have no profile.
    fn rater() -> Rater {
        let profile = |plan: &str| vec![(since(), plan.to_string())];
        Rater {
            client_profiles: HashMap::from([("client".to_string(), profile("retail"))]),
            carrier_profiles: HashMap::from([("carrier".to_string(), profile("wholesale"))]),
            plans: HashMap::from([
                ("retail".to_string(), plan(&[("34", "Spain", "0.10")])),
                (
                    "wholesale".to_string(),
                    plan(&[
                        ("34", "Spain (carrier)", "0.05"),
                        ("44", "UK (carrier)", "0.05"),
                    ]),
                ),
            ]),
        }
    }

    fn rate(client: &str, carrier: Option<&str>, callee: &str) -> Outcome {
        rater().rate(&CallToRate {
            direction: "outbound",
            client_id: client,
            carrier_id: carrier,
            callee,
            start: since() + chrono::Duration::days(400),
            billed_seconds: 90,
        })
    }

    #[test]
    fn both_sides_rated() {
        let out = rate("client", Some("carrier"), "+34600000000");
        assert_eq!(
            out,
            Outcome {
                cost: Some("0.0750".into()),
                price: Some("0.1500".into()),
                error: None,
                destination_name: Some("Spain".into()),
                rating_plan_id: Some("retail".into()),
            }
        );
    }

    #[test]
    fn a_price_without_a_cost_is_kept() {
        let out = rate("client", Some("bare-carrier"), "+34600000000");
        assert_eq!(
            out,
            Outcome {
                cost: None,
                price: Some("0.1500".into()),
                error: Some("cost: no rating profile for the carrier at the call's start".into()),
                destination_name: Some("Spain".into()),
                rating_plan_id: Some("retail".into()),
            }
        );
        assert!(!is_unrated("outbound", "answered", out.price.as_deref()));
        let out = rate("client", None, "+34600000000");
        assert_eq!(
            (out.price.as_deref(), out.cost, out.error.as_deref()),
            (Some("0.1500"), None, Some("cost: no carrier for record"))
        );
    }

    #[test]
    fn a_cost_without_a_price_is_kept_and_the_call_is_unrated() {
        // No client profile: the cost stays; the carrier plan's destination name is not shown.
        let out = rate("bare-client", Some("carrier"), "+34600000000");
        assert_eq!(
            out,
            Outcome {
                cost: Some("0.0750".into()),
                price: None,
                error: Some("price: no rating profile for the client at the call's start".into()),
                destination_name: None,
                rating_plan_id: None,
            }
        );
        assert!(is_unrated("outbound", "answered", out.price.as_deref()));
        // The client's plan has no rate for the UK, the carrier's has.
        let out = rate("client", Some("carrier"), "+442071234567");
        assert_eq!(
            (out.price, out.cost.as_deref(), out.error.as_deref()),
            (None, Some("0.0750"), Some("price: no rate for destination"))
        );
        assert_eq!(out.rating_plan_id.as_deref(), Some("retail"));
        assert_eq!(out.destination_name, None);
    }

    #[test]
    fn both_sides_failing_are_both_named() {
        let out = rate("bare-client", None, "+34600000000");
        assert_eq!(
            out.error.as_deref(),
            Some(
                "price: no rating profile for the client at the call's start; \
                 cost: no carrier for record"
            )
        );
        assert_eq!((out.price, out.cost), (None, None));
        let out = rate("client", Some("carrier"), "+1555");
        assert_eq!(
            out.error.as_deref(),
            Some("price: no rate for destination; cost: no rate for destination")
        );
    }

    #[test]
    fn inbound_and_unanswered_calls_are_not_unrated() {
        let inbound = rater().rate(&CallToRate {
            direction: "inbound",
            client_id: "client",
            carrier_id: None,
            callee: "+34911000000",
            start: since(),
            billed_seconds: 10,
        });
        assert_eq!(inbound, Outcome::default());
        assert!(!is_unrated("inbound", "answered", None));
        assert!(!is_unrated("outbound", "noanswer", None));
    }
}
