//! Rate rows as the importers see them: string fields in, a validated [`RateRow`] out,
//! with error messages that name the field (`"rate: not a decimal"`).

use std::fmt;
use std::str::FromStr;

use chrono::{NaiveTime, Timelike, Weekday};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest prefix accepted; E.164 numbers have at most 15 digits, 20 leaves room for
/// operator-internal routing prefixes.
pub const MAX_PREFIX_DIGITS: usize = 20;
/// Money fields (`connectFee`, `rate`) keep at most this many decimal places once trailing
/// zeros are dropped. Ten is far beyond any tariff sheet and keeps the charge arithmetic
/// in exact 128-bit integers.
pub const MAX_DECIMAL_PLACES: u32 = 10;
/// Money fields are below 10^15 (same reason as [`MAX_DECIMAL_PLACES`]).
pub const MAX_INTEGER_DIGITS: usize = 15;
/// Upper bound of `rateUnit` and `rateIncrement`: one day.
pub const MAX_UNIT_SECONDS: u32 = 86_400;

/// A parse failure of a small value; says what was expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseError {
    expected: &'static str,
}

impl ParseError {
    pub(crate) const fn new(expected: &'static str) -> ParseError {
        ParseError { expected }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected {}", self.expected)
    }
}

impl std::error::Error for ParseError {}

/// A non-empty set of ISO weekdays (Monday = 1 … Sunday = 7).
///
/// Bit 0 is Monday, bit 6 Sunday. The field is private so the set can never be empty.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WeekdaySet(u8);

const WEEKDAYS_EXPECTED: ParseError = ParseError::new("ISO weekdays like 1-5 or 6,7");

impl WeekdaySet {
    /// Every day of the week (`"all"`).
    pub const ALL: WeekdaySet = WeekdaySet(0x7f);

    /// Parses `"all"`, `"1-5"`, `"6,7"`, `"1-3,6"` (ISO numbering, Monday = 1).
    pub fn parse(text: &str) -> Result<WeekdaySet, ParseError> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("all") {
            return Ok(WeekdaySet::ALL);
        }
        let mut bits = 0u8;
        for item in text.split(',') {
            let (first, last) = match item.split_once('-') {
                Some((a, b)) => (iso_day(a)?, iso_day(b)?),
                None => {
                    let day = iso_day(item)?;
                    (day, day)
                }
            };
            if first > last {
                return Err(WEEKDAYS_EXPECTED);
            }
            for day in first..=last {
                bits |= 1 << (day - 1);
            }
        }
        Ok(WeekdaySet(bits))
    }

    /// The set stored as bits (Monday = bit 0), e.g. for a database column.
    pub fn bits(self) -> u8 {
        self.0
    }

    /// Inverse of [`WeekdaySet::bits`]; `None` for an empty set or stray high bits.
    pub fn from_bits(bits: u8) -> Option<WeekdaySet> {
        (bits != 0 && bits & !0x7f == 0).then_some(WeekdaySet(bits))
    }

    pub fn contains(self, day: Weekday) -> bool {
        self.contains_index(day.num_days_from_monday())
    }

    /// `index` counts from Monday = 0.
    pub(crate) fn contains_index(self, index: u32) -> bool {
        self.0 & (1 << index) != 0
    }

    /// Number of days in the set (1..=7).
    pub fn day_count(self) -> u32 {
        self.0.count_ones()
    }
}

fn iso_day(text: &str) -> Result<u8, ParseError> {
    match text.trim().as_bytes() {
        [d @ b'1'..=b'7'] => Ok(d - b'0'),
        _ => Err(WEEKDAYS_EXPECTED),
    }
}

impl Default for WeekdaySet {
    fn default() -> Self {
        WeekdaySet::ALL
    }
}

/// Canonical text: `"all"`, runs of three or more days as `"1-5"`, shorter runs listed
/// (`"6,7"`), so that parse → display is stable.
impl fmt::Display for WeekdaySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == WeekdaySet::ALL {
            return f.write_str("all");
        }
        let mut separator = "";
        let mut day = 1u8;
        while day <= 7 {
            if !self.contains_index(u32::from(day - 1)) {
                day += 1;
                continue;
            }
            let mut last = day;
            while last < 7 && self.contains_index(u32::from(last)) {
                last += 1;
            }
            match last - day {
                0 => write!(f, "{separator}{day}")?,
                1 => write!(f, "{separator}{day},{last}")?,
                _ => write!(f, "{separator}{day}-{last}")?,
            }
            separator = ",";
            day = last + 1;
        }
        Ok(())
    }
}

impl fmt::Debug for WeekdaySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WeekdaySet({self})")
    }
}

impl FromStr for WeekdaySet {
    type Err = ParseError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        WeekdaySet::parse(text)
    }
}

impl Serialize for WeekdaySet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for WeekdaySet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        WeekdaySet::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// One validated rate row of a plan. Several rows with the same prefix, weekdays and
/// `time_in` but different `group_interval_start` are the slots of one rate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RateRow {
    /// Digits only: a leading `+` is stripped by [`RawRateRow::validate`].
    pub prefix: String,
    pub destination_name: String,
    pub connect_fee: Decimal,
    /// Amount per `rate_unit` seconds.
    pub rate: Decimal,
    pub rate_unit: u32,
    pub rate_increment: u32,
    /// Seconds into the call from which this slot applies.
    pub group_interval_start: u32,
    pub weekdays: WeekdaySet,
    /// Local time of day (plan timezone) from which this row applies.
    pub time_in: NaiveTime,
}

/// A rate row exactly as imported (CSV cell or JSON string), before validation.
/// `None`, an empty or an all-blank field means "not given": the default applies, or the
/// field is reported as required. Deserialize expects strings (a JSON importer turns
/// numbers into their text first).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RawRateRow {
    pub prefix: Option<String>,
    pub destination_name: Option<String>,
    pub connect_fee: Option<String>,
    pub rate: Option<String>,
    pub rate_unit: Option<String>,
    pub rate_increment: Option<String>,
    pub group_interval_start: Option<String>,
    pub weekdays: Option<String>,
    pub time_in: Option<String>,
}

impl RawRateRow {
    /// Validates every field and applies the defaults of the spec (connectFee 0, rateUnit 60,
    /// rateIncrement 1, groupIntervalStart 0, weekdays all, timeIn 00:00:00). The error is
    /// the first problem found, prefixed by the API field name: `"rate: not a decimal"`.
    pub fn validate(self) -> Result<RateRow, String> {
        let prefix = required(&self.prefix, "prefix")?;
        let prefix = normalise_prefix(prefix).map_err(|e| format!("prefix: {e}"))?;
        let destination_name = required(&self.destination_name, "destinationName")?.to_owned();
        let connect_fee = match given(&self.connect_fee) {
            Some(text) => parse_money(text).map_err(|e| format!("connectFee: {e}"))?,
            None => Decimal::ZERO,
        };
        let rate = parse_money(required(&self.rate, "rate")?).map_err(|e| format!("rate: {e}"))?;
        let rate_unit = parse_seconds(&self.rate_unit, 60, 1, MAX_UNIT_SECONDS)
            .map_err(|e| format!("rateUnit: {e}"))?;
        let rate_increment = parse_seconds(&self.rate_increment, 1, 1, MAX_UNIT_SECONDS)
            .map_err(|e| format!("rateIncrement: {e}"))?;
        let group_interval_start = parse_seconds(&self.group_interval_start, 0, 0, u32::MAX)
            .map_err(|e| format!("groupIntervalStart: {e}"))?;
        let weekdays = match given(&self.weekdays) {
            Some(text) => WeekdaySet::parse(text).map_err(|e| format!("weekdays: {e}"))?,
            None => WeekdaySet::ALL,
        };
        let time_in = match given(&self.time_in) {
            Some(text) => parse_time_of_day(text).map_err(|e| format!("timeIn: {e}"))?,
            None => NaiveTime::MIN,
        };
        Ok(RateRow {
            prefix,
            destination_name,
            connect_fee,
            rate,
            rate_unit,
            rate_increment,
            group_interval_start,
            weekdays,
            time_in,
        })
    }
}

fn given(field: &Option<String>) -> Option<&str> {
    field.as_deref().map(str::trim).filter(|t| !t.is_empty())
}

fn required<'a>(field: &'a Option<String>, name: &str) -> Result<&'a str, String> {
    given(field).ok_or_else(|| format!("{name}: required"))
}

/// Strips one leading `+`; the rest must be 1..=20 ASCII digits.
pub(crate) fn normalise_prefix(text: &str) -> Result<String, &'static str> {
    let digits = text.strip_prefix('+').unwrap_or(text);
    check_prefix_digits(digits)?;
    Ok(digits.to_owned())
}

pub(crate) fn check_prefix_digits(digits: &str) -> Result<(), &'static str> {
    if digits.is_empty() {
        Err("must not be empty")
    } else if !digits.bytes().all(|b| b.is_ascii_digit()) {
        Err("expected digits with an optional leading +")
    } else if digits.len() > MAX_PREFIX_DIGITS {
        Err("at most 20 digits")
    } else {
        Ok(())
    }
}

/// A plain decimal: digits, optionally a point and more digits, optionally a leading `-`
/// (so `-0` reads as 0; any other negative value is rejected). Exponents, `.5`, `1.`,
/// underscores and `+` are rejected because tariff sheets never need them and accepting
/// them hides typos.
pub(crate) fn parse_money(text: &str) -> Result<Decimal, &'static str> {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (int_part, frac_part) = match unsigned.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (unsigned, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int_part) || !frac_part.is_none_or(all_digits) {
        return Err("not a decimal");
    }
    if int_part.trim_start_matches('0').len() > MAX_INTEGER_DIGITS {
        return Err("too large (at most 15 digits before the point)");
    }
    let frac_significant = frac_part.map_or(0, |f| f.trim_end_matches('0').len());
    if frac_significant > MAX_DECIMAL_PLACES as usize {
        return Err("at most 10 decimal places");
    }
    // Drop trailing zeros past the 10th place so the value fits Decimal's scale; keep the
    // ones the author wrote within it ("0.0120" stays "0.0120").
    let text = match frac_part {
        Some(f) if f.len() > MAX_DECIMAL_PLACES as usize => {
            &text[..text.len() - (f.len() - MAX_DECIMAL_PLACES as usize)]
        }
        _ => text,
    };
    let value = Decimal::from_str(text).map_err(|_| "not a decimal")?;
    if value.is_zero() {
        // "-0" and "-0.00" are zero, not a negative amount.
        return Ok(Decimal::new(0, value.scale()));
    }
    if value.is_sign_negative() {
        return Err("must not be negative");
    }
    Ok(value)
}

/// Checks the money invariants on an already-built value (rows built in code, not parsed).
pub(crate) fn check_money(value: Decimal) -> Result<(), &'static str> {
    if value.is_sign_negative() && !value.is_zero() {
        return Err("must not be negative");
    }
    if value.normalize().scale() > MAX_DECIMAL_PLACES {
        return Err("at most 10 decimal places");
    }
    if value.trunc() >= Decimal::from(10u64.pow(MAX_INTEGER_DIGITS as u32)) {
        return Err("too large (at most 15 digits before the point)");
    }
    Ok(())
}

fn parse_seconds(field: &Option<String>, default: u32, min: u32, max: u32) -> Result<u32, String> {
    let Some(text) = given(field) else {
        return Ok(default);
    };
    let expected = || format!("expected a whole number of seconds from {min} to {max}");
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(expected());
    }
    match text.parse::<u32>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(expected()),
    }
}

/// `HH:MM:SS` or `HH:MM` (hour may have one digit), 00:00:00 to 23:59:59.
pub(crate) fn parse_time_of_day(text: &str) -> Result<NaiveTime, &'static str> {
    const EXPECTED: &str = "expected HH:MM:SS or HH:MM";
    let number = |s: &str, widths: &[usize]| -> Result<u32, &'static str> {
        if widths.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) {
            s.parse().map_err(|_| EXPECTED)
        } else {
            Err(EXPECTED)
        }
    };
    let mut parts = text.split(':');
    let hour = number(parts.next().unwrap_or(""), &[1, 2])?;
    let minute = number(parts.next().ok_or(EXPECTED)?, &[2])?;
    let second = match parts.next() {
        Some(s) => number(s, &[2])?,
        None => 0,
    };
    if parts.next().is_some() {
        return Err(EXPECTED);
    }
    // from_hms_opt would accept second 60 as a leap second only via nanos, so this is exact.
    NaiveTime::from_hms_opt(hour, minute, second).ok_or(EXPECTED)
}

/// Seconds since local midnight.
pub(crate) fn seconds_of_day(time: NaiveTime) -> u32 {
    time.num_seconds_from_midnight()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    fn raw(prefix: &str, name: &str, rate: &str) -> RawRateRow {
        RawRateRow {
            prefix: Some(prefix.into()),
            destination_name: Some(name.into()),
            rate: Some(rate.into()),
            ..RawRateRow::default()
        }
    }

    fn error_of(row: RawRateRow) -> String {
        row.validate().unwrap_err()
    }

    #[test]
    fn weekdays_parse_and_display_round_trip() {
        for (text, canonical, bits) in [
            ("1-5", "1-5", 0b001_1111),
            ("6,7", "6,7", 0b110_0000),
            ("6-7", "6,7", 0b110_0000),
            ("all", "all", 0x7f),
            ("ALL", "all", 0x7f),
            ("1-7", "all", 0x7f),
            ("1-3,6", "1-3,6", 0b010_0111),
            ("7", "7", 0b100_0000),
            ("1,3,5", "1,3,5", 0b001_0101),
            (" 1 - 2 , 4-5 ", "1,2,4,5", 0b001_1011),
            ("5,1-3", "1-3,5", 0b001_0111),
            ("1-3,2-4", "1-4", 0b000_1111),
        ] {
            let set = WeekdaySet::parse(text).unwrap();
            assert_eq!(set.bits(), bits, "{text}");
            assert_eq!(set.to_string(), canonical, "{text}");
            assert_eq!(WeekdaySet::parse(canonical).unwrap(), set, "{text}");
        }
    }

    #[test]
    fn weekdays_rejects_out_of_range_reversed_and_empty() {
        for text in [
            "0", "8", "5-1", "", " ", "1,,2", "1-", "-5", "mon", "1-8", "12", "1;2",
        ] {
            let err = WeekdaySet::parse(text).unwrap_err();
            assert_eq!(
                err.to_string(),
                "expected ISO weekdays like 1-5 or 6,7",
                "{text:?}"
            );
        }
    }

    #[test]
    fn weekdays_contains_iso_days_and_bits_round_trip() {
        let weekend = WeekdaySet::parse("6,7").unwrap();
        assert!(weekend.contains(Weekday::Sat) && weekend.contains(Weekday::Sun));
        assert!(!weekend.contains(Weekday::Fri) && !weekend.contains(Weekday::Mon));
        assert_eq!(weekend.day_count(), 2);
        assert_eq!(WeekdaySet::from_bits(weekend.bits()), Some(weekend));
        assert_eq!(WeekdaySet::from_bits(0), None);
        assert_eq!(WeekdaySet::from_bits(0x80), None);
        assert_eq!(WeekdaySet::default(), WeekdaySet::ALL);
    }

    #[test]
    fn validate_applies_spec_defaults_and_strips_plus() {
        let row = raw("+44", "United Kingdom", "0.0120").validate().unwrap();
        assert_eq!(row.prefix, "44");
        assert_eq!(row.destination_name, "United Kingdom");
        assert_eq!(row.connect_fee, Decimal::ZERO);
        assert_eq!(row.rate, dec("0.012"));
        assert_eq!(
            row.rate.to_string(),
            "0.0120",
            "keeps the scale the author wrote"
        );
        assert_eq!(row.rate_unit, 60);
        assert_eq!(row.rate_increment, 1);
        assert_eq!(row.group_interval_start, 0);
        assert_eq!(row.weekdays, WeekdaySet::ALL);
        assert_eq!(row.time_in, NaiveTime::MIN);
    }

    #[test]
    fn validate_reads_every_field_and_treats_blank_as_absent() {
        let row = RawRateRow {
            prefix: Some(" 44207 ".into()),
            destination_name: Some("London".into()),
            connect_fee: Some("0.15".into()),
            rate: Some("1".into()),
            rate_unit: Some("1".into()),
            rate_increment: Some("60".into()),
            group_interval_start: Some("30".into()),
            weekdays: Some("1-5".into()),
            time_in: Some("18:00".into()),
        }
        .validate()
        .unwrap();
        assert_eq!(row.prefix, "44207");
        assert_eq!(row.connect_fee, dec("0.15"));
        assert_eq!(
            (row.rate_unit, row.rate_increment, row.group_interval_start),
            (1, 60, 30)
        );
        assert_eq!(row.weekdays.to_string(), "1-5");
        assert_eq!(row.time_in, NaiveTime::from_hms_opt(18, 0, 0).unwrap());

        let blank = RawRateRow {
            connect_fee: Some("".into()),
            rate_unit: Some("  ".into()),
            weekdays: Some("".into()),
            time_in: Some("".into()),
            ..raw("1", "US", "0")
        };
        let row = blank.validate().unwrap();
        assert_eq!((row.connect_fee, row.rate_unit), (Decimal::ZERO, 60));
    }

    #[test]
    fn validate_messages_name_the_field() {
        let cases: Vec<(RawRateRow, &str)> = vec![
            (
                RawRateRow {
                    prefix: None,
                    ..raw("", "X", "1")
                },
                "prefix: required",
            ),
            (raw("+", "X", "1"), "prefix: must not be empty"),
            (
                raw("44a", "X", "1"),
                "prefix: expected digits with an optional leading +",
            ),
            (
                raw("++44", "X", "1"),
                "prefix: expected digits with an optional leading +",
            ),
            (
                raw("4 4", "X", "1"),
                "prefix: expected digits with an optional leading +",
            ),
            (
                raw("123456789012345678901", "X", "1"),
                "prefix: at most 20 digits",
            ),
            (raw("44", "  ", "1"), "destinationName: required"),
            (raw("44", "X", ""), "rate: required"),
            (raw("44", "X", "abc"), "rate: not a decimal"),
            (raw("44", "X", "1e-3"), "rate: not a decimal"),
            (raw("44", "X", "1E3"), "rate: not a decimal"),
            (raw("44", "X", ".5"), "rate: not a decimal"),
            (raw("44", "X", "1."), "rate: not a decimal"),
            (raw("44", "X", "+1"), "rate: not a decimal"),
            (raw("44", "X", "1_000"), "rate: not a decimal"),
            (raw("44", "X", "0,5"), "rate: not a decimal"),
            (raw("44", "X", "NaN"), "rate: not a decimal"),
            (raw("44", "X", "-0.01"), "rate: must not be negative"),
            (
                raw("44", "X", "0.00000000001"),
                "rate: at most 10 decimal places",
            ),
            (
                raw("44", "X", "1234567890123456"),
                "rate: too large (at most 15 digits before the point)",
            ),
            (
                RawRateRow {
                    connect_fee: Some("x".into()),
                    ..raw("44", "X", "1")
                },
                "connectFee: not a decimal",
            ),
            (
                RawRateRow {
                    connect_fee: Some("-1".into()),
                    ..raw("44", "X", "1")
                },
                "connectFee: must not be negative",
            ),
            (
                RawRateRow {
                    rate_unit: Some("0".into()),
                    ..raw("44", "X", "1")
                },
                "rateUnit: expected a whole number of seconds from 1 to 86400",
            ),
            (
                RawRateRow {
                    rate_unit: Some("1.5".into()),
                    ..raw("44", "X", "1")
                },
                "rateUnit: expected a whole number of seconds from 1 to 86400",
            ),
            (
                RawRateRow {
                    rate_increment: Some("86401".into()),
                    ..raw("44", "X", "1")
                },
                "rateIncrement: expected a whole number of seconds from 1 to 86400",
            ),
            (
                RawRateRow {
                    rate_increment: Some("-1".into()),
                    ..raw("44", "X", "1")
                },
                "rateIncrement: expected a whole number of seconds from 1 to 86400",
            ),
            (
                RawRateRow {
                    group_interval_start: Some("-5".into()),
                    ..raw("44", "X", "1")
                },
                "groupIntervalStart: expected a whole number of seconds from 0 to 4294967295",
            ),
            (
                RawRateRow {
                    weekdays: Some("8".into()),
                    ..raw("44", "X", "1")
                },
                "weekdays: expected ISO weekdays like 1-5 or 6,7",
            ),
            (
                RawRateRow {
                    time_in: Some("24:00".into()),
                    ..raw("44", "X", "1")
                },
                "timeIn: expected HH:MM:SS or HH:MM",
            ),
            (
                RawRateRow {
                    time_in: Some("18".into()),
                    ..raw("44", "X", "1")
                },
                "timeIn: expected HH:MM:SS or HH:MM",
            ),
        ];
        for (row, message) in cases {
            assert_eq!(error_of(row.clone()), message, "{row:?}");
        }
    }

    #[test]
    fn money_accepts_plain_decimals_and_negative_zero() {
        assert_eq!(parse_money("0.0120"), Ok(dec("0.0120")));
        assert_eq!(parse_money("1"), Ok(Decimal::ONE));
        assert_eq!(parse_money("007.50"), Ok(dec("7.5")));
        let zero = parse_money("-0").unwrap();
        assert!(zero.is_zero() && !zero.is_sign_negative());
        assert_eq!(parse_money("-0.000").unwrap().to_string(), "0.000");
        assert_eq!(parse_money("0.1234567891"), Ok(dec("0.1234567891")));
        // Trailing zeros past the tenth place are harmless.
        assert_eq!(parse_money("0.500000000000000000"), Ok(dec("0.5")));
        assert_eq!(
            parse_money("999999999999999.9999999999"),
            Ok(dec("999999999999999.9999999999"))
        );
    }

    #[test]
    fn time_of_day_forms() {
        let t = |h, m, s| NaiveTime::from_hms_opt(h, m, s).unwrap();
        assert_eq!(parse_time_of_day("18:00:00"), Ok(t(18, 0, 0)));
        assert_eq!(parse_time_of_day("18:00"), Ok(t(18, 0, 0)));
        assert_eq!(parse_time_of_day("8:30"), Ok(t(8, 30, 0)));
        assert_eq!(parse_time_of_day("23:59:59"), Ok(t(23, 59, 59)));
        for bad in [
            "",
            "24:00:00",
            "12:60",
            "12:00:60",
            "12:0",
            "12:00:00:00",
            "12:00:00.5",
            "ab:cd",
            "123:00",
        ] {
            assert!(parse_time_of_day(bad).is_err(), "{bad:?}");
        }
    }
}
