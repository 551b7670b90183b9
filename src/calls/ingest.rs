//! Ingestion row by row: validate a raw call against the brand's directory (detecting the
//! DDI of inbound calls), rate it, and store the good rows even when others are rejected.
//! A row is stored whole or not at all; a repeated (brand, callid) changes nothing.

use std::net::IpAddr;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::calls::directory::Directory;
use crate::calls::input::{self, RawCall};
use crate::calls::rater::{self, CallToRate, PlanCache, Rater};
use crate::db::billable_calls::{self, BillableCall};
use crate::db::{self, DbConnection};
use crate::error::{AppError, AppResult};
use crate::ids::{BrandId, Id};
use crate::tenancy::ENDPOINT_TYPES;

#[derive(Debug, Serialize)]
pub struct RowError {
    /// 1-based position of the row in the array or among the CSV data rows.
    pub row: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callid: Option<String>,
    pub message: String,
}

#[derive(Debug, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub accepted: usize,
    pub duplicates: usize,
    pub rejected: usize,
    /// Accepted outbound rows stored without a price (see their `ratingError`); a row
    /// with a price and no cost is rated.
    pub unrated: usize,
    pub errors: Vec<RowError>,
}

fn required<'a>(value: &'a Option<String>, field: &str) -> Result<&'a str, String> {
    value
        .as_deref()
        .map(str::trim)
        .ok_or_else(|| format!("{field}: required"))
}

fn id_field(value: &Option<String>, field: &str) -> Result<Option<String>, String> {
    match value.as_deref() {
        None => Ok(None),
        Some(raw) => uuid::Uuid::parse_str(raw.trim())
            .map(|u| Some(u.to_string()))
            .map_err(|_| format!("{field}: not a UUID")),
    }
}

/// A party number: what the switch saw; no control characters, bounded length.
fn number(value: &Option<String>, field: &str) -> Result<String, String> {
    let text = required(value, field)?;
    if text.chars().count() > 64 || text.chars().any(char::is_control) {
        return Err(format!(
            "{field}: at most 64 characters, no control characters"
        ));
    }
    Ok(text.to_string())
}

/// Validates one row into a call ready to store (rating included), or says why not.
pub fn validate(raw: &RawCall, dir: &Directory, rater: &Rater) -> Result<BillableCall, String> {
    if let Some(problem) = &raw.problem {
        return Err(problem.clone());
    }
    let callid = required(&raw.callid, "callid")?;
    if callid.len() > 255 || callid.chars().any(char::is_control) {
        return Err("callid: at most 255 characters, no control characters".into());
    }
    let start = crate::fields::parse_time(required(&raw.start_time, "startTime")?)
        .ok_or("startTime: not an RFC 3339 time with an offset (2026-01-31T10:00:00Z), years 1970 to 9999, no leap second")?;
    let duration_text = required(&raw.duration, "duration")?;
    // Plain digits with an optional fraction: `Decimal::from_str` alone also takes `1_000`,
    // `+5` and `1e3`, which no switch writes and which hide typos.
    let plain = duration_text
        .split_once('.')
        .map_or((duration_text, None), |(i, f)| (i, Some(f)));
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(plain.0) || !plain.1.is_none_or(all_digits) {
        return Err("duration: not a non-negative decimal number of seconds (digits, optionally a point and more digits)".into());
    }
    let duration = Decimal::from_str(duration_text)
        .ok()
        .filter(|d| !d.is_sign_negative() || d.is_zero())
        .ok_or("duration: not a non-negative decimal number of seconds")?;
    let billed = crate::rating::billed_seconds(duration)
        .filter(|s| *s <= crate::rating::MAX_BILLED_SECONDS)
        .ok_or("duration: out of range")?;
    let caller = number(&raw.caller, "caller")?;
    let callee = number(&raw.callee, "callee")?;
    let direction = required(&raw.direction, "direction")?;
    if direction != "inbound" && direction != "outbound" {
        return Err("direction: inbound or outbound".into());
    }
    if let Some(brand) = id_field(&raw.brand, "brand")? {
        if brand != dir.brand_id {
            return Err("brand: not the brand of this request".into());
        }
    }
    let mut client = id_field(&raw.client, "client")?;
    if let Some(c) = &client {
        if !dir.clients.contains_key(c) {
            return Err("client: not found in the brand".into());
        }
    }
    let carrier = id_field(&raw.carrier, "carrier")?;
    let mut ddi = id_field(&raw.ddi, "ddi")?;
    let mut provider = id_field(&raw.ddi_provider, "ddiProvider")?;
    let source_ip = match raw.source_ip.as_deref() {
        None => None,
        Some(text) => {
            Some(IpAddr::from_str(text.trim()).map_err(|_| "sourceIp: not an IP address")?)
        }
    };
    if let Some(d) = &ddi {
        if !dir.ddis.contains_key(d) {
            return Err("ddi: not found in the brand".into());
        }
    }
    if let Some(p) = &provider {
        if !dir.has_provider(p) {
            return Err("ddiProvider: not found in the brand".into());
        }
    }

    if direction == "outbound" {
        match &carrier {
            None => return Err("carrier: required for outbound calls".into()),
            Some(c) if !dir.carriers.contains(c) => {
                return Err("carrier: not found in the brand".into())
            }
            _ => {}
        }
    } else {
        if carrier.is_some() {
            return Err("carrier: only outbound calls have a carrier".into());
        }
        match (&ddi, &provider) {
            (None, None) => {
                let source = source_ip
                    .ok_or("sourceIp: required to detect the DDI of an inbound call without ddi")?;
                let found = dir.detect(source, &callee)?;
                ddi = Some(found.ddi_id);
                provider = Some(found.provider_id);
            }
            (Some(d), None) => provider = dir.ddis[d].provider_id.clone(),
            (None, Some(p)) => ddi = dir.ddi_via_provider(p, &callee),
            (Some(_), Some(_)) => {}
        }
    }
    // A DDI names its client; a client given as well must be that one.
    if let Some(d) = &ddi {
        let owner = &dir.ddis[d].client_id;
        match &client {
            None => client = Some(owner.clone()),
            Some(c) if c != owner => return Err("client: does not own the DDI".into()),
            _ => {}
        }
    }
    let client = client.ok_or("client: required (no DDI identifies it)")?;

    let endpoint_id = id_field(&raw.endpoint_id, "endpointId")?;
    let mut endpoint_type = raw.endpoint_type.clone();
    if let Some(t) = &endpoint_type {
        if !ENDPOINT_TYPES.contains(&t.as_str()) {
            return Err(format!(
                "endpointType: one of {}",
                ENDPOINT_TYPES.join(", ")
            ));
        }
    }
    if let Some(e) = &endpoint_id {
        let (owner, kind) = dir
            .endpoints
            .get(e)
            .ok_or("endpointId: not found in the brand")?;
        if *owner != client {
            return Err("endpointId: not an endpoint of the call's client".into());
        }
        match &endpoint_type {
            Some(t) if t != kind => return Err("endpointType: does not match the endpoint".into()),
            None => endpoint_type = Some(kind.clone()),
            _ => {}
        }
    }

    let outcome = rater.rate(&CallToRate {
        direction,
        client_id: &client,
        carrier_id: carrier.as_deref(),
        callee: &callee,
        start,
        billed_seconds: billed,
    });
    let now = db::now();
    let destination_country =
        crate::calls::country::destination_country(direction, &caller, &callee);
    Ok(BillableCall {
        id: db::new_id(),
        brand_id: dir.brand_id.clone(),
        callid: callid.to_string(),
        start_time: start,
        duration: duration.normalize().to_string(),
        billed_seconds: billed as i64,
        caller,
        callee,
        direction: direction.to_string(),
        client_id: client,
        carrier_id: carrier,
        ddi_id: ddi,
        ddi_provider_id: provider,
        source_ip: source_ip.map(|ip| ip.to_string()),
        endpoint_type,
        endpoint_id,
        cost: outcome.cost,
        price: outcome.price,
        rating_error: outcome.error,
        destination_name: outcome.destination_name,
        rating_plan_id: outcome.rating_plan_id,
        created_at: now,
        updated_at: now,
        source_id: None,
        disposition: billable_calls::ANSWERED.into(),
        hangup_cause: None,
        destination_country,
    })
}

/// How a posted body is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
}

/// Ingests a posted body into `brand`: its rows parsed (a malformed body is refused
/// whole), then validated, rated and stored row by row as [`ingest`] does. The body is
/// dropped once parsed: body, rows and their validation would otherwise all be held.
pub fn ingest_body(
    conn: &mut DbConnection,
    cache: &PlanCache,
    brand: &BrandId,
    format: Format,
    body: impl AsRef<[u8]>,
) -> AppResult<Summary> {
    let rows = match format {
        Format::Csv => input::parse_csv(body.as_ref())?,
        Format::Json => input::parse_json(body.as_ref())?,
    };
    drop(body);
    if !db::brands::exists(conn, brand)? {
        return Err(AppError::invalid_field("brand", "not found"));
    }
    ingest(conn, cache, brand.as_str(), rows)
}

/// Validates, rates and stores `rows` for one brand; blocking (call inside `db::run`).
pub fn ingest(
    conn: &mut DbConnection,
    cache: &PlanCache,
    brand_id: &str,
    rows: Vec<RawCall>,
) -> AppResult<Summary> {
    let dir = Directory::load(conn, brand_id)?;
    let rater = Rater::load(conn, cache, brand_id)?;
    let mut summary = Summary::default();
    let mut good = Vec::with_capacity(rows.len());
    for (i, raw) in rows.iter().enumerate() {
        match validate(raw, &dir, &rater) {
            Ok(call) => good.push(call),
            Err(message) => summary.errors.push(RowError {
                row: i + 1,
                callid: raw.callid.clone(),
                message,
            }),
        }
    }
    summary.rejected = summary.errors.len();
    // One transaction per slice: rows are atomic on their own, and a slice bounds how long
    // other writers (the scheduler runner) wait on SQLite.
    for slice in good.chunks(20_000) {
        let inserted = db::transaction(conn, |conn| billable_calls::insert_new(conn, slice))?;
        summary.accepted += inserted;
        summary.duplicates += slice.len() - inserted;
    }
    // Unrated among the stored: a duplicate's row was not stored, so count only accepted
    // ones. Duplicates are rare; recount exactly only when there were any.
    summary.unrated = if summary.duplicates == 0 {
        good.iter().filter(|c| unrated(c)).count()
    } else {
        count_unrated_stored(conn, &good)?
    };
    Ok(summary)
}

fn unrated(call: &BillableCall) -> bool {
    rater::is_unrated(&call.direction, &call.disposition, call.price.as_deref())
}

/// Of `calls`, how many were stored by this request (their generated ids exist) unrated.
fn count_unrated_stored(conn: &mut DbConnection, calls: &[BillableCall]) -> AppResult<usize> {
    use crate::db::schema::billable_calls as t;
    use diesel::prelude::*;
    let mut n = 0;
    let ids: Vec<&str> = calls
        .iter()
        .filter(|c| unrated(c))
        .map(|c| c.id.as_str())
        .collect();
    for chunk in ids.chunks(500) {
        let found: i64 = t::table
            .filter(t::id.eq_any(chunk))
            .count()
            .get_result(conn)?;
        n += found as usize;
    }
    Ok(n)
}
