//! Cron expressions for schedulers that use `cron` instead of unit/frequency, evaluated in the
//! scheduler's timezone with the `cron` crate.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, LocalResult, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// A parsed cron expression plus the text the operator wrote (what the API shows back).
///
/// Serialises as that text; deserialising parses it with [`parse_cron`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CronSpec {
    // Boxed: a parsed schedule is a few hundred bytes and would bloat every `Recurrence`.
    schedule: Box<cron::Schedule>,
    text: String,
}

impl CronSpec {
    /// The expression as the operator wrote it.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The parsed schedule, for checks that look at its fields.
    pub(crate) fn schedule(&self) -> &cron::Schedule {
        &self.schedule
    }

    /// First fire time strictly after `instant`, or `None` when the schedule has no more
    /// (the `cron` crate stops at year 2100, and a year field can end it sooner).
    pub fn next_fire_after(&self, tz: Tz, instant: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // The crate can hand back the earlier copy of an hour repeated at fall-back even when
        // we start from its later copy, so we skip anything not strictly after.
        self.schedule
            .after(&instant.with_timezone(&tz))
            .map(|fire| fire.with_timezone(&Utc))
            .find(|fire| *fire > instant)
    }

    /// Latest fire time at or before `instant`.
    pub fn last_fire_at_or_before(&self, tz: Tz, instant: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // Fire times are whole seconds; the whole second containing `instant` may be one.
        let second = instant.with_nanosecond(0)?;
        if self.schedule.includes(second.with_timezone(&tz)) {
            return Some(second);
        }
        self.last_fire_before(tz, second)
    }

    /// The fire time the forward walk ([`Self::next_fire_after`], what the runner follows)
    /// reaches just before `fire`: the start of the period that ends at `fire`.
    ///
    /// Not simply [`Self::last_fire_before`]: when a local time repeats at fall-back, the
    /// forward walk fires at its first copy only, while the backward walk lands on the second
    /// copy, which never fired; a period starting there would lose the hour in between. So
    /// this steps back to a fire whose local time is unambiguous (both walks agree on it),
    /// then walks forward from there like the runner does.
    pub fn previous_fire(&self, tz: Tz, fire: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // A repeated stretch of local time lasts an hour or two; this many fires back is
        // always enough, and bounds the work for an every-second schedule.
        const MAX_STEPS: usize = 20_000;
        let unambiguous = |at: DateTime<Utc>| {
            let local = at.with_timezone(&tz).naive_local();
            matches!(tz.from_local_datetime(&local), LocalResult::Single(_))
        };
        let mut start = self.last_fire_before(tz, fire)?;
        let closest = start;
        let mut steps = 0;
        while !unambiguous(start) {
            steps += 1;
            match self.last_fire_before(tz, start) {
                Some(earlier) if steps < MAX_STEPS => start = earlier,
                _ => return Some(closest),
            }
        }
        let mut previous = start;
        while let Some(next) = self.next_fire_after(tz, previous) {
            if next >= fire {
                break;
            }
            previous = next;
        }
        Some(previous)
    }

    /// Latest fire time strictly before `instant`.
    pub fn last_fire_before(&self, tz: Tz, instant: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // Same fall-back caveat as `next_fire_after`, mirrored.
        self.schedule
            .after(&instant.with_timezone(&tz))
            .rev()
            .map(|fire| fire.with_timezone(&Utc))
            .find(|fire| *fire < instant)
    }
}

impl fmt::Display for CronSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for CronSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        parse_cron(text)
    }
}

impl TryFrom<String> for CronSpec {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        parse_cron(&text)
    }
}

impl From<CronSpec> for String {
    fn from(spec: CronSpec) -> String {
        spec.text
    }
}

/// Parses a cron expression; the seconds field is optional.
///
/// - 5 fields `min hour day-of-month month day-of-week` are classic Unix cron: seconds are 0
///   and numeric days of the week mean 0 or 7 = Sunday, 1 = Monday … 6 = Saturday.
/// - 6 fields `sec min hour dom month dow` and 7 fields (`… year`) are taken as the `cron`
///   crate reads them, where numeric days of the week are 1 = Sunday … 7 = Saturday.
///   Names (`MON-FRI`) mean the same everywhere, so they are the safe choice.
/// - `@yearly`, `@monthly`, `@weekly`, `@daily`, `@hourly` are accepted.
pub fn parse_cron(expr: &str) -> Result<CronSpec, String> {
    let text = expr.trim();
    let fields: Vec<&str> = text.split_whitespace().collect();
    let for_crate = if text.starts_with('@') {
        text.to_string()
    } else {
        match fields.as_slice() {
            [minute, hour, day_of_month, month, day_of_week] => {
                let day_of_week = unix_day_of_week_for_crate(day_of_week)
                    .map_err(|e| format!("invalid cron expression '{text}': {e}"))?;
                format!("0 {minute} {hour} {day_of_month} {month} {day_of_week}")
            }
            [_, _, _, _, _, _] | [_, _, _, _, _, _, _] => fields.join(" "),
            _ => {
                return Err(format!(
                    "invalid cron expression '{text}': expected 5 fields (minute hour \
                     day-of-month month day-of-week), or 6-7 with seconds first and an \
                     optional year last; found {}",
                    fields.len()
                ));
            }
        }
    };
    let schedule = cron::Schedule::from_str(&for_crate)
        .map_err(|e| format!("invalid cron expression '{text}': {e}"))?;
    Ok(CronSpec {
        schedule: Box::new(schedule),
        text: text.to_string(),
    })
}

/// Rewrites a Unix day-of-week field (0/7 = Sunday … 6 = Saturday) into the `cron` crate's
/// numbering (1 = Sunday … 7 = Saturday), so "0 8 * * 1-5" means weekdays as everyone expects.
///
/// Each numeric list item (`3`, `1-5`, `*/2`, `1-5/2`) is expanded to the days it names; items
/// with names (`MON`, `MON-FRI`) pass through untouched, and anything else is left for the
/// crate to reject.
fn unix_day_of_week_for_crate(field: &str) -> Result<String, String> {
    if field == "*" || field == "?" {
        return Ok(field.to_string());
    }
    let mut items = Vec::new();
    for item in field.split(',') {
        if item.chars().any(|c| c.is_ascii_alphabetic()) {
            items.push(item.to_string());
            continue;
        }
        let (base, step) = match item.split_once('/') {
            Some((base, step)) => (base, parse_number(step, "step")?),
            None => (item, 1),
        };
        if step == 0 {
            return Err(format!("day-of-week step in '{item}' must be at least 1"));
        }
        let (first, last) = match base.split_once('-') {
            _ if base == "*" || base == "?" => (0, 6),
            Some((first, last)) => (parse_day(first)?, parse_day(last)?),
            // "a/n" runs from a to the end of the week, "a" alone is one day.
            None if item.contains('/') => (parse_day(base)?, 6),
            None => {
                let day = parse_day(base)?;
                (day, day)
            }
        };
        if first > last {
            return Err(format!("day-of-week range '{base}' runs backwards"));
        }
        for unix_day in (first..=last).step_by(step) {
            // Unix 0 and 7 are both Sunday, which the crate calls 1.
            let crate_day = (unix_day % 7 + 1).to_string();
            if !items.contains(&crate_day) {
                items.push(crate_day);
            }
        }
    }
    Ok(items.join(","))
}

fn parse_day(text: &str) -> Result<usize, String> {
    let day = parse_number(text, "day of the week")?;
    if day > 7 {
        return Err(format!(
            "day of the week {day} is out of range 0-7 (0 and 7 are Sunday)"
        ));
    }
    Ok(day)
}

fn parse_number(text: &str, what: &str) -> Result<usize, String> {
    text.parse()
        .map_err(|_| format!("'{text}' is not a valid {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::{Europe, UTC};

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn next(expr: &str, tz: Tz, after: &str) -> DateTime<Utc> {
        parse_cron(expr)
            .unwrap()
            .next_fire_after(tz, utc(after))
            .unwrap()
    }

    #[test]
    fn five_fields_fire_at_local_time_in_winter_and_summer() {
        assert_eq!(
            next("0 8 * * *", Europe::Madrid, "2024-01-15T10:00:00Z"),
            utc("2024-01-16T07:00:00Z")
        );
        assert_eq!(
            next("0 8 * * *", Europe::Madrid, "2024-07-15T10:00:00Z"),
            utc("2024-07-16T06:00:00Z")
        );
    }

    #[test]
    fn six_and_seven_fields_are_taken_as_the_crate_reads_them() {
        assert_eq!(
            next("30 15 8 * * *", Europe::Madrid, "2024-01-15T10:00:00Z"),
            utc("2024-01-16T07:15:30Z")
        );
        assert_eq!(
            next("0 0 8 1 1 * 2030", Europe::Madrid, "2024-01-15T10:00:00Z"),
            utc("2030-01-01T07:00:00Z")
        );
        // Six fields: numeric day of week 2 is Monday in the crate's numbering.
        assert_eq!(
            next("0 0 8 * * 2", Europe::Madrid, "2024-01-17T10:00:00Z"),
            utc("2024-01-22T07:00:00Z")
        );
    }

    #[test]
    fn five_fields_use_unix_day_of_week_numbers() {
        // 2024-01-17 is a Wednesday.
        let after = "2024-01-17T10:00:00Z";
        let monday = utc("2024-01-22T07:00:00Z");
        let thursday = utc("2024-01-18T07:00:00Z");
        let friday = utc("2024-01-19T07:00:00Z");
        let sunday = utc("2024-01-21T07:00:00Z");
        assert_eq!(next("0 8 * * 1", Europe::Madrid, after), monday);
        assert_eq!(next("0 8 * * MON", Europe::Madrid, after), monday);
        assert_eq!(next("0 8 * * 0", Europe::Madrid, after), sunday);
        assert_eq!(next("0 8 * * 7", Europe::Madrid, after), sunday);
        assert_eq!(next("0 8 * * 1-5", Europe::Madrid, after), thursday);
        assert_eq!(next("0 8 * * 5-7", Europe::Madrid, after), friday);
        assert_eq!(next("0 8 * * 0,1", Europe::Madrid, after), sunday);
        // Sunday, Tuesday, Thursday, Saturday.
        assert_eq!(next("0 8 * * */2", Europe::Madrid, after), thursday);
        // Monday, Wednesday, Friday.
        assert_eq!(next("0 8 * * 1-5/2", Europe::Madrid, after), friday);
    }

    #[test]
    fn day_of_week_translation() {
        assert_eq!(unix_day_of_week_for_crate("*").unwrap(), "*");
        assert_eq!(unix_day_of_week_for_crate("1-5").unwrap(), "2,3,4,5,6");
        assert_eq!(unix_day_of_week_for_crate("0,7").unwrap(), "1");
        assert_eq!(unix_day_of_week_for_crate("*/3").unwrap(), "1,4,7");
        assert_eq!(unix_day_of_week_for_crate("3/2").unwrap(), "4,6");
        assert_eq!(unix_day_of_week_for_crate("MON-FRI").unwrap(), "MON-FRI");
        assert!(unix_day_of_week_for_crate("8").is_err());
        assert!(unix_day_of_week_for_crate("5-1").is_err());
        assert!(unix_day_of_week_for_crate("*/0").is_err());
        assert!(
            unix_day_of_week_for_crate("x1").is_ok(),
            "names are left to the crate"
        );
    }

    #[test]
    fn shorthands_are_accepted() {
        assert_eq!(
            next("@daily", UTC, "2024-01-15T10:00:00Z"),
            utc("2024-01-16T00:00:00Z")
        );
        assert_eq!(
            next("@monthly", Europe::Madrid, "2024-01-15T10:00:00Z"),
            utc("2024-01-31T23:00:00Z")
        );
    }

    #[test]
    fn next_fire_is_strictly_after() {
        assert_eq!(
            next("0 8 * * *", Europe::Madrid, "2024-01-16T07:00:00Z"),
            utc("2024-01-17T07:00:00Z")
        );
        assert_eq!(
            next("0 8 * * *", Europe::Madrid, "2024-01-16T06:59:59.999Z"),
            utc("2024-01-16T07:00:00Z")
        );
    }

    #[test]
    fn fall_back_hour_never_goes_backwards() {
        // Madrid 2019-10-27: 02:00-03:00 happens twice; 01:30Z is 02:30 in its second (CET) copy.
        let spec = parse_cron("0 */15 * * * *").unwrap();
        let after = utc("2019-10-27T01:30:00Z");
        assert_eq!(
            spec.next_fire_after(Europe::Madrid, after),
            Some(utc("2019-10-27T01:45:00Z"))
        );
        let before = utc("2019-10-27T00:30:00Z");
        assert_eq!(
            spec.last_fire_before(Europe::Madrid, before),
            Some(utc("2019-10-27T00:15:00Z"))
        );
    }

    #[test]
    fn a_period_after_the_repeated_hour_starts_where_the_runner_last_fired() {
        // Madrid 2026-10-25: 02:30 local happens at 00:30Z and again at 01:30Z. The forward
        // walk fires at the first copy only; the next period must start there, or calls
        // between 00:30Z and 01:30Z would be in no report.
        let daily = parse_cron("30 2 * * *").unwrap();
        let tz = Europe::Madrid;
        let fired = daily
            .next_fire_after(tz, utc("2026-10-24T12:00:00Z"))
            .unwrap();
        assert_eq!(fired, utc("2026-10-25T00:30:00Z"));
        let next = daily.next_fire_after(tz, fired).unwrap();
        assert_eq!(next, utc("2026-10-26T01:30:00Z"));
        assert_eq!(daily.previous_fire(tz, next), Some(fired));
        // Every 15 minutes through the repeated hour: each period starts at the fire before
        // it in the forward walk, whatever that walk does with the second copy.
        let quarter = parse_cron("0 */15 * * * *").unwrap();
        let mut fire = utc("2026-10-24T22:00:00Z");
        for _ in 0..20 {
            let next = quarter.next_fire_after(tz, fire).unwrap();
            assert_eq!(
                quarter.previous_fire(tz, next),
                Some(fire),
                "period ending {next}"
            );
            fire = next;
        }
        // Away from DST it is the plain previous fire.
        let eight = parse_cron("0 8 * * *").unwrap();
        assert_eq!(
            eight.previous_fire(tz, utc("2024-01-16T07:00:00Z")),
            Some(utc("2024-01-15T07:00:00Z"))
        );
    }

    #[test]
    fn last_fire_at_or_before() {
        let spec = parse_cron("0 8 * * *").unwrap();
        let tz = Europe::Madrid;
        let fire = utc("2024-01-16T07:00:00Z");
        assert_eq!(spec.last_fire_at_or_before(tz, fire), Some(fire));
        let just_after = utc("2024-01-16T07:00:00.250Z");
        assert_eq!(spec.last_fire_at_or_before(tz, just_after), Some(fire));
        let just_before = utc("2024-01-16T06:59:59.999Z");
        assert_eq!(
            spec.last_fire_at_or_before(tz, just_before),
            Some(utc("2024-01-15T07:00:00Z"))
        );
        assert_eq!(
            spec.last_fire_before(tz, fire),
            Some(utc("2024-01-15T07:00:00Z"))
        );
    }

    #[test]
    fn a_schedule_that_ended_has_no_next_fire() {
        let spec = parse_cron("0 0 8 1 1 * 2020").unwrap();
        assert_eq!(spec.next_fire_after(UTC, utc("2024-01-01T00:00:00Z")), None);
        assert_eq!(
            spec.last_fire_before(UTC, utc("2020-01-01T08:00:00Z")),
            None
        );
    }

    #[test]
    fn invalid_expressions_explain_themselves() {
        let too_few = parse_cron("0 8 * *").unwrap_err();
        assert!(too_few.contains("expected 5 fields"), "{too_few}");
        assert!(too_few.contains("found 4"), "{too_few}");
        assert!(parse_cron("").unwrap_err().contains("found 0"));
        assert!(parse_cron("0 0 0 0 8 * * * *").is_err());
        let garbage = parse_cron("every day at eight").unwrap_err();
        assert!(garbage.starts_with("invalid cron expression 'every day at eight'"));
        assert!(parse_cron("61 8 * * *").is_err());
        assert!(parse_cron("0 25 * * *").is_err());
        assert!(parse_cron("0 8 32 * *").is_err());
        assert!(parse_cron("0 8 * 13 *").is_err());
        let bad_day = parse_cron("0 8 * * 9").unwrap_err();
        assert!(bad_day.contains("out of range 0-7"), "{bad_day}");
        assert!(parse_cron("@sometimes").is_err());
    }

    #[test]
    fn keeps_the_operator_text() {
        let spec = parse_cron("  0 8 * * 1-5 ").unwrap();
        assert_eq!(spec.as_str(), "0 8 * * 1-5");
        assert_eq!(spec.to_string(), "0 8 * * 1-5");
        assert_eq!(String::from(spec), "0 8 * * 1-5");
    }

    #[test]
    fn deserialises_by_parsing() {
        use serde::de::value::{Error, StringDeserializer};
        use serde::de::IntoDeserializer;
        let ok: StringDeserializer<Error> = "0 8 * * *".to_string().into_deserializer();
        assert_eq!(CronSpec::deserialize(ok).unwrap().as_str(), "0 8 * * *");
        let bad: StringDeserializer<Error> = "nope".to_string().into_deserializer();
        assert!(CronSpec::deserialize(bad).is_err());
    }
}
