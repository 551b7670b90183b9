//! Bounded streams (issue 13, item 4): concurrent CSV streams, report downloads and call
//! ingestions are limited in total and per brand; beyond the limits a 429 with
//! `Retry-After` and the error shape; a slot comes back when its reader (or sender) hangs up.

use std::time::Duration;

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::backend_cases;
use crate::billable_calls::world;
use crate::common::{Backend, TestApp};

backend_cases!(
    stream_limits_total_and_per_brand,
    ingestion_limits_per_brand_and_total,
    report_download_limits,
);

/// A reader that sends the request, reads the status line and then stops reading, with a
/// small receive buffer so the service cannot push the whole body into the kernel.
async fn slow_reader(app: &TestApp, token: &str) -> (TcpStream, u16) {
    let addr = app.base.trim_start_matches("http://").parse().unwrap();
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(addr).await.unwrap();
    let request = format!(
        "GET /billable_calls HTTP/1.1\r\nHost: {addr}\r\nAccept: text/csv\r\n\
         Authorization: Bearer {token}\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).await.unwrap();
    let status = std::str::from_utf8(&head[9..12]).unwrap().parse().unwrap();
    (stream, status)
}

async fn csv_status(app: &TestApp, token: &str) -> (StatusCode, Option<String>, String) {
    let res = app
        .http
        .get(app.url("/billable_calls"))
        .bearer_auth(token)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    answer(res).await
}

/// Status, `Retry-After` and body of an answer.
async fn answer(res: reqwest::Response) -> (StatusCode, Option<String>, String) {
    let status = res.status();
    let retry = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    (status, retry, res.text().await.unwrap())
}

async fn stream_limits_total_and_per_brand(backend: Backend) {
    let app = TestApp::start_with(
        backend,
        &[
            ("CALLCSV_MAX_STREAMS", "3"),
            ("CALLCSV_MAX_STREAMS_PER_BRAND", "2"),
        ],
    )
    .await;
    let w = world(&app).await;
    // Enough calls of brand A that its stream (about 2 MB) outlasts the socket buffers.
    let mut csv =
        String::from("callid,startTime,duration,caller,callee,direction,client,carrier\n");
    for i in 0..6000 {
        csv.push_str(&format!(
            "call-{i:05},2026-02-01T00:{:02}:{:02}Z,60,+34911000001,+34600111222,outbound,{},{}\n",
            (i / 60) % 60,
            i % 60,
            w.t.client_a,
            w.carrier
        ));
    }
    let res = app
        .http
        .post(app.url("/billable_calls"))
        .bearer_auth(&w.t.operator_a)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    let summary: serde_json::Value = res.json().await.unwrap();
    assert_eq!(summary["accepted"], 6000, "{summary}");

    // Two slow streams of brand A (one by its client administrator) take the brand's share.
    let (a1, status) = slow_reader(&app, &w.t.operator_a).await;
    assert_eq!(status, 200);
    let (_a2, status) = slow_reader(&app, &w.t.client_admin_a).await;
    assert_eq!(status, 200);
    let (status, retry, body) = csv_status(&app, &w.t.operator_a).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let retry: u64 = retry.expect("Retry-After").parse().unwrap();
    assert!(retry >= 1);
    let error: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["code"], "too_many_requests", "{error}");

    // Brand B still streams while A is at its share (B has no calls: its stream ends at
    // once and gives its slot back).
    let (status, _, body) = csv_status(&app, &w.t.operator_b).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A platform administrator's stream (every brand's calls, a slot of its own key) takes
    // the last slot of the total: now B is refused too.
    let (_all, status) = slow_reader(&app, &app.root).await;
    assert_eq!(status, 200);
    let (status, retry, body) = csv_status(&app, &w.t.operator_b).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(retry.is_some());

    // The JSON list is not a stream and is never limited.
    let (status, _) = app
        .get("/billable_calls?itemsPerPage=10", &w.t.operator_a)
        .await;
    assert_eq!(status, StatusCode::OK);

    // A reader that hangs up gives its slot back.
    drop(a1);
    let mut freed = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (status, _, _) = csv_status(&app, &w.t.operator_a).await;
        if status == StatusCode::OK {
            freed = true;
            break;
        }
    }
    assert!(freed, "the slot of a closed stream came back");
}

/// Asserts a 429 with `Retry-After` and the error shape whose message contains `says`.
fn assert_too_many(answer: &(StatusCode, Option<String>, String), says: &str) {
    let (status, retry, body) = answer;
    assert_eq!(*status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let retry: u64 = retry.as_deref().expect("Retry-After").parse().unwrap();
    assert!(retry >= 1);
    let error: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(error["code"], "too_many_requests", "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains(says), "{message}");
}

/// Retries `attempt` every 100 ms for up to 5 s until it answers `want`.
async fn eventually<F, Fut>(
    want: StatusCode,
    mut attempt: F,
) -> (StatusCode, Option<String>, String)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = (StatusCode, Option<String>, String)>,
{
    let mut last = attempt().await;
    for _ in 0..50 {
        if last.0 == want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        last = attempt().await;
    }
    last
}

const CSV_HEADER: &str = "callid,startTime,duration,caller,callee,direction,client,carrier\n";

/// A call ingestion that sends its head and the start of its body, then nothing more: it
/// holds an ingestion slot (taken before the body is read) until the connection closes.
/// Returns once the service has had a second to take the slot (a request sent before that
/// could take it first).
async fn stalled_ingestion(app: &TestApp, token: &str) -> TcpStream {
    let addr = app.base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /billable_calls HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/csv\r\n\
         Content-Length: 100000\r\nAuthorization: Bearer {token}\r\n\r\n{CSV_HEADER}"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = [0u8; 512];
    if let Ok(read) = tokio::time::timeout(Duration::from_secs(1), stream.read(&mut answer)).await {
        let n = read.unwrap();
        panic!(
            "the stalled ingestion was answered: {}",
            String::from_utf8_lossy(&answer[..n])
        );
    }
    stream
}

async fn ingest(app: &TestApp, token: &str, csv: String) -> (StatusCode, Option<String>, String) {
    let res = app
        .http
        .post(app.url("/billable_calls"))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    answer(res).await
}

async fn ingestion_limits_per_brand_and_total(backend: Backend) {
    let app = TestApp::start_with(
        backend,
        &[
            ("CALLCSV_MAX_INGESTIONS", "2"),
            ("CALLCSV_MAX_INGESTIONS_PER_BRAND", "1"),
        ],
    )
    .await;
    let w = world(&app).await;
    let row = |brand_client: &str, id: &str| {
        format!(
            "{CSV_HEADER}{id},2026-02-01T00:00:00Z,60,+34911000001,+34600111222,outbound,{brand_client},\n"
        )
    };
    let a_rows = || row(&w.t.client_a, "a-1");
    let b_rows = || row(&w.t.client_b, "b-1");

    // Brand A's stalled body takes its share: A's next ingestion is refused, B's goes
    // through.
    let a1 = stalled_ingestion(&app, &w.t.operator_a).await;
    let refused = ingest(&app, &w.t.operator_a, a_rows()).await;
    assert_too_many(&refused, "call ingestions in progress for this brand");
    let (status, _, body) = ingest(&app, &w.t.operator_b, b_rows()).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // B's stalled body takes the last slot of the total: brand C, which holds none, is
    // refused too.
    let b1 = stalled_ingestion(&app, &w.t.operator_b).await;
    let brand_c = app.brand("Brand C").await;
    let operator_c = app.brand_operator(&brand_c, "operator-c").await;
    let refused = ingest(&app, &operator_c, CSV_HEADER.to_string()).await;
    assert_too_many(&refused, "call ingestions in progress (2 at most)");

    // Senders that hang up give their slots back.
    drop(a1);
    drop(b1);
    let done = eventually(StatusCode::OK, || ingest(&app, &w.t.operator_a, a_rows())).await;
    assert_eq!(done.0, StatusCode::OK, "{}", done.2);
    // The row was read and judged (rejected here: the test's rows carry no carrier).
    let summary: serde_json::Value = serde_json::from_str(&done.2).unwrap();
    assert_eq!(summary["errors"][0]["callid"], "a-1", "{summary}");
    let done = eventually(StatusCode::OK, || ingest(&app, &w.t.operator_b, b_rows())).await;
    assert_eq!(done.0, StatusCode::OK, "{}", done.2);
}

async fn download(
    app: &TestApp,
    token: &str,
    report: &str,
) -> (StatusCode, Option<String>, String) {
    let res = app
        .http
        .get(app.url(&format!("/call_csv_reports/{report}/csv")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    answer(res).await
}

/// A download that reads its status line and then stops reading (see [`slow_reader`]).
async fn slow_download(app: &TestApp, token: &str, report: &str) -> (TcpStream, u16) {
    let addr = app.base.trim_start_matches("http://").parse().unwrap();
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(addr).await.unwrap();
    let request = format!(
        "GET /call_csv_reports/{report}/csv HTTP/1.1\r\nHost: {addr}\r\n\
         Authorization: Bearer {token}\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).await.unwrap();
    let status = std::str::from_utf8(&head[9..12]).unwrap().parse().unwrap();
    (stream, status)
}

async fn report_download_limits(backend: Backend) {
    let app = TestApp::start_with(
        backend,
        &[
            ("CALLCSV_MAX_STREAMS", "2"),
            ("CALLCSV_MAX_STREAMS_PER_BRAND", "1"),
        ],
    )
    .await;
    let w = world(&app).await;
    let op = &w.t.operator_a;
    // A ready report of brand A: a monthly scheduler whose run of February 2026 is due.
    let scheduler = crate::common::id(
        &app.create(
            "/call_csv_schedulers",
            op,
            serde_json::json!({"name": "Monthly", "unit": "month", "frequency": 1}),
        )
        .await,
    );
    let (status, body) = app
        .patch(
            &format!("/call_csv_schedulers/{scheduler}"),
            op,
            serde_json::json!({"nextExecution": "2026-03-01T07:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.run_runner_once().await;
    let (status, list) = app
        .get(&format!("/call_csv_reports?scheduler={scheduler}"), op)
        .await;
    assert_eq!(status, StatusCode::OK);
    let report = list
        .as_array()
        .unwrap()
        .first()
        .unwrap_or_else(|| panic!("a ready report in {list}"))["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Its file made big enough (8 MB) that a reader who stops reading keeps the download
    // open: the service sends the file as it is on disk.
    let mut files = Vec::new();
    let mut dirs = vec![app.data_dir.path().join("reports")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path
                .file_name()
                .and_then(|s| s.to_str())
                .is_some_and(|name| name.starts_with(report.as_str()) && name.ends_with(".csv"))
            {
                files.push(path);
            }
        }
    }
    assert_eq!(files.len(), 1, "the report's file: {files:?}");
    let big: Vec<u8> = (0..8_000_000).map(|i| b"0123456789,\n"[i % 12]).collect();
    std::fs::write(&files[0], &big).unwrap();

    // A download in progress takes brand A's share: another download of A is refused, and
    // so is A's CSV stream (one limit for both).
    let (reader, status) = slow_download(&app, op, &report).await;
    assert_eq!(status, 200);
    assert_too_many(
        &download(&app, op, &report).await,
        "CSV streams and report downloads in progress for this brand",
    );
    assert_too_many(&csv_status(&app, op).await, "for this brand");
    // Another brand is not held up.
    let (status, _, body) = csv_status(&app, &w.t.operator_b).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The reader hangs up: its slot comes back and the whole file downloads.
    drop(reader);
    let (status, _, body) = eventually(StatusCode::OK, || download(&app, op, &report)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.len(), big.len());
}
