//! The digest a scheduler with `digest: true` puts in its report email: the totals of the
//! report's own period and filters, the 5 countries with most minutes, calls and minutes per
//! day and the unrated calls, all summed by the `/stats` operation (so every figure is the
//! one `GET /stats` gives for the same period and filters). It is computed when the report
//! is built and kept on the report, so a resend tells the same figures.
//!
//! [`figures_of`] asks the database; [`render`] is pure and writes the plain-text and HTML
//! parts.

use std::fmt::Write;

use chrono::{Days, NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use rust_decimal::Decimal;

use crate::db::schedulers::Scheduler;
use crate::db::DbConnection;
use crate::error::{AppError, AppResult};
use crate::ids::{BrandId, Id};
use crate::report::summary::{period_query, scope_of};
use crate::stats::measures::{Measures, Visibility};
use crate::stats::{self, Dimension};

/// Countries listed, by minutes.
pub const TOP_COUNTRIES: usize = 5;

/// A digest, ready to go in an email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    pub text: String,
    pub html: String,
}

/// What a digest tells, computed.
#[derive(Debug, Clone)]
pub struct Figures {
    /// First and last covered local day.
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub timezone: String,
    /// The brand's currency, written after every amount.
    pub currency: String,
    /// Which amounts the report's level may see (cost and margin for brand-level ones only;
    /// no price for clients without billing details).
    pub shown: Visibility,
    pub totals: Measures,
    /// ISO code, English name and measures of the countries with most minutes (calls to no
    /// country, such as extensions, are not a country).
    pub countries: Vec<(String, String, Measures)>,
    /// Every covered day, those without calls too.
    pub days: Vec<(NaiveDate, Measures)>,
}

/// The figures of `sch`'s report for [in_date, out_date), days local to `zone`.
pub fn figures_of(
    conn: &mut DbConnection,
    sch: &Scheduler,
    in_date: NaiveDateTime,
    out_date: NaiveDateTime,
    zone: Tz,
    (first_day, last_day): (NaiveDate, NaiveDate),
) -> AppResult<Figures> {
    let scope = scope_of(conn, sch)?;
    let currency = crate::db::brands::find(conn, &BrandId::from_db(sch.brand_id.clone()))?
        .map(|b| b.currency)
        .unwrap_or_default();
    let query = |group_by| period_query(sch, in_date, out_date, zone, group_by);

    let by_country = stats::run(conn, &scope, &query(vec![Dimension::Country]))?;
    let shown = by_country.visibility;
    let mut countries: Vec<_> = by_country
        .rows
        .iter()
        .filter_map(|row| {
            let code = row.key.as_ref()?.first()?.value.clone()?;
            Some((code, row.sums))
        })
        .collect();
    countries.sort_by(|(a, x), (b, y)| y.billed_seconds.cmp(&x.billed_seconds).then(a.cmp(b)));
    let countries = countries
        .into_iter()
        .take(TOP_COUNTRIES)
        .map(|(code, sums)| {
            let name = crate::calls::country_names::english_name(&code)
                .unwrap_or(&code)
                .to_string();
            (code, name, Measures::of(&sums, shown))
        })
        .collect();

    let by_day = stats::run(conn, &scope, &query(vec![Dimension::Day]))?;
    let mut per_day = std::collections::HashMap::new();
    for row in &by_day.rows {
        let day = row
            .key
            .as_ref()
            .and_then(|k| k.first())
            .and_then(|k| k.value.as_deref())
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .ok_or_else(|| AppError::internal("digest: a day row without its day"))?;
        per_day.insert(day, row.sums);
    }
    let mut days = vec![];
    let mut day = first_day;
    while day <= last_day {
        let sums = per_day.remove(&day).unwrap_or_default();
        days.push((day, Measures::of(&sums, shown)));
        day = day
            .checked_add_days(Days::new(1))
            .ok_or_else(|| AppError::internal("digest: day out of range"))?;
    }

    Ok(Figures {
        first_day,
        last_day,
        timezone: zone.name().to_string(),
        currency,
        shown,
        // The day grouping sums every call of the query: its totals are the period's.
        totals: Measures::of(&by_day.totals, shown),
        countries,
        days,
    })
}

/// `0.8417` as `84.17 %`; `-` when there were no calls.
fn percent(ratio: &Option<String>) -> String {
    match ratio.as_deref().and_then(|r| r.parse::<Decimal>().ok()) {
        Some(r) => format!("{} %", (r * Decimal::ONE_HUNDRED).normalize()),
        None => "-".into(),
    }
}

fn or_dash(value: &Option<String>, unit: &str) -> String {
    match value {
        Some(v) => format!("{v}{unit}"),
        None => "-".into(),
    }
}

/// The totals as (label, value) lines, in the order both parts show them.
fn total_lines(f: &Figures) -> Vec<(&'static str, String)> {
    let t = &f.totals;
    let money = |v: &Option<String>| or_dash(v, &format!(" {}", f.currency));
    let mut lines = vec![
        ("Calls", t.calls.to_string()),
        ("Answered", t.answered.to_string()),
        ("ASR", percent(&t.asr)),
        ("Minutes", t.minutes.clone()),
        ("ACD", or_dash(&t.acd, " s")),
    ];
    if f.shown.price {
        lines.push(("Price", money(&t.price)));
    }
    if f.shown.cost {
        lines.push(("Cost", money(&t.cost)));
        lines.push(("Margin", money(&t.margin)));
    }
    lines.push(("Unrated calls", t.unrated.to_string()));
    lines
}

fn period_line(f: &Figures) -> String {
    if f.first_day == f.last_day {
        format!("Traffic of {} ({})", f.first_day, f.timezone)
    } else {
        format!(
            "Traffic from {} to {} ({})",
            f.first_day, f.last_day, f.timezone
        )
    }
}

/// The digest as plain text and as HTML (every text escaped).
pub fn render(f: &Figures) -> Digest {
    Digest {
        text: render_text(f),
        html: render_html(f),
    }
}

fn render_text(f: &Figures) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}\n", period_line(f));
    for (label, value) in total_lines(f) {
        let _ = writeln!(out, "{:<14} {value}", format!("{label}:"));
    }
    let _ = writeln!(out, "\nTop destinations by minutes");
    if f.countries.is_empty() {
        let _ = writeln!(out, "  (no calls to a country)");
    }
    for (code, name, m) in &f.countries {
        let _ = writeln!(
            out,
            "  {code} {name:<24} {:>8} calls {:>10} min",
            m.calls, m.minutes
        );
    }
    let _ = writeln!(out, "\nPer day");
    for (day, m) in &f.days {
        let _ = writeln!(out, "  {day} {:>8} calls {:>10} min", m.calls, m.minutes);
    }
    out
}

/// Text made safe for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn render_html(f: &Figures) -> String {
    let e = escape;
    let cell = "style=\"padding:2px 12px 2px 0;text-align:right\"";
    let head = "style=\"padding:2px 12px 2px 0;text-align:left\"";
    let mut out = String::new();
    let _ = write!(out, "<h2>{}</h2>\n<table>\n", e(&period_line(f)));
    for (label, value) in total_lines(f) {
        let _ = writeln!(
            out,
            "<tr><th {head}>{}</th><td {cell}>{}</td></tr>",
            e(label),
            e(&value)
        );
    }
    let _ = write!(
        out,
        "</table>\n<h3>Top destinations by minutes</h3>\n<table>\n\
         <tr><th {head}>Country</th><th {cell}>Calls</th><th {cell}>Minutes</th></tr>\n"
    );
    for (code, name, m) in &f.countries {
        let _ = writeln!(
            out,
            "<tr><td {head}>{} ({})</td><td {cell}>{}</td><td {cell}>{}</td></tr>",
            e(name),
            e(code),
            m.calls,
            e(&m.minutes)
        );
    }
    let _ = write!(
        out,
        "</table>\n<h3>Per day</h3>\n<table>\n\
         <tr><th {head}>Day</th><th {cell}>Calls</th><th {cell}>Minutes</th></tr>\n"
    );
    for (day, m) in &f.days {
        let _ = writeln!(
            out,
            "<tr><td {head}>{day}</td><td {cell}>{}</td><td {cell}>{}</td></tr>",
            m.calls,
            e(&m.minutes)
        );
    }
    out.push_str("</table>\n");
    out
}

/// The HTML part of an email: the template's plain-text body (escaped, line breaks kept)
/// followed by the digest.
pub fn html_email(body: &str, digest_html: &str) -> String {
    let paragraphs: Vec<String> = body
        .split("\n\n")
        .map(|p| format!("<p>{}</p>", escape(p).replace('\n', "<br>\n")))
        .collect();
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head>\n\
         <body style=\"font-family:sans-serif\">\n{}\n<hr>\n{digest_html}</body></html>\n",
        paragraphs.join("\n")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::measures::Sums;

    fn sums(calls: i64, answered: i64, seconds: i64, price: i64) -> Sums {
        Sums {
            calls,
            answered,
            billed_seconds: seconds,
            cost_micros: price / 2,
            price_micros: price,
            margin_micros: price - price / 2,
            unrated: 1,
        }
    }

    fn figures(shown: Visibility) -> Figures {
        let day = |d| NaiveDate::from_ymd_opt(2026, 10, d).unwrap();
        Figures {
            first_day: day(1),
            last_day: day(2),
            timezone: "Europe/Madrid".into(),
            currency: "EUR".into(),
            shown,
            totals: Measures::of(&sums(3, 2, 150, 1_234_500), shown),
            countries: vec![(
                "GB".into(),
                "United Kingdom".into(),
                Measures::of(&sums(2, 2, 150, 1_234_500), shown),
            )],
            days: vec![
                (day(1), Measures::of(&sums(3, 2, 150, 1_234_500), shown)),
                (day(2), Measures::of(&Sums::default(), shown)),
            ],
        }
    }

    #[test]
    fn brand_digest_states_every_total_with_the_currency() {
        let d = render(&figures(Visibility::ALL));
        let expected = "Traffic from 2026-10-01 to 2026-10-02 (Europe/Madrid)\n\n\
            Calls:         3\n\
            Answered:      2\n\
            ASR:           66.67 %\n\
            Minutes:       2.5\n\
            ACD:           75.0 s\n\
            Price:         1.2345 EUR\n\
            Cost:          0.61725 EUR\n\
            Margin:        0.61725 EUR\n\
            Unrated calls: 1\n\n\
            Top destinations by minutes\n  GB United Kingdom                  2 calls        2.5 min\n\n\
            Per day\n  2026-10-01        3 calls        2.5 min\n  2026-10-02        0 calls        0.0 min\n";
        assert_eq!(d.text, expected);
        assert!(d.html.contains("<th style=\"padding:2px 12px 2px 0;text-align:left\">Margin</th><td style=\"padding:2px 12px 2px 0;text-align:right\">0.61725 EUR</td>"), "{}", d.html);
        assert!(d.html.contains("United Kingdom (GB)"), "{}", d.html);
    }

    #[test]
    fn client_digest_without_billing_details_shows_no_money() {
        let hidden = Visibility {
            cost: false,
            price: false,
        };
        let d = render(&figures(hidden));
        for word in ["Price", "Cost", "Margin", "EUR"] {
            assert!(!d.text.contains(word), "{word}: {}", d.text);
            assert!(!d.html.contains(word), "{word}: {}", d.html);
        }
        let price_only = Visibility {
            cost: false,
            price: true,
        };
        let d = render(&figures(price_only));
        assert!(d.text.contains("Price:         1.2345 EUR"), "{}", d.text);
        assert!(!d.text.contains("Cost") && !d.text.contains("Margin"));
    }

    #[test]
    fn no_calls_gives_dashes_not_zero_ratios() {
        let mut f = figures(Visibility::ALL);
        f.totals = Measures::of(&Sums::default(), Visibility::ALL);
        f.countries.clear();
        let d = render(&f);
        assert!(d.text.contains("ASR:           -\n"), "{}", d.text);
        assert!(d.text.contains("ACD:           -\n"), "{}", d.text);
        assert!(d.text.contains("(no calls to a country)"), "{}", d.text);
    }

    #[test]
    fn html_escapes_what_it_is_given() {
        let mut f = figures(Visibility::ALL);
        f.countries[0].1 = "<script>x</script>".into();
        f.currency = "E&R".into();
        let d = render(&f);
        assert!(!d.html.contains("<script>"), "{}", d.html);
        assert!(d.html.contains("&lt;script&gt;x&lt;/script&gt;"));
        assert!(d.html.contains("E&amp;R"));
        let email = html_email("Hello <b>Acme</b>!\n\nSee\nattached.", &d.html);
        assert!(
            email.contains("<p>Hello &lt;b&gt;Acme&lt;/b&gt;!</p>\n<p>See<br>\nattached.</p>"),
            "{email}"
        );
    }
}
