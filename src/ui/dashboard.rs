//! The dashboard, the console's start page: the last 24 hours, 7 or 30 days of traffic
//! (calls and minutes per hour or day, price and cost for brand operators, totals with ASR
//! and ACD), the top destination countries with the world map, and the schedulers' health
//! (last runs in error, report emails pending or failed), and the latest alert events when
//! there are any. Figures are `stats::query`'s
//! with the session's caller; times are the viewer's zone's.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{Days, Duration, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

use crate::db;
use crate::error::AppError;
use crate::listing::{Direction, ListParams};
use crate::schedulers::{reports, Schedulers};
use crate::stats::buckets;
use crate::stats::{self, Dimension, OrderBy};
use crate::ui::map::WorldMap;
use crate::ui::schedulers::all;
use crate::ui::statistics::{
    chart_json, currency, entity_lines, figures, money_value, query_of, timeline, traffic_chart,
    world_map, Figures, Line, Money,
};
use crate::ui::view::{self, Nav};
use crate::ui::{filled_query, page, Console, UiError};
use crate::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(show));
}

/// Top destinations shown in the table (the map shades them all).
const TOP: usize = 10;
/// Alert events shown (the newest).
const LATEST_EVENTS: i64 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Range {
    Day,
    Week,
    Month,
}

impl Range {
    const ALL: [(Range, &'static str, &'static str); 3] = [
        (Range::Day, "24h", "24 hours"),
        (Range::Week, "7d", "7 days"),
        (Range::Month, "30d", "30 days"),
    ];

    fn parse(raw: Option<&str>) -> Result<Range, AppError> {
        match raw.unwrap_or("24h") {
            "24h" => Ok(Range::Day),
            "7d" => Ok(Range::Week),
            "30d" => Ok(Range::Month),
            other => Err(AppError::invalid_query(format!(
                "range: {other:?} is not one of 24h, 7d, 30d"
            ))),
        }
    }

    /// [after, before) in UTC: the last 24 whole local hours (the current one included),
    /// or the last 7 or 30 local days (today included).
    fn bounds(
        self,
        now: NaiveDateTime,
        zone: Tz,
    ) -> Result<(NaiveDateTime, NaiveDateTime), AppError> {
        let local = zone.from_utc_datetime(&now);
        if self == Range::Day {
            let hour_start = now
                - Duration::seconds(i64::from(local.minute() * 60 + local.second()))
                - Duration::nanoseconds(i64::from(now.nanosecond()));
            return Ok((
                hour_start - Duration::hours(23),
                hour_start + Duration::hours(1),
            ));
        }
        let days = if self == Range::Week { 7 } else { 30 };
        let today = local.date_naive();
        let start = |d| {
            buckets::day_start_utc(d, zone)
                .ok_or_else(|| AppError::invalid_query(format!("no such day in {zone}")))
        };
        Ok((
            start(today - Days::new(days - 1))?,
            start(today + Days::new(1))?,
        ))
    }
}

struct RangeLink {
    href: String,
    label: &'static str,
    current: &'static str,
}

struct FailedRun {
    id: String,
    name: String,
    at: String,
    error: String,
}

struct FailedEmail {
    scheduler: String,
    period: String,
    error: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    nav: Nav,
    ranges: Vec<RangeLink>,
    from: String,
    to: String,
    per: &'static str,
    totals: Figures,
    money: Money,
    chart: String,
    money_chart: Option<String>,
    lines: Vec<Line>,
    key_title: &'static str,
    name_title: &'static str,
    more_countries: usize,
    map: WorldMap,
    failed_runs: Vec<FailedRun>,
    emails_pending: i64,
    emails_failed: i64,
    failed_emails: Vec<FailedEmail>,
    currency: String,
    events: Vec<crate::ui::alerts::EventRow>,
}

async fn show(
    state: web::Data<AppState>,
    console: Console,
    req: HttpRequest,
) -> Result<HttpResponse, UiError> {
    let zone = console.timezone;
    let query = filled_query(&req);
    let raw = query
        .iter()
        .find(|(k, _)| k == "range")
        .map(|(_, v)| v.as_str());
    let range = Range::parse(raw)?;
    let (after, before) = range.bounds(Utc::now().naive_utc(), zone)?;
    let grain = if range == Range::Day {
        Dimension::Hour
    } else {
        Dimension::Day
    };
    let traffic = query_of(after, before, vec![grain], None, zone, None);
    let by_country = query_of(
        after,
        before,
        vec![Dimension::Country],
        None,
        zone,
        Some((OrderBy::BilledSeconds, Direction::Desc)),
    );
    let caller = console.caller.clone();
    let (traffic, countries, currency, failed_runs, emails, events) =
        db::run(&state.pool, move |conn| {
            let traffic = stats::query(conn, &caller, &traffic)?;
            let countries = stats::query(conn, &caller, &by_country)?;
            let currency = currency(conn, &caller)?;
            let failed_runs: Vec<FailedRun> = all::<Schedulers>(conn, &caller)?
                .into_iter()
                .filter_map(|z| {
                    let s = z.scheduler;
                    let error = s.last_execution_error?;
                    let zone: Tz = z.timezone.parse().unwrap_or(zone);
                    Some(FailedRun {
                        id: s.id,
                        name: s.name,
                        at: format!(
                            "{} {}",
                            view::local_opt(s.last_execution, zone),
                            zone.name()
                        ),
                        error,
                    })
                })
                .collect();
            let email = |conn: &mut db::DbConnection, status: &str, per_page: i64| {
                let params = ListParams::from_pairs(
                    [
                        ("emailStatus".to_string(), status.to_string()),
                        ("_order[createdAt]".to_string(), "desc".to_string()),
                    ],
                    reports::FILTERS,
                    reports::ORDER,
                )
                .map(|p| ListParams { per_page, ..p })?;
                reports::list(conn, &caller, &params)
            };
            let (pending, _) = email(conn, "pending", 1)?;
            let (failed, latest) = email(conn, "failed", 5)?;
            let events = crate::ui::alerts::latest_events(conn, &caller, zone, LATEST_EVENTS)?;
            Ok((
                traffic,
                countries,
                currency,
                failed_runs,
                (pending, failed, latest),
                events,
            ))
        })
        .await?;
    let (emails_pending, emails_failed, latest_failed) = emails;
    let points = timeline(&traffic, after, before, zone);
    let money = Money::from(traffic.visibility);
    // Price and cost per bucket for those who see cost (brand operators, the platform).
    let money_chart = money.cost.then(|| {
        let x: Vec<i64> = points.iter().map(|(t, _)| *t).collect();
        chart_json(
            zone,
            true,
            &x,
            &[
                (
                    "Price",
                    "money",
                    points
                        .iter()
                        .map(|(_, s)| money_value(s.price_micros))
                        .collect(),
                ),
                (
                    "Cost",
                    "money",
                    points
                        .iter()
                        .map(|(_, s)| money_value(s.cost_micros))
                        .collect(),
                ),
            ],
        )
    });
    let mut lines = entity_lines(&countries, &currency, "unknown (extensions, non-E.164)");
    let more_countries = lines.len().saturating_sub(TOP);
    lines.truncate(TOP);
    let ranges = Range::ALL
        .iter()
        .map(|(r, key, label)| RangeLink {
            href: format!("/ui/?range={key}"),
            label,
            current: if *r == range { "page" } else { "false" },
        })
        .collect();
    page(&DashboardPage {
        nav: Nav::of(&console, "dashboard"),
        ranges,
        from: traffic.from.replace('T', " "),
        to: traffic.to.replace('T', " "),
        per: if grain == Dimension::Hour {
            "hour"
        } else {
            "day"
        },
        totals: figures(&traffic.totals, traffic.visibility, &currency),
        money,
        chart: traffic_chart(zone, &points),
        money_chart,
        lines,
        key_title: "Country",
        name_title: "Name",
        more_countries,
        map: world_map(&countries),
        failed_runs,
        emails_pending,
        emails_failed,
        failed_emails: latest_failed
            .into_iter()
            .map(|r| FailedEmail {
                period: format!(
                    "{} → {}",
                    view::local(r.in_date, zone),
                    view::local(r.out_date, zone)
                ),
                scheduler: r.scheduler_name,
                error: r.email_error.unwrap_or_default(),
            })
            .collect(),
        currency,
        events,
    })
}
