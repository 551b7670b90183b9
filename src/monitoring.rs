//! What the service tells its operators about itself, whichever way they ask: the
//! scheduler and report queues as Prometheus gauges (read from the database at scrape
//! time), readiness, and the scraper's token check.

use std::fmt::Write;

use crate::db::metrics::{self, Snapshot};
use crate::db::DbConnection;
use crate::error::{AppError, AppResult};

/// Prometheus text exposition format 0.0.4.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Statuses always exposed (as 0 when no row has them), so a series does not vanish when
/// its count drops to zero; any other status found in the database is exposed as well.
const REPORT_STATUSES: &[&str] = &["pending", "building", "ready", "cancelled"];
const EMAIL_STATUSES: &[&str] = &["none", "pending", "sending", "sent", "failed"];

/// The exposition text of the database as it is now.
pub fn exposition(conn: &mut DbConnection) -> AppResult<String> {
    Ok(render(&metrics::snapshot(conn)?, env!("CARGO_PKG_VERSION")))
}

/// Whether the database answers (readiness).
pub fn ready(conn: &mut DbConnection) -> AppResult<()> {
    use diesel::connection::SimpleConnection;
    Ok(conn.batch_execute("SELECT 1")?)
}

/// A scraper may read the metrics when it sends the configured token (`expected`; none
/// configured = open to all): 401 otherwise.
pub fn may_scrape(given: AppResult<&str>, expected: Option<&str>) -> AppResult<()> {
    let Some(expected) = expected else {
        return Ok(());
    };
    if same_secret(given?, expected) {
        Ok(())
    } else {
        Err(AppError::unauthorized("invalid metrics token"))
    }
}

/// Compares the SHA-256 digests of both in constant time, so the time taken says neither
/// where the strings differ nor how long the expected one is.
pub fn same_secret(given: &str, expected: &str) -> bool {
    use sha2::{Digest, Sha256};
    let (a, b) = (Sha256::digest(given), Sha256::digest(expected));
    let diff = a
        .iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// The exposition text of a snapshot: `# HELP`/`# TYPE` then the samples of each gauge.
pub fn render(s: &Snapshot, version: &str) -> String {
    let mut out = String::new();
    gauge(
        &mut out,
        "callcsv_up",
        "1 while the service answers.",
        &[("", 1)],
    );
    let build = format!("{{version=\"{}\"}}", escape_label_value(version));
    gauge(
        &mut out,
        "callcsv_build_info",
        "The running callcsv version.",
        &[(&build, 1)],
    );
    labelled(
        &mut out,
        "callcsv_reports",
        "Call CSV reports by build status.",
        "status",
        &with_known(REPORT_STATUSES, &s.reports_by_status),
    );
    labelled(
        &mut out,
        "callcsv_report_emails",
        "Call CSV reports by email status.",
        "status",
        &with_known(EMAIL_STATUSES, &s.report_emails_by_status),
    );
    labelled(
        &mut out,
        "callcsv_schedulers",
        "Call CSV schedulers, enabled or not.",
        "enabled",
        &[
            ("true".to_string(), s.schedulers_enabled),
            ("false".to_string(), s.schedulers_disabled),
        ],
    );
    gauge(
        &mut out,
        "callcsv_schedulers_due",
        "Enabled schedulers whose next execution has come and is not recorded yet.",
        &[("", s.schedulers_due)],
    );
    gauge(
        &mut out,
        "callcsv_oldest_pending_report_age_seconds",
        "Seconds since the oldest report waiting to be built fell due (0 when none waits).",
        &[("", s.oldest_pending_report_age_seconds)],
    );
    let alerts = alert_samples(&s.alert_events);
    let samples: Vec<(&str, i64)> = alerts.iter().map(|(l, n)| (l.as_str(), *n)).collect();
    gauge(
        &mut out,
        "callcsv_alert_events",
        "Alert events by rule kind and notification status (failed if one failed, pending while one is on its way, sent, or none).",
        &samples,
    );
    out
}

/// `{kind="…",status="…"}` samples: every kind with every status (0 when absent), then
/// anything else found.
fn alert_samples(rows: &[(String, String, String, i64)]) -> Vec<(String, i64)> {
    use crate::alerts::events::{notification_status, METRIC_STATUSES};
    use crate::alerts::rules::KINDS;
    let mut counts: std::collections::BTreeMap<(String, &str), i64> = Default::default();
    for kind in KINDS {
        for status in METRIC_STATUSES {
            counts.insert((kind.to_string(), status), 0);
        }
    }
    for (kind, email, webhook, n) in rows {
        *counts
            .entry((kind.clone(), notification_status(email, webhook)))
            .or_default() += n;
    }
    let order = |kind: &str, status: &str| {
        (
            KINDS.iter().position(|k| *k == kind).unwrap_or(KINDS.len()),
            METRIC_STATUSES.iter().position(|s| *s == status),
        )
    };
    let mut samples: Vec<_> = counts.into_iter().collect();
    samples.sort_by_key(|((kind, status), _)| (order(kind, status), kind.clone()));
    samples
        .into_iter()
        .map(|((kind, status), n)| {
            let labels = format!(
                "{{kind=\"{}\",status=\"{status}\"}}",
                escape_label_value(&kind)
            );
            (labels, n)
        })
        .collect()
}

/// One gauge with its samples, each given as (`{labels}` or "", value).
fn gauge(out: &mut String, name: &str, help: &str, samples: &[(&str, i64)]) {
    // Writing to a String cannot fail.
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} gauge");
    for (labels, value) in samples {
        let _ = writeln!(out, "{name}{labels} {value}");
    }
}

/// One gauge with one label, a sample per label value.
fn labelled(out: &mut String, name: &str, help: &str, label: &str, counts: &[(String, i64)]) {
    let labels: Vec<(String, i64)> = counts
        .iter()
        .map(|(value, n)| (format!("{{{label}=\"{}\"}}", escape_label_value(value)), *n))
        .collect();
    let samples: Vec<(&str, i64)> = labels.iter().map(|(l, n)| (l.as_str(), *n)).collect();
    gauge(out, name, help, &samples);
}

/// `known` in its order with their counts (0 when absent), then any other value found,
/// sorted.
fn with_known(known: &[&str], counts: &[(String, i64)]) -> Vec<(String, i64)> {
    let count_of = |v: &str| counts.iter().filter(|(k, _)| k == v).map(|(_, n)| n).sum();
    let mut all: Vec<(String, i64)> = known.iter().map(|k| (k.to_string(), count_of(k))).collect();
    let mut others: Vec<(String, i64)> = counts
        .iter()
        .filter(|(k, _)| !known.contains(&k.as_str()))
        .cloned()
        .collect();
    others.sort();
    all.extend(others);
    all
}

/// A label value as the exposition format wants it: `\`, `"` and line feeds escaped.
pub fn escape_label_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_gauge_with_help_type_and_zeroes_for_known_statuses() {
        let s = Snapshot {
            reports_by_status: vec![("ready".into(), 7), ("pending".into(), 2)],
            report_emails_by_status: vec![("sent".into(), 6), ("failed".into(), 1)],
            schedulers_enabled: 3,
            schedulers_disabled: 1,
            schedulers_due: 2,
            oldest_pending_report_age_seconds: 95,
            alert_events: vec![
                ("spend".into(), "pending".into(), "none".into(), 2),
                ("spend".into(), "sent".into(), "sending".into(), 1),
                ("spend".into(), "sent".into(), "failed".into(), 1),
                ("destination".into(), "sent".into(), "sent".into(), 1),
                ("destination".into(), "none".into(), "sent".into(), 1),
            ],
        };
        let expected = "\
# HELP callcsv_up 1 while the service answers.
# TYPE callcsv_up gauge
callcsv_up 1
# HELP callcsv_build_info The running callcsv version.
# TYPE callcsv_build_info gauge
callcsv_build_info{version=\"1.2.3\"} 1
# HELP callcsv_reports Call CSV reports by build status.
# TYPE callcsv_reports gauge
callcsv_reports{status=\"pending\"} 2
callcsv_reports{status=\"building\"} 0
callcsv_reports{status=\"ready\"} 7
callcsv_reports{status=\"cancelled\"} 0
# HELP callcsv_report_emails Call CSV reports by email status.
# TYPE callcsv_report_emails gauge
callcsv_report_emails{status=\"none\"} 0
callcsv_report_emails{status=\"pending\"} 0
callcsv_report_emails{status=\"sending\"} 0
callcsv_report_emails{status=\"sent\"} 6
callcsv_report_emails{status=\"failed\"} 1
# HELP callcsv_schedulers Call CSV schedulers, enabled or not.
# TYPE callcsv_schedulers gauge
callcsv_schedulers{enabled=\"true\"} 3
callcsv_schedulers{enabled=\"false\"} 1
# HELP callcsv_schedulers_due Enabled schedulers whose next execution has come and is not recorded yet.
# TYPE callcsv_schedulers_due gauge
callcsv_schedulers_due 2
# HELP callcsv_oldest_pending_report_age_seconds Seconds since the oldest report waiting to be built fell due (0 when none waits).
# TYPE callcsv_oldest_pending_report_age_seconds gauge
callcsv_oldest_pending_report_age_seconds 95
# HELP callcsv_alert_events Alert events by rule kind and notification status (failed if one failed, pending while one is on its way, sent, or none).
# TYPE callcsv_alert_events gauge
callcsv_alert_events{kind=\"spend\",status=\"none\"} 0
callcsv_alert_events{kind=\"spend\",status=\"pending\"} 3
callcsv_alert_events{kind=\"spend\",status=\"sent\"} 0
callcsv_alert_events{kind=\"spend\",status=\"failed\"} 1
callcsv_alert_events{kind=\"destination\",status=\"none\"} 0
callcsv_alert_events{kind=\"destination\",status=\"pending\"} 0
callcsv_alert_events{kind=\"destination\",status=\"sent\"} 2
callcsv_alert_events{kind=\"destination\",status=\"failed\"} 0
callcsv_alert_events{kind=\"quality\",status=\"none\"} 0
callcsv_alert_events{kind=\"quality\",status=\"pending\"} 0
callcsv_alert_events{kind=\"quality\",status=\"sent\"} 0
callcsv_alert_events{kind=\"quality\",status=\"failed\"} 0
callcsv_alert_events{kind=\"velocity\",status=\"none\"} 0
callcsv_alert_events{kind=\"velocity\",status=\"pending\"} 0
callcsv_alert_events{kind=\"velocity\",status=\"sent\"} 0
callcsv_alert_events{kind=\"velocity\",status=\"failed\"} 0
";
        assert_eq!(render(&s, "1.2.3"), expected);
    }

    #[test]
    fn unknown_statuses_follow_the_known_ones_escaped() {
        let s = Snapshot {
            reports_by_status: vec![("zeta".into(), 1), ("we\"ird\\\nx".into(), 4)],
            ..Default::default()
        };
        let text = render(&s, "0.1.0");
        let reports: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("callcsv_reports{"))
            .collect();
        assert_eq!(
            reports,
            [
                "callcsv_reports{status=\"pending\"} 0",
                "callcsv_reports{status=\"building\"} 0",
                "callcsv_reports{status=\"ready\"} 0",
                "callcsv_reports{status=\"cancelled\"} 0",
                "callcsv_reports{status=\"we\\\"ird\\\\\\nx\"} 4",
                "callcsv_reports{status=\"zeta\"} 1",
            ]
        );
        assert!(text.contains("callcsv_oldest_pending_report_age_seconds 0\n"));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label_value("plain 1.0"), "plain 1.0");
        assert_eq!(escape_label_value("a\\b"), "a\\\\b");
        assert_eq!(escape_label_value("say \"hi\""), "say \\\"hi\\\"");
        assert_eq!(escape_label_value("two\nlines"), "two\\nlines");
    }

    #[test]
    fn secrets_compare_equal_only_when_identical() {
        assert!(same_secret("0123456789abcdef", "0123456789abcdef"));
        assert!(!same_secret("0123456789abcdeF", "0123456789abcdef"));
        assert!(!same_secret("0123456789abcdef0", "0123456789abcdef"));
        assert!(!same_secret("", "0123456789abcdef"));
    }
}
