//! Call CSV schedulers: standing orders for a periodic call CSV report (schedulers.md),
//! and the reports they produced ([`reports`]). Brand operators manage every scheduler of
//! their brand; a client administrator only its own client's client-level ones. Every
//! field rule of the spec, the first `nextExecution` and the schedule's bounds are here;
//! the arithmetic itself is `crate::schedule`'s.

pub mod reports;

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, NaiveDateTime, SubsecRound};
use serde::{Deserialize, Deserializer};

use crate::auth::{Caller, Role};
use crate::config::Config;
use crate::db::{self, schedulers, schedulers::Scheduler, DbConnection};
use crate::error::{AppError, AppResult, Validator};
use crate::fields::{check_name, parse_time, reference, valid_email};
use crate::ids::{BrandId, CarrierId, ClientId, Id, SchedulerId};
use crate::listing::ListParams;
use crate::ops::Resource;
use crate::schedule::{self, Recurrence, Unit, MAX_FREQUENCY};
use crate::tenancy;

/// Created by a brand operator (or platform administrator): the brand's CSV columns.
pub const BRAND_LEVEL: &str = "brand";
/// Created by a client administrator: the client's CSV columns, managed by that client.
pub const CLIENT_LEVEL: &str = "client";

/// Recipients one scheduler may mail.
const MAX_RECIPIENTS: usize = 10;
/// The earliest year `nextExecution` may be set to.
const MIN_NEXT_EXECUTION_YEAR: i32 = 1970;
const MAX_NAME: usize = 40;
const CALL_DIRECTIONS: &[&str] = &["inbound", "outbound"];
/// A scheduler's report: the call CSV (the default), or its calls summed by `groupBy`.
pub const KIND_CALLS: &str = "calls";
pub const KIND_SUMMARY: &str = "summary";
/// `CALLCSV_MAX_CATCH_UP`'s default, for an input no front door has set the bound of.
pub const DEFAULT_MAX_CATCH_UP: usize = 1000;

/// A scheduler with the time zone it runs in (its client's, else its brand's): what the
/// operations return, so a view needs no further lookup.
#[derive(Debug, Clone)]
pub struct ZonedScheduler {
    pub scheduler: Scheduler,
    pub timezone: String,
}

impl ZonedScheduler {
    /// The first and last local day of the report its next run builds (what an operator
    /// moving `nextExecution` back asks to generate again); `None` without a next run.
    pub fn next_period(&self) -> Option<(chrono::NaiveDate, chrono::NaiveDate)> {
        let tz: chrono_tz::Tz = self.timezone.parse().ok()?;
        let rec = crate::runner::recurrence_of(&self.scheduler).ok()?;
        let due = self.scheduler.next_execution?.and_utc();
        let period = schedule::period_for(&rec, tz, due)?;
        Some(schedule::covered_days(&period, tz))
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SchedulerInput {
    pub brand: Option<String>,
    pub client: Option<String>,
    // Required, but optional here so a missing one is reported in `fields` with the rest.
    pub name: Option<String>,
    pub client_type: Option<String>,
    pub unit: Option<String>,
    pub frequency: Option<i64>,
    pub cron: Option<String>,
    /// Absent → `outbound` (the default); `null` → both directions. Hence the two levels.
    #[serde(default, deserialize_with = "present")]
    pub call_direction: Option<Option<String>>,
    pub carrier: Option<String>,
    pub ddi_provider: Option<String>,
    pub ddi: Option<String>,
    pub endpoint_type: Option<String>,
    pub endpoint_id: Option<String>,
    pub email: Option<String>,
    pub notification_template: Option<String>,
    /// `calls` (default) or `summary`.
    pub kind: Option<String>,
    /// Summaries only: one or two `/stats` dimensions, comma-separated.
    pub group_by: Option<String>,
    /// Comma list of ISO alpha-2 codes.
    pub destination_country: Option<String>,
    pub international: Option<bool>,
    /// Whether the email carries a digest of the period in its body (default false).
    pub digest: Option<bool>,
    /// Absent or null → the first execution is computed; a value is kept as given.
    pub next_execution: Option<String>,
    pub enabled: Option<bool>,
    /// Not a body field: the most occurrences a `nextExecution` may ask to catch up, the
    /// service's `CALLCSV_MAX_CATCH_UP`, set by `Resource::with_config`.
    #[serde(skip, default = "default_max_catch_up")]
    pub max_catch_up: usize,
}

fn default_max_catch_up() -> usize {
    DEFAULT_MAX_CATCH_UP
}

/// A field that was present in the body (`Some`), holding a value or `null`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// What is settled about a scheduler before its input is read: the brand, the level, and
/// for client-level schedulers the client they belong to.
struct Owner {
    brand_id: String,
    level: &'static str,
    /// Client-level schedulers belong to one client for good.
    client_id: Option<String>,
}

/// `email` as stored: the addresses trimmed, without repeats, joined by `,`; `""` (or only
/// blanks) = none. An empty entry in a list (`"a@example.com,"`) is an error, not skipped:
/// it usually means an address went missing.
pub(crate) fn normalise_email(raw: &str) -> Result<String, String> {
    if raw.trim().is_empty() {
        return Ok(String::new());
    }
    if raw.split(',').any(|a| a.trim().is_empty()) {
        return Err("an empty address between commas".into());
    }
    let mut seen = HashSet::new();
    let addresses: Vec<&str> = raw
        .split(',')
        .map(str::trim)
        .filter(|a| seen.insert(a.to_ascii_lowercase()))
        .collect();
    // Counted first, so the message below names at most MAX_RECIPIENTS addresses.
    if addresses.len() > MAX_RECIPIENTS {
        return Err(format!(
            "at most {MAX_RECIPIENTS} addresses, got {}",
            addresses.len()
        ));
    }
    let invalid: Vec<String> = addresses
        .iter()
        .filter(|a| !valid_email(a))
        .map(|a| format!("{a:?}"))
        .collect();
    if !invalid.is_empty() {
        return Err(format!("not a valid address: {}", invalid.join(", ")));
    }
    Ok(addresses.join(","))
}

impl SchedulerInput {
    /// The input that stores `current` as it is: a front door changing one field (the
    /// console's enable/disable) starts from it.
    pub fn of(current: &Scheduler) -> SchedulerInput {
        SchedulerInput {
            brand: Some(current.brand_id.clone()),
            client: current.client_id.clone(),
            name: Some(current.name.clone()),
            client_type: current.client_type.clone(),
            unit: Some(current.unit.clone()),
            frequency: Some(i64::from(current.frequency)),
            cron: current.cron.clone(),
            call_direction: Some(current.call_direction.clone()),
            carrier: current.carrier_id.clone(),
            ddi_provider: current.ddi_provider_id.clone(),
            ddi: current.ddi_id.clone(),
            endpoint_type: current.endpoint_type.clone(),
            endpoint_id: current.endpoint_id.clone(),
            email: Some(current.email.clone()),
            notification_template: current.notification_template_id.clone(),
            kind: Some(current.kind.clone()),
            group_by: current.group_by.clone(),
            destination_country: current.destination_countries.clone(),
            international: current.international,
            digest: Some(current.digest),
            next_execution: current.next_execution.map(crate::fields::ts),
            enabled: Some(current.enabled),
            max_catch_up: DEFAULT_MAX_CATCH_UP,
        }
    }

    /// Validates every field against `owner` (every reference must be of its brand, and of
    /// its client where the spec says so) and builds the row. `kept` holds what the input
    /// cannot change: the run history of an existing scheduler.
    fn into_row(
        self,
        conn: &mut DbConnection,
        owner: &Owner,
        kept: Kept,
    ) -> AppResult<ZonedScheduler> {
        let brand = db::brands::find(conn, &BrandId::from_db(owner.brand_id.clone()))?
            .ok_or_else(|| AppError::invalid_field("brand", "not found"))?;
        let brand_level = owner.level == BRAND_LEVEL;
        let mut v = Validator::new();

        let name = self.name.as_deref().unwrap_or_default().trim().to_string();
        v.check(self.name.is_some(), "name", "required");
        check_name(&mut v, "name", &name, MAX_NAME);

        // The client: fixed for client-level schedulers, free (or none) for brand-level ones.
        let client_id = match (
            &owner.client_id,
            reference(&mut v, "client", self.client.as_deref()),
        ) {
            (Some(fixed), Some(asked)) if asked != *fixed => {
                v.error("client", "a client-level scheduler belongs to its client");
                None
            }
            (Some(fixed), _) => Some(fixed.clone()),
            (None, asked) => asked,
        };
        let client = match &client_id {
            Some(id) => {
                // The same words whether the client is missing or another brand's: never
                // reveal another tenant's ids.
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
            v.check(
                tenancy::CLIENT_TYPES.contains(&client_type.as_str()),
                "clientType",
                format!("one of {}", tenancy::CLIENT_TYPES.join(", ")),
            );
        }

        let unit = match self.unit.as_deref().unwrap_or("month").parse::<Unit>() {
            Ok(unit) => unit,
            Err(e) => {
                v.error("unit", e);
                Unit::Month
            }
        };
        let frequency = self.frequency.unwrap_or(1);
        let frequency_ok = (1..=i64::from(MAX_FREQUENCY)).contains(&frequency);
        v.check(
            frequency_ok,
            "frequency",
            format!("a whole number from 1 to {MAX_FREQUENCY} (0 would never advance)"),
        );
        let cron = self
            .cron
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty());
        if let Some(Err(e)) = cron.as_deref().map(schedule::parse_cron) {
            v.error("cron", e);
        }

        let call_direction = match self.call_direction {
            None => Some("outbound".to_string()),
            Some(direction) => direction,
        };
        if let Some(direction) = &call_direction {
            v.check(
                CALL_DIRECTIONS.contains(&direction.as_str()),
                "callDirection",
                "inbound, outbound, or null for both",
            );
        }
        let outbound = call_direction.as_deref() == Some("outbound");

        // Carrier and DDI provider are the brand's business: brand-level schedulers only.
        let carrier = reference(&mut v, "carrier", self.carrier.as_deref());
        if let Some(id) = &carrier {
            v.check(
                brand_level,
                "carrier",
                "only brand-level schedulers filter by carrier",
            );
            v.check(
                outbound,
                "carrier",
                "Filter by carrier is only possible for outbound calls",
            );
            let of_brand = db::carriers::find(conn, &CarrierId::from_db(id.clone()))?
                .is_some_and(|c| c.brand_id == brand.id);
            v.check(of_brand, "carrier", "not found in the brand");
        }
        let ddi_provider = reference(&mut v, "ddiProvider", self.ddi_provider.as_deref());
        if let Some(id) = &ddi_provider {
            v.check(
                brand_level,
                "ddiProvider",
                "only brand-level schedulers filter by DDI provider",
            );
            v.check(
                !outbound,
                "ddiProvider",
                "Filter by DDI provider is only possible for inbound calls (or both directions)",
            );
            let of_brand =
                db::ddi_providers::find(conn, id)?.is_some_and(|p| p.brand_id == brand.id);
            v.check(of_brand, "ddiProvider", "not found in the brand");
        }

        let ddi = reference(&mut v, "ddi", self.ddi.as_deref());
        if let Some(id) = &ddi {
            match db::ddis::find(conn, id)?.filter(|d| d.brand_id == brand.id) {
                None => v.error("ddi", "not found in the brand"),
                Some(d) => v.check(
                    client_id.as_ref().is_none_or(|c| *c == d.client_id),
                    "ddi",
                    "not a DDI of the scheduler's client",
                ),
            }
        }

        // Endpoints belong to a client, so filtering by one needs the client.
        let endpoint_id = tenancy::check_endpoint_filter(
            conn,
            &mut v,
            client.as_ref(),
            self.endpoint_type.as_deref(),
            self.endpoint_id.as_deref(),
        )?;

        let email = match normalise_email(self.email.as_deref().unwrap_or_default()) {
            Ok(email) => email,
            Err(e) => {
                v.error("email", e);
                String::new()
            }
        };

        let template = reference(
            &mut v,
            "notificationTemplate",
            self.notification_template.as_deref(),
        );
        if let Some(id) = &template {
            // The brand's own templates, or a global one (no brand).
            let usable = db::notification_templates::find(conn, id)?.is_some_and(|t| {
                t.template_type == "callCsv" && t.brand_id.as_ref().is_none_or(|b| *b == brand.id)
            });
            v.check(
                usable,
                "notificationTemplate",
                "not a callCsv template of the brand or a global one",
            );
        }

        let kind = self.kind.as_deref().unwrap_or(KIND_CALLS).to_string();
        let group_by = self
            .group_by
            .as_deref()
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .map(str::to_string);
        match kind.as_str() {
            KIND_CALLS => v.check(
                group_by.is_none(),
                "groupBy",
                "only for kind summary (a calls report lists every call)",
            ),
            KIND_SUMMARY => match group_by.as_deref().map(crate::stats::group_by) {
                None => v.error(
                    "groupBy",
                    "required for kind summary: one or two dimensions",
                ),
                Some(Err(e)) => v.error(
                    "groupBy",
                    e.message.trim_start_matches("groupBy: ").to_string(),
                ),
                Some(Ok(dims)) => {
                    use crate::stats::Dimension;
                    // The longest period of the schedule, within the range /stats sums.
                    let days = frequency
                        * match unit {
                            Unit::Day => 1,
                            Unit::Week => 7,
                            Unit::Month => 31,
                            Unit::Year => 366,
                        };
                    v.check(
                        cron.is_some() || !frequency_ok || days <= crate::stats::MAX_RANGE_DAYS,
                        "frequency",
                        format!(
                            "a summary covers at most {} days",
                            crate::stats::MAX_RANGE_DAYS
                        ),
                    );
                    v.check(
                        !dims.contains(&Dimension::Brand),
                        "groupBy",
                        "a scheduler's report is of one brand: brand is not a grouping here",
                    );
                    v.check(
                        brand_level || !dims.iter().any(|d| d.is_supplier()),
                        "groupBy",
                        "client-level schedulers may not group by carrier or ddiProvider",
                    );
                }
            },
            _ => v.error("kind", "calls or summary"),
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

        let next_execution = match &self.next_execution {
            None => None,
            Some(raw) => {
                let parsed = parse_time(raw).map(|t| t.trunc_subsecs(6));
                v.check(
                    parsed.is_some(),
                    "nextExecution",
                    "an RFC 3339 time with an offset (e.g. 2026-01-01T08:00:00+01:00)",
                );
                // Periods reach back from it (up to 366 years for a yearly scheduler), so a
                // year like 0001 would give dates no RFC 3339 can write.
                let sane = parsed.is_none_or(|t| t.year() >= MIN_NEXT_EXECUTION_YEAR);
                v.check(
                    sane,
                    "nextExecution",
                    format!("must be in {MIN_NEXT_EXECUTION_YEAR} or later"),
                );
                parsed.filter(|_| sane)
            }
        };
        v.finish()?;

        let timezone = client
            .as_ref()
            .map_or(&brand.timezone, |c| &c.timezone)
            .clone();
        let next_execution = match next_execution {
            Some(t) => t,
            None => first_execution(conn, unit, frequency, cron.as_deref(), &timezone)?,
        };
        // A row that already broke the bounds (made before they existed) stays editable.
        if kept.schedule != Some((unit.as_str(), frequency, cron.clone(), next_execution)) {
            check_bounds(
                conn,
                unit,
                frequency,
                cron.as_deref(),
                &timezone,
                next_execution,
                self.max_catch_up,
            )?;
        }
        let scheduler = Scheduler {
            id: kept.id,
            brand_id: brand.id,
            client_id,
            level: owner.level.to_string(),
            name,
            client_type: self.client_type,
            unit: unit.as_str().to_string(),
            frequency: i32::try_from(frequency).map_err(AppError::internal)?,
            cron,
            call_direction,
            carrier_id: carrier,
            ddi_provider_id: ddi_provider,
            ddi_id: ddi,
            endpoint_type: self.endpoint_type,
            endpoint_id,
            email,
            notification_template_id: template,
            next_execution: Some(next_execution),
            last_execution: kept.last_execution,
            last_execution_error: kept.last_execution_error,
            enabled: self.enabled.unwrap_or(true),
            created_at: kept.created_at,
            updated_at: db::now(),
            kind,
            group_by,
            destination_countries: destination_countries.map(|c| c.join(",")),
            international: self.international,
            digest: self.digest.unwrap_or(false),
        };
        Ok(ZonedScheduler {
            scheduler,
            timezone,
        })
    }
}

/// The fields of a row that no input sets.
struct Kept {
    id: String,
    created_at: NaiveDateTime,
    last_execution: Option<NaiveDateTime>,
    last_execution_error: Option<String>,
    /// unit, frequency, cron and nextExecution as stored.
    schedule: Option<(&'static str, i64, Option<String>, NaiveDateTime)>,
}

impl Kept {
    fn new() -> Kept {
        Kept {
            id: db::new_id(),
            created_at: db::now(),
            last_execution: None,
            last_execution_error: None,
            schedule: None,
        }
    }

    fn of(s: &Scheduler) -> Kept {
        Kept {
            id: s.id.clone(),
            created_at: s.created_at,
            last_execution: s.last_execution,
            last_execution_error: s.last_execution_error.clone(),
            schedule: s
                .unit
                .parse::<Unit>()
                .ok()
                .zip(s.next_execution)
                .map(|(u, n)| (u.as_str(), i64::from(s.frequency), s.cron.clone(), n)),
        }
    }
}

/// The recurrence, zone and database "now" of fields already validated (a failure here is
/// a bug, not bad input).
fn schedule_of(
    conn: &mut DbConnection,
    unit: Unit,
    frequency: i64,
    cron: Option<&str>,
    timezone: &str,
) -> AppResult<(Recurrence, chrono_tz::Tz, chrono::DateTime<chrono::Utc>)> {
    let tz: chrono_tz::Tz = timezone
        .parse()
        .map_err(|_| AppError::internal(format!("stored timezone {timezone:?} is invalid")))?;
    let frequency = u32::try_from(frequency).map_err(AppError::internal)?;
    let recurrence = Recurrence::from_fields(unit, frequency, cron).map_err(AppError::internal)?;
    Ok((recurrence, tz, db::utc(db::clock(conn)?)))
}

/// The first run of a scheduler that has no `nextExecution`, from the database's "now".
fn first_execution(
    conn: &mut DbConnection,
    unit: Unit,
    frequency: i64,
    cron: Option<&str>,
    timezone: &str,
) -> AppResult<NaiveDateTime> {
    let (recurrence, tz, now) = schedule_of(conn, unit, frequency, cron, timezone)?;
    schedule::first_execution(&recurrence, tz, now)
        .map(|t| t.naive_utc())
        .ok_or_else(|| AppError::invalid_field("cron", "the expression has no fire time after now"))
}

/// The bounds of schedule::bound_violations: a catch-up of at most `max_catch_up` runs, cron
/// fires at least 15 minutes apart.
fn check_bounds(
    conn: &mut DbConnection,
    unit: Unit,
    frequency: i64,
    cron: Option<&str>,
    timezone: &str,
    next: NaiveDateTime,
    max_catch_up: usize,
) -> AppResult<()> {
    let (recurrence, tz, now) = schedule_of(conn, unit, frequency, cron, timezone)?;
    let mut v = Validator::new();
    for (field, message) in
        schedule::bound_violations(&recurrence, tz, next.and_utc(), now, max_catch_up)
    {
        v.error(field, message);
    }
    v.finish()
}

/// The scheduler's timezone: its client's when it has one, else its brand's. `cache` saves
/// a lookup per row when a list holds many schedulers of the same client or brand.
fn timezone_of(
    conn: &mut DbConnection,
    s: &Scheduler,
    cache: &mut HashMap<String, String>,
) -> AppResult<String> {
    let key = s.client_id.clone().unwrap_or_else(|| s.brand_id.clone());
    if let Some(tz) = cache.get(&key) {
        return Ok(tz.clone());
    }
    let tz = match &s.client_id {
        Some(id) => db::clients::find(conn, &ClientId::from_db(id.clone()))?.map(|c| c.timezone),
        None => db::brands::find(conn, &BrandId::from_db(s.brand_id.clone()))?.map(|b| b.timezone),
    }
    .ok_or_else(|| AppError::internal(format!("scheduler {}: owner missing", s.id)))?;
    cache.insert(key, tz.clone());
    Ok(tz)
}

/// May the caller see (and so manage) this scheduler? Client administrators see only their
/// client's client-level ones; a brand-level scheduler naming their client is the brand's.
fn sees(caller: &Caller, s: &Scheduler) -> bool {
    match caller.role {
        Role::Platform => true,
        Role::Brand => caller.brand_id.as_deref() == Some(s.brand_id.as_str()),
        Role::Client => {
            s.level == CLIENT_LEVEL
                && caller.brand_id.as_deref() == Some(s.brand_id.as_str())
                && s.client_id.is_some()
                && s.client_id == caller.client_id
        }
    }
}

/// Validates `input` for `owner` over what `kept` keeps, and writes it (insert or update).
fn store(
    conn: &mut DbConnection,
    input: SchedulerInput,
    owner: &Owner,
    kept: Kept,
    is_new: bool,
) -> AppResult<ZonedScheduler> {
    let zoned = input.into_row(conn, owner, kept)?;
    if is_new {
        schedulers::insert(conn, &zoned.scheduler)?;
    } else {
        schedulers::update(conn, &zoned.scheduler)?;
    }
    Ok(zoned)
}

pub struct Schedulers;

impl Resource for Schedulers {
    type Id = SchedulerId;
    type Object = ZonedScheduler;
    type Input = SchedulerInput;

    const FILTERS: &'static [&'static str] = &["brand", "client", "name", "enabled"];
    const ORDER: &'static [&'static str] = &["name", "nextExecution", "createdAt"];

    fn id_of(object: &ZonedScheduler) -> &str {
        &object.scheduler.id
    }

    fn find(
        conn: &mut DbConnection,
        caller: &Caller,
        id: &SchedulerId,
    ) -> AppResult<ZonedScheduler> {
        let scheduler = schedulers::find(conn, id.as_str())?
            .filter(|s| sees(caller, s))
            .ok_or_else(AppError::not_found)?;
        let timezone = timezone_of(conn, &scheduler, &mut HashMap::new())?;
        Ok(ZonedScheduler {
            scheduler,
            timezone,
        })
    }

    fn list(
        conn: &mut DbConnection,
        caller: &Caller,
        params: &ListParams,
    ) -> AppResult<(i64, Vec<ZonedScheduler>)> {
        // Naming another tenant's brand or client matches nothing rather than failing, so
        // the answer is the same whether that tenant exists or not.
        let scope = caller.list_scope(params.filter_id("brand")?, params.filter_id("client")?);
        let filter = schedulers::Filter {
            brand: scope.brand,
            client: scope.client,
            level: caller.client_scope().map(|_| CLIENT_LEVEL.to_string()),
            name: params.filter("name").map(str::to_string),
            enabled: params.filter_bool("enabled")?,
            nothing: scope.nothing,
        };
        let (total, rows) = schedulers::list(conn, &filter, params)?;
        let mut cache = HashMap::new();
        let mut zoned = Vec::with_capacity(rows.len());
        for scheduler in rows {
            let timezone = timezone_of(conn, &scheduler, &mut cache)?;
            zoned.push(ZonedScheduler {
                scheduler,
                timezone,
            });
        }
        Ok((total, zoned))
    }

    /// Who creates it decides its level, for good: a client administrator's scheduler is
    /// its client's, whatever the input says.
    fn create(
        conn: &mut DbConnection,
        caller: &Caller,
        input: SchedulerInput,
    ) -> AppResult<ZonedScheduler> {
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
        store(conn, input, &owner, Kept::new(), true)
    }

    fn save(
        conn: &mut DbConnection,
        _caller: &Caller,
        current: ZonedScheduler,
        input: SchedulerInput,
    ) -> AppResult<ZonedScheduler> {
        let current = current.scheduler;
        let brand = tenancy::brand_kept(input.brand.as_deref(), &current.brand_id, "a scheduler")?;
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
        store(conn, input, &owner, Kept::of(&current), false)
    }

    /// The catch-up bound is the service's `CALLCSV_MAX_CATCH_UP`.
    fn with_config(input: SchedulerInput, config: &Config) -> SchedulerInput {
        SchedulerInput {
            max_catch_up: config.max_catch_up,
            ..input
        }
    }

    /// The scheduler's reports stay (no foreign key): they are the record of what was sent.
    fn remove(
        conn: &mut DbConnection,
        _caller: &Caller,
        current: ZonedScheduler,
        _force: bool,
    ) -> AppResult<()> {
        schedulers::delete(conn, &SchedulerId::from_db(current.scheduler.id))?;
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::auth::Role;
    use crate::ids::BrandId;
    use crate::ops::testing::{brand, caller, database, operator_of};
    use crate::tenancy::{clients::ClientInput, Clients};

    pub(crate) fn input(name: &str) -> SchedulerInput {
        serde_json::from_value(serde_json::json!({ "name": name })).expect("input")
    }

    pub(crate) fn client(conn: &mut DbConnection, brand: &BrandId, name: &str) -> String {
        let input = ClientInput {
            brand: None,
            name: name.into(),
            client_type: "retail".into(),
            timezone: Some("America/New_York".into()),
            language: None,
            show_billing_details: None,
            code: None,
            country: None,
        };
        Clients::create(conn, &operator_of(brand), input)
            .expect("client")
            .id
    }

    #[test]
    fn client_administrators_manage_only_their_clients_client_level_schedulers() {
        let (_dir, mut conn) = database();
        let conn = &mut conn;
        let (a, b) = (brand(conn, "A"), brand(conn, "B"));
        let (mine, other) = (client(conn, &a, "Mine"), client(conn, &a, "Other"));
        let (op_a, op_b) = (operator_of(&a), operator_of(&b));
        let admin = caller(Role::Client, Some(&a), Some(&mine));

        // Who creates it decides its level; a client's scheduler runs in the client's zone.
        let own = Schedulers::create(conn, &admin, input("Own")).unwrap();
        assert_eq!(
            (
                own.scheduler.level.as_str(),
                own.scheduler.client_id.as_deref()
            ),
            (CLIENT_LEVEL, Some(mine.as_str()))
        );
        assert_eq!(own.timezone, "America/New_York");
        let elsewhere = SchedulerInput {
            client: Some(other.clone()),
            ..input("Elsewhere")
        };
        let err = Schedulers::create(conn, &admin, elsewhere).unwrap_err();
        assert!(err.fields.contains_key("client"), "{err:?}");

        // A brand-level scheduler naming the client is the brand's, not the client's.
        let for_mine = SchedulerInput {
            client: Some(mine.clone()),
            ..input("Brand's")
        };
        let brands = Schedulers::create(conn, &op_a, for_mine).unwrap();
        assert_eq!(brands.scheduler.level, BRAND_LEVEL);
        let brands_id = SchedulerId::from_db(brands.scheduler.id.clone());
        assert_eq!(
            Schedulers::find(conn, &admin, &brands_id).unwrap_err().code,
            "not_found"
        );
        let listed = Schedulers::list(conn, &admin, &ListParams::default()).unwrap();
        assert_eq!(listed.0, 1);
        assert_eq!(listed.1[0].scheduler.id, own.scheduler.id);

        // Another brand's operator sees none of A's, even naming A.
        let own_id = SchedulerId::from_db(own.scheduler.id.clone());
        assert_eq!(
            Schedulers::find(conn, &op_b, &own_id).unwrap_err().code,
            "not_found"
        );
        let mut params = ListParams::default();
        params.filters.insert("brand".into(), a.to_string());
        assert_eq!(Schedulers::list(conn, &op_b, &params).unwrap().0, 0);
        assert_eq!(Schedulers::list(conn, &op_a, &params).unwrap().0, 2);

        // A's operator manages both; the client's stays the client's after a change.
        let renamed = Schedulers::replace(conn, &op_a, &own_id, input("Renamed")).unwrap();
        assert_eq!(
            (
                renamed.scheduler.level.as_str(),
                renamed.scheduler.client_id
            ),
            (CLIENT_LEVEL, Some(mine))
        );
        Schedulers::delete(conn, &admin, &own_id, false).unwrap();
        assert_eq!(
            Schedulers::find(conn, &op_a, &own_id).unwrap_err().code,
            "not_found"
        );
    }

    #[test]
    fn the_catch_up_bound_comes_with_the_input_and_spares_stored_schedules() {
        let (_dir, mut conn) = database();
        let conn = &mut conn;
        let a = brand(conn, "A");
        let op = operator_of(&a);
        let daily_from = |days_ago: i64, max_catch_up: usize| SchedulerInput {
            unit: Some("day".into()),
            next_execution: Some(
                (chrono::Utc::now() - chrono::Duration::days(days_ago)).to_rfc3339(),
            ),
            max_catch_up,
            ..input("Daily")
        };
        let err = Schedulers::create(conn, &op, daily_from(30, 10)).unwrap_err();
        assert!(err.fields.contains_key("nextExecution"), "{err:?}");
        let made = Schedulers::create(conn, &op, daily_from(30, 100)).unwrap();
        let id = SchedulerId::from_db(made.scheduler.id.clone());

        // Stored before a tighter bound: a change that keeps the schedule is accepted...
        let next = made.scheduler.next_execution.map(crate::fields::ts);
        let rename = SchedulerInput {
            name: Some("Renamed".into()),
            next_execution: next,
            ..daily_from(0, 10)
        };
        assert_eq!(
            Schedulers::replace(conn, &op, &id, rename)
                .unwrap()
                .scheduler
                .name,
            "Renamed"
        );
        // ...one that moves it is held to the bound.
        let err = Schedulers::replace(conn, &op, &id, daily_from(29, 10)).unwrap_err();
        assert!(err.fields.contains_key("nextExecution"), "{err:?}");
    }
}
