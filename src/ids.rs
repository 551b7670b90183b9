//! Typed ids: one newtype per kind of object, from the URL path to the query functions, so
//! a client id cannot be passed where a carrier id is expected. Each holds the canonical
//! (lowercase, hyphenated) UUID text the database stores.

use std::fmt;

use actix_web::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult};

/// What every typed id can do; the newtypes are made by `typed_id!`.
pub trait Id: Sized + Clone + fmt::Display + Send + 'static {
    /// Wraps a value read from the database (already canonical; not checked).
    fn from_db(stored: String) -> Self;

    fn as_str(&self) -> &str;

    /// A fresh id: UUID v7 (time-ordered, so inserts stay index-friendly).
    fn generate() -> Self {
        Self::from_db(uuid::Uuid::now_v7().to_string())
    }

    /// An id naming the object addressed (a path segment): malformed is a 400 `invalid_id`.
    fn parse(raw: &str) -> AppResult<Self> {
        canonical(raw).map(Self::from_db).ok_or_else(|| {
            AppError::new(
                StatusCode::BAD_REQUEST,
                "invalid_id",
                format!("{raw:?} is not a UUID"),
            )
        })
    }

    /// A reference held by a body field (`"client": "<uuid>"`): malformed is a 422 on it.
    fn parse_ref(field: &str, raw: &str) -> AppResult<Self> {
        canonical(raw)
            .map(Self::from_db)
            .ok_or_else(|| AppError::invalid_field(field, "not a UUID"))
    }

    /// A list filter holding an id (`?brand=<uuid>`): malformed is a 400 `invalid_query`.
    fn parse_filter(name: &str, raw: &str) -> AppResult<Self> {
        canonical(raw)
            .map(Self::from_db)
            .ok_or_else(|| AppError::invalid_query(format!("{name}: {raw:?} is not a UUID")))
    }
}

/// The canonical text of a UUID in any of the forms `uuid` accepts.
pub fn canonical(raw: &str) -> Option<String> {
    uuid::Uuid::parse_str(raw).ok().map(|u| u.to_string())
}

macro_rules! typed_id {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
            #[serde(transparent)]
            pub struct $name(String);

            impl Id for $name {
                fn from_db(stored: String) -> Self {
                    $name(stored)
                }

                fn as_str(&self) -> &str {
                    &self.0
                }
            }

            impl fmt::Display for $name {
                fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str(&self.0)
                }
            }

            impl From<$name> for String {
                fn from(id: $name) -> String {
                    id.0
                }
            }

            impl PartialEq<str> for $name {
                fn eq(&self, other: &str) -> bool {
                    self.0 == other
                }
            }

            impl PartialEq<String> for $name {
                fn eq(&self, other: &String) -> bool {
                    self.0 == *other
                }
            }
        )*
    };
}

typed_id! {
    /// An id of no particular kind, for the code that has not been given typed ids yet.
    AnyId,
    AlertEventId,
    AlertRuleId,
    AdministratorId,
    BrandId,
    CallId,
    CarrierId,
    CdrSourceId,
    ClientId,
    DdiId,
    DdiProviderId,
    EndpointId,
    NotificationTemplateId,
    RatingPlanId,
    RatingProfileId,
    ReportId,
    SchedulerId,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_canonical_and_errors_name_their_source() {
        let id = BrandId::parse("5A7E1B0C-9F3D-4E7A-8C2B-1D2E3F4A5B6C").unwrap();
        assert_eq!(id.as_str(), "5a7e1b0c-9f3d-4e7a-8c2b-1d2e3f4a5b6c");
        assert_eq!(BrandId::parse("x").unwrap_err().code, "invalid_id");
        let err = ClientId::parse_ref("client", "x").unwrap_err();
        assert_eq!(
            (err.status.as_u16(), err.fields.contains_key("client")),
            (422, true)
        );
        assert_eq!(
            CarrierId::parse_filter("carrier", "x").unwrap_err().code,
            "invalid_query"
        );
    }
}
