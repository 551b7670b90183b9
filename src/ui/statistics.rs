//! The statistics pages: traffic overview (hourly up to 72 h, else daily), one day against
//! the previous N days hour by hour, countries (table and map), carriers (brand) and
//! clients. Every figure comes from `stats::query` with the session's caller, as
//! `GET /stats` answers it (client administrators get no cost nor margin, and the
//! operation's 403 for carriers); every table downloads as the API's stats CSV of the same
//! query. Dates are the viewer's zone's.

use std::collections::{BTreeMap, HashMap};

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{DateTime, Days, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;

use crate::auth::{Caller, Role};
use crate::db::{self, stats::StatsFilter, DbConnection};
use crate::error::{AppError, AppResult};
use crate::ids::{BrandId, ClientId, Id};
use crate::listing::Direction;
use crate::ops::Resource;
use crate::stats::buckets;
use crate::stats::measures::{ratio, Measures, Sums, Visibility};
use crate::stats::{self, Bound, Dimension, OrderBy, StatsAnswer, StatsQuery};
use crate::tenancy::{Brands, Clients};
use crate::ui::map::{self, WorldMap};
use crate::ui::schedulers::{all, Choice};
use crate::ui::view::{self, Nav};
use crate::ui::{filled_query, page, path_id, Console, UiError};
use crate::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/statistics", web::get().to(traffic_page))
        .route("/statistics/{view}", web::get().to(show))
        .route("/statistics/{view}/csv", web::get().to(download));
}

/// The hourly/daily switch of the traffic overview.
const HOURLY_UP_TO_HOURS: i64 = 72;
/// At most this many previous days in the day comparison.
const MAX_COMPARE_DAYS: u64 = 31;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum View {
    Traffic,
    Compare,
    Countries,
    Carriers,
    Clients,
}

impl View {
    fn parse(name: &str) -> Result<View, UiError> {
        Ok(match name {
            "traffic" => View::Traffic,
            "compare" => View::Compare,
            "countries" => View::Countries,
            "carriers" => View::Carriers,
            "clients" => View::Clients,
            _ => return Err(UiError::App(AppError::not_found())),
        })
    }

    fn name(self) -> &'static str {
        match self {
            View::Traffic => "traffic",
            View::Compare => "compare",
            View::Countries => "countries",
            View::Carriers => "carriers",
            View::Clients => "clients",
        }
    }
}

/// The figures of a row as the pages show them: ASR in percent, ACD in seconds, money with
/// its currency; hidden money is empty (and its column absent).
pub struct Figures {
    pub calls: i64,
    pub answered: i64,
    pub asr: String,
    pub minutes: String,
    pub acd: String,
    pub price: String,
    pub cost: String,
    pub margin: String,
}

pub fn figures(sums: &Sums, shown: Visibility, currency: &str) -> Figures {
    let m = Measures::of(sums, shown);
    Figures {
        calls: m.calls,
        answered: m.answered,
        asr: m.asr.as_deref().map(percent).unwrap_or_else(|| "–".into()),
        minutes: m.minutes,
        acd: m
            .acd
            .map(|s| format!("{s} s"))
            .unwrap_or_else(|| "–".into()),
        price: view::money(m.price, currency),
        cost: view::money(m.cost, currency),
        margin: view::money(m.margin, currency),
    }
}

/// `0.8417` (the measure's 4 decimals) as `84.17 %`.
fn percent(asr: &str) -> String {
    match asr.parse::<Decimal>() {
        Ok(v) => {
            let mut p = v * Decimal::ONE_HUNDRED;
            p.rescale(2);
            format!("{p} %")
        }
        Err(_) => asr.to_string(),
    }
}

/// A table row: what it is (a time, a country, a carrier…) and its figures.
pub struct Line {
    pub label: String,
    pub name: String,
    pub f: Figures,
}

/// Which money columns a table has.
#[derive(Clone, Copy)]
pub struct Money {
    pub price: bool,
    pub cost: bool,
}

impl From<Visibility> for Money {
    fn from(v: Visibility) -> Money {
        Money {
            price: v.price,
            cost: v.cost,
        }
    }
}

/// The currency amounts are in: the caller's brand's; for the platform, the brands' one
/// currency, or a note that they differ.
pub fn currency(conn: &mut DbConnection, caller: &Caller) -> AppResult<String> {
    if let Some(brand) = &caller.brand_id {
        let brand = db::brands::find(conn, &BrandId::from_db(brand.clone()))?;
        return Ok(brand.map(|b| b.currency).unwrap_or_default());
    }
    let mut currencies: Vec<String> = all::<Brands>(conn, caller)?
        .into_iter()
        .map(|b| b.currency)
        .collect();
    currencies.sort();
    currencies.dedup();
    Ok(match currencies.as_slice() {
        [one] => one.clone(),
        _ => "(mixed currencies)".into(),
    })
}

/// A statistics query over [after, before) in the viewer's zone, all rows kept.
pub fn query_of(
    after: NaiveDateTime,
    before: NaiveDateTime,
    group_by: Vec<Dimension>,
    client: Option<String>,
    zone: Tz,
    order: Option<(OrderBy, Direction)>,
) -> StatsQuery {
    StatsQuery {
        after: Bound::Instant(after),
        strictly_before: Bound::Instant(before),
        group_by,
        filter: StatsFilter {
            client,
            ..StatsFilter::default()
        },
        timezone: Some(zone),
        order,
        limit: stats::MAX_LIMIT,
    }
}

/// The rows of a query grouped by hour or day (alone) as (bucket start, sums), every hour
/// or day of [after, before) present (zero where no call was).
pub fn timeline(
    answer: &StatsAnswer,
    after: NaiveDateTime,
    before: NaiveDateTime,
    zone: Tz,
) -> Vec<(i64, Sums)> {
    let daily = answer.group_by.first() == Some(&Dimension::Day);
    let mut points: BTreeMap<i64, Sums> = BTreeMap::new();
    if daily {
        let mut day = in_zone(zone, after).date_naive();
        let last = in_zone(zone, before - chrono::Duration::seconds(1)).date_naive();
        while day <= last {
            if let Some(t) = buckets::day_start_utc(day, zone) {
                points.insert(t.and_utc().timestamp(), Sums::default());
            }
            day = day + Days::new(1);
        }
    } else {
        let mut t = after.and_utc().timestamp();
        while t < before.and_utc().timestamp() {
            points.insert(t, Sums::default());
            t += 3600;
        }
    }
    for row in &answer.rows {
        let Some(label) = row.key.as_ref().and_then(|k| k.first()?.value.clone()) else {
            continue;
        };
        let at = if daily {
            NaiveDate::parse_from_str(&label, "%Y-%m-%d")
                .ok()
                .and_then(|d| buckets::day_start_utc(d, zone))
                .map(|t| t.and_utc().timestamp())
        } else {
            DateTime::parse_from_str(&label, "%Y-%m-%dT%H:%M%:z")
                .ok()
                .map(|t| t.timestamp())
        };
        if let Some(at) = at {
            points.entry(at).or_default().add(&row.sums);
        }
    }
    points.into_iter().collect()
}

/// A stored (UTC) time in `zone`.
fn in_zone(zone: Tz, t: NaiveDateTime) -> DateTime<Tz> {
    chrono::TimeZone::from_utc_datetime(&zone, &t)
}

/// A uPlot chart's data for `console.js`: x values (epoch seconds, or plain numbers when
/// `time` is false) and named series, each on its own y scale.
pub fn chart_json(zone: Tz, time: bool, x: &[i64], series: &[(&str, &str, Vec<f64>)]) -> String {
    serde_json::json!({
        "zone": zone.name(),
        "time": time,
        "x": x,
        "series": series
            .iter()
            .map(|(label, scale, values)| serde_json::json!({"label": label, "scale": scale, "values": values}))
            .collect::<Vec<_>>(),
    })
    .to_string()
}

/// Minutes of `sums` as a number for a chart (the tables show the exact text).
pub fn minutes_value(s: &Sums) -> f64 {
    s.billed_seconds as f64 / 60.0
}

pub fn money_value(micros: i64) -> f64 {
    micros as f64 / 1_000_000.0
}

/// The map of an answer grouped by country.
pub fn world_map(answer: &StatsAnswer) -> WorldMap {
    let mut minutes: HashMap<String, (i64, String)> = HashMap::new();
    for row in &answer.rows {
        if let Some(code) = row.key.as_ref().and_then(|k| k.first()?.value.clone()) {
            let shown = Measures::of(&row.sums, answer.visibility).minutes;
            minutes.insert(code, (row.sums.billed_seconds, shown));
        }
    }
    map::shaded(&minutes)
}

/// The table rows of an answer grouped by one entity dimension; `unknown` names the calls
/// without a value (inbound calls have no carrier, extensions no country).
pub fn entity_lines(answer: &StatsAnswer, currency: &str, unknown: &str) -> Vec<Line> {
    answer
        .rows
        .iter()
        .map(|row| {
            let part = row.key.as_ref().and_then(|k| k.first());
            let (label, name) = match part {
                None => ("other".to_string(), "all the others".to_string()),
                Some(p) => match (&p.value, p.dimension) {
                    (None, _) => (String::new(), unknown.to_string()),
                    (Some(code), Dimension::Country) => (
                        code.clone(),
                        map::country_name(code).unwrap_or_default().to_string(),
                    ),
                    (Some(v), _) => (v.clone(), p.name.clone().unwrap_or_default()),
                },
            };
            Line {
                label,
                name,
                f: figures(&row.sums, answer.visibility, currency),
            }
        })
        .collect()
}

/// The page's inputs: a date range (inclusive, local), or a day and how many days before
/// it; and a client for brand operators.
struct Inputs {
    from: String,
    to: String,
    day: String,
    days: String,
    client: String,
}

fn date(raw: &str, field: &str) -> AppResult<NaiveDate> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map_err(|_| AppError::invalid_query(format!("{field}: a date like 2026-12-01")))
}

fn day_start(day: NaiveDate, zone: Tz, field: &str) -> AppResult<NaiveDateTime> {
    buckets::day_start_utc(day, zone)
        .ok_or_else(|| AppError::invalid_query(format!("{field}: no such day in {zone}")))
}

/// What a page asks: its query and the range it covers (UTC).
struct Asked {
    inputs: Inputs,
    query: StatsQuery,
    after: NaiveDateTime,
    before: NaiveDateTime,
    /// The day comparison's number of previous days.
    days: u32,
}

fn asked(req: &HttpRequest, console: &Console, view: View) -> Result<Asked, UiError> {
    let zone = console.timezone;
    let q: HashMap<String, String> = filled_query(req).into_iter().collect();
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let today = in_zone(zone, Utc::now().naive_utc()).date_naive();
    let client = q.get("client").cloned();
    if let Some(raw) = &client {
        path_id::<ClientId>(raw).map_err(|_| AppError::invalid_query("client: not a client id"))?;
    }
    let inputs = Inputs {
        from: get("from"),
        to: get("to"),
        day: get("day"),
        days: get("days"),
        client: get("client"),
    };
    if view == View::Compare {
        let day = match q.get("day") {
            Some(raw) => date(raw, "day")?,
            None => today,
        };
        let days = match q.get("days") {
            None => 7,
            Some(raw) => raw
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=MAX_COMPARE_DAYS).contains(n))
                .ok_or_else(|| {
                    AppError::invalid_query(format!(
                        "days: a whole number from 1 to {MAX_COMPARE_DAYS}"
                    ))
                })?,
        };
        let first = day
            .checked_sub_days(Days::new(days))
            .ok_or_else(|| AppError::invalid_query("day: too early"))?;
        let after = day_start(first, zone, "day")?;
        let before = day_start(day + Days::new(1), zone, "day")?;
        return Ok(Asked {
            inputs: Inputs {
                day: day.to_string(),
                days: days.to_string(),
                ..inputs
            },
            query: query_of(after, before, vec![Dimension::Hour], client, zone, None),
            after,
            before,
            days: days as u32,
        });
    }
    let to = match q.get("to") {
        Some(raw) => date(raw, "to")?,
        None => today,
    };
    let from = match q.get("from") {
        Some(raw) => date(raw, "from")?,
        None => to - Days::new(6),
    };
    if from > to {
        return Err(AppError::invalid_query("from: must not be after to").into());
    }
    let after = day_start(from, zone, "from")?;
    let before = day_start(
        to.checked_add_days(Days::new(1))
            .ok_or_else(|| AppError::invalid_query("to: too late"))?,
        zone,
        "to",
    )?;
    let (group_by, order) = match view {
        View::Traffic if (before - after).num_hours() <= HOURLY_UP_TO_HOURS => {
            (vec![Dimension::Hour], None)
        }
        View::Traffic => (vec![Dimension::Day], None),
        View::Countries => (
            vec![Dimension::Country],
            Some((OrderBy::BilledSeconds, Direction::Desc)),
        ),
        View::Carriers => (
            vec![Dimension::Carrier],
            Some((OrderBy::BilledSeconds, Direction::Desc)),
        ),
        _ => (
            vec![Dimension::Client],
            Some((OrderBy::BilledSeconds, Direction::Desc)),
        ),
    };
    Ok(Asked {
        inputs: Inputs {
            from: from.to_string(),
            to: to.to_string(),
            ..inputs
        },
        query: query_of(after, before, group_by, client, zone, order),
        after,
        before,
        days: 0,
    })
}

/// Runs the page's query as the caller; a named client must be one the caller sees (else
/// the console's 404, as for any other tenant's id).
async fn answer(
    state: &AppState,
    console: &Console,
    query: StatsQuery,
) -> Result<(StatsAnswer, String, Vec<Choice>), UiError> {
    let caller = console.caller.clone();
    Ok(db::run(&state.pool, move |conn| {
        if let Some(client) = &query.filter.client {
            Clients::find(conn, &caller, &ClientId::from_db(client.clone()))?;
        }
        let answer = stats::query(conn, &caller, &query)?;
        let currency = currency(conn, &caller)?;
        let clients = match caller.role {
            Role::Client => vec![],
            _ => all::<Clients>(conn, &caller)?
                .into_iter()
                .map(|c| Choice::new(c.id, c.name))
                .collect(),
        };
        Ok((answer, currency, clients))
    })
    .await?)
}

#[derive(Template)]
#[template(path = "statistics.html")]
struct StatisticsPage {
    nav: Nav,
    view: &'static str,
    title: &'static str,
    inputs: Inputs,
    clients: Vec<Choice>,
    /// The range as the operation read it, in the viewer's zone.
    from: String,
    to: String,
    totals: Figures,
    money: Money,
    key_title: &'static str,
    name_title: &'static str,
    lines: Vec<Line>,
    chart: Option<String>,
    chart_label: String,
    map: Option<WorldMap>,
    csv: String,
    /// The day comparison's table instead of `lines`.
    compare: Vec<CompareLine>,
    compare_days: u32,
}

pub struct CompareLine {
    hour: String,
    calls: i64,
    average_calls: String,
    minutes: String,
    average_minutes: String,
}

async fn traffic_page(
    state: web::Data<AppState>,
    console: Console,
    req: HttpRequest,
) -> Result<HttpResponse, UiError> {
    render(&state, console, &req, View::Traffic).await
}

async fn show(
    state: web::Data<AppState>,
    console: Console,
    req: HttpRequest,
    view: web::Path<String>,
) -> Result<HttpResponse, UiError> {
    let view = View::parse(&view)?;
    render(&state, console, &req, view).await
}

/// The CSV of a page's table: the API's stats CSV of the same query.
async fn download(
    state: web::Data<AppState>,
    console: Console,
    req: HttpRequest,
    view: web::Path<String>,
) -> Result<HttpResponse, UiError> {
    let view = View::parse(&view)?;
    let asked = asked(&req, &console, view)?;
    let (answer, _, _) = answer(&state, &console, asked.query).await?;
    let body = crate::report::stats_csv::write(&answer)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"statistics-{}.csv\"", view.name()),
        ))
        .body(body))
}

fn csv_link(view: View, inputs: &Inputs) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    let pairs = match view {
        View::Compare => [("day", &inputs.day), ("days", &inputs.days)],
        _ => [("from", &inputs.from), ("to", &inputs.to)],
    };
    for (k, v) in pairs {
        q.append_pair(k, v);
    }
    if !inputs.client.is_empty() {
        q.append_pair("client", &inputs.client);
    }
    format!("/ui/statistics/{}/csv?{}", view.name(), q.finish())
}

async fn render(
    state: &AppState,
    console: Console,
    req: &HttpRequest,
    view: View,
) -> Result<HttpResponse, UiError> {
    let zone = console.timezone;
    let asked = asked(req, &console, view)?;
    let (a, currency, clients) = answer(state, &console, asked.query).await?;
    let money = Money::from(a.visibility);
    let mut chart = None;
    let mut chart_label = String::new();
    let mut map = None;
    let mut lines = vec![];
    let mut compare = vec![];
    let (title, key_title, name_title) = match view {
        View::Traffic => {
            let points = timeline(&a, asked.after, asked.before, zone);
            let hourly = a.group_by.first() == Some(&Dimension::Hour);
            chart_label = format!(
                "Calls and minutes per {} ({})",
                if hourly { "hour" } else { "day" },
                zone.name()
            );
            chart = Some(traffic_chart(zone, &points));
            lines = a
                .rows
                .iter()
                .map(|r| Line {
                    label: r
                        .key
                        .as_ref()
                        .and_then(|k| k.first()?.value.clone())
                        .unwrap_or_default()
                        .replace('T', " "),
                    name: String::new(),
                    f: figures(&r.sums, a.visibility, &currency),
                })
                .collect();
            ("Traffic overview", if hourly { "Hour" } else { "Day" }, "")
        }
        View::Compare => {
            let (table, x, day_calls, average) = compare_hours(&a, &asked.inputs.day, asked.days);
            chart_label = format!(
                "Calls per hour of {} against the average of the {} days before",
                asked.inputs.day, asked.days
            );
            chart = Some(chart_json(
                zone,
                false,
                &x,
                &[
                    ("Calls on the day", "calls", day_calls),
                    ("Average of the days before", "calls", average),
                ],
            ));
            compare = table;
            ("Day comparison", "Hour", "")
        }
        View::Countries => {
            map = Some(world_map(&a));
            lines = entity_lines(&a, &currency, "unknown (extensions, non-E.164)");
            ("Countries", "Country", "Name")
        }
        View::Carriers => {
            lines = entity_lines(&a, &currency, "no carrier (inbound)");
            ("Carriers", "Carrier id", "Carrier")
        }
        View::Clients => {
            lines = entity_lines(&a, &currency, "no client");
            ("Clients", "Client id", "Client")
        }
    };
    let csv = csv_link(view, &asked.inputs);
    page(&StatisticsPage {
        nav: Nav::of(&console, "statistics"),
        view: view.name(),
        title,
        inputs: asked.inputs,
        clients,
        from: a.from.replace('T', " "),
        to: a.to.replace('T', " "),
        totals: figures(&a.totals, a.visibility, &currency),
        money,
        key_title,
        name_title,
        lines,
        chart,
        chart_label,
        map,
        csv,
        compare,
        compare_days: asked.days,
    })
}

pub fn traffic_chart(zone: Tz, points: &[(i64, Sums)]) -> String {
    let x: Vec<i64> = points.iter().map(|(t, _)| *t).collect();
    chart_json(
        zone,
        true,
        &x,
        &[
            (
                "Calls",
                "calls",
                points.iter().map(|(_, s)| s.calls as f64).collect(),
            ),
            (
                "Minutes",
                "minutes",
                points.iter().map(|(_, s)| minutes_value(s)).collect(),
            ),
        ],
    )
}

/// The day comparison: the last day of an hourly answer against the average of the days
/// before it, hour by hour (a fall-back night's two 02:00 count as one hour 02).
fn compare_hours(
    a: &StatsAnswer,
    the_day: &str,
    days: u32,
) -> (Vec<CompareLine>, Vec<i64>, Vec<f64>, Vec<f64>) {
    let mut day = [Sums::default(); 24];
    let mut before = [Sums::default(); 24];
    for row in &a.rows {
        let Some(label) = row.key.as_ref().and_then(|k| k.first()?.value.clone()) else {
            continue;
        };
        let hour: usize = label.get(11..13).and_then(|h| h.parse().ok()).unwrap_or(0);
        if label.get(..10) == Some(the_day) {
            day[hour.min(23)].add(&row.sums);
        } else {
            before[hour.min(23)].add(&row.sums);
        }
    }
    let n = i64::from(days.max(1));
    let lines = (0..24)
        .map(|h| CompareLine {
            hour: format!("{h:02}:00"),
            calls: day[h].calls,
            average_calls: ratio(before[h].calls, n, 1).unwrap_or_default(),
            minutes: ratio(day[h].billed_seconds, 60, 1).unwrap_or_default(),
            average_minutes: ratio(before[h].billed_seconds, 60 * n, 1).unwrap_or_default(),
        })
        .collect();
    let x = (0..24).collect();
    let day_calls = day.iter().map(|s| s.calls as f64).collect();
    let average = before.iter().map(|s| s.calls as f64 / n as f64).collect();
    (lines, x, day_calls, average)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asr_shows_as_a_percentage_with_the_measures_digits() {
        assert_eq!(percent("0.8417"), "84.17 %");
        assert_eq!(percent("1.0000"), "100.00 %");
        assert_eq!(percent("0.0000"), "0.00 %");
    }
}
