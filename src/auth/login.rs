//! Logging in: the administrator a user name and password name, and who may have a token
//! renewed. What a token holds and how it is signed is `jwt`'s business.

use std::net::IpAddr;

use actix_web::http::StatusCode;
use serde::Deserialize;

use crate::auth::throttle::LoginThrottle;
use crate::auth::{password, Caller};
use crate::db::{self, administrators::Administrator, DbConnection, DbPool};
use crate::error::{AppError, AppResult};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    pub username: String,
    pub password: String,
}

/// The administrator `login` names, when the password is theirs and they are active.
/// Attempts are counted before the password is checked, the same way whether the user
/// exists or not; past the throttle's limits the answer is a 429 with `retry_after`.
/// Blocking (run it off the async threads): the hash is slow on purpose, so it is checked
/// without holding a connection, and for unknown users too so the answer time does not
/// reveal which user names exist.
pub fn log_in(
    pool: &DbPool,
    throttle: &LoginThrottle,
    login: Login,
    address: Option<IpAddr>,
) -> AppResult<Administrator> {
    if let Err(seconds) = throttle.attempt(&login.username, address) {
        tracing::warn!(username = %login.username, ?address, "login throttled");
        return Err(AppError::too_many_requests(
            "too many failed logins for this user name or address; retry after the time in Retry-After",
        )
        .retry_after(seconds));
    }
    // The connection goes back to the pool before the (slow) hash is checked.
    let admin = db::administrators::find_by_username(&mut *pool.get()?, &login.username)?;
    let stored = admin.as_ref().map(|a| a.password_hash.as_str());
    let matches = password::verify(&login.password, stored.unwrap_or(password::dummy_hash()));
    match admin {
        Some(a) if matches && a.active => {
            tracing::info!(admin = %a.id, "login");
            throttle.succeeded(&a.username, address);
            Ok(a)
        }
        _ => Err(AppError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "wrong username or password, or the administrator is disabled",
        )),
    }
}

/// The caller as stored now, for a new token: still active (the extractor checked, but a
/// change since then counts), with its current token version, so a password changed in
/// between makes the new token invalid too.
pub fn renewable(conn: &mut DbConnection, caller: &Caller) -> AppResult<Administrator> {
    db::administrators::find_active(conn, &caller.id)?
        .ok_or_else(|| AppError::unauthorized("administrator disabled or deleted"))
}
