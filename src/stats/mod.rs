//! Traffic statistics (`GET /stats`, and the summary reports that will use the same
//! operation): calls, answer rate, minutes and money of a caller's calls over a time range,
//! grouped by time and entities. The database sums calls per 15-minute UTC bucket and
//! entity columns (`db::stats`); [`buckets`] maps buckets to local hours, days, weeks and
//! months exactly; [`measures`] defines every figure once. [`query`] is the operation:
//! it applies the tenancy rules, then [`run`] does the work for a [`Scope`].

pub mod buckets;
pub mod measures;

use std::collections::{BTreeMap, HashMap};

use chrono::{NaiveDate, NaiveDateTime};
use chrono_tz::Tz;

use crate::auth::{Caller, Role};
use crate::db::stats::{self as store, StatsFilter};
use crate::db::{self, DbConnection};
use crate::error::{AppError, AppResult};
use crate::ids::{BrandId, ClientId, Id};
use crate::listing::{Direction, ListParams};
use buckets::{Grain, TimeKey};
use measures::{Sums, Visibility};

/// What a row may be grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dimension {
    Hour,
    Day,
    Week,
    Month,
    Client,
    Carrier,
    DdiProvider,
    Ddi,
    Endpoint,
    Country,
    Destination,
    Direction,
    Disposition,
    Source,
    Brand,
}

impl Dimension {
    pub const ALL: [Dimension; 15] = [
        Dimension::Hour,
        Dimension::Day,
        Dimension::Week,
        Dimension::Month,
        Dimension::Client,
        Dimension::Carrier,
        Dimension::DdiProvider,
        Dimension::Ddi,
        Dimension::Endpoint,
        Dimension::Country,
        Dimension::Destination,
        Dimension::Direction,
        Dimension::Disposition,
        Dimension::Source,
        Dimension::Brand,
    ];

    /// The name in `groupBy` and in row keys.
    pub fn name(self) -> &'static str {
        match self {
            Dimension::Hour => "hour",
            Dimension::Day => "day",
            Dimension::Week => "week",
            Dimension::Month => "month",
            Dimension::Client => "client",
            Dimension::Carrier => "carrier",
            Dimension::DdiProvider => "ddiProvider",
            Dimension::Ddi => "ddi",
            Dimension::Endpoint => "endpoint",
            Dimension::Country => "country",
            Dimension::Destination => "destination",
            Dimension::Direction => "direction",
            Dimension::Disposition => "disposition",
            Dimension::Source => "source",
            Dimension::Brand => "brand",
        }
    }

    pub fn parse(name: &str) -> Option<Dimension> {
        Dimension::ALL.into_iter().find(|d| d.name() == name)
    }

    /// The local time bucket of a time dimension.
    pub fn grain(self) -> Option<Grain> {
        match self {
            Dimension::Hour => Some(Grain::Hour),
            Dimension::Day => Some(Grain::Day),
            Dimension::Week => Some(Grain::Week),
            Dimension::Month => Some(Grain::Month),
            _ => None,
        }
    }

    /// The `billable_calls` column of an entity dimension.
    fn column(self) -> Option<&'static str> {
        Some(match self {
            Dimension::Client => "client_id",
            Dimension::Carrier => "carrier_id",
            Dimension::DdiProvider => "ddi_provider_id",
            Dimension::Ddi => "ddi_id",
            Dimension::Endpoint => "endpoint_id",
            Dimension::Country => "destination_country",
            Dimension::Destination => "destination_name",
            Dimension::Direction => "direction",
            Dimension::Disposition => "disposition",
            Dimension::Source => "source_id",
            Dimension::Brand => "brand_id",
            _ => return None,
        })
    }

    /// Where an entity's name is: (table, column); None when the key is its own name.
    pub fn names_from(self) -> Option<(&'static str, &'static str)> {
        Some(match self {
            Dimension::Client => ("clients", "name"),
            Dimension::Carrier => ("carriers", "name"),
            Dimension::DdiProvider => ("ddi_providers", "name"),
            Dimension::Ddi => ("ddis", "ddi_e164"),
            Dimension::Endpoint => ("endpoints", "name"),
            Dimension::Source => ("cdr_sources", "name"),
            Dimension::Brand => ("brands", "name"),
            _ => return None,
        })
    }

    /// Dimensions and filters on suppliers, closed to client administrators.
    pub fn is_supplier(self) -> bool {
        matches!(self, Dimension::Carrier | Dimension::DdiProvider)
    }
}

/// A measure rows may be ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderBy {
    Calls,
    Answered,
    BilledSeconds,
    Cost,
    Price,
    Margin,
}

impl OrderBy {
    fn value(self, s: &Sums) -> i64 {
        match self {
            OrderBy::Calls => s.calls,
            OrderBy::Answered => s.answered,
            OrderBy::BilledSeconds => s.billed_seconds,
            OrderBy::Cost => s.cost_micros,
            OrderBy::Price => s.price_micros,
            OrderBy::Margin => s.margin_micros,
        }
    }
}

/// A range bound: an instant (RFC 3339 with an offset), or a local time or date of the
/// query's time zone (`2026-10-01`, `2026-10-01T08:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    Instant(NaiveDateTime),
    Local(NaiveDateTime),
}

impl Bound {
    fn parse(name: &str, raw: &str) -> AppResult<Bound> {
        if let Some(t) = crate::fields::parse_time(raw) {
            return Ok(Bound::Instant(t));
        }
        let local = NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .or_else(|| NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S").ok())
            .or_else(|| NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M").ok());
        match local {
            Some(t) if (1970..=9999).contains(&chrono::Datelike::year(&t)) => Ok(Bound::Local(t)),
            _ => Err(AppError::invalid_query(format!(
                "{name}: {raw:?} is neither an RFC 3339 time with an offset nor a local date or time \
                 of the time zone (2026-10-01, 2026-10-01T08:00)"
            ))),
        }
    }

    fn resolve(self, name: &str, zone: Tz) -> AppResult<NaiveDateTime> {
        match self {
            Bound::Instant(t) => Ok(t),
            Bound::Local(t) if t.time() == chrono::NaiveTime::MIN => {
                buckets::day_start_utc(t.date(), zone).ok_or_else(|| {
                    AppError::invalid_query(format!("{name}: no such day in {zone}"))
                })
            }
            Bound::Local(t) => buckets::local_to_utc(t, zone).ok_or_else(|| {
                AppError::invalid_query(format!(
                    "{name}: {t} does not exist in {zone} (skipped by a daylight saving change)"
                ))
            }),
        }
    }
}

/// At most this many days between the range's bounds.
pub const MAX_RANGE_DAYS: i64 = 400;
pub const DEFAULT_LIMIT: usize = 1000;
pub const MAX_LIMIT: usize = 10_000;

/// The query parameters `/stats` takes (besides `_order[measure]`).
pub const PARAMS: &[&str] = &[
    "startTime[after]",
    "startTime[strictly_before]",
    "groupBy",
    "timezone",
    "limit",
    "brand",
    "client",
    "clientType",
    "carrier",
    "ddiProvider",
    "ddi",
    "endpointType",
    "endpointId",
    "direction",
    "destinationCountry",
    "international",
    "source",
    "disposition",
];
/// The measures rows may be ordered by (`_order[price]=desc`).
pub const ORDER: &[&str] = &[
    "calls",
    "answered",
    "billedSeconds",
    "cost",
    "price",
    "margin",
];

/// A statistics question, checked; who asks is [`query`]'s business.
#[derive(Debug, Clone)]
pub struct StatsQuery {
    pub after: Bound,
    pub strictly_before: Bound,
    /// None, one or two dimensions (at most one of them a time).
    pub group_by: Vec<Dimension>,
    /// Filters; its time bounds are ignored (they come from `after`/`strictly_before`).
    pub filter: StatsFilter,
    /// None: the caller's tenant's zone (UTC for platform administrators).
    pub timezone: Option<Tz>,
    pub order: Option<(OrderBy, Direction)>,
    pub limit: usize,
}

impl StatsQuery {
    /// The query from request parameters ([`PARAMS`] as filters, [`ORDER`] as `_order`);
    /// anything malformed is a 400 `invalid_query` naming the parameter.
    pub fn from_params(params: &ListParams) -> AppResult<StatsQuery> {
        let required = |name: &str| {
            params.filter(name).ok_or_else(|| {
                AppError::invalid_query(format!("{name}: required (the range of call start times)"))
            })
        };
        let after = Bound::parse("startTime[after]", required("startTime[after]")?)?;
        let before = Bound::parse(
            "startTime[strictly_before]",
            required("startTime[strictly_before]")?,
        )?;
        let group_by = group_by(params.filter("groupBy").unwrap_or(""))?;
        let timezone = params
            .filter("timezone")
            .map(|raw| {
                raw.parse::<Tz>().map_err(|_| {
                    AppError::invalid_query(format!(
                        "timezone: {raw:?} is not an IANA time zone (e.g. Europe/Madrid)"
                    ))
                })
            })
            .transpose()?;
        let limit = match params.filter("limit") {
            None => DEFAULT_LIMIT,
            Some(raw) => raw
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    AppError::invalid_query(format!(
                        "limit: {raw:?} is not a whole number from 1 to {MAX_LIMIT}"
                    ))
                })?,
        };
        let order = match params.order.as_slice() {
            [] => None,
            [(field, direction)] => Some((
                match field.as_str() {
                    "calls" => OrderBy::Calls,
                    "answered" => OrderBy::Answered,
                    "billedSeconds" => OrderBy::BilledSeconds,
                    "cost" => OrderBy::Cost,
                    "price" => OrderBy::Price,
                    _ => OrderBy::Margin,
                },
                *direction,
            )),
            _ => return Err(AppError::invalid_query("_order: one measure at most")),
        };
        let filter = StatsFilter {
            after: None,
            strictly_before: None,
            brand: params.filter_id("brand")?,
            client: params.filter_id("client")?,
            client_type: params.filter_choice("clientType", crate::tenancy::CLIENT_TYPES)?,
            carrier: params.filter_id("carrier")?,
            ddi_provider: params.filter_id("ddiProvider")?,
            ddi: params.filter_id("ddi")?,
            endpoint_type: params.filter_choice("endpointType", crate::tenancy::ENDPOINT_TYPES)?,
            endpoint_id: params.filter_id("endpointId")?,
            direction: params.filter_choice("direction", &["inbound", "outbound"])?,
            destination_countries: crate::calls::read::countries(
                params.filter("destinationCountry"),
            )?,
            international: params.filter_bool("international")?,
            source: params.filter_id("source")?,
            disposition: params
                .filter_choice("disposition", crate::db::billable_calls::DISPOSITIONS)?,
        };
        Ok(StatsQuery {
            after,
            strictly_before: before,
            group_by,
            filter,
            timezone,
            order,
            limit,
        })
    }
}

/// `groupBy`: empty, or one or two dimension names separated by a comma.
pub fn group_by(raw: &str) -> AppResult<Vec<Dimension>> {
    if raw.trim().is_empty() {
        return Ok(vec![]);
    }
    let mut dims = Vec::new();
    for name in raw.split(',').map(str::trim) {
        let d = Dimension::parse(name).ok_or_else(|| {
            let all: Vec<&str> = Dimension::ALL.iter().map(|d| d.name()).collect();
            AppError::invalid_query(format!(
                "groupBy: {name:?} is not one of {}",
                all.join(", ")
            ))
        })?;
        if dims.contains(&d) {
            return Err(AppError::invalid_query(format!(
                "groupBy: {name} given twice"
            )));
        }
        dims.push(d);
    }
    if dims.len() > 2 {
        return Err(AppError::invalid_query("groupBy: at most two dimensions"));
    }
    if dims.iter().filter(|d| d.grain().is_some()).count() > 1 {
        return Err(AppError::invalid_query(
            "groupBy: at most one of hour, day, week, month",
        ));
    }
    Ok(dims)
}

/// Whose calls a query sums and what it shows: derived from a caller by [`Scope::of`], or
/// built for a brand or a client directly (a scheduler's summary has no caller).
#[derive(Debug, Clone)]
pub struct Scope {
    /// None: every brand (platform administrators).
    pub brand: Option<String>,
    /// Held to one client (client administrators, client-level summaries).
    pub client: Option<String>,
    /// Whether brand may be named or grouped by (platform administrators).
    pub platform: bool,
    /// Client-level: no carrier or DDI provider grouping or filter, no cost or margin.
    pub client_level: bool,
    pub visibility: Visibility,
    /// The zone used when the query names none.
    pub zone: Tz,
    /// The query named another tenant: nothing matches.
    pub nothing: bool,
}

impl Scope {
    /// The scope of `caller`, narrowed by the brand and client a query names (another
    /// tenant's yields nothing, as lists do, rather than confirming it exists).
    pub fn of(conn: &mut DbConnection, caller: &Caller, q: &StatsQuery) -> AppResult<Scope> {
        let listed = caller.list_scope(q.filter.brand.clone(), q.filter.client.clone());
        let mut scope = match caller.role {
            Role::Platform => Scope {
                brand: None,
                client: None,
                platform: true,
                client_level: false,
                visibility: Visibility::ALL,
                zone: chrono_tz::UTC,
                nothing: false,
            },
            Role::Brand => {
                let brand = BrandId::from_db(caller.brand_id.clone().unwrap_or_default());
                Scope::for_brand(conn, &brand)?
            }
            Role::Client => {
                let client = ClientId::from_db(caller.client_id.clone().unwrap_or_default());
                Scope::for_client(conn, &client)?
            }
        };
        scope.brand = listed.brand;
        scope.client = listed.client;
        scope.nothing = listed.nothing;
        Ok(scope)
    }

    /// A brand's calls, as its operators see them.
    pub fn for_brand(conn: &mut DbConnection, brand: &BrandId) -> AppResult<Scope> {
        let row = db::brands::find(conn, brand)?.ok_or_else(AppError::not_found)?;
        Ok(Scope {
            brand: Some(row.id),
            client: None,
            platform: false,
            client_level: false,
            visibility: Visibility::ALL,
            zone: zone_of(&row.timezone),
            nothing: false,
        })
    }

    /// A client's calls, as its administrators see them.
    pub fn for_client(conn: &mut DbConnection, client: &ClientId) -> AppResult<Scope> {
        let row = db::clients::find(conn, client)?.ok_or_else(AppError::not_found)?;
        Ok(Scope {
            brand: Some(row.brand_id),
            client: Some(row.id),
            platform: false,
            client_level: true,
            visibility: Visibility {
                cost: false,
                price: row.show_billing_details,
            },
            zone: zone_of(&row.timezone),
            nothing: false,
        })
    }
}

fn zone_of(name: &str) -> Tz {
    name.parse().unwrap_or(chrono_tz::UTC)
}

/// One part of a row's key: the dimension, its value (a time label, an id, a code; None
/// for calls without one) and the entity's name where it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPart {
    pub dimension: Dimension,
    pub value: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, Clone)]
pub struct StatsRow {
    /// None: the "other" row summing the groups beyond the limit.
    pub key: Option<Vec<KeyPart>>,
    pub sums: Sums,
}

#[derive(Debug, Clone)]
pub struct StatsAnswer {
    /// The range's bounds as local times of `timezone`, with their offsets.
    pub from: String,
    pub to: String,
    pub timezone: String,
    pub group_by: Vec<Dimension>,
    pub rows: Vec<StatsRow>,
    /// The sums over every call of the query (rows included in "other" too).
    pub totals: Sums,
    /// Which money measures the caller may see.
    pub visibility: Visibility,
}

/// The statistics `caller` asked for: the tenancy rules, then [`run`].
pub fn query(conn: &mut DbConnection, caller: &Caller, q: &StatsQuery) -> AppResult<StatsAnswer> {
    let scope = Scope::of(conn, caller, q)?;
    run(conn, &scope, q)
}

/// Answers `q` within `scope`: client-level scopes may not group, filter or order by
/// suppliers or cost (403); only the platform names or groups by brand.
pub fn run(conn: &mut DbConnection, scope: &Scope, q: &StatsQuery) -> AppResult<StatsAnswer> {
    if scope.client_level {
        let suppliers = q.group_by.iter().any(|d| d.is_supplier())
            || q.filter.carrier.is_some()
            || q.filter.ddi_provider.is_some();
        if suppliers {
            return Err(AppError::forbidden(
                "client administrators may not group or filter by carrier or ddiProvider",
            ));
        }
        if matches!(q.order, Some((OrderBy::Cost | OrderBy::Margin, _))) {
            return Err(AppError::forbidden(
                "client administrators do not see cost or margin",
            ));
        }
    }
    if !scope.visibility.price && matches!(q.order, Some((OrderBy::Price, _))) {
        return Err(AppError::forbidden("prices are not shown to this client"));
    }
    if !scope.platform && q.group_by.contains(&Dimension::Brand) {
        return Err(AppError::forbidden(
            "only platform administrators group by brand",
        ));
    }
    let zone = q.timezone.unwrap_or(scope.zone);
    let after = q.after.resolve("startTime[after]", zone)?;
    let before = q
        .strictly_before
        .resolve("startTime[strictly_before]", zone)?;
    if before <= after {
        return Err(AppError::invalid_query(
            "startTime[strictly_before] must be later than startTime[after]",
        ));
    }
    if before - after > chrono::Duration::days(MAX_RANGE_DAYS) {
        return Err(AppError::invalid_query(format!(
            "the range is at most {MAX_RANGE_DAYS} days"
        )));
    }
    let mut filter = q.filter.clone();
    filter.after = Some(after);
    filter.strictly_before = Some(before);
    filter.brand = scope.brand.clone();
    filter.client = scope.client.clone();

    let time_at = q.group_by.iter().position(|d| d.grain().is_some());
    let entities: Vec<Dimension> = q
        .group_by
        .iter()
        .copied()
        .filter(|d| d.grain().is_none())
        .collect();
    let groups = if scope.nothing {
        vec![]
    } else {
        let columns: Vec<&'static str> = entities.iter().filter_map(|d| d.column()).collect();
        let local = time_at.map(|i| local_time(zone, q.group_by[i], after, before));
        store::sums(conn, &filter, time_at.is_some(), local.as_ref(), &columns)?
    };

    // Merge the database's groups into the local buckets; the map's order is the key's.
    let mut merged: BTreeMap<Vec<SortPart>, Sums> = BTreeMap::new();
    let mut totals = Sums::default();
    for g in &groups {
        totals.add(&g.sums);
        let mut values = g.values.iter();
        let key: Vec<SortPart> = q
            .group_by
            .iter()
            .map(|d| match d.grain() {
                Some(grain) => {
                    SortPart::Time(buckets::time_key(g.bucket.unwrap_or(0), zone, grain))
                }
                None => SortPart::Value(values.next().cloned().flatten()),
            })
            .collect();
        merged.entry(key).or_default().add(&g.sums);
    }
    let mut rows: Vec<(Vec<SortPart>, Sums)> = merged.into_iter().collect();
    if let Some((by, direction)) = q.order {
        rows.sort_by(|a, b| {
            let order = by.value(&a.1).cmp(&by.value(&b.1));
            match direction {
                Direction::Asc => order,
                Direction::Desc => order.reverse(),
            }
        });
    }
    let other = (rows.len() > q.limit).then(|| {
        let mut sums = Sums::default();
        for (_, s) in &rows[q.limit..] {
            sums.add(s);
        }
        sums
    });
    rows.truncate(q.limit);

    let names = names_of(conn, &q.group_by, &rows)?;
    let mut answer_rows: Vec<StatsRow> = rows
        .into_iter()
        .map(|(key, sums)| StatsRow {
            key: Some(
                q.group_by
                    .iter()
                    .zip(key)
                    .map(|(d, part)| {
                        let value = match part {
                            SortPart::Time(t) => Some(t.label),
                            SortPart::Value(v) => v,
                        };
                        let name = value
                            .as_ref()
                            .and_then(|v| names.get(&(*d, v.clone())).cloned());
                        KeyPart {
                            dimension: *d,
                            value,
                            name,
                        }
                    })
                    .collect(),
            ),
            sums,
        })
        .collect();
    if let Some(sums) = other {
        answer_rows.push(StatsRow { key: None, sums });
    }
    Ok(StatsAnswer {
        from: buckets::local_text(after, zone),
        to: buckets::local_text(before, zone),
        timezone: zone.name().to_string(),
        group_by: q.group_by.clone(),
        rows: answer_rows,
        totals,
        visibility: scope.visibility,
    })
}

/// The offsets of `zone` over the buckets of [after, before), for the database to sum whole
/// local hours (`Hour`) or days (the others) of `dimension`. Offsets are looked up hourly
/// and, where one changes, for each bucket of that hour.
fn local_time(
    zone: Tz,
    dimension: Dimension,
    after: NaiveDateTime,
    before: NaiveDateTime,
) -> store::LocalTime {
    use chrono::{Offset, TimeZone};
    let per = crate::db::rollups::BUCKET_SECONDS;
    let offset_at = |bucket: i64| {
        let t = chrono::DateTime::from_timestamp(bucket * per, 0)
            .unwrap_or_default()
            .naive_utc();
        let seconds = i64::from(zone.offset_from_utc_datetime(&t).fix().local_minus_utc());
        (seconds % per == 0).then_some(seconds / per)
    };
    let first = after.and_utc().timestamp().div_euclid(per);
    let last = (before.and_utc().timestamp() - 1).div_euclid(per);
    let walk = || -> Option<Vec<(i64, i64)>> {
        let mut segments = vec![(first, offset_at(first)?)];
        let mut b = first;
        while b < last {
            let next = (b + 4).min(last);
            if offset_at(next)? != segments[segments.len() - 1].1 {
                for each in b + 1..=next {
                    let o = offset_at(each)?;
                    if o != segments[segments.len() - 1].1 {
                        segments.push((each, o));
                    }
                }
            }
            b = next;
        }
        Some(segments)
    };
    // An offset off the 15-minute grid (before 1970 only): no segments, bucket by bucket.
    let segments = walk().unwrap_or_default();
    let periods = match dimension.grain() {
        Some(grain @ (Grain::Day | Grain::Week | Grain::Month)) => {
            periods(zone, grain, after, before)
        }
        _ => None,
    };
    store::LocalTime {
        segments,
        per_group: if dimension == Dimension::Hour { 4 } else { 96 },
        periods,
    }
}

/// Local days, weeks or months more than this are summed from the quarter-hours instead
/// (see [`periods`]): more than the days of the longest range.
const MAX_PERIODS: usize = MAX_RANGE_DAYS as usize + 2;

/// Each local day, week or month (`grain`) of [after, before) as its buckets [first, end),
/// clipped to the range; None when a bound is off the 15-minute grid or there are more
/// than [`MAX_PERIODS`]. A period starts at a local midnight (or a zone's first instant of
/// that day), so it is a whole number of buckets.
fn periods(
    zone: Tz,
    grain: Grain,
    after: NaiveDateTime,
    before: NaiveDateTime,
) -> Option<Vec<(i64, i64)>> {
    use chrono::TimeZone;
    let per = crate::db::rollups::BUCKET_SECONDS;
    let bucket = |t: NaiveDateTime| {
        let s = t.and_utc().timestamp();
        (s.rem_euclid(per) == 0 && t.and_utc().timestamp_subsec_nanos() == 0)
            .then_some(s.div_euclid(per))
    };
    let (first, end) = (bucket(after)?, bucket(before)?);
    let mut starts = vec![first];
    let mut key = buckets::time_key(first, zone, grain).order;
    let mut day = zone.from_utc_datetime(&after).date_naive().succ_opt()?;
    loop {
        let t = buckets::day_start_utc(day, zone)?;
        if t >= before {
            break;
        }
        let b = bucket(t)?;
        let k = buckets::time_key(b, zone, grain).order;
        if k != key {
            starts.push(b);
            key = k;
            if starts.len() > MAX_PERIODS {
                return None;
            }
        }
        day = day.succ_opt()?;
    }
    let ends = starts.iter().skip(1).copied().chain([end]);
    Some(starts.iter().copied().zip(ends).collect())
}

/// A key part as sorted: time keys in time order, other values by their text (calls
/// without a value first).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum SortPart {
    Time(TimeKey),
    Value(Option<String>),
}

/// The names of the entities in `rows`' keys, by (dimension, id).
fn names_of(
    conn: &mut DbConnection,
    group_by: &[Dimension],
    rows: &[(Vec<SortPart>, Sums)],
) -> AppResult<HashMap<(Dimension, String), String>> {
    let mut names = HashMap::new();
    for (i, d) in group_by.iter().enumerate() {
        let Some((table, column)) = d.names_from() else {
            continue;
        };
        let mut ids: Vec<String> = rows
            .iter()
            .filter_map(|(key, _)| match &key[i] {
                SortPart::Value(Some(v)) => Some(v.clone()),
                _ => None,
            })
            .collect();
        ids.sort();
        ids.dedup();
        for (id, name) in store::names(conn, table, column, &ids)? {
            names.insert((*d, id), name);
        }
    }
    Ok(names)
}
