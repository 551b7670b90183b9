//! The alert pages: rules (list; create and edit showing only the chosen kind's settings;
//! a webhook's signing secret shown once; delete), a rule tested now (the operation behind
//! `POST /alert_rules/{id}/test`: the figures per subject and whether each would fire,
//! nothing recorded or sent), and the events with filters. `AlertRules` and
//! `alerts::events` are the operations of `/alert_rules` and `/alert_events`: a client
//! administrator manages its own client's rules, which never watch cost or carriers.

use std::collections::{BTreeMap, HashMap};

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{DateTime, NaiveDateTime};
use chrono_tz::Tz;
use serde_json::{Map, Value};

use crate::alerts::evaluate::{self, Finding};
use crate::alerts::events;
use crate::alerts::rules::{self as r, AlertRules, ZonedRule};
use crate::auth::{Caller, Role};
use crate::db::alerts::{split_list, AlertEvent};
use crate::db::{self, DbConnection};
use crate::error::{AppError, AppResult};
use crate::ids::AlertRuleId;
use crate::ops::Resource;
use crate::tenancy::{Brands, Carriers, Clients, Endpoints, NotificationTemplates};
use crate::ui::edit::{brand_field, fields_body, fixed, pick, put, Ctx, Edited, Field, Kind};
use crate::ui::schedulers::{all, Choice};
use crate::ui::view::{self, Nav};
use crate::ui::{filled_query, page, path_id, Console, Pager, UiError};
use crate::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/alert_rules", web::get().to(rules))
        .route("/alert_rules/{id}/test", web::get().to(test))
        .route("/alert_events", web::get().to(event_list));
}

/// What each kind watches, for the "New rule" links and the form.
const KIND_HELP: &[(&str, &str)] = &[
    (
        r::SPEND,
        "price, cost, minutes or calls in an hour, day, week or month reach a threshold",
    ),
    (
        r::DESTINATION,
        "an outbound call to a country or prefix on a list (or off an allow list)",
    ),
    (
        r::QUALITY,
        "ASR, ACD, calls or minutes of an hour or day cross a value or change against before",
    ),
    (
        r::VELOCITY,
        "more outbound calls than allowed within some minutes",
    ),
];

fn without<'a>(all: &[&'a str], left_out: &str, when: bool) -> Vec<&'a str> {
    all.iter()
        .copied()
        .filter(|v| !(when && *v == left_out))
        .collect()
}

/// The settings of `kind` (the operation refuses another kind's, so none are offered).
fn kind_fields(kind: &str, client_level: bool) -> Vec<Field> {
    let select = |name: &str, label: &str, values: &[&str]| {
        Field::new(name, label, Kind::Select(fixed(values)))
    };
    match kind {
        r::SPEND => vec![
            select(
                "measure",
                "Measure",
                &without(r::MEASURES, "cost", client_level),
            ),
            select("window", "Window", r::SPEND_WINDOWS)
                .help("A calendar hour, day, week or month in the rule's time zone."),
            select(
                "per",
                "Per (empty = the whole scope)",
                &without(r::SPEND_PER, "carrier", client_level),
            ),
            Field::new("threshold", "Threshold", Kind::Text)
                .help("A decimal such as 500 or 99.50, in the plan's currency for money."),
        ],
        r::DESTINATION => vec![
            select("mode", "Mode", r::MODES)
                .help("block: calls to the list fire; allow: calls anywhere else fire."),
            Field::new("countries", "Countries", Kind::Words)
                .help("ISO codes separated by commas, e.g. CU, SO."),
            Field::new("prefixes", "Prefixes", Kind::Words)
                .help("E.164 prefixes separated by commas, e.g. +882, +881."),
        ],
        r::QUALITY => vec![
            select("metric", "Metric", r::METRICS),
            select("condition", "Condition", r::CONDITIONS),
            Field::new("value", "Value", Kind::Text)
                .help("ASR as a fraction (0.4), ACD in seconds, a percentage for …ByPercent."),
            select("compareTo", "Compared to (empty = fixed)", r::COMPARE_TO),
            select("window", "Window", r::QUALITY_WINDOWS),
            Field::new("minCalls", "Minimum calls (empty = 20)", Kind::Number)
                .help("A window with fewer calls is not judged."),
        ],
        r::VELOCITY => vec![
            select("per", "Per", r::VELOCITY_PER),
            Field::new("maxCalls", "At most this many calls", Kind::Number),
            Field::new("minutes", "Within minutes", Kind::Number),
        ],
        _ => vec![],
    }
}

impl Edited for AlertRules {
    const PATH: &'static str = "alert_rules";
    const SECTION: &'static str = "alerts";
    const NOUN: &'static str = "alert rule";
    const DELETE_NOTE: &'static str =
        "Its events stay in the events list: they are the record of what fired.";

    fn fields(
        conn: &mut DbConnection,
        caller: &Caller,
        values: &BTreeMap<String, String>,
        creating: bool,
    ) -> AppResult<Vec<Field>> {
        let client_level = caller.role == Role::Client;
        let kind = values.get("kind").map(String::as_str).unwrap_or_default();
        let mut f: Vec<Field> = brand_field(conn, caller, creating)?.into_iter().collect();
        f.extend([
            Field::new("name", "Name", Kind::Text),
            Field::new("kind", "Kind", Kind::Select(fixed(r::KINDS)))
                .help("Each kind has its own settings: after changing it, save to see them."),
            Field::new("enabled", "Enabled", Kind::Check),
        ]);
        f.extend(kind_fields(kind, client_level));
        if !client_level {
            let clients = all::<Clients>(conn, caller)?
                .into_iter()
                .map(|c| (c.id, c.name))
                .collect();
            let carriers = all::<Carriers>(conn, caller)?
                .into_iter()
                .map(|c| (c.id, c.name))
                .collect();
            f.extend([
                Field::new("client", "Only the client", Kind::Select(pick(clients))),
                Field::new(
                    "clientType",
                    "Only clients of type",
                    Kind::Select(fixed(crate::tenancy::CLIENT_TYPES)),
                ),
                Field::new("carrier", "Only the carrier", Kind::Select(pick(carriers))),
            ]);
        }
        let endpoints = all::<Endpoints>(conn, caller)?
            .into_iter()
            .map(|e| (e.id, e.name))
            .collect();
        f.extend([
            Field::new(
                "endpointType",
                "Only endpoints of type",
                Kind::Select(fixed(crate::tenancy::ENDPOINT_TYPES)),
            ),
            Field::new(
                "endpointId",
                "Only the endpoint",
                Kind::Select(pick(endpoints)),
            ),
        ]);
        if kind != r::DESTINATION && kind != r::VELOCITY {
            f.push(Field::new(
                "direction",
                "Direction (empty = both)",
                Kind::Select(fixed(&["inbound", "outbound"])),
            ));
        }
        let templates = all::<NotificationTemplates>(conn, caller)?
            .into_iter()
            .filter(|t| t.template_type == "alert")
            .map(|t| (t.id, t.name))
            .collect();
        f.extend([
            Field::new("destinationCountry", "Only calls to countries", Kind::Text)
                .help("ISO codes, comma separated, e.g. GB,IE."),
            Field::new("email", "Email to", Kind::Text)
                .help("Addresses separated by commas; empty sends no email."),
            Field::new("webhookUrl", "Webhook URL", Kind::Text)
                .help("http(s). Its signing secret is shown once, when the webhook is first set."),
            Field::new(
                "notificationTemplate",
                "Email template (empty = the default)",
                Kind::Select(pick(templates)),
            ),
        ]);
        Ok(f)
    }

    fn values(z: &ZonedRule, _zone: Tz) -> BTreeMap<String, String> {
        let rule = &z.rule;
        let quality = rule.kind == r::QUALITY;
        let list = |s: &Option<String>| s.as_deref().map(|l| split_list(l).join(", "));
        let mut v = BTreeMap::new();
        put(&mut v, "name", Some(&rule.name));
        put(&mut v, "kind", Some(&rule.kind));
        put(&mut v, "enabled", rule.enabled.then_some("on"));
        put(&mut v, "client", rule.client_id.as_deref());
        put(&mut v, "clientType", rule.client_type.as_deref());
        put(&mut v, "carrier", rule.carrier_id.as_deref());
        put(&mut v, "endpointType", rule.endpoint_type.as_deref());
        put(&mut v, "endpointId", rule.endpoint_id.as_deref());
        put(&mut v, "direction", rule.direction.as_deref());
        put(
            &mut v,
            "destinationCountry",
            rule.destination_countries.as_deref(),
        );
        put(&mut v, "email", Some(&rule.email));
        put(&mut v, "webhookUrl", rule.webhook_url.as_deref());
        put(
            &mut v,
            "notificationTemplate",
            rule.notification_template_id.as_deref(),
        );
        let (measure, threshold) = match quality {
            true => ("metric", "value"),
            false => ("measure", "threshold"),
        };
        put(&mut v, measure, rule.measure.as_deref());
        put(&mut v, threshold, rule.threshold.as_deref());
        put(&mut v, "window", rule.time_window.as_deref());
        put(&mut v, "per", rule.per.as_deref());
        put(&mut v, "mode", rule.mode.as_deref());
        put(&mut v, "countries", list(&rule.countries).as_deref());
        put(&mut v, "prefixes", list(&rule.prefixes).as_deref());
        put(&mut v, "condition", rule.condition.as_deref());
        put(&mut v, "compareTo", rule.compare_to.as_deref());
        for (name, n) in [
            ("minCalls", rule.min_calls),
            ("maxCalls", rule.max_calls),
            ("minutes", rule.minutes),
        ] {
            put(&mut v, name, n.map(|n| n.to_string()).as_deref());
        }
        v
    }

    fn defaults() -> BTreeMap<String, String> {
        BTreeMap::from([("enabled".to_string(), "on".to_string())])
    }

    fn title(z: &ZonedRule) -> String {
        z.rule.name.clone()
    }

    /// The webhook as the API's `{url}` object (none when the field is empty).
    fn body(
        fields: &[Field],
        form: &BTreeMap<String, String>,
        ctx: &Ctx<'_, ZonedRule>,
    ) -> AppResult<Map<String, Value>> {
        let mut body = fields_body(fields, form, ctx.zone)?;
        if let Some(url) = body.remove("webhookUrl") {
            body.insert("webhook".into(), serde_json::json!({ "url": url }));
        }
        Ok(body)
    }

    fn extra_links(z: &ZonedRule) -> Vec<(String, String)> {
        match z.rule.kind.as_str() {
            r::SPEND | r::QUALITY => vec![(
                format!("/ui/alert_rules/{}/test", z.rule.id),
                "Test it now".into(),
            )],
            _ => vec![],
        }
    }

    fn shown_once(z: &ZonedRule) -> Option<(&'static str, String)> {
        z.revealed_secret
            .clone()
            .map(|s| ("The webhook's signing secret (HMAC-SHA256 key)", s))
    }
}

// ---------------------------------------------------------------------------------------
// Rules list

struct RuleRow {
    id: String,
    name: String,
    kind: String,
    watches: String,
    scope: String,
    notifies: String,
    enabled: bool,
}

/// A rule's settings in a few words.
fn watches(rule: &crate::db::alerts::AlertRule) -> String {
    let o = |s: &Option<String>| s.clone().unwrap_or_default();
    match rule.kind.as_str() {
        r::SPEND => format!(
            "{} per {}{} ≥ {}",
            o(&rule.measure),
            o(&rule.time_window),
            rule.per
                .as_ref()
                .map(|p| format!(", each {p}"))
                .unwrap_or_default(),
            o(&rule.threshold)
        ),
        r::DESTINATION => {
            let list = [o(&rule.countries), o(&rule.prefixes)]
                .into_iter()
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(",");
            format!("{} {}", o(&rule.mode), list.replace(',', ", "))
        }
        r::QUALITY => format!(
            "{} {} {}{} per {}",
            o(&rule.measure),
            o(&rule.condition),
            o(&rule.threshold),
            rule.compare_to
                .as_ref()
                .map(|c| format!(" vs {c}"))
                .unwrap_or_default(),
            o(&rule.time_window)
        ),
        r::VELOCITY => format!(
            "> {} calls in {} min per {}",
            rule.max_calls.unwrap_or_default(),
            rule.minutes.unwrap_or_default(),
            o(&rule.per)
        ),
        _ => String::new(),
    }
}

#[derive(Template)]
#[template(path = "alert_rules.html")]
struct RulesPage {
    nav: Nav,
    rows: Vec<RuleRow>,
    kinds: &'static [(&'static str, &'static str)],
    may_create: bool,
    pager: Pager,
}

async fn rules(
    state: web::Data<AppState>,
    console: Console,
    req: HttpRequest,
) -> Result<HttpResponse, UiError> {
    AlertRules::may_list(&console.caller)?;
    let params = crate::ui::query_params(
        &req,
        AlertRules::filters(&console.caller),
        AlertRules::ORDER,
    )?;
    let caller = console.caller.clone();
    let (params, total, rows) = db::run(&state.pool, move |conn| {
        let (total, found) = AlertRules::list(conn, &caller, &params)?;
        let clients: HashMap<String, String> = all::<Clients>(conn, &caller)?
            .into_iter()
            .map(|c| (c.id, c.name))
            .collect();
        let rows = found
            .into_iter()
            .map(|z| {
                let rule = z.rule;
                let scope = match (&rule.client_id, &rule.client_type) {
                    (Some(c), _) => {
                        format!("client {}", clients.get(c).cloned().unwrap_or_default())
                    }
                    (None, Some(t)) => format!("{t} clients"),
                    (None, None) => "whole brand".into(),
                };
                let mut notifies = vec![];
                if !rule.email.is_empty() {
                    notifies.push(rule.email.replace(',', ", "));
                }
                if rule.webhook_url.is_some() {
                    notifies.push("webhook".to_string());
                }
                RuleRow {
                    watches: watches(&rule),
                    id: rule.id,
                    name: rule.name,
                    kind: rule.kind,
                    scope: format!("{scope} · {}", z.timezone),
                    notifies: notifies.join(" · "),
                    enabled: rule.enabled,
                }
            })
            .collect();
        Ok((params, total, rows))
    })
    .await?;
    page(&RulesPage {
        nav: Nav::of(&console, "alerts"),
        rows,
        kinds: KIND_HELP,
        may_create: AlertRules::may_create(&console.caller).is_ok(),
        pager: Pager::new(&req, &params, total),
    })
}

// ---------------------------------------------------------------------------------------
// Testing a rule

/// An RFC 3339 time (the operations' answers) in the viewer's zone.
fn local_rfc3339(raw: &str, zone: Tz) -> String {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| view::local(t.naive_utc(), zone))
        .unwrap_or_else(|_| raw.to_string())
}

struct FindingRow {
    subject: String,
    window: String,
    measured: String,
    threshold: String,
    previous: String,
    calls: i64,
    fires: bool,
}

#[derive(Template)]
#[template(path = "alert_test.html")]
struct TestPage {
    nav: Nav,
    id: String,
    name: String,
    watches: String,
    evaluated_at: String,
    rows: Vec<FindingRow>,
}

async fn test(
    state: web::Data<AppState>,
    console: Console,
    id: web::Path<String>,
) -> Result<HttpResponse, UiError> {
    let id: AlertRuleId = path_id(&id)?;
    let caller = console.caller.clone();
    let grace = chrono::Duration::seconds(state.config.alert_grace_seconds);
    let (rule, answer) = db::run(&state.pool, move |conn| {
        let rule = AlertRules::find(conn, &caller, &id)?.rule;
        let answer = evaluate::test_rule(conn, &caller, &id, grace)?;
        Ok((rule, answer))
    })
    .await?;
    let zone = console.timezone;
    let rows = answer
        .findings
        .into_iter()
        .map(|f: Finding| FindingRow {
            subject: f
                .subject
                .map(|s| format!("{} {}", s.kind, s.name))
                .unwrap_or_else(|| "the whole scope".into()),
            window: format!(
                "{} – {}",
                local_rfc3339(&f.window[0], zone),
                local_rfc3339(&f.window[1], zone)
            ),
            measured: f.measured.unwrap_or_else(|| "—".into()),
            threshold: f.threshold,
            previous: f.previous.unwrap_or_default(),
            calls: f.calls,
            fires: f.fires,
        })
        .collect();
    page(&TestPage {
        nav: Nav::of(&console, "alerts"),
        watches: watches(&rule),
        id: rule.id,
        name: rule.name,
        evaluated_at: local_rfc3339(&answer.evaluated_at, zone),
        rows,
    })
}

// ---------------------------------------------------------------------------------------
// Events

/// An event as the pages show it (times in the viewer's zone, money with its currency).
pub struct EventRow {
    pub fired_at: String,
    pub rule_id: String,
    pub rule: String,
    pub kind: String,
    pub subject: String,
    /// What the events filter takes to show this subject's events only.
    pub subject_id: String,
    pub window: String,
    pub measured: String,
    pub threshold: String,
    pub previous: String,
    pub calls: String,
    pub email: String,
    pub email_error: String,
    pub webhook: String,
    pub webhook_error: String,
}

/// Money measures carry the brand's currency.
fn with_unit(value: &str, kind: &str, measure: Option<&str>, currency: &str) -> String {
    match (kind, measure) {
        (r::SPEND, Some("price" | "cost")) => format!("{value} {currency}"),
        _ => value.to_string(),
    }
}

fn event_row(
    e: AlertEvent,
    zone: Tz,
    measures: &HashMap<String, Option<String>>,
    currencies: &HashMap<String, String>,
) -> EventRow {
    let local = |t: NaiveDateTime| view::local(t, zone);
    let measure = measures.get(&e.rule_id).cloned().flatten();
    let currency = currencies.get(&e.brand_id).cloned().unwrap_or_default();
    let unit = |v: &str| with_unit(v, &e.kind, measure.as_deref(), &currency);
    let status = |s: &str, attempts: i32| match (s, attempts) {
        ("none", _) => "—".to_string(),
        (s, 0 | 1) => s.to_string(),
        (s, n) => format!("{s} ({n} attempts)"),
    };
    EventRow {
        fired_at: local(e.fired_at),
        rule: e.rule_name,
        rule_id: e.rule_id.clone(),
        subject_id: e.subject_id.clone().unwrap_or_default(),
        subject: match (e.subject_type, e.subject_name.or(e.subject_id)) {
            (Some(t), Some(n)) => format!("{t} {n}"),
            _ => "the whole scope".into(),
        },
        window: format!("{} – {}", local(e.window_from), local(e.window_to)),
        measured: unit(&e.measured),
        threshold: unit(&e.threshold),
        previous: e.previous.as_deref().map(unit).unwrap_or_default(),
        calls: split_list(&e.calls).join(", "),
        email: status(&e.email_status, e.email_attempts),
        email_error: e.email_error.unwrap_or_default(),
        webhook: status(&e.webhook_status, e.webhook_attempts),
        webhook_error: e.webhook_error.unwrap_or_default(),
        kind: e.kind,
    }
}

/// The latest events the caller may see, as the dashboard shows them.
pub fn latest_events(
    conn: &mut DbConnection,
    caller: &Caller,
    zone: Tz,
    count: i64,
) -> AppResult<Vec<EventRow>> {
    let params = crate::listing::ListParams {
        per_page: count,
        ..Default::default()
    };
    let (_, found) = events::list(conn, caller, &params)?;
    event_rows(conn, caller, zone, found)
}

fn event_rows(
    conn: &mut DbConnection,
    caller: &Caller,
    zone: Tz,
    found: Vec<AlertEvent>,
) -> AppResult<Vec<EventRow>> {
    if found.is_empty() {
        return Ok(vec![]);
    }
    let measures: HashMap<String, Option<String>> = all::<AlertRules>(conn, caller)?
        .into_iter()
        .map(|z| (z.rule.id, z.rule.measure))
        .collect();
    let currencies: HashMap<String, String> = all::<Brands>(conn, caller)?
        .into_iter()
        .map(|b| (b.id, b.currency))
        .collect();
    Ok(found
        .into_iter()
        .map(|e| event_row(e, zone, &measures, &currencies))
        .collect())
}

#[derive(Template)]
#[template(path = "alert_events.html")]
struct EventsPage {
    nav: Nav,
    rows: Vec<EventRow>,
    rules: Vec<Choice>,
    kinds: &'static [&'static str],
    statuses: &'static [&'static str],
    form: HashMap<String, String>,
    pager: Pager,
}

impl EventsPage {
    fn v(&self, name: &str) -> &str {
        self.form.get(name).map(String::as_str).unwrap_or_default()
    }
    fn is(&self, name: &str, value: &str) -> bool {
        self.v(name) == value
    }
}

async fn event_list(
    state: web::Data<AppState>,
    console: Console,
    req: HttpRequest,
) -> Result<HttpResponse, UiError> {
    // The form's local times become the operation's RFC 3339 bounds.
    let form: HashMap<String, String> = filled_query(&req).into_iter().collect();
    let mut pairs = Vec::new();
    for (k, v) in filled_query(&req) {
        if k == "from" || k == "to" {
            let t = view::from_local_input(&v, console.timezone)
                .map_err(|e| AppError::invalid_query(format!("{k}: {e}")))?;
            pairs.push((k, t));
        } else {
            pairs.push((k, v));
        }
    }
    let params = crate::listing::ListParams::from_pairs(pairs, events::FILTERS, events::ORDER)?;
    let caller = console.caller.clone();
    let zone = console.timezone;
    let (params, total, rows, rules) = db::run(&state.pool, move |conn| {
        let (total, found) = events::list(conn, &caller, &params)?;
        let rows = event_rows(conn, &caller, zone, found)?;
        let rules = all::<AlertRules>(conn, &caller)?
            .into_iter()
            .map(|z| Choice::new(z.rule.id, z.rule.name))
            .collect();
        Ok((params, total, rows, rules))
    })
    .await?;
    page(&EventsPage {
        nav: Nav::of(&console, "alerts"),
        rows,
        rules,
        kinds: r::KINDS,
        statuses: events::STATUSES,
        form,
        pager: Pager::new(&req, &params, total),
    })
}
