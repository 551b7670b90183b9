//! Time buckets: the database groups calls by 15-minute UTC bucket (start epoch / 900), and
//! each bucket falls inside exactly one local hour, day, ISO week and month of any IANA
//! zone, because every offset a zone has ever had since 1970 is a whole number of 15 minutes
//! (+05:30 Kolkata, +05:45 Kathmandu, +12:45 Chatham) and changes on such a boundary. So
//! local buckets are unions of UTC ones, and mapping each to its local key is exact.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Offset, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

/// Seconds per database bucket.
pub const BUCKET_SECONDS: i64 = 900;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Grain {
    Hour,
    Day,
    Week,
    Month,
}

/// A local time bucket: `label` as shown (`2026-10-25T02:00+02:00`, `2026-10-25`,
/// `2026-W43`, `2026-10`) and `order`, which sorts keys in time order (for hours, the
/// hour's first instant: the two 02:00 of a fall-back night are apart).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeKey {
    pub order: i64,
    pub label: String,
}

/// The UTC bucket holding `t`.
pub fn bucket_of(t: NaiveDateTime) -> i64 {
    t.and_utc().timestamp().div_euclid(BUCKET_SECONDS)
}

/// The local `grain` bucket of `zone` that UTC bucket `bucket` falls in.
pub fn time_key(bucket: i64, zone: Tz, grain: Grain) -> TimeKey {
    let instant = DateTime::<Utc>::from_timestamp(bucket * BUCKET_SECONDS, 0)
        .unwrap_or_default()
        .with_timezone(&zone);
    match grain {
        Grain::Hour => {
            let offset = instant.offset().fix();
            TimeKey {
                order: instant.timestamp() - i64::from(instant.minute()) * 60,
                label: format!(
                    "{}:00{}",
                    instant.format("%Y-%m-%dT%H"),
                    offset_text(offset.local_minus_utc())
                ),
            }
        }
        Grain::Day => {
            let day = instant.date_naive();
            TimeKey {
                order: i64::from(day.num_days_from_ce()),
                label: day.format("%Y-%m-%d").to_string(),
            }
        }
        Grain::Week => {
            let week = instant.iso_week();
            TimeKey {
                order: i64::from(week.year()) * 100 + i64::from(week.week()),
                label: format!("{}-W{:02}", week.year(), week.week()),
            }
        }
        Grain::Month => TimeKey {
            order: i64::from(instant.year()) * 12 + i64::from(instant.month0()),
            label: instant.format("%Y-%m").to_string(),
        },
    }
}

/// `+05:45`, `-04:00`, `+00:00`.
fn offset_text(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let minutes = seconds.abs() / 60;
    format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60)
}

/// An instant as local time of `zone` with its offset (`2026-10-01T00:00:00+02:00`).
pub fn local_text(t: NaiveDateTime, zone: Tz) -> String {
    let local = t.and_utc().with_timezone(&zone);
    format!(
        "{}{}",
        local.format("%Y-%m-%dT%H:%M:%S"),
        offset_text(local.offset().fix().local_minus_utc())
    )
}

/// A local wall time of `zone` as a UTC instant: the earlier of two on a fall-back night;
/// None for a time that does not exist (skipped by a spring-forward).
pub fn local_to_utc(local: NaiveDateTime, zone: Tz) -> Option<NaiveDateTime> {
    zone.from_local_datetime(&local)
        .earliest()
        .map(|t| t.naive_utc())
}

/// A local date's midnight (or first instant, where a zone skips midnight) as UTC.
pub fn day_start_utc(day: NaiveDate, zone: Tz) -> Option<NaiveDateTime> {
    (0..24).find_map(|h| local_to_utc(day.and_hms_opt(h, 0, 0)?, zone))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn utc(text: &str) -> NaiveDateTime {
        DateTime::parse_from_rfc3339(text).unwrap().naive_utc()
    }

    fn zone(name: &str) -> Tz {
        name.parse().unwrap()
    }

    /// The local keys of the buckets of [from, to), with how many buckets each got.
    fn keys(from: &str, to: &str, tz: &str, grain: Grain) -> Vec<(String, i64)> {
        let mut seen: BTreeMap<TimeKey, i64> = BTreeMap::new();
        for b in bucket_of(utc(from))..bucket_of(utc(to)) {
            *seen.entry(time_key(b, zone(tz), grain)).or_default() += 1;
        }
        seen.into_iter().map(|(k, n)| (k.label, n)).collect()
    }

    #[test]
    fn kathmandu_hours_start_at_quarter_past_in_utc() {
        // 04:15Z is 10:00+05:45.
        let hours = keys(
            "2026-03-01T04:00:00Z",
            "2026-03-01T05:30:00Z",
            "Asia/Kathmandu",
            Grain::Hour,
        );
        assert_eq!(
            hours,
            vec![
                ("2026-03-01T09:00+05:45".to_string(), 1),
                ("2026-03-01T10:00+05:45".to_string(), 4),
                ("2026-03-01T11:00+05:45".to_string(), 1),
            ]
        );
        // The local day is 96 buckets from 18:15Z the day before.
        let days = keys(
            "2026-02-28T18:15:00Z",
            "2026-03-01T18:15:00Z",
            "Asia/Kathmandu",
            Grain::Day,
        );
        assert_eq!(days, vec![("2026-03-01".to_string(), 96)]);
        assert_eq!(
            time_key(
                bucket_of(utc("2026-02-28T18:00:00Z")),
                zone("Asia/Kathmandu"),
                Grain::Day
            )
            .label,
            "2026-02-28"
        );
    }

    #[test]
    fn kolkata_half_hours() {
        assert_eq!(
            time_key(
                bucket_of(utc("2026-06-30T18:29:59Z")),
                zone("Asia/Kolkata"),
                Grain::Month
            )
            .label,
            "2026-06"
        );
        assert_eq!(
            time_key(
                bucket_of(utc("2026-06-30T18:30:00Z")),
                zone("Asia/Kolkata"),
                Grain::Month
            )
            .label,
            "2026-07"
        );
        let hours = keys(
            "2026-06-30T18:00:00Z",
            "2026-06-30T19:30:00Z",
            "Asia/Kolkata",
            Grain::Hour,
        );
        assert_eq!(
            hours,
            vec![
                ("2026-06-30T23:00+05:30".to_string(), 2),
                ("2026-07-01T00:00+05:30".to_string(), 4),
            ]
        );
    }

    #[test]
    fn chatham_quarter_to_offsets_and_dst() {
        // +13:45 in (southern) summer, +12:45 in winter; DST ends 2026-04-05 03:45 local.
        let hours = keys(
            "2026-01-10T10:00:00Z",
            "2026-01-10T11:00:00Z",
            "Pacific/Chatham",
            Grain::Hour,
        );
        assert_eq!(
            hours,
            vec![
                ("2026-01-10T23:00+13:45".to_string(), 1),
                ("2026-01-11T00:00+13:45".to_string(), 3),
            ]
        );
        let days = keys(
            "2026-04-04T10:00:00Z",
            "2026-04-06T11:15:00Z",
            "Pacific/Chatham",
            Grain::Day,
        );
        // 2026-04-05 has 25 hours there.
        assert_eq!(
            days,
            vec![
                ("2026-04-04".to_string(), 1),
                ("2026-04-05".to_string(), 100),
                ("2026-04-06".to_string(), 96),
            ]
        );
    }

    #[test]
    fn madrid_dst_days_have_23_and_25_hours() {
        let spring = keys(
            "2026-03-28T23:00:00Z",
            "2026-03-29T22:00:00Z",
            "Europe/Madrid",
            Grain::Hour,
        );
        assert_eq!(spring.len(), 23);
        assert_eq!(spring[1].0, "2026-03-29T01:00+01:00");
        assert_eq!(spring[2].0, "2026-03-29T03:00+02:00");
        let autumn = keys(
            "2026-10-24T22:00:00Z",
            "2026-10-25T23:00:00Z",
            "Europe/Madrid",
            Grain::Hour,
        );
        assert_eq!(autumn.len(), 25);
        let labels: Vec<&str> = autumn.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(
            &labels[1..5],
            &[
                "2026-10-25T01:00+02:00",
                "2026-10-25T02:00+02:00",
                "2026-10-25T02:00+01:00",
                "2026-10-25T03:00+01:00"
            ]
        );
        assert!(autumn.iter().all(|(_, n)| *n == 4));
        let day = keys(
            "2026-10-24T22:00:00Z",
            "2026-10-25T23:00:00Z",
            "Europe/Madrid",
            Grain::Day,
        );
        assert_eq!(day, vec![("2026-10-25".to_string(), 100)]);
    }

    #[test]
    fn new_york_dst_weeks_and_months() {
        let spring = keys(
            "2026-03-08T05:00:00Z",
            "2026-03-09T04:00:00Z",
            "America/New_York",
            Grain::Day,
        );
        assert_eq!(spring, vec![("2026-03-08".to_string(), 92)]);
        let autumn = keys(
            "2026-11-01T04:00:00Z",
            "2026-11-02T05:00:00Z",
            "America/New_York",
            Grain::Day,
        );
        assert_eq!(autumn, vec![("2026-11-01".to_string(), 100)]);
        // Sunday 2026-11-01 is in ISO week 44; Monday 2026-11-02 starts week 45 at 05:00Z.
        let weeks = keys(
            "2026-11-02T04:45:00Z",
            "2026-11-02T05:15:00Z",
            "America/New_York",
            Grain::Week,
        );
        assert_eq!(
            weeks,
            vec![("2026-W44".to_string(), 1), ("2026-W45".to_string(), 1)]
        );
        // ISO years: 2027-01-01 (a Friday) is in 2026-W53.
        assert_eq!(
            time_key(
                bucket_of(utc("2027-01-01T12:00:00Z")),
                zone("America/New_York"),
                Grain::Week
            )
            .label,
            "2026-W53"
        );
        assert_eq!(
            time_key(
                bucket_of(utc("2026-11-01T03:59:00Z")),
                zone("America/New_York"),
                Grain::Month
            )
            .label,
            "2026-10"
        );
    }

    #[test]
    fn local_bounds() {
        let madrid = zone("Europe/Madrid");
        let day = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
        let start = day_start_utc(day, madrid).unwrap();
        assert_eq!(start, utc("2026-09-30T22:00:00Z"));
        assert_eq!(local_text(start, madrid), "2026-10-01T00:00:00+02:00");
        // 02:30 on the spring-forward night does not exist; on the fall-back night it is the
        // first of the two.
        let t = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").unwrap();
        assert_eq!(local_to_utc(t("2026-03-29T02:30:00"), madrid), None);
        assert_eq!(
            local_to_utc(t("2026-10-25T02:30:00"), madrid),
            Some(utc("2026-10-25T00:30:00Z"))
        );
    }
}
