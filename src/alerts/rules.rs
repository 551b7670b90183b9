//! The `/alert_rules` operations: who may manage which rule, and every field rule of
//! alerts.md. Brand operators manage every rule of their brand; a client administrator only
//! its own client's client-level rules, which never see cost nor carriers.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::Value;

use crate::auth::{Caller, Role};
use crate::db::alerts::{self as store, AlertRule};
use crate::db::{self, DbConnection};
use crate::error::{AppError, AppResult, Validator};
use crate::fields::{check_name, reference};
use crate::ids::{AlertRuleId, BrandId, CarrierId, ClientId, Id};
use crate::listing::ListParams;
use crate::ops::Resource;
use crate::tenancy;

pub const BRAND_LEVEL: &str = "brand";
pub const CLIENT_LEVEL: &str = "client";

pub const SPEND: &str = "spend";
pub const DESTINATION: &str = "destination";
pub const QUALITY: &str = "quality";
pub const VELOCITY: &str = "velocity";
pub const KINDS: &[&str] = &[SPEND, DESTINATION, QUALITY, VELOCITY];

pub const MEASURES: &[&str] = &["price", "cost", "minutes", "calls"];
pub const SPEND_WINDOWS: &[&str] = &["hour", "day", "week", "month"];
pub const QUALITY_WINDOWS: &[&str] = &["hour", "day"];
pub const SPEND_PER: &[&str] = &["client", "endpoint", "carrier"];
pub const VELOCITY_PER: &[&str] = &["endpoint", "caller", "client"];
pub const MODES: &[&str] = &["allow", "block"];
pub const METRICS: &[&str] = &["asr", "acd", "calls", "minutes"];
pub const CONDITIONS: &[&str] = &[
    "below",
    "above",
    "dropsBy",
    "risesBy",
    "dropsByPercent",
    "risesByPercent",
];
pub const COMPARE_TO: &[&str] = &["fixed", "previousWindow", "sameWindowLastWeek"];
const DIRECTIONS: &[&str] = &["inbound", "outbound"];

const MAX_NAME: usize = 40;
pub const DEFAULT_MIN_CALLS: i64 = 20;
const MAX_COUNT: i64 = 1_000_000_000;
const MAX_LIST: usize = 500;
const MAX_URL: usize = 2000;

/// A rule with the time zone its calendar windows are in (its owner's: the client's for a
/// client-level rule, else the brand's), and, right after the webhook's signing secret was
/// made, that secret (shown this once, never again).
#[derive(Debug, Clone)]
pub struct ZonedRule {
    pub rule: AlertRule,
    pub timezone: String,
    pub revealed_secret: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookInput {
    pub url: Option<String>,
    /// Shown once at creation; accepted back (a client sending what it got) but ignored.
    #[serde(default)]
    pub secret: Option<IgnoredAny>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlertRuleInput {
    pub brand: Option<String>,
    pub client: Option<String>,
    pub name: Option<String>,
    pub enabled: Option<bool>,
    pub kind: Option<String>,
    pub client_type: Option<String>,
    pub carrier: Option<String>,
    pub endpoint_type: Option<String>,
    pub endpoint_id: Option<String>,
    pub direction: Option<String>,
    /// Comma list of ISO alpha-2 codes.
    pub destination_country: Option<String>,
    pub email: Option<String>,
    pub webhook: Option<WebhookInput>,
    pub notification_template: Option<String>,
    // spend
    pub measure: Option<String>,
    pub window: Option<String>,
    pub per: Option<String>,
    /// A decimal, as a JSON string (exact) or number.
    pub threshold: Option<Value>,
    // destination
    pub mode: Option<String>,
    pub countries: Option<Vec<String>>,
    pub prefixes: Option<Vec<String>>,
    // quality
    pub metric: Option<String>,
    pub condition: Option<String>,
    pub value: Option<Value>,
    pub compare_to: Option<String>,
    pub min_calls: Option<i64>,
    // velocity
    pub max_calls: Option<i64>,
    pub minutes: Option<i64>,
}

/// What is settled about a rule before its input is read.
struct Owner {
    brand_id: String,
    level: &'static str,
    client_id: Option<String>,
}

/// The fields of a row no input sets.
struct Kept {
    id: String,
    created_at: NaiveDateTime,
    webhook_secret: Option<String>,
}

/// A decimal from a JSON string or number, or why not.
fn decimal(raw: &Value) -> Result<Decimal, String> {
    let text = match raw {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        _ => return Err("a decimal number (e.g. \"100.50\")".into()),
    };
    // Plain digits with an optional sign and fraction: no exponents, no `_`.
    let body = text.strip_prefix('-').unwrap_or(&text);
    let (int, frac) = body.split_once('.').unwrap_or((body, "0"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || !digits(frac) || int.len() > 15 || frac.len() > 6 {
        return Err(format!(
            "a decimal number with at most 15 digits before the point and 6 after, got {text:?}"
        ));
    }
    Decimal::from_str(&text).map_err(|e| format!("{text:?}: {e}"))
}

/// A webhook signing secret: 32 random bytes, hex.
fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}

/// Checks that `field` holds one of `choices`, and records on `v` if not.
fn one_of(v: &mut Validator, field: &str, value: Option<&str>, choices: &[&str]) {
    if let Some(value) = value {
        v.check(
            choices.contains(&value),
            field,
            format!("one of {}", choices.join(", ")),
        );
    }
}

/// An E.164 prefix: `+` and 1 to 15 digits.
fn valid_prefix(p: &str) -> bool {
    p.strip_prefix('+')
        .is_some_and(|d| (1..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
}

/// A webhook URL: `http` or `https` with a host (addresses are checked when sending).
fn check_url(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    if raw.len() > MAX_URL {
        return Err(format!("at most {MAX_URL} characters"));
    }
    let url = url::Url::parse(raw).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("http or https only".into());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("needs a host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("no credentials in the URL (the signature authenticates us)".into());
    }
    Ok(url.to_string())
}

impl AlertRuleInput {
    /// The input that stores `current` as it is (for front doors changing one field).
    pub fn of(current: &AlertRule) -> AlertRuleInput {
        let list = |s: &Option<String>| s.as_deref().map(store::split_list);
        let quality = current.kind == QUALITY;
        let unless = |q: bool, s: &Option<String>| s.clone().filter(|_| q != quality);
        AlertRuleInput {
            brand: Some(current.brand_id.clone()),
            client: current.client_id.clone(),
            name: Some(current.name.clone()),
            enabled: Some(current.enabled),
            kind: Some(current.kind.clone()),
            client_type: current.client_type.clone(),
            carrier: current.carrier_id.clone(),
            endpoint_type: current.endpoint_type.clone(),
            endpoint_id: current.endpoint_id.clone(),
            direction: current.direction.clone(),
            destination_country: current.destination_countries.clone(),
            email: Some(current.email.clone()),
            webhook: current.webhook_url.clone().map(|url| WebhookInput {
                url: Some(url),
                secret: None,
            }),
            notification_template: current.notification_template_id.clone(),
            measure: unless(true, &current.measure),
            window: current.time_window.clone(),
            per: current.per.clone(),
            threshold: unless(true, &current.threshold).map(Value::String),
            mode: current.mode.clone(),
            countries: list(&current.countries),
            prefixes: list(&current.prefixes),
            metric: unless(false, &current.measure),
            condition: current.condition.clone(),
            value: unless(false, &current.threshold).map(Value::String),
            compare_to: current.compare_to.clone(),
            min_calls: current.min_calls.map(i64::from),
            max_calls: current.max_calls.map(i64::from),
            minutes: current.minutes.map(i64::from),
        }
    }

    /// Validates every field for `owner` and builds the row.
    fn into_row(self, conn: &mut DbConnection, owner: &Owner, kept: Kept) -> AppResult<ZonedRule> {
        let brand = db::brands::find(conn, &BrandId::from_db(owner.brand_id.clone()))?
            .ok_or_else(|| AppError::invalid_field("brand", "not found"))?;
        let brand_level = owner.level == BRAND_LEVEL;
        let mut v = Validator::new();

        let name = self.name.as_deref().unwrap_or_default().trim().to_string();
        v.check(self.name.is_some(), "name", "required");
        check_name(&mut v, "name", &name, MAX_NAME);

        let kind = self.kind.clone().unwrap_or_default();
        v.check(
            KINDS.contains(&kind.as_str()),
            "kind",
            format!("required: one of {}", KINDS.join(", ")),
        );

        // The client: fixed for client-level rules, free (or none) for brand-level ones.
        let client_id = match (
            &owner.client_id,
            reference(&mut v, "client", self.client.as_deref()),
        ) {
            (Some(fixed), Some(asked)) if asked != *fixed => {
                v.error("client", "a client-level rule belongs to its client");
                None
            }
            (Some(fixed), _) => Some(fixed.clone()),
            (None, asked) => asked,
        };
        let client = match &client_id {
            Some(id) => {
                let found = db::clients::find(conn, &ClientId::from_db(id.clone()))?
                    .filter(|c| c.brand_id == brand.id);
                v.check(found.is_some(), "client", "not found in the brand");
                found
            }
            None => None,
        };
        if let Some(client_type) = &self.client_type {
            if client_id.is_some() {
                v.error(
                    "clientType",
                    "only when no client is set (it filters the clients of the brand)",
                );
            }
            one_of(
                &mut v,
                "clientType",
                Some(client_type),
                tenancy::CLIENT_TYPES,
            );
        }

        let carrier = reference(&mut v, "carrier", self.carrier.as_deref());
        if let Some(id) = &carrier {
            v.check(
                brand_level,
                "carrier",
                "only brand-level rules filter by carrier",
            );
            let of_brand = db::carriers::find(conn, &CarrierId::from_db(id.clone()))?
                .is_some_and(|c| c.brand_id == brand.id);
            v.check(of_brand, "carrier", "not found in the brand");
        }

        let endpoint_id = tenancy::check_endpoint_filter(
            conn,
            &mut v,
            client.as_ref(),
            self.endpoint_type.as_deref(),
            self.endpoint_id.as_deref(),
        )?;

        // Destination and velocity rules watch outbound calls by definition.
        let outbound_only = kind == DESTINATION || kind == VELOCITY;
        let direction = match (&self.direction, outbound_only) {
            (None, true) => Some("outbound".to_string()),
            (Some(d), true) => {
                v.check(
                    d == "outbound",
                    "direction",
                    format!("{kind} rules watch outbound calls: outbound or leave it out"),
                );
                Some(d.clone())
            }
            (d, false) => {
                one_of(&mut v, "direction", d.as_deref(), DIRECTIONS);
                d.clone()
            }
        };
        if carrier.is_some() && direction.as_deref() == Some("inbound") {
            v.error("carrier", "inbound calls have no carrier");
        }

        let destination_countries = self
            .destination_country
            .as_deref()
            .map(|raw| {
                raw.split(',')
                    .map(|c| c.trim().to_string())
                    .collect::<Vec<_>>()
            })
            .filter(|codes| !(codes.len() == 1 && codes[0].is_empty()));
        if let Some(codes) = &destination_countries {
            let bad: Vec<String> = codes
                .iter()
                .filter(|c| !crate::calls::country::is_country_code(c))
                .map(|c| format!("{c:?}"))
                .collect();
            v.check(
                bad.is_empty(),
                "destinationCountry",
                format!(
                    "not an ISO 3166-1 alpha-2 country code in capitals: {} (e.g. GB, or a comma list GB,IE)",
                    bad.join(", ")
                ),
            );
        }

        let email =
            match crate::schedulers::normalise_email(self.email.as_deref().unwrap_or_default()) {
                Ok(email) => email,
                Err(e) => {
                    v.error("email", e);
                    String::new()
                }
            };

        let webhook_url = match &self.webhook {
            None => None,
            Some(WebhookInput { url: None, .. }) => {
                v.error("webhook", "needs a url (or null for no webhook)");
                None
            }
            Some(WebhookInput { url: Some(raw), .. }) => match check_url(raw) {
                Ok(url) => Some(url),
                Err(e) => {
                    v.error("webhook", format!("url: {e}"));
                    None
                }
            },
        };

        let template = reference(
            &mut v,
            "notificationTemplate",
            self.notification_template.as_deref(),
        );
        if let Some(id) = &template {
            let usable = db::notification_templates::find(conn, id)?.is_some_and(|t| {
                t.template_type == "alert" && t.brand_id.as_ref().is_none_or(|b| *b == brand.id)
            });
            v.check(
                usable,
                "notificationTemplate",
                "not an alert template of the brand or a global one",
            );
        }

        let settings = self.kind_settings(&mut v, &kind, brand_level);
        v.finish()?;

        let timezone = match (owner.level, &client) {
            (CLIENT_LEVEL, Some(c)) => c.timezone.clone(),
            _ => brand.timezone.clone(),
        };
        // The secret lives as long as the webhook: made when one is set, kept while it
        // stays, dropped with it.
        let (webhook_secret, revealed_secret) = match (&webhook_url, kept.webhook_secret) {
            (None, _) => (None, None),
            (Some(_), Some(secret)) => (Some(secret), None),
            (Some(_), None) => {
                let secret = new_secret();
                (Some(secret.clone()), Some(secret))
            }
        };
        let rule = AlertRule {
            id: kept.id,
            brand_id: brand.id,
            client_id,
            level: owner.level.to_string(),
            name,
            enabled: self.enabled.unwrap_or(true),
            kind,
            client_type: self.client_type,
            carrier_id: carrier,
            endpoint_type: self.endpoint_type,
            endpoint_id,
            direction,
            destination_countries: destination_countries.map(|c| c.join(",")),
            email,
            webhook_url,
            webhook_secret,
            notification_template_id: template,
            measure: settings.measure.or(settings.metric),
            time_window: settings.window,
            per: settings.per,
            threshold: settings.threshold.or(settings.value),
            mode: settings.mode,
            countries: settings.countries,
            prefixes: settings.prefixes,
            condition: settings.condition,
            compare_to: settings.compare_to,
            min_calls: settings.min_calls,
            max_calls: settings.max_calls,
            minutes: settings.minutes,
            created_at: kept.created_at,
            updated_at: db::now(),
        };
        Ok(ZonedRule {
            rule,
            timezone,
            revealed_secret,
        })
    }

    /// The settings of `kind`, each checked; a field of another kind is an error naming
    /// the kinds it belongs to.
    fn kind_settings(&self, v: &mut Validator, kind: &str, brand_level: bool) -> Settings {
        let mut s = Settings::default();
        let given: [(&str, bool, &[&str]); 14] = [
            ("measure", self.measure.is_some(), &[SPEND]),
            ("window", self.window.is_some(), &[SPEND, QUALITY]),
            ("per", self.per.is_some(), &[SPEND, VELOCITY]),
            ("threshold", self.threshold.is_some(), &[SPEND]),
            ("mode", self.mode.is_some(), &[DESTINATION]),
            ("countries", self.countries.is_some(), &[DESTINATION]),
            ("prefixes", self.prefixes.is_some(), &[DESTINATION]),
            ("metric", self.metric.is_some(), &[QUALITY]),
            ("condition", self.condition.is_some(), &[QUALITY]),
            ("value", self.value.is_some(), &[QUALITY]),
            ("compareTo", self.compare_to.is_some(), &[QUALITY]),
            ("minCalls", self.min_calls.is_some(), &[QUALITY]),
            ("maxCalls", self.max_calls.is_some(), &[VELOCITY]),
            ("minutes", self.minutes.is_some(), &[VELOCITY]),
        ];
        if KINDS.contains(&kind) {
            for (field, present, kinds) in given {
                if present && !kinds.contains(&kind) {
                    v.error(field, format!("only for kind {}", kinds.join(" or ")));
                }
            }
        }
        let required = |v: &mut Validator, field: &str, present: bool| {
            v.check(present, field, format!("required for kind {kind}"));
        };
        match kind {
            SPEND => {
                required(v, "measure", self.measure.is_some());
                one_of(v, "measure", self.measure.as_deref(), MEASURES);
                if self.measure.as_deref() == Some("cost") && !brand_level {
                    v.error("measure", "client-level rules may not watch cost");
                }
                required(v, "window", self.window.is_some());
                one_of(v, "window", self.window.as_deref(), SPEND_WINDOWS);
                one_of(v, "per", self.per.as_deref(), SPEND_PER);
                if self.per.as_deref() == Some("carrier") && !brand_level {
                    v.error("per", "client-level rules may not group by carrier");
                }
                required(v, "threshold", self.threshold.is_some());
                if let Some(raw) = &self.threshold {
                    match decimal(raw) {
                        Ok(d) if d <= Decimal::ZERO => v.error("threshold", "must be above 0"),
                        Ok(d)
                            if self.measure.as_deref() == Some("calls") && !d.fract().is_zero() =>
                        {
                            v.error("threshold", "a whole number of calls")
                        }
                        Ok(d) => s.threshold = Some(d.to_string()),
                        Err(e) => v.error("threshold", e),
                    }
                }
                s.measure = self.measure.clone();
                s.window = self.window.clone();
                s.per = self.per.clone();
            }
            DESTINATION => {
                required(v, "mode", self.mode.is_some());
                one_of(v, "mode", self.mode.as_deref(), MODES);
                let countries = self.countries.clone().unwrap_or_default();
                let prefixes = self.prefixes.clone().unwrap_or_default();
                v.check(
                    !countries.is_empty() || !prefixes.is_empty(),
                    "countries",
                    "at least one country or prefix",
                );
                v.check(
                    countries.len() + prefixes.len() <= MAX_LIST,
                    "countries",
                    format!("at most {MAX_LIST} countries and prefixes"),
                );
                let bad: Vec<String> = countries
                    .iter()
                    .filter(|c| !crate::calls::country::is_country_code(c))
                    .map(|c| format!("{c:?}"))
                    .collect();
                v.check(
                    bad.is_empty(),
                    "countries",
                    format!(
                        "not ISO 3166-1 alpha-2 codes in capitals: {}",
                        bad.join(", ")
                    ),
                );
                let bad: Vec<String> = prefixes
                    .iter()
                    .filter(|p| !valid_prefix(p))
                    .map(|p| format!("{p:?}"))
                    .collect();
                v.check(
                    bad.is_empty(),
                    "prefixes",
                    format!(
                        "not E.164 prefixes (+ and 1 to 15 digits, e.g. +882): {}",
                        bad.join(", ")
                    ),
                );
                let dedup = |mut l: Vec<String>| {
                    l.sort();
                    l.dedup();
                    l.join(",")
                };
                s.mode = self.mode.clone();
                s.countries = Some(dedup(countries));
                s.prefixes = Some(dedup(prefixes));
            }
            QUALITY => {
                required(v, "metric", self.metric.is_some());
                one_of(v, "metric", self.metric.as_deref(), METRICS);
                required(v, "window", self.window.is_some());
                one_of(v, "window", self.window.as_deref(), QUALITY_WINDOWS);
                required(v, "condition", self.condition.is_some());
                one_of(v, "condition", self.condition.as_deref(), CONDITIONS);
                let relative = !matches!(self.condition.as_deref(), Some("below" | "above"));
                let compare_to = self.compare_to.clone().unwrap_or_else(|| {
                    if relative { "previousWindow" } else { "fixed" }.to_string()
                });
                one_of(v, "compareTo", Some(&compare_to), COMPARE_TO);
                if self.condition.is_some() && COMPARE_TO.contains(&compare_to.as_str()) {
                    v.check(
                        relative == (compare_to != "fixed"),
                        "compareTo",
                        if relative {
                            "dropsBy, risesBy and their percent forms compare with previousWindow or sameWindowLastWeek"
                        } else {
                            "below and above compare with a fixed value: compareTo fixed"
                        },
                    );
                }
                required(v, "value", self.value.is_some());
                if let Some(raw) = &self.value {
                    match decimal(raw) {
                        Ok(d) if d.is_sign_negative() && !d.is_zero() => {
                            v.error("value", "must not be negative")
                        }
                        Ok(d) if relative && d.is_zero() => v.error(
                            "value",
                            "above 0 for a change (a change of 0 or more always holds)",
                        ),
                        Ok(d) => s.value = Some(d.to_string()),
                        Err(e) => v.error("value", e),
                    }
                }
                let min_calls = self.min_calls.unwrap_or(DEFAULT_MIN_CALLS);
                v.check(
                    (1..=MAX_COUNT).contains(&min_calls),
                    "minCalls",
                    format!("a whole number from 1 to {MAX_COUNT}"),
                );
                s.metric = self.metric.clone();
                s.window = self.window.clone();
                s.condition = self.condition.clone();
                s.compare_to = Some(compare_to);
                s.min_calls = i32::try_from(min_calls).ok();
            }
            VELOCITY => {
                required(v, "per", self.per.is_some());
                one_of(v, "per", self.per.as_deref(), VELOCITY_PER);
                required(v, "maxCalls", self.max_calls.is_some());
                if let Some(n) = self.max_calls {
                    v.check(
                        (1..=MAX_COUNT).contains(&n),
                        "maxCalls",
                        format!("a whole number from 1 to {MAX_COUNT}"),
                    );
                }
                required(v, "minutes", self.minutes.is_some());
                if let Some(n) = self.minutes {
                    v.check(
                        (1..=1440).contains(&n),
                        "minutes",
                        "a whole number from 1 to 1440 (a day)",
                    );
                }
                s.per = self.per.clone();
                s.max_calls = self.max_calls.and_then(|n| i32::try_from(n).ok());
                s.minutes = self.minutes.and_then(|n| i32::try_from(n).ok());
            }
            _ => {}
        }
        s
    }
}

/// The kind-specific columns of a row.
#[derive(Default)]
struct Settings {
    measure: Option<String>,
    window: Option<String>,
    per: Option<String>,
    threshold: Option<String>,
    mode: Option<String>,
    countries: Option<String>,
    prefixes: Option<String>,
    metric: Option<String>,
    condition: Option<String>,
    value: Option<String>,
    compare_to: Option<String>,
    min_calls: Option<i32>,
    max_calls: Option<i32>,
    minutes: Option<i32>,
}

/// May the caller see (and so manage) this rule? Client administrators see only their
/// client's client-level rules.
pub fn sees(caller: &Caller, brand_id: &str, level: &str, client_id: Option<&str>) -> bool {
    match caller.role {
        Role::Platform => true,
        Role::Brand => caller.brand_id.as_deref() == Some(brand_id),
        Role::Client => {
            level == CLIENT_LEVEL
                && caller.brand_id.as_deref() == Some(brand_id)
                && client_id.is_some()
                && client_id == caller.client_id.as_deref()
        }
    }
}

/// The rule's time zone (see [`ZonedRule`]); `cache` saves lookups over a list.
pub fn timezone_of(
    conn: &mut DbConnection,
    r: &AlertRule,
    cache: &mut HashMap<String, String>,
) -> AppResult<String> {
    let client = (r.level == CLIENT_LEVEL)
        .then_some(r.client_id.as_ref())
        .flatten();
    let key = client.cloned().unwrap_or_else(|| r.brand_id.clone());
    if let Some(tz) = cache.get(&key) {
        return Ok(tz.clone());
    }
    let tz = match client {
        Some(id) => db::clients::find(conn, &ClientId::from_db(id.clone()))?.map(|c| c.timezone),
        None => db::brands::find(conn, &BrandId::from_db(r.brand_id.clone()))?.map(|b| b.timezone),
    }
    .ok_or_else(|| AppError::internal(format!("alert rule {}: owner missing", r.id)))?;
    cache.insert(key, tz.clone());
    Ok(tz)
}

fn store_rule(
    conn: &mut DbConnection,
    input: AlertRuleInput,
    owner: &Owner,
    kept: Kept,
    is_new: bool,
) -> AppResult<ZonedRule> {
    let zoned = input.into_row(conn, owner, kept)?;
    if is_new {
        store::insert_rule(conn, &zoned.rule)?;
    } else {
        store::update_rule(conn, &zoned.rule)?;
    }
    crate::alerts::arrivals::rules_changed();
    Ok(zoned)
}

pub struct AlertRules;

impl Resource for AlertRules {
    type Id = AlertRuleId;
    type Object = ZonedRule;
    type Input = AlertRuleInput;

    const FILTERS: &'static [&'static str] = &["brand", "client", "name", "kind", "enabled"];
    const ORDER: &'static [&'static str] = &["name", "createdAt"];

    fn id_of(object: &ZonedRule) -> &str {
        &object.rule.id
    }

    fn find(conn: &mut DbConnection, caller: &Caller, id: &AlertRuleId) -> AppResult<ZonedRule> {
        let rule = store::find_rule(conn, id.as_str())?
            .filter(|r| sees(caller, &r.brand_id, &r.level, r.client_id.as_deref()))
            .ok_or_else(AppError::not_found)?;
        let timezone = timezone_of(conn, &rule, &mut HashMap::new())?;
        Ok(ZonedRule {
            rule,
            timezone,
            revealed_secret: None,
        })
    }

    fn list(
        conn: &mut DbConnection,
        caller: &Caller,
        params: &ListParams,
    ) -> AppResult<(i64, Vec<ZonedRule>)> {
        let scope = caller.list_scope(params.filter_id("brand")?, params.filter_id("client")?);
        let filter = store::RuleFilter {
            brand: scope.brand,
            client: scope.client,
            level: caller.client_scope().map(|_| CLIENT_LEVEL.to_string()),
            name: params.filter("name").map(str::to_string),
            kind: params.filter_choice("kind", KINDS)?,
            enabled: params.filter_bool("enabled")?,
            nothing: scope.nothing,
        };
        let (total, rows) = store::list_rules(conn, &filter, params)?;
        let mut cache = HashMap::new();
        let mut zoned = Vec::with_capacity(rows.len());
        for rule in rows {
            let timezone = timezone_of(conn, &rule, &mut cache)?;
            zoned.push(ZonedRule {
                rule,
                timezone,
                revealed_secret: None,
            });
        }
        Ok((total, zoned))
    }

    /// Who creates it decides its level, for good.
    fn create(
        conn: &mut DbConnection,
        caller: &Caller,
        input: AlertRuleInput,
    ) -> AppResult<ZonedRule> {
        let brand_id = BrandId::parse_ref("brand", &caller.write_brand(input.brand.as_deref())?)?;
        let owner = match caller.role {
            Role::Client => Owner {
                brand_id: brand_id.into(),
                level: CLIENT_LEVEL,
                client_id: Some(
                    caller
                        .client_id
                        .clone()
                        .ok_or_else(|| AppError::forbidden("no client"))?,
                ),
            },
            Role::Platform | Role::Brand => Owner {
                brand_id: brand_id.into(),
                level: BRAND_LEVEL,
                client_id: None,
            },
        };
        let kept = Kept {
            id: db::new_id(),
            created_at: db::now(),
            webhook_secret: None,
        };
        store_rule(conn, input, &owner, kept, true)
    }

    fn save(
        conn: &mut DbConnection,
        _caller: &Caller,
        current: ZonedRule,
        input: AlertRuleInput,
    ) -> AppResult<ZonedRule> {
        let current = current.rule;
        let brand =
            tenancy::brand_kept(input.brand.as_deref(), &current.brand_id, "an alert rule")?;
        let level = if current.level == CLIENT_LEVEL {
            CLIENT_LEVEL
        } else {
            BRAND_LEVEL
        };
        let owner = Owner {
            brand_id: brand.into(),
            level,
            client_id: (level == CLIENT_LEVEL)
                .then(|| current.client_id.clone())
                .flatten(),
        };
        let kept = Kept {
            id: current.id.clone(),
            created_at: current.created_at,
            webhook_secret: current.webhook_secret.clone(),
        };
        store_rule(conn, input, &owner, kept, false)
    }

    /// The rule's events stay (no foreign key): they are the record of what fired.
    fn remove(
        conn: &mut DbConnection,
        _caller: &Caller,
        current: ZonedRule,
        _force: bool,
    ) -> AppResult<()> {
        store::delete_rule(conn, &current.rule.id)?;
        crate::alerts::arrivals::rules_changed();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_plain_and_exact() {
        assert_eq!(
            decimal(&Value::String("100.50".into()))
                .unwrap()
                .to_string(),
            "100.50"
        );
        assert_eq!(decimal(&serde_json::json!(20)).unwrap().to_string(), "20");
        assert_eq!(
            decimal(&serde_json::json!(0.25)).unwrap().to_string(),
            "0.25"
        );
        for bad in ["1e3", "1_000", "+5", "", "abc", "1.1234567", ".5"] {
            assert!(decimal(&Value::String(bad.into())).is_err(), "{bad}");
        }
        assert!(decimal(&serde_json::json!(true)).is_err());
    }

    #[test]
    fn prefixes_and_urls() {
        assert!(valid_prefix("+882"));
        assert!(!valid_prefix("882"));
        assert!(!valid_prefix("+"));
        assert!(!valid_prefix("+88a"));
        assert!(check_url("https://hooks.example.com/a?b=c").is_ok());
        assert!(check_url("ftp://example.com/").is_err());
        assert!(check_url("https://user:pw@example.com/").is_err());
        assert!(check_url("not a url").is_err());
    }
}
