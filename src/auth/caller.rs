//! The [`Caller`] extractor: checks the bearer token, then loads the administrator from the
//! database on every request, so a deactivated or deleted administrator loses access at
//! once even with a token that has not expired yet. Also the tenant rules built on it.

use std::future::Future;
use std::pin::Pin;

use actix_web::{web, FromRequest, HttpRequest};
use serde::{Deserialize, Serialize};

use crate::auth::jwt::TokenError;
use crate::db;
use crate::error::{AppError, AppResult};
use crate::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Platform,
    Brand,
    Client,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Platform => "platform",
            Role::Brand => "brand",
            Role::Client => "client",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "platform" => Some(Role::Platform),
            "brand" => Some(Role::Brand),
            "client" => Some(Role::Client),
            _ => None,
        }
    }
}

/// What a list is restricted to, from [`Caller::list_scope`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListScope {
    pub brand: Option<String>,
    pub client: Option<String>,
    /// The request named another tenant: the list is empty.
    pub nothing: bool,
}

/// The authenticated administrator making the request, as the database has it now.
#[derive(Debug, Clone)]
pub struct Caller {
    pub id: String,
    pub username: String,
    pub role: Role,
    pub brand_id: Option<String>,
    pub client_id: Option<String>,
}

impl Caller {
    pub fn is_platform(&self) -> bool {
        self.role == Role::Platform
    }

    /// 403 unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> AppResult<()> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(AppError::forbidden(format!(
                "the {} role may not do this",
                self.role.as_str()
            )))
        }
    }

    /// The brand a read is restricted to: `None` for platform administrators (all brands).
    pub fn brand_scope(&self) -> Option<String> {
        match self.role {
            Role::Platform => None,
            _ => self.brand_id.clone(),
        }
    }

    /// The client a read is restricted to: only for client administrators.
    pub fn client_scope(&self) -> Option<String> {
        match self.role {
            Role::Client => self.client_id.clone(),
            _ => None,
        }
    }

    /// Narrows a list's `brand`/`client` filters to the caller's tenant. Platform
    /// administrators keep what they asked for; everybody else is held to their own brand
    /// (and client administrators to their client), and naming another one yields an empty
    /// list (`nothing`) rather than an error, which would confirm that tenant exists.
    pub fn list_scope(&self, brand: Option<String>, client: Option<String>) -> ListScope {
        let mut scope = ListScope {
            brand,
            client,
            nothing: false,
        };
        if let Some(own) = self.brand_scope() {
            scope.nothing |= scope.brand.as_ref().is_some_and(|b| *b != own);
            scope.brand = Some(own);
        }
        if let Some(own) = self.client_scope() {
            scope.nothing |= scope.client.as_ref().is_some_and(|c| *c != own);
            scope.client = Some(own);
        }
        scope
    }

    /// May the caller see an object of this brand?
    pub fn sees_brand(&self, brand_id: &str) -> bool {
        self.is_platform() || self.brand_id.as_deref() == Some(brand_id)
    }

    /// May the caller see an object owned by this client of this brand?
    pub fn sees_client(&self, brand_id: &str, client_id: &str) -> bool {
        match self.role {
            Role::Platform => true,
            Role::Brand => self.brand_id.as_deref() == Some(brand_id),
            Role::Client => self.client_id.as_deref() == Some(client_id),
        }
    }

    /// The brand a write goes to. Platform administrators must name it; everybody else
    /// gets their own, and naming another one is a validation error (never a cross-tenant
    /// write). Whether a named brand exists is the caller's check.
    pub fn write_brand(&self, requested: Option<&str>) -> AppResult<String> {
        match (self.role, requested) {
            (Role::Platform, Some(b)) => Ok(b.to_string()),
            (Role::Platform, None) => Err(AppError::invalid_field(
                "brand",
                "required for platform administrators",
            )),
            (_, requested) => {
                let own = self
                    .brand_id
                    .clone()
                    .ok_or_else(|| AppError::forbidden("no brand"))?;
                match requested {
                    Some(b) if b != own => Err(AppError::invalid_field("brand", "not found")),
                    _ => Ok(own),
                }
            }
        }
    }
}

/// The token of an `Authorization: Bearer <token>` header; 401 when it is missing or of
/// another scheme.
pub fn bearer_token(req: &HttpRequest) -> Result<&str, AppError> {
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| AppError::unauthorized("missing Authorization: Bearer token"))?;
    Ok(header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .ok_or_else(|| AppError::unauthorized("Authorization must be 'Bearer <token>'"))?
        .trim())
}

impl FromRequest for Caller {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Caller, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer_token(req).map(str::to_string);
        Box::pin(async move {
            let state = state.ok_or_else(|| AppError::internal("AppState missing"))?;
            let token = token?;
            let claims = state.jwt.verify(&token).map_err(|e| match e {
                TokenError::Expired => AppError::new(
                    actix_web::http::StatusCode::UNAUTHORIZED,
                    "token_expired",
                    "token expired; log in again",
                ),
                TokenError::Invalid => AppError::unauthorized("invalid token"),
            })?;
            let admin_id = claims.sub;
            let admin = db::run(&state.pool, move |conn| {
                crate::db::administrators::find_active(conn, &admin_id)
            })
            .await?;
            let admin =
                admin.ok_or_else(|| AppError::unauthorized("administrator disabled or deleted"))?;
            if claims.ver != admin.token_version {
                return Err(AppError::new(
                    actix_web::http::StatusCode::UNAUTHORIZED,
                    "token_revoked",
                    "the password changed since this token was issued; log in again",
                ));
            }
            let role = Role::parse(&admin.role)
                .ok_or_else(|| AppError::internal("stored role is invalid"))?;
            Ok(Caller {
                id: admin.id,
                username: admin.username,
                role,
                brand_id: admin.brand_id,
                client_id: admin.client_id,
            })
        })
    }
}
