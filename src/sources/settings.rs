//! A CDR source's settings as the import path uses them: everything parsed, compiled and
//! defaulted once (the brand's time zone and country filled in), so turning a record into a
//! call never looks at JSON or the database again. `cdr_sources` (the operations) builds it
//! from a stored source; tests build it directly.

use chrono_tz::Tz;
use regex::Regex;

use crate::ids::BrandId;
use crate::sources::numbering::Numbering;
use crate::sources::{Direction, Format, ReadOptions};

/// The Webex `Call type` values imported when a source does not say: the PSTN ones.
pub const DEFAULT_WEBEX_CALL_TYPES: [&str; 6] = [
    "SIP_NATIONAL",
    "SIP_INTERNATIONAL",
    "SIP_MOBILE",
    "SIP_TOLLFREE",
    "SIP_PREMIUM",
    "SIP_INBOUND",
];

/// One `direction` rule: when the record's `field` matches, the call has `direction`.
#[derive(Debug, Clone)]
pub struct DirectionRule {
    pub field: String,
    pub matches: Regex,
    pub direction: Direction,
}

/// Where a record's client, carrier and endpoint codes are read (`mapping`).
#[derive(Debug, Clone, Default)]
pub struct Mapping {
    /// The field whose value equals a client `code`.
    pub client_field: Option<String>,
    /// The field holding the carrier, and the pattern whose first capture group (or whole
    /// match when it has none) is the carrier `code`; no pattern: the whole value.
    pub carrier_field: Option<(String, Option<Regex>)>,
    /// The field whose value equals an endpoint `code` of the call's client.
    pub endpoint_field: Option<String>,
    /// Client id of the brand used when nothing else finds the client.
    pub default_client: Option<String>,
    /// Carrier id of the brand used for outbound calls when nothing else finds the carrier.
    pub default_carrier: Option<String>,
}

/// A source ready to turn records into calls.
#[derive(Debug, Clone)]
pub struct SourceSettings {
    pub id: String,
    pub brand_id: BrandId,
    pub name: String,
    pub format: Format,
    /// The zone of naive local times (the source's, else the brand's).
    pub timezone: Tz,
    /// The parser's options (`columns`); `growing` is set by the arrival.
    pub read: ReadOptions,
    pub answered_only: bool,
    pub numbering: Numbering,
    pub direction_rules: Vec<DirectionRule>,
    pub mapping: Mapping,
    /// `webex-cdr`: the call types imported (others are internal).
    pub call_types: Vec<String>,
    pub callid_prefix: String,
    pub enabled: bool,
}
