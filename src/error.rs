//! The one error type. Every failure the API reports becomes
//! `{"code": "...", "message": "...", "fields": {...}}` with a stable machine-readable `code`;
//! unexpected failures are logged here and answered with a bare 500 that leaks nothing.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct AppError {
    #[serde(skip)]
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
    /// Seconds to wait before trying again, sent as `Retry-After` (RFC 9110) with 429s.
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> AppError {
        AppError {
            status,
            code,
            message: message.into(),
            fields: BTreeMap::new(),
            retry_after: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn invalid_query(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::BAD_REQUEST, "invalid_query", message)
    }

    pub fn unauthorized(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// Also used for objects of another tenant: their existence is never revealed.
    pub fn not_found() -> AppError {
        AppError::new(StatusCode::NOT_FOUND, "not_found", "not found")
    }

    pub fn conflict(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::CONFLICT, "conflict", message)
    }

    pub fn method_not_allowed() -> AppError {
        AppError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "method not allowed on this path",
        )
    }

    /// One field failed validation.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> AppError {
        let mut fields = BTreeMap::new();
        let message = message.into();
        fields.insert(field.to_string(), message.clone());
        AppError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "validation_failed",
            message: format!("{field}: {message}"),
            fields,
            retry_after: None,
        }
    }

    /// A file operation of the runner that failed, worded for `lastExecutionError`: what was
    /// being done, the path as the operator knows it (relative to the data dir, never the
    /// server's own layout) and the system's reason, a full disk called by its name.
    pub fn io(action: &str, shown: &std::path::Path, e: &std::io::Error) -> AppError {
        let reason = match e.kind() {
            std::io::ErrorKind::StorageFull => format!("the disk is full ({e})"),
            std::io::ErrorKind::QuotaExceeded => format!("the disk quota is exhausted ({e})"),
            _ => e.to_string(),
        };
        AppError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "io_error",
            format!("{action} {}: {reason}", shown.display()),
        )
    }

    /// A limit was reached; say when to try again with [`AppError::retry_after`].
    pub fn too_many_requests(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", message)
    }

    /// The same error, answered with `Retry-After: seconds` (at least 1).
    pub fn retry_after(self, seconds: u64) -> AppError {
        AppError {
            retry_after: Some(seconds.max(1)),
            ..self
        }
    }

    /// The error's usual response plus `Retry-After: seconds` (RFC 9110), for 429 answers.
    pub fn response_retry_after(&self, seconds: u64) -> HttpResponse {
        self.clone().retry_after(seconds).error_response()
    }

    pub fn unavailable(message: impl Into<String>) -> AppError {
        AppError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            message,
        )
    }

    /// An unexpected failure: logged with its cause, answered without details.
    pub fn internal(cause: impl std::fmt::Display) -> AppError {
        tracing::error!(error = %cause, "internal error");
        AppError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error",
        )
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if let Some(seconds) = self.retry_after {
            response.insert_header((actix_web::http::header::RETRY_AFTER, seconds));
        }
        response.json(self)
    }
}

/// Collects field errors so a client sees every problem of a body at once.
#[derive(Default)]
pub struct Validator {
    fields: BTreeMap<String, String>,
}

impl Validator {
    pub fn new() -> Validator {
        Validator::default()
    }

    /// Records `message` for `field` (the first message per field wins).
    pub fn error(&mut self, field: &str, message: impl Into<String>) {
        self.fields
            .entry(field.to_string())
            .or_insert_with(|| message.into());
    }

    pub fn check(&mut self, ok: bool, field: &str, message: impl Into<String>) {
        if !ok {
            self.error(field, message);
        }
    }

    pub fn has(&self, field: &str) -> bool {
        self.fields.contains_key(field)
    }

    /// How many fields have an error so far (to tell whether a step added one).
    pub fn error_count(&self) -> usize {
        self.fields.len()
    }

    pub fn finish(self) -> AppResult<()> {
        if self.fields.is_empty() {
            return Ok(());
        }
        let message = self
            .fields
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join("; ");
        Err(AppError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "validation_failed",
            message,
            fields: self.fields,
            retry_after: None,
        })
    }
}

impl From<DieselError> for AppError {
    fn from(e: DieselError) -> AppError {
        match e {
            DieselError::NotFound => AppError::not_found(),
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                tracing::debug!(detail = info.message(), "unique violation");
                AppError::conflict("an object with the same unique value already exists")
            }
            DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, info) => {
                tracing::debug!(detail = info.message(), "foreign key violation");
                AppError::conflict(
                    "the object is referenced by other objects or references a missing one",
                )
            }
            DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => {
                AppError::unavailable("database connection lost")
            }
            other => AppError::internal(format!("database: {other}")),
        }
    }
}

/// Maps a unique-constraint violation to a 409 with a message naming what clashed; other
/// database errors map as usual. Use as `.map_err(unique("a brand with this name exists"))`.
pub fn unique(message: &'static str) -> impl FnOnce(DieselError) -> AppError {
    move |e| match e {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
            AppError::conflict(message)
        }
        other => other.into(),
    }
}

/// Like [`unique`] for a table with several unique constraints. Each case is `(column,
/// field, message)`: when the violated constraint is the one on `column` (SQLite's message
/// names the columns, `table.column`; PostgreSQL names the constraint, which ends with
/// `_column` here), the 409 says `message` and names `field` in `fields`; any other
/// violation says `otherwise`.
pub fn unique_among(
    cases: &'static [(&'static str, &'static str, &'static str)],
    otherwise: &'static str,
) -> impl FnOnce(DieselError) -> AppError {
    move |e| match e {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
            let on = |column: &str| {
                info.message().contains(&format!(".{column}"))
                    || info
                        .constraint_name()
                        .is_some_and(|c| c.ends_with(&format!("_{column}")))
            };
            match cases.iter().find(|(column, _, _)| on(column)) {
                Some((_, field, message)) => {
                    let mut err = AppError::conflict(*message);
                    err.fields.insert(field.to_string(), message.to_string());
                    err
                }
                None => AppError::conflict(otherwise),
            }
        }
        other => other.into(),
    }
}

impl From<r2d2::Error> for AppError {
    fn from(e: r2d2::Error) -> AppError {
        tracing::warn!(error = %e, "database pool exhausted or unreachable");
        AppError::unavailable("database unavailable, try again")
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> AppError {
        AppError::internal(format!("blocking task: {e}"))
    }
}

#[cfg(test)]
mod io_tests {
    use super::AppError;

    #[test]
    fn a_full_disk_is_called_by_its_name_with_the_relative_path() {
        let e = std::io::Error::from_raw_os_error(28);
        let shown = std::path::Path::new("reports/b1/r1-abc.csv.tmp");
        let err = AppError::io("writing the report file", shown, &e);
        assert_eq!(err.code, "io_error");
        assert!(
            err.message.starts_with(
                "writing the report file reports/b1/r1-abc.csv.tmp: the disk is full (No space left on device"
            ),
            "{}",
            err.message
        );
    }
}
