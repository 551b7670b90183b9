//! Bearer tokens: HS256 JWTs naming the administrator; short-lived, refreshable.

use chrono::{DateTime, Utc};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The administrator's id.
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
    /// The administrator's token version when issued (absent in tokens from before
    /// versions existed: 0, the column's default).
    #[serde(default)]
    pub ver: i64,
}

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    pub ttl_seconds: i64,
}

pub enum TokenError {
    Expired,
    Invalid,
}

impl JwtKeys {
    pub fn new(secret: &str, ttl_seconds: i64) -> JwtKeys {
        JwtKeys {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            ttl_seconds,
        }
    }

    /// A token for `admin_id` under its current token `version`, and the instant it expires.
    pub fn issue(&self, admin_id: &str, version: i64) -> Result<(String, DateTime<Utc>), String> {
        let now = Utc::now().timestamp();
        let exp = now + self.ttl_seconds;
        let claims = Claims {
            sub: admin_id.to_string(),
            iat: now,
            exp,
            ver: version,
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| format!("jwt: {e}"))?;
        let expires_at = DateTime::from_timestamp(exp, 0).ok_or("jwt: expiry out of range")?;
        Ok((token, expires_at))
    }

    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        decode::<Claims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })
    }
}
