//! Rerating: recompute cost and price of stored calls after plans or profiles change, with
//! the profiles in force at each call's start, each side on its own (see `Rater::rate`):
//! calls stored under the old all-or-nothing rule get the price they can have here. Walks
//! the calls in keyset chunks so any number of them is handled with flat memory; reports
//! already generated are untouched.

use serde::{Deserialize, Serialize};

use crate::calls::rater::{self, CallToRate, PlanCache, Rater};
use crate::db::billable_calls::{self, BillableCall, Filter, Rating};
use crate::db::rollups::{self, Deltas};
use crate::db::{self, DbConnection};
use crate::error::{AppError, AppResult};
use crate::fields::parse_time;
use crate::ids::{BrandId, CarrierId, ClientId, Id};

/// What a rerate is asked for: a time range, optionally one client's or one carrier's.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RerateInput {
    #[serde(rename = "startTime[after]")]
    pub after: String,
    #[serde(rename = "startTime[strictly_before]")]
    pub strictly_before: String,
    pub client: Option<String>,
    pub carrier: Option<String>,
}

/// Rerates the calls of `brand` that `input` names; the client and carrier must be the
/// brand's (a 422 "not found" otherwise, the same whether they exist elsewhere or not).
pub fn rerate_range(
    conn: &mut DbConnection,
    cache: &PlanCache,
    brand: &BrandId,
    input: RerateInput,
) -> AppResult<RerateSummary> {
    let time = |field: &str, raw: &str| {
        parse_time(raw)
            .ok_or_else(|| AppError::invalid_field(field, "not an RFC 3339 time with an offset"))
    };
    let after = time("startTime[after]", &input.after)?;
    let before = time("startTime[strictly_before]", &input.strictly_before)?;
    if before <= after {
        return Err(AppError::invalid_field(
            "startTime[strictly_before]",
            "must be later than startTime[after]",
        ));
    }
    let client = input
        .client
        .as_deref()
        .map(|c| ClientId::parse_ref("client", c))
        .transpose()?;
    let carrier = input
        .carrier
        .as_deref()
        .map(|c| CarrierId::parse_ref("carrier", c))
        .transpose()?;
    if let Some(c) = &client {
        if db::clients::find(conn, c)?.is_none_or(|x| *brand != x.brand_id) {
            return Err(AppError::invalid_field("client", "not found"));
        }
    }
    if let Some(c) = &carrier {
        if db::carriers::find(conn, c)?.is_none_or(|x| *brand != x.brand_id) {
            return Err(AppError::invalid_field("carrier", "not found"));
        }
    }
    let filter = Filter {
        brand: Some(brand.to_string()),
        client: client.map(String::from),
        carrier: carrier.map(String::from),
        after: Some(after),
        strictly_before: Some(before),
        // Unanswered calls are never rated.
        disposition: Some(billable_calls::ANSWERED.into()),
        ..Default::default()
    };
    rerate(conn, cache, &filter)
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RerateSummary {
    /// Answered calls in the range (and client/carrier, when given).
    pub matched: usize,
    /// Calls whose cost, price or rating error changed.
    pub changed: usize,
    /// Matched outbound calls left without a price (a call with a price and no cost is
    /// rated; its `ratingError` names the cost's problem).
    pub unrated: usize,
}

const CHUNK: i64 = 2000;

pub fn rerate(
    conn: &mut DbConnection,
    cache: &PlanCache,
    filter: &Filter,
) -> AppResult<RerateSummary> {
    let brand = filter.brand.clone().unwrap_or_default();
    let rater = Rater::load(conn, cache, &brand)?;
    let mut summary = RerateSummary::default();
    let mut cursor = None;
    loop {
        let chunk = billable_calls::next_chunk(conn, filter, cursor.as_ref(), CHUNK)?;
        let Some(last) = chunk.last() else { break };
        cursor = Some((last.start_time, last.callid.clone(), last.id.clone()));
        summary.matched += chunk.len();
        db::transaction(conn, |conn| {
            // The statistics follow the new amounts in the same transaction.
            let mut deltas = Deltas::default();
            for call in &chunk {
                let outcome = rater.rate(&CallToRate {
                    direction: &call.direction,
                    client_id: &call.client_id,
                    carrier_id: call.carrier_id.as_deref(),
                    callee: &call.callee,
                    start: call.start_time,
                    billed_seconds: call.billed_seconds as u64,
                });
                if rater::is_unrated(&call.direction, &call.disposition, outcome.price.as_deref()) {
                    summary.unrated += 1;
                }
                let unchanged = outcome.cost == call.cost
                    && outcome.price == call.price
                    && outcome.error == call.rating_error
                    && outcome.destination_name == call.destination_name
                    && outcome.rating_plan_id == call.rating_plan_id;
                if unchanged {
                    continue;
                }
                summary.changed += 1;
                let rating = Rating {
                    cost: outcome.cost,
                    price: outcome.price,
                    rating_error: outcome.error,
                    destination_name: outcome.destination_name,
                    rating_plan_id: outcome.rating_plan_id,
                    updated_at: db::now(),
                };
                if !billable_calls::set_rating(conn, call, &rating)? {
                    // Changed by another writer since read: its statistics are its own.
                    continue;
                }
                deltas.call(call, -1);
                deltas.call(
                    &BillableCall {
                        cost: rating.cost,
                        price: rating.price,
                        ..call.clone()
                    },
                    1,
                );
            }
            rollups::apply(conn, &deltas)
        })?;
    }
    Ok(summary)
}
