//! What every page shows around its content (the navigation bar, the CSRF token htmx
//! sends), and how values are written for people: times in the viewer's zone with the
//! zone named, money with its currency.

use chrono::{NaiveDateTime, TimeZone};
use chrono_tz::Tz;

use crate::auth::Role;
use crate::ui::Console;

/// The frame of a signed-in page.
pub struct Nav {
    pub username: String,
    pub role: &'static str,
    pub csrf: String,
    /// `hx-headers` of the page's body: the CSRF header every htmx request sends.
    pub hx_headers: String,
    pub zone: String,
    pub section: &'static str,
    pub brand_admin: bool,
    pub platform: bool,
    pub version: &'static str,
}

impl Nav {
    pub fn of(console: &Console, section: &'static str) -> Nav {
        Nav {
            username: console.caller.username.clone(),
            role: console.caller.role.as_str(),
            csrf: console.csrf.clone(),
            hx_headers: serde_json::json!({ "X-CSRF-Token": console.csrf }).to_string(),
            zone: console.timezone.name().to_string(),
            section,
            brand_admin: console.caller.role != Role::Client,
            platform: console.caller.role == Role::Platform,
            version: env!("CARGO_PKG_VERSION"),
        }
    }

    pub fn current(&self, section: &str) -> &'static str {
        if self.section == section {
            "page"
        } else {
            "false"
        }
    }
}

/// A stored (UTC) time in `zone`, to the minute unless seconds matter.
pub fn local(t: NaiveDateTime, zone: Tz) -> String {
    let at = zone.from_utc_datetime(&t);
    if at.format("%S").to_string() == "00" {
        at.format("%Y-%m-%d %H:%M").to_string()
    } else {
        at.format("%Y-%m-%d %H:%M:%S").to_string()
    }
}

pub fn local_opt(t: Option<NaiveDateTime>, zone: Tz) -> String {
    t.map(|t| local(t, zone)).unwrap_or_default()
}

/// The value of a `datetime-local` input for a stored time.
pub fn local_input(t: NaiveDateTime, zone: Tz) -> String {
    zone.from_utc_datetime(&t)
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string()
}

/// A `datetime-local` value (`2026-12-01T08:00` or with seconds) read in `zone`, as the
/// RFC 3339 time the operations take. A time the zone skips (a DST gap) is an error; one
/// it has twice is the first.
pub fn from_local_input(raw: &str, zone: Tz) -> Result<String, String> {
    let naive = NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M"))
        .map_err(|_| format!("a date and time like 2026-12-01T08:00 (in {})", zone.name()))?;
    let at = zone
        .from_local_datetime(&naive)
        .earliest()
        .ok_or_else(|| format!("{raw} does not exist in {} (a clock change)", zone.name()))?;
    Ok(at.to_rfc3339())
}

/// An amount (as stored, exact) with its currency: `12.3400 EUR`.
pub fn money(amount: Option<String>, currency: &str) -> String {
    amount
        .map(|a| format!("{a} {currency}"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_round_trip_through_the_zone() {
        let zone: Tz = "Europe/Madrid".parse().unwrap();
        let t = NaiveDateTime::parse_from_str("2026-07-01 06:00:00", "%Y-%m-%d %H:%M:%S").unwrap();
        assert_eq!(local(t, zone), "2026-07-01 08:00");
        assert_eq!(local_input(t, zone), "2026-07-01T08:00:00");
        assert_eq!(
            from_local_input("2026-07-01T08:00", zone).unwrap(),
            "2026-07-01T08:00:00+02:00"
        );
        assert!(
            from_local_input("2026-03-29T02:30", zone).is_err(),
            "DST gap"
        );
        assert!(from_local_input("tomorrow", zone).is_err());
    }
}
