//! CDR sources, the pure part: the parsers that turn what switches and platforms write
//! (Asterisk `Master.csv`, FreeSWITCH CSV and `mod_json_cdr`, CDR-Stats, Webex Calling,
//! Amazon Chime, Cisco CUCM, callcsv's own rows) into [`Record`]s, one at a time from any
//! `Read`, and the numbering plan that turns their numbers into E.164 ([`numbering`]).
//! No database and no HTTP here. The later stages plug in around it: the arrivals (upload,
//! push, spool directory with checkpoints at [`RecordReader::offset`], Webex pull, CLI) feed
//! bytes in; one shared path takes each record through the answered filter, numbering,
//! direction rules (`{field, matchExpr, direction}` on [`Record::fields`]), client / carrier /
//! endpoint mapping by field name, identity (callid + brand), storage and rating.

pub mod arrivals;
pub mod cdr_sources;
pub mod formats;
pub mod import;
pub mod imports;
pub mod numbering;
pub mod pull;
pub mod push;
mod read;
pub mod resolve;
pub mod settings;
pub mod spool;

use std::io::Read;
use std::sync::Arc;

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;

use crate::error::{AppError, AppResult};

pub use read::maybe_gunzip;

/// The record layouts a CDR source can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Callcsv,
    AsteriskCsv,
    FreeswitchCsv,
    FreeswitchJson,
    CdrstatsCsv,
    WebexCdr,
    ChimeJson,
    CucmCdr,
}

impl Format {
    pub const ALL: [Format; 8] = [
        Format::Callcsv,
        Format::AsteriskCsv,
        Format::FreeswitchCsv,
        Format::FreeswitchJson,
        Format::CdrstatsCsv,
        Format::WebexCdr,
        Format::ChimeJson,
        Format::CucmCdr,
    ];

    /// The name the API uses (`asterisk-csv`…).
    pub fn name(self) -> &'static str {
        match self {
            Format::Callcsv => "callcsv",
            Format::AsteriskCsv => "asterisk-csv",
            Format::FreeswitchCsv => "freeswitch-csv",
            Format::FreeswitchJson => "freeswitch-json",
            Format::CdrstatsCsv => "cdrstats-csv",
            Format::WebexCdr => "webex-cdr",
            Format::ChimeJson => "chime-json",
            Format::CucmCdr => "cucm-cdr",
        }
    }

    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Formats whose numbers are already E.164 (only the `+` is checked, no national rules).
    pub fn numbers_are_e164(self) -> bool {
        matches!(self, Format::WebexCdr | Format::ChimeJson)
    }
}

/// How the call ended, as billable calls store it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    Answered,
    Busy,
    NoAnswer,
    Failed,
    Cancelled,
    Congestion,
}

impl Disposition {
    pub fn name(self) -> &'static str {
        match self {
            Disposition::Answered => "answered",
            Disposition::Busy => "busy",
            Disposition::NoAnswer => "noanswer",
            Disposition::Failed => "failed",
            Disposition::Cancelled => "cancelled",
            Disposition::Congestion => "congestion",
        }
    }

    /// The disposition of an unanswered call from its Q.850 cause (or FreeSWITCH's 487 for
    /// a caller who hung up while it rang). Normal clearing without an answer is the caller
    /// giving up too.
    pub fn unanswered_from_cause(cause: Option<u16>) -> Disposition {
        match cause {
            Some(16 | 31 | 487) => Disposition::Cancelled,
            Some(17) => Disposition::Busy,
            Some(18 | 19) => Disposition::NoAnswer,
            Some(34 | 42 | 44) => Disposition::Congestion,
            _ => Disposition::Failed,
        }
    }
}

/// A call's direction, as direction rules give it (`skip`: not imported at all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Inbound,
    Outbound,
    Internal,
    Skip,
}

impl Direction {
    pub fn name(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
            Direction::Internal => "internal",
            Direction::Skip => "skip",
        }
    }

    pub fn from_name(name: &str) -> Option<Direction> {
        [
            Direction::Inbound,
            Direction::Outbound,
            Direction::Internal,
            Direction::Skip,
        ]
        .into_iter()
        .find(|d| d.name() == name)
    }
}

/// When the call started: an instant, or a wall-clock time of the source's `timezone`
/// (Asterisk, FreeSWITCH CSV and CDR-Stats write local times without an offset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    Utc(DateTime<Utc>),
    Local(NaiveDateTime),
}

impl Start {
    /// The instant, reading a local time in `zone` (see [`local_to_utc`]).
    pub fn resolve(self, zone: Tz) -> Result<DateTime<Utc>, String> {
        match self {
            Start::Utc(t) => Ok(t),
            Start::Local(t) => local_to_utc(t, zone),
        }
    }
}

/// A wall-clock time of `zone` as an instant. A time inside a daylight-saving gap never
/// happened there: refused. A time the clock showed twice (the hour repeated when it goes
/// back) takes the earlier instant, as the switch most likely wrote the first one.
pub fn local_to_utc(local: NaiveDateTime, zone: Tz) -> Result<DateTime<Utc>, String> {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, b) => Ok(a.with_timezone(&Utc).min(b.with_timezone(&Utc))),
        LocalResult::None => Err(format!(
            "start {local} does not exist in {zone} (the clock skipped it for daylight saving)"
        )),
    }
}

/// A record's fields by name, as the format names them (`dstchannel`, `variables.uuid`,
/// `Call type`…): what mapping and direction rules look up.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Fields {
    names: Arc<[String]>,
    values: Vec<String>,
}

impl Fields {
    /// `names` and `values` pair up by position; extra values are dropped.
    pub fn new(names: Arc<[String]>, mut values: Vec<String>) -> Fields {
        values.truncate(names.len());
        Fields { names, values }
    }

    pub fn from_pairs(pairs: Vec<(String, String)>) -> Fields {
        let (names, values): (Vec<String>, Vec<String>) = pairs.into_iter().unzip();
        Fields {
            names: names.into(),
            values,
        }
    }

    /// The value of the first field called `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.names
            .iter()
            .position(|n| n == name)
            .and_then(|i| self.values.get(i))
            .map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.names
            .iter()
            .zip(&self.values)
            .map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

/// One call as a source's record describes it, before numbering, direction and mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Where it is in the input: the line where it starts (CSV formats) or its object
    /// number (JSON formats), from 1.
    pub line: u64,
    /// The format's identity of the call (the source's `callidPrefix` is added later).
    pub callid: String,
    pub start: Start,
    /// The numbers as the record has them.
    pub caller: String,
    pub callee: String,
    pub billed_seconds: u64,
    pub disposition: Disposition,
    /// The Q.850 cause, when the format has one.
    pub hangup_cause: Option<u16>,
    /// The carrier code the format's default field gives (trunk, gateway, vendor).
    pub carrier_hint: Option<String>,
    /// The format's own direction field, when it has one.
    pub direction_hint: Option<Direction>,
    /// The B-leg of a bridged FreeSWITCH call: the A-leg already counts the call.
    pub b_leg: bool,
    /// The signalling address the call came from, when the format has it.
    pub source_ip: Option<String>,
    pub fields: Fields,
}

/// A record that could not be read, with where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub line: u64,
    pub callid: Option<String>,
    pub message: String,
}

impl Rejection {
    pub fn new(line: u64, callid: Option<&str>, message: impl Into<String>) -> Rejection {
        Rejection {
            line,
            callid: callid.filter(|c| !c.is_empty()).map(str::to_string),
            message: message.into(),
        }
    }
}

/// What a parser yields for each record of the input.
pub type Outcome = Result<Record, Rejection>;

/// A parser reading one input. Items are `Err` only when the input itself cannot be read
/// (a broken upload, a corrupt gzip stream); a bad record is an `Ok(Err(rejection))` and
/// reading goes on.
pub trait RecordReader: Iterator<Item = AppResult<Outcome>> {
    /// Bytes of the (decompressed) input up to the end of the last complete record read,
    /// rejected or not: where reading resumes. A record still being written (a growing
    /// file's last line without its newline) is not counted.
    fn offset(&self) -> u64;
}

/// How to read an input.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// The source's `columns` (`asterisk-csv`, `freeswitch-csv`).
    pub columns: Option<Vec<String>>,
    /// The input may still be growing (a spool file): a last record without its end is
    /// left for the next read instead of being parsed or rejected.
    pub growing: bool,
}

/// A parser for `format` over `input` (already decompressed, see [`maybe_gunzip`]). Fails
/// only for options the format cannot use (a `columns` list without a field it needs).
pub fn records<'a, R: Read + 'a>(
    format: Format,
    input: R,
    options: &ReadOptions,
) -> AppResult<Box<dyn RecordReader + 'a>> {
    use formats::*;
    if options.columns.is_some() && !matches!(format, Format::AsteriskCsv | Format::FreeswitchCsv) {
        return Err(AppError::invalid_field(
            "columns",
            format!(
                "only for asterisk-csv and freeswitch-csv, not {}",
                format.name()
            ),
        ));
    }
    Ok(match format {
        Format::AsteriskCsv => asterisk_csv::reader(input, options)?,
        Format::FreeswitchCsv => freeswitch_csv::reader(input, options)?,
        Format::FreeswitchJson => freeswitch_json::reader(input, options),
        Format::CdrstatsCsv => cdrstats_csv::reader(input, options),
        Format::WebexCdr => webex_cdr::reader(input, options),
        Format::ChimeJson => chime_json::reader(input, options),
        Format::CucmCdr => cucm_cdr::reader(input, options),
        Format::Callcsv => callcsv::reader(input, options),
    })
}

// ---------------------------------------------------------------------------------------
// Value checks the formats share. Each returns the reason, worded with the field's name.

/// A field the record cannot do without.
fn required<'f>(fields: &'f Fields, name: &str) -> Result<&'f str, String> {
    match fields.get(name).map(str::trim) {
        Some(v) if !v.is_empty() => Ok(v),
        Some(_) => Err(format!("{name}: empty")),
        None => Err(format!("{name}: missing")),
    }
}

/// A phone number field: refused when a spreadsheet has rewritten it in scientific
/// notation (`9.12678E+11`), which loses its last digits for good.
fn number_field(fields: &Fields, name: &str) -> Result<String, String> {
    let value = fields.get(name).unwrap_or("").trim();
    if spreadsheet_mangled(value) {
        return Err(format!(
            "{name}: {value:?} is a number a spreadsheet rewrote in scientific notation, its digits are lost; export the column as text"
        ));
    }
    Ok(value.to_string())
}

/// `9.12678E+11`, `1E+15`: digits, an optional fraction, `E`, an optional sign, digits.
fn spreadsheet_mangled(value: &str) -> bool {
    let Some((mantissa, exponent)) = value.split_once(['E', 'e']) else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, "0"));
    let exponent = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
    digits(int) && digits(frac) && digits(exponent)
}

/// A plain non-negative decimal (`12`, `12.5`): no sign, exponent or separators, which no
/// switch writes and which would hide a wrong column.
fn plain_decimal(name: &str, value: &str) -> Result<Decimal, String> {
    let value = value.trim();
    let (int, frac) = value.split_once('.').unwrap_or((value, "0"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(int)
        .then_some(())
        .filter(|_| digits(frac))
        .and_then(|_| value.parse::<Decimal>().ok())
        .ok_or_else(|| format!("{name}: {value:?} is not a number"))
}

/// Whole seconds from a number of seconds that may carry a fraction, rounded up as
/// billing does.
fn seconds(name: &str, value: &str) -> Result<u64, String> {
    billed(name, plain_decimal(name, value)?)
}

/// Milliseconds to whole seconds, rounded up (FreeSWITCH's `billmsec`).
fn seconds_from_millis(name: &str, value: &str) -> Result<u64, String> {
    billed(name, plain_decimal(name, value)? / Decimal::ONE_THOUSAND)
}

fn billed(name: &str, seconds: Decimal) -> Result<u64, String> {
    crate::rating::billed_seconds(seconds)
        .filter(|s| *s <= crate::rating::MAX_BILLED_SECONDS)
        .ok_or_else(|| format!("{name}: {seconds} seconds is out of range"))
}

/// An integer field (Unix seconds, causes).
fn integer(name: &str, value: &str) -> Result<i64, String> {
    value
        .trim()
        .parse::<i64>()
        .map_err(|_| format!("{name}: {value:?} is not an integer"))
}

/// Unix seconds as an instant, 1970 to 9999 like every time the service takes.
fn epoch(name: &str, value: &str) -> Result<DateTime<Utc>, String> {
    let secs = integer(name, value)?;
    DateTime::from_timestamp(secs, 0)
        .filter(|t| t.timestamp() >= 0 && t.timestamp() < 253_402_300_800)
        .ok_or_else(|| format!("{name}: {value:?} is out of range"))
}

/// A start time as the switch wrote it: with an offset (`2026-01-31T10:00:00Z`,
/// `2026-01-31 10:00:00+01:00`) it is an instant; without one (`2026-01-31 10:00:00`,
/// fractions allowed) it is a local time of the source's time zone.
fn start_time(name: &str, value: &str) -> Result<Start, String> {
    let value = value.trim();
    // The local layout first: it is what the switches with naive times write on every
    // line, and it refuses a value with an offset (trailing text), which comes next.
    for layout in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(value, layout) {
            return Ok(Start::Local(t));
        }
    }
    if let Some(t) = crate::fields::parse_time(value) {
        return Ok(Start::Utc(t.and_utc()));
    }
    for layout in ["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f%:z"] {
        if let Ok(t) = DateTime::parse_from_str(value, layout) {
            return Ok(Start::Utc(t.to_utc()));
        }
    }
    Err(format!(
        "{name}: {value:?} is not a time (2026-01-31 10:00:00, or with an offset)"
    ))
}

/// A Q.850 cause number (1–127); anything else is not one.
fn q850(value: &str) -> Option<u16> {
    value
        .trim()
        .parse::<u16>()
        .ok()
        .filter(|c| (1..=127).contains(c))
}

/// Text that is not empty after trimming.
fn non_empty(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn a_local_time_in_a_dst_gap_is_refused_and_an_ambiguous_one_takes_the_earlier_instant() {
        let madrid: Tz = "Europe/Madrid".parse().unwrap();
        // 2026-03-29 02:00 → 03:00 in Madrid: 02:30 never happened.
        let gap = local_to_utc(naive("2026-03-29 02:30:00"), madrid).unwrap_err();
        assert!(gap.contains("does not exist in Europe/Madrid"), "{gap}");
        // 2026-10-25 03:00 → 02:00: 02:30 happened at 00:30Z (CEST) and at 01:30Z (CET).
        let ambiguous = local_to_utc(naive("2026-10-25 02:30:00"), madrid).unwrap();
        assert_eq!(ambiguous.to_rfc3339(), "2026-10-25T00:30:00+00:00");
        let plain = local_to_utc(naive("2026-07-01 12:00:00"), madrid).unwrap();
        assert_eq!(plain.to_rfc3339(), "2026-07-01T10:00:00+00:00");
        let utc = Start::Utc(plain).resolve(madrid).unwrap();
        assert_eq!(utc, plain);
    }

    #[test]
    fn spreadsheet_numbers_are_recognised() {
        for mangled in ["9.12678E+11", "1E+15", "3.4e11", "9.1E-3"] {
            assert!(spreadsheet_mangled(mangled), "{mangled}");
        }
        for fine in ["912678000000", "+34912345678", "E+11", "9.@", "9.E+1x", ""] {
            assert!(!spreadsheet_mangled(fine), "{fine}");
        }
    }

    #[test]
    fn start_times_with_and_without_offsets() {
        assert_eq!(
            start_time("start", "2026-01-31 10:00:00").unwrap(),
            Start::Local(naive("2026-01-31 10:00:00"))
        );
        let Start::Utc(t) = start_time("start", "2026-01-31 10:00:00+01:00").unwrap() else {
            panic!("an offset gives an instant")
        };
        assert_eq!(t.to_rfc3339(), "2026-01-31T09:00:00+00:00");
        for with_offset in ["2026-01-31T10:00:00Z", "2026-01-31 10:00:00+0100"] {
            assert!(
                matches!(start_time("start", with_offset), Ok(Start::Utc(_))),
                "{with_offset}"
            );
        }
        assert!(start_time("start", "31/01/2026 10:00").is_err());
    }

    #[test]
    fn seconds_are_plain_decimals_rounded_up() {
        assert_eq!(seconds("billsec", "12").unwrap(), 12);
        assert_eq!(seconds("d", "12.001").unwrap(), 13);
        assert_eq!(seconds_from_millis("billmsec", "65039").unwrap(), 66);
        assert_eq!(seconds_from_millis("billmsec", "65000").unwrap(), 65);
        for bad in ["", "-1", "1e3", "abc", "1.", ".5"] {
            assert!(seconds("d", bad).is_err(), "{bad}");
        }
    }
}
