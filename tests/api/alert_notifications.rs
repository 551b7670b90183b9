//! Alert notifications through the runner's outbox: the email (built-in English text, or the
//! brand's `alert` template) to the real test SMTP server, and the webhook to a local HTTP
//! receiver that checks the HMAC signature; statuses, attempts and errors on the event;
//! retries after a 5xx, none after a 4xx; private addresses refused; `/metrics`; a crash
//! between recording and notifying (and one between claiming and sending) losing and
//! repeating nothing; two runners at once sending each notification once.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::alert_arrivals::call;
use crate::alert_evaluation::{events, post_calls};
use crate::backend_cases;
use crate::billable_calls::{world, World};
use crate::common::{id, Backend, TestApp};
use crate::smtp::SmtpServer;

backend_cases!(
    email_and_signed_webhook_once_each,
    webhooks_to_private_addresses_are_refused,
    a_crash_between_recording_and_notifying_loses_and_repeats_nothing,
    two_runners_notify_each_event_once
);

/// One request the receiver got: lower-case header names.
#[derive(Debug, Clone)]
pub struct Hooked {
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

#[derive(Default)]
struct Inbox {
    received: Vec<Hooked>,
    /// Statuses to answer next (then 200).
    replies: VecDeque<u16>,
}

/// A webhook receiver on 127.0.0.1: keeps every request, answers 200 unless told otherwise.
pub struct Receiver {
    port: u16,
    inbox: Arc<Mutex<Inbox>>,
}

impl Receiver {
    pub fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let inbox = Arc::new(Mutex::new(Inbox::default()));
        let shared = inbox.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut headers = HashMap::new();
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    continue;
                }
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some((k, v)) = line.trim_end().split_once(':') {
                        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
                    }
                }
                let length: usize = headers
                    .get("content-length")
                    .and_then(|l| l.parse().ok())
                    .unwrap_or(0);
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).is_err() {
                    continue;
                }
                let status = {
                    let mut inbox = shared.lock().unwrap();
                    inbox.received.push(Hooked { headers, body });
                    inbox.replies.pop_front().unwrap_or(200)
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
        });
        Receiver { port, inbox }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    pub fn reply_next(&self, statuses: &[u16]) {
        self.inbox.lock().unwrap().replies.extend(statuses);
    }

    pub fn received(&self) -> Vec<Hooked> {
        self.inbox.lock().unwrap().received.clone()
    }
}

/// Checks a request's signature and event header against `secret`; returns its body as
/// JSON.
fn verified(hook: &Hooked, secret: &str) -> Value {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(&hook.body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(hook.headers["x-callcsv-signature"], expected);
    assert_eq!(hook.headers["content-type"], "application/json");
    let body: Value = serde_json::from_slice(&hook.body).unwrap();
    assert_eq!(
        hook.headers["x-callcsv-event"],
        body["id"].as_str().unwrap()
    );
    body
}

const CUBA: &str = "+5372345678";
const CALLER: &str = "+34911000001";

async fn event(app: &TestApp, token: &str, id: &str) -> Value {
    let (status, e) = app.get(&format!("/alert_events/{id}"), token).await;
    assert_eq!(status, StatusCode::OK, "{e}");
    e
}

async fn metric(app: &TestApp, series: &str) -> i64 {
    let text = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{series} in {text}"))
        .parse()
        .unwrap()
}

struct Notified {
    smtp: SmtpServer,
    receiver: Receiver,
    app: TestApp,
    w: World,
    rule: Value,
}

/// An app sending to the test SMTP server (retries after 1 s) with private webhooks
/// allowed, and a rule blocking Cuba that emails and posts to a local receiver.
async fn notified(backend: Backend) -> Notified {
    let smtp = SmtpServer::start();
    let receiver = Receiver::start();
    let url = smtp.url();
    let app = TestApp::start_with(
        backend,
        &[
            ("CALLCSV_SMTP_URL", url.as_str()),
            ("CALLCSV_WEBHOOK_ALLOW_PRIVATE", "true"),
            ("CALLCSV_MAIL_BACKOFF_SECONDS", "1"),
        ],
    )
    .await;
    let w = world(&app).await;
    let rule = app
        .create(
            "/alert_rules",
            &w.t.operator_a,
            json!({"name": "No Cuba", "kind": "destination", "mode": "block",
                   "countries": ["CU"], "email": "noc@example.com",
                   "webhook": {"url": receiver.url()}}),
        )
        .await;
    Notified {
        smtp,
        receiver,
        app,
        w,
        rule,
    }
}

async fn email_and_signed_webhook_once_each(backend: Backend) {
    let Notified {
        smtp,
        receiver,
        app,
        w,
        rule,
    } = notified(backend).await;
    let op = w.t.operator_a.clone();
    let (rule_id, secret) = (
        id(&rule),
        rule["webhook"]["secret"].as_str().unwrap().to_string(),
    );
    post_calls(
        &app,
        &op,
        json!([call(&w, "d1", "2026-01-05T10:01:00Z", CALLER, CUBA)]),
    )
    .await;
    let fired = events(&app, &op, &rule_id).await;
    assert_eq!(
        (&fired[0]["emailStatus"], &fired[0]["webhookStatus"]),
        (&json!("pending"), &json!("pending"))
    );
    let series = "callcsv_alert_events{kind=\"destination\",status=\"pending\"}";
    assert_eq!(metric(&app, series).await, 1);

    let pass = app.run_runner_once().await;
    assert_eq!(
        (pass.alert_notifications, pass.alert_notification_failures),
        (2, 0)
    );
    let event_id = fired[0]["id"].as_str().unwrap().to_string();
    let mails = smtp.messages();
    assert_eq!(mails.len(), 1);
    let mail = mails[0].parsed();
    assert_eq!(mail.to, ["noc@example.com"]);
    assert_eq!(mail.subject, "Alert: No Cuba fired for Client A (client)");
    assert_eq!(
        mail.body.trim_end(),
        "The alert rule \"No Cuba\" (destination) fired for Client A (client).\n\n\
         Measured: 1\nThreshold: block: CU\n\
         Window: 2026-01-05 11:00 CET to 2026-01-05 11:10 CET\nCalls: d1"
    );
    assert_eq!(mail.message_id, format!("<alert-{event_id}@callcsv>"));
    assert!(mail.attachment.is_none());
    let hooks = receiver.received();
    assert_eq!(hooks.len(), 1);
    let body = verified(&hooks[0], &secret);
    assert_eq!(
        (&body["id"], &body["rule"], &body["kind"], &body["measured"]),
        (
            &json!(event_id),
            &json!(rule_id),
            &json!("destination"),
            &json!("1")
        )
    );
    assert_eq!(body["calls"], json!(["d1"]));
    let e = event(&app, &op, &event_id).await;
    assert_eq!(
        (
            &e["emailStatus"],
            &e["emailAttempts"],
            &e["webhookStatus"],
            &e["webhookAttempts"],
            &e["webhookError"]
        ),
        (
            &json!("sent"),
            &json!(1),
            &json!("sent"),
            &json!(1),
            &Value::Null
        )
    );
    // Another pass sends nothing again.
    app.run_runner_once().await;
    assert_eq!((smtp.messages().len(), receiver.received().len()), (1, 1));
    let sent = "callcsv_alert_events{kind=\"destination\",status=\"sent\"}";
    assert_eq!(metric(&app, sent).await, 1);
    assert_eq!(metric(&app, series).await, 0);

    // A 503 is retried after the backoff, with the same event id.
    receiver.reply_next(&[503]);
    post_calls(
        &app,
        &op,
        json!([call(&w, "d2", "2026-01-05T10:31:00Z", CALLER, CUBA)]),
    )
    .await;
    app.run_runner_once().await;
    let second = events(&app, &op, &rule_id).await[1].clone();
    assert_eq!(
        (&second["webhookStatus"], &second["webhookAttempts"]),
        (&json!("pending"), &json!(1))
    );
    let error = second["webhookError"].as_str().unwrap();
    assert!(error.contains("503"), "{error}");
    assert_eq!(second["emailStatus"], "sent");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    app.run_runner_once().await;
    let second = event(&app, &op, second["id"].as_str().unwrap()).await;
    assert_eq!(
        (&second["webhookStatus"], &second["webhookAttempts"]),
        (&json!("sent"), &json!(2))
    );
    let hooks = receiver.received();
    assert_eq!(hooks.len(), 3);
    for hook in &hooks[1..] {
        assert_eq!(verified(hook, &secret)["id"], second["id"]);
    }

    // A 404 fails at once, and is not retried.
    receiver.reply_next(&[404]);
    post_calls(
        &app,
        &op,
        json!([call(&w, "d3", "2026-01-05T10:51:00Z", CALLER, CUBA)]),
    )
    .await;
    app.run_runner_once().await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    app.run_runner_once().await;
    let third = events(&app, &op, &rule_id).await[2].clone();
    assert_eq!(
        (&third["webhookStatus"], &third["webhookAttempts"]),
        (&json!("failed"), &json!(1))
    );
    assert!(third["webhookError"].as_str().unwrap().contains("404"));
    assert_eq!(receiver.received().len(), 4);
    let failed = "callcsv_alert_events{kind=\"destination\",status=\"failed\"}";
    assert_eq!(metric(&app, failed).await, 1);

    // The brand's `alert` template, with its variables, replaces the built-in text.
    let (status, created) = app
        .post(
            "/notification_templates",
            &op,
            json!({"name": "Alerts", "type": "alert", "contents": [{
                "language": "en", "fromAddress": "alerts@acme.example",
                "subject": "[${ALERT_KIND}] ${ALERT_RULE}: ${ALERT_MEASURED}",
                "body": "${ALERT_SUBJECT} ${ALERT_THRESHOLD} ${ALERT_WINDOW_FROM} ${ALERT_WINDOW_TO} ${ALERT_CALLS}"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    post_calls(
        &app,
        &op,
        json!([
            call(&w, "d4", "2026-01-05T12:01:00Z", CALLER, CUBA),
            call(&w, "d5", "2026-01-05T12:02:00Z", CALLER, CUBA)
        ]),
    )
    .await;
    app.run_runner_once().await;
    let mails = smtp.messages();
    assert_eq!(mails.len(), 4);
    let mail = mails[3].parsed();
    assert_eq!(mail.subject, "[destination] No Cuba: 2");
    assert_eq!(
        mail.body.trim_end(),
        "Client A (client) block: CU 2026-01-05 13:00 CET 2026-01-05 13:10 CET d4, d5"
    );
    assert_eq!(mail.from, "alerts@acme.example");
}

async fn webhooks_to_private_addresses_are_refused(backend: Backend) {
    let receiver = Receiver::start();
    let app = TestApp::start(backend).await;
    let w = world(&app).await;
    let op = w.t.operator_a.clone();
    let local = receiver.url().replace("127.0.0.1", "localhost");
    for (name, url) in [("Loopback", receiver.url()), ("Localhost", local)] {
        app.create(
            "/alert_rules",
            &op,
            json!({"name": name, "kind": "destination", "mode": "block",
                   "countries": ["CU"], "webhook": {"url": url}}),
        )
        .await;
    }
    post_calls(
        &app,
        &op,
        json!([call(&w, "d1", "2026-01-05T10:01:00Z", CALLER, CUBA)]),
    )
    .await;
    let pass = app.run_runner_once().await;
    assert_eq!(pass.alert_notification_failures, 2);
    let (_, all) = app.get("/alert_events", &op).await;
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 2);
    for e in all {
        assert_eq!(e["webhookStatus"], "failed", "{e}");
        assert_eq!(e["emailStatus"], "none", "{e}");
        let error = e["webhookError"].as_str().unwrap();
        assert!(
            error.contains("loopback") && error.contains("CALLCSV_WEBHOOK_ALLOW_PRIVATE"),
            "{error}"
        );
    }
    assert!(receiver.received().is_empty());
}

/// A spend event recorded by a `run-due` that dies right after recording, then one that
/// dies between claiming the email and sending it: a pass after the lease ran out sends one
/// email and one webhook, for the one event.
async fn a_crash_between_recording_and_notifying_loses_and_repeats_nothing(backend: Backend) {
    let smtp = SmtpServer::start();
    let receiver = Receiver::start();
    let url = smtp.url();
    let settings = [
        ("CALLCSV_SMTP_URL", url.as_str()),
        ("CALLCSV_WEBHOOK_ALLOW_PRIVATE", "true"),
    ];
    let app = TestApp::start_with(backend, &settings).await;
    let w = world(&app).await;
    let op = w.t.operator_a.clone();
    let rule = app
        .create(
            "/alert_rules",
            &op,
            json!({"name": "Any call", "kind": "spend", "measure": "calls", "window": "day",
                   "per": "client", "threshold": "1", "email": "noc@example.com",
                   "webhook": {"url": receiver.url()}}),
        )
        .await;
    let recent = (chrono::Utc::now() - chrono::Duration::seconds(30))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    post_calls(
        &app,
        &op,
        json!([call(&w, "s1", &recent, CALLER, "+34600111222")]),
    )
    .await;

    app.run_due_crashing_at("after_alert_record", &settings)
        .await;
    let fired = events(&app, &op, &id(&rule)).await;
    assert_eq!(fired.len(), 1);
    assert_eq!(
        (&fired[0]["emailStatus"], &fired[0]["webhookStatus"]),
        (&json!("pending"), &json!("pending"))
    );
    assert!(smtp.messages().is_empty() && receiver.received().is_empty());

    app.run_due_crashing_at("before_alert_send", &settings)
        .await;
    let fired = events(&app, &op, &id(&rule)).await;
    assert_eq!(fired.len(), 1);
    assert_eq!(
        (&fired[0]["emailStatus"], &fired[0]["emailAttempts"]),
        (&json!("sending"), &json!(1))
    );
    assert!(smtp.messages().is_empty() && receiver.received().is_empty());

    // The crashed attempt's lease (5 s in the child) runs out; the next pass sends.
    tokio::time::sleep(Duration::from_secs(6)).await;
    app.run_runner_once().await;
    app.run_runner_once().await;
    let fired = events(&app, &op, &id(&rule)).await;
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(
        (
            &fired[0]["emailStatus"],
            &fired[0]["emailAttempts"],
            &fired[0]["webhookStatus"]
        ),
        (&json!("sent"), &json!(2), &json!("sent"))
    );
    assert_eq!(smtp.messages().len(), 1);
    assert_eq!(receiver.received().len(), 1);
}

/// Two runners working at once (as two instances would) send every event's email and
/// webhook once.
async fn two_runners_notify_each_event_once(backend: Backend) {
    let Notified {
        smtp,
        receiver,
        app,
        w,
        rule,
    } = notified(backend).await;
    let op = w.t.operator_a.clone();
    // 12 events: one per 10 minutes.
    let calls: Vec<Value> = (0..12)
        .map(|i| {
            call(
                &w,
                &format!("d{i}"),
                &format!("2026-01-05T1{}:{}5:00Z", i / 6, i % 6),
                CALLER,
                CUBA,
            )
        })
        .collect();
    post_calls(&app, &op, json!(calls)).await;
    assert_eq!(events(&app, &op, &id(&rule)).await.len(), 12);
    let (one, two) = (app.runner(), app.runner());
    let a = tokio::task::spawn_blocking(move || one.run_once());
    let b = tokio::task::spawn_blocking(move || two.run_once());
    let (a, b) = (a.await.unwrap().unwrap(), b.await.unwrap().unwrap());
    assert_eq!(a.alert_notifications + b.alert_notifications, 24);
    let mails = smtp.messages();
    let mut ids: Vec<String> = mails.iter().map(|m| m.parsed().message_id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!((mails.len(), ids.len()), (12, 12));
    let hooks = receiver.received();
    let mut hooked: Vec<String> = hooks
        .iter()
        .map(|h| h.headers["x-callcsv-event"].clone())
        .collect();
    hooked.sort();
    hooked.dedup();
    assert_eq!((hooks.len(), hooked.len()), (12, 12));
}
