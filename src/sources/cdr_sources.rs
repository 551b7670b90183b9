//! CDR sources, the operations: a brand's feeds of call records (format, time zone,
//! numbering plan, direction rules, how a record finds its client, carrier and endpoint,
//! spool directory, Webex pull), managed by the brand's operators and by platform
//! administrators naming the brand; client administrators have none (403 / 404). Also what
//! the arrivals need: [`settings`] compiles a stored source for the import path, and
//! [`find_for_push`] authenticates a switch by the source's push secret.

use std::path::{Path, PathBuf};

use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::auth::Caller;
use crate::config::{Config, Secret};
use crate::db::{self, brands::Brand, cdr_sources, cdr_sources::CdrSource, DbConnection};
use crate::detection::{self, TransformationRule};
use crate::error::{AppError, AppResult, Validator};
use crate::fields::{check_name, valid_timezone};
use crate::ids::{BrandId, CarrierId, CdrSourceId, ClientId, Id};
use crate::listing::ListParams;
use crate::ops::Resource;
use crate::sources::numbering::{Numbering, DEFAULT_EXTENSION_MAX_DIGITS};
use crate::sources::settings::{DirectionRule, Mapping, SourceSettings, DEFAULT_WEBEX_CALL_TYPES};
use crate::sources::{self, Direction, Format, ReadOptions};
use crate::tenancy::{brand_business, brand_kept, brand_to_write};

/// Where `pull.url` points when a source does not say: Webex Calling's CDR feed.
pub const WEBEX_CDR_FEED: &str = "https://analytics.webexapis.com/v1/cdr_feed";
pub const DEFAULT_PULL_INTERVAL_MINUTES: i64 = 15;
pub const MAX_CALLID_PREFIX_CHARS: usize = 32;
/// Caps that keep a source's settings (compiled for every import) small.
const MAX_LIST_ITEMS: usize = 100;
const MAX_FIELD_NAME_CHARS: usize = 100;
const MAX_URL_CHARS: usize = 2000;
const MAX_TOKEN_CHARS: usize = 4096;
const MAX_PATTERN_CHARS: usize = 255;

const NO_NUMBERING: &str =
    "required: the brand has no country to take the numbering plan from; set numbering here, or the brand's country";

// ---------------------------------------------------------------------------------------
// The stored shapes (JSON columns), which are also what the API shows

/// `numbering`: how the source's numbers become E.164 (see [`Numbering`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NumberingSpec {
    pub country_code: String,
    pub national_prefix: String,
    pub international_prefix: String,
    pub extension_max_digits: usize,
    pub rewrite_rules: Vec<TransformationRule>,
}

impl NumberingSpec {
    fn compile(&self) -> Result<Numbering, String> {
        Numbering::new(
            &self.country_code,
            &self.national_prefix,
            &self.international_prefix,
            self.extension_max_digits,
            &self.rewrite_rules,
        )
    }
}

/// One `direction` rule as given: when `field` matches `matchExpr`, the call is `direction`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectionRuleSpec {
    pub field: String,
    pub match_expr: String,
    pub direction: String,
}

/// `mapping.client` and `mapping.endpoint`: the record field holding the code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldSpec {
    pub field: String,
}

/// `mapping.carrier`: the record field holding the carrier, and the pattern whose first
/// capture group (or whole match) is the carrier `code`; no pattern: the whole value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CarrierFieldSpec {
    pub field: String,
    pub match_expr: Option<String>,
}

/// `mapping`: how a record finds its client, carrier and endpoint.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MappingSpec {
    pub client: Option<FieldSpec>,
    pub carrier: Option<CarrierFieldSpec>,
    pub endpoint: Option<FieldSpec>,
    /// A client id of the brand.
    pub default_client: Option<String>,
    /// A carrier id of the brand.
    pub default_carrier: Option<String>,
}

/// A source's JSON columns, read back.
#[derive(Debug, Clone)]
pub struct Stored {
    pub columns: Option<Vec<String>>,
    pub numbering: Option<NumberingSpec>,
    pub direction: Vec<DirectionRuleSpec>,
    pub mapping: MappingSpec,
    pub call_types: Option<Vec<String>>,
}

/// Reads the JSON columns of `source` (written by this module, so a failure is ours: 500).
pub fn stored(source: &CdrSource) -> AppResult<Stored> {
    fn read<T: serde::de::DeserializeOwned>(
        source: &CdrSource,
        what: &str,
        text: &str,
    ) -> AppResult<T> {
        serde_json::from_str(text).map_err(|e| {
            AppError::internal(format!("cdr source {}: stored {what}: {e}", source.id))
        })
    }
    Ok(Stored {
        columns: match &source.column_names {
            Some(text) => Some(read(source, "columns", text)?),
            None => None,
        },
        numbering: match &source.numbering {
            Some(text) => Some(read(source, "numbering", text)?),
            None => None,
        },
        direction: read(source, "direction rules", &source.direction_rules)?,
        mapping: read(source, "mapping", &source.mapping)?,
        call_types: match &source.call_types {
            Some(text) => Some(read(source, "call types", text)?),
            None => None,
        },
    })
}

fn to_json<T: Serialize>(value: &T) -> AppResult<String> {
    serde_json::to_string(value).map_err(AppError::internal)
}

// ---------------------------------------------------------------------------------------
// Input

/// What create and replace take. Every member but `brand` is read from raw JSON, so that
/// each problem, down to one direction rule's pattern, is reported under its own field
/// (`direction[1].matchExpr`, `numbering.countryCode`, `spool.path`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CdrSourceInput {
    /// Required of platform administrators; everybody else writes to their own brand.
    pub brand: Option<String>,
    pub name: Option<Value>,
    pub format: Option<Value>,
    pub timezone: Option<Value>,
    pub columns: Option<Value>,
    pub answered_only: Option<Value>,
    pub numbering: Option<Value>,
    pub direction: Option<Value>,
    pub mapping: Option<Value>,
    pub call_types: Option<Value>,
    pub spool: Option<Value>,
    pub pull: Option<Value>,
    pub callid_prefix: Option<Value>,
    pub enabled: Option<Value>,
    /// `CALLCSV_SPOOL_ROOT`, from the service's settings (never from the body).
    #[serde(skip)]
    pub spool_root: Option<PathBuf>,
}

impl CdrSourceInput {
    /// Validates against the brand and writes the settings the API owns over `row` (a new
    /// source's first row, or the current one), keeping what it does not own (id, brand,
    /// push secret, the runner's state).
    fn apply(self, conn: &mut DbConnection, mut row: CdrSource) -> AppResult<CdrSource> {
        let brand = db::brands::find(conn, &BrandId::from_db(row.brand_id.clone()))?
            .ok_or_else(|| AppError::invalid_field("brand", "not found"))?;
        let mut v = Validator::new();

        let name = required_text(&mut v, "name", self.name.as_ref());
        if let Some(name) = &name {
            check_name(&mut v, "name", name, 100);
        }
        let format = required_text(&mut v, "format", self.format.as_ref()).and_then(|f| {
            let found = Format::from_name(&f);
            if found.is_none() {
                v.error("format", format!("one of {}", format_names().join(", ")));
            }
            found
        });
        let timezone = text(&mut v, "timezone", self.timezone.as_ref());
        if let Some(tz) = &timezone {
            v.check(
                valid_timezone(tz),
                "timezone",
                "not an IANA time zone (e.g. Europe/Madrid)",
            );
        }
        let columns = check_columns(&mut v, format, self.columns.as_ref());
        let answered_only =
            boolean(&mut v, "answeredOnly", self.answered_only.as_ref()).unwrap_or(true);
        let numbering = check_numbering(&mut v, &brand, self.numbering);
        let direction = check_direction(&mut v, self.direction.as_ref());
        let mapping = check_mapping(conn, &mut v, &brand.id, self.mapping.as_ref())?;
        let call_types = check_call_types(&mut v, format, self.call_types.as_ref());
        let spool = match object(&mut v, "spool", self.spool.as_ref(), &["path", "pattern"]) {
            Some(spool) => check_spool(&mut v, spool, self.spool_root.as_deref()),
            None => None,
        };
        let pull_members = &["url", "token", "intervalMinutes", "hasToken"];
        let pull = match object(&mut v, "pull", self.pull.as_ref(), pull_members) {
            Some(_) if format.is_some_and(|f| f != Format::WebexCdr) => {
                v.error("pull", "only for webex-cdr sources");
                None
            }
            Some(pull) => check_pull(&mut v, pull, &row),
            None => None,
        };
        let callid_prefix =
            text(&mut v, "callidPrefix", self.callid_prefix.as_ref()).unwrap_or_default();
        v.check(
            callid_prefix.chars().count() <= MAX_CALLID_PREFIX_CHARS,
            "callidPrefix",
            format!("at most {MAX_CALLID_PREFIX_CHARS} characters"),
        );
        v.check(
            !callid_prefix.chars().any(char::is_control),
            "callidPrefix",
            "must not contain control characters",
        );
        let enabled = boolean(&mut v, "enabled", self.enabled.as_ref()).unwrap_or(true);
        v.finish()?;

        let (Some(name), Some(format)) = (name, format) else {
            return Err(AppError::internal("cdr source: validated input incomplete"));
        };
        row.name = name.trim().to_string();
        row.format = format.name().to_string();
        row.timezone = timezone;
        row.column_names = columns.as_ref().map(to_json).transpose()?;
        row.answered_only = answered_only;
        row.numbering = numbering.as_ref().map(to_json).transpose()?;
        row.direction_rules = to_json(&direction)?;
        row.mapping = to_json(&mapping)?;
        row.call_types = call_types.as_ref().map(to_json).transpose()?;
        (row.spool_path, row.spool_pattern) = match spool {
            Some((path, pattern)) => (Some(path), Some(pattern)),
            None => (None, None),
        };
        (row.pull_url, row.pull_token, row.pull_interval_minutes) = match pull {
            Some(pull) => (
                Some(pull.url),
                Some(pull.token),
                Some(pull.interval_minutes),
            ),
            None => (None, None, None),
        };
        row.callid_prefix = callid_prefix;
        row.enabled = enabled;
        row.updated_at = db::now();
        Ok(row)
    }
}

fn format_names() -> Vec<&'static str> {
    Format::ALL.iter().map(|f| f.name()).collect()
}

// ---- JSON members, each error under its field ------------------------------------------

/// A string; `None` when absent or null (a wrong type is recorded).
fn text(v: &mut Validator, field: &str, raw: Option<&Value>) -> Option<String> {
    match raw {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            v.error(field, "must be a string");
            None
        }
    }
}

fn required_text(v: &mut Validator, field: &str, raw: Option<&Value>) -> Option<String> {
    let found = text(v, field, raw);
    if found.is_none() && !v.has(field) {
        v.error(field, "required");
    }
    found
}

fn boolean(v: &mut Validator, field: &str, raw: Option<&Value>) -> Option<bool> {
    match raw {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            v.error(field, "must be true or false");
            None
        }
    }
}

/// A whole number from `min` to `max`; `None` when absent or null.
fn whole(v: &mut Validator, field: &str, raw: Option<&Value>, min: i64, max: i64) -> Option<i64> {
    match raw {
        None | Some(Value::Null) => None,
        Some(value) => match value.as_i64() {
            Some(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                v.error(field, format!("a whole number from {min} to {max}"));
                None
            }
        },
    }
}

/// An object whose members are among `known`; `None` when absent or null.
fn object<'a>(
    v: &mut Validator,
    field: &str,
    raw: Option<&'a Value>,
    known: &[&str],
) -> Option<&'a Map<String, Value>> {
    match raw {
        None | Some(Value::Null) => None,
        Some(Value::Object(map)) => {
            if let Some(unknown) = map.keys().find(|k| !known.contains(&k.as_str())) {
                v.error(
                    field,
                    format!("unknown member {unknown:?} (expected {})", known.join(", ")),
                );
            }
            Some(map)
        }
        Some(_) => {
            v.error(field, format!("must be an object {{{}}}", known.join(", ")));
            None
        }
    }
}

/// An array of at most `max` items; `None` when absent or null.
fn array<'a>(
    v: &mut Validator,
    field: &str,
    raw: Option<&'a Value>,
    max: usize,
) -> Option<&'a [Value]> {
    match raw {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) if items.len() <= max => Some(items),
        Some(Value::Array(_)) => {
            v.error(field, format!("at most {max} items"));
            None
        }
        Some(_) => {
            v.error(field, "must be an array");
            None
        }
    }
}

/// The name of a record field (`accountcode`, `variables.uuid`, `Call type`).
fn field_name(v: &mut Validator, field: &str, raw: Option<&Value>) -> Option<String> {
    let name = required_text(v, field, raw)?;
    check_name(v, field, &name, MAX_FIELD_NAME_CHARS);
    Some(name.trim().to_string())
}

fn pattern(v: &mut Validator, field: &str, raw: Option<&Value>, required: bool) -> Option<String> {
    let expr = match required {
        true => required_text(v, field, raw)?,
        false => text(v, field, raw)?,
    };
    if let Err(e) = detection::compile_match(&expr) {
        v.error(field, e);
    }
    Some(expr)
}

// ---- the settings -----------------------------------------------------------------------

/// `columns`: names in order, only where the format's layout is configurable; the parser
/// itself says whether a needed field is missing.
fn check_columns(
    v: &mut Validator,
    format: Option<Format>,
    raw: Option<&Value>,
) -> Option<Vec<String>> {
    let items = array(v, "columns", raw, MAX_LIST_ITEMS)?;
    let Some(format) = format else {
        return None; // the format's own error is reported
    };
    if !matches!(format, Format::AsteriskCsv | Format::FreeswitchCsv) {
        v.error(
            "columns",
            "only for asterisk-csv and freeswitch-csv sources",
        );
        return None;
    }
    let before = v.error_count();
    let columns: Vec<String> = items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| field_name(v, &format!("columns[{i}]"), Some(item)))
        .collect();
    if v.error_count() > before {
        return None;
    }
    let options = ReadOptions {
        columns: Some(columns.clone()),
        growing: false,
    };
    if let Err(e) = sources::records(format, std::io::empty(), &options) {
        match e.fields.is_empty() {
            true => v.error("columns", e.message),
            false => e.fields.into_iter().for_each(|(f, m)| v.error(&f, m)),
        }
    }
    Some(columns)
}

/// `numbering`: what is given, the rest from the brand's country's conventions; absent:
/// `None` (the brand's country at import time), which needs the brand to have one.
fn check_numbering(v: &mut Validator, brand: &Brand, raw: Option<Value>) -> Option<NumberingSpec> {
    let country = brand.country.as_deref().and_then(Numbering::for_country);
    let members = [
        "countryCode",
        "nationalPrefix",
        "internationalPrefix",
        "extensionMaxDigits",
        "rewriteRules",
    ];
    let Some(map) = object(v, "numbering", raw.as_ref(), &members) else {
        if country.is_none() && !v.has("numbering") {
            v.error("numbering", NO_NUMBERING);
        }
        return None;
    };
    let before = v.error_count();
    let part = |v: &mut Validator, key: &str, default: Option<&str>| {
        let field = format!("numbering.{key}");
        match text(v, &field, map.get(key)) {
            Some(given) => Some(given),
            None if v.has(&field) => None,
            None => match default {
                Some(d) => Some(d.to_string()),
                None => {
                    v.error(
                        &field,
                        "required (the brand has no country to take it from)",
                    );
                    None
                }
            },
        }
    };
    let country_code = part(
        v,
        "countryCode",
        country.as_ref().map(Numbering::country_code),
    );
    let national_prefix = part(
        v,
        "nationalPrefix",
        Some(country.as_ref().map_or("", Numbering::national_prefix)),
    );
    let international_prefix = part(
        v,
        "internationalPrefix",
        country.as_ref().map(Numbering::international_prefix),
    );
    let extension_max_digits = whole(
        v,
        "numbering.extensionMaxDigits",
        map.get("extensionMaxDigits"),
        0,
        8,
    )
    .map_or(DEFAULT_EXTENSION_MAX_DIGITS, |n| n as usize);
    let rewrite_rules = detection::check_rules(
        v,
        "numbering.rewriteRules",
        map.get("rewriteRules").cloned(),
    );
    if v.error_count() > before {
        return None;
    }
    let spec = NumberingSpec {
        country_code: country_code?,
        national_prefix: national_prefix?,
        international_prefix: international_prefix?,
        extension_max_digits,
        rewrite_rules,
    };
    // The plan's own checks, worded "part: problem".
    if let Err(e) = spec.compile() {
        let (field, message) = match e.split_once(": ") {
            Some((part, message)) if members.contains(&part) => {
                (format!("numbering.{part}"), message.to_string())
            }
            _ => ("numbering".to_string(), e.clone()),
        };
        v.error(&field, message);
        return None;
    }
    Some(spec)
}

fn check_direction(v: &mut Validator, raw: Option<&Value>) -> Vec<DirectionRuleSpec> {
    let Some(items) = array(v, "direction", raw, MAX_LIST_ITEMS) else {
        return vec![];
    };
    let directions = ["inbound", "outbound", "internal", "skip"];
    let mut rules = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = format!("direction[{i}]");
        let Some(rule) = object(v, &at, Some(item), &["field", "matchExpr", "direction"]) else {
            v.error(&at, "must be an object {field, matchExpr, direction}");
            continue;
        };
        let field = field_name(v, &format!("{at}.field"), rule.get("field"));
        let match_expr = pattern(v, &format!("{at}.matchExpr"), rule.get("matchExpr"), true);
        let direction_field = format!("{at}.direction");
        let direction = required_text(v, &direction_field, rule.get("direction"));
        if let Some(d) = &direction {
            v.check(
                Direction::from_name(d).is_some(),
                &direction_field,
                format!("one of {}", directions.join(", ")),
            );
        }
        if let (Some(field), Some(match_expr), Some(direction)) = (field, match_expr, direction) {
            rules.push(DirectionRuleSpec {
                field,
                match_expr,
                direction,
            });
        }
    }
    rules
}

fn check_mapping(
    conn: &mut DbConnection,
    v: &mut Validator,
    brand_id: &str,
    raw: Option<&Value>,
) -> AppResult<MappingSpec> {
    let members = [
        "client",
        "carrier",
        "endpoint",
        "defaultClient",
        "defaultCarrier",
    ];
    let Some(map) = object(v, "mapping", raw, &members) else {
        return Ok(MappingSpec::default());
    };
    let by_field = |v: &mut Validator, key: &str| {
        let at = format!("mapping.{key}");
        let spec = object(v, &at, map.get(key), &["field"])?;
        field_name(v, &format!("{at}.field"), spec.get("field")).map(|field| FieldSpec { field })
    };
    let client = by_field(v, "client");
    let endpoint = by_field(v, "endpoint");
    let carrier = object(
        v,
        "mapping.carrier",
        map.get("carrier"),
        &["field", "matchExpr"],
    )
    .and_then(|spec| {
        let field = field_name(v, "mapping.carrier.field", spec.get("field"));
        let match_expr = pattern(v, "mapping.carrier.matchExpr", spec.get("matchExpr"), false);
        field.map(|field| CarrierFieldSpec { field, match_expr })
    });

    let default_client = text(v, "mapping.defaultClient", map.get("defaultClient"));
    let default_client = match default_client.as_deref().map(crate::ids::canonical) {
        None => None,
        Some(None) => {
            v.error("mapping.defaultClient", "not a UUID");
            None
        }
        Some(Some(id)) => {
            let found = db::clients::find(conn, &ClientId::from_db(id.clone()))?;
            let ours = found.is_some_and(|c| c.brand_id == brand_id);
            v.check(ours, "mapping.defaultClient", "no such client in the brand");
            Some(id)
        }
    };
    let default_carrier = text(v, "mapping.defaultCarrier", map.get("defaultCarrier"));
    let default_carrier = match default_carrier.as_deref().map(crate::ids::canonical) {
        None => None,
        Some(None) => {
            v.error("mapping.defaultCarrier", "not a UUID");
            None
        }
        Some(Some(id)) => {
            let found = db::carriers::find(conn, &CarrierId::from_db(id.clone()))?;
            let ours = found.is_some_and(|c| c.brand_id == brand_id);
            v.check(
                ours,
                "mapping.defaultCarrier",
                "no such carrier in the brand",
            );
            Some(id)
        }
    };
    Ok(MappingSpec {
        client,
        carrier,
        endpoint,
        default_client,
        default_carrier,
    })
}

fn check_call_types(
    v: &mut Validator,
    format: Option<Format>,
    raw: Option<&Value>,
) -> Option<Vec<String>> {
    let items = array(v, "callTypes", raw, MAX_LIST_ITEMS)?;
    if format.is_some_and(|f| f != Format::WebexCdr) {
        v.error("callTypes", "only for webex-cdr sources");
        return None;
    }
    if items.is_empty() {
        v.error(
            "callTypes",
            "at least one (leave it out or null for the PSTN ones)",
        );
        return None;
    }
    Some(
        items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| field_name(v, &format!("callTypes[{i}]"), Some(item)))
            .collect(),
    )
}

/// `spool`: a directory inside `CALLCSV_SPOOL_ROOT` (relative paths are taken from the
/// root), kept canonical; and a file name pattern.
fn check_spool(
    v: &mut Validator,
    spool: &Map<String, Value>,
    root: Option<&Path>,
) -> Option<(String, String)> {
    let Some(root) = root else {
        v.error("spool", "spool sources need CALLCSV_SPOOL_ROOT");
        return None;
    };
    let path = required_text(v, "spool.path", spool.get("path"));
    let file_pattern = required_text(v, "spool.pattern", spool.get("pattern"));
    let directory = path.and_then(|path| match spool_directory(root, &path) {
        Ok(dir) => Some(dir),
        Err(e) => {
            v.error("spool.path", e);
            None
        }
    });
    if let Some(p) = &file_pattern {
        if let Err(e) = check_file_pattern(p) {
            v.error("spool.pattern", e);
        }
    }
    Some((directory?, file_pattern?))
}

/// The canonical directory `path` names (symlinks followed), if it is inside `root` (itself
/// canonical). Whether a path outside exists is not told apart from its not existing.
pub fn spool_directory(root: &Path, path: &str) -> Result<String, String> {
    let outside = || {
        format!(
            "{path:?} is not an existing directory inside CALLCSV_SPOOL_ROOT ({})",
            root.display()
        )
    };
    if path.trim().is_empty() || path.contains('\0') {
        return Err("must name a directory".into());
    }
    let real = std::fs::canonicalize(root.join(path)).map_err(|_| outside())?;
    if !real.starts_with(root) || !real.is_dir() {
        return Err(outside());
    }
    real.into_os_string()
        .into_string()
        .map_err(|_| "the directory's name is not UTF-8".to_string())
}

/// A file name pattern: `*` any run of characters, `?` one; no directories.
fn check_file_pattern(pattern: &str) -> Result<(), String> {
    if pattern.is_empty() || pattern.chars().count() > MAX_PATTERN_CHARS {
        return Err(format!("1 to {MAX_PATTERN_CHARS} characters"));
    }
    if pattern.contains('/') || pattern.chars().any(char::is_control) {
        return Err("a file name pattern (e.g. Master.csv*): no /, no control characters".into());
    }
    if pattern == "." || pattern == ".." {
        return Err("a file name pattern (e.g. Master.csv*)".into());
    }
    Ok(())
}

/// Whether a file name matches a spool `pattern` (`*` any run of characters, `?` one
/// character, the rest literally).
pub fn file_pattern_matches(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    // The classic greedy matcher with one backtrack point: linear in practice.
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some(c) if *c == '?' || *c == n[ni] => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

struct Pull {
    url: String,
    token: String,
    interval_minutes: i32,
}

/// `pull`: the feed's URL (Webex's by default), its token (write-only: absent keeps the
/// stored one, unless the URL changes, so a stored token is never sent somewhere new) and
/// the interval.
fn check_pull(v: &mut Validator, pull: &Map<String, Value>, current: &CdrSource) -> Option<Pull> {
    let url = text(v, "pull.url", pull.get("url")).unwrap_or_else(|| WEBEX_CDR_FEED.into());
    let parsed = url::Url::parse(&url).ok().filter(|u| {
        matches!(u.scheme(), "https" | "http") && u.host_str().is_some_and(|h| !h.is_empty())
    });
    v.check(
        parsed.is_some() && url.len() <= MAX_URL_CHARS,
        "pull.url",
        format!("an http(s) URL of at most {MAX_URL_CHARS} characters"),
    );
    let token = match text(v, "pull.token", pull.get("token")) {
        Some(token) => {
            let fits = !token.is_empty()
                && token.len() <= MAX_TOKEN_CHARS
                && token.bytes().all(|b| b.is_ascii_graphic());
            v.check(
                fits,
                "pull.token",
                format!("1 to {MAX_TOKEN_CHARS} printable ASCII characters without spaces"),
            );
            Some(token)
        }
        None if v.has("pull.token") => None,
        None => match (&current.pull_token, &current.pull_url) {
            (Some(token), Some(stored_url)) if *stored_url == url => Some(token.clone()),
            (Some(_), Some(_)) => {
                v.error("pull.token", "required again when the url changes");
                None
            }
            _ => {
                v.error("pull.token", "required");
                None
            }
        },
    };
    let interval = whole(
        v,
        "pull.intervalMinutes",
        pull.get("intervalMinutes"),
        1,
        1440,
    )
    .unwrap_or(DEFAULT_PULL_INTERVAL_MINUTES);
    Some(Pull {
        url,
        token: token?,
        interval_minutes: interval as i32,
    })
}

// ---------------------------------------------------------------------------------------
// The push secret

/// A new push secret (32 random bytes, hex) and its SHA-256, which is what is stored: a
/// secret of this entropy needs no slow hash, and a push checks it at every request.
fn new_push_secret() -> (Secret, String) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = hex::encode(bytes);
    let hash = secret_hash(&secret);
    (Secret(secret), hash)
}

pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Equal hashes, compared in time independent of where they differ.
pub(crate) fn same_hash(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The source a push names, if `secret` is its push secret: 401 when the secret is missing
/// or wrong (also for an unknown source, so ids cannot be probed), 403 when the source is
/// disabled (said only to whoever holds the secret).
pub fn find_for_push(
    conn: &mut DbConnection,
    id: &CdrSourceId,
    secret: Option<&str>,
) -> AppResult<CdrSource> {
    let refused = || {
        AppError::unauthorized(
            "the source's push secret is required (HTTP Basic password or Bearer token)",
        )
    };
    let given = secret_hash(secret.filter(|s| !s.is_empty()).ok_or_else(refused)?);
    let source = cdr_sources::find(conn, id)?
        .filter(|s| same_hash(&s.push_secret_hash, &given))
        .ok_or_else(refused)?;
    if !source.enabled {
        return Err(AppError::forbidden("the CDR source is disabled"));
    }
    Ok(source)
}

// ---------------------------------------------------------------------------------------
// The compiled settings

/// `source` ready for the import path: the brand's time zone and country filled in where
/// the source has none, patterns compiled, JSON read. A source without numbering whose brand
/// has no country (which the operations refuse to create) is a 422 on `numbering`.
pub fn settings(conn: &mut DbConnection, source: &CdrSource) -> AppResult<SourceSettings> {
    let brand = db::brands::find(conn, &BrandId::from_db(source.brand_id.clone()))?
        .ok_or_else(|| AppError::internal(format!("cdr source {}: brand missing", source.id)))?;
    compile(source, &brand)
}

/// [`settings`] once the brand is known.
pub fn compile(source: &CdrSource, brand: &Brand) -> AppResult<SourceSettings> {
    let broken = |what: &str, e: String| {
        AppError::internal(format!("cdr source {}: stored {what}: {e}", source.id))
    };
    let stored = stored(source)?;
    let format =
        Format::from_name(&source.format).ok_or_else(|| broken("format", source.format.clone()))?;
    let zone = source.timezone.as_deref().unwrap_or(&brand.timezone);
    let timezone = zone
        .parse::<chrono_tz::Tz>()
        .map_err(|e| broken("time zone", e.to_string()))?;
    let numbering = match &stored.numbering {
        Some(spec) => spec.compile().map_err(|e| broken("numbering", e))?,
        None => brand
            .country
            .as_deref()
            .and_then(Numbering::for_country)
            .ok_or_else(|| AppError::invalid_field("numbering", NO_NUMBERING))?,
    };
    let direction_rules = stored
        .direction
        .iter()
        .map(|rule| -> AppResult<DirectionRule> {
            Ok(DirectionRule {
                field: rule.field.clone(),
                matches: detection::compile_match(&rule.match_expr)
                    .map_err(|e| broken("direction rule", e))?,
                direction: Direction::from_name(&rule.direction)
                    .ok_or_else(|| broken("direction", rule.direction.clone()))?,
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    let m = stored.mapping;
    let carrier_field = match m.carrier {
        Some(c) => {
            let matches = c
                .match_expr
                .as_deref()
                .map(detection::compile_match)
                .transpose()
                .map_err(|e| broken("carrier pattern", e))?;
            Some((c.field, matches))
        }
        None => None,
    };
    Ok(SourceSettings {
        id: source.id.clone(),
        brand_id: BrandId::from_db(source.brand_id.clone()),
        name: source.name.clone(),
        format,
        timezone,
        read: ReadOptions {
            columns: stored.columns,
            growing: false,
        },
        answered_only: source.answered_only,
        numbering,
        direction_rules,
        mapping: Mapping {
            client_field: m.client.map(|c| c.field),
            carrier_field,
            endpoint_field: m.endpoint.map(|e| e.field),
            default_client: m.default_client,
            default_carrier: m.default_carrier,
        },
        call_types: stored.call_types.unwrap_or_else(|| {
            DEFAULT_WEBEX_CALL_TYPES
                .iter()
                .map(|t| t.to_string())
                .collect()
        }),
        callid_prefix: source.callid_prefix.clone(),
        enabled: source.enabled,
    })
}

// ---------------------------------------------------------------------------------------
// The operations

/// What the operations return: the stored source, and its push secret when the operation
/// has just generated it (create, [`CdrSources::rotate_secret`]): the only moment the secret
/// exists in clear.
#[derive(Clone, Debug)]
pub struct Source {
    pub row: CdrSource,
    pub push_secret: Option<Secret>,
}

impl Source {
    fn without_secret(row: CdrSource) -> Source {
        Source {
            row,
            push_secret: None,
        }
    }
}

pub struct CdrSources;

impl Resource for CdrSources {
    type Id = CdrSourceId;
    type Object = Source;
    type Input = CdrSourceInput;

    const FILTERS: &'static [&'static str] = &["brand", "name", "format", "enabled"];
    const ORDER: &'static [&'static str] = &["name", "createdAt"];

    fn id_of(source: &Source) -> &str {
        &source.row.id
    }

    fn find(conn: &mut DbConnection, caller: &Caller, id: &CdrSourceId) -> AppResult<Source> {
        let found = cdr_sources::find(conn, id)?;
        brand_business::visible(caller, found, |s| &s.brand_id).map(Source::without_secret)
    }

    fn may_list(caller: &Caller) -> AppResult<()> {
        brand_business::may_manage(caller)
    }

    fn list(
        conn: &mut DbConnection,
        caller: &Caller,
        params: &ListParams,
    ) -> AppResult<(i64, Vec<Source>)> {
        let scope = brand_business::filter(caller, params)?;
        let filter = cdr_sources::Filter {
            brand: scope.brand,
            name: scope.name,
            format: params.filter_choice("format", &format_names())?,
            enabled: params.filter_bool("enabled")?,
            nothing: scope.nothing,
        };
        let (total, rows) = cdr_sources::list(conn, &filter, params)?;
        Ok((
            total,
            rows.into_iter().map(Source::without_secret).collect(),
        ))
    }

    fn may_create(caller: &Caller) -> AppResult<()> {
        brand_business::may_manage(caller)
    }

    fn create(
        conn: &mut DbConnection,
        caller: &Caller,
        input: CdrSourceInput,
    ) -> AppResult<Source> {
        Self::may_create(caller)?;
        let brand = brand_to_write(conn, caller, input.brand.as_deref())?;
        let (secret, hash) = new_push_secret();
        let row = input.apply(conn, first_row(brand, hash))?;
        cdr_sources::insert(conn, &row)?;
        Ok(Source {
            row,
            push_secret: Some(secret),
        })
    }

    fn save(
        conn: &mut DbConnection,
        _caller: &Caller,
        current: Source,
        input: CdrSourceInput,
    ) -> AppResult<Source> {
        brand_kept(
            input.brand.as_deref(),
            &current.row.brand_id,
            "a CDR source",
        )?;
        let row = input.apply(conn, current.row)?;
        cdr_sources::update(conn, &row)?;
        crate::sources::push::source_changed();
        Ok(Source::without_secret(row))
    }

    /// Its imports and spool checkpoints go with it; its calls stay (their `source` is
    /// history).
    fn remove(
        conn: &mut DbConnection,
        _caller: &Caller,
        current: Source,
        _force: bool,
    ) -> AppResult<()> {
        if cdr_sources::delete(conn, &current.row.id)? == 0 {
            return Err(AppError::not_found()); // deleted by a concurrent request
        }
        crate::sources::push::source_changed();
        Ok(())
    }

    fn with_config(mut input: CdrSourceInput, config: &Config) -> CdrSourceInput {
        input.spool_root = config.spool_root.clone();
        input
    }
}

impl CdrSources {
    /// A new push secret for the source, returned this once; the old one stops working.
    pub fn rotate_secret(
        conn: &mut DbConnection,
        caller: &Caller,
        id: &CdrSourceId,
    ) -> AppResult<Source> {
        let current = Self::find(conn, caller, id)?;
        Self::may_change(caller, &current)?;
        let (secret, hash) = new_push_secret();
        let mut row = current.row;
        (row.push_secret_hash, row.updated_at) = (hash, db::now());
        cdr_sources::set_push_secret_hash(conn, &row.id, &row.push_secret_hash, row.updated_at)?;
        crate::sources::push::source_changed();
        Ok(Source {
            row,
            push_secret: Some(secret),
        })
    }
}

/// The row a new source of `brand` starts from, before its input is applied.
fn first_row(brand: BrandId, push_secret_hash: String) -> CdrSource {
    let now = db::now();
    CdrSource {
        id: db::new_id(),
        brand_id: brand.into(),
        name: String::new(),
        format: String::new(),
        timezone: None,
        column_names: None,
        answered_only: true,
        numbering: None,
        direction_rules: "[]".into(),
        mapping: "{}".into(),
        call_types: None,
        spool_path: None,
        spool_pattern: None,
        pull_url: None,
        pull_token: None,
        pull_interval_minutes: None,
        callid_prefix: String::new(),
        enabled: true,
        push_secret_hash,
        last_error: None,
        last_pulled_at: None,
        pull_checkpoint: None,
        lease_owner: None,
        lease_until: None,
        created_at: now,
        updated_at: now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;
    use crate::ops::testing::{brand, caller, database, operator_of, platform};
    use crate::sources::numbering::Number;
    use crate::tenancy::brands::BrandInput;
    use crate::tenancy::{carriers::CarrierInput, Brands, Carriers};
    use serde_json::json;

    fn input(body: Value) -> CdrSourceInput {
        serde_json::from_value(body).expect("input")
    }

    fn set_brand(conn: &mut DbConnection, brand: &BrandId, country: Option<&str>, tz: &str) {
        let mut row = db::brands::find(conn, brand).unwrap().unwrap();
        row.country = country.map(str::to_string);
        row.timezone = tz.into();
        db::brands::update(conn, &row).unwrap();
    }

    fn fields(err: AppError) -> Vec<String> {
        assert_eq!(err.status.as_u16(), 422, "{err}");
        err.fields.into_keys().collect()
    }

    #[test]
    fn settings_fill_in_the_brands_defaults_and_compile_the_rules() {
        let (_dir, mut conn) = database();
        let conn = &mut conn;
        let a = brand(conn, "A");
        set_brand(conn, &a, Some("ES"), "Europe/Madrid");
        let op = operator_of(&a);
        let trunk = CarrierInput {
            brand: None,
            name: "Transit".into(),
            description: None,
            code: Some("trunk1".into()),
        };
        let carrier = Carriers::create(conn, &op, trunk).unwrap().id;
        let created = CdrSources::create(
            conn,
            &op,
            input(json!({
                "name": " PBX 1 ", "format": "asterisk-csv",
                "direction": [{"field": "dcontext", "matchExpr": "^from-trunk$", "direction": "inbound"}],
                "mapping": {
                    "client": {"field": "accountcode"},
                    "carrier": {"field": "dstchannel", "matchExpr": "^SIP/([^-]+)"},
                    "defaultCarrier": carrier,
                },
                "callidPrefix": "pbx1-",
            })),
        )
        .unwrap();
        let secret = created.push_secret.clone().unwrap().0;
        assert_eq!(secret.len(), 64, "32 random bytes in hex");
        assert_eq!(created.row.push_secret_hash, secret_hash(&secret));
        assert_eq!(created.row.name, "PBX 1");
        assert_eq!(
            (
                created.row.timezone.as_deref(),
                created.row.numbering.as_deref()
            ),
            (None, None),
            "the brand's, read at import time"
        );

        let s = settings(conn, &created.row).unwrap();
        assert_eq!(
            (s.id.as_str(), s.name.as_str()),
            (created.row.id.as_str(), "PBX 1")
        );
        assert_eq!(s.brand_id, a);
        assert_eq!(s.format, Format::AsteriskCsv);
        assert_eq!(s.timezone, chrono_tz::Europe::Madrid);
        assert_eq!(s.numbering.country_code(), "34");
        assert_eq!(
            s.numbering.normalise("912345678").unwrap(),
            Number::E164("+34912345678".into())
        );
        assert!(s.answered_only && s.enabled);
        assert_eq!(s.callid_prefix, "pbx1-");
        assert!(s.read.columns.is_none() && !s.read.growing);
        let rule = &s.direction_rules[0];
        assert_eq!(
            (rule.field.as_str(), rule.direction),
            ("dcontext", Direction::Inbound)
        );
        assert!(rule.matches.is_match("from-trunk") && !rule.matches.is_match("from-internal"));
        assert_eq!(s.mapping.client_field.as_deref(), Some("accountcode"));
        assert_eq!(s.mapping.endpoint_field, None);
        let (field, pattern) = s.mapping.carrier_field.clone().unwrap();
        assert_eq!(field, "dstchannel");
        assert_eq!(
            &pattern.unwrap().captures("SIP/trunk1-00000a1b").unwrap()[1],
            "trunk1"
        );
        assert_eq!(s.mapping.default_carrier.as_deref(), Some(carrier.as_str()));
        assert_eq!(s.mapping.default_client, None);
        assert_eq!(s.call_types, DEFAULT_WEBEX_CALL_TYPES.map(String::from));

        // The brand's later changes are followed.
        set_brand(conn, &a, Some("GB"), "Europe/London");
        let s = settings(conn, &created.row).unwrap();
        assert_eq!(s.timezone, chrono_tz::Europe::London);
        assert_eq!(
            s.numbering.normalise("02079460000").unwrap(),
            Number::E164("+442079460000".into())
        );

        // The source's own settings win; a partial numbering takes the rest from the country.
        let own = CdrSources::create(
            conn,
            &op,
            input(json!({
                "name": "Webex", "format": "webex-cdr", "timezone": "America/New_York",
                "numbering": {"extensionMaxDigits": 6, "rewriteRules": [
                    {"matchExpr": "^9(\\d{10,})$", "replaceExpr": "$1", "priority": 1}
                ]},
                "callTypes": ["SIP_NATIONAL"], "answeredOnly": false, "enabled": false,
            })),
        )
        .unwrap();
        let s = settings(conn, &own.row).unwrap();
        assert_eq!(s.timezone, chrono_tz::America::New_York);
        assert_eq!(
            (
                s.numbering.country_code(),
                s.numbering.national_prefix(),
                s.numbering.extension_max_digits()
            ),
            ("44", "0", 6)
        );
        assert_eq!(
            s.numbering.normalise("902079460000").unwrap(),
            Number::E164("+442079460000".into()),
            "rewrite rules first"
        );
        assert_eq!(s.call_types, ["SIP_NATIONAL"]);
        assert!(!s.answered_only && !s.enabled);
        set_brand(conn, &a, Some("US"), "UTC");
        let s = settings(conn, &own.row).unwrap();
        assert_eq!(s.numbering.country_code(), "44", "stored, not the brand's");

        // Columns reach the parser's options.
        let columns = [
            "caller_id_number",
            "destination_number",
            "start_stamp",
            "answer_stamp",
            "billsec",
            "uuid",
        ];
        let fs = CdrSources::create(
            conn,
            &op,
            input(json!({"name": "FS", "format": "freeswitch-csv", "columns": columns})),
        )
        .unwrap();
        let s = settings(conn, &fs.row).unwrap();
        assert_eq!(s.read.columns.unwrap(), columns);
    }

    #[test]
    fn a_source_takes_its_numbering_plan_from_itself_or_its_brands_country() {
        let (_dir, mut conn) = database();
        let conn = &mut conn;
        let a = brand(conn, "A");
        let op = operator_of(&a);
        let bare = |name: &str| input(json!({"name": name, "format": "chime-json"}));
        let err = CdrSources::create(conn, &op, bare("Chime")).unwrap_err();
        assert!(err.fields["numbering"].contains("brand's country"), "{err}");
        let err = CdrSources::create(
            conn,
            &op,
            input(json!({"name": "X", "format": "chime-json", "numbering": {"countryCode": "34"}})),
        )
        .unwrap_err();
        assert_eq!(fields(err), ["numbering.internationalPrefix"]);
        let err = CdrSources::create(
            conn,
            &op,
            input(json!({"name": "X", "format": "chime-json", "numbering": {
                "countryCode": "3x", "internationalPrefix": "00", "extensionMaxDigits": 9,
                "rewriteRules": [{"matchExpr": "(", "replaceExpr": "", "priority": 1}],
                "dialPlan": 1,
            }})),
        )
        .unwrap_err();
        assert_eq!(
            fields(err),
            [
                "numbering",
                "numbering.extensionMaxDigits",
                "numbering.rewriteRules[0].matchExpr"
            ]
        );
        let err = CdrSources::create(
            conn,
            &op,
            input(json!({"name": "X", "format": "chime-json", "numbering": {
                "countryCode": "3x", "internationalPrefix": "00"}})),
        )
        .unwrap_err();
        assert_eq!(err.fields["numbering.countryCode"], "1 to 3 digits");
        let explicit = json!({"countryCode": "34", "internationalPrefix": "00"});
        let own = CdrSources::create(
            conn,
            &op,
            input(json!({"name": "Own", "format": "chime-json", "numbering": explicit})),
        )
        .unwrap();
        let stored: NumberingSpec =
            serde_json::from_str(own.row.numbering.as_deref().unwrap()).unwrap();
        assert_eq!(
            (stored.national_prefix.as_str(), stored.extension_max_digits),
            ("", DEFAULT_EXTENSION_MAX_DIGITS)
        );

        // With a country, a bare source follows it; the country cannot go while it does.
        set_brand(conn, &a, Some("ES"), "Europe/Madrid");
        let follows = CdrSources::create(conn, &op, bare("Chime")).unwrap();
        let brand_input = |country: Option<&str>| BrandInput {
            name: "A".into(),
            timezone: None,
            language: None,
            currency: None,
            email: None,
            country: country.map(str::to_string),
        };
        let err = Brands::replace(conn, &platform(), &a, brand_input(None)).unwrap_err();
        assert!(err.fields["country"].contains("1 CDR source"), "{err}");
        let moved = Brands::replace(conn, &platform(), &a, brand_input(Some("pt"))).unwrap();
        assert_eq!(moved.country.as_deref(), Some("PT"), "stored in capitals");
        let err = Brands::replace(conn, &platform(), &a, brand_input(Some("XX"))).unwrap_err();
        assert_eq!(fields(err), ["country"]);
        let id = CdrSourceId::from_db(follows.row.id);
        CdrSources::delete(conn, &op, &id, false).unwrap();
        let cleared = Brands::replace(conn, &platform(), &a, brand_input(None)).unwrap();
        assert_eq!(cleared.country, None);
    }

    #[test]
    fn every_bad_field_is_named() {
        let (_dir, mut conn) = database();
        let conn = &mut conn;
        let (a, b) = (brand(conn, "A"), brand(conn, "B"));
        set_brand(conn, &a, Some("ES"), "Europe/Madrid");
        let op = operator_of(&a);
        let theirs = Carriers::create(
            conn,
            &operator_of(&b),
            CarrierInput {
                brand: None,
                name: "Theirs".into(),
                description: None,
                code: None,
            },
        )
        .unwrap()
        .id;
        let err = CdrSources::create(
            conn,
            &op,
            input(json!({
                "name": "", "format": "asterisk-csv", "timezone": "Mars/Base",
                "columns": ["src", "dst"], "answeredOnly": "yes",
                "direction": [{"field": "x", "matchExpr": "(", "direction": "sideways"}, 3],
                "mapping": {"client": {}, "carrier": {"field": "dstchannel", "matchExpr": "["},
                            "defaultClient": "nope", "defaultCarrier": theirs, "other": 1},
                "callTypes": ["SIP_NATIONAL"],
                "pull": {"token": "t"},
                "callidPrefix": "x".repeat(33), "enabled": 1,
            })),
        )
        .unwrap_err();
        assert_eq!(
            fields(err),
            [
                "answeredOnly",
                "callTypes",
                "callidPrefix",
                "columns",
                "direction[0].direction",
                "direction[0].matchExpr",
                "direction[1]",
                "enabled",
                "mapping",
                "mapping.carrier.matchExpr",
                "mapping.client.field",
                "mapping.defaultCarrier",
                "mapping.defaultClient",
                "name",
                "pull",
                "timezone",
            ]
        );
        let err = CdrSources::create(conn, &op, input(json!({"format": "csv"}))).unwrap_err();
        assert_eq!(fields(err), ["format", "name"]);
        let err = CdrSources::create(
            conn,
            &op,
            input(json!({"name": "W", "format": "webex-cdr", "pull": {
                "url": "ftp://x", "intervalMinutes": 0}})),
        )
        .unwrap_err();
        assert_eq!(
            fields(err),
            ["pull.intervalMinutes", "pull.token", "pull.url"]
        );
    }

    #[test]
    fn the_pull_token_is_write_only_and_kept_only_for_the_same_url() {
        let (_dir, mut conn) = database();
        let conn = &mut conn;
        let a = brand(conn, "A");
        set_brand(conn, &a, Some("US"), "UTC");
        let op = operator_of(&a);
        let created = CdrSources::create(
            conn,
            &op,
            input(json!({"name": "W", "format": "webex-cdr", "pull": {"token": "tok-1"}})),
        )
        .unwrap();
        assert_eq!(
            (
                created.row.pull_url.as_deref(),
                created.row.pull_token.as_deref(),
                created.row.pull_interval_minutes
            ),
            (Some(WEBEX_CDR_FEED), Some("tok-1"), Some(15))
        );
        assert!(!format!("{:?}", created.row).contains("tok-1"));
        let id = CdrSourceId::from_db(created.row.id.clone());
        let body = |pull: Value| input(json!({"name": "W", "format": "webex-cdr", "pull": pull}));
        let kept =
            CdrSources::replace(conn, &op, &id, body(json!({"intervalMinutes": 60}))).unwrap();
        assert_eq!(kept.row.pull_token.as_deref(), Some("tok-1"));
        let moved = CdrSources::replace(
            conn,
            &op,
            &id,
            body(json!({"url": "https://evil.example/"})),
        );
        assert_eq!(fields(moved.unwrap_err()), ["pull.token"]);
        let moved = CdrSources::replace(
            conn,
            &op,
            &id,
            body(json!({"url": "http://127.0.0.1:9/feed", "token": "tok-2"})),
        )
        .unwrap();
        assert_eq!(moved.row.pull_token.as_deref(), Some("tok-2"));
        let dropped = CdrSources::replace(conn, &op, &id, body(Value::Null)).unwrap();
        assert_eq!((dropped.row.pull_url, dropped.row.pull_token), (None, None));
        let again = CdrSources::replace(conn, &op, &id, body(json!({})));
        assert_eq!(fields(again.unwrap_err()), ["pull.token"]);
    }

    #[test]
    fn push_secrets_are_checked_by_hash_and_rotate() {
        let (_dir, mut conn) = database();
        let conn = &mut conn;
        let a = brand(conn, "A");
        set_brand(conn, &a, Some("ES"), "Europe/Madrid");
        let op = operator_of(&a);
        let created = CdrSources::create(
            conn,
            &op,
            input(json!({"name": "FS", "format": "freeswitch-json"})),
        )
        .unwrap();
        let id = CdrSourceId::from_db(created.row.id.clone());
        let secret = created.push_secret.unwrap().0;
        assert_eq!(
            find_for_push(conn, &id, Some(&secret)).unwrap().id,
            id.as_str()
        );
        for wrong in [None, Some(""), Some("nope"), Some(&secret[1..])] {
            let err = find_for_push(conn, &id, wrong).unwrap_err();
            assert_eq!(err.status.as_u16(), 401, "{wrong:?}");
        }
        let unknown = CdrSourceId::generate();
        assert_eq!(
            find_for_push(conn, &unknown, Some(&secret))
                .unwrap_err()
                .status
                .as_u16(),
            401,
            "an unknown source looks like a wrong secret"
        );

        let rotated = CdrSources::rotate_secret(conn, &op, &id).unwrap();
        let new_secret = rotated.push_secret.unwrap().0;
        assert_ne!(new_secret, secret);
        assert_eq!(
            find_for_push(conn, &id, Some(&secret))
                .unwrap_err()
                .status
                .as_u16(),
            401
        );
        find_for_push(conn, &id, Some(&new_secret)).unwrap();
        assert!(CdrSources::find(conn, &op, &id)
            .unwrap()
            .push_secret
            .is_none());

        CdrSources::update(conn, &op, &id, |_| {
            Ok(input(
                json!({"name": "FS", "format": "freeswitch-json", "enabled": false}),
            ))
        })
        .unwrap();
        let err = find_for_push(conn, &id, Some(&new_secret)).unwrap_err();
        assert_eq!(err.status.as_u16(), 403);
        let err = find_for_push(conn, &id, Some(&secret)).unwrap_err();
        assert_eq!(
            err.status.as_u16(),
            401,
            "disabled is said only to the secret's holder"
        );

        // Another brand's operator cannot rotate it.
        let b = brand(conn, "B");
        let err = CdrSources::rotate_secret(conn, &operator_of(&b), &id).unwrap_err();
        assert_eq!(err.code, "not_found");
    }

    #[test]
    fn spool_directories_stay_inside_the_root() {
        let (_dir, mut conn) = database();
        let conn = &mut conn;
        let a = brand(conn, "A");
        set_brand(conn, &a, Some("ES"), "Europe/Madrid");
        let op = operator_of(&a);
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("spool");
        std::fs::create_dir_all(root.join("pbx1")).unwrap();
        std::fs::create_dir_all(tmp.path().join("outside")).unwrap();
        std::os::unix::fs::symlink(tmp.path().join("outside"), root.join("escape")).unwrap();
        std::os::unix::fs::symlink(root.join("pbx1"), root.join("alias")).unwrap();
        std::fs::write(root.join("file"), "x").unwrap();
        let root = root.canonicalize().unwrap();
        let with_spool = |spool: Value, root: Option<&Path>| {
            let mut input = input(json!({"name": "S", "format": "asterisk-csv", "spool": spool}));
            input.spool_root = root.map(Path::to_path_buf);
            input
        };
        let spool = json!({"path": "pbx1", "pattern": "Master.csv*"});
        let err = CdrSources::create(conn, &op, with_spool(spool.clone(), None)).unwrap_err();
        assert_eq!(err.fields["spool"], "spool sources need CALLCSV_SPOOL_ROOT");
        let outside = tmp.path().join("outside").to_string_lossy().into_owned();
        for path in [
            "escape",
            "../outside",
            outside.as_str(),
            "missing",
            "file",
            "",
        ] {
            let spool = json!({"path": path, "pattern": "*.csv"});
            let err = CdrSources::create(conn, &op, with_spool(spool, Some(&root))).unwrap_err();
            assert_eq!(fields(err), ["spool.path"], "{path:?}");
        }
        for pattern in ["a/b", "", ".."] {
            let spool = json!({"path": "pbx1", "pattern": pattern});
            let err = CdrSources::create(conn, &op, with_spool(spool, Some(&root))).unwrap_err();
            assert_eq!(fields(err), ["spool.pattern"], "{pattern:?}");
        }
        let created = CdrSources::create(
            conn,
            &op,
            with_spool(
                json!({"path": "alias", "pattern": "Master.csv*"}),
                Some(&root),
            ),
        )
        .unwrap();
        let canonical = root.join("pbx1").to_string_lossy().into_owned();
        assert_eq!(created.row.spool_path.as_deref(), Some(canonical.as_str()));
        assert_eq!(created.row.spool_pattern.as_deref(), Some("Master.csv*"));
    }

    #[test]
    fn file_patterns_match_like_a_shell() {
        for (pattern, name) in [
            ("Master.csv*", "Master.csv"),
            ("Master.csv*", "Master.csv.1"),
            ("*.csv", "a.csv"),
            ("*", "anything"),
            ("cdr-????.json", "cdr-2026.json"),
            ("a*b*c", "aXXbYYc"),
            ("a*b", "abab"),
        ] {
            assert!(file_pattern_matches(pattern, name), "{pattern} {name}");
        }
        for (pattern, name) in [
            ("Master.csv*", "master.csv"),
            ("*.csv", "a.csv.gz"),
            ("cdr-????.json", "cdr-26.json"),
            ("a*b*c", "aXXbYY"),
            ("", "a"),
        ] {
            assert!(!file_pattern_matches(pattern, name), "{pattern} {name}");
        }
    }

    #[test]
    fn sources_stay_inside_their_brand() {
        let (_dir, mut conn) = database();
        let conn = &mut conn;
        let (a, b) = (brand(conn, "A"), brand(conn, "B"));
        set_brand(conn, &a, Some("ES"), "Europe/Madrid");
        let (op_a, op_b) = (operator_of(&a), operator_of(&b));
        let body = || input(json!({"name": "PBX", "format": "asterisk-csv"}));
        let created = CdrSources::create(conn, &op_a, body()).unwrap();
        let id = CdrSourceId::from_db(created.row.id.clone());
        assert_eq!(
            CdrSources::find(conn, &op_b, &id).unwrap_err().code,
            "not_found"
        );
        let mut params = ListParams::default();
        params.filters.insert("brand".into(), a.to_string());
        assert_eq!(CdrSources::list(conn, &op_b, &params).unwrap().0, 0);
        assert_eq!(CdrSources::list(conn, &platform(), &params).unwrap().0, 1);
        let client_admin = caller(Role::Client, Some(&a), Some("c"));
        assert_eq!(
            CdrSources::find(conn, &client_admin, &id).unwrap_err().code,
            "not_found"
        );
        assert_eq!(
            CdrSources::list(conn, &client_admin, &params)
                .unwrap_err()
                .code,
            "forbidden"
        );
        let err = CdrSources::create(conn, &client_admin, body()).unwrap_err();
        assert_eq!(err.code, "forbidden");
        let err = CdrSources::create(conn, &platform(), body()).unwrap_err();
        assert!(err.fields.contains_key("brand"), "{err}");
        let named = input(json!({"brand": a, "name": "PBX", "format": "asterisk-csv"}));
        let err = CdrSources::create(conn, &platform(), named).unwrap_err();
        assert_eq!(err.status.as_u16(), 409, "name unique in the brand");
        let moved = input(json!({"brand": b, "name": "PBX", "format": "asterisk-csv"}));
        let err = CdrSources::replace(conn, &platform(), &id, moved).unwrap_err();
        assert!(err.fields.contains_key("brand"), "{err}");
    }
}
