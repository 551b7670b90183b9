//! Bounded streams (issue 13, item 4): concurrent CSV streams are limited in total and per
//! brand; beyond the limits a 429 with `Retry-After` and the error shape; a slot comes back
//! when its reader hangs up.

use std::time::Duration;

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::backend_cases;
use crate::billable_calls::world;
use crate::common::{Backend, TestApp};

backend_cases!(stream_limits_total_and_per_brand);

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
