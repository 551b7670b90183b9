//! The pure arithmetic of alerts, apart from I/O: calendar windows in the owner's zone
//! (an hour, a day of 23/24/25 hours, an ISO week, a month), the window to compare with,
//! the conditions of quality rules, and the fixed 10-minute windows that group destination
//! and velocity events. Times are UTC `NaiveDateTime`s, as the database holds them.

use std::ops::Range;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Timelike};
use chrono_tz::Tz;
use rust_decimal::Decimal;

use crate::stats::buckets::day_start_utc;

/// Seconds of the windows destination and velocity events are grouped by.
pub const GROUP_SECONDS: i64 = 600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    Hour,
    Day,
    Week,
    Month,
}

impl std::str::FromStr for Span {
    type Err = String;

    fn from_str(s: &str) -> Result<Span, String> {
        match s {
            "hour" => Ok(Span::Hour),
            "day" => Ok(Span::Day),
            "week" => Ok(Span::Week),
            "month" => Ok(Span::Month),
            _ => Err(format!("{s:?}: hour, day, week or month")),
        }
    }
}

/// `[from, to)`, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Window {
    pub from: NaiveDateTime,
    pub to: NaiveDateTime,
}

impl Window {
    pub fn contains(&self, t: NaiveDateTime) -> bool {
        self.from <= t && t < self.to
    }
}

/// The first instant of a local date (midnight, or the first time that exists).
fn day_start(day: NaiveDate, zone: Tz) -> NaiveDateTime {
    day_start_utc(day, zone).unwrap_or_else(|| day.and_time(chrono::NaiveTime::MIN))
}

fn first_of_next_month(day: NaiveDate) -> NaiveDate {
    let (y, m) = match day.month() {
        12 => (day.year() + 1, 1),
        m => (day.year(), m + 1),
    };
    NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(day)
}

/// The calendar window of `span` in `zone` that holds the instant `t`. An hour is the
/// local hour (with the offset in force at `t`, so the two 02:00 hours of a fall-back night
/// are two windows); a day runs from one local midnight to the next (23 or 25 hours on
/// DST days); a week from Monday; a month from the first.
pub fn window_of(span: Span, zone: Tz, t: NaiveDateTime) -> Window {
    let local = zone.from_utc_datetime(&t);
    match span {
        Span::Hour => {
            let into = Duration::seconds(i64::from(local.minute() * 60 + local.second()))
                + Duration::nanoseconds(i64::from(local.nanosecond()));
            let from = t - into;
            Window {
                from,
                to: from + Duration::hours(1),
            }
        }
        Span::Day => {
            let day = local.date_naive();
            Window {
                from: day_start(day, zone),
                to: day_start(day + Duration::days(1), zone),
            }
        }
        Span::Week => {
            let day = local.date_naive();
            let monday = day - Duration::days(i64::from(day.weekday().num_days_from_monday()));
            Window {
                from: day_start(monday, zone),
                to: day_start(monday + Duration::days(7), zone),
            }
        }
        Span::Month => {
            let first = local.date_naive().with_day(1).unwrap_or(local.date_naive());
            Window {
                from: day_start(first, zone),
                to: day_start(first_of_next_month(first), zone),
            }
        }
    }
}

/// The window just before `w`.
pub fn previous_window(span: Span, zone: Tz, w: Window) -> Window {
    window_of(span, zone, w.from - Duration::microseconds(1))
}

/// The window that was `w` one week earlier on the local calendar: the same local hour or
/// day seven days before (on a DST change the two may differ in length).
pub fn same_window_last_week(span: Span, zone: Tz, w: Window) -> Window {
    let local = zone.from_utc_datetime(&w.from).naive_local() - Duration::days(7);
    // A local time skipped that day (spring forward): the window of the instant just after.
    let at = (0..=4)
        .find_map(|quarter| {
            zone.from_local_datetime(&(local + Duration::minutes(15 * quarter)))
                .earliest()
        })
        .map_or(w.from - Duration::days(7), |t| t.naive_utc());
    window_of(span, zone, at)
}

/// The latest window of `span` that has closed at least `grace` before `now` (what a
/// quality rule judges).
pub fn last_closed(span: Span, zone: Tz, now: NaiveDateTime, grace: Duration) -> Window {
    previous_window(span, zone, window_of(span, zone, now - grace))
}

/// The fixed 10-minute UTC window holding `t` (destination and velocity events group by it).
pub fn group_window(t: NaiveDateTime) -> Window {
    let secs = t.and_utc().timestamp();
    let start = secs - secs.rem_euclid(GROUP_SECONDS);
    let from = chrono::DateTime::from_timestamp(start, 0).map_or(t, |d| d.naive_utc());
    Window {
        from,
        to: from + Duration::seconds(GROUP_SECONDS),
    }
}

/// How a quality rule compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    Below,
    Above,
    DropsBy,
    RisesBy,
    DropsByPercent,
    RisesByPercent,
}

impl std::str::FromStr for Condition {
    type Err = String;

    fn from_str(s: &str) -> Result<Condition, String> {
        Ok(match s {
            "below" => Condition::Below,
            "above" => Condition::Above,
            "dropsBy" => Condition::DropsBy,
            "risesBy" => Condition::RisesBy,
            "dropsByPercent" => Condition::DropsByPercent,
            "risesByPercent" => Condition::RisesByPercent,
            _ => return Err(format!("{s:?} is not a condition")),
        })
    }
}

impl Condition {
    /// Compares with a previous window (the others with a fixed value).
    pub fn is_relative(self) -> bool {
        !matches!(self, Condition::Below | Condition::Above)
    }
}

/// Does a closed window's `current` value (over `calls` calls) meet `condition` against
/// `value`? `below`/`above` are strict; `dropsBy`/`risesBy` fire when the change
/// (current − previous) is at least `value` down or up; the percent forms use
/// (current − previous) / previous × 100, and never fire when previous is 0. Nothing fires
/// under `min_calls` calls, nor when a value is undefined (an ACD without answered calls,
/// a previous window without calls).
pub fn meets(
    condition: Condition,
    current: Option<Decimal>,
    previous: Option<Decimal>,
    value: Decimal,
    calls: i64,
    min_calls: i64,
) -> bool {
    if calls < min_calls {
        return false;
    }
    let Some(current) = current else {
        return false;
    };
    match condition {
        Condition::Below => current < value,
        Condition::Above => current > value,
        relative => {
            let Some(previous) = previous else {
                return false;
            };
            let change = current - previous;
            match relative {
                Condition::DropsBy => -change >= value,
                Condition::RisesBy => change >= value,
                _ => match percent_change(current, previous) {
                    None => false,
                    Some(p) if relative == Condition::DropsByPercent => -p >= value,
                    Some(p) => p >= value,
                },
            }
        }
    }
}

/// (current − previous) / previous × 100; `None` when previous is 0.
pub fn percent_change(current: Decimal, previous: Decimal) -> Option<Decimal> {
    if previous.is_zero() {
        return None;
    }
    (current - previous)
        .checked_mul(Decimal::ONE_HUNDRED)?
        .checked_div(previous)
}

/// Does a spend total reach its threshold?
pub fn reaches(total: Decimal, threshold: Decimal) -> bool {
    total >= threshold
}

/// Velocity: with `starts` the start times of one subject's outbound calls, sorted, the
/// calls of the `minutes` up to the call starting at `at`: the indexes of
/// `(at − minutes, at]`.
pub fn trailing(starts: &[NaiveDateTime], at: NaiveDateTime, minutes: i64) -> Range<usize> {
    let since = at - Duration::minutes(minutes);
    starts.partition_point(|t| *t <= since)..starts.partition_point(|t| *t <= at)
}

/// Does the call starting at `at` make more than `max_calls` within `minutes`?
pub fn too_many(starts: &[NaiveDateTime], at: NaiveDateTime, minutes: i64, max_calls: i64) -> bool {
    trailing(starts, at, minutes).len() as i64 > max_calls
}

/// The calls among `starts` (sorted) starting in `[from, to)` that make more than
/// `max_calls` within `minutes`, each as the range of its trailing calls (one per distinct
/// start time). Some sliding window holds too many calls exactly when the trailing window
/// of its last call does, and a call's trailing window only changes when a call arrives in
/// the `minutes` before it: so after calls starting in `[first, last]` arrive, checking
/// `[first, last + minutes)` finds every excess they made.
pub fn over_rate(
    starts: &[NaiveDateTime],
    from: NaiveDateTime,
    to: NaiveDateTime,
    minutes: i64,
    max_calls: i64,
) -> Vec<Range<usize>> {
    let mut found: Vec<Range<usize>> = vec![];
    let first = starts.partition_point(|t| *t < from);
    for &at in &starts[first..] {
        if at >= to {
            break;
        }
        let calls = trailing(starts, at, minutes);
        if found.last().is_some_and(|r| *r == calls) {
            continue;
        }
        if calls.len() as i64 > max_calls {
            found.push(calls);
        }
    }
    found
}

/// Whether calls counted per bucket of `bucket_minutes` (`buckets`: each bucket's index
/// since the epoch and its calls, in order) may hold more than `max_calls` within some
/// `minutes`. A window of `minutes` touches at most ⌈minutes / bucket_minutes⌉ + 1
/// consecutive buckets: when no run of that many holds more than `max_calls`, no window
/// does.
pub fn buckets_may_exceed(
    buckets: &[(i64, i64)],
    bucket_minutes: i64,
    minutes: i64,
    max_calls: i64,
) -> bool {
    let run = (minutes + bucket_minutes - 1) / bucket_minutes + 1;
    let (mut sum, mut first) = (0, 0);
    for &(bucket, calls) in buckets {
        sum += calls;
        while buckets[first].0 + run <= bucket {
            sum -= buckets[first].1;
            first += 1;
        }
        if sum > max_calls {
            return true;
        }
    }
    false
}

/// Whether some `minutes` hold more than `max_calls` of `starts` (sorted): the fullest
/// trailing window of any start, found in one pass.
pub fn exceeds(starts: &[NaiveDateTime], minutes: i64, max_calls: i64) -> bool {
    let span = Duration::minutes(minutes);
    let mut first = 0;
    for (last, &at) in starts.iter().enumerate() {
        while starts[first] <= at - span {
            first += 1;
        }
        if (last + 1 - first) as i64 > max_calls {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn utc(text: &str) -> NaiveDateTime {
        chrono::DateTime::parse_from_rfc3339(text)
            .unwrap()
            .naive_utc()
    }

    fn tz(name: &str) -> Tz {
        name.parse().unwrap()
    }

    fn w(from: &str, to: &str) -> Window {
        Window {
            from: utc(from),
            to: utc(to),
        }
    }

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn calendar_windows_in_the_owners_zone() {
        let madrid = tz("Europe/Madrid");
        // (span, instant, window) in Madrid: CET +01:00 in winter, CEST +02:00 in summer.
        let vectors = [
            (
                Span::Hour,
                "2026-11-10T09:59:59Z",
                w("2026-11-10T09:00:00Z", "2026-11-10T10:00:00Z"),
            ),
            (
                Span::Day,
                "2026-11-10T22:59:59Z",
                w("2026-11-09T23:00:00Z", "2026-11-10T23:00:00Z"),
            ),
            (
                Span::Day,
                "2026-11-10T23:00:00Z",
                w("2026-11-10T23:00:00Z", "2026-11-11T23:00:00Z"),
            ),
            (
                Span::Day,
                "2026-07-01T12:00:00Z",
                w("2026-06-30T22:00:00Z", "2026-07-01T22:00:00Z"),
            ),
            // Spring forward (29 March 2026): a 23-hour day; fall back (25 October): 25 hours.
            (
                Span::Day,
                "2026-03-29T12:00:00Z",
                w("2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z"),
            ),
            (
                Span::Day,
                "2026-10-25T12:00:00Z",
                w("2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z"),
            ),
            // Weeks from Monday (10 November 2026 is a Tuesday), across the month end too.
            (
                Span::Week,
                "2026-11-10T12:00:00Z",
                w("2026-11-08T23:00:00Z", "2026-11-15T23:00:00Z"),
            ),
            (
                Span::Week,
                "2026-03-01T12:00:00Z",
                w("2026-02-22T23:00:00Z", "2026-03-01T23:00:00Z"),
            ),
            // The week of the fall-back Sunday: 7 days and one hour.
            (
                Span::Week,
                "2026-10-25T12:00:00Z",
                w("2026-10-18T22:00:00Z", "2026-10-25T23:00:00Z"),
            ),
            // Months: February, December into January, and March with its DST change.
            (
                Span::Month,
                "2026-02-14T00:00:00Z",
                w("2026-01-31T23:00:00Z", "2026-02-28T23:00:00Z"),
            ),
            (
                Span::Month,
                "2026-12-31T22:59:59Z",
                w("2026-11-30T23:00:00Z", "2026-12-31T23:00:00Z"),
            ),
            (
                Span::Month,
                "2026-12-31T23:00:00Z",
                w("2026-12-31T23:00:00Z", "2027-01-31T23:00:00Z"),
            ),
            (
                Span::Month,
                "2026-03-15T00:00:00Z",
                w("2026-02-28T23:00:00Z", "2026-03-31T22:00:00Z"),
            ),
        ];
        for (span, at, expected) in vectors {
            assert_eq!(window_of(span, madrid, utc(at)), expected, "{span:?} {at}");
        }
        let fall_back = window_of(Span::Day, madrid, utc("2026-10-25T12:00:00Z"));
        assert_eq!(fall_back.to - fall_back.from, Duration::hours(25));
        let spring = window_of(Span::Day, madrid, utc("2026-03-29T12:00:00Z"));
        assert_eq!(spring.to - spring.from, Duration::hours(23));
    }

    #[test]
    fn hours_follow_the_local_clock() {
        // The two 02:00 hours of a fall-back night are two windows.
        let madrid = tz("Europe/Madrid");
        assert_eq!(
            window_of(Span::Hour, madrid, utc("2026-10-25T00:30:00Z")),
            w("2026-10-25T00:00:00Z", "2026-10-25T01:00:00Z")
        );
        assert_eq!(
            window_of(Span::Hour, madrid, utc("2026-10-25T01:30:00Z")),
            w("2026-10-25T01:00:00Z", "2026-10-25T02:00:00Z")
        );
        // Half-hour and 45-minute offsets: the local hour, not the UTC one.
        assert_eq!(
            window_of(Span::Hour, tz("Asia/Kolkata"), utc("2026-11-10T10:10:00Z")),
            w("2026-11-10T09:30:00Z", "2026-11-10T10:30:00Z")
        );
        assert_eq!(
            window_of(
                Span::Hour,
                tz("Asia/Kathmandu"),
                utc("2026-11-10T10:10:00Z")
            ),
            w("2026-11-10T09:15:00Z", "2026-11-10T10:15:00Z")
        );
        // New York's day, and a zone whose midnight is skipped (Santiago, 6 September 2026
        // at 00:00 → 01:00): the day starts at its first instant.
        assert_eq!(
            window_of(
                Span::Day,
                tz("America/New_York"),
                utc("2026-11-10T03:00:00Z")
            ),
            w("2026-11-09T05:00:00Z", "2026-11-10T05:00:00Z")
        );
        assert_eq!(
            window_of(
                Span::Day,
                tz("America/Santiago"),
                utc("2026-09-06T12:00:00Z")
            ),
            w("2026-09-06T04:00:00Z", "2026-09-07T03:00:00Z")
        );
    }

    #[test]
    fn previous_and_same_window_last_week() {
        let madrid = tz("Europe/Madrid");
        let day = window_of(Span::Day, madrid, utc("2026-10-26T12:00:00Z"));
        // The day before is the 25-hour fall-back day.
        assert_eq!(
            previous_window(Span::Day, madrid, day),
            w("2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z")
        );
        // A week before the Monday after fall-back was a summer Monday.
        assert_eq!(
            same_window_last_week(Span::Day, madrid, day),
            w("2026-10-18T22:00:00Z", "2026-10-19T22:00:00Z")
        );
        // Hours: 10:00 local on Monday 26 October (09:00Z) ↔ 10:00 local a week earlier
        // (08:00Z, summer time); the previous hour is just before.
        let hour = window_of(Span::Hour, madrid, utc("2026-10-26T09:15:00Z"));
        assert_eq!(
            same_window_last_week(Span::Hour, madrid, hour),
            w("2026-10-19T08:00:00Z", "2026-10-19T09:00:00Z")
        );
        assert_eq!(
            previous_window(Span::Hour, madrid, hour),
            w("2026-10-26T08:00:00Z", "2026-10-26T09:00:00Z")
        );
        // Previous week and month.
        let week = window_of(Span::Week, madrid, utc("2026-11-10T12:00:00Z"));
        assert_eq!(
            previous_window(Span::Week, madrid, week),
            w("2026-11-01T23:00:00Z", "2026-11-08T23:00:00Z")
        );
        let month = window_of(Span::Month, madrid, utc("2026-01-10T12:00:00Z"));
        assert_eq!(
            previous_window(Span::Month, madrid, month),
            w("2025-11-30T23:00:00Z", "2025-12-31T23:00:00Z")
        );
        // A week after the spring-forward hour: 02:30 local does not exist on 29 March;
        // 02:00 on 5 April maps to the window that starts when the clock resumes.
        let after = window_of(Span::Hour, madrid, utc("2026-04-05T00:30:00Z"));
        assert_eq!(after, w("2026-04-05T00:00:00Z", "2026-04-05T01:00:00Z"));
        assert_eq!(
            same_window_last_week(Span::Hour, madrid, after),
            w("2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z")
        );
    }

    #[test]
    fn the_last_closed_window_waits_for_the_grace_time() {
        let madrid = tz("Europe/Madrid");
        let grace = Duration::seconds(900);
        // 10:14 local (09:14Z): the 09:00–10:00 local hour closed 14 minutes ago, less than
        // the grace: the window judged is still 08:00–09:00.
        assert_eq!(
            last_closed(Span::Hour, madrid, utc("2026-11-10T09:14:00Z"), grace),
            w("2026-11-10T07:00:00Z", "2026-11-10T08:00:00Z")
        );
        assert_eq!(
            last_closed(Span::Hour, madrid, utc("2026-11-10T09:15:00Z"), grace),
            w("2026-11-10T08:00:00Z", "2026-11-10T09:00:00Z")
        );
        assert_eq!(
            last_closed(Span::Day, madrid, utc("2026-11-10T23:14:59Z"), grace),
            w("2026-11-08T23:00:00Z", "2026-11-09T23:00:00Z")
        );
        assert_eq!(
            last_closed(Span::Day, madrid, utc("2026-11-10T23:15:00Z"), grace),
            w("2026-11-09T23:00:00Z", "2026-11-10T23:00:00Z")
        );
    }

    #[test]
    fn ten_minute_group_windows() {
        assert_eq!(
            group_window(utc("2026-11-10T09:59:59Z")),
            w("2026-11-10T09:50:00Z", "2026-11-10T10:00:00Z")
        );
        assert_eq!(
            group_window(utc("2026-11-10T10:00:00Z")),
            w("2026-11-10T10:00:00Z", "2026-11-10T10:10:00Z")
        );
        assert!(group_window(utc("2026-11-10T10:09:00Z")).contains(utc("2026-11-10T10:00:00Z")));
    }

    #[test]
    fn conditions() {
        use Condition::*;
        // (condition, current, previous, value, calls, minCalls, fires)
        type Vector = (
            Condition,
            Option<&'static str>,
            Option<&'static str>,
            &'static str,
            i64,
            i64,
            bool,
        );
        let vectors: &[Vector] = &[
            (Below, Some("0.2999"), None, "0.3", 20, 20, true),
            (Below, Some("0.3"), None, "0.3", 20, 20, false), // strictly
            (Above, Some("181"), None, "180", 20, 20, true),
            (Above, Some("180"), None, "180", 20, 20, false), // strictly
            (Below, Some("0.1"), None, "0.3", 19, 20, false), // under minCalls
            (Below, None, None, "30", 50, 20, false),         // ACD with nothing answered
            (DropsBy, Some("0.5"), Some("0.8"), "0.3", 20, 20, true),
            (DropsBy, Some("0.51"), Some("0.8"), "0.3", 20, 20, false),
            (DropsBy, Some("0.9"), Some("0.8"), "0.3", 20, 20, false),
            (RisesBy, Some("150"), Some("100"), "50", 20, 20, true),
            (RisesBy, Some("149"), Some("100"), "50", 20, 20, false),
            (RisesBy, Some("150"), None, "50", 20, 20, false), // no previous window
            (DropsByPercent, Some("70"), Some("100"), "30", 20, 20, true),
            (DropsByPercent, Some("71"), Some("100"), "30", 20, 20, false),
            (DropsByPercent, Some("0"), Some("0"), "30", 20, 20, false), // previous 0
            (
                RisesByPercent,
                Some("200"),
                Some("100"),
                "100",
                20,
                20,
                true,
            ),
            (RisesByPercent, Some("5"), Some("0"), "1", 20, 20, false), // previous 0
            (
                RisesByPercent,
                Some("199.99"),
                Some("100"),
                "100",
                20,
                20,
                false,
            ),
            (
                RisesByPercent,
                Some("0.4"),
                Some("0.3"),
                "33.3333",
                20,
                20,
                true,
            ),
        ];
        for &(c, current, previous, value, calls, min, fires) in vectors {
            assert_eq!(
                meets(c, current.map(d), previous.map(d), d(value), calls, min),
                fires,
                "{c:?} {current:?} {previous:?} {value} {calls}/{min}"
            );
        }
        assert_eq!(percent_change(d("70"), d("100")), Some(d("-30")));
        assert_eq!(percent_change(d("1"), d("0")), None);
        assert!(reaches(d("100.50"), d("100.5")));
        assert!(!reaches(d("100.49"), d("100.5")));
        assert!(Condition::from_str("dropsBy").unwrap().is_relative());
        assert!(!Condition::from_str("above").unwrap().is_relative());
    }

    #[test]
    fn velocity_counts_a_sliding_window() {
        let starts: Vec<NaiveDateTime> =
            ["10:00:00", "10:01:00", "10:02:00", "10:04:59", "10:05:00"]
                .iter()
                .map(|t| utc(&format!("2026-11-10T{t}Z")))
                .collect();
        // 5 minutes up to 10:05:00: (10:00:00, 10:05:00] holds 4 calls.
        assert!(too_many(&starts, starts[4], 5, 3));
        assert!(!too_many(&starts, starts[4], 5, 4));
        // Up to 10:04:59: all of the first four.
        assert!(too_many(&starts, starts[3], 5, 3));
        assert!(!too_many(&starts, starts[2], 5, 3));
    }

    #[test]
    fn velocity_finds_every_excess_the_new_calls_made() {
        let at = |t: &str| utc(&format!("2026-11-10T{t}Z"));
        let starts: Vec<NaiveDateTime> = [
            "10:00:00", "10:01:00", "10:01:00", "10:03:00", "10:06:00", "10:20:00",
        ]
        .iter()
        .map(|t| at(t))
        .collect();
        assert_eq!(trailing(&starts, at("10:01:00"), 5), 0..3);
        // More than 2 within 5 minutes: the trailing windows of 10:01 (3 calls, once for both
        // calls of that time) and 10:03 (4); (10:01, 10:06] holds only 10:03 and 10:06.
        assert_eq!(
            over_rate(&starts, at("10:00:00"), at("10:30:00"), 5, 2),
            vec![0..3, 0..4]
        );
        // Only the calls starting in [from, to) are looked at.
        assert_eq!(
            over_rate(&starts, at("10:02:00"), at("10:06:00"), 5, 2),
            vec![0..4]
        );
        assert!(over_rate(&starts, at("10:00:00"), at("10:30:00"), 5, 4).is_empty());
        // Exactly `minutes` apart is not within them.
        let two = [at("10:00:00"), at("10:05:00")];
        assert!(over_rate(&two, at("10:00:00"), at("10:10:00"), 5, 1).is_empty());
        assert_eq!(
            over_rate(&two, at("10:00:00"), at("10:10:00"), 6, 1),
            vec![0..2]
        );
    }

    #[test]
    fn exceeds_finds_the_fullest_window() {
        let starts: Vec<NaiveDateTime> = [
            "2026-03-29T10:00:00Z",
            "2026-03-29T10:05:00Z",
            "2026-03-29T10:10:00Z",
            "2026-03-29T11:00:00Z",
            "2026-03-29T11:04:59Z",
        ]
        .iter()
        .map(|t| utc(t))
        .collect();
        // (10:00, 10:10]: 10:00 itself is outside a 10-minute window ending at 10:10.
        assert!(!exceeds(&starts, 10, 2));
        assert!(exceeds(&starts, 11, 2));
        // 11:00 and 11:04:59 within 5 minutes; all five within 65 minutes, not 64.
        assert!(exceeds(&starts, 5, 1));
        assert!(!exceeds(&starts, 64, 4));
        assert!(exceeds(&starts, 65, 4));
        assert!(!exceeds(&starts, 1440, 5));
        assert!(exceeds(&starts, 1440, 4));
        assert!(!exceeds(&[], 60, 0));
    }

    #[test]
    fn bucket_counts_bound_every_sliding_window() {
        // Quarter-hours 40, 41, 42 with 3 calls each, 46 with 4.
        let q = [(40, 3), (41, 3), (42, 3), (46, 4)];
        // 15 minutes touch two quarter-hours at most: 6 in the fullest pair.
        assert!(buckets_may_exceed(&q, 15, 15, 5));
        assert!(!buckets_may_exceed(&q, 15, 15, 6));
        // 16 minutes touch three: 9.
        assert!(buckets_may_exceed(&q, 15, 16, 8));
        assert!(!buckets_may_exceed(&q, 15, 16, 9));
        // 46 is four quarter-hours after 42: summed from 46 minutes (five buckets) on.
        let apart = [(42, 3), (46, 4)];
        assert!(!buckets_may_exceed(&apart, 15, 45, 4));
        assert!(!buckets_may_exceed(&apart, 15, 45, 6));
        assert!(buckets_may_exceed(&apart, 15, 46, 6));
        assert!(buckets_may_exceed(&q, 15, 1, 3));
        assert!(!buckets_may_exceed(&q, 15, 1, 7));
        assert!(!buckets_may_exceed(&[], 15, 60, 0));
    }
}
