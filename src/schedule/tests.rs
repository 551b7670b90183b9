//! Vectors from schedulers.md plus DST, month-end, first-run, cron and catch-up cases.

use super::*;
use chrono::{LocalResult, TimeZone};
use chrono_tz::{America, Europe};

const MADRID: Tz = Europe::Madrid;
const NEW_YORK: Tz = America::New_York;
const LONDON: Tz = Europe::London;

fn utc(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn every(unit: Unit, frequency: u32) -> Recurrence {
    Recurrence::every(unit, frequency).unwrap()
}

fn cron(expr: &str) -> Recurrence {
    Recurrence::Cron(parse_cron(expr).unwrap())
}

fn period(in_date: &str, out_date: &str) -> Period {
    Period {
        in_date: utc(in_date),
        out_date: utc(out_date),
    }
}

/// Asserts `next_execution` for (tz, recurrence, due, expected next) rows.
fn assert_next(rows: &[(Tz, &Recurrence, &str, &str)]) {
    for (tz, rec, due, expected) in rows {
        assert_eq!(
            next_execution(rec, *tz, utc(due)),
            Some(utc(expected)),
            "{tz} {rec:?} after {due}"
        );
    }
}

// ---------------------------------------------------------------- spec vectors

#[test]
fn spec_next_execution_vectors_madrid_one_day() {
    let daily = every(Unit::Day, 1);
    let vectors = [
        ("2019-10-25T00:00:00Z", "2019-10-26T00:00:00Z"),
        ("2019-10-26T00:00:00Z", "2019-10-27T00:00:00Z"),
        ("2019-10-27T00:00:00Z", "2019-10-28T01:00:00Z"),
        ("2019-10-27T01:00:00Z", "2019-10-28T01:00:00Z"),
        ("2020-03-27T01:00:00Z", "2020-03-28T01:00:00Z"),
        ("2020-03-28T01:00:00Z", "2020-03-29T01:00:00Z"),
        ("2020-03-28T02:00:00Z", "2020-03-29T01:00:00Z"),
        ("2020-03-29T01:00:00Z", "2020-03-30T01:00:00Z"),
    ];
    for (previous, next) in vectors {
        assert_eq!(
            next_execution(&daily, MADRID, utc(previous)),
            Some(utc(next)),
            "after {previous}"
        );
    }
}

#[test]
fn spec_period_example_madrid_one_day() {
    let daily = every(Unit::Day, 1);
    let due = utc("2018-12-10T08:00:00Z");
    let covered = period_for(&daily, MADRID, due).unwrap();
    assert_eq!(
        covered,
        period("2018-12-08T23:00:00Z", "2018-12-09T23:00:00Z")
    );
    assert_eq!(
        next_execution(&daily, MADRID, due),
        Some(utc("2018-12-11T08:00:00Z"))
    );
    assert_eq!(
        covered_days(&covered, MADRID),
        (day("2018-12-09"), day("2018-12-09"))
    );
}

#[test]
fn spec_file_name_example_is_a_yearly_run() {
    let yearly = every(Unit::Year, 1);
    let due = first_execution(&yearly, MADRID, utc("2018-06-15T10:00:00Z")).unwrap();
    assert_eq!(due, utc("2019-01-01T07:00:00Z"));
    let covered = period_for(&yearly, MADRID, due).unwrap();
    let (first, last) = covered_days(&covered, MADRID);
    assert_eq!(
        report_file_name("DemoCompany", first, last),
        "DemoCompany-20180101-20181231.csv"
    );
}

// ------------------------------------------------------------- unit and recurrence

#[test]
fn unit_text_round_trips() {
    for unit in [Unit::Day, Unit::Week, Unit::Month, Unit::Year] {
        assert_eq!(unit.to_string().parse::<Unit>(), Ok(unit));
    }
    assert_eq!("week".parse::<Unit>(), Ok(Unit::Week));
    let error = "fortnight".parse::<Unit>().unwrap_err();
    assert!(error.contains("'fortnight'"), "{error}");
    assert!(
        "Day".parse::<Unit>().is_err(),
        "the API spells units in lowercase"
    );
    assert_eq!(Unit::default(), Unit::Month);
}

#[test]
fn unit_deserialises_lowercase() {
    use serde::de::value::{Error, StrDeserializer};
    use serde::de::IntoDeserializer;
    let year: StrDeserializer<Error> = "year".into_deserializer();
    assert_eq!(Unit::deserialize(year), Ok(Unit::Year));
    let capital: StrDeserializer<Error> = "Year".into_deserializer();
    assert!(Unit::deserialize(capital).is_err());
}

#[test]
fn frequency_is_validated() {
    assert!(Recurrence::every(Unit::Day, 1).is_ok());
    assert!(Recurrence::every(Unit::Day, 366).is_ok());
    let zero = Recurrence::every(Unit::Day, 0).unwrap_err();
    assert!(zero.contains("between 1 and 366"), "{zero}");
    assert!(Recurrence::every(Unit::Month, 367).is_err());
}

#[test]
fn cron_field_wins_over_unit_and_frequency() {
    let rec = Recurrence::from_fields(Unit::Month, 0, Some(" 0 8 * * * ")).unwrap();
    assert!(matches!(&rec, Recurrence::Cron(spec) if spec.as_str() == "0 8 * * *"));
    assert_eq!(
        Recurrence::from_fields(Unit::Week, 2, Some("  ")),
        Ok(every(Unit::Week, 2))
    );
    assert_eq!(
        Recurrence::from_fields(Unit::Week, 2, None),
        Ok(every(Unit::Week, 2))
    );
    assert!(Recurrence::from_fields(Unit::Week, 2, Some("0 8 * *")).is_err());
    assert!(Recurrence::from_fields(Unit::Week, 0, None).is_err());
}

#[test]
fn a_zero_frequency_that_slipped_through_still_advances() {
    let broken = Recurrence::Every {
        unit: Unit::Day,
        frequency: 0,
    };
    assert_eq!(
        next_execution(&broken, MADRID, utc("2024-01-10T07:00:00Z")),
        Some(utc("2024-01-11T07:00:00Z"))
    );
}

// ----------------------------------------------------------------- first execution

#[test]
fn first_execution_day() {
    let daily = every(Unit::Day, 1);
    // "now" exactly at 08:00 local still means tomorrow.
    assert_eq!(
        first_execution(&daily, MADRID, utc("2024-01-15T07:00:00Z")),
        Some(utc("2024-01-16T07:00:00Z"))
    );
    // Tomorrow is the DST day in New York: 08:00 EDT.
    assert_eq!(
        first_execution(&daily, NEW_YORK, utc("2024-03-09T15:00:00Z")),
        Some(utc("2024-03-10T12:00:00Z"))
    );
}

#[test]
fn first_execution_week_is_the_next_monday() {
    let weekly = every(Unit::Week, 1);
    // Monday 08:00 local exactly → the following Monday.
    assert_eq!(
        first_execution(&weekly, MADRID, utc("2024-01-15T07:00:00Z")),
        Some(utc("2024-01-22T07:00:00Z"))
    );
    // Sunday 23:30 local → the next morning.
    assert_eq!(
        first_execution(&weekly, MADRID, utc("2024-01-21T22:30:00Z")),
        Some(utc("2024-01-22T07:00:00Z"))
    );
    // Already Monday in UTC but still Sunday evening in New York.
    assert_eq!(
        first_execution(&weekly, NEW_YORK, utc("2024-01-22T02:00:00Z")),
        Some(utc("2024-01-22T13:00:00Z"))
    );
}

#[test]
fn first_execution_month_is_the_first_of_next_month() {
    let monthly = every(Unit::Month, 1);
    // Last evening of January, local.
    assert_eq!(
        first_execution(&monthly, MADRID, utc("2024-01-31T22:30:00Z")),
        Some(utc("2024-02-01T07:00:00Z"))
    );
    // Same UTC day, but already 1 February 00:30 in Madrid.
    assert_eq!(
        first_execution(&monthly, MADRID, utc("2024-01-31T23:30:00Z")),
        Some(utc("2024-03-01T07:00:00Z"))
    );
    // Already February in UTC, still 31 January in New York.
    assert_eq!(
        first_execution(&monthly, NEW_YORK, utc("2024-02-01T03:00:00Z")),
        Some(utc("2024-02-01T13:00:00Z"))
    );
    // 29 February.
    assert_eq!(
        first_execution(&monthly, MADRID, utc("2024-02-29T12:00:00Z")),
        Some(utc("2024-03-01T07:00:00Z"))
    );
    // Into summer time: 08:00 CEST.
    assert_eq!(
        first_execution(&monthly, MADRID, utc("2024-03-15T12:00:00Z")),
        Some(utc("2024-04-01T06:00:00Z"))
    );
}

#[test]
fn first_execution_around_new_year() {
    let new_years_eve = utc("2024-12-31T22:30:00Z"); // 23:30 in Madrid
    let new_years_day = utc("2024-12-31T23:30:00Z"); // 00:30 on 1 January in Madrid
    let eight_am = Some(utc("2025-01-01T07:00:00Z"));
    assert_eq!(
        first_execution(&every(Unit::Day, 1), MADRID, new_years_eve),
        eight_am
    );
    assert_eq!(
        first_execution(&every(Unit::Month, 1), MADRID, new_years_eve),
        eight_am
    );
    assert_eq!(
        first_execution(&every(Unit::Year, 1), MADRID, new_years_eve),
        eight_am
    );
    assert_eq!(
        first_execution(&every(Unit::Year, 1), MADRID, new_years_day),
        Some(utc("2026-01-01T07:00:00Z"))
    );
    assert_eq!(
        first_execution(&every(Unit::Day, 1), MADRID, new_years_day),
        Some(utc("2025-01-02T07:00:00Z"))
    );
}

#[test]
fn first_execution_ignores_frequency() {
    let now = utc("2024-05-08T10:00:00Z");
    for unit in [Unit::Day, Unit::Week, Unit::Month, Unit::Year] {
        assert_eq!(
            first_execution(&every(unit, 5), LONDON, now),
            first_execution(&every(unit, 1), LONDON, now),
            "{unit}"
        );
    }
}

#[test]
fn first_execution_cron_is_strictly_after_now() {
    let at_eight = cron("0 8 * * *");
    assert_eq!(
        first_execution(&at_eight, MADRID, utc("2024-01-16T07:00:00Z")),
        Some(utc("2024-01-17T07:00:00Z"))
    );
    assert_eq!(
        first_execution(&at_eight, MADRID, utc("2024-01-16T06:59:59Z")),
        Some(utc("2024-01-16T07:00:00Z"))
    );
    assert_eq!(
        first_execution(
            &cron("0 0 8 1 1 * 2020"),
            MADRID,
            utc("2024-01-01T00:00:00Z")
        ),
        None
    );
}

// ------------------------------------------------------------------ next execution

#[test]
fn next_execution_across_new_york_dst() {
    let daily = &every(Unit::Day, 1);
    let weekly = &every(Unit::Week, 1);
    let monthly = &every(Unit::Month, 1);
    assert_next(&[
        // Spring forward 2024-03-10 02:00 EST → 03:00 EDT: 08:00 stays 08:00.
        (
            NEW_YORK,
            daily,
            "2024-03-09T13:00:00Z",
            "2024-03-10T12:00:00Z",
        ),
        (
            NEW_YORK,
            daily,
            "2024-03-10T12:00:00Z",
            "2024-03-11T12:00:00Z",
        ),
        // 02:30 does not exist on the 10th: first valid time after the gap is 03:00 EDT.
        (
            NEW_YORK,
            daily,
            "2024-03-09T07:30:00Z",
            "2024-03-10T07:00:00Z",
        ),
        (
            NEW_YORK,
            daily,
            "2024-03-10T07:00:00Z",
            "2024-03-11T07:00:00Z",
        ),
        // Fall back 2024-11-03 02:00 EDT → 01:00 EST.
        (
            NEW_YORK,
            daily,
            "2024-11-02T12:00:00Z",
            "2024-11-03T13:00:00Z",
        ),
        // 01:30 happens twice on the 3rd: the earlier (EDT) one.
        (
            NEW_YORK,
            daily,
            "2024-11-02T05:30:00Z",
            "2024-11-03T05:30:00Z",
        ),
        (
            NEW_YORK,
            daily,
            "2024-11-03T05:30:00Z",
            "2024-11-04T06:30:00Z",
        ),
        (
            NEW_YORK,
            daily,
            "2024-11-03T06:30:00Z",
            "2024-11-04T06:30:00Z",
        ),
        (
            NEW_YORK,
            weekly,
            "2024-03-04T13:00:00Z",
            "2024-03-11T12:00:00Z",
        ),
        (
            NEW_YORK,
            weekly,
            "2024-03-03T07:30:00Z",
            "2024-03-10T07:00:00Z",
        ),
        (
            NEW_YORK,
            weekly,
            "2024-10-28T12:00:00Z",
            "2024-11-04T13:00:00Z",
        ),
        (
            NEW_YORK,
            weekly,
            "2024-10-27T05:30:00Z",
            "2024-11-03T05:30:00Z",
        ),
        (
            NEW_YORK,
            monthly,
            "2024-03-01T13:00:00Z",
            "2024-04-01T12:00:00Z",
        ),
        (
            NEW_YORK,
            monthly,
            "2024-02-10T07:30:00Z",
            "2024-03-10T07:00:00Z",
        ),
        (
            NEW_YORK,
            monthly,
            "2024-11-01T12:00:00Z",
            "2024-12-01T13:00:00Z",
        ),
        (
            NEW_YORK,
            monthly,
            "2024-10-03T05:30:00Z",
            "2024-11-03T05:30:00Z",
        ),
    ]);
}

#[test]
fn next_execution_across_london_dst() {
    let daily = &every(Unit::Day, 1);
    let weekly = &every(Unit::Week, 1);
    let monthly = &every(Unit::Month, 1);
    assert_next(&[
        // Spring forward 2024-03-31 01:00 GMT → 02:00 BST.
        (
            LONDON,
            daily,
            "2024-03-30T08:00:00Z",
            "2024-03-31T07:00:00Z",
        ),
        (
            LONDON,
            daily,
            "2024-03-30T01:30:00Z",
            "2024-03-31T01:00:00Z",
        ),
        // Fall back 2024-10-27 02:00 BST → 01:00 GMT.
        (
            LONDON,
            daily,
            "2024-10-26T07:00:00Z",
            "2024-10-27T08:00:00Z",
        ),
        (
            LONDON,
            daily,
            "2024-10-26T00:30:00Z",
            "2024-10-27T00:30:00Z",
        ),
        (
            LONDON,
            weekly,
            "2024-03-24T01:30:00Z",
            "2024-03-31T01:00:00Z",
        ),
        (
            LONDON,
            weekly,
            "2024-10-20T07:00:00Z",
            "2024-10-27T08:00:00Z",
        ),
        // 29 Feb is a month end → 31 March, whose 01:30 is in the gap → 02:00 BST.
        (
            LONDON,
            monthly,
            "2024-02-29T01:30:00Z",
            "2024-03-31T01:00:00Z",
        ),
        (
            LONDON,
            monthly,
            "2024-09-27T00:30:00Z",
            "2024-10-27T00:30:00Z",
        ),
        (
            LONDON,
            monthly,
            "2024-03-01T08:00:00Z",
            "2024-04-01T07:00:00Z",
        ),
    ]);
}

#[test]
fn next_execution_month_ends_and_leap_day() {
    let monthly = &every(Unit::Month, 1);
    assert_next(&[
        (
            MADRID,
            monthly,
            "2024-01-31T07:00:00Z",
            "2024-02-29T07:00:00Z",
        ),
        // 31 March 2024 is also Madrid's spring-forward day: 08:00 CEST.
        (
            MADRID,
            monthly,
            "2024-02-29T07:00:00Z",
            "2024-03-31T06:00:00Z",
        ),
        (
            MADRID,
            monthly,
            "2024-02-01T07:00:00Z",
            "2024-03-01T07:00:00Z",
        ),
        (
            MADRID,
            monthly,
            "2024-02-15T07:00:00Z",
            "2024-03-15T07:00:00Z",
        ),
        (
            MADRID,
            monthly,
            "2019-01-31T07:00:00Z",
            "2019-02-28T07:00:00Z",
        ),
        (
            MADRID,
            monthly,
            "2019-02-28T07:00:00Z",
            "2019-03-31T06:00:00Z",
        ),
    ]);
}

#[test]
fn next_execution_years() {
    let yearly = &every(Unit::Year, 1);
    assert_next(&[
        (
            MADRID,
            yearly,
            "2025-01-01T07:00:00Z",
            "2026-01-01T07:00:00Z",
        ),
        (
            MADRID,
            yearly,
            "2024-07-01T06:00:00Z",
            "2025-07-01T06:00:00Z",
        ),
        // 29 Feb + 1 year → 28 Feb.
        (
            MADRID,
            yearly,
            "2024-02-29T07:00:00Z",
            "2025-02-28T07:00:00Z",
        ),
        // 28 Feb 2023 is the month end → 29 Feb 2024.
        (
            MADRID,
            yearly,
            "2023-02-28T07:00:00Z",
            "2024-02-29T07:00:00Z",
        ),
        (
            MADRID,
            &every(Unit::Year, 2),
            "2025-01-01T07:00:00Z",
            "2027-01-01T07:00:00Z",
        ),
        (
            MADRID,
            &every(Unit::Year, 4),
            "2024-02-29T07:00:00Z",
            "2028-02-29T07:00:00Z",
        ),
    ]);
}

#[test]
fn next_execution_week_frequency_two() {
    let fortnightly = &every(Unit::Week, 2);
    assert_next(&[
        (
            MADRID,
            fortnightly,
            "2024-01-01T07:00:00Z",
            "2024-01-15T07:00:00Z",
        ),
        (
            MADRID,
            fortnightly,
            "2024-03-25T07:00:00Z",
            "2024-04-08T06:00:00Z",
        ),
        (
            MADRID,
            fortnightly,
            "2024-12-23T07:00:00Z",
            "2025-01-06T07:00:00Z",
        ),
    ]);
}

#[test]
fn next_execution_month_frequency_three_from_the_31st() {
    let quarterly = every(Unit::Month, 3);
    let chain = [
        "2019-01-31T07:00:00Z",
        "2019-04-30T06:00:00Z",
        "2019-07-31T06:00:00Z",
        "2019-10-31T07:00:00Z",
        "2020-01-31T07:00:00Z",
        "2020-04-30T06:00:00Z",
    ];
    for pair in chain.windows(2) {
        assert_eq!(
            next_execution(&quarterly, MADRID, utc(pair[0])),
            Some(utc(pair[1])),
            "after {}",
            pair[0]
        );
    }
}

#[test]
fn next_execution_day_frequency_keeps_the_wall_clock() {
    assert_next(&[
        (
            MADRID,
            &every(Unit::Day, 7),
            "2024-03-28T07:00:00Z",
            "2024-04-04T06:00:00Z",
        ),
        (
            MADRID,
            &every(Unit::Day, 366),
            "2024-01-01T07:00:00Z",
            "2025-01-01T07:00:00Z",
        ),
    ]);
}

#[test]
fn next_execution_cron() {
    let at_eight = cron("0 8 * * *");
    assert_next(&[
        (
            MADRID,
            &at_eight,
            "2024-01-15T07:00:00Z",
            "2024-01-16T07:00:00Z",
        ),
        // Across the spring-forward night: 08:00 CET then 08:00 CEST.
        (
            MADRID,
            &at_eight,
            "2024-03-30T07:00:00Z",
            "2024-03-31T06:00:00Z",
        ),
        // An edited, arbitrary due time: next fire after it.
        (
            MADRID,
            &at_eight,
            "2024-01-15T12:34:56Z",
            "2024-01-16T07:00:00Z",
        ),
        (
            MADRID,
            &cron("0 30 8 * * *"),
            "2024-07-15T10:00:00Z",
            "2024-07-16T06:30:00Z",
        ),
    ]);
}

#[test]
fn next_execution_is_always_later() {
    let recurrences = [
        every(Unit::Day, 1),
        every(Unit::Week, 1),
        every(Unit::Month, 1),
        every(Unit::Year, 1),
        cron("*/20 1-3 * * *"),
    ];
    for tz in [MADRID, NEW_YORK, LONDON] {
        for rec in &recurrences {
            // Start at 01:30 local on a DST-change-prone time of day.
            let mut due = utc("2023-12-31T01:30:00Z");
            for _ in 0..400 {
                let next = next_execution(rec, tz, due).unwrap();
                assert!(next > due, "{tz} {rec:?}: {next} after {due}");
                due = next;
            }
        }
    }
}

// ---------------------------------------------------------------------- periods

#[test]
fn period_month_across_dst_end() {
    let monthly = every(Unit::Month, 1);
    let covered = period_for(&monthly, MADRID, utc("2019-11-01T07:00:00Z")).unwrap();
    assert_eq!(
        covered,
        period("2019-09-30T22:00:00Z", "2019-10-31T23:00:00Z")
    );
    assert_eq!(
        covered_days(&covered, MADRID),
        (day("2019-10-01"), day("2019-10-31"))
    );
}

#[test]
fn period_month_february() {
    let monthly = every(Unit::Month, 1);
    let covered = period_for(&monthly, MADRID, utc("2019-03-01T07:00:00Z")).unwrap();
    assert_eq!(
        covered,
        period("2019-01-31T23:00:00Z", "2019-02-28T23:00:00Z")
    );
    let leap = period_for(&monthly, MADRID, utc("2024-03-01T07:00:00Z")).unwrap();
    assert_eq!(
        covered_days(&leap, MADRID),
        (day("2024-02-01"), day("2024-02-29"))
    );
}

#[test]
fn period_month_end_due_uses_anchored_subtraction() {
    // An operator moved nextExecution to 31 March: the period starts on the month end before.
    let monthly = every(Unit::Month, 1);
    let covered = period_for(&monthly, MADRID, utc("2019-03-31T06:00:00Z")).unwrap();
    assert_eq!(
        covered_days(&covered, MADRID),
        (day("2019-02-28"), day("2019-03-30"))
    );
}

#[test]
fn period_week_across_new_york_dst() {
    let weekly = every(Unit::Week, 1);
    let covered = period_for(&weekly, NEW_YORK, utc("2024-03-11T12:00:00Z")).unwrap();
    assert_eq!(
        covered,
        period("2024-03-04T05:00:00Z", "2024-03-11T04:00:00Z")
    );
    assert_eq!(
        covered.out_date - covered.in_date,
        TimeDelta::hours(7 * 24 - 1)
    );
    assert_eq!(
        covered_days(&covered, NEW_YORK),
        (day("2024-03-04"), day("2024-03-10"))
    );
}

#[test]
fn period_week_across_london_dst() {
    let weekly = every(Unit::Week, 1);
    let covered = period_for(&weekly, LONDON, utc("2024-10-28T08:00:00Z")).unwrap();
    assert_eq!(
        covered,
        period("2024-10-20T23:00:00Z", "2024-10-28T00:00:00Z")
    );
    assert_eq!(
        covered.out_date - covered.in_date,
        TimeDelta::hours(7 * 24 + 1)
    );
}

#[test]
fn period_year() {
    let yearly = every(Unit::Year, 1);
    let covered = period_for(&yearly, NEW_YORK, utc("2025-01-01T13:00:00Z")).unwrap();
    assert_eq!(
        covered,
        period("2024-01-01T05:00:00Z", "2025-01-01T05:00:00Z")
    );
    assert_eq!(
        covered_days(&covered, NEW_YORK),
        (day("2024-01-01"), day("2024-12-31"))
    );
    // A summer due date: both ends are EDT midnights.
    let summer = period_for(&yearly, NEW_YORK, utc("2024-07-01T12:00:00Z")).unwrap();
    assert_eq!(
        summer,
        period("2023-07-01T04:00:00Z", "2024-07-01T04:00:00Z")
    );
}

#[test]
fn period_day_on_dst_days_is_23_or_25_hours() {
    let daily = every(Unit::Day, 1);
    let short = period_for(&daily, LONDON, utc("2024-04-01T07:00:00Z")).unwrap();
    assert_eq!(
        short,
        period("2024-03-31T00:00:00Z", "2024-03-31T23:00:00Z")
    );
    let long = period_for(&daily, LONDON, utc("2024-10-28T08:00:00Z")).unwrap();
    assert_eq!(long, period("2024-10-26T23:00:00Z", "2024-10-28T00:00:00Z"));
    assert_eq!(
        covered_days(&long, LONDON),
        (day("2024-10-27"), day("2024-10-27"))
    );
}

#[test]
fn period_is_half_open() {
    let covered = period_for(&every(Unit::Day, 1), MADRID, utc("2018-12-10T08:00:00Z")).unwrap();
    let one_ns = TimeDelta::nanoseconds(1);
    assert!(covered.contains(covered.in_date));
    assert!(covered.contains(covered.out_date - one_ns));
    assert!(!covered.contains(covered.out_date));
    assert!(!covered.contains(covered.in_date - one_ns));
}

#[test]
fn consecutive_periods_touch_without_gap_or_overlap() {
    for tz in [MADRID, NEW_YORK, LONDON] {
        for rec in [
            every(Unit::Day, 1),
            every(Unit::Week, 1),
            every(Unit::Month, 1),
            every(Unit::Month, 3),
            every(Unit::Year, 1),
            cron("0 8 * * 1-5"),
        ] {
            let mut due = first_execution(&rec, tz, utc("2023-12-20T12:00:00Z")).unwrap();
            for _ in 0..60 {
                let next = next_execution(&rec, tz, due).unwrap();
                let this_period = period_for(&rec, tz, due).unwrap();
                let next_period = period_for(&rec, tz, next).unwrap();
                assert_eq!(
                    this_period.out_date, next_period.in_date,
                    "{tz} {rec:?} {due}"
                );
                assert!(this_period.in_date < this_period.out_date);
                due = next;
            }
        }
    }
}

#[test]
fn period_starting_at_a_midnight_lost_to_dst() {
    // Chile moved clocks from 00:00 to 01:00 on 2024-09-08: that midnight never happened.
    let santiago = America::Santiago;
    let midnight = day("2024-09-08").and_time(NaiveTime::MIN);
    assert_eq!(santiago.from_local_datetime(&midnight), LocalResult::None);

    let daily = every(Unit::Day, 1);
    let covered = period_for(&daily, santiago, utc("2024-09-09T12:00:00Z")).unwrap();
    assert_eq!(
        covered,
        period("2024-09-08T04:00:00Z", "2024-09-09T03:00:00Z")
    );
    assert_eq!(
        covered_days(&covered, santiago),
        (day("2024-09-08"), day("2024-09-08"))
    );
    let before = period_for(&daily, santiago, utc("2024-09-08T12:00:00Z")).unwrap();
    assert_eq!(
        before,
        period("2024-09-07T04:00:00Z", "2024-09-08T04:00:00Z")
    );
    assert_eq!(
        covered_days(&before, santiago),
        (day("2024-09-07"), day("2024-09-07"))
    );
}

#[test]
fn period_cron() {
    let at_eight = cron("0 8 * * *");
    let expected = period("2024-01-15T07:00:00Z", "2024-01-16T07:00:00Z");
    assert_eq!(
        period_for(&at_eight, MADRID, utc("2024-01-16T07:00:00Z")),
        Some(expected)
    );
    // nextExecution edited to an arbitrary instant: the latest fire at or before it.
    assert_eq!(
        period_for(&at_eight, MADRID, utc("2024-01-16T12:34:56.5Z")),
        Some(expected)
    );
    assert_eq!(
        covered_days(&expected, MADRID),
        (day("2024-01-15"), day("2024-01-16"))
    );
    // The spring-forward night makes this period 23 hours long.
    assert_eq!(
        period_for(&at_eight, MADRID, utc("2024-03-31T06:00:00Z")),
        Some(period("2024-03-30T07:00:00Z", "2024-03-31T06:00:00Z"))
    );
}

#[test]
fn period_cron_monthly_at_midnight_matches_calendar_months() {
    let monthly = cron("0 0 1 * *");
    let due = first_execution(&monthly, MADRID, utc("2024-02-10T12:00:00Z")).unwrap();
    assert_eq!(due, utc("2024-02-29T23:00:00Z"));
    let covered = period_for(&monthly, MADRID, due).unwrap();
    assert_eq!(
        covered,
        period("2024-01-31T23:00:00Z", "2024-02-29T23:00:00Z")
    );
    assert_eq!(
        covered_days(&covered, MADRID),
        (day("2024-02-01"), day("2024-02-29"))
    );
}

#[test]
fn period_cron_without_an_earlier_fire_is_none() {
    let once = cron("0 0 8 1 1 * 2020");
    assert_eq!(period_for(&once, MADRID, utc("2020-01-01T07:00:00Z")), None);
    assert_eq!(period_for(&once, MADRID, utc("2019-06-01T00:00:00Z")), None);
}

#[test]
fn covered_days_of_a_period_not_ending_at_midnight() {
    let covered = period("2024-01-15T07:00:00Z", "2024-01-15T07:00:01Z");
    assert_eq!(
        covered_days(&covered, MADRID),
        (day("2024-01-15"), day("2024-01-15"))
    );
    let evening = period("2024-01-15T20:00:00Z", "2024-01-16T02:00:00Z");
    // 21:00 to 03:00 in Madrid; 15:00 to 21:00 in New York.
    assert_eq!(
        covered_days(&evening, MADRID),
        (day("2024-01-15"), day("2024-01-16"))
    );
    assert_eq!(
        covered_days(&evening, NEW_YORK),
        (day("2024-01-15"), day("2024-01-15"))
    );
}

// ---------------------------------------------------------------------- catch-up

#[test]
fn due_occurrences_catch_up_three_missed_days_oldest_first() {
    let daily = every(Unit::Day, 1);
    let missed = due_occurrences(
        &daily,
        MADRID,
        utc("2024-01-10T07:00:00Z"),
        utc("2024-01-12T09:00:00Z"),
        100,
    );
    assert_eq!(
        missed,
        [
            utc("2024-01-10T07:00:00Z"),
            utc("2024-01-11T07:00:00Z"),
            utc("2024-01-12T07:00:00Z"),
        ]
    );
}

#[test]
fn due_occurrences_respects_the_limit() {
    let daily = every(Unit::Day, 1);
    let next = utc("2024-01-10T07:00:00Z");
    let now = utc("2024-01-12T09:00:00Z");
    assert_eq!(
        due_occurrences(&daily, MADRID, next, now, 2),
        [utc("2024-01-10T07:00:00Z"), utc("2024-01-11T07:00:00Z")]
    );
    assert!(due_occurrences(&daily, MADRID, next, now, 0).is_empty());

    let every_minute = cron("* * * * *");
    let burst = due_occurrences(
        &every_minute,
        MADRID,
        utc("2024-01-01T00:00:00Z"),
        utc("2024-01-10T00:00:00Z"),
        100,
    );
    assert_eq!(burst.len(), 100);
    assert_eq!(burst[99], utc("2024-01-01T01:39:00Z"));
}

#[test]
fn due_occurrences_boundaries() {
    let daily = every(Unit::Day, 1);
    let next = utc("2024-01-10T07:00:00Z");
    assert!(due_occurrences(&daily, MADRID, next, utc("2024-01-10T06:59:59Z"), 10).is_empty());
    assert_eq!(due_occurrences(&daily, MADRID, next, next, 10), [next]);
}

#[test]
fn due_occurrences_start_from_an_edited_next_execution() {
    // Manual edit wins: the edited instant is itself due, then the schedule continues.
    let at_eight = cron("0 8 * * *");
    assert_eq!(
        due_occurrences(
            &at_eight,
            MADRID,
            utc("2024-01-16T12:00:00Z"),
            utc("2024-01-17T08:00:00Z"),
            10,
        ),
        [utc("2024-01-16T12:00:00Z"), utc("2024-01-17T07:00:00Z")]
    );
}

#[test]
fn due_occurrences_stop_when_a_cron_schedule_ends() {
    let twice = cron("0 0 8 1 1 * 2020-2021");
    assert_eq!(
        due_occurrences(
            &twice,
            MADRID,
            utc("2020-01-01T07:00:00Z"),
            utc("2030-01-01T00:00:00Z"),
            10,
        ),
        [utc("2020-01-01T07:00:00Z"), utc("2021-01-01T07:00:00Z")]
    );
}
