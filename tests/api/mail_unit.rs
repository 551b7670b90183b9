//! The mail module against the in-process SMTP server (and the outbox folder): what
//! arrives, and how refusals are reported.

use std::collections::HashMap;
use std::time::Duration;

use callcsv::config::Config;
use callcsv::mail::compose::{attachment_for, render, sender, ReportContext};
use callcsv::mail::{Attachment, Mailer, Outgoing, SendError};
use chrono::NaiveDate;

use crate::smtp::{parse_mail, SmtpServer};

fn config(data_dir: &std::path::Path, extra: &[(&str, &str)]) -> Config {
    let mut vars: HashMap<String, String> = extra
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    vars.insert(
        "CALLCSV_DATA_DIR".into(),
        data_dir.to_string_lossy().into_owned(),
    );
    Config::from_map(&vars).expect("test config")
}

fn smtp_mailer(server: &SmtpServer, data_dir: &std::path::Path) -> Mailer {
    Mailer::from_config(&config(data_dir, &[("CALLCSV_SMTP_URL", &server.url())])).expect("mailer")
}

fn csv_attachment(bytes: &[u8]) -> Attachment {
    Attachment {
        file_name: "calls-2026-10.csv".into(),
        content_type: "text/csv; charset=utf-8".into(),
        bytes: bytes.to_vec(),
    }
}

fn outgoing(message_id: &str, attachment: Attachment) -> Outgoing {
    Outgoing {
        from: "Acme Ops <ops@acme.example>".into(),
        to: vec!["one@client.example".into(), "two@client.example".into()],
        subject: "Call report October".into(),
        body: "Hello,\n\nyour report is attached.\n".into(),
        html: None,
        message_id: message_id.into(),
        attachment: Some(attachment),
    }
}

const CSV: &[u8] = b"callid,start,duration,cost\n\"a\",2026-10-01 10:00:00,60,0.0100\n\"b\",2026-10-01 11:00:00,5,0.0000\n";

#[test]
fn smtp_delivers_one_message_to_all_recipients() {
    let server = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        server.url(),
        format!("smtp://127.0.0.1:{}?tls=none", server.port())
    );
    let mailer = smtp_mailer(&server, dir.path());
    mailer
        .send(&outgoing("<report-1@callcsv>", csv_attachment(CSV)))
        .expect("sent");

    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    let received = &messages[0];
    assert_eq!(received.from, "ops@acme.example");
    assert_eq!(received.to, ["one@client.example", "two@client.example"]);
    let mail = received.parsed();
    assert_eq!(mail.subject, "Call report October");
    assert_eq!(mail.from, "ops@acme.example");
    assert_eq!(mail.to, ["one@client.example", "two@client.example"]);
    assert_eq!(mail.message_id, "<report-1@callcsv>");
    assert_eq!(mail.body, "Hello,\n\nyour report is attached.\n");
    assert_eq!(mail.attachment_name.as_deref(), Some("calls-2026-10.csv"));
    assert_eq!(mail.attachment_type.as_deref(), Some("text/csv"));
    // Byte for byte: LF line ends stay LF.
    assert_eq!(mail.attachment.as_deref(), Some(CSV));
}

#[test]
fn large_csv_arrives_gzipped_and_unchanged() {
    let server = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let config = config(
        dir.path(),
        &[
            ("CALLCSV_SMTP_URL", &server.url()),
            ("CALLCSV_MAIL_GZIP_ABOVE", "100"),
        ],
    );
    let mailer = Mailer::from_config(&config).unwrap();
    let csv = CSV.repeat(50);
    let path = dir.path().join("report.csv");
    std::fs::write(&path, &csv).unwrap();

    let attachment = attachment_for(&path, "calls.csv", config.mail_gzip_above_bytes).unwrap();
    assert!(attachment.bytes.len() < csv.len());
    mailer
        .send(&outgoing("<report-2@callcsv>", attachment))
        .unwrap();

    let mail = server.messages()[0].parsed();
    assert_eq!(mail.attachment_name.as_deref(), Some("calls.csv.gz"));
    assert_eq!(mail.attachment_type.as_deref(), Some("application/gzip"));
    assert_eq!(mail.attachment.as_deref(), Some(&csv[..]));

    // What travels is gzip; the helper unzips it.
    assert!(mail.attachment_raw.unwrap().starts_with(&[0x1f, 0x8b]));

    // At or under the limit it goes as plain CSV.
    assert!(CSV.len() <= 100);
    std::fs::write(&path, CSV).unwrap();
    let attachment = attachment_for(&path, "calls.csv", config.mail_gzip_above_bytes).unwrap();
    mailer
        .send(&outgoing("<report-3@callcsv>", attachment))
        .unwrap();
    let mail = server.messages()[1].parsed();
    assert_eq!(mail.attachment_name.as_deref(), Some("calls.csv"));
    assert_eq!(mail.attachment_raw.as_deref(), Some(CSV));
}

#[test]
fn rendered_template_text_survives_the_trip() {
    let server = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mailer = smtp_mailer(&server, dir.path());
    let ctx = ReportContext {
        company: "Telefónica Ñ, S.A.".into(),
        brand: "Acme".into(),
        scheduler: "Monthly".into(),
        date_in: NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
        date_out: NaiveDate::from_ymd_opt(2026, 10, 31).unwrap(),
        rows: 2,
    };
    let rendered = render(None, &ctx);
    let mut msg = outgoing("<report-4@callcsv>", csv_attachment(CSV));
    msg.from = sender(rendered.from, None, "callcsv <no-reply@localhost>");
    msg.subject = format!("{} — {}", rendered.subject, ctx.company);
    // Lines starting with a dot must come through the SMTP dot-stuffing untouched.
    msg.body = format!("{}\n.\n..two dots\n", rendered.body);
    mailer.send(&msg).unwrap();

    let mail = server.messages()[0].parsed();
    assert_eq!(mail.from, "no-reply@localhost");
    assert_eq!(mail.subject, "New call report — Telefónica Ñ, S.A.");
    assert_eq!(
        mail.body,
        "Greetings Telefónica Ñ, S.A.!\n\nYou already have your call report for the period \
         2026-10-01 - 2026-10-31 available.\n\nCheck out attached file for further \
         details.\n.\n..two dots\n"
    );
}

#[test]
fn a_451_is_temporary_and_the_next_try_goes_through() {
    let server = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mailer = smtp_mailer(&server, dir.path());
    server.fail_next(1, "451 4.3.0 try again later");
    let msg = outgoing("<report-5@callcsv>", csv_attachment(CSV));

    let err = mailer.send(&msg).unwrap_err();
    assert_eq!(
        err,
        SendError::Temporary("451 4.3.0 try again later".into())
    );
    assert!(server.messages().is_empty());

    mailer.send(&msg).expect("the server recovered");
    assert_eq!(server.messages().len(), 1);
}

#[test]
fn a_550_is_permanent_with_the_server_text() {
    let server = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mailer = smtp_mailer(&server, dir.path());
    server.fail_next(1, "550 5.1.1 mailbox unavailable");

    let err = mailer
        .send(&outgoing("<report-6@callcsv>", csv_attachment(CSV)))
        .unwrap_err();
    assert!(err.is_permanent(), "{err:?}");
    assert_eq!(err.to_string(), "550 5.1.1 mailbox unavailable");
    assert!(server.messages().is_empty());
}

#[test]
fn a_refusal_after_the_data_is_classified_too() {
    let server = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mailer = smtp_mailer(&server, dir.path());
    server.fail_next_data(1, "452 4.3.1 insufficient system storage");
    server.fail_next_data(1, "554 5.6.0 message rejected");
    let msg = outgoing("<report-7@callcsv>", csv_attachment(CSV));

    assert_eq!(
        mailer.send(&msg).unwrap_err(),
        SendError::Temporary("452 4.3.1 insufficient system storage".into())
    );
    assert_eq!(
        mailer.send(&msg).unwrap_err(),
        SendError::Permanent("554 5.6.0 message rejected".into())
    );
    assert!(server.messages().is_empty());
    mailer.send(&msg).unwrap();
    assert_eq!(server.messages().len(), 1);
}

#[test]
fn a_closed_port_is_temporary() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("smtp://127.0.0.1:{port}?tls=none");
    let mailer = Mailer::from_config(&config(dir.path(), &[("CALLCSV_SMTP_URL", &url)])).unwrap();
    match mailer.send(&outgoing("<report-8@callcsv>", csv_attachment(CSV))) {
        Err(SendError::Temporary(text)) => {
            assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}")
        }
        other => panic!("expected a temporary failure, got {other:?}"),
    }
}

#[test]
fn a_bad_smtp_url_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(
        dir.path(),
        &[("CALLCSV_SMTP_URL", "smtp://mail.example.com?tls=maybe")],
    );
    let err = Mailer::from_config(&config).unwrap_err();
    assert!(err.starts_with("CALLCSV_SMTP_URL"), "{err}");
    assert!(err.contains("maybe"), "{err}");
}

#[test]
fn without_smtp_the_outbox_gets_one_file_per_message() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &[]);
    let mailer = Mailer::from_config(&config).unwrap();
    assert!(matches!(mailer, Mailer::Outbox(_)));

    let mut msg = outgoing("<report-9@callcsv>", csv_attachment(CSV));
    mailer.send(&msg).unwrap();
    // A resend of the same report replaces the file.
    msg.subject = "Call report October (resent)".into();
    mailer.send(&msg).unwrap();
    mailer
        .send(&outgoing("<report-10@callcsv>", csv_attachment(b"x\n")))
        .unwrap();

    let mut names: Vec<String> = std::fs::read_dir(config.outbox_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["report-10@callcsv.eml", "report-9@callcsv.eml"]);

    let raw = std::fs::read(config.outbox_dir().join("report-9@callcsv.eml")).unwrap();
    let mail = parse_mail(&raw);
    assert_eq!(mail.subject, "Call report October (resent)");
    assert_eq!(mail.message_id, "<report-9@callcsv>");
    assert_eq!(mail.to, ["one@client.example", "two@client.example"]);
    assert_eq!(mail.attachment.as_deref(), Some(CSV));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_for_sees_messages_sent_from_a_worker_thread() {
    let server = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mailer = smtp_mailer(&server, dir.path());
    let sending = tokio::task::spawn_blocking(move || {
        for n in 0..2 {
            std::thread::sleep(Duration::from_millis(50));
            mailer
                .send(&outgoing(&format!("<w-{n}@callcsv>"), csv_attachment(CSV)))
                .unwrap();
        }
    });
    let messages = server.wait_for(2, Duration::from_secs(10)).await;
    sending.await.unwrap();
    let ids: Vec<String> = messages.iter().map(|m| m.parsed().message_id).collect();
    assert_eq!(ids, ["<w-0@callcsv>", "<w-1@callcsv>"]);
    // The pooled connection is reused for the second message.
    assert_eq!(server.connections(), 1);
    // Nothing more arrives: the wait returns what there is after its timeout.
    assert_eq!(
        server.wait_for(3, Duration::from_millis(100)).await.len(),
        2
    );
}

mod choosing_the_template {
    use callcsv::config::DatabaseUrl;
    use callcsv::db::brands::{self, Brand};
    use callcsv::db::notification_templates::{self, NotificationTemplate, TemplateContent};
    use callcsv::db::schedulers::Scheduler;
    use callcsv::db::DbConnection;
    use callcsv::mail::compose::choose_content;
    use chrono::{NaiveDate, NaiveDateTime};

    fn at(minute: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 1, 1)
            .unwrap()
            .and_hms_opt(0, minute, 0)
            .unwrap()
    }

    fn brand(conn: &mut DbConnection, id: &str) {
        brands::insert(
            conn,
            &Brand {
                id: id.into(),
                name: format!("Brand {id}"),
                timezone: "Europe/Madrid".into(),
                language: "es".into(),
                currency: "EUR".into(),
                email: None,
                created_at: at(0),
                updated_at: at(0),
                country: None,
            },
        )
        .unwrap();
    }

    /// A template whose subjects say which template and language they are.
    fn template(conn: &mut DbConnection, id: &str, brand: Option<&str>, minute: u32) {
        let contents: Vec<TemplateContent> = ["en", "es"]
            .iter()
            .map(|lang| TemplateContent {
                language: lang.to_string(),
                from_name: None,
                from_address: None,
                subject: format!("{id} {lang}"),
                body: String::new(),
            })
            .collect();
        notification_templates::insert(
            conn,
            &NotificationTemplate {
                id: id.into(),
                brand_id: brand.map(str::to_string),
                name: id.into(),
                template_type: "callCsv".into(),
                contents: serde_json::to_string(&contents).unwrap(),
                created_at: at(minute),
                updated_at: at(minute),
            },
        )
        .unwrap();
    }

    fn scheduler(brand: &str, template: Option<&str>) -> Scheduler {
        Scheduler {
            id: "s1".into(),
            brand_id: brand.into(),
            client_id: None,
            level: "brand".into(),
            name: "Monthly".into(),
            client_type: None,
            unit: "month".into(),
            frequency: 1,
            cron: None,
            call_direction: None,
            carrier_id: None,
            ddi_provider_id: None,
            ddi_id: None,
            endpoint_type: None,
            endpoint_id: None,
            email: "a@example.com".into(),
            notification_template_id: template.map(str::to_string),
            next_execution: None,
            last_execution: None,
            last_execution_error: None,
            enabled: true,
            created_at: at(0),
            updated_at: at(0),
            kind: "calls".into(),
            group_by: None,
            destination_countries: None,
            international: None,
            digest: false,
        }
    }

    fn subject(conn: &mut DbConnection, s: &Scheduler, language: &str) -> Option<String> {
        choose_content(
            conn,
            s.notification_template_id.as_deref(),
            &s.brand_id,
            callcsv::mail::compose::CALL_CSV,
            language,
        )
        .unwrap()
        .map(|c| c.subject)
    }

    #[test]
    fn own_then_brand_earliest_then_global_then_builtin() {
        let dir = tempfile::tempdir().unwrap();
        let pool = callcsv::db::connect(&DatabaseUrl::Sqlite(dir.path().join("t.db")), 1).unwrap();
        let mut conn = pool.get().unwrap();
        callcsv::db::run_migrations(&mut conn).unwrap();
        let conn: &mut DbConnection = &mut conn;
        brand(conn, "a");
        brand(conn, "b");
        // Made out of id order, so "earliest" cannot be confused with "first id".
        template(conn, "a-late", Some("a"), 20);
        template(conn, "a-early", Some("a"), 10);
        template(conn, "global-late", None, 5);
        template(conn, "global-early", None, 1);

        let own = scheduler("a", Some("a-late"));
        assert_eq!(subject(conn, &own, "es").as_deref(), Some("a-late es"));
        let brand_default = scheduler("a", None);
        assert_eq!(
            subject(conn, &brand_default, "es").as_deref(),
            Some("a-early es")
        );
        // A language the template lacks falls back to English.
        assert_eq!(
            subject(conn, &brand_default, "fr").as_deref(),
            Some("a-early en")
        );
        let global = scheduler("b", None);
        assert_eq!(
            subject(conn, &global, "es-MX").as_deref(),
            Some("global-early es")
        );

        notification_templates::delete(conn, "global-early").unwrap();
        notification_templates::delete(conn, "global-late").unwrap();
        assert_eq!(subject(conn, &global, "es"), None);
    }
}
