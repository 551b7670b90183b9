//! A console form that sends a file (`multipart/form-data`): its parts read into memory up
//! to the service's body limit, and its CSRF token checked like every other change (the
//! `_csrf` part, or the `X-CSRF-Token` header; 403 without).

use std::future::Future;
use std::pin::Pin;

use actix_web::{web, FromRequest, HttpRequest};
use futures_util::StreamExt;

use crate::error::AppError;
use crate::ui::session::{csrf_refused, same_token, Console, CSRF_FIELD, CSRF_HEADER};
use crate::ui::UiError;
use crate::AppState;

/// One part of the form: its field name, file name (for a file) and bytes.
pub struct Part {
    pub name: String,
    pub file_name: Option<String>,
    pub data: Vec<u8>,
}

/// A state-changing file upload from a live session with its CSRF token.
pub struct Upload {
    pub console: Console,
    pub parts: Vec<Part>,
}

impl Upload {
    pub fn part(&self, name: &str) -> Option<&Part> {
        self.parts.iter().find(|p| p.name == name)
    }

    /// A text field's value, trimmed; `None` when absent or blank.
    pub fn field(&self, name: &str) -> Option<String> {
        self.part(name)
            .map(|p| String::from_utf8_lossy(&p.data).trim().to_string())
            .filter(|v| !v.is_empty())
    }
}

impl FromRequest for Upload {
    type Error = UiError;
    type Future = Pin<Box<dyn Future<Output = Result<Upload, UiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let console = Console::from_request(req, payload);
        let mut payload = payload.take();
        let limit = req
            .app_data::<web::Data<AppState>>()
            .map(|s| s.config.max_body_bytes)
            .unwrap_or(0);
        let boundary = boundary(req);
        let header = req
            .headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        Box::pin(async move {
            let console = console.await?;
            let mut body = Vec::new();
            while let Some(chunk) = payload.next().await {
                let chunk =
                    chunk.map_err(|e| AppError::bad_request(format!("reading the upload: {e}")))?;
                if body.len() + chunk.len() > limit {
                    return Err(AppError::new(
                        actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
                        "payload_too_large",
                        format!("the file is larger than {limit} bytes"),
                    )
                    .into());
                }
                body.extend_from_slice(&chunk);
            }
            // A body that is not a form carries no token: the same 403 as a missing one.
            let parts = boundary.map(|b| parse(&body, &b)).unwrap_or_default();
            let given = header.or_else(|| {
                parts
                    .iter()
                    .find(|p| p.name == CSRF_FIELD)
                    .map(|p| String::from_utf8_lossy(&p.data).to_string())
            });
            match given {
                Some(token) if same_token(&token, &console.csrf) => Ok(Upload { console, parts }),
                _ => Err(csrf_refused()),
            }
        })
    }
}

/// The boundary of a `multipart/form-data` request.
fn boundary(req: &HttpRequest) -> Option<String> {
    let ct = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)?
        .to_str()
        .ok()?;
    let mime: mime::Mime = ct.parse().ok()?;
    (mime.type_() == mime::MULTIPART && mime.subtype() == mime::FORM_DATA)
        .then(|| mime.get_param(mime::BOUNDARY).map(|b| b.to_string()))
        .flatten()
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// The parts between `--boundary` lines (RFC 7578); what cannot be read is left out.
fn parse(body: &[u8], boundary: &str) -> Vec<Part> {
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    let Some(mut at) = find(body, delimiter.as_bytes(), 0) else {
        return parts;
    };
    loop {
        let start = at + delimiter.len();
        if body.get(start..start + 2) == Some(b"--") {
            break; // the closing delimiter
        }
        let Some(headers_end) = find(body, b"\r\n\r\n", start) else {
            break;
        };
        let next_delimiter = format!("\r\n{delimiter}");
        let Some(end) = find(body, next_delimiter.as_bytes(), headers_end + 4) else {
            break;
        };
        let headers = String::from_utf8_lossy(&body[start..headers_end]);
        if let Some((name, file_name)) = disposition(&headers) {
            parts.push(Part {
                name,
                file_name,
                data: body[headers_end + 4..end].to_vec(),
            });
        }
        at = end + 2;
    }
    parts
}

/// `name` and `filename` of a part's `Content-Disposition: form-data` header.
fn disposition(headers: &str) -> Option<(String, Option<String>)> {
    let line = headers
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))?;
    let param = |key: &str| {
        let marker = format!("{key}=\"");
        line.split(';').map(str::trim).find_map(|p| {
            p.strip_prefix(&marker)
                .and_then(|rest| rest.strip_suffix('"'))
                .map(str::to_string)
        })
    };
    Some((param("name")?, param("filename")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_read_with_their_names_and_files() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\ntok\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"r.csv\"\r\n\
Content-Type: text/csv\r\n\r\nprefix,rate\r\n34,0.1\r\n\r\n--XyZ--\r\n";
        let parts = parse(body, "XyZ");
        assert_eq!(parts.len(), 2);
        assert_eq!(
            (parts[0].name.as_str(), parts[0].data.as_slice()),
            ("_csrf", &b"tok"[..])
        );
        assert_eq!(parts[1].file_name.as_deref(), Some("r.csv"));
        assert_eq!(parts[1].data, b"prefix,rate\r\n34,0.1\r\n");
        assert!(parse(b"no parts here", "XyZ").is_empty());
        assert!(parse(b"--XyZ\r\nbroken", "XyZ").is_empty());
    }
}
