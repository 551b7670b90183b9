//! Report and alert emails: [`compose`] turns a template into a subject, body and sender, and [`Mailer`] delivers the message, over SMTP or into the outbox folder when no
//! SMTP server is configured. Sending is blocking: the runner calls it on a worker thread.

pub mod compose;
pub mod transport;

use std::fmt;
use std::path::PathBuf;

use lettre::SmtpTransport;

use crate::config::Config;

/// The file attached to a report email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub file_name: String,
    /// A full MIME type, e.g. `text/csv; charset=utf-8` or `application/gzip`.
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// One message, addressed to all of its recipients at once.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// `Name <addr>` or `addr`.
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    /// Plain UTF-8 text.
    pub body: String,
    /// The same as HTML (a digest's tables), sent as an alternative to `body`.
    pub html: Option<String>,
    /// Fixed per report (`<report-uuid@callcsv>`), so a resend is recognisably the same
    /// message and the outbox overwrites instead of duplicating.
    pub message_id: String,
    /// A report's CSV; alert emails have none.
    pub attachment: Option<Attachment>,
}

/// Why a message was not delivered. The text is the server's reply (`550 5.1.1 …`) or the
/// OS's/client's error, fit for `emailError` and `lastExecutionError`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Worth retrying later, and nothing was delivered: 4xx replies, a refused connection,
    /// outbox I/O.
    Temporary(String),
    /// Worth retrying later, but the server may have accepted the message already: the
    /// connection broke or timed out without a reply after it was opened. The retry is
    /// flagged as a possible duplicate.
    Unknown(String),
    /// Retrying cannot help: 5xx replies, unusable addresses, a server that cannot do what
    /// the configuration demands (no STARTTLS, no matching AUTH mechanism).
    Permanent(String),
}

impl SendError {
    pub fn message(&self) -> &str {
        match self {
            SendError::Temporary(m) | SendError::Unknown(m) | SendError::Permanent(m) => m,
        }
    }

    pub fn is_permanent(&self) -> bool {
        matches!(self, SendError::Permanent(_))
    }

    /// Whether the message may have been delivered although the send failed.
    pub fn may_have_been_delivered(&self) -> bool {
        matches!(self, SendError::Unknown(_))
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for SendError {}

/// Where messages go: an SMTP server, or `.eml` files in the outbox folder.
#[derive(Clone)]
pub enum Mailer {
    Smtp {
        transport: SmtpTransport,
        /// `host:port`, named in connection errors.
        server: String,
    },
    Outbox(PathBuf),
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mailer::Smtp { server, .. } => write!(f, "Mailer::Smtp({server})"),
            Mailer::Outbox(dir) => write!(f, "Mailer::Outbox({})", dir.display()),
        }
    }
}

impl Mailer {
    /// The mailer the configuration asks for; an unusable `CALLCSV_SMTP_URL` is an error
    /// here, at start-up, rather than at the first report.
    pub fn from_config(config: &Config) -> Result<Mailer, String> {
        match &config.smtp_url {
            Some(url) => {
                let settings = transport::SmtpSettings::parse(&url.0)
                    .map_err(|e| format!("CALLCSV_SMTP_URL: {e}"))?;
                let server = format!("{}:{}", settings.host, settings.port);
                let transport = settings
                    .transport(
                        config.mail_concurrency as u32,
                        std::time::Duration::from_secs(config.mail_send_timeout_seconds),
                    )
                    .map_err(|e| format!("CALLCSV_SMTP_URL: {e}"))?;
                Ok(Mailer::Smtp { transport, server })
            }
            None => Ok(Mailer::Outbox(config.outbox_dir())),
        }
    }

    /// Delivers `msg`, blocking until the server accepted or refused it.
    pub fn send(&self, msg: &Outgoing) -> Result<(), SendError> {
        let message = transport::build_message(msg)?;
        match self {
            Mailer::Smtp { transport, server } => transport::send_smtp(transport, server, &message),
            Mailer::Outbox(dir) => transport::write_outbox(dir, &msg.message_id, &message),
        }
    }
}
