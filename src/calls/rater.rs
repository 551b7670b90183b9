//! Pricing calls at ingestion and rerating: which plan is in force for a client (price) or
//! carrier (cost) at a call's start (the profile with the latest activationTime <= start),
//! and a process-wide cache of built plan indexes keyed by the plan's rates version, so the
//! rate table is read once per version, never per call.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use chrono::NaiveDateTime;
use diesel::prelude::*;

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

    /// Rates one call. Inbound calls have no cost or price. An outbound call gets both or,
    /// when either cannot be computed, neither, and the reason in `error`.
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
                .map_err(|e| format!("price: {e}")),
        };
        let cost_plan = call
            .carrier_id
            .and_then(|c| Self::plan_at(self.carrier_profiles.get(c), call.start));
        let cost = match cost_plan.and_then(|id| self.plans.get(id)) {
            None => Err("cost: no rating profile for the carrier at the call's start".to_string()),
            Some(plan) => plan
                .charge(call.callee, start, call.billed_seconds)
                .map_err(|e| format!("cost: {e}")),
        };
        match (price, cost) {
            (Ok(p), Ok(c)) => Outcome {
                cost: Some(rating::format_amount(c.amount)),
                price: Some(rating::format_amount(p.amount)),
                error: None,
                destination_name: Some(p.destination_name.to_string()),
                rating_plan_id: price_plan.map(str::to_string),
            },
            (p, c) => {
                let errors: Vec<String> = [p.err(), c.err()].into_iter().flatten().collect();
                Outcome {
                    error: Some(errors.join("; ")),
                    rating_plan_id: price_plan.map(str::to_string),
                    ..Default::default()
                }
            }
        }
    }
}
