//! Delivery: `CALLCSV_SMTP_URL` parsed into [`SmtpSettings`] (our rules, not lettre's: a
//! plain `smtp://` requires STARTTLS), the MIME message built with lettre, lettre's errors
//! sorted into temporary and permanent ones, and the outbox writer used without SMTP.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::PoolConfig;
use lettre::{Message, SmtpTransport, Transport};

use super::{Outgoing, SendError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain text throughout (`?tls=none`): local relays only.
    None,
    /// STARTTLS when the server offers it, else plain text (`?tls=opportunistic`).
    Opportunistic,
    /// STARTTLS or fail: the default for `smtp://`.
    Required,
    /// TLS from the first byte: `smtps://`.
    Wrapper,
}

/// What `CALLCSV_SMTP_URL` says, checked.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    /// User and password, percent-decoded.
    pub credentials: Option<(String, String)>,
    /// The name to greet with (`EHLO`), from the URL's path; `None`: this machine's name.
    pub hello_name: Option<String>,
}

impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("user", &self.credentials.as_ref().map(|(user, _)| user))
            .field("hello_name", &self.hello_name)
            .finish()
    }
}

impl SmtpSettings {
    /// `smtp://[user:pass@]host[:port][?tls=required|opportunistic|none]` (port 587, or 25
    /// with `tls=none`) or `smtps://[user:pass@]host[:port]` (port 465).
    pub fn parse(raw: &str) -> Result<SmtpSettings, String> {
        let url = url::Url::parse(raw).map_err(|e| format!("not a URL ({e})"))?;
        let scheme = url.scheme();
        if scheme != "smtp" && scheme != "smtps" {
            return Err(format!(
                "unknown scheme {scheme:?}; use smtp:// (STARTTLS) or smtps:// (TLS)"
            ));
        }
        let host = match url.host_str() {
            Some(h) if !h.is_empty() => h.trim_start_matches('[').trim_end_matches(']'),
            _ => return Err("no host (smtp://host:587)".into()),
        };

        let mut tls_param = None;
        for (key, value) in url.query_pairs() {
            match key.as_ref() {
                "tls" if tls_param.is_none() => tls_param = Some(value.into_owned()),
                "tls" => return Err("tls is given twice".into()),
                other => return Err(format!("unknown parameter {other:?} (only tls is known)")),
            }
        }
        let implicit_tls = scheme == "smtps";
        // Without `tls=`: STARTTLS is required when credentials would cross the wire, and
        // used when offered otherwise, so a local relay or test catcher without TLS
        // (`smtp://127.0.0.1:1025`) works as written.
        let has_credentials = !url.username().is_empty();
        let tls = match (implicit_tls, tls_param.as_deref()) {
            (false, None) if !has_credentials => TlsMode::Opportunistic,
            (false, None | Some("required")) => TlsMode::Required,
            (false, Some("opportunistic")) => TlsMode::Opportunistic,
            (false, Some("none")) => TlsMode::None,
            (false, Some(other)) => {
                return Err(format!(
                    "tls={other:?} is not one of required, opportunistic, none"
                ))
            }
            (true, None) => TlsMode::Wrapper,
            (true, Some(other)) => {
                return Err(format!(
                    "tls={other} does not apply to smtps:// (TLS from the start); \
                     use smtp://…?tls={other}"
                ))
            }
        };
        let port = match url.port() {
            Some(0) => return Err("port 0 is not a port".into()),
            Some(p) => p,
            None => match tls {
                TlsMode::Wrapper => 465,
                TlsMode::None => 25,
                TlsMode::Required | TlsMode::Opportunistic => 587,
            },
        };

        let decode = |part: &str, what: &str| {
            percent_decode(part)
                .ok_or_else(|| format!("the {what} is not valid percent-encoded UTF-8"))
        };
        let credentials = match (url.username(), url.password()) {
            ("", None) => None,
            (user, Some(password)) => Some((decode(user, "user")?, decode(password, "password")?)),
            (_, None) => return Err("a user needs a password (smtp://user:pass@host)".into()),
        };
        let hello_name = Some(url.path().trim_matches('/'))
            .filter(|p| !p.is_empty())
            .map(str::to_string);

        Ok(SmtpSettings {
            host: host.to_string(),
            port,
            tls,
            credentials,
            hello_name,
        })
    }

    /// A transport for these settings, keeping up to `connections` connections for sends in
    /// parallel; connecting, and then each read or write, may take `timeout` before the
    /// attempt fails. Nothing is contacted yet.
    pub fn transport(&self, connections: u32, timeout: Duration) -> Result<SmtpTransport, String> {
        let tls_parameters = || {
            TlsParameters::new(self.host.clone()).map_err(|e| format!("TLS for {}: {e}", self.host))
        };
        let tls = match self.tls {
            TlsMode::None => Tls::None,
            TlsMode::Opportunistic => Tls::Opportunistic(tls_parameters()?),
            TlsMode::Required => Tls::Required(tls_parameters()?),
            TlsMode::Wrapper => Tls::Wrapper(tls_parameters()?),
        };
        // lettre always pools with its `pool` feature: a parked connection per delivery
        // worker at most, let go when idle.
        let pool = PoolConfig::new()
            .min_idle(0)
            .max_size(connections.max(1))
            .idle_timeout(Duration::from_secs(30));
        let mut builder = SmtpTransport::builder_dangerous(self.host.as_str())
            .port(self.port)
            .tls(tls)
            .timeout(Some(timeout))
            .pool_config(pool);
        if let Some((user, password)) = &self.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        if let Some(name) = &self.hello_name {
            builder = builder.hello_name(ClientId::Domain(name.clone()));
        }
        Ok(builder.build())
    }
}

/// Strict `%XX` decoding (lettre does the same to URL credentials); `None` for a broken
/// escape or bytes that are not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The MIME message: a text part and the attachment, which is always base64 so its bytes
/// arrive exactly as written (no line-ending rewriting).
pub fn build_message(msg: &Outgoing) -> Result<Message, SendError> {
    let from: Mailbox = msg
        .from
        .parse()
        .map_err(|e| SendError::Permanent(format!("sender {:?}: {e}", msg.from)))?;
    if msg.to.is_empty() {
        return Err(SendError::Permanent("no recipients".into()));
    }
    let mut builder = Message::builder()
        .from(from)
        .subject(msg.subject.as_str())
        .message_id(Some(msg.message_id.clone()))
        .date_now();
    for to in &msg.to {
        let mailbox: Mailbox = to
            .parse()
            .map_err(|e| SendError::Permanent(format!("recipient {to:?}: {e}")))?;
        builder = builder.to(mailbox);
    }
    let built = match (&msg.attachment, &msg.html) {
        (None, None) => builder.singlepart(SinglePart::plain(msg.body.clone())),
        (None, Some(html)) => builder.multipart(MultiPart::alternative_plain_html(
            msg.body.clone(),
            html.clone(),
        )),
        (Some(attachment), _) => {
            let content_type = ContentType::parse(&attachment.content_type).map_err(|e| {
                SendError::Permanent(format!(
                    "attachment content type {:?}: {e}",
                    attachment.content_type
                ))
            })?;
            let text = match &msg.html {
                Some(html) => MultiPart::alternative_plain_html(msg.body.clone(), html.clone()),
                None => MultiPart::mixed().singlepart(SinglePart::plain(msg.body.clone())),
            };
            let body = match &msg.html {
                Some(_) => MultiPart::mixed().multipart(text),
                None => text,
            };
            builder.multipart(
                body.singlepart(
                    lettre::message::Attachment::new(attachment.file_name.clone())
                        .body(attachment.bytes.clone(), content_type),
                ),
            )
        }
    };
    built.map_err(|e| SendError::Permanent(format!("building the message: {e}")))
}

pub fn send_smtp(
    transport: &SmtpTransport,
    server: &str,
    message: &Message,
) -> Result<(), SendError> {
    transport
        .send(message)
        .map(|_| ())
        .map_err(|e| classify(server, &e))
}

/// What went wrong, reduced to what decides between retrying and giving up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The server answered with a negative reply code.
    Reply { code: u16, text: String },
    /// lettre refused to go on: the server lacks what the configuration requires
    /// (STARTTLS, an AUTH mechanism, 8BITMIME) or the message cannot be sent as is.
    Client(String),
    /// The server could not be reached at all (connection refused, no such address):
    /// nothing was sent.
    Unreached(String),
    /// Reading or writing failed, timed out, or the reply was garbled, once connected (or
    /// connecting timed out, which cannot be told apart): the server may have the message.
    Network(String),
}

/// 4xx and an unreachable server are temporary; network trouble is temporary with an
/// unknown outcome; 5xx and client refusals are permanent.
/// `server` (`host:port`) is named in errors that are not the server's own words.
pub fn classify_failure(server: &str, failure: Failure) -> SendError {
    match failure {
        Failure::Reply { code, text } => {
            let message = if text.is_empty() {
                code.to_string()
            } else {
                format!("{code} {text}")
            };
            if (500..600).contains(&code) {
                SendError::Permanent(message)
            } else {
                SendError::Temporary(message)
            }
        }
        Failure::Client(text) => SendError::Permanent(format!("{server}: {text}")),
        Failure::Unreached(text) => SendError::Temporary(format!("{server}: {text}")),
        Failure::Network(text) => SendError::Unknown(format!("{server}: {text}")),
    }
}

pub fn classify(server: &str, err: &lettre::transport::smtp::Error) -> SendError {
    classify_failure(server, failure_of(err))
}

fn failure_of(err: &lettre::transport::smtp::Error) -> Failure {
    if let Some(code) = err.status() {
        // The source of a reply error is the server's text (all lines joined).
        let text = std::error::Error::source(err)
            .map(|s| s.to_string())
            .unwrap_or_default();
        let code = code
            .to_string()
            .parse()
            .unwrap_or(if err.is_permanent() { 500 } else { 400 });
        return Failure::Reply { code, text };
    }
    if err.is_client() {
        Failure::Client(err.to_string())
    } else if never_connected(err) {
        Failure::Unreached(err.to_string())
    } else {
        Failure::Network(err.to_string())
    }
}

/// Whether an error's causes show that no connection was ever made.
fn never_connected(err: &(dyn std::error::Error + 'static)) -> bool {
    use std::io::ErrorKind;
    let mut cause = Some(err);
    while let Some(e) = cause {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if matches!(
                io.kind(),
                ErrorKind::ConnectionRefused
                    | ErrorKind::AddrNotAvailable
                    | ErrorKind::HostUnreachable
                    | ErrorKind::NetworkUnreachable
            ) {
                return true;
            }
        }
        cause = e.source();
    }
    false
}

/// Writes the message to `<dir>/<message id>.eml` through a temporary file and a rename,
/// so a reader never sees half a message and a resend replaces the earlier file.
pub fn write_outbox(dir: &Path, message_id: &str, message: &Message) -> Result<(), SendError> {
    let path = outbox_path(dir, message_id)?;
    let io = |e: std::io::Error| SendError::Temporary(format!("outbox {}: {e}", path.display()));
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut file = tempfile::Builder::new()
        .prefix(".")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io)?;
    file.write_all(&message.formatted()).map_err(io)?;
    file.as_file().sync_all().map_err(io)?;
    file.persist(&path).map_err(|e| io(e.error))?;
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io)?;
    Ok(())
}

/// The outbox file for a message id: `<abc@callcsv>` → `abc@callcsv.eml`; anything but
/// letters, digits and `.-_@+=` becomes `_`, so an id can never name another folder.
pub fn outbox_path(dir: &Path, message_id: &str) -> Result<PathBuf, SendError> {
    let name: String = message_id
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_@+=".contains(c) || c == '.' {
                c
            } else {
                '_'
            }
        })
        .take(200)
        .collect();
    if name.is_empty() || name.starts_with('.') {
        return Err(SendError::Permanent(format!(
            "message id {message_id:?} cannot name an outbox file"
        )));
    }
    Ok(dir.join(format!("{name}.eml")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(raw: &str) -> SmtpSettings {
        SmtpSettings::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"))
    }

    #[test]
    fn smtp_defaults_to_starttls_on_587() {
        let s = parsed("smtp://user:pw@mail.example.com");
        assert_eq!(
            (s.host.as_str(), s.port, s.tls),
            ("mail.example.com", 587, TlsMode::Required)
        );
        // Without credentials STARTTLS is used when the server offers it.
        let s = parsed("smtp://mail.example.com");
        assert_eq!((s.port, s.tls), (587, TlsMode::Opportunistic));
        assert_eq!(s.credentials, None);
        let s = parsed("smtp://mail.example.com:2587?tls=required");
        assert_eq!((s.port, s.tls), (2587, TlsMode::Required));
    }

    #[test]
    fn credentials_are_percent_decoded() {
        let s = parsed("smtp://us%40er:p%3Ass%20w+rd%2F@mail.example.com:587");
        assert_eq!(
            s.credentials,
            Some(("us@er".to_string(), "p:ss w+rd/".to_string()))
        );
        // The password never shows in Debug output.
        assert!(!format!("{s:?}").contains("p:ss"));
    }

    #[test]
    fn plain_and_opportunistic_forms() {
        let s = parsed("smtp://relay.local?tls=none");
        assert_eq!((s.port, s.tls), (25, TlsMode::None));
        let s = parsed("smtp://127.0.0.1:2525?tls=none");
        assert_eq!((s.host.as_str(), s.port), ("127.0.0.1", 2525));
        let s = parsed("smtp://relay.local?tls=opportunistic");
        assert_eq!((s.port, s.tls), (587, TlsMode::Opportunistic));
    }

    #[test]
    fn smtps_is_implicit_tls_on_465() {
        let s = parsed("smtps://u:p@mail.example.com");
        assert_eq!((s.port, s.tls), (465, TlsMode::Wrapper));
        let s = parsed("smtps://mail.example.com:4650");
        assert_eq!(s.port, 4650);
    }

    #[test]
    fn ehlo_name_comes_from_the_path() {
        assert_eq!(
            parsed("smtp://h:25/callcsv.example.com?tls=none").hello_name,
            Some("callcsv.example.com".into())
        );
        assert_eq!(parsed("smtp://h:25/?tls=none").hello_name, None);
    }

    #[test]
    fn bad_urls_are_explained() {
        let err = |raw: &str| SmtpSettings::parse(raw).unwrap_err();
        assert!(err("http://mail.example.com").contains("unknown scheme"));
        assert!(err("mail.example.com:25").contains("scheme"));
        assert!(err("smtp://mail.example.com:99999").contains("URL"));
        assert!(err("smtp://mail.example.com:port").contains("URL"));
        assert!(err("smtp://mail.example.com:0").contains("port 0"));
        assert!(err("smtp://mail.example.com?tls=maybe").contains("maybe"));
        assert!(err("smtps://mail.example.com?tls=none").contains("smtps"));
        assert!(err("smtp://mail.example.com?tsl=none").contains("tsl"));
        assert!(err("smtp://user@mail.example.com").contains("password"));
        assert!(err("smtp://u:%ZZ@mail.example.com").contains("password"));
        assert!(err("smtp://").contains("host"));
    }

    #[test]
    fn every_valid_form_builds_a_transport() {
        for raw in [
            "smtp://u:p@mail.example.com",
            "smtp://mail.example.com?tls=opportunistic",
            "smtp://127.0.0.1:25?tls=none",
            "smtps://mail.example.com",
        ] {
            assert!(
                parsed(raw).transport(1, Duration::from_secs(30)).is_ok(),
                "{raw}"
            );
        }
    }

    #[test]
    fn replies_are_classified_by_their_first_digit() {
        let reply = |code: u16, text: &str| {
            classify_failure(
                "h:25",
                Failure::Reply {
                    code,
                    text: text.into(),
                },
            )
        };
        assert_eq!(
            reply(451, "4.3.0 try again later"),
            SendError::Temporary("451 4.3.0 try again later".into())
        );
        assert_eq!(
            reply(421, "4.7.0 closing"),
            SendError::Temporary("421 4.7.0 closing".into())
        );
        assert_eq!(
            reply(550, "5.1.1 mailbox unavailable"),
            SendError::Permanent("550 5.1.1 mailbox unavailable".into())
        );
        assert_eq!(reply(554, ""), SendError::Permanent("554".into()));
    }

    #[test]
    fn network_trouble_is_temporary_and_client_refusals_permanent() {
        let e = classify_failure("h:587", Failure::Unreached("Connection refused".into()));
        assert_eq!(e, SendError::Temporary("h:587: Connection refused".into()));
        let e = classify_failure("h:587", Failure::Network("timed out".into()));
        assert_eq!(e, SendError::Unknown("h:587: timed out".into()));
        assert!(e.may_have_been_delivered() && !e.is_permanent());
        let e = classify_failure(
            "h:587",
            Failure::Client("STARTTLS is not supported on this server".into()),
        );
        assert!(e.is_permanent(), "{e}");
        assert_eq!(
            e.to_string(),
            "h:587: STARTTLS is not supported on this server"
        );
    }

    #[test]
    fn a_refused_connection_is_temporary() {
        // A port that was just free: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let settings = parsed(&format!("smtp://127.0.0.1:{port}?tls=none"));
        let msg = Outgoing {
            from: "a@example.com".into(),
            to: vec!["b@example.com".into()],
            subject: "s".into(),
            body: "b".into(),
            html: None,
            message_id: "<x@callcsv>".into(),
            attachment: Some(super::super::Attachment {
                file_name: "r.csv".into(),
                content_type: "text/csv".into(),
                bytes: b"a,b\n".to_vec(),
            }),
        };
        let message = build_message(&msg).unwrap();
        let server = format!("127.0.0.1:{port}");
        let err = send_smtp(
            &settings.transport(1, Duration::from_secs(30)).unwrap(),
            &server,
            &message,
        )
        .unwrap_err();
        match err {
            SendError::Temporary(text) => assert!(text.starts_with(&server), "{text}"),
            other => panic!("expected temporary, got {other:?}"),
        }
    }

    #[test]
    fn unusable_addresses_are_permanent() {
        let mut msg = Outgoing {
            from: "not an address".into(),
            to: vec!["b@example.com".into()],
            subject: "s".into(),
            body: "b".into(),
            html: None,
            message_id: "<x@callcsv>".into(),
            attachment: Some(super::super::Attachment {
                file_name: "r.csv".into(),
                content_type: "text/csv".into(),
                bytes: vec![],
            }),
        };
        assert!(build_message(&msg).unwrap_err().is_permanent());
        msg.from = "Ops <ops@example.com>".into();
        msg.to = vec!["b@example.com".into(), "nope".into()];
        let err = build_message(&msg).unwrap_err();
        assert!(
            err.is_permanent() && err.message().contains("nope"),
            "{err}"
        );
        msg.to = vec![];
        assert!(build_message(&msg).unwrap_err().is_permanent());
    }

    #[test]
    fn outbox_names_cannot_escape_the_folder() {
        let dir = Path::new("/tmp/outbox");
        assert_eq!(
            outbox_path(dir, "<report-1@callcsv>").unwrap(),
            dir.join("report-1@callcsv.eml")
        );
        assert_eq!(
            outbox_path(dir, "<a/../b c@callcsv>").unwrap(),
            dir.join("a_.._b_c@callcsv.eml")
        );
        assert!(outbox_path(dir, "<../../etc/passwd>").is_err());
        assert!(outbox_path(dir, "<>").is_err());
    }
}
