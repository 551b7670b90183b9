//! Crash points for the fault tests: when `CALLCSV_TEST_CRASH_AT` names a point, the process
//! aborts there (like `kill -9`: no destructors, no flushes), so the tests can check that a
//! restart finishes every occurrence exactly once. Unset in production: one cached lookup.

use std::sync::OnceLock;

/// The points the runner passes, in order, for one report.
/// The spool passes `spool_after_batch` after committing each batch of a file, a pull
/// `pull_after_batch` after committing each page of a window but its last. Alerts:
/// `after_alert_record` once an evaluation pass has recorded events, `before_alert_send`
/// after claiming a notification, `after_alert_send` after sending it (before recording
/// that it was sent).
pub const POINTS: &[&str] = &[
    "after_claim",
    "mid_csv",
    "after_report_commit",
    "before_smtp",
    "after_smtp",
];

pub fn hit(point: &str) {
    static TARGET: OnceLock<Option<String>> = OnceLock::new();
    let target = TARGET.get_or_init(|| {
        std::env::var("CALLCSV_TEST_CRASH_AT")
            .ok()
            .filter(|v| !v.is_empty())
    });
    if target.as_deref() == Some(point) {
        eprintln!("callcsv: crashing at {point} (CALLCSV_TEST_CRASH_AT)");
        std::process::abort();
    }
}
