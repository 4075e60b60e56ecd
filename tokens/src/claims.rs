//! What each kind of token says: its claims, and the audience that keeps the kinds apart.

use serde::{Deserialize, Serialize};

use crate::keyring::TokenError;

/// `aud` of access (sign-in) tokens.
pub const ACCESS_AUDIENCE: &str = "tickets-api";
/// `aud` of admission (queue) tokens.
pub const ADMISSION_AUDIENCE: &str = "tickets-sale";
/// `iss` of every token.
pub const ISSUER: &str = "tickets";

/// Claims of an admission token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdmissionClaims {
    /// The fan's user id.
    pub sub: String,
    /// The event the fan may buy for.
    pub evt: i64,
    /// Token id: its Redis record's name, so it can be revoked.
    pub jti: String,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expires at, seconds since the epoch.
    pub exp: i64,
    /// Most seats this fan may hold and buy.
    pub cap: u32,
    /// Always [`ADMISSION_AUDIENCE`].
    pub aud: String,
    /// Always [`ISSUER`].
    pub iss: String,
}

/// Claims of an access (sign-in) token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user id.
    pub sub: String,
    /// `FAN` or `ADMIN`.
    pub role: String,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expires at, seconds since the epoch.
    pub exp: i64,
    /// Always [`ACCESS_AUDIENCE`].
    pub aud: String,
    /// Always [`ISSUER`].
    pub iss: String,
}

impl AdmissionClaims {
    /// Claims for a fan admitted to `event` at `now` for `ttl_secs`.
    pub fn new(user: &str, event: i64, jti: &str, now: i64, ttl_secs: i64, cap: u32) -> Self {
        Self {
            sub: user.to_owned(),
            evt: event,
            jti: jti.to_owned(),
            iat: now,
            exp: now + ttl_secs,
            cap,
            aud: ADMISSION_AUDIENCE.to_owned(),
            iss: ISSUER.to_owned(),
        }
    }

    /// The time-dependent half of verification: not expired at `now`, and for `event` when
    /// given.
    pub fn check_at(&self, now: i64, event: Option<i64>) -> Result<(), TokenError> {
        if self.exp <= now {
            return Err(TokenError::Expired);
        }
        if let Some(expected) = event
            && self.evt != expected
        {
            return Err(TokenError::WrongEvent {
                expected,
                actual: self.evt,
            });
        }
        Ok(())
    }
}

impl AccessClaims {
    /// Claims for a signed-in user at `now` for `ttl_secs`.
    pub fn new(user: &str, role: &str, now: i64, ttl_secs: i64) -> Self {
        Self {
            sub: user.to_owned(),
            role: role.to_owned(),
            iat: now,
            exp: now + ttl_secs,
            aud: ACCESS_AUDIENCE.to_owned(),
            iss: ISSUER.to_owned(),
        }
    }
}
