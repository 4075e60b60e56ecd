//! The admission decision: may this request pass the gate? A pure function of what the
//! request says, the keyring, the time, and what is known about Redis state.
//!
//! Redis is read by the caller, not here: the gate's on/off state arrives in
//! [`RequestFacts::gate`], and a token's record through [`RecordLookup`], which answers from
//! the in-process cache only. When the record is not cached, [`check`] says
//! [`Decision::Lookup`]; the caller fetches it and asks again with the answer. So every
//! branch is unit-tested at any instant, and the common case (a cached record) costs no
//! Redis round trip.

use std::sync::Arc;

use tokens::{AdmissionClaims, Keyring, TokenError};

use crate::{error::Code, routes::Route};

/// An event's gate, as last read from Redis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GateState {
    /// Sale routes need a valid token (also when the key is absent: fail closed).
    On,
    /// Sale routes pass without a token.
    Off,
    /// Redis could not be read and nothing is cached.
    Unavailable,
}

/// A token's Redis record, as last read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordState {
    /// The record exists; its value is the fan's user id.
    Live(Arc<str>),
    /// No record: revoked, or replaced by a newer admission.
    Missing,
    /// Redis could not be read.
    Unavailable,
}

/// Answers from what is already known about admission records, without waiting.
pub trait RecordLookup {
    /// The record of token `jti` for `event`, or `None` when it must be fetched.
    fn lookup(&self, event: i64, jti: &str) -> Option<RecordState>;
}

/// A record just fetched from Redis, for the second call of [`check`].
#[derive(Clone, Debug)]
pub struct Fetched(pub RecordState);

impl RecordLookup for Fetched {
    fn lookup(&self, _event: i64, _jti: &str) -> Option<RecordState> {
        Some(self.0.clone())
    }
}

/// What the gate knows about a request before deciding.
#[derive(Clone, Copy, Debug)]
pub struct RequestFacts<'a> {
    /// The route, from the path.
    pub route: Route,
    /// The admission token, from the first source that had one.
    pub token: Option<&'a str>,
    /// The event's gate (only read on sale routes; `On` elsewhere).
    pub gate: GateState,
}

/// Checks an admission token's signature and time: the [`Keyring`] itself, or
/// [`crate::verified::VerifiedTokens`], which remembers signatures already checked.
pub trait VerifyAdmission {
    /// The token's claims if it is genuine, unexpired at `now` and for `event`.
    fn verify_admission(
        &self,
        token: &str,
        now: i64,
        event: i64,
    ) -> Result<Arc<AdmissionClaims>, TokenError>;
}

impl VerifyAdmission for Keyring {
    fn verify_admission(
        &self,
        token: &str,
        now: i64,
        event: i64,
    ) -> Result<Arc<AdmissionClaims>, TokenError> {
        Keyring::verify_admission(self, token, now, Some(event)).map(Arc::new)
    }
}

/// A verified admission: who may buy for which event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Admission {
    /// The fan's user id.
    pub user: String,
    /// The event the token is for (equal to the path's).
    pub event: i64,
    /// The token's id.
    pub jti: String,
}

/// The gate's verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Not gated (a public route, or an event whose gate is off): pass without identity.
    Pass,
    /// A verified fan: pass, telling the API who it is.
    Admit(Admission),
    /// The token is valid so far but its record is not cached: fetch it, then [`check`]
    /// again with [`Fetched`].
    Lookup {
        /// The token's event.
        event: i64,
        /// The token's id.
        jti: String,
    },
    /// Refuse with this code; the request never reaches the API.
    Refuse(Code),
}

/// Decides whether a request may pass, at `now` (seconds since the epoch).
pub fn check(
    facts: &RequestFacts<'_>,
    verifier: &dyn VerifyAdmission,
    now: i64,
    records: &dyn RecordLookup,
) -> Decision {
    let event = match facts.route {
        Route::Health | Route::Metrics | Route::Public => return Decision::Pass,
        Route::BadSale => return Decision::Refuse(Code::NotFound),
        Route::Sale { event } => event,
    };
    match facts.gate {
        GateState::Off => return Decision::Pass,
        GateState::Unavailable => return Decision::Refuse(Code::GateUnavailable),
        GateState::On => {}
    }
    let Some(token) = facts.token else {
        return Decision::Refuse(Code::QueueTokenRequired);
    };
    let claims = match verifier.verify_admission(token, now, event) {
        Ok(claims) => claims,
        Err(error) => return Decision::Refuse(code_of(&error)),
    };
    match records.lookup(event, &claims.jti) {
        None => Decision::Lookup {
            event,
            jti: claims.jti.clone(),
        },
        Some(RecordState::Unavailable) => Decision::Refuse(Code::GateUnavailable),
        Some(RecordState::Missing) => Decision::Refuse(Code::TokenRevoked),
        // A record naming someone else means the jti was reused or tampered with.
        Some(RecordState::Live(fan)) if *fan != *claims.sub => Decision::Refuse(Code::TokenRevoked),
        Some(RecordState::Live(_)) => Decision::Admit(Admission {
            user: claims.sub.clone(),
            event,
            jti: claims.jti.clone(),
        }),
    }
}

/// The refusal code of a token that failed verification.
fn code_of(error: &TokenError) -> Code {
    match error {
        TokenError::Expired => Code::TokenExpired,
        TokenError::WrongEvent { .. } => Code::WrongEvent,
        TokenError::TooLarge
        | TokenError::Malformed
        | TokenError::UnknownKey
        | TokenError::BadSignature
        | TokenError::WrongAudience => Code::TokenInvalid,
    }
}

#[cfg(test)]
mod tests;
