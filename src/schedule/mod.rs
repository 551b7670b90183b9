//! Pure schedule arithmetic for call CSV schedulers: when a scheduler first runs, when it runs
//! next, which period each run covers, and what its report file is called. No I/O and no
//! clock: callers pass "now" in, so every rule in schedulers.md is tested with plain vectors.

mod bounds;
mod calendar;
mod cron_expr;
mod file_name;
#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

pub use bounds::{bound_violations, catch_up_count, closest_fires, MIN_CRON_GAP};
pub use calendar::{add_months_anchored, resolve_local};
pub use cron_expr::{parse_cron, CronSpec};
pub use file_name::report_file_name;

/// Largest accepted `frequency` (a year of days).
pub const MAX_FREQUENCY: u32 = 366;

/// Local wall-clock time of a scheduler's first run.
const FIRST_RUN_AT: NaiveTime = NaiveTime::from_hms_opt(8, 0, 0).expect("08:00 is a valid time");

/// The calendar unit of a unit/frequency scheduler.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    Day,
    Week,
    #[default]
    Month,
    Year,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Day => "day",
            Unit::Week => "week",
            Unit::Month => "month",
            Unit::Year => "year",
        }
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Unit {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "day" => Ok(Unit::Day),
            "week" => Ok(Unit::Week),
            "month" => Ok(Unit::Month),
            "year" => Ok(Unit::Year),
            other => Err(format!(
                "unit '{other}' is not one of day, week, month, year"
            )),
        }
    }
}

/// How a scheduler repeats.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recurrence {
    /// Every `frequency` units (1..=366; build it with [`Recurrence::every`] to validate).
    /// Should a 0 slip through, the arithmetic treats it as 1 so a schedule always advances.
    Every { unit: Unit, frequency: u32 },
    /// Fire times of a cron expression in the scheduler's timezone.
    Cron(CronSpec),
}

impl Recurrence {
    /// A validated unit/frequency recurrence.
    pub fn every(unit: Unit, frequency: u32) -> Result<Self, String> {
        if !(1..=MAX_FREQUENCY).contains(&frequency) {
            return Err(format!(
                "frequency must be between 1 and {MAX_FREQUENCY}, got {frequency}"
            ));
        }
        Ok(Recurrence::Every { unit, frequency })
    }

    /// From a scheduler's stored fields: a non-blank `cron` wins and unit/frequency are then
    /// ignored (not validated), as schedulers.md says.
    pub fn from_fields(unit: Unit, frequency: u32, cron: Option<&str>) -> Result<Self, String> {
        match cron.map(str::trim).filter(|text| !text.is_empty()) {
            Some(text) => parse_cron(text).map(Recurrence::Cron),
            None => Recurrence::every(unit, frequency),
        }
    }
}

/// The calls a run covers: `in_date <= startTime < out_date` (half-open, so consecutive
/// periods neither overlap nor lose the boundary second).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub in_date: DateTime<Utc>,
    pub out_date: DateTime<Utc>,
}

impl Period {
    pub fn contains(&self, instant: DateTime<Utc>) -> bool {
        self.in_date <= instant && instant < self.out_date
    }
}

/// When a scheduler with no `nextExecution` first runs.
///
/// Unit/frequency: the start of the next local day, Monday (a week later when today is
/// Monday), month or year, at 08:00 local; the frequency does not matter. Cron: the first fire
/// time strictly after `now`. `None` when a cron schedule has no fire time left.
pub fn first_execution(rec: &Recurrence, tz: Tz, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let unit = match rec {
        Recurrence::Cron(spec) => return spec.next_fire_after(tz, now),
        Recurrence::Every { unit, .. } => *unit,
    };
    let today = now.with_timezone(&tz).date_naive();
    let first_day = match unit {
        Unit::Day => today.succ_opt()?,
        Unit::Week => {
            let days_to_monday = 7 - u64::from(today.weekday().num_days_from_monday());
            today.checked_add_days(Days::new(days_to_monday))?
        }
        Unit::Month => add_months_anchored(today.with_day(1)?, 1)?,
        Unit::Year => NaiveDate::from_ymd_opt(today.year().checked_add(1)?, 1, 1)?,
    };
    Some(to_utc(tz, first_day.and_time(FIRST_RUN_AT)))
}

/// When the scheduler runs after the run due at `due`.
///
/// Unit/frequency: `due` + frequency × unit on the local calendar, keeping the local wall-clock
/// time (so 08:00 stays 08:00 across DST), with month-end anchoring, and a time that falls in
/// a DST gap or overlap resolved by [`resolve_local`]. Cron: the first fire time strictly after
/// `due`. `None` when there is no such instant (a cron schedule that ended).
pub fn next_execution(rec: &Recurrence, tz: Tz, due: DateTime<Utc>) -> Option<DateTime<Utc>> {
    match rec {
        Recurrence::Cron(spec) => spec.next_fire_after(tz, due),
        Recurrence::Every { unit, frequency } => {
            let local = due.with_timezone(&tz).naive_local();
            let date = shift_date(local.date(), *unit, steps(*frequency)?)?;
            Some(to_utc(tz, date.and_time(local.time())))
        }
    }
}

/// The period covered by the run due at `due`.
///
/// Unit/frequency: `out_date` is the local midnight starting `due`'s local day and `in_date`
/// is the local midnight frequency × unit earlier (month-end anchoring; a midnight lost to DST
/// becomes the first instant after the gap). Cron: from the fire time before "this" one (as
/// the runner's forward walk fired it, see `CronSpec::previous_fire`) to "this" one, where "this" is the latest fire time at or before `due` (an operator may have
/// set `nextExecution` between fire times). `None` when a cron schedule has no such fire times.
pub fn period_for(rec: &Recurrence, tz: Tz, due: DateTime<Utc>) -> Option<Period> {
    match rec {
        Recurrence::Cron(spec) => {
            let this_fire = spec.last_fire_at_or_before(tz, due)?;
            let previous_fire = spec.previous_fire(tz, this_fire)?;
            Some(Period {
                in_date: previous_fire,
                out_date: this_fire,
            })
        }
        Recurrence::Every { unit, frequency } => {
            let out_day = due.with_timezone(&tz).date_naive();
            let in_day = shift_date(out_day, *unit, -steps(*frequency)?)?;
            Some(Period {
                in_date: to_utc(tz, in_day.and_time(NaiveTime::MIN)),
                out_date: to_utc(tz, out_day.and_time(NaiveTime::MIN)),
            })
        }
    }
}

/// First and last local calendar day a period touches, for file names and emails.
///
/// `out_date` is exclusive, so a period ending at local midnight ends on the day before.
pub fn covered_days(period: &Period, tz: Tz) -> (NaiveDate, NaiveDate) {
    let first = period.in_date.with_timezone(&tz).date_naive();
    let last_instant = period
        .out_date
        .checked_sub_signed(TimeDelta::nanoseconds(1))
        .unwrap_or(period.out_date);
    // An empty period (never produced here) still reports a sane single day.
    let last = last_instant.with_timezone(&tz).date_naive().max(first);
    (first, last)
}

/// Every due time from the stored `next` up to and including `now`, oldest first, at most
/// `limit` of them.
///
/// This is the catch-up after downtime: each missed period gets its own run. The cap protects
/// against a cron firing every minute after a long outage; the caller continues from the last
/// returned occurrence on its next pass.
pub fn due_occurrences(
    rec: &Recurrence,
    tz: Tz,
    next: DateTime<Utc>,
    now: DateTime<Utc>,
    limit: usize,
) -> Vec<DateTime<Utc>> {
    let mut due_times = Vec::new();
    let mut candidate = Some(next);
    while let Some(due) = candidate {
        if due > now || due_times.len() >= limit {
            break;
        }
        due_times.push(due);
        // The arithmetic always moves forward; the check makes a loop impossible regardless.
        candidate = next_execution(rec, tz, due).filter(|following| *following > due);
    }
    due_times
}

/// Moves a local date by `steps` units (negative: backwards).
fn shift_date(date: NaiveDate, unit: Unit, steps: i32) -> Option<NaiveDate> {
    let days = |count: i32| date.checked_add_signed(TimeDelta::try_days(i64::from(count))?);
    match unit {
        Unit::Day => days(steps),
        Unit::Week => days(steps.checked_mul(7)?),
        Unit::Month => add_months_anchored(date, steps),
        Unit::Year => add_months_anchored(date, steps.checked_mul(12)?),
    }
}

/// The number of units one run advances by; 0 counts as 1 (see [`Recurrence::Every`]).
fn steps(frequency: u32) -> Option<i32> {
    i32::try_from(frequency.max(1)).ok()
}

fn to_utc(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    resolve_local(tz, local).with_timezone(&Utc)
}
