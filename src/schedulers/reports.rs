//! The reports the runner built for the schedulers, read-only: who may read which, and
//! where a report's file is. Brand operators read their brand's reports; a client
//! administrator only those of its own client's client-level schedulers (a brand-level
//! report naming the client carries the brand's columns: cost, carrier…).

use std::path::{Component, Path, PathBuf};

use crate::auth::{Caller, Role};
use crate::db::{reports, reports::Report, DbConnection};
use crate::error::{AppError, AppResult};
use crate::ids::ReportId;
use crate::listing::ListParams;

use super::CLIENT_LEVEL;

/// What `emailStatus` shows and filters on. The runner's transient `sending` is shown as
/// `pending`: for a reader the mail has simply not gone yet.
pub const EMAIL_STATUSES: &[&str] = &["none", "pending", "sent", "failed"];

pub const FILTERS: &[&str] = &[
    "brand",
    "scheduler",
    "client",
    "createdAt[after]",
    "createdAt[strictly_before]",
    "emailStatus",
];
pub const ORDER: &[&str] = &["createdAt", "inDate"];

/// A page of the built reports the caller may read, narrowed by `params`' filters.
pub fn list(
    conn: &mut DbConnection,
    caller: &Caller,
    params: &ListParams,
) -> AppResult<(i64, Vec<Report>)> {
    // Naming another tenant's brand or client matches nothing (an id no report has)
    // rather than failing, so the answer is the same whether that tenant exists or not.
    let scope = caller.list_scope(params.filter_id("brand")?, params.filter_id("client")?);
    let scheduler = params.filter_id("scheduler")?;
    let filter = reports::Filter {
        brand: scope.brand,
        client: scope.client,
        scheduler: if scope.nothing {
            Some(String::new())
        } else {
            scheduler
        },
        created_after: params.filter_time("createdAt[after]")?,
        created_strictly_before: params.filter_time("createdAt[strictly_before]")?,
        email_status: params.filter_choice("emailStatus", EMAIL_STATUSES)?,
        level: caller.client_scope().map(|_| CLIENT_LEVEL.to_string()),
    };
    reports::list(conn, &filter, params)
}

/// May the caller read this report?
fn readable(caller: &Caller, r: &Report) -> bool {
    match caller.role {
        Role::Platform => true,
        Role::Brand => caller.brand_id.as_deref() == Some(r.brand_id.as_str()),
        Role::Client => {
            r.level == CLIENT_LEVEL && r.client_id.is_some() && r.client_id == caller.client_id
        }
    }
}

/// A built report the caller may read; anything else (not built yet, another tenant's)
/// is a 404.
pub fn find(conn: &mut DbConnection, caller: &Caller, id: &ReportId) -> AppResult<Report> {
    reports::find(conn, id)?
        .filter(|r| r.status == "ready" && readable(caller, r))
        .ok_or_else(AppError::not_found)
}

/// Where the report's CSV file is, under `reports_dir`. The path was written by the
/// runner; still, anything that could leave the reports directory is refused (`None`).
pub fn file_of(report: &Report, reports_dir: &Path) -> Option<PathBuf> {
    report
        .file_path
        .as_deref()
        .map(Path::new)
        .filter(|p| p.components().all(|c| matches!(c, Component::Normal(_))))
        .map(|relative| reports_dir.join(relative))
}

/// The name the file is offered under.
pub fn file_name(report: &Report) -> String {
    report
        .file_name
        .clone()
        .unwrap_or_else(|| format!("{}.csv", report.id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;
    use crate::db;
    use crate::ids::Id;
    use crate::ops::testing::{brand, caller, database, operator_of};
    use crate::ops::Resource;
    use crate::schedulers::tests::{client, input};
    use crate::schedulers::{Schedulers, ZonedScheduler};

    /// A built report of `of`, stored as the runner would leave it.
    fn report(conn: &mut DbConnection, of: &ZonedScheduler, status: &str) -> Report {
        let (s, now) = (&of.scheduler, db::now());
        let row = Report {
            id: db::new_id(),
            scheduler_id: s.id.clone(),
            brand_id: s.brand_id.clone(),
            client_id: s.client_id.clone(),
            level: s.level.clone(),
            scheduler_name: s.name.clone(),
            due_at: now,
            in_date: now,
            out_date: now,
            status: status.into(),
            lease_owner: None,
            lease_until: None,
            build_attempts: 1,
            build_error: None,
            file_name: Some("r.csv".into()),
            file_path: Some("x/r.csv".into()),
            file_size: Some(1),
            sha256: None,
            row_count: Some(0),
            sent_to: String::new(),
            email_status: "none".into(),
            email_attempts: 0,
            email_error: None,
            email_next_attempt: None,
            email_lease_until: None,
            email_possible_duplicate: false,
            email_handed_over: false,
            timezone: None,
            message_id: db::new_id(),
            sent_at: None,
            created_at: now,
            updated_at: now,
        };
        reports::insert(conn, &row).unwrap();
        row
    }

    #[test]
    fn a_client_reads_only_its_client_level_reports_once_built() {
        let (_dir, mut conn) = database();
        let conn = &mut conn;
        let (a, b) = (brand(conn, "A"), brand(conn, "B"));
        let mine = client(conn, &a, "Mine");
        let admin = caller(Role::Client, Some(&a), Some(&mine));
        let own = Schedulers::create(conn, &admin, input("Own")).unwrap();
        let for_mine = crate::schedulers::SchedulerInput {
            client: Some(mine.clone()),
            ..input("Brand's")
        };
        let brands = Schedulers::create(conn, &operator_of(&a), for_mine).unwrap();
        let (own_report, brands_report) =
            (report(conn, &own, "ready"), report(conn, &brands, "ready"));
        let building = report(conn, &own, "building");
        let id = |r: &Report| ReportId::from_db(r.id.clone());

        assert_eq!(
            find(conn, &admin, &id(&own_report)).unwrap().id,
            own_report.id
        );
        for (who, r) in [
            (&admin, &brands_report),
            (&admin, &building),
            (&operator_of(&b), &own_report),
        ] {
            assert_eq!(find(conn, who, &id(r)).unwrap_err().code, "not_found");
        }
        let params = ListParams::default();
        let (total, listed) = list(conn, &admin, &params).unwrap();
        assert_eq!((total, listed[0].id.as_str()), (1, own_report.id.as_str()));
        assert_eq!(list(conn, &operator_of(&a), &params).unwrap().0, 2);
        let mut elsewhere = ListParams::default();
        elsewhere.filters.insert("brand".into(), a.to_string());
        assert_eq!(list(conn, &operator_of(&b), &elsewhere).unwrap().0, 0);
    }

    #[test]
    fn files_stay_under_the_reports_directory() {
        let dir = Path::new("/data/reports");
        let mut r = report_shape();
        r.file_path = Some("2026/a.csv".into());
        assert_eq!(file_of(&r, dir), Some(dir.join("2026/a.csv")));
        for bad in ["../a.csv", "/etc/passwd", "2026/../../a.csv"] {
            r.file_path = Some(bad.into());
            assert_eq!(file_of(&r, dir), None, "{bad}");
        }
    }

    fn report_shape() -> Report {
        let (_dir, mut conn) = database();
        let a = brand(&mut conn, "A");
        let s = Schedulers::create(&mut conn, &operator_of(&a), input("S")).unwrap();
        report(&mut conn, &s, "ready")
    }
}
