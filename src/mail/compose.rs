//! What an email says and who it is from: the template of its scheduler or alert rule (or
//! the brand's, or the global one, or the built-in English text) with its variables
//! (`${CALLCSV_…}` for reports, `${ALERT_…}` for alerts) filled in, and a report's CSV file
//! as an attachment, gzip-compressed when it is large.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use chrono::NaiveDate;
use diesel::prelude::*;

use super::Attachment;
use crate::db::notification_templates::{
    self, pick_content, NotificationTemplate, TemplateContent,
};
use crate::db::schema::notification_templates as templates;
use crate::db::DbConnection;
use crate::error::AppResult;

pub const DEFAULT_SUBJECT: &str = "New call report";
pub const DEFAULT_BODY: &str = "Greetings ${CALLCSV_COMPANY}!\n\nYou already have your call report for the period ${CALLCSV_DATE_IN} - ${CALLCSV_DATE_OUT} available.\n\nCheck out attached file for further details.";

/// The values the variables stand for.
#[derive(Debug, Clone)]
pub struct ReportContext {
    /// The client's name; empty for a brand-wide report.
    pub company: String,
    pub brand: String,
    pub scheduler: String,
    /// First covered local day.
    pub date_in: NaiveDate,
    /// Last covered local day.
    pub date_out: NaiveDate,
    pub rows: i64,
}

/// What an email's variables stand for.
pub trait Variables {
    /// The value of `${name}`; `None` leaves the text as written.
    fn value(&self, name: &str) -> Option<String>;
}

impl Variables for ReportContext {
    fn value(&self, name: &str) -> Option<String> {
        Some(match name {
            "CALLCSV_COMPANY" => self.company.clone(),
            "CALLCSV_BRAND" => self.brand.clone(),
            "CALLCSV_SCHEDULER" => self.scheduler.clone(),
            "CALLCSV_DATE_IN" => self.date_in.format("%Y-%m-%d").to_string(),
            "CALLCSV_DATE_OUT" => self.date_out.format("%Y-%m-%d").to_string(),
            "CALLCSV_ROWS" => self.rows.to_string(),
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The template's sender (`fromName <fromAddress>`), when it names an address.
    pub from: Option<String>,
    pub subject: String,
    pub body: String,
}

/// A report email's subject and body with the variables replaced; the built-in English
/// text when there is no template content.
pub fn render(content: Option<&TemplateContent>, ctx: &ReportContext) -> Rendered {
    render_with(content, (DEFAULT_SUBJECT, DEFAULT_BODY), ctx)
}

/// Subject and body of `content` (else of `default`) with `ctx`'s variables replaced.
pub fn render_with(
    content: Option<&TemplateContent>,
    default: (&str, &str),
    ctx: &dyn Variables,
) -> Rendered {
    let (subject, body) = match content {
        Some(c) => (c.subject.as_str(), c.body.as_str()),
        None => default,
    };
    Rendered {
        from: content.and_then(template_sender),
        // A subject is one line, whatever the variables held.
        subject: substitute(subject, ctx).replace(['\r', '\n'], " "),
        body: substitute(body, ctx),
    }
}

/// Replaces `${NAME}` for the known names in one pass, so a value that itself looks like a
/// variable (a client called `${CALLCSV_ROWS}`) is left as written. Unknown names stay.
fn substitute(text: &str, ctx: &dyn Variables) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after
            .find('}')
            .and_then(|end| Some((end, ctx.value(&after[..end])?)))
        {
            Some((end, value)) => {
                out.push_str(&value);
                rest = &after[end + 1..];
            }
            None => {
                out.push_str("${");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `fromName <fromAddress>`, quoted as needed, or the bare address.
fn template_sender(content: &TemplateContent) -> Option<String> {
    let address = content.from_address.as_deref().map(str::trim)?;
    if address.is_empty() {
        return None;
    }
    let name = content
        .from_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    Some(match (name, address.parse::<lettre::Address>()) {
        (Some(name), Ok(addr)) => {
            lettre::message::Mailbox::new(Some(name.into()), addr).to_string()
        }
        (Some(name), Err(_)) => format!("{name} <{address}>"),
        (None, _) => address.to_string(),
    })
}

/// The sender: the template's, else the brand's address, else the configured default.
pub fn sender(
    rendered_from: Option<String>,
    brand_email: Option<&str>,
    default_from: &str,
) -> String {
    if let Some(from) = rendered_from.filter(|f| !f.trim().is_empty()) {
        return from;
    }
    match brand_email.map(str::trim).filter(|e| !e.is_empty()) {
        Some(email) => email.to_string(),
        None => default_from.to_string(),
    }
}

/// The template type of report emails.
pub const CALL_CSV: &str = "callCsv";
/// The template type of alert emails.
pub const ALERT: &str = "alert";

/// The template content of type `template_type` for an email of `brand_id` in `language`
/// (the client's, else the brand's): `own` (the scheduler's or rule's template), else the
/// brand's earliest template of the type, else the earliest global one; `None` means the
/// built-in text.
pub fn choose_content(
    conn: &mut DbConnection,
    own: Option<&str>,
    brand_id: &str,
    template_type: &str,
    language: &str,
) -> AppResult<Option<TemplateContent>> {
    let own = match own {
        Some(id) => notification_templates::find(conn, id)?,
        None => None,
    };
    let template = match own {
        Some(t) => Some(t),
        None => match earliest_of(conn, template_type, Some(brand_id))? {
            Some(t) => Some(t),
            None => earliest_of(conn, template_type, None)?,
        },
    };
    let Some(template) = template else {
        return Ok(None);
    };
    let contents = template.contents()?;
    Ok(pick_content(&contents, language).cloned())
}

/// The brand's (or, with `None`, the global) default template of a type: the earliest made.
fn earliest_of(
    conn: &mut DbConnection,
    template_type: &str,
    brand_id: Option<&str>,
) -> AppResult<Option<NotificationTemplate>> {
    use templates::dsl as t;
    let mut query = templates::table
        .filter(t::template_type.eq(template_type.to_string()))
        .into_boxed();
    query = match brand_id {
        Some(b) => query.filter(t::brand_id.eq(b.to_string())),
        None => query.filter(t::brand_id.is_null()),
    };
    Ok(query
        .order_by((t::created_at.asc(), t::id.asc()))
        .select(NotificationTemplate::as_select())
        .first(conn)
        .optional()?)
}

/// The CSV at `path` as an attachment named `file_name`; above `gzip_above` bytes it is
/// gzip-compressed into `<file_name>.gz`.
pub fn attachment_for(path: &Path, file_name: &str, gzip_above: u64) -> io::Result<Attachment> {
    let mut file = File::open(path)?;
    let size = file.metadata()?.len();
    if size > gzip_above {
        let mut encoder =
            flate2::read::GzEncoder::new(io::BufReader::new(file), flate2::Compression::default());
        let mut bytes = Vec::with_capacity((size / 8) as usize);
        encoder.read_to_end(&mut bytes)?;
        Ok(Attachment {
            file_name: format!("{file_name}.gz"),
            content_type: "application/gzip".into(),
            bytes,
        })
    } else {
        let mut bytes = Vec::with_capacity(size as usize);
        file.read_to_end(&mut bytes)?;
        Ok(Attachment {
            file_name: file_name.to_string(),
            content_type: "text/csv; charset=utf-8".into(),
            bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(company: &str) -> ReportContext {
        ReportContext {
            company: company.into(),
            brand: "Acme Telecom".into(),
            scheduler: "Monthly".into(),
            date_in: NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
            date_out: NaiveDate::from_ymd_opt(2026, 10, 31).unwrap(),
            rows: 1234,
        }
    }

    fn content(subject: &str, body: &str) -> TemplateContent {
        TemplateContent {
            language: "en".into(),
            from_name: None,
            from_address: None,
            subject: subject.into(),
            body: body.into(),
        }
    }

    #[test]
    fn every_variable_is_replaced() {
        let c = content(
            "${CALLCSV_BRAND}: ${CALLCSV_SCHEDULER} ${CALLCSV_DATE_IN}..${CALLCSV_DATE_OUT}",
            "${CALLCSV_COMPANY} has ${CALLCSV_ROWS} calls; ${CALLCSV_COMPANY} again",
        );
        let r = render(Some(&c), &ctx("Globex"));
        assert_eq!(r.subject, "Acme Telecom: Monthly 2026-10-01..2026-10-31");
        assert_eq!(r.body, "Globex has 1234 calls; Globex again");
        assert_eq!(r.from, None);
    }

    #[test]
    fn builtin_default_without_content() {
        let r = render(None, &ctx("Globex"));
        assert_eq!(r.subject, "New call report");
        assert_eq!(
            r.body,
            "Greetings Globex!\n\nYou already have your call report for the period \
             2026-10-01 - 2026-10-31 available.\n\nCheck out attached file for further details."
        );
        assert_eq!(r.from, None);
    }

    #[test]
    fn empty_and_unknown_variables_are_safe() {
        // Brand-wide: the company is empty, and no placeholder is left behind.
        let r = render(None, &ctx(""));
        assert!(r.body.starts_with("Greetings !\n"), "{}", r.body);
        assert!(!r.body.contains("${"), "{}", r.body);
        // Unknown names, unterminated ones and values that look like variables stay as
        // written.
        let c = content(
            "${CALLCSV_NOPE} ${CALLCSV_ROWS",
            "$CALLCSV_ROWS ${} ${CALLCSV_COMPANY}",
        );
        let r = render(Some(&c), &ctx("${CALLCSV_ROWS}"));
        assert_eq!(r.subject, "${CALLCSV_NOPE} ${CALLCSV_ROWS");
        assert_eq!(r.body, "$CALLCSV_ROWS ${} ${CALLCSV_ROWS}");
    }

    #[test]
    fn subject_stays_one_line() {
        let c = content("Report ${CALLCSV_COMPANY}", "");
        assert_eq!(
            render(Some(&c), &ctx("Evil\r\nBcc: x@y")).subject,
            "Report Evil  Bcc: x@y"
        );
    }

    #[test]
    fn template_sender_needs_an_address() {
        let mut c = content("s", "b");
        c.from_name = Some("Acme Ops".into());
        assert_eq!(render(Some(&c), &ctx("")).from, None);
        c.from_address = Some("ops@acme.example".into());
        assert_eq!(
            render(Some(&c), &ctx("")).from.as_deref(),
            Some("Acme Ops <ops@acme.example>")
        );
        c.from_name = Some("Acme, Inc.".into());
        let from = render(Some(&c), &ctx("")).from.unwrap();
        assert_eq!(from, "\"Acme, Inc.\" <ops@acme.example>");
        assert!(from.parse::<lettre::message::Mailbox>().is_ok());
        c.from_name = Some("  ".into());
        assert_eq!(
            render(Some(&c), &ctx("")).from.as_deref(),
            Some("ops@acme.example")
        );
    }

    #[test]
    fn sender_prefers_template_then_brand_then_default() {
        let default = "callcsv <no-reply@localhost>";
        assert_eq!(
            sender(
                Some("Ops <ops@a.example>".into()),
                Some("brand@a.example"),
                default
            ),
            "Ops <ops@a.example>"
        );
        assert_eq!(
            sender(None, Some("brand@a.example"), default),
            "brand@a.example"
        );
        assert_eq!(sender(None, Some(" "), default), default);
        assert_eq!(sender(None, None, default), default);
        assert_eq!(sender(Some(String::new()), None, default), default);
    }

    #[test]
    fn small_csv_is_attached_as_is_large_one_gzipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let csv = "a,b\r\n1,ü\n".repeat(100);
        std::fs::write(&path, &csv).unwrap();

        let small = attachment_for(&path, "report.csv", csv.len() as u64).unwrap();
        assert_eq!(small.file_name, "report.csv");
        assert_eq!(small.content_type, "text/csv; charset=utf-8");
        assert_eq!(small.bytes, csv.as_bytes());

        let big = attachment_for(&path, "report.csv", csv.len() as u64 - 1).unwrap();
        assert_eq!(big.file_name, "report.csv.gz");
        assert_eq!(big.content_type, "application/gzip");
        let mut unzipped = Vec::new();
        flate2::read::GzDecoder::new(&big.bytes[..])
            .read_to_end(&mut unzipped)
            .unwrap();
        assert_eq!(unzipped, csv.as_bytes());

        assert!(attachment_for(&dir.path().join("missing.csv"), "x.csv", 0).is_err());
    }
}
