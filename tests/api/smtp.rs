//! An SMTP server for tests, in-process on 127.0.0.1: enough of RFC 5321 for lettre
//! (EHLO/HELO, MAIL, RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT; no STARTTLS, no
//! AUTH), keeping every accepted message, with failure injection for the retry paths.
//! [`parse_mail`] reads a message back: headers, text body, attachment.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use mail_parser::{MessageParser, MimeHeaders};

/// One accepted message: the envelope and the bytes after DATA (dot-unstuffed, CRLF line
/// ends, without the final `.` line).
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: Vec<u8>,
}

impl Received {
    pub fn parsed(&self) -> ParsedMail {
        parse_mail(&self.data)
    }
}

/// What the server does differently in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Injected {
    /// Answer MAIL FROM with this reply.
    RefuseSender(String),
    /// Take the whole message, then answer this reply instead of keeping it.
    RefuseData(String),
    /// Keep the message, wait, then accept it.
    SlowAccept(Duration),
    /// Keep the message, then close the connection without a reply.
    KeepAndHangUp,
}

#[derive(Default)]
struct Shared {
    received: Vec<Received>,
    /// What the next transactions do, used up one per transaction.
    failures: VecDeque<Injected>,
    /// Clones of the open connections, to close them when the server is dropped.
    open: Vec<TcpStream>,
    connections: usize,
}

pub struct SmtpServer {
    addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
}

impl SmtpServer {
    /// Listens on a free port of 127.0.0.1, serving each connection on its own thread.
    pub fn start() -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the test SMTP server");
        let addr = listener.local_addr().expect("local address");
        let shared = Arc::new(Mutex::new(Shared::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (shared_, stop_) = (Arc::clone(&shared), Arc::clone(&stop));
        std::thread::Builder::new()
            .name("test-smtp-accept".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    if stop_.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    {
                        let mut s = lock(&shared_);
                        s.connections += 1;
                        if let Ok(clone) = stream.try_clone() {
                            s.open.push(clone);
                        }
                    }
                    let shared = Arc::clone(&shared_);
                    let _ = std::thread::Builder::new()
                        .name("test-smtp-session".into())
                        .spawn(move || {
                            // A dropped client is the end of a session, not a test failure.
                            let _ = session(stream, &shared);
                        });
                }
            })
            .expect("spawn the test SMTP server");
        SmtpServer { addr, shared, stop }
    }

    /// `smtp://127.0.0.1:<port>?tls=none`, for `CALLCSV_SMTP_URL`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=none", self.addr.port())
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The messages accepted so far, oldest first.
    pub fn messages(&self) -> Vec<Received> {
        lock(&self.shared).received.clone()
    }

    /// How many connections were accepted so far.
    pub fn connections(&self) -> usize {
        lock(&self.shared).connections
    }

    /// Waits until at least `n` messages arrived, or `timeout` passed; returns what
    /// arrived either way (so a test can also check that no more than `n` came).
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let messages = self.messages();
            if messages.len() >= n || Instant::now() >= deadline {
                return messages;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The next `n` transactions are answered at MAIL FROM with `reply`
    /// (`"451 4.3.0 try again later"`, `"550 5.1.1 mailbox unavailable"`); then the server
    /// accepts again.
    pub fn fail_next(&self, n: usize, reply: &str) {
        check_failure_reply(reply);
        self.inject(n, Injected::RefuseSender(reply.to_string()));
    }

    /// Like [`SmtpServer::fail_next`], but the reply comes after the whole message was
    /// transmitted (at the end of DATA), and the message is not kept.
    pub fn fail_next_data(&self, n: usize, reply: &str) {
        check_failure_reply(reply);
        self.inject(n, Injected::RefuseData(reply.to_string()));
    }

    /// The next `n` messages are kept, but accepted only after `delay`.
    pub fn slow_next_data(&self, n: usize, delay: Duration) {
        self.inject(n, Injected::SlowAccept(delay));
    }

    /// The next `n` messages are kept, then the connection closes without a reply: the
    /// sender cannot know the message arrived.
    pub fn hang_up_after_next_data(&self, n: usize) {
        self.inject(n, Injected::KeepAndHangUp);
    }

    fn inject(&self, n: usize, what: Injected) {
        lock(&self.shared)
            .failures
            .extend(std::iter::repeat_n(what, n));
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        for stream in lock(&self.shared).open.drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

fn check_failure_reply(reply: &str) {
    assert!(
        reply.len() > 4 && (reply.starts_with('4') || reply.starts_with('5')),
        "a failure reply is a 4xx or 5xx line: {reply:?}"
    );
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// The text between `<` and `>` after `MAIL FROM:` / `RCPT TO:`.
fn path_argument(line: &str) -> Option<String> {
    let start = line.find('<')?;
    let end = start + line[start..].find('>')?;
    Some(line[start + 1..end].to_string())
}

fn session(stream: TcpStream, shared: &Mutex<Shared>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
    let mut out = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut reply = |text: &str| out.write_all(format!("{text}\r\n").as_bytes());

    reply("220 callcsv-test ESMTP ready")?;
    let mut from: Option<String> = None;
    let mut to: Vec<String> = Vec::new();
    // What this transaction does differently at the end of DATA, if anything.
    let mut data_failure: Option<Injected> = None;
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        let verb = text
            .split([' ', ':'])
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => {
                reply("250-callcsv-test\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 104857600")?
            }
            "HELO" => reply("250 callcsv-test")?,
            "MAIL" => {
                let failure = lock(shared).failures.pop_front();
                from = None;
                to.clear();
                data_failure = None;
                match failure {
                    Some(Injected::RefuseSender(failure)) => reply(&failure)?,
                    other => match path_argument(text) {
                        Some(address) => {
                            from = Some(address);
                            data_failure = other;
                            reply("250 2.1.0 sender ok")?
                        }
                        None => reply("501 5.5.4 syntax: MAIL FROM:<address>")?,
                    },
                }
            }
            "RCPT" => match (&from, path_argument(text)) {
                (None, _) => reply("503 5.5.1 MAIL first")?,
                (Some(_), Some(address)) => {
                    to.push(address);
                    reply("250 2.1.5 recipient ok")?
                }
                (Some(_), None) => reply("501 5.5.4 syntax: RCPT TO:<address>")?,
            },
            "DATA" => {
                if from.is_none() || to.is_empty() {
                    reply("503 5.5.1 RCPT first")?;
                    continue;
                }
                reply("354 end data with <CR><LF>.<CR><LF>")?;
                let data = read_data(&mut reader)?;
                let injected = data_failure.take();
                if let Some(Injected::RefuseData(failure)) = &injected {
                    reply(failure)?;
                } else {
                    lock(shared).received.push(Received {
                        from: from.take().unwrap_or_default(),
                        to: std::mem::take(&mut to),
                        data,
                    });
                    match injected {
                        Some(Injected::KeepAndHangUp) => {
                            let _ = reader.get_ref().shutdown(Shutdown::Both);
                            return Ok(());
                        }
                        Some(Injected::SlowAccept(delay)) => std::thread::sleep(delay),
                        _ => {}
                    }
                    reply("250 2.0.0 queued")?
                }
                from = None;
                to.clear();
            }
            "RSET" => {
                from = None;
                to.clear();
                data_failure = None;
                reply("250 2.0.0 reset")?
            }
            "NOOP" => reply("250 2.0.0 ok")?,
            "QUIT" => {
                reply("221 2.0.0 bye")?;
                return Ok(());
            }
            _ => reply("502 5.5.2 command not implemented")?,
        }
    }
}

/// The message lines up to the lone `.`, with the leading dot of `..` lines removed.
fn read_data(reader: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let mut data = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if line == b".\r\n" || line == b".\n" {
            return Ok(data);
        }
        let unstuffed = if line.starts_with(b".") {
            &line[1..]
        } else {
            &line[..]
        };
        data.extend_from_slice(unstuffed);
    }
}

/// What a test wants to know about a message.
#[derive(Debug, Clone)]
pub struct ParsedMail {
    pub subject: String,
    /// The From header's address.
    pub from: String,
    /// The To header's addresses.
    pub to: Vec<String>,
    /// With its angle brackets, as sent: `<report-…@callcsv>`.
    pub message_id: String,
    /// The text/plain body, line ends as `\n`.
    pub body: String,
    /// The text/html part, when the message has one.
    pub html: Option<String>,
    pub attachment_name: Option<String>,
    /// `type/subtype` of the attachment.
    pub attachment_type: Option<String>,
    /// The attachment's bytes as attached (transfer encoding undone).
    pub attachment_raw: Option<Vec<u8>>,
    /// The attachment's content: `attachment_raw`, gunzipped when the name ends in `.gz`.
    pub attachment: Option<Vec<u8>>,
}

pub fn parse_mail(raw: &[u8]) -> ParsedMail {
    let message = MessageParser::default()
        .parse(raw)
        .expect("a parsable message");
    let to = message
        .to()
        .map(|a| {
            a.iter()
                .filter_map(|addr| addr.address().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let from = message
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .unwrap_or_default()
        .to_string();
    let part = message.attachment(0);
    let attachment_name = part.and_then(|p| p.attachment_name()).map(str::to_string);
    let attachment_type = part
        .and_then(|p| p.content_type())
        .map(|ct| match ct.subtype() {
            Some(sub) => format!("{}/{sub}", ct.ctype()),
            None => ct.ctype().to_string(),
        });
    let attachment_raw = part.map(|p| p.contents().to_vec());
    let attachment = attachment_raw.as_ref().map(|bytes| {
        if attachment_name
            .as_deref()
            .is_some_and(|n| n.ends_with(".gz"))
        {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&bytes[..])
                .read_to_end(&mut out)
                .expect("the .gz attachment is gzip");
            out
        } else {
            bytes.clone()
        }
    });
    ParsedMail {
        subject: message.subject().unwrap_or_default().to_string(),
        from,
        to,
        message_id: message
            .message_id()
            .map(|id| format!("<{id}>"))
            .unwrap_or_default(),
        body: message
            .body_text(0)
            .map(|b| b.replace("\r\n", "\n"))
            .unwrap_or_default(),
        html: message
            .parts
            .iter()
            .find(|p| {
                p.content_type()
                    .is_some_and(|ct| ct.ctype() == "text" && ct.subtype() == Some("html"))
            })
            .and_then(|p| p.text_contents())
            .map(str::to_string),
        attachment_name,
        attachment_type,
        attachment_raw,
        attachment,
    }
}
