//! Evaluation of spend and quality rules, run by the runner on every pass (and, without
//! recording, by `POST /alert_rules/{id}/test`). The figures come from one query function,
//! [`sums_per`], over the stats module's sums, so a faster source (a rollup) can replace it
//! alone. Recording an event is an insert on its unique (rule, subject, window): passes on
//! several instances, or again after a crash, record it once.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use chrono::{Duration, NaiveDateTime};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::alerts::arrivals::Destinations;
use crate::alerts::rules::{self, DESTINATION, QUALITY, SPEND, VELOCITY};
use crate::alerts::windows::{self, Condition, Span, Window};
use crate::db::alerts::{self as store, AlertEvent, AlertRule};
use crate::db::rollups::Projection;
use crate::db::stats::{self as stats_db, Group, StatsFilter};
use crate::db::{self, DbConnection};
use crate::error::{AppError, AppResult};
use crate::ids::{ClientId, Id};
use crate::stats::measures::{money, Measures, Sums, Visibility, MICROS};

/// Callids an event lists at most.
pub const MAX_EVENT_CALLS: i64 = 20;

/// What fired: a client, endpoint, carrier or caller number (none: the rule's whole scope).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subject {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    pub name: String,
}

impl Subject {
    /// The subject's part of an event's unique key.
    pub fn key(subject: Option<&Subject>) -> String {
        subject.map_or(String::new(), |s| format!("{}:{}", s.kind, s.id))
    }
}

/// One subject's figures in one window, and whether they meet the rule.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub subject: Option<Subject>,
    pub window: [String; 2],
    pub measured: Option<String>,
    pub threshold: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
    pub calls: i64,
    pub fires: bool,
    #[serde(skip)]
    pub window_bounds: Option<Window>,
}

/// The rule's scope as a stats filter over `window`.
fn scope_filter(rule: &AlertRule, window: Window) -> StatsFilter {
    StatsFilter {
        after: Some(window.from),
        strictly_before: Some(window.to),
        brand: Some(rule.brand_id.clone()),
        client: rule.client_id.clone(),
        client_type: rule.client_type.clone(),
        carrier: rule.carrier_id.clone(),
        endpoint_type: rule.endpoint_type.clone(),
        endpoint_id: rule.endpoint_id.clone(),
        direction: rule.direction.clone(),
        destination_countries: rule.destination_countries.as_deref().map(store::split_list),
        ..StatsFilter::default()
    }
}

/// The `billable_calls` column a spend or velocity rule's `per` groups by.
fn per_column(per: Option<&str>) -> Option<&'static str> {
    match per {
        Some("client") => Some("client_id"),
        Some("endpoint") => Some("endpoint_id"),
        Some("carrier") => Some("carrier_id"),
        Some("caller") => Some("caller"),
        _ => None,
    }
}

/// What one evaluation keeps between rules: the owners' zones, the subjects' names, and
/// the sums it has read.
#[derive(Default)]
pub struct Context {
    zones: HashMap<String, String>,
    pub names: Names,
    /// Per (brand, window, projection): every client and value's sums, read once and shared
    /// by the brand's rules over that window.
    figures: HashMap<(String, Window, Projection), Vec<Group>>,
    /// Per (brand, client type): its clients.
    of_type: HashMap<(String, String), HashSet<String>>,
}

impl Context {
    /// The sums of `brand` in `window` per client and value of projection `p`.
    fn figures(
        &mut self,
        conn: &mut DbConnection,
        brand: &str,
        window: Window,
        p: Projection,
    ) -> AppResult<&[Group]> {
        let key = (brand.to_string(), window, p);
        if !self.figures.contains_key(&key) {
            let filter = StatsFilter {
                after: Some(window.from),
                strictly_before: Some(window.to),
                brand: Some(brand.to_string()),
                ..StatsFilter::default()
            };
            let groups = stats_db::sums(conn, &filter, false, None, &projection_columns(p))?;
            self.figures.insert(key.clone(), groups);
        }
        Ok(&self.figures[&key])
    }

    fn clients_of_type(
        &mut self,
        conn: &mut DbConnection,
        brand: &str,
        client_type: &str,
    ) -> AppResult<HashSet<String>> {
        let key = (brand.to_string(), client_type.to_string());
        if !self.of_type.contains_key(&key) {
            let ids = db::clients::ids_of_type(conn, brand, client_type)?;
            self.of_type.insert(key.clone(), ids.into_iter().collect());
        }
        Ok(self.of_type[&key].clone())
    }
}

/// The columns that read every client and value of projection `p`.
fn projection_columns(p: Projection) -> Vec<&'static str> {
    match p {
        Projection::BrandCarrier => vec!["carrier_id"],
        Projection::BrandCountry => vec!["destination_country"],
        Projection::ClientCountry => vec!["client_id", "destination_country"],
        Projection::ClientEndpoint => vec!["client_id", "endpoint_id"],
    }
}

/// The sums of the rule's scope in `window`, per subject id (`None`: the whole scope, or
/// calls without the subject, e.g. inbound calls have no carrier). The one place the
/// figures are read from: where the statistics' rollup answers the rule, from the sums of
/// the rule's brand and window that `cx` read for every client and value (one read for
/// all the brand's rules over the window); otherwise from the calls.
pub fn sums_per(
    conn: &mut DbConnection,
    cx: &mut Context,
    rule: &AlertRule,
    window: Window,
    per: Option<&str>,
) -> AppResult<Vec<(Option<String>, Sums)>> {
    let mut filter = scope_filter(rule, window);
    // A rule names an endpoint with its type (as schedulers do); a call of the endpoint
    // carries that type (ingestion refuses another), so with the endpoint named the type
    // adds nothing, and the rollup, which has endpoints but not their types, answers.
    if filter.endpoint_id.is_some() {
        filter.endpoint_type = None;
    }
    let columns: Vec<&'static str> = per_column(per).into_iter().collect();
    let mut merged: HashMap<Option<String>, Sums> = HashMap::new();
    // The brand-wide read of `projection_columns(p)` is answered by `p` itself (a test
    // checks it), so it holds every row the rule's own read would.
    match stats_db::projection_for(&filter, &columns) {
        Some(p) => {
            let of_type = match &rule.client_type {
                Some(t) => Some(cx.clients_of_type(conn, &rule.brand_id, t)?),
                None => None,
            };
            let countries = filter.destination_countries.as_deref();
            for g in cx.figures(conn, &rule.brand_id, window, p)? {
                let (client, value) = if p.per_client() {
                    (g.values[0].as_deref(), g.values[1].as_deref())
                } else {
                    (None, g.values[0].as_deref())
                };
                let wanted = filter.client.as_deref().is_none_or(|c| client == Some(c))
                    && of_type
                        .as_ref()
                        .is_none_or(|ids| client.is_some_and(|c| ids.contains(c)))
                    && [&filter.carrier, &filter.endpoint_id]
                        .into_iter()
                        .flatten()
                        .all(|v| value == Some(v.as_str()))
                    && countries
                        .is_none_or(|list| value.is_some_and(|v| list.iter().any(|c| c == v)));
                if !wanted {
                    continue;
                }
                let key = match columns.first() {
                    None => None,
                    Some(&"client_id") => client.map(str::to_string),
                    Some(_) => value.map(str::to_string),
                };
                merged.entry(key).or_default().add(&g.sums);
            }
        }
        None => {
            for g in stats_db::sums(conn, &filter, false, None, &columns)? {
                let key = if columns.is_empty() {
                    None
                } else {
                    g.values[0].clone()
                };
                merged.entry(key).or_default().add(&g.sums);
            }
        }
    }
    let mut rows: Vec<_> = merged.into_iter().collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(rows)
}

/// A measure (`price`, `cost`, `minutes`, `calls`, `asr`, `acd`) of `sums`, as the
/// analytics define it; `None` when undefined (an ACD without answered calls).
pub fn measure_of(sums: &Sums, measure: &str) -> Option<Decimal> {
    let shown = Measures::of(sums, Visibility::ALL);
    let parse = |s: &str| Decimal::from_str(s).ok();
    match measure {
        "price" => Some(Decimal::new(sums.price_micros, 6)),
        "cost" => Some(Decimal::new(sums.cost_micros, 6)),
        "minutes" => parse(&shown.minutes),
        "calls" => Some(Decimal::from(sums.calls)),
        "asr" => shown.asr.as_deref().and_then(parse),
        "acd" => shown.acd.as_deref().and_then(parse),
        _ => None,
    }
}

/// A measured value as an event shows it: money with its 4 (or more) decimals, like /stats.
fn shown(measure: &str, value: Decimal) -> String {
    match measure {
        "price" | "cost" => {
            let micros = (value * Decimal::from(MICROS)).trunc();
            money(i64::try_from(micros).unwrap_or(i64::MAX))
        }
        _ => value.to_string(),
    }
}

/// Names of subjects, looked up once per evaluation.
#[derive(Default)]
pub struct Names {
    cache: HashMap<(String, String), String>,
}

impl Names {
    pub fn subject(&mut self, conn: &mut DbConnection, kind: &str, id: &str) -> AppResult<Subject> {
        let key = (kind.to_string(), id.to_string());
        if let Some(name) = self.cache.get(&key) {
            return Ok(Subject {
                kind: kind.into(),
                id: id.into(),
                name: name.clone(),
            });
        }
        let name = match kind {
            "client" => db::clients::find(conn, &ClientId::from_db(id.into()))?.map(|c| c.name),
            "endpoint" => db::endpoints::find(conn, id)?.map(|e| e.name),
            "carrier" => db::carriers::find(conn, &crate::ids::CarrierId::from_db(id.into()))?
                .map(|c| c.name),
            _ => None,
        }
        .unwrap_or_else(|| id.to_string());
        self.cache.insert(key, name.clone());
        Ok(Subject {
            kind: kind.into(),
            id: id.into(),
            name,
        })
    }
}

/// The zone of a rule's calendar windows.
fn zone_of(
    conn: &mut DbConnection,
    rule: &AlertRule,
    zones: &mut HashMap<String, String>,
) -> AppResult<Tz> {
    let name = rules::timezone_of(conn, rule, zones)?;
    name.parse()
        .map_err(|_| AppError::internal(format!("stored timezone {name:?} is invalid")))
}

fn span_of(rule: &AlertRule) -> AppResult<Span> {
    rule.time_window
        .as_deref()
        .unwrap_or_default()
        .parse()
        .map_err(|e| AppError::internal(format!("alert rule {}: window {e}", rule.id)))
}

fn decimal_of(rule: &AlertRule, text: Option<&str>) -> AppResult<Decimal> {
    text.and_then(|t| Decimal::from_str(t).ok())
        .ok_or_else(|| AppError::internal(format!("alert rule {}: bad threshold", rule.id)))
}

/// A window as events and findings show it.
pub fn bounds(w: Window) -> [String; 2] {
    [crate::fields::ts(w.from), crate::fields::ts(w.to)]
}

/// A spend rule's findings in `window`: one per subject with calls.
pub fn spend_findings(
    conn: &mut DbConnection,
    cx: &mut Context,
    rule: &AlertRule,
    window: Window,
) -> AppResult<Vec<Finding>> {
    let measure = rule.measure.clone().unwrap_or_default();
    let threshold = decimal_of(rule, rule.threshold.as_deref())?;
    let mut findings = vec![];
    for (subject_id, sums) in sums_per(conn, cx, rule, window, rule.per.as_deref())? {
        let subject = match (&rule.per, subject_id) {
            (None, _) => None,
            // Calls without the subject (no carrier, no endpoint) are nobody's.
            (Some(_), None) => continue,
            (Some(per), Some(id)) => Some(cx.names.subject(conn, per, &id)?),
        };
        let value = measure_of(&sums, &measure).unwrap_or_default();
        findings.push(Finding {
            subject,
            window: bounds(window),
            measured: Some(shown(&measure, value)),
            threshold: rule.threshold.clone().unwrap_or_default(),
            previous: None,
            calls: sums.calls,
            fires: windows::reaches(value, threshold),
            window_bounds: Some(window),
        });
    }
    Ok(findings)
}

/// A quality rule's finding for the closed `window` (its whole scope is one subject).
pub fn quality_finding(
    conn: &mut DbConnection,
    cx: &mut Context,
    rule: &AlertRule,
    zone: Tz,
    window: Window,
) -> AppResult<Finding> {
    let span = span_of(rule)?;
    let metric = rule.measure.clone().unwrap_or_default();
    let value = decimal_of(rule, rule.threshold.as_deref())?;
    let condition = Condition::from_str(rule.condition.as_deref().unwrap_or_default())
        .map_err(AppError::internal)?;
    let total = |rows: Vec<(Option<String>, Sums)>| {
        let mut sums = Sums::default();
        for (_, s) in rows {
            sums.add(&s);
        }
        sums
    };
    let current = total(sums_per(conn, cx, rule, window, None)?);
    let previous = if condition.is_relative() {
        let earlier = match rule.compare_to.as_deref() {
            Some("sameWindowLastWeek") => windows::same_window_last_week(span, zone, window),
            _ => windows::previous_window(span, zone, window),
        };
        let sums = total(sums_per(conn, cx, rule, earlier, None)?);
        // A window without calls has no ASR or ACD; its count and minutes are 0.
        (sums.calls > 0)
            .then(|| measure_of(&sums, &metric))
            .flatten()
    } else {
        None
    };
    let measured = measure_of(&current, &metric);
    let fires = windows::meets(
        condition,
        measured,
        previous,
        value,
        current.calls,
        i64::from(rule.min_calls.unwrap_or(rules::DEFAULT_MIN_CALLS as i32)),
    );
    Ok(Finding {
        subject: None,
        window: bounds(window),
        measured: measured.map(|m| m.to_string()),
        threshold: rule.threshold.clone().unwrap_or_default(),
        previous: previous.map(|p| p.to_string()),
        calls: current.calls,
        fires,
        window_bounds: Some(window),
    })
}

/// The windows a spend rule is judged over at `now`: the current one, and the one before
/// while it is within the grace time (calls of its last moments arrive after it closed).
fn spend_windows(span: Span, zone: Tz, now: NaiveDateTime, grace: Duration) -> Vec<Window> {
    let current = windows::window_of(span, zone, now);
    let previous = windows::previous_window(span, zone, current);
    let mut out = vec![current];
    if now < previous.to + grace {
        out.push(previous);
    }
    out
}

/// A rule's findings now, without recording anything (the `test` operation's figures and
/// the runner's input).
pub fn findings_now(
    conn: &mut DbConnection,
    cx: &mut Context,
    rule: &AlertRule,
    now: NaiveDateTime,
    grace: Duration,
) -> AppResult<Vec<Finding>> {
    let zone = zone_of(conn, rule, &mut cx.zones)?;
    match rule.kind.as_str() {
        SPEND => {
            let span = span_of(rule)?;
            let mut all = vec![];
            for window in spend_windows(span, zone, now, grace) {
                all.extend(spend_findings(conn, cx, rule, window)?);
            }
            Ok(all)
        }
        QUALITY => {
            let span = span_of(rule)?;
            let window = windows::last_closed(span, zone, now, grace);
            Ok(vec![quality_finding(conn, cx, rule, zone, window)?])
        }
        VELOCITY => velocity_findings(conn, cx, rule, now),
        DESTINATION => destination_findings(conn, &mut cx.names, rule, now),
        _ => Ok(vec![]),
    }
}

/// A velocity rule's findings now: each subject's outbound calls of the last `minutes`
/// (arriving calls are checked against every sliding window as they are stored).
fn velocity_findings(
    conn: &mut DbConnection,
    cx: &mut Context,
    rule: &AlertRule,
    now: NaiveDateTime,
) -> AppResult<Vec<Finding>> {
    let minutes = i64::from(rule.minutes.unwrap_or(1));
    let max_calls = i64::from(rule.max_calls.unwrap_or(0));
    let window = Window {
        from: now - Duration::minutes(minutes),
        to: now,
    };
    let per = rule.per.as_deref().unwrap_or("client");
    let mut findings = vec![];
    for (subject_id, sums) in sums_per(conn, cx, rule, window, Some(per))? {
        let Some(id) = subject_id else { continue };
        findings.push(Finding {
            subject: Some(cx.names.subject(conn, per, &id)?),
            window: bounds(window),
            measured: Some(sums.calls.to_string()),
            threshold: max_calls.to_string(),
            previous: None,
            calls: sums.calls,
            fires: sums.calls > max_calls,
            window_bounds: Some(window),
        });
    }
    Ok(findings)
}

/// How far back `POST /alert_rules/{id}/test` looks for a destination rule's calls.
pub const DESTINATION_TEST_HOURS: i64 = 24;

/// A destination rule's findings now: per client, the outbound calls of the last
/// [`DESTINATION_TEST_HOURS`] it flags (it would fire for any).
fn destination_findings(
    conn: &mut DbConnection,
    names: &mut Names,
    rule: &AlertRule,
    now: NaiveDateTime,
) -> AppResult<Vec<Finding>> {
    let window = Window {
        from: now - Duration::hours(DESTINATION_TEST_HOURS),
        to: now,
    };
    let list = Destinations::of(rule);
    let counts = store::destination_counts(
        conn,
        &scope_filter(rule, window),
        list.block,
        &list.countries,
        &list.prefixes,
    )?;
    let mut findings = vec![];
    for (client, n) in counts {
        findings.push(Finding {
            subject: Some(names.subject(conn, "client", &client)?),
            window: bounds(window),
            measured: Some(n.to_string()),
            threshold: list.describe(),
            previous: None,
            calls: n,
            fires: n > 0,
            window_bounds: Some(window),
        });
    }
    Ok(findings)
}

/// The event of a firing finding over `window`, ready to record.
pub fn event_of(
    rule: &AlertRule,
    finding: Finding,
    window: Window,
    calls: Vec<String>,
    now: NaiveDateTime,
) -> AlertEvent {
    let subject = finding.subject.as_ref();
    let email = rule.recipients();
    AlertEvent {
        id: db::new_id(),
        rule_id: rule.id.clone(),
        brand_id: rule.brand_id.clone(),
        client_id: rule.client_id.clone(),
        level: rule.level.clone(),
        rule_name: rule.name.clone(),
        kind: rule.kind.clone(),
        subject_type: subject.map(|s| s.kind.clone()),
        subject_id: subject.map(|s| s.id.clone()),
        subject_name: subject.map(|s| s.name.clone()),
        subject_key: Subject::key(subject),
        window_from: window.from,
        window_to: window.to,
        measured: finding.measured.clone().unwrap_or_default(),
        threshold: finding.threshold.clone(),
        previous: finding.previous.clone(),
        fired_at: now,
        calls: calls.join(","),
        sent_to: email.join(","),
        email_status: if email.is_empty() { "none" } else { "pending" }.into(),
        email_attempts: 0,
        email_error: None,
        email_next_attempt: Some(now),
        email_lease_until: None,
        webhook_status: if rule.webhook_url.is_some() {
            "pending"
        } else {
            "none"
        }
        .into(),
        webhook_attempts: 0,
        webhook_error: None,
        webhook_next_attempt: Some(now),
        webhook_lease_until: None,
        created_at: now,
        updated_at: now,
    }
}

/// What one evaluation pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Evaluated {
    pub rules: usize,
    pub recorded: usize,
}

/// Evaluates every enabled spend and quality rule at the database's "now" and records the
/// events of what fires (those already recorded are left alone).
pub fn run_pass(conn: &mut DbConnection, grace: Duration) -> AppResult<Evaluated> {
    let now = db::clock(conn)?;
    run_pass_at(conn, grace, now)
}

/// The page cache a pass reads with on SQLite ([`db::with_page_cache`]): a first pass over
/// a large brand lists thousands of events' calls, row by row.
const PASS_CACHE_KIB: u32 = 64 * 1024;

/// The longest window a spend or quality rule is judged over: a month of 31 days and a
/// DST hour, rounded up.
const LONGEST_WINDOW: Duration = Duration::days(32);

/// An event's unique key: rule, subject key, window start.
type EventKey = (String, String, NaiveDateTime);

/// [`run_pass`] as if it were `now`. The statements it makes: one for the rules, one for
/// the events already recorded (a thousand rules each), one per rule and window with new
/// events for their calls, and one short transaction per [`store::EVENTS_PER_INSERT`] new
/// events or so (a batch ends with the rule that fills it) to record them. On SQLite it
/// reads with a larger page cache ([`PASS_CACHE_KIB`]).
pub fn run_pass_at(
    conn: &mut DbConnection,
    grace: Duration,
    now: NaiveDateTime,
) -> AppResult<Evaluated> {
    db::with_page_cache(conn, PASS_CACHE_KIB, |conn| pass(conn, grace, now))
}

fn pass(conn: &mut DbConnection, grace: Duration, now: NaiveDateTime) -> AppResult<Evaluated> {
    let rules = store::enabled_rules(conn, &[SPEND, QUALITY])?;
    // The events recorded already, read once rather than asked per finding. Every window a
    // pass records ends after `now - grace - LONGEST_WINDOW` (a spend rule's current one
    // ends after `now`, its previous one after `now - grace`; a quality rule's last closed
    // one ends after `now - grace` less one window), so it starts after `now - grace -
    // 2 * LONGEST_WINDOW`: older events cannot be met again. This only saves work: an
    // event missing here (recorded meanwhile by another instance) meets the unique key
    // when recorded and is left alone.
    let ids: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
    let oldest = now - grace - LONGEST_WINDOW * 2;
    let mut known: HashSet<EventKey> = store::event_keys(conn, &ids, oldest)?.into_iter().collect();
    let mut cx = Context::default();
    let mut done = Evaluated {
        rules: rules.len(),
        recorded: 0,
    };
    let mut new_events = vec![];
    for rule in &rules {
        match new_events_of(conn, &mut cx, rule, now, grace, &mut known) {
            Ok(events) => new_events.extend(events),
            // One broken rule does not stop the others.
            Err(e) => tracing::warn!(rule = %rule.id, error = %e, "alert rule not evaluated"),
        }
        if new_events.len() >= store::EVENTS_PER_INSERT {
            done.recorded += record_batch(conn, std::mem::take(&mut new_events))?;
        }
    }
    done.recorded += record_batch(conn, new_events)?;
    Ok(done)
}

/// The events of `rule`'s firing findings at `now` whose key is not in `known` (which
/// gains them), with their calls: read in one statement per window for all the rule's new
/// events (a first pass may find thousands).
fn new_events_of(
    conn: &mut DbConnection,
    cx: &mut Context,
    rule: &AlertRule,
    now: NaiveDateTime,
    grace: Duration,
    known: &mut HashSet<EventKey>,
) -> AppResult<Vec<AlertEvent>> {
    // The new findings, per window (a spend rule has two at most: the current one and,
    // within the grace time, the one before).
    let mut fresh: Vec<(Window, Vec<Finding>)> = vec![];
    for f in findings_now(conn, cx, rule, now, grace)? {
        let Some(window) = f.window_bounds.filter(|_| f.fires) else {
            continue;
        };
        let key = (
            rule.id.clone(),
            Subject::key(f.subject.as_ref()),
            window.from,
        );
        // Fired on an earlier pass: nothing to read or record.
        if !known.insert(key) {
            continue;
        }
        match fresh.iter_mut().find(|(w, _)| *w == window) {
            Some((_, findings)) => findings.push(f),
            None => fresh.push((window, vec![f])),
        }
    }
    let column = per_column(rule.per.as_deref());
    let mut events = vec![];
    for (window, findings) in fresh {
        let subjects: Vec<&str> = findings
            .iter()
            .filter_map(|f| f.subject.as_ref().map(|s| s.id.as_str()))
            .collect();
        let filter = scope_filter(rule, window);
        let mut calls = store::callids(conn, &filter, column, &subjects, MAX_EVENT_CALLS)?;
        // A finding without a subject lists the scope's calls.
        if column.is_some() && findings.iter().any(|f| f.subject.is_none()) {
            calls.extend(store::callids(conn, &filter, None, &[], MAX_EVENT_CALLS)?);
        }
        for f in findings {
            let of = match (column, &f.subject) {
                (Some(_), Some(s)) => s.id.as_str(),
                _ => "",
            };
            let listed = calls.get(of).cloned().unwrap_or_default();
            events.push(event_of(rule, f, window, listed, now));
        }
    }
    Ok(events)
}

/// Records `events` in one short transaction (SQLite's one writer is not kept from the
/// calls arriving meanwhile for longer than the INSERT takes); returns how many were
/// inserted, those another instance recorded first left out. Sorted by their unique key,
/// so two instances recording the same events at once take the key's locks in the same
/// order (on PostgreSQL the second waits for the first, then leaves the event alone)
/// rather than each waiting for the other.
fn record_batch(conn: &mut DbConnection, mut events: Vec<AlertEvent>) -> AppResult<usize> {
    if events.is_empty() {
        return Ok(0);
    }
    events.sort_by(|a, b| {
        (&a.rule_id, &a.subject_key, a.window_from).cmp(&(
            &b.rule_id,
            &b.subject_key,
            b.window_from,
        ))
    });
    let recorded = db::transaction(conn, |conn| store::record_events(conn, &events))?;
    Ok(recorded.len())
}

/// What `POST /alert_rules/{id}/test` answers: the rule's figures now, per subject, and
/// whether each would fire; nothing is recorded or sent.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TestAnswer {
    pub rule: String,
    pub kind: String,
    pub evaluated_at: String,
    pub findings: Vec<Finding>,
}

/// Evaluates a rule the caller may see, now: spend over its current window (and the one
/// before, within the grace time), quality over its last closed window, velocity over the
/// last `minutes`, destination over the calls of the last [`DESTINATION_TEST_HOURS`].
pub fn test_rule(
    conn: &mut DbConnection,
    caller: &crate::auth::Caller,
    id: &crate::ids::AlertRuleId,
    grace: Duration,
) -> AppResult<TestAnswer> {
    use crate::ops::Resource;
    let rule = rules::AlertRules::find(conn, caller, id)?.rule;
    let now = db::clock(conn)?;
    let findings = findings_now(conn, &mut Context::default(), &rule, now, grace)?;
    Ok(TestAnswer {
        rule: rule.id,
        kind: rule.kind,
        evaluated_at: crate::fields::ts(now),
        findings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_projections_brand_wide_read_is_answered_by_that_projection() {
        let day = |d: u32| {
            chrono::NaiveDate::from_ymd_opt(2026, 10, d)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
        };
        let filter = StatsFilter {
            after: Some(day(1)),
            strictly_before: Some(day(2)),
            brand: Some("b".into()),
            ..StatsFilter::default()
        };
        for p in Projection::ALL {
            assert_eq!(
                stats_db::projection_for(&filter, &projection_columns(p)),
                Some(p)
            );
        }
    }

    #[test]
    fn measures_follow_the_analytics_definitions() {
        let sums = Sums {
            calls: 3,
            answered: 2,
            billed_seconds: 185,
            cost_micros: 50_000,
            price_micros: 312_500,
            margin_micros: 262_500,
            unrated: 0,
        };
        let d = |s: &str| Some(Decimal::from_str(s).unwrap());
        assert_eq!(measure_of(&sums, "price"), d("0.3125"));
        assert_eq!(measure_of(&sums, "cost"), d("0.05"));
        assert_eq!(measure_of(&sums, "minutes"), d("3.1"));
        assert_eq!(measure_of(&sums, "calls"), d("3"));
        assert_eq!(measure_of(&sums, "asr"), d("0.6667"));
        assert_eq!(measure_of(&sums, "acd"), d("92.5"));
        assert_eq!(measure_of(&Sums::default(), "acd"), None);
        assert_eq!(shown("price", Decimal::new(312_500, 6)), "0.3125");
        assert_eq!(shown("price", Decimal::new(312_512, 6)), "0.312512");
    }
}
