//! Where a call goes: the country of its external party (the callee of an outbound call,
//! the caller of an inbound one) from the E.164 number by libphonenumber's metadata, and
//! the resumable job that fills it in for calls stored before calls had it.

use diesel::prelude::*;

use crate::db::schema::call_backfills;
use crate::db::{self, billable_calls, rollups, DbConnection};
use crate::error::AppResult;
use crate::sources::numbering;

/// ISO 3166-1 alpha-2 of the external party's number; None for extensions and anything
/// that is not an E.164 number (`+` and digits) libphonenumber places.
pub fn destination_country(direction: &str, caller: &str, callee: &str) -> Option<String> {
    let external = if direction == "inbound" {
        caller
    } else {
        callee
    }
    .trim();
    let digits = external.strip_prefix('+')?;
    if digits.len() < 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    numbering::country_of(external)
}

/// Whether a code is an ISO 3166-1 alpha-2 country libphonenumber knows (`GB`), as the
/// `destinationCountry` filters take it.
pub fn is_country_code(code: &str) -> bool {
    code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()) && numbering::knows_region(code)
}

const BACKFILL: &str = "destination_country";
const BACKFILL_CHUNK: i64 = 2000;

/// One step of the destination country backfill: the next chunk of calls (in id order
/// after the checkpoint) given their country, and the checkpoint moved, in one transaction
/// (so a crash resumes where the last step ended). Returns how many calls it did; 0 once
/// finished (then every later call is a no-op).
pub fn backfill_step(conn: &mut DbConnection) -> AppResult<usize> {
    db::transaction(conn, |conn| {
        let state: Option<(String, bool)> = call_backfills::table
            .find(BACKFILL)
            .select((call_backfills::last_id, call_backfills::done))
            .first(conn)
            .optional()?;
        let Some((last, false)) = state else {
            return Ok(0);
        };
        let calls = billable_calls::calls_after(conn, &last, BACKFILL_CHUNK)?;
        let Some(last_id) = calls.last().map(|c| c.id.clone()) else {
            diesel::update(call_backfills::table.find(BACKFILL))
                .set(call_backfills::done.eq(true))
                .execute(conn)?;
            return Ok(0);
        };
        // The statistics by country follow in the same transaction.
        let mut deltas = rollups::Deltas::default();
        for call in &calls {
            let country = destination_country(&call.direction, &call.caller, &call.callee);
            if country == call.destination_country
                || !billable_calls::set_destination_country(conn, call, country.as_deref())?
            {
                continue;
            }
            deltas.call(call, -1);
            deltas.call(
                &billable_calls::BillableCall {
                    destination_country: country,
                    ..call.clone()
                },
                1,
            );
        }
        rollups::apply(conn, &deltas)?;
        diesel::update(call_backfills::table.find(BACKFILL))
            .set(call_backfills::last_id.eq(&last_id))
            .execute(conn)?;
        Ok(calls.len())
    })
}

/// Runs the backfill to its end; returns how many calls it went through. `serve` runs it
/// on a background thread at start-up (a few seconds per million calls).
pub fn backfill(conn: &mut DbConnection) -> AppResult<usize> {
    let mut total = 0;
    loop {
        let done = backfill_step(conn)?;
        if done == 0 {
            return Ok(total);
        }
        total += done;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_external_party_gives_the_country() {
        assert_eq!(
            destination_country("outbound", "+34911000000", "+442079460000").as_deref(),
            Some("GB")
        );
        assert_eq!(
            destination_country("inbound", "+33142000000", "+34911000000").as_deref(),
            Some("FR")
        );
        assert_eq!(
            destination_country("outbound", "+34911000000", "+12125550100").as_deref(),
            Some("US")
        );
        // Extensions, national forms and garbage have none.
        assert_eq!(
            destination_country("outbound", "+34911000000", "1001"),
            None
        );
        assert_eq!(
            destination_country("outbound", "+34911000000", "0600000000"),
            None
        );
        assert_eq!(destination_country("outbound", "x", "+34abc"), None);
        assert_eq!(destination_country("outbound", "x", "+"), None);
    }

    #[test]
    fn country_codes_are_known_alpha_2() {
        assert!(is_country_code("GB") && is_country_code("NP"));
        // Countries whose international prefix is a pattern (BY, SB) or that have no
        // international calls (KP) are countries all the same.
        assert!(is_country_code("BY") && is_country_code("SB") && is_country_code("KP"));
        assert!(!is_country_code("gb") && !is_country_code("XX") && !is_country_code("GBR"));
    }

    #[test]
    fn the_backfill_fills_older_calls_and_resumes_from_its_checkpoint() {
        use crate::calls::ingest::{ingest_body, Format};
        use crate::calls::rater::PlanCache;
        use crate::db::schema::billable_calls as t;
        use crate::ops::testing::{brand, database, operator_of};
        use crate::ops::Resource;
        use crate::schedulers::tests::client;
        use crate::tenancy::{carriers::CarrierInput, Carriers};

        let (_dir, mut conn) = database();
        let conn = &mut conn;
        // A fresh database has nothing to do: the job ends at once.
        assert_eq!(backfill(conn).unwrap(), 0);
        let a = brand(conn, "A");
        let mine = client(conn, &a, "Mine");
        let carrier = CarrierInput {
            brand: None,
            name: "Transit".into(),
            description: None,
            code: None,
        };
        let carrier = Carriers::create(conn, &operator_of(&a), carrier)
            .unwrap()
            .id;
        let calls: Vec<_> = (0..2005)
            .map(|i| {
                serde_json::json!({"callid": format!("c{i}"), "startTime": "2026-01-05T10:00:00Z",
                    "duration": 60, "caller": "+34911000000",
                    "callee": if i % 2 == 0 { "+442079460000" } else { "1001" },
                    "direction": "outbound", "client": mine, "carrier": carrier})
            })
            .collect();
        let body = serde_json::Value::from(calls).to_string();
        let summary = ingest_body(conn, &PlanCache::default(), &a, Format::Json, body).unwrap();
        assert_eq!(summary.accepted, 2005);
        // As if stored before calls had a country, and the job not yet run.
        diesel::update(t::table)
            .set(t::destination_country.eq(None::<String>))
            .execute(conn)
            .unwrap();
        diesel::update(call_backfills::table)
            .set((
                call_backfills::done.eq(false),
                call_backfills::last_id.eq(""),
            ))
            .execute(conn)
            .unwrap();
        let gb = |conn: &mut DbConnection| -> i64 {
            t::table
                .filter(t::destination_country.eq("GB"))
                .count()
                .get_result(conn)
                .unwrap()
        };
        // One step does one chunk and keeps its place; the rest is done by the next ones.
        assert_eq!(backfill_step(conn).unwrap(), 2000);
        assert!(gb(conn) > 0 && gb(conn) < 1003);
        assert_eq!(backfill(conn).unwrap(), 5);
        assert_eq!(gb(conn), 1003);
        assert_eq!(backfill_step(conn).unwrap(), 0);
    }
}
