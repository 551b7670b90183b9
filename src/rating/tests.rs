//! Charging tests: every vector of shared/spec/rating.md, then the edges around them
//! (increments, time of day, weekdays, DST, prefixes, rounding, plan errors), then a
//! comparison against a slow second-by-second reference on pseudo-random plans.

use chrono::{DateTime, Datelike, NaiveTime, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;

use crate::rating::{
    format_amount, Charge, Plan, PlanError, PlanSettings, RateRow, RatingError, RawRateRow,
    RoundingMethod, WeekdaySet, MAX_BILLED_SECONDS,
};

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

/// A row with the spec's defaults: connect fee 0, per 60 s, increment 1, slot 0, all days, 00:00.
fn row(prefix: &str, rate: &str) -> RateRow {
    RateRow {
        prefix: prefix.into(),
        destination_name: format!("Dest {prefix}"),
        connect_fee: Decimal::ZERO,
        rate: dec(rate),
        rate_unit: 60,
        rate_increment: 1,
        group_interval_start: 0,
        weekdays: WeekdaySet::ALL,
        time_in: NaiveTime::MIN,
    }
}

/// Builder-style tweaks so each test states only what differs from the defaults.
trait Tweak: Sized {
    fn fee(self, fee: &str) -> Self;
    fn per(self, unit: u32) -> Self;
    fn step(self, increment: u32) -> Self;
    fn slot_from(self, group_interval_start: u32) -> Self;
    fn days(self, weekdays: &str) -> Self;
    fn time_in(self, hh_mm_ss: &str) -> Self;
    fn named(self, name: &str) -> Self;
}

impl Tweak for RateRow {
    fn fee(mut self, fee: &str) -> Self {
        self.connect_fee = dec(fee);
        self
    }
    fn per(mut self, unit: u32) -> Self {
        self.rate_unit = unit;
        self
    }
    fn step(mut self, increment: u32) -> Self {
        self.rate_increment = increment;
        self
    }
    fn slot_from(mut self, group_interval_start: u32) -> Self {
        self.group_interval_start = group_interval_start;
        self
    }
    fn days(mut self, weekdays: &str) -> Self {
        self.weekdays = WeekdaySet::parse(weekdays).unwrap();
        self
    }
    fn time_in(mut self, hh_mm_ss: &str) -> Self {
        self.time_in = NaiveTime::parse_from_str(hh_mm_ss, "%H:%M:%S").unwrap();
        self
    }
    fn named(mut self, name: &str) -> Self {
        self.destination_name = name.into();
        self
    }
}

fn settings(method: RoundingMethod, decimals: u32, timezone: Tz) -> PlanSettings {
    PlanSettings {
        rounding_method: method,
        rounding_decimals: decimals,
        timezone,
    }
}

fn plan_with(rows: Vec<RateRow>, method: RoundingMethod, decimals: u32, timezone: Tz) -> Plan {
    Plan::new(settings(method, decimals, timezone), rows).unwrap()
}

/// The spec's default settings: middle, 4 decimals; UTC.
fn plan(rows: Vec<RateRow>) -> Plan {
    plan_with(rows, RoundingMethod::Middle, 4, Tz::UTC)
}

fn charge<'p>(plan: &'p Plan, callee: &str, start: &str, seconds: u64) -> Charge<'p> {
    plan.charge(callee, at(start), seconds)
        .unwrap_or_else(|e| panic!("{callee} at {start} for {seconds} s: {e}"))
}

fn amount(plan: &Plan, callee: &str, start: &str, seconds: u64) -> Decimal {
    charge(plan, callee, start, seconds).amount
}

fn error(plan: &Plan, callee: &str, start: &str, seconds: u64) -> RatingError {
    plan.charge(callee, at(start), seconds).unwrap_err()
}

fn plan_error(rows: Vec<RateRow>) -> PlanError {
    Plan::new(settings(RoundingMethod::Middle, 4, Tz::UTC), rows).unwrap_err()
}

// ---------------------------------------------------------------------------------------
// Vectors of rating.md
// ---------------------------------------------------------------------------------------

/// Plan EVENING: row A weekdays 1-5 from 00:00 (fee 1, 1 per second), row B weekdays 1-5
/// from 18:00 (0.5 per second), for three prefixes.
fn evening() -> Plan {
    let rows = ["0256", "0257", "0723"]
        .into_iter()
        .flat_map(|prefix| {
            [
                row(prefix, "1").fee("1").per(1).days("1-5"),
                row(prefix, "0.5").per(1).days("1-5").time_in("18:00:00"),
            ]
        })
        .collect();
    plan(rows)
}

#[test]
fn vector_evening_call_across_18_00_is_split_between_rows() {
    let plan = evening();
    let charge = charge(&plan, "0256", "2012-02-02T17:30:00Z", 3600);
    assert_eq!(charge.amount, dec("2701")); // 1 + 1800×1 + 1800×0.5
    assert_eq!(format_amount(charge.amount), "2701.0000");
    assert_eq!(charge.prefix, "0256");
}

#[test]
fn vector_evening_longest_matching_prefix() {
    let plan = evening();
    let charge = charge(&plan, "0256308200", "2012-02-02T17:30:00Z", 3600);
    assert_eq!(charge.amount, dec("2701"));
    assert_eq!(charge.prefix, "0256");
}

#[test]
fn vector_evening_late_wednesday_uses_evening_row_without_fee() {
    assert_eq!(
        amount(&evening(), "0256", "2012-02-08T23:50:00Z", 30),
        dec("15")
    );
}

#[test]
fn vector_evening_0723_at_22_00() {
    assert_eq!(
        amount(&evening(), "0723", "2012-02-08T22:00:00Z", 110),
        dec("55")
    );
}

/// Plan LANDLINE: the first minute billed as a whole, then per second.
fn landline() -> Plan {
    plan(vec![
        row("0256", "1").per(1).step(60),
        row("0256", "1").per(1).slot_from(60),
    ])
}

#[test]
fn vector_landline_85_seconds() {
    assert_eq!(
        amount(&landline(), "0256", "2012-02-02T17:30:00Z", 85),
        dec("85")
    );
}

#[test]
fn vector_landline_132_seconds() {
    assert_eq!(
        amount(&landline(), "0256", "2012-02-02T17:30:00Z", 132),
        dec("132")
    );
}

#[test]
fn vector_exact_decimal_stays_exact() {
    // CGRateS gives 0.3001 through float drift.
    let plan = plan(vec![row("49", "0.1")]);
    let charge = charge(&plan, "49", "2012-02-02T17:30:00Z", 180);
    assert_eq!(charge.amount, dec("0.3"));
    assert_eq!(format_amount(charge.amount), "0.3000");
}

#[test]
fn vector_connect_fee_rounded_up_to_cents() {
    let plan = plan_with(
        vec![row("0723", "0.05").fee("0.15")],
        RoundingMethod::Up,
        2,
        Tz::UTC,
    );
    assert_eq!(
        amount(&plan, "0723", "2012-02-02T17:30:00Z", 24),
        dec("0.17")
    );
}

#[test]
fn vector_two_slots_with_fee_rounded_up() {
    // CGRateS gives 0.7169 through increment drift.
    let plan = plan_with(
        vec![
            row("0256", "0.2").fee("0.4").step(60),
            row("0256", "0.1").slot_from(60),
        ],
        RoundingMethod::Up,
        4,
        Tz::UTC,
    );
    assert_eq!(
        amount(&plan, "0256", "2012-02-02T17:30:00Z", 130),
        dec("0.7167")
    );
}

#[test]
fn vector_second_slot_stretched_to_its_increment() {
    let plan = plan(vec![
        row("0256", "2").per(1),
        row("0256", "1").per(1).step(60).slot_from(30),
    ]);
    assert_eq!(
        amount(&plan, "0256", "2012-02-02T17:30:00Z", 60),
        dec("120")
    );
}

// ---------------------------------------------------------------------------------------
// Durations and increments
// ---------------------------------------------------------------------------------------

#[test]
fn zero_seconds_is_the_connect_fee_of_the_row_at_the_start() {
    let evening = evening();
    assert_eq!(
        amount(&evening, "0256", "2012-02-02T17:30:00Z", 0),
        dec("1")
    );
    assert_eq!(
        amount(&evening, "0256", "2012-02-02T18:30:00Z", 0),
        dec("0")
    );
    let slots = plan(vec![
        row("1", "0.2").fee("0.4").step(60),
        row("1", "0.1").fee("9").slot_from(60),
    ]);
    assert_eq!(amount(&slots, "1", "2012-02-02T17:30:00Z", 0), dec("0.4"));
}

#[test]
fn connect_fee_of_a_later_slot_is_never_charged() {
    let plan = plan(vec![
        row("1", "0").fee("0.4").per(1),
        row("1", "0").fee("9").per(1).slot_from(60),
    ]);
    assert_eq!(amount(&plan, "1", "2012-02-02T17:30:00Z", 600), dec("0.4"));
}

#[test]
fn one_second() {
    let per_minute = plan(vec![row("49", "0.1")]);
    assert_eq!(
        amount(&per_minute, "49", "2012-02-02T17:30:00Z", 1),
        dec("0.0017")
    );
    assert_eq!(
        amount(&landline(), "0256", "2012-02-02T17:30:00Z", 1),
        dec("60")
    );
}

#[test]
fn whole_minute_increments_at_their_boundaries() {
    let plan = plan(vec![row("1", "1").step(60)]);
    for (seconds, expected) in [
        (1, "1"),
        (59, "1"),
        (60, "1"),
        (61, "2"),
        (120, "2"),
        (121, "3"),
    ] {
        assert_eq!(
            amount(&plan, "1", "2012-02-02T17:30:00Z", seconds),
            dec(expected),
            "{seconds} s"
        );
    }
}

#[test]
fn landline_first_minute_edges() {
    let plan = landline();
    for (seconds, expected) in [
        (30, "60"),
        (59, "60"),
        (60, "60"),
        (61, "61"),
        (3600, "3600"),
    ] {
        assert_eq!(
            amount(&plan, "0256", "2012-02-02T17:30:00Z", seconds),
            dec(expected),
            "{seconds} s"
        );
    }
}

#[test]
fn increment_overlap_can_drop_a_whole_slot() {
    // Slot 0 bills 120 s at once, covering all of slot 1 (30..90): slot 1 is never billed.
    let plan = plan(vec![
        row("1", "1").step(120),
        row("1", "5").slot_from(30),
        row("1", "0.5").slot_from(90),
    ]);
    // 120 s at 1/min + 30 s at 0.5/min
    assert_eq!(amount(&plan, "1", "2012-02-02T17:30:00Z", 150), dec("2.25"));
}

#[test]
fn slots_with_different_units_in_one_call() {
    let plan = plan_with(
        vec![
            row("1", "0.2").step(60),
            row("1", "0.01").per(7).slot_from(60),
            row("1", "1").per(3).slot_from(67),
        ],
        RoundingMethod::Down,
        6,
        Tz::UTC,
    );
    // 0.2 + 7 × 0.01/7 + 2 × 1/3 = 0.21 + 0.666666…
    assert_eq!(
        amount(&plan, "1", "2012-02-02T17:30:00Z", 69),
        dec("0.876666")
    );
}

#[test]
fn per_second_amounts_stay_exact_for_every_duration_up_to_an_hour() {
    let plan = plan_with(vec![row("1", "0.06")], RoundingMethod::Down, 6, Tz::UTC);
    for seconds in 0..=3600u64 {
        let expected = Decimal::new(seconds as i64, 3); // 0.001 per second
        assert_eq!(
            amount(&plan, "1", "2012-02-02T17:30:00Z", seconds),
            expected,
            "{seconds} s"
        );
    }
}

#[test]
fn ten_decimal_places_in_rates_stay_exact() {
    let plan = plan_with(
        vec![
            row("1", "0.1234567891").per(1),
            row("2", "0.0000000001").per(1),
        ],
        RoundingMethod::Down,
        6,
        Tz::UTC,
    );
    assert_eq!(
        amount(&plan, "1", "2012-02-02T17:30:00Z", 1000),
        dec("123.456789")
    );
    assert_eq!(
        amount(&plan, "2", "2012-02-02T17:30:00Z", 9999),
        dec("0.000000")
    );
    assert_eq!(
        amount(&plan, "2", "2012-02-02T17:30:00Z", 10_000),
        dec("0.000001")
    );
}

#[test]
fn durations_beyond_a_year_are_refused() {
    let plan = plan(vec![row("1", "1").per(1)]);
    let start = "2012-02-02T17:30:00Z";
    assert_eq!(
        amount(&plan, "1", start, MAX_BILLED_SECONDS),
        Decimal::from(MAX_BILLED_SECONDS)
    );
    assert_eq!(
        error(&plan, "1", start, MAX_BILLED_SECONDS + 1),
        RatingError::DurationOutOfRange
    );
    assert_eq!(
        error(&plan, "1", start, u64::MAX),
        RatingError::DurationOutOfRange
    );
}

#[test]
fn the_largest_rate_over_the_longest_call_is_still_exact() {
    let plan = plan_with(
        vec![row("1", "999999999999999.9999999999").per(1)],
        RoundingMethod::Middle,
        6,
        Tz::UTC,
    );
    assert_eq!(
        amount(&plan, "1", "2012-02-02T17:30:00Z", MAX_BILLED_SECONDS),
        dec("31622399999999999999999.996838")
    );
}

#[test]
fn pathological_units_report_overflow_instead_of_panicking() {
    // Three large coprime units make the common denominator ~6e14.
    let plan = plan(vec![
        row("1", "999999999999999.9999999999").per(86_400),
        row("1", "999999999999999.9999999999")
            .per(86_399)
            .slot_from(1),
        row("1", "999999999999999.9999999999")
            .per(86_397)
            .slot_from(2),
    ]);
    let result = plan.charge("1", at("2012-02-02T17:30:00Z"), MAX_BILLED_SECONDS);
    assert_eq!(result.unwrap_err(), RatingError::AmountOutOfRange);
    assert_eq!(
        RatingError::AmountOutOfRange.to_string(),
        "amount out of range"
    );
}

// ---------------------------------------------------------------------------------------
// Time of day and weekdays
// ---------------------------------------------------------------------------------------

#[test]
fn call_across_timein_boundaries_and_midnight() {
    let plan = plan(vec![
        row("1", "1").per(1),
        row("1", "2").per(1).time_in("08:00:00"),
        row("1", "3").per(1).time_in("20:00:00"),
    ]);
    // 19:50 → 08:10 next day: 600×2 + 4h×3 + 8h×1 + 600×2
    assert_eq!(
        amount(&plan, "1", "2012-02-02T19:50:00Z", 44_400),
        dec("74400")
    );
}

#[test]
fn rate_changing_inside_an_increment_bills_the_overlap_at_the_earlier_rate() {
    let plan = plan(vec![
        row("1", "1").per(1).step(60).days("1-5"),
        row("1", "0.5")
            .per(1)
            .step(60)
            .days("1-5")
            .time_in("18:00:00"),
    ]);
    // 17:59:30 + 90 s: first step (30 s) billed 60 s at 1, reaching 18:00:30; then 30 s
    // billed 60 s at 0.5.
    assert_eq!(amount(&plan, "1", "2012-02-02T17:59:30Z", 90), dec("90"));
}

#[test]
fn friday_night_call_into_saturday_uses_the_weekend_row() {
    let rows = vec![
        row("34", "1").per(1).days("1-5").named("Spain weekday"),
        row("34", "2").per(1).days("6,7").named("Spain weekend"),
    ];
    let utc = plan(rows.clone());
    // Friday 2012-02-03 23:50 UTC, 20 minutes.
    let charge = charge(&utc, "34", "2012-02-03T23:50:00Z", 1200);
    assert_eq!(charge.amount, dec("1800"));
    assert_eq!(
        charge.destination_name, "Spain weekday",
        "name of the row at the start"
    );
    // Same local time in Madrid (CEST, UTC+2).
    let madrid = plan_with(rows, RoundingMethod::Middle, 4, Tz::Europe__Madrid);
    assert_eq!(
        amount(&madrid, "34", "2024-06-07T21:50:00Z", 1200),
        dec("1800")
    );
}

#[test]
fn weekday_is_taken_in_the_plan_timezone() {
    let rows = vec![
        row("34", "1").per(1).days("1-5"),
        row("34", "2").per(1).days("6,7"),
    ];
    let madrid = plan_with(rows.clone(), RoundingMethod::Middle, 4, Tz::Europe__Madrid);
    let utc = plan(rows);
    // Sunday 22:30 UTC is Monday 00:30 in Madrid.
    assert_eq!(amount(&madrid, "34", "2024-06-09T22:30:00Z", 60), dec("60"));
    assert_eq!(amount(&utc, "34", "2024-06-09T22:30:00Z", 60), dec("120"));
}

#[test]
fn timein_is_local_time_in_the_plan_timezone() {
    let rows = vec![
        row("1", "1").per(1),
        row("1", "2").per(1).time_in("18:00:00"),
    ];
    let new_york = plan_with(rows, RoundingMethod::Middle, 4, Tz::America__New_York);
    // 22:30 UTC in February is 17:30 EST: 30 min at 1, 30 min at 2.
    assert_eq!(
        amount(&new_york, "1", "2012-02-02T22:30:00Z", 3600),
        dec("5400")
    );
}

#[test]
fn three_day_call_crosses_weekday_rows() {
    let plan = plan(vec![
        row("1", "1").per(1).days("1-5"),
        row("1", "2").per(1).days("6,7"),
    ]);
    // Friday 00:00 for 72 h: Friday at 1, Saturday and Sunday at 2.
    assert_eq!(
        amount(&plan, "1", "2012-02-03T00:00:00Z", 3 * 86_400),
        dec("432000")
    );
}

#[test]
fn no_row_for_the_weekday_is_no_rate_for_time() {
    let plan = plan(vec![row("1", "1").per(1).days("1-5")]);
    assert_eq!(
        error(&plan, "1", "2012-02-04T10:00:00Z", 60),
        RatingError::NoRateForTime
    );
    assert_eq!(
        error(&plan, "1", "2012-02-04T10:00:00Z", 0),
        RatingError::NoRateForTime
    );
    // Starts Friday, runs into Saturday.
    assert_eq!(
        error(&plan, "1", "2012-02-03T23:50:00Z", 1200),
        RatingError::NoRateForTime
    );
    assert_eq!(RatingError::NoRateForTime.to_string(), "no rate for time");
}

#[test]
fn an_increment_reaching_into_uncovered_time_is_billed_at_its_own_rate() {
    let plan = plan(vec![row("1", "1").step(60).days("1-5")]);
    // Friday 23:59:30 for 60 s: the first step (30 s) is billed 60 s and covers the call.
    assert_eq!(amount(&plan, "1", "2012-02-03T23:59:30Z", 60), dec("1"));
    assert_eq!(
        error(&plan, "1", "2012-02-03T23:59:30Z", 61),
        RatingError::NoRateForTime
    );
}

#[test]
fn before_the_first_timein_of_a_day_no_row_applies() {
    let plan = plan(vec![row("1", "1").per(1).time_in("08:00:00")]);
    assert_eq!(
        error(&plan, "1", "2012-02-02T07:59:59Z", 1),
        RatingError::NoRateForTime
    );
    assert_eq!(amount(&plan, "1", "2012-02-02T08:00:00Z", 1), dec("1"));
    // The row of 08:00 runs until midnight, not into the next morning.
    assert_eq!(
        error(&plan, "1", "2012-02-02T23:59:00Z", 120),
        RatingError::NoRateForTime
    );
}

#[test]
fn a_row_set_contained_in_another_wins_on_its_days() {
    let plan = plan(vec![
        row("1", "1").per(1),
        row("1", "2").per(1).days("6,7"),
        row("1", "3").per(1).time_in("18:00:00"),
    ]);
    assert_eq!(
        amount(&plan, "1", "2012-02-06T10:00:00Z", 1),
        dec("1"),
        "Monday"
    );
    assert_eq!(
        amount(&plan, "1", "2012-02-04T10:00:00Z", 1),
        dec("2"),
        "Saturday"
    );
    // On Saturday evening the later timeIn of the "all" rows is the latest one.
    assert_eq!(
        amount(&plan, "1", "2012-02-04T19:00:00Z", 1),
        dec("3"),
        "Saturday evening"
    );
}

// ---------------------------------------------------------------------------------------
// Daylight saving time in the plan's timezone (Europe/Madrid)
// ---------------------------------------------------------------------------------------

fn madrid(rows: Vec<RateRow>) -> Plan {
    plan_with(rows, RoundingMethod::Middle, 4, Tz::Europe__Madrid)
}

#[test]
fn spring_forward_reaches_a_0300_row_after_real_seconds() {
    // 2024-03-31 01:00 UTC: 02:00 CET becomes 03:00 CEST.
    let plan = madrid(vec![
        row("34", "1").per(1),
        row("34", "2").per(1).time_in("03:00:00"),
    ]);
    // 01:50 CET for 20 real minutes: 10 min at 1, then it is 03:00 CEST: 10 min at 2.
    assert_eq!(
        amount(&plan, "34", "2024-03-31T00:50:00Z", 1200),
        dec("1800")
    );
    // Starting right at the jump it is already 03:00.
    assert_eq!(amount(&plan, "34", "2024-03-31T01:00:00Z", 60), dec("120"));
    assert_eq!(amount(&plan, "34", "2024-03-31T00:59:59Z", 2), dec("3"));
}

#[test]
fn spring_forward_over_a_timein_that_does_not_exist_that_day() {
    let plan = madrid(vec![
        row("34", "1").per(1),
        row("34", "2").per(1).time_in("02:30:00"),
    ]);
    // 02:30 never happens on 2024-03-31; from 03:00 CEST the 02:30 row is the latest.
    assert_eq!(
        amount(&plan, "34", "2024-03-31T00:50:00Z", 1200),
        dec("1800")
    );
    // The day before, the same call stays before 02:30 (01:50 → 02:10).
    assert_eq!(
        amount(&plan, "34", "2024-03-30T00:50:00Z", 1200),
        dec("1200")
    );
}

#[test]
fn fall_back_repeats_the_hour_and_the_rows_with_it() {
    // 2024-10-27 01:00 UTC: 03:00 CEST becomes 02:00 CET.
    let plan = madrid(vec![
        row("34", "1").per(1),
        row("34", "2").per(1).time_in("02:30:00"),
    ]);
    // 02:20 CEST for an hour: 02:20–02:30 at 1, 02:30–03:00 at 2, then 02:00–02:20 CET at 1.
    assert_eq!(
        amount(&plan, "34", "2024-10-27T00:20:00Z", 3600),
        dec("5400")
    );
}

#[test]
fn fall_back_delays_a_0300_row_by_an_hour() {
    let plan = madrid(vec![
        row("34", "1").per(1),
        row("34", "2").per(1).time_in("03:00:00"),
    ]);
    // 02:50 CEST for 20 min ends at 02:10 CET: never reaches 03:00.
    assert_eq!(
        amount(&plan, "34", "2024-10-27T00:50:00Z", 1200),
        dec("1200")
    );
    // For 80 min: 10 min + 60 min (02:00–03:00 CET) at 1, 10 min at 2.
    assert_eq!(
        amount(&plan, "34", "2024-10-27T00:50:00Z", 4800),
        dec("5400")
    );
}

#[test]
fn a_call_spanning_days_and_a_dst_change() {
    let plan = madrid(vec![
        row("34", "1").per(1).days("1-5"),
        row("34", "2").per(1).days("6,7"),
    ]);
    // Friday 2024-03-29 23:00 CET to Monday 01:00 CEST: Friday 1 h at 1, Saturday 24 h and
    // Sunday 23 h (the lost hour) at 2, Monday 1 h at 1.
    let seconds = (1 + 24 + 23 + 1) * 3600;
    let expected = Decimal::from(3600 + 47 * 3600 * 2 + 3600);
    assert_eq!(
        amount(&plan, "34", "2024-03-29T22:00:00Z", seconds),
        expected
    );
}

// ---------------------------------------------------------------------------------------
// Prefixes
// ---------------------------------------------------------------------------------------

#[test]
fn plus_is_ignored_in_prefixes_and_callees() {
    let row = RawRateRow {
        prefix: Some("+44".into()),
        destination_name: Some("United Kingdom".into()),
        rate: Some("1".into()),
        rate_unit: Some("1".into()),
        ..RawRateRow::default()
    }
    .validate()
    .unwrap();
    let plan = plan(vec![row]);
    for callee in ["+442079460000", "442079460000", "+44"] {
        let charge = charge(&plan, callee, "2012-02-02T17:30:00Z", 10);
        assert_eq!(
            (charge.amount, charge.prefix),
            (dec("10"), "44"),
            "{callee}"
        );
        assert_eq!(charge.destination_name, "United Kingdom");
    }
}

#[test]
fn longest_prefix_among_many() {
    let rows = [
        ("4", "1"),
        ("44", "2"),
        ("442", "3"),
        ("4420", "4"),
        ("44207", "5"),
        ("3", "6"),
    ]
    .into_iter()
    .map(|(prefix, rate)| row(prefix, rate).per(1))
    .chain((0..1000).map(|i| row(&format!("9{i:04}"), "7").per(1)))
    .collect();
    let plan = plan(rows);
    for (callee, prefix, expected) in [
        ("442079460000", "44207", "5"),
        ("442089460000", "4420", "4"),
        ("442179460000", "442", "3"),
        ("443", "44", "2"),
        ("49", "4", "1"),
        ("4", "4", "1"),
        ("3", "3", "6"),
        ("+90999123", "90999", "7"),
    ] {
        let charge = charge(&plan, callee, "2012-02-02T17:30:00Z", 1);
        assert_eq!(
            (charge.prefix, charge.amount),
            (prefix, dec(expected)),
            "{callee}"
        );
    }
}

#[test]
fn unknown_or_malformed_callees_have_no_rate_for_destination() {
    let plan = evening();
    for callee in [
        "",
        "+",
        "0258",
        "025",
        "0256 308",
        "sip:0256@x",
        "*0256",
        "0256#",
    ] {
        assert_eq!(
            error(&plan, callee, "2012-02-02T17:30:00Z", 60),
            RatingError::NoRateForDestination,
            "{callee:?}"
        );
    }
    assert_eq!(
        RatingError::NoRateForDestination.to_string(),
        "no rate for destination"
    );
    let empty = plan_with(Vec::new(), RoundingMethod::Middle, 4, Tz::UTC);
    assert_eq!(
        error(&empty, "0256", "2012-02-02T17:30:00Z", 60),
        RatingError::NoRateForDestination
    );
}

// ---------------------------------------------------------------------------------------
// Rounding
// ---------------------------------------------------------------------------------------

fn rounded(fee: &str, method: RoundingMethod, decimals: u32) -> Decimal {
    let plan = plan_with(vec![row("1", "0").fee(fee)], method, decimals, Tz::UTC);
    let amount = amount(&plan, "1", "2012-02-02T17:30:00Z", 0);
    assert_eq!(
        amount.scale(),
        decimals,
        "the amount carries the plan's decimals"
    );
    amount
}

#[test]
fn rounding_methods_at_0_2_4_and_6_decimals() {
    use RoundingMethod::{Down, Middle, Up};
    for (decimals, up, down, middle) in [
        (0, "1", "0", "0"),
        (2, "0.13", "0.12", "0.12"),
        (4, "0.1235", "0.1234", "0.1235"),
        (6, "0.123457", "0.123456", "0.123457"), // …6|5 is a tie: half-up
    ] {
        assert_eq!(rounded("0.1234565", Up, decimals), dec(up), "up {decimals}");
        assert_eq!(
            rounded("0.1234565", Down, decimals),
            dec(down),
            "down {decimals}"
        );
        assert_eq!(
            rounded("0.1234565", Middle, decimals),
            dec(middle),
            "middle {decimals}"
        );
    }
}

#[test]
fn middle_rounds_ties_away_from_zero_and_exact_values_stay() {
    use RoundingMethod::{Down, Middle, Up};
    assert_eq!(rounded("2.5", Middle, 0), dec("3"));
    assert_eq!(rounded("3.5", Middle, 0), dec("4"), "not banker's rounding");
    assert_eq!(rounded("0.125", Middle, 2), dec("0.13"));
    assert_eq!(rounded("0.1249999999", Middle, 2), dec("0.12"));
    assert_eq!(rounded("0.125", Down, 2), dec("0.12"));
    assert_eq!(rounded("0.1200000001", Up, 2), dec("0.13"));
    for method in [Up, Down, Middle] {
        assert_eq!(rounded("0.12", method, 2), dec("0.12"));
        assert_eq!(rounded("7", method, 6).to_string(), "7.000000");
    }
}

#[test]
fn repeating_fractions_round_once_on_the_total() {
    use RoundingMethod::{Down, Middle, Up};
    let third = |method| {
        let plan = plan_with(vec![row("1", "1").per(3)], method, 4, Tz::UTC);
        amount(&plan, "1", "2012-02-02T17:30:00Z", 1)
    };
    assert_eq!(third(Up), dec("0.3334"));
    assert_eq!(third(Down), dec("0.3333"));
    assert_eq!(third(Middle), dec("0.3333"));
    let two_thirds = plan(vec![row("1", "2").per(3)]);
    assert_eq!(
        amount(&two_thirds, "1", "2012-02-02T17:30:00Z", 1),
        dec("0.6667")
    );
    // Three slices of 1/3 each add up to exactly 1 before rounding, not 0.9999.
    let split = plan_with(
        vec![
            row("1", "1").per(3),
            row("1", "1").per(3).slot_from(1),
            row("1", "1").per(3).slot_from(2),
        ],
        Down,
        4,
        Tz::UTC,
    );
    assert_eq!(amount(&split, "1", "2012-02-02T17:30:00Z", 3), dec("1"));
}

// ---------------------------------------------------------------------------------------
// Building a plan
// ---------------------------------------------------------------------------------------

#[test]
fn plan_rejects_the_same_slot_twice() {
    let err = plan_error(vec![row("1", "1"), row("2", "1"), row("1", "2")]);
    assert_eq!(err.row, Some(2));
    assert_eq!(
        err.message,
        "prefix 1, weekdays all, timeIn 00:00:00, groupIntervalStart 0 is given twice"
    );
}

#[test]
fn plan_rejects_a_rate_without_a_first_slot() {
    let err = plan_error(vec![row("1", "1"), row("1", "1").days("6,7").slot_from(60)]);
    assert_eq!(err.row, Some(1));
    assert!(
        err.message.contains("no row with groupIntervalStart 0"),
        "{}",
        err.message
    );
}

#[test]
fn plan_rejects_overlapping_weekdays_with_the_same_timein() {
    let err = plan_error(vec![row("1", "1").days("1-5"), row("1", "2").days("3-7")]);
    assert_eq!(err.row, Some(1));
    assert_eq!(
        err.message,
        "prefix 1, timeIn 00:00:00: weekdays 1-5 and 3-7 overlap on day 3 without one \
         containing the other, so the rate there is ambiguous"
    );
    // Different timeIn: the latest one applies, no ambiguity.
    assert!(Plan::new(
        settings(RoundingMethod::Middle, 4, Tz::UTC),
        vec![
            row("1", "1").days("1-5"),
            row("1", "2").days("3-7").time_in("08:00:00")
        ],
    )
    .is_ok());
}

#[test]
fn plan_rechecks_rows_built_in_code() {
    let negative = RateRow {
        rate: dec("-1"),
        ..row("1", "0")
    };
    let err = plan_error(vec![row("2", "1"), negative]);
    assert_eq!(
        (err.row, err.message.as_str()),
        (Some(1), "rate: must not be negative")
    );
    assert_eq!(
        plan_error(vec![row("+1", "1")]).message,
        "prefix: expected digits with an optional leading +"
    );
    assert_eq!(
        plan_error(vec![row("1", "1").per(0)]).message,
        "rateUnit: expected a whole number of seconds from 1 to 86400"
    );
    assert_eq!(
        plan_error(vec![row("1", "0.00000000001")]).message,
        "rate: at most 10 decimal places"
    );
    let err = Plan::new(settings(RoundingMethod::Middle, 7, Tz::UTC), vec![]).unwrap_err();
    assert_eq!(
        (err.row, err.message.as_str()),
        (None, "roundingDecimals: expected 0 to 6")
    );
}

#[test]
fn plan_is_shareable_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Plan>();
    assert_send_sync::<Charge<'static>>();
    let plan = std::sync::Arc::new(evening());
    let other = std::sync::Arc::clone(&plan);
    let amount = std::thread::spawn(move || amount(&other, "0256", "2012-02-02T17:30:00Z", 3600))
        .join()
        .unwrap();
    assert_eq!(amount, dec("2701"));
}

// ---------------------------------------------------------------------------------------
// Against a slow reference
// ---------------------------------------------------------------------------------------

/// The charging rules applied literally: the applicable row is found for every elapsed
/// second by converting that instant to local time with chrono, and a step runs while the
/// row stays the same. Slow but obviously right; rates are chosen so that every
/// `rate × seconds / unit` is an exact decimal, so plain `Decimal` arithmetic is exact too.
fn reference(
    rows: &[RateRow],
    timezone: Tz,
    start: DateTime<Utc>,
    seconds: u64,
) -> Result<Decimal, RatingError> {
    let row_at = |elapsed: u64| -> Option<&RateRow> {
        let local = (start + chrono::Duration::seconds(elapsed as i64)).with_timezone(&timezone);
        let day = local.weekday();
        let time = local.time();
        let today = rows
            .iter()
            .filter(|r| r.weekdays.contains(day) && r.time_in <= time);
        let time_in = today.clone().map(|r| r.time_in).max()?;
        let narrowest = today
            .clone()
            .filter(|r| r.time_in == time_in)
            .map(|r| r.weekdays.day_count())
            .min();
        today
            .filter(|r| r.time_in == time_in && Some(r.weekdays.day_count()) == narrowest)
            .filter(|r| u64::from(r.group_interval_start) <= elapsed)
            .max_by_key(|r| r.group_interval_start)
    };
    let first = row_at(0).ok_or(RatingError::NoRateForTime)?;
    let mut total = first.connect_fee;
    let mut position = 0;
    while position < seconds {
        let current = row_at(position).ok_or(RatingError::NoRateForTime)?;
        let mut end = position + 1;
        while end < seconds && row_at(end).is_some_and(|r| std::ptr::eq(r, current)) {
            end += 1;
        }
        let increment = u64::from(current.rate_increment);
        let billed = (end - position).div_ceil(increment) * increment;
        total += current.rate * Decimal::from(billed) / Decimal::from(current.rate_unit);
        position += billed;
    }
    Ok(total)
}

#[test]
fn agrees_with_the_reference_on_random_plans_around_dst() {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let weekday_sets = ["all", "1-5", "6,7", "5", "1-3"];
    let times = [
        "00:00:00", "02:00:00", "02:30:00", "03:00:00", "08:00:00", "23:59:30",
    ];
    let starts = [
        "2024-03-31T00:40:00Z",
        "2024-10-27T00:40:00Z",
        "2024-03-29T22:50:00Z",
        "2024-06-09T21:58:00Z",
    ];
    let mut rated = 0;
    for case in 0..150 {
        // A few rates (weekdays × timeIn) of one prefix, each with one to three slots.
        // Most plans cover the whole week with an "all" rate from 00:00; some leave gaps.
        let mut rows: Vec<RateRow> = Vec::new();
        for n in 0..2 + next(4) {
            let (days, time_in) = if n == 0 && next(5) > 0 {
                ("all", "00:00:00")
            } else {
                let days = weekday_sets[next(weekday_sets.len() as u64) as usize];
                (days, times[next(times.len() as u64) as usize])
            };
            if rows
                .iter()
                .any(|r| r.weekdays.to_string() == days && r.time_in.to_string() == time_in)
            {
                continue;
            }
            for (k, from) in [0u32, 30, 90]
                .into_iter()
                .take(1 + next(3) as usize)
                .enumerate()
            {
                let rate = ["1", "0.5", "2.25", "0.1"][next(4) as usize];
                let unit = [1, 10, 100][next(3) as usize];
                rows.push(
                    row("34", rate)
                        .fee(if k == 0 { "0.15" } else { "0" })
                        .per(unit)
                        .step([1, 7, 30, 60][next(4) as usize])
                        .slot_from(from)
                        .days(days)
                        .time_in(time_in),
                );
            }
        }
        let plan = match Plan::new(
            settings(RoundingMethod::Down, 6, Tz::Europe__Madrid),
            rows.clone(),
        ) {
            Ok(plan) => plan,
            Err(_) => continue, // an ambiguous random table; the plan tests cover those
        };
        let start = at(starts[next(starts.len() as u64) as usize])
            + chrono::Duration::seconds(next(1800) as i64);
        let seconds = [0, 1, 59, 61, 600, 3599, 7200][next(7) as usize] + next(3);
        let expected = reference(&rows, Tz::Europe__Madrid, start, seconds)
            .map(|total| total.round_dp_with_strategy(6, rust_decimal::RoundingStrategy::ToZero));
        let actual = plan.charge("34123", start, seconds).map(|c| c.amount);
        assert_eq!(
            actual, expected,
            "case {case}: {start} for {seconds} s, rows {rows:#?}"
        );
        rated += usize::from(actual.is_ok());
    }
    assert!(rated > 100, "only {rated} of the random calls were rated");
}
