//! A rating plan as an immutable in-memory index, built once per plan version, and the
//! charge of one call against it (shared/spec/rating.md, "How a call is charged").

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, NaiveTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;

use crate::rating::amount::{ExactSum, RoundingMethod};
use crate::rating::prefix::{number_digits, PrefixIndex};
use crate::rating::row::{
    check_money, check_prefix_digits, seconds_of_day, RateRow, WeekdaySet, MAX_UNIT_SECONDS,
};

const DAY: i64 = 86_400;
const WEEK: u32 = 7 * 86_400;

/// Longest billed duration rated (a leap year). Longer is certainly a bad CDR, and the
/// bound keeps the work per call small.
pub const MAX_BILLED_SECONDS: u64 = 366 * 86_400;

/// Plan-wide settings of a rating plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanSettings {
    pub rounding_method: RoundingMethod,
    /// 0..=6 places for the rounded total.
    pub rounding_decimals: u32,
    /// Weekdays and `time_in` of the rows are read in this zone.
    pub timezone: Tz,
}

/// Why a set of rows cannot form a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError {
    /// 0-based index in the `rows` given to [`Plan::new`] of the offending row, if any
    /// (the importer turns it into its own line number).
    pub row: Option<usize>,
    /// What is wrong, naming the field or the rows' content: `"rate: must not be negative"`.
    pub message: String,
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PlanError {}

/// The rated amount of one call. The texts are borrowed from the plan so that rating
/// allocates nothing; `.to_owned()` them to keep them beyond the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Charge<'p> {
    /// Rounded once with the plan's method, its scale equal to the plan's decimals.
    pub amount: Decimal,
    /// The matched prefix (digits, no `+`).
    pub prefix: &'p str,
    /// Destination name of the row that started the call (the one whose connect fee applies).
    pub destination_name: &'p str,
}

/// Why a call cannot be rated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RatingError {
    /// No prefix of the plan matches the callee (or the callee is not a number).
    NoRateForDestination,
    /// A prefix matched but, at some instant of the call that is not already covered by a
    /// rounded-up increment, no row's weekdays and timeIn apply.
    NoRateForTime,
    /// The billed duration exceeds [`MAX_BILLED_SECONDS`].
    DurationOutOfRange,
    /// The amount does not fit a `Decimal` (absurd rates times absurd durations).
    AmountOutOfRange,
}

impl RatingError {
    /// The text stored as the call's `ratingError`.
    pub fn as_str(self) -> &'static str {
        match self {
            RatingError::NoRateForDestination => "no rate for destination",
            RatingError::NoRateForTime => "no rate for time",
            RatingError::DurationOutOfRange => "billed duration out of range",
            RatingError::AmountOutOfRange => "amount out of range",
        }
    }
}

impl fmt::Display for RatingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for RatingError {}

/// An immutable, shareable (`Send + Sync`) index of one version of a rating plan.
///
/// Layout: prefix → destination → a weekly timeline (which rate applies from which second
/// of the local week) → the rate's slots. Identical timelines are stored once, so a plan
/// where every prefix follows the same peak/off-peak pattern keeps one hot timeline in
/// cache. Rating is bound by cache misses on large plans, hence the few, flat arrays.
pub struct Plan {
    settings: PlanSettings,
    /// Every rate and fee of the plan is an integer at this decimal scale (see ExactSum).
    scale: u32,
    /// Prefix → where its rates are; stored in the index itself to save a memory read.
    prefixes: PrefixIndex<Destination>,
    /// The text of each prefix, only needed for the result (see `Slot::destination`).
    destination_prefixes: Vec<Box<str>>,
    /// Per interned timeline, its range in `segments`.
    timelines: Vec<(u32, u32)>,
    segments: Vec<Segment>,
    /// All slots; a destination's are contiguous, a rate's slots in groupIntervalStart order.
    slots: Vec<Slot>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Destination {
    /// Index in `Plan::slots` of this destination's first slot; segments count from it.
    first_slot: u32,
    timeline: u32,
}

impl Destination {
    /// Stored where no prefix matches.
    const NONE: Destination = Destination {
        first_slot: u32::MAX,
        timeline: u32::MAX,
    };
}

/// From `from` (seconds since Monday 00:00 local) until the next segment, the rate whose
/// slots are `slot .. slot + slot_count` (relative to `Destination::first_slot`) applies;
/// `slot_count == 0` means no rate applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Segment {
    from: u32,
    slot: u32,
    slot_count: u32,
}

/// One row of a rate: applies from `from` seconds into the call. Aligned to a cache line
/// so reading a slot costs one miss.
#[repr(align(64))]
struct Slot {
    /// Both at the plan's scale.
    rate: i128,
    connect_fee: i128,
    destination_name: Arc<str>,
    from: u32,
    unit: u32,
    increment: u32,
    /// Index in `Plan::destination_prefixes` (fits the slot's spare bytes).
    destination: u32,
}

impl fmt::Debug for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plan")
            .field("settings", &self.settings)
            .field("destinations", &self.destination_prefixes.len())
            .field("slots", &self.slots.len())
            .field("timelines", &self.timelines.len())
            .finish()
    }
}

impl Plan {
    /// Builds the index. Besides re-checking each row's fields (rows may be built in code),
    /// it rejects tables whose meaning would be ambiguous:
    /// - two rows with the same prefix, weekdays, timeIn and groupIntervalStart;
    /// - a rate (prefix + weekdays + timeIn) without a row at groupIntervalStart 0, since
    ///   the start of a call would have no price;
    /// - two rates of a prefix with the same timeIn whose weekdays overlap without one
    ///   containing the other. When one contains the other (`all` and `6,7`), the smaller
    ///   set is the more specific and wins on its days, as the longer prefix does.
    pub fn new(settings: PlanSettings, rows: Vec<RateRow>) -> Result<Plan, PlanError> {
        if settings.rounding_decimals > 6 {
            return Err(PlanError {
                row: None,
                message: "roundingDecimals: expected 0 to 6".into(),
            });
        }
        for (index, row) in rows.iter().enumerate() {
            check_row(row).map_err(|message| PlanError {
                row: Some(index),
                message,
            })?;
        }
        let scale = rows
            .iter()
            .flat_map(|row| [row.rate, row.connect_fee])
            .map(|value| value.normalize().scale())
            .max()
            .unwrap_or(0);

        // Rows of one prefix, then of one rate, then slots in order, become adjacent.
        let sort_key = |i: usize| {
            let row = &rows[i];
            (
                &row.prefix,
                row.weekdays,
                row.time_in,
                row.group_interval_start,
            )
        };
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_by(|&a, &b| sort_key(a).cmp(&sort_key(b)).then(a.cmp(&b)));
        for pair in order.windows(2) {
            if sort_key(pair[0]) == sort_key(pair[1]) {
                let row = &rows[pair[1]];
                return Err(PlanError {
                    row: Some(pair[1]),
                    message: format!(
                        "prefix {}, weekdays {}, timeIn {}, groupIntervalStart {} is given twice",
                        row.prefix, row.weekdays, row.time_in, row.group_interval_start
                    ),
                });
            }
        }

        let mut builder = Builder {
            rows: &rows,
            scale,
            names: HashMap::new(),
            timeline_ids: HashMap::new(),
            destinations: Vec::new(),
            plan: Plan {
                settings,
                scale,
                prefixes: PrefixIndex::new(&[], Destination::NONE),
                destination_prefixes: Vec::new(),
                timelines: Vec::new(),
                segments: Vec::new(),
                slots: Vec::new(),
            },
        };
        for same_prefix in order.chunk_by(|&a, &b| rows[a].prefix == rows[b].prefix) {
            builder.add_destination(same_prefix)?;
        }
        let mut plan = builder.plan;
        let prefixes: Vec<(&[u8], Destination)> = plan
            .destination_prefixes
            .iter()
            .map(|prefix| prefix.as_bytes())
            .zip(builder.destinations)
            .collect();
        plan.prefixes = PrefixIndex::new(&prefixes, Destination::NONE);
        Ok(plan)
    }

    pub fn settings(&self) -> &PlanSettings {
        &self.settings
    }

    /// Number of distinct prefixes.
    pub fn destination_count(&self) -> usize {
        self.destination_prefixes.len()
    }

    /// Rates a call. `callee` is the number as the switch saw it: a leading `+` is ignored
    /// and any other non-digit means no destination matches. `billed_seconds` is the whole
    /// billed duration (see [`crate::rating::billed_seconds`]).
    ///
    /// The call is walked in elapsed seconds. At each step the applicable slot is the one of
    /// the rate in force at that local instant, for the elapsed time; the step lasts until
    /// the first of: the rate changes (timeIn, weekday, a UTC-offset change), the next slot
    /// begins, or the call ends. The step is rounded up to its slot's increment and the walk
    /// resumes where the billed time ends, so an overlap is never billed twice.
    pub fn charge(
        &self,
        callee: &str,
        start: DateTime<Utc>,
        billed_seconds: u64,
    ) -> Result<Charge<'_>, RatingError> {
        let destination = number_digits(callee)
            .and_then(|digits| self.prefixes.find(digits))
            .ok_or(RatingError::NoRateForDestination)?;
        if billed_seconds > MAX_BILLED_SECONDS {
            return Err(RatingError::DurationOutOfRange);
        }
        let (from, to) = self.timelines[destination.timeline as usize];
        let timeline = &self.segments[from as usize..to as usize];
        let start = start.timestamp();
        let end = start + billed_seconds as i64;
        let mut clock = LocalClock::new(self.settings.timezone);

        let mut sum = ExactSum::ZERO;
        let mut first_slot: Option<&Slot> = None;
        let mut position = 0u64; // elapsed seconds billed so far
        loop {
            let instant = start + position as i64;
            let (local, offset_stable_for) = clock.local_seconds(instant, end)?;
            let week_second = week_second(local);
            let at = timeline.partition_point(|segment| segment.from <= week_second) - 1;
            let segment = timeline[at];
            if segment.slot_count == 0 {
                return Err(RatingError::NoRateForTime);
            }
            let segment_end = timeline.get(at + 1).map_or(WEEK, |next| next.from);
            let from = (destination.first_slot + segment.slot) as usize;
            let rate_slots = &self.slots[from..from + segment.slot_count as usize];
            let (slot, slot_end) = slot_at(rate_slots, position);

            let step_end = billed_seconds
                .min(position + u64::from(segment_end - week_second))
                .min(position + offset_stable_for)
                .min(slot_end);
            let billed = round_up(step_end - position, slot.increment);
            sum.add_per_unit(slot.rate, billed, slot.unit)
                .ok_or(RatingError::AmountOutOfRange)?;
            first_slot.get_or_insert(slot);
            position += billed;
            if position >= billed_seconds {
                break;
            }
        }
        // The loop runs at least once, so this is always Some.
        let first_slot = first_slot.ok_or(RatingError::NoRateForTime)?;
        sum.add(first_slot.connect_fee)
            .ok_or(RatingError::AmountOutOfRange)?;
        let amount = sum
            .round(
                self.scale,
                self.settings.rounding_decimals,
                self.settings.rounding_method,
            )
            .ok_or(RatingError::AmountOutOfRange)?;
        Ok(Charge {
            amount,
            prefix: &self.destination_prefixes[first_slot.destination as usize],
            destination_name: &first_slot.destination_name,
        })
    }
}

/// The slot of a rate (its slots, in order) in force `elapsed` seconds into the call, and
/// where the next slot starts (`u64::MAX` if none).
#[inline]
fn slot_at(slots: &[Slot], elapsed: u64) -> (&Slot, u64) {
    // Rates have one to a few slots: a linear scan beats a binary search. slots[0]
    // starts at 0 (checked when building), so the answer always exists.
    let mut at = 0;
    while at + 1 < slots.len() && u64::from(slots[at + 1].from) <= elapsed {
        at += 1;
    }
    let next = slots
        .get(at + 1)
        .map_or(u64::MAX, |slot| u64::from(slot.from));
    (&slots[at], next)
}

/// Seconds since Monday 00:00 of the local week. Day 0 of the Unix epoch was a Thursday.
#[inline]
fn week_second(local: i64) -> u32 {
    let weekday = (local.div_euclid(DAY) + 3).rem_euclid(7);
    (weekday * DAY + local.rem_euclid(DAY)) as u32
}

#[inline]
fn round_up(seconds: u64, increment: u32) -> u64 {
    match increment {
        1 => seconds,
        _ => seconds.div_ceil(u64::from(increment)) * u64::from(increment),
    }
}

/// UTC → local seconds for a zone, caching the current UTC offset and how long it is known
/// to hold, so a call needs two zone look-ups rather than one per step.
///
/// How long: after a look-up at `t` the offset is checked again at `t + 1 day` (or the call
/// end); if unchanged it is taken to hold in between, otherwise the change is found by
/// bisection. This assumes no zone changes its offset and back within one day, which holds
/// for the tz database's rules.
struct LocalClock {
    timezone: Tz,
    offset: i64,
    valid_until: i64,
}

impl LocalClock {
    fn new(timezone: Tz) -> LocalClock {
        LocalClock {
            timezone,
            offset: 0,
            valid_until: i64::MIN,
        }
    }

    /// Local seconds at `instant`, and for how many seconds from it the offset holds.
    /// `horizon` is the end of the call: nothing beyond it is needed.
    #[inline]
    fn local_seconds(&mut self, instant: i64, horizon: i64) -> Result<(i64, u64), RatingError> {
        if instant >= self.valid_until {
            self.look_up(instant, horizon)?;
        }
        Ok((instant + self.offset, (self.valid_until - instant) as u64))
    }

    fn look_up(&mut self, instant: i64, horizon: i64) -> Result<(), RatingError> {
        let offset = utc_offset(self.timezone, instant)?;
        let probe = (instant + DAY).min(horizon).max(instant + 1);
        let mut valid_until = probe;
        if utc_offset(self.timezone, probe)? != offset {
            // Bisect for the first second with the new offset.
            let (mut same, mut changed) = (instant, probe);
            while changed - same > 1 {
                let middle = same + (changed - same) / 2;
                if utc_offset(self.timezone, middle)? == offset {
                    same = middle;
                } else {
                    changed = middle;
                }
            }
            valid_until = changed;
        }
        self.offset = offset;
        self.valid_until = valid_until;
        Ok(())
    }
}

fn utc_offset(timezone: Tz, instant: i64) -> Result<i64, RatingError> {
    let utc = DateTime::from_timestamp(instant, 0).ok_or(RatingError::DurationOutOfRange)?;
    let offset = timezone.offset_from_utc_datetime(&utc.naive_utc());
    Ok(i64::from(offset.fix().local_minus_utc()))
}

/// Field checks for rows that did not come through `RawRateRow::validate`.
fn check_row(row: &RateRow) -> Result<(), String> {
    check_prefix_digits(&row.prefix).map_err(|e| format!("prefix: {e}"))?;
    if row.destination_name.trim().is_empty() {
        return Err("destinationName: required".into());
    }
    check_money(row.connect_fee).map_err(|e| format!("connectFee: {e}"))?;
    check_money(row.rate).map_err(|e| format!("rate: {e}"))?;
    let seconds = |name: &str, value: u32| {
        if (1..=MAX_UNIT_SECONDS).contains(&value) {
            Ok(())
        } else {
            Err(format!(
                "{name}: expected a whole number of seconds from 1 to {MAX_UNIT_SECONDS}"
            ))
        }
    };
    seconds("rateUnit", row.rate_unit)?;
    seconds("rateIncrement", row.rate_increment)
}

/// A money value as an integer at `scale` (≥ its own scale, checked by `check_money`).
fn scaled(value: Decimal, scale: u32) -> i128 {
    let value = value.normalize();
    value.mantissa() * 10i128.pow(scale - value.scale())
}

struct Builder<'a> {
    rows: &'a [RateRow],
    scale: u32,
    /// Destination names repeat across rows: share one allocation per distinct name.
    names: HashMap<&'a str, Arc<str>>,
    timeline_ids: HashMap<Vec<Segment>, u32>,
    /// Per destination (same order as `Plan::destination_prefixes`), for the prefix index.
    destinations: Vec<Destination>,
    plan: Plan,
}

/// A rate of one destination while building: its weekdays, timeIn, first row and slots
/// (relative to the destination's first slot).
struct RateInfo {
    weekdays: WeekdaySet,
    time_in: NaiveTime,
    row: usize,
    slot: u32,
    slot_count: u32,
}

impl<'a> Builder<'a> {
    /// `indices`: the rows of one prefix, sorted by weekdays, timeIn, groupIntervalStart.
    fn add_destination(&mut self, indices: &[usize]) -> Result<(), PlanError> {
        let rows = self.rows;
        let first_slot = self.plan.slots.len() as u32;
        let mut rates = Vec::new();
        for same_rate in indices.chunk_by(|&a, &b| {
            (rows[a].weekdays, rows[a].time_in) == (rows[b].weekdays, rows[b].time_in)
        }) {
            let head = &rows[same_rate[0]];
            if head.group_interval_start != 0 {
                return Err(PlanError {
                    row: Some(same_rate[0]),
                    message: format!(
                        "prefix {}, weekdays {}, timeIn {}: no row with groupIntervalStart 0, \
                         so the start of a call has no rate",
                        head.prefix, head.weekdays, head.time_in
                    ),
                });
            }
            let slot = self.plan.slots.len() as u32 - first_slot;
            for &index in same_rate {
                let row = &rows[index];
                let name = Arc::clone(
                    self.names
                        .entry(row.destination_name.as_str())
                        .or_insert_with(|| Arc::from(row.destination_name.as_str())),
                );
                self.plan.slots.push(Slot {
                    from: row.group_interval_start,
                    rate: scaled(row.rate, self.scale),
                    connect_fee: scaled(row.connect_fee, self.scale),
                    unit: row.rate_unit,
                    increment: row.rate_increment,
                    destination: self.plan.destination_prefixes.len() as u32,
                    destination_name: name,
                });
            }
            rates.push(RateInfo {
                weekdays: head.weekdays,
                time_in: head.time_in,
                row: same_rate[0],
                slot,
                slot_count: same_rate.len() as u32,
            });
        }

        let segments = weekly_timeline(&rows[indices[0]].prefix, &rates)?;
        let next_id = self.timeline_ids.len() as u32;
        let timeline = *self
            .timeline_ids
            .entry(segments)
            .or_insert_with_key(|segments| {
                let from = self.plan.segments.len() as u32;
                self.plan.segments.extend_from_slice(segments);
                self.plan
                    .timelines
                    .push((from, self.plan.segments.len() as u32));
                next_id
            });
        self.destinations.push(Destination {
            first_slot,
            timeline,
        });
        self.plan
            .destination_prefixes
            .push(Box::from(rows[indices[0]].prefix.as_str()));
        Ok(())
    }
}

/// Which rate applies from which second of the local week: for each day, the rates whose
/// weekdays contain it, the latest timeIn not after the time of day winning (the narrowest
/// weekday set on a tie). Before the day's first timeIn no rate applies. Consecutive
/// segments with the same rate are merged, so a call is only split where the rate changes.
fn weekly_timeline(prefix: &str, rates: &[RateInfo]) -> Result<Vec<Segment>, PlanError> {
    let mut segments: Vec<Segment> = Vec::new();
    let mut push = |from: u32, rate: Option<&RateInfo>| {
        let (slot, slot_count) = rate.map_or((0, 0), |rate| (rate.slot, rate.slot_count));
        if segments
            .last()
            .is_none_or(|last| (last.slot, last.slot_count) != (slot, slot_count))
        {
            segments.push(Segment {
                from,
                slot,
                slot_count,
            });
        }
    };
    for day in 0..7u32 {
        let mut today: Vec<(u32, u32, usize)> = rates
            .iter()
            .enumerate()
            .filter(|(_, rate)| rate.weekdays.contains_index(day))
            .map(|(i, rate)| (seconds_of_day(rate.time_in), rate.weekdays.day_count(), i))
            .collect();
        today.sort_unstable();
        let day_start = day * DAY as u32;
        if today.first().is_none_or(|&(time_in, _, _)| time_in > 0) {
            push(day_start, None);
        }
        for (k, &(time_in, day_count, i)) in today.iter().enumerate() {
            if k > 0 && today[k - 1].0 == time_in {
                continue; // a narrower set with the same timeIn already won
            }
            if let Some(&(next_time, next_count, j)) = today.get(k + 1) {
                if next_time == time_in && next_count == day_count {
                    return Err(PlanError {
                        row: Some(rates[j].row.max(rates[i].row)),
                        message: format!(
                            "prefix {prefix}, timeIn {}: weekdays {} and {} overlap on day {} \
                             without one containing the other, so the rate there is ambiguous",
                            rates[i].time_in,
                            rates[i].weekdays,
                            rates[j].weekdays,
                            day + 1
                        ),
                    });
                }
            }
            push(day_start + time_in, Some(&rates[i]));
        }
    }
    Ok(segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_is_one_cache_line() {
        // The layout comment on `Slot` relies on it.
        assert_eq!(std::mem::size_of::<Slot>(), 64);
        assert_eq!(std::mem::align_of::<Slot>(), 64);
    }

    #[test]
    fn week_seconds_start_on_monday() {
        // 1970-01-05 was a Monday.
        assert_eq!(week_second(4 * DAY), 0);
        assert_eq!(week_second(4 * DAY - 1), WEEK - 1);
        assert_eq!(week_second(0), 3 * DAY as u32); // Thursday 00:00
        assert_eq!(week_second(-1), 3 * DAY as u32 - 1); // Wednesday 23:59:59
    }
}
