//! The spool directory (issue 9): a CDR source's directory under `CALLCSV_SPOOL_ROOT`
//! scanned by the runner. Appended lines are stored, an unfinished last line once it is
//! complete, a rotated file keeps its checkpoint, a truncated one is read again (its calls
//! then duplicates), a crash between two batches and two runners at once store each call
//! exactly once, and a directory that cannot be read shows on the source until it can.

use std::io::Write;
use std::path::{Path, PathBuf};

use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::backend_cases;
use crate::common::{id, Backend, Tenants, TestApp};

backend_cases!(
    spool_appends_partial_lines_rotation_and_truncation,
    spool_crash_between_batches_stores_each_call_once,
    spool_two_runners_at_once_store_each_call_once,
    spool_directory_problems_show_on_the_source,
    spool_files_with_a_header_resume_after_it,
    spool_reads_files_compressed_by_rotation_once_complete,
);

/// An Asterisk `Master.csv` line (16 columns: the callid is a hash of its fields), an
/// answered outbound call from extension 201 to a Madrid number of its own.
fn line(n: usize) -> String {
    let dst = format!("91{:07}", n);
    let start = format!(
        "2026-01-{:02} {:02}:{:02}:{:02}",
        1 + n / 86_400 % 28,
        n / 3600 % 24,
        n / 60 % 60,
        n % 60
    );
    format!(
        "\"\",\"201\",\"{dst}\",\"from-internal\",\"\"\"Alice\"\" <201>\",\"SIP/201-0001\",\"SIP/TELCHAN-0002\",\"Dial\",\"SIP/TELCHAN/{dst},60\",\"{start}\",\"{start}\",\"{start}\",65,60,\"ANSWERED\",\"DOCUMENTATION\"\n"
    )
}

fn lines(range: std::ops::Range<usize>) -> String {
    range.map(line).collect()
}

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

struct Spool {
    app: TestApp,
    /// Kept for the test's duration: the spool root.
    _root: tempfile::TempDir,
    root: PathBuf,
    /// The source's directory.
    dir: PathBuf,
    source: String,
    operator: String,
    client: String,
}

/// An app with `CALLCSV_SPOOL_ROOT`, a brand in Spain and an `asterisk-csv` source whose
/// spool is `pbx/Master.csv*`, its calls going to the brand's client.
async fn spool(backend: Backend, extra: &[(&str, &str)]) -> Spool {
    let root_dir = tempfile::tempdir().unwrap();
    let root = root_dir.path().canonicalize().unwrap();
    let dir = root.join("pbx");
    std::fs::create_dir_all(&dir).unwrap();
    let root_text = root.to_string_lossy().into_owned();
    let mut vars = vec![("CALLCSV_SPOOL_ROOT", root_text.as_str())];
    vars.extend_from_slice(extra);
    let app = TestApp::start_with(backend, &vars).await;
    let t = Tenants::create(&app).await;
    app.brand_country(&t.brand_a, "ES").await;
    let source = id(&app
        .create(
            "/cdr_sources",
            &t.operator_a,
            json!({"name": "PBX", "format": "asterisk-csv",
                   "spool": {"path": "pbx", "pattern": "Master.csv*"},
                   "mapping": {"defaultClient": t.client_a}}),
        )
        .await);
    Spool {
        app,
        _root: root_dir,
        root,
        dir,
        source,
        operator: t.operator_a,
        client: t.client_a,
    }
}

impl Spool {
    async fn scan(&self) {
        self.app.run_runner_once().await;
    }

    /// The source's spool imports, oldest first.
    async fn imports(&self) -> Vec<Value> {
        self.imports_of(&self.source).await
    }

    async fn imports_of(&self, source: &str) -> Vec<Value> {
        let (status, body) = self
            .app
            .get(
                &format!(
                    "/cdr_imports?source={source}&origin=spool&_order[startedAt]=asc&itemsPerPage=100"
                ),
                &self.operator,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body.as_array().unwrap().clone()
    }

    /// Accepted and duplicate records over all the source's spool imports.
    async fn totals(&self) -> (i64, i64) {
        self.imports().await.iter().fold((0, 0), |(a, d), i| {
            (
                a + i["accepted"].as_i64().unwrap(),
                d + i["duplicates"].as_i64().unwrap(),
            )
        })
    }

    /// Billable calls stored, and how many distinct callids they have.
    async fn calls(&self) -> (i64, i64) {
        let pool = self.app.pool();
        tokio::task::spawn_blocking(move || {
            use callcsv::db::schema::billable_calls as b;
            let mut conn = pool.get().unwrap();
            let ids: Vec<String> = b::table.select(b::callid).load(&mut conn).unwrap();
            let distinct: std::collections::HashSet<&String> = ids.iter().collect();
            (ids.len() as i64, distinct.len() as i64)
        })
        .await
        .unwrap()
    }

    /// The source's `lastError`, as the API shows it.
    async fn last_error(&self) -> Option<String> {
        let (status, body) = self
            .app
            .get(&format!("/cdr_sources/{}", self.source), &self.operator)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["lastError"].as_str().map(str::to_string)
    }
}

async fn spool_appends_partial_lines_rotation_and_truncation(backend: Backend) {
    let s = spool(backend, &[]).await;
    let master = s.dir.join("Master.csv");
    // Three lines and the first half of a fourth, still being written.
    let fourth = line(4);
    let (head, tail) = fourth.split_at(60);
    append(&master, &(lines(1..4) + head));
    s.scan().await;
    assert_eq!(s.calls().await, (3, 3));
    let imports = s.imports().await;
    assert_eq!(imports.len(), 1);
    assert_eq!(imports[0]["fileName"], "Master.csv");
    assert_eq!(imports[0]["status"], "done");
    assert_eq!(
        (
            imports[0]["records"].as_i64(),
            imports[0]["accepted"].as_i64()
        ),
        (Some(3), Some(3))
    );
    assert_eq!(
        imports[0]["bytes"].as_u64(),
        Some(lines(1..4).len() as u64),
        "the unfinished line is not read"
    );

    // Nothing new: no import.
    s.scan().await;
    assert_eq!(s.imports().await.len(), 1);

    // The fourth line completed and a fifth appended.
    append(&master, &(tail.to_string() + &line(5)));
    s.scan().await;
    assert_eq!(s.calls().await, (5, 5));
    let imports = s.imports().await;
    assert_eq!(imports.len(), 2);
    assert_eq!(
        (
            imports[1]["accepted"].as_i64(),
            imports[1]["duplicates"].as_i64()
        ),
        (Some(2), Some(0))
    );

    // Rotation: a last line, the file renamed, a new Master.csv started.
    append(&master, &line(6));
    std::fs::rename(&master, s.dir.join("Master.csv.1")).unwrap();
    append(&master, &lines(7..9));
    s.scan().await;
    assert_eq!(s.calls().await, (8, 8));
    assert_eq!(s.totals().await, (8, 0), "nothing twice, nothing lost");

    // Truncation: Master.csv cut short and written again from its start.
    std::fs::write(&master, line(7)).unwrap();
    s.scan().await;
    assert_eq!(s.calls().await, (8, 8));
    let imports = s.imports().await;
    let last = imports.last().unwrap();
    assert_eq!(last["fileName"], "Master.csv");
    assert_eq!(
        (last["records"].as_i64(), last["duplicates"].as_i64()),
        (Some(1), Some(1)),
        "the truncated file is read again: {last}"
    );
    append(&master, &line(9));
    s.scan().await;
    assert_eq!(s.calls().await, (9, 9));
    assert_eq!(s.totals().await, (9, 1));

    // Replaced in place by other, longer content: read from its start, not from the offset
    // reached in what it held before.
    std::fs::write(&master, lines(20..30)).unwrap();
    s.scan().await;
    assert_eq!(s.calls().await, (19, 19));
    assert_eq!(s.totals().await, (19, 1));
    assert_eq!(s.last_error().await, None);
}

/// Files big enough for several batches (2 000 calls each).
const MANY: usize = 4_500;

async fn spool_crash_between_batches_stores_each_call_once(backend: Backend) {
    let s = spool(backend, &[("CALLCSV_REPORT_LEASE_SECONDS", "5")]).await;
    append(&s.dir.join("Master.csv"), &lines(0..MANY));
    // `callcsv run-due --once` on the same database, aborting (like kill -9) right after
    // committing its first batch.
    let root = s.root.to_string_lossy().into_owned();
    s.app
        .run_due_crashing_at("spool_after_batch", &[("CALLCSV_SPOOL_ROOT", &root)])
        .await;
    assert_eq!(s.calls().await, (2_000, 2_000), "one batch stored");

    // The dead runner's lease runs out; the next scan stores the rest, nothing twice.
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    s.scan().await;
    assert_eq!(s.calls().await, (MANY as i64, MANY as i64));
    assert_eq!(s.totals().await, (MANY as i64, 0));
}

async fn spool_two_runners_at_once_store_each_call_once(backend: Backend) {
    let s = spool(backend, &[]).await;
    append(&s.dir.join("Master.csv"), &lines(0..MANY));
    let (a, b) = (s.app.runner(), s.app.runner());
    let (ra, rb) = tokio::join!(
        tokio::task::spawn_blocking(move || a.run_once()),
        tokio::task::spawn_blocking(move || b.run_once()),
    );
    ra.unwrap().unwrap();
    rb.unwrap().unwrap();
    // Whichever ran second (or found the lease taken) read nothing again.
    s.scan().await;
    assert_eq!(s.calls().await, (MANY as i64, MANY as i64));
    assert_eq!(
        s.totals().await,
        (MANY as i64, 0),
        "{:?}",
        s.imports().await
    );
    assert_eq!(s.imports().await.len(), 1);
}

async fn spool_directory_problems_show_on_the_source(backend: Backend) {
    let s = spool(backend, &[]).await;
    append(&s.dir.join("Master.csv"), &lines(0..2));
    std::fs::rename(&s.dir, s.root.join("moved")).unwrap();
    s.scan().await;
    let error = s.last_error().await.expect("the problem is shown");
    assert!(
        error.starts_with("spool: ") && error.contains("pbx"),
        "{error}"
    );
    assert_eq!(s.calls().await, (0, 0));

    // Back in place: read at the next poll, the problem cleared.
    std::fs::rename(s.root.join("moved"), &s.dir).unwrap();
    s.scan().await;
    assert_eq!(s.calls().await, (2, 2));
    assert_eq!(s.last_error().await, None);

    // Another arrival's problem (a pull's) is not cleared by a spool scan that works.
    let (pool, id) = (s.app.pool(), s.source.clone());
    tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().unwrap();
        callcsv::db::cdr_spool_files::set_last_error(
            &mut conn,
            &id,
            "pull",
            Some("401 token expired"),
        )
        .unwrap();
    })
    .await
    .unwrap();
    append(&s.dir.join("Master.csv"), &lines(2..3));
    s.scan().await;
    assert_eq!(s.calls().await, (3, 3));
    assert_eq!(
        s.last_error().await.as_deref(),
        Some("pull: 401 token expired")
    );
}

/// A CDR-Stats export row (after its 25-column header).
fn cdrstats_row(n: usize) -> String {
    format!(
        "127.0.0.1,1,c-{n},201,Alice,91122{n:04},3491,,sofia/x,2026-01-14 17:{:02}:01,120,115,0,5,5,16,NORMAL_CLEARING,2,ES,acc1,0.01,0.02,0.02,0.04,\"{{}}\"\n",
        n % 60
    )
}

const CDRSTATS_HEADER: &str = "switch,cdr_source_type,callid,caller_id_number,caller_id_name,destination_number,dialcode,state,channel,starting_date,duration,billsec,progresssec,answersec,waitsec,hangup_cause_id,hangup_cause,direction,country_code,accountcode,buy_rate,buy_cost,sell_rate,sell_cost,extradata\n";

async fn spool_files_with_a_header_resume_after_it(backend: Backend) {
    let s = spool(backend, &[]).await;
    std::fs::create_dir_all(s.root.join("stats")).unwrap();
    let source = id(&s
        .app
        .create(
            "/cdr_sources",
            &s.operator,
            json!({"name": "Stats", "format": "cdrstats-csv",
                   "spool": {"path": "stats", "pattern": "*.csv"},
                   "mapping": {"defaultClient": s.client}}),
        )
        .await);
    let file = s.root.join("stats").join("export.csv");
    append(
        &file,
        &(CDRSTATS_HEADER.to_string() + &cdrstats_row(1) + &cdrstats_row(2)),
    );
    s.scan().await;
    assert_eq!(s.calls().await, (2, 2));
    // Resumed after its checkpoint, the file is read with its header again in front.
    append(&file, &cdrstats_row(3));
    s.scan().await;
    assert_eq!(s.calls().await, (3, 3));
    let imports = s.imports_of(&source).await;
    assert_eq!(imports.len(), 2);
    assert_eq!(
        (
            imports[1]["records"].as_i64(),
            imports[1]["accepted"].as_i64(),
            imports[1]["rejected"].as_i64()
        ),
        (Some(1), Some(1), Some(0)),
        "{}",
        imports[1]
    );
    assert_eq!(
        imports[1]["bytes"].as_u64(),
        Some(cdrstats_row(3).len() as u64)
    );
    // A broken row appended later is rejected with its line in the file (header, rows 1-3,
    // then line 5), not its line in what was read this time.
    append(&file, "127.0.0.1,1,c-broken,201,Alice,9112\n");
    s.scan().await;
    let imports = s.imports_of(&source).await;
    assert_eq!(imports.len(), 3, "{imports:?}");
    assert_eq!(imports[2]["rejected"].as_i64(), Some(1), "{}", imports[2]);
    assert_eq!(imports[2]["errors"][0]["line"], 5, "{}", imports[2]);
}

fn gzip(text: &str) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(text.as_bytes()).unwrap();
    encoder.finish().unwrap()
}

/// logrotate with `compress` while the service was down: `Master.csv` became
/// `Master.csv.1.gz` holding lines not read yet. The compressed file is read whole once it
/// is complete (its earlier lines duplicates), a half-written one is left for a later
/// scan, and a read one is not read again.
async fn spool_reads_files_compressed_by_rotation_once_complete(backend: Backend) {
    let s = spool(backend, &[]).await;
    let master = s.dir.join("Master.csv");
    append(&master, &lines(1..4));
    s.scan().await;
    assert_eq!(s.calls().await, (3, 3));

    // Line 4 written, then the file rotated and compressed before the next scan.
    append(&master, &line(4));
    let compressed = gzip(&lines(1..5));
    std::fs::remove_file(&master).unwrap();
    let rotated = s.dir.join("Master.csv.1.gz");
    // Half of it written so far: not read, no failed import.
    std::fs::write(&rotated, &compressed[..compressed.len() / 2]).unwrap();
    append(&master, &lines(5..7));
    s.scan().await;
    assert_eq!(
        s.calls().await,
        (5, 5),
        "lines 5 and 6 of the new Master.csv"
    );
    assert!(
        s.imports().await.iter().all(|i| i["status"] == "done"),
        "{:?}",
        s.imports().await
    );

    std::fs::write(&rotated, &compressed).unwrap();
    s.scan().await;
    assert_eq!(s.calls().await, (6, 6), "line 4 from the compressed file");
    let imports = s.imports().await;
    let gz = imports
        .iter()
        .find(|i| i["fileName"] == "Master.csv.1.gz")
        .expect("an import of the compressed file");
    assert_eq!(
        (
            gz["records"].as_i64(),
            gz["accepted"].as_i64(),
            gz["duplicates"].as_i64(),
            gz["rejected"].as_i64()
        ),
        (Some(4), Some(1), Some(3), Some(0)),
        "{gz}"
    );
    assert_eq!(gz["bytes"].as_u64(), Some(compressed.len() as u64), "{gz}");

    // Read once: the next scans leave it alone.
    let n = imports.len();
    s.scan().await;
    assert_eq!(s.imports().await.len(), n);
    assert_eq!(s.last_error().await, None);
}
