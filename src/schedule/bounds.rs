//! Bounds on what one scheduler may ask of the runner (issue 13): a catch-up of at most a
//! configured number of occurrences, and a cron expression whose fires are at least
//! [`MIN_CRON_GAP`] apart. Pure: the caller passes "now" and the limit in.

use chrono::{DateTime, TimeDelta, Timelike, Utc};
use chrono_tz::Tz;
use cron::TimeUnitSpec;

use super::{due_occurrences, CronSpec, Recurrence};

/// The shortest time allowed between two consecutive fires of a cron expression.
pub const MIN_CRON_GAP: TimeDelta = TimeDelta::minutes(15);

/// How far ahead fires are walked to find the shortest gap: a year holds every day-of-week,
/// month and both DST changes, and the gap across midnight between two matching days.
const GAP_WINDOW: TimeDelta = TimeDelta::days(366);

/// The field and message of each bound the schedule breaks; empty when it keeps them all.
///
/// `next` is the scheduler's `nextExecution`, `now` the database's clock; everything from
/// `next` up to `now` is a catch-up the runner would record at once.
pub fn bound_violations(
    rec: &Recurrence,
    tz: Tz,
    next: DateTime<Utc>,
    now: DateTime<Utc>,
    max_catch_up: usize,
) -> Vec<(&'static str, String)> {
    let mut found = vec![];
    if let Recurrence::Cron(spec) = rec {
        if let Some((a, b)) = closest_fires(spec, tz, now.min(next)) {
            found.push((
                "cron",
                format!(
                    "fires more often than every {} minutes ({} then {}, {} apart); a report \
                     covers at least {} minutes",
                    MIN_CRON_GAP.num_minutes(),
                    a.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S"),
                    b.with_timezone(&tz).format("%H:%M:%S"),
                    human(b - a),
                    MIN_CRON_GAP.num_minutes(),
                ),
            ));
        }
    }
    let backlog = catch_up_count(rec, tz, next, now, max_catch_up);
    if backlog > max_catch_up {
        found.push((
            "nextExecution",
            format!(
                "catching up from this time would record more than {max_catch_up} occurrences \
                 (at most {max_catch_up} missed runs may be caught up at once); choose a later time"
            ),
        ));
    }
    found
}

/// How many occurrences are due from `next` up to `now`, counting at most `limit + 1` (so
/// the answer stays cheap however far back `next` is).
pub fn catch_up_count(
    rec: &Recurrence,
    tz: Tz,
    next: DateTime<Utc>,
    now: DateTime<Utc>,
    limit: usize,
) -> usize {
    due_occurrences(rec, tz, next, now, limit.saturating_add(1)).len()
}

/// Two consecutive fires closer than [`MIN_CRON_GAP`], if the expression has any.
///
/// Two checks: the times of day the expression allows (every matching day fires at all of
/// them, so this catches an expression that fires densely on a rare day, like 29 February),
/// then the real fires over a year from `from` in the timezone, which adds the gap across
/// midnight between matching days and the hour lost when clocks go forward.
pub fn closest_fires(
    spec: &CronSpec,
    tz: Tz,
    from: DateTime<Utc>,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    if let Some((a, b)) = closest_times_of_day(spec) {
        // Shown on the first day the expression fires at `a`'s time of day.
        let first = spec
            .schedule()
            .after(&from.with_timezone(&tz))
            .find(|f| f.num_seconds_from_midnight() == a)
            .map_or(from, |f| f.with_timezone(&Utc));
        let at = |secs: u32| first + TimeDelta::seconds(i64::from(secs) - i64::from(a));
        return Some((at(a), at(b)));
    }
    let end = from + GAP_WINDOW;
    // More fires than fit in the window at the smallest gap means two are too close; the
    // walk finds them before that, this only bounds it.
    let most = (GAP_WINDOW.num_seconds() / MIN_CRON_GAP.num_seconds()) as usize + 2;
    let mut previous: Option<DateTime<Utc>> = None;
    for fire in spec
        .schedule()
        .after(&from.with_timezone(&tz))
        .map(|f| f.with_timezone(&Utc))
        .take(most)
    {
        if fire > end {
            break;
        }
        if let Some(p) = previous {
            // Fires repeated at fall-back (not after the previous one) never run twice.
            if fire > p && fire - p < MIN_CRON_GAP {
                return Some((p, fire));
            }
        }
        previous = Some(previous.map_or(fire, |p| p.max(fire)));
    }
    None
}

/// Two consecutive allowed times of day (seconds after midnight) closer than the gap.
fn closest_times_of_day(spec: &CronSpec) -> Option<(u32, u32)> {
    let schedule = spec.schedule();
    let mut previous: Option<u32> = None;
    for h in schedule.hours().iter() {
        for m in schedule.minutes().iter() {
            for s in schedule.seconds().iter() {
                let t = h * 3600 + m * 60 + s;
                if let Some(p) = previous {
                    if i64::from(t - p) < MIN_CRON_GAP.num_seconds() {
                        return Some((p, t));
                    }
                }
                previous = Some(t);
            }
        }
    }
    None
}

fn human(gap: TimeDelta) -> String {
    match gap.num_seconds() {
        s if s < 60 => format!("{s} s"),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{} min {} s", s / 60, s % 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::{parse_cron, Unit};
    use chrono_tz::{Europe, UTC};

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn cron(expr: &str) -> Recurrence {
        Recurrence::Cron(parse_cron(expr).unwrap())
    }

    const NOW: &str = "2026-11-30T12:00:00Z";

    fn fields(rec: &Recurrence, tz: Tz, next: &str, limit: usize) -> Vec<&'static str> {
        bound_violations(rec, tz, utc(next), utc(NOW), limit)
            .into_iter()
            .map(|(field, _)| field)
            .collect()
    }

    #[test]
    fn the_1970_every_second_cron_breaks_both_bounds() {
        let found = bound_violations(
            &cron("* * * * * *"),
            UTC,
            utc("1970-01-01T00:00:00Z"),
            utc(NOW),
            1000,
        );
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].0, "cron");
        assert!(found[0].1.contains("1 s apart"), "{}", found[0].1);
        assert_eq!(found[1].0, "nextExecution");
        assert!(found[1].1.contains("more than 1000"), "{}", found[1].1);
    }

    #[test]
    fn cron_gaps_at_and_under_fifteen_minutes() {
        let cases = [
            ("*/15 * * * *", true),
            ("0,15,30,45 * * * *", true),
            ("0 8 1 * *", true),
            ("@hourly", true),
            ("@daily", true),
            ("*/14 * * * *", false),
            ("* * * * *", false),
            // Not the first two fires: 08:00 and 09:00 are an hour apart, 09:00 and 09:10 not.
            ("0 8 * * *", true),
            ("0,10 9 * * *", false),
            ("0 0,40 8,10 * * *", true),
            // Across midnight: 23:50 then 00:00 the next day.
            ("0 0,50 0,23 * * *", false),
            // …but not when the next day never matches (only on the 15th).
            ("0 0,50 0,23 15 * *", true),
            // Every second, but only on 29 February: no leap day within a year of now.
            ("* * * 29 2 *", false),
            ("0 30 1 * * Mon", true),
        ];
        for (expr, ok) in cases {
            let found = fields(&cron(expr), Europe::Madrid, NOW, 1000);
            assert_eq!(found.is_empty(), ok, "{expr}: {found:?}");
        }
    }

    #[test]
    fn clocks_going_forward_can_bring_two_fires_together() {
        // 01:50 and 03:00 are 70 minutes apart, except on the night 02:00 does not exist
        // in Madrid (29 March 2026), when they are 10 minutes apart.
        let expr = "0 0,50 1,3 * * *";
        assert!(fields(&cron(expr), UTC, NOW, 1000).is_empty());
        let found = bound_violations(
            &cron(expr),
            Europe::Madrid,
            utc("2026-02-01T00:00:00Z"),
            utc("2026-02-01T00:00:00Z"),
            1000,
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].1.contains("10 min apart"), "{}", found[0].1);
    }

    #[test]
    fn catch_up_counts_up_to_the_limit_and_one_more() {
        let daily = Recurrence::every(Unit::Day, 1).unwrap();
        let tz = UTC;
        // 2026-11-30T08:00 back to 2026-11-01T08:00: 30 occurrences.
        let count = |next: &str, limit| catch_up_count(&daily, tz, utc(next), utc(NOW), limit);
        assert_eq!(count("2026-11-01T08:00:00Z", 1000), 30);
        assert_eq!(count("2026-11-01T08:00:00Z", 29), 30);
        assert_eq!(count("2026-11-01T08:00:00Z", 10), 11);
        assert_eq!(count("2026-12-01T08:00:00Z", 1000), 0);
        assert_eq!(count("1970-01-01T08:00:00Z", 1000), 1001);
    }

    #[test]
    fn catch_up_at_the_limit_is_allowed_and_one_more_is_not() {
        let daily = Recurrence::every(Unit::Day, 1).unwrap();
        assert!(fields(&daily, UTC, "2026-11-01T08:00:00Z", 30).is_empty());
        assert_eq!(
            fields(&daily, UTC, "2026-11-01T08:00:00Z", 29),
            ["nextExecution"]
        );
        // Monthly since 1970 is 682 runs: within the default.
        let monthly = Recurrence::every(Unit::Month, 1).unwrap();
        assert!(fields(&monthly, UTC, "1970-01-01T08:00:00Z", 1000).is_empty());
        // A future nextExecution never catches up.
        let hourly = cron("0 * * * *");
        assert!(fields(&hourly, UTC, "2030-01-01T00:00:00Z", 1).is_empty());
    }
}
