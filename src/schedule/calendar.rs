//! Local-calendar helpers: month arithmetic with end-of-month anchoring, and turning a local
//! wall time into an instant when DST makes it missing or doubled.

use chrono::{DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, TimeDelta, TimeZone};
use chrono_tz::Tz;

/// Adds `months` (negative to subtract) to a local date.
///
/// A date that is the last day of its month maps to the last day of the target month
/// (2019-02-28 + 1 → 2019-03-31, 2019-04-30 + 1 → 2019-05-31); any other day is kept, clamped
/// to the target month's length (2019-01-30 + 1 → 2019-02-28). The rule looks only at the date
/// in hand, so a schedule edited to the 30th drifts to month ends after a short month; that is
/// what IvozProvider's vectors require (02-28 → 03-31).
///
/// Years are 12 months, so 2020-02-29 + 12 → 2021-02-28 and, because 2019-02-28 is the last
/// day of its month, 2019-02-28 + 12 → 2020-02-29.
///
/// `None` only when the result falls outside chrono's calendar (hundreds of millennia away).
pub fn add_months_anchored(date: NaiveDate, months: i32) -> Option<NaiveDate> {
    let was_last_day = date.day() == days_in_month(date.year(), date.month())?;
    let month_index = i64::from(date.year()) * 12 + i64::from(date.month0()) + i64::from(months);
    let year = i32::try_from(month_index.div_euclid(12)).ok()?;
    let month = u32::try_from(month_index.rem_euclid(12)).ok()? + 1;
    let target_len = days_in_month(year, month)?;
    let day = if was_last_day {
        target_len
    } else {
        date.day().min(target_len)
    };
    NaiveDate::from_ymd_opt(year, month, day)
}

/// Number of days in `month` (1–12) of `year`; `None` outside chrono's calendar.
fn days_in_month(year: i32, month: u32) -> Option<u32> {
    let first = NaiveDate::from_ymd_opt(year, month, 1)?;
    let next_first = if month == 12 {
        NaiveDate::from_ymd_opt(year.checked_add(1)?, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)?
    };
    u32::try_from(next_first.signed_duration_since(first).num_days()).ok()
}

/// Resolves a local wall time in `tz` to an instant.
///
/// A time in a spring-forward gap moves forward to the first valid instant after the gap (the
/// transition itself: 02:30 on a 02:00→03:00 night becomes 03:00). A time in a fall-back
/// overlap takes the earlier instant, so a run never happens an hour "late".
pub fn resolve_local(tz: Tz, local: NaiveDateTime) -> DateTime<Tz> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(instant) => instant,
        LocalResult::Ambiguous(earlier, _later) => earlier,
        LocalResult::None => end_of_gap(tz, local),
    }
}

/// The transition instant that ends the DST gap containing `local`.
///
/// chrono-tz does not expose transitions, so we search for it: the transition is the first UTC
/// second whose local time is at or past `local`. UTC offsets stay within ±15 h and gaps are at
/// most a day (Samoa, 2011), so the transition lies within ±30 h of `local` read as UTC. Since
/// no instant shows `local` on the clock, the only place the local clock can step over it is the
/// gap's own transition, so a bisection between a "before" and an "after" bound finds exactly it.
fn end_of_gap(tz: Tz, local: NaiveDateTime) -> DateTime<Tz> {
    let window = TimeDelta::hours(30);
    let bounds = local
        .checked_sub_signed(window)
        .zip(local.checked_add_signed(window));
    let Some((low, high)) = bounds else {
        // Only reachable at the very ends of chrono's range, where no real DST gap exists.
        return tz.from_utc_datetime(&local);
    };
    let shows_at_or_after = |seconds: i64| {
        DateTime::from_timestamp(seconds, 0)
            .is_some_and(|utc| utc.with_timezone(&tz).naive_local() >= local)
    };
    // Invariant: the clock is before `local` at `low` and at or after it at `high`.
    let mut low = low.and_utc().timestamp();
    let mut high = high.and_utc().timestamp();
    while high - low > 1 {
        let middle = low + (high - low) / 2;
        if shows_at_or_after(middle) {
            high = middle;
        } else {
            low = middle;
        }
    }
    match DateTime::from_timestamp(high, 0) {
        Some(utc) => utc.with_timezone(&tz),
        None => tz.from_utc_datetime(&local),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use chrono_tz::{America, Europe, Pacific};

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn local(text: &str) -> NaiveDateTime {
        text.parse().unwrap()
    }

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn add(from: &str, months: i32) -> NaiveDate {
        add_months_anchored(date(from), months).unwrap()
    }

    #[test]
    fn spec_vectors_adding_one_month() {
        assert_eq!(add("2019-01-31", 1), date("2019-02-28"));
        assert_eq!(add("2019-02-28", 1), date("2019-03-31"));
        assert_eq!(add("2019-03-31", 1), date("2019-04-30"));
        assert_eq!(add("2019-04-30", 1), date("2019-05-31"));
        assert_eq!(add("2019-11-30", 1), date("2019-12-31"));
        assert_eq!(add("2019-12-31", 1), date("2020-01-31"));
    }

    #[test]
    fn spec_vectors_subtracting_months() {
        assert_eq!(add("2019-01-31", -1), date("2018-12-31"));
        assert_eq!(add("2019-02-28", -1), date("2019-01-31"));
        assert_eq!(add("2019-02-28", -2), date("2018-12-31"));
        assert_eq!(add("2019-02-28", -3), date("2018-11-30"));
        assert_eq!(add("2019-03-31", -1), date("2019-02-28"));
        assert_eq!(add("2019-05-31", -3), date("2019-02-28"));
    }

    #[test]
    fn first_and_fifteenth_keep_their_day() {
        for month in 1..=12 {
            let first = NaiveDate::from_ymd_opt(2019, month, 1).unwrap();
            let fifteenth = NaiveDate::from_ymd_opt(2019, month, 15).unwrap();
            for delta in [-13, -12, -3, -1, 1, 2, 11, 12, 25] {
                assert_eq!(add_months_anchored(first, delta).unwrap().day(), 1);
                assert_eq!(add_months_anchored(fifteenth, delta).unwrap().day(), 15);
            }
        }
    }

    #[test]
    fn a_day_that_is_not_the_month_end_is_clamped() {
        assert_eq!(add("2019-01-30", 1), date("2019-02-28"));
        assert_eq!(add("2020-01-30", 1), date("2020-02-29"));
        assert_eq!(add("2019-03-30", 1), date("2019-04-30"));
        assert_eq!(add("2019-05-30", 1), date("2019-06-30"));
        assert_eq!(add("2019-07-30", 1), date("2019-08-30"));
    }

    #[test]
    fn leap_february() {
        assert_eq!(add("2024-01-31", 1), date("2024-02-29"));
        assert_eq!(add("2024-02-29", 1), date("2024-03-31"));
        assert_eq!(add("2024-03-31", -1), date("2024-02-29"));
        assert_eq!(add("2024-02-28", 1), date("2024-03-28"));
        // Years are 12 months: 29 Feb → 28 Feb, and a month-end 28 Feb → 29 Feb.
        assert_eq!(add("2024-02-29", 12), date("2025-02-28"));
        assert_eq!(add("2024-02-29", -12), date("2023-02-28"));
        assert_eq!(add("2023-02-28", 12), date("2024-02-29"));
        assert_eq!(add("2024-02-29", 48), date("2028-02-29"));
    }

    #[test]
    fn zero_months_is_identity_and_large_steps_cross_years() {
        assert_eq!(add("2019-07-14", 0), date("2019-07-14"));
        assert_eq!(add("2019-10-31", 3), date("2020-01-31"));
        assert_eq!(add("2019-01-15", -25), date("2016-12-15"));
        assert_eq!(add("2019-01-01", 366 * 12), date("2385-01-01"));
    }

    #[test]
    fn out_of_range_is_none_not_a_panic() {
        assert_eq!(add_months_anchored(NaiveDate::MAX, 1), None);
        assert_eq!(add_months_anchored(NaiveDate::MIN, -1), None);
        assert_eq!(add_months_anchored(date("2019-01-01"), i32::MAX), None);
    }

    #[test]
    fn ordinary_local_time_resolves_to_its_only_instant() {
        let instant = resolve_local(Europe::Madrid, local("2018-12-10T09:00:00"));
        assert_eq!(instant.with_timezone(&Utc), utc("2018-12-10T08:00:00Z"));
    }

    #[test]
    fn gap_moves_forward_to_the_transition() {
        let cases = [
            (
                America::New_York,
                "2024-03-10T02:00:00",
                "2024-03-10T07:00:00Z",
            ),
            (
                America::New_York,
                "2024-03-10T02:30:00",
                "2024-03-10T07:00:00Z",
            ),
            (
                America::New_York,
                "2024-03-10T02:59:59.999",
                "2024-03-10T07:00:00Z",
            ),
            (
                Europe::London,
                "2024-03-31T01:30:00",
                "2024-03-31T01:00:00Z",
            ),
            (
                Europe::Madrid,
                "2020-03-29T02:00:00",
                "2020-03-29T01:00:00Z",
            ),
            // Samoa skipped the whole of 30 December 2011 (UTC-10 → UTC+14).
            (Pacific::Apia, "2011-12-30T12:00:00", "2011-12-30T10:00:00Z"),
        ];
        for (tz, wall, expected) in cases {
            let resolved = resolve_local(tz, local(wall));
            assert_eq!(resolved.with_timezone(&Utc), utc(expected), "{tz} {wall}");
        }
    }

    #[test]
    fn gap_result_is_the_first_valid_local_time() {
        let resolved = resolve_local(America::New_York, local("2024-03-10T02:30:00"));
        assert_eq!(resolved.naive_local(), local("2024-03-10T03:00:00"));
        // One second earlier is still before the gap.
        let before = (resolved - TimeDelta::seconds(1)).naive_local();
        assert_eq!(before, local("2024-03-10T01:59:59"));
    }

    #[test]
    fn overlap_takes_the_earlier_instant() {
        let cases = [
            (
                America::New_York,
                "2024-11-03T01:30:00",
                "2024-11-03T05:30:00Z",
            ),
            (
                Europe::London,
                "2024-10-27T01:30:00",
                "2024-10-27T00:30:00Z",
            ),
            (
                Europe::Madrid,
                "2019-10-27T02:00:00",
                "2019-10-27T00:00:00Z",
            ),
        ];
        for (tz, wall, expected) in cases {
            let resolved = resolve_local(tz, local(wall));
            assert_eq!(resolved.with_timezone(&Utc), utc(expected), "{tz} {wall}");
        }
    }
}
