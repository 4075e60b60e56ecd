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
        Some(RecordState::Live(user)) if !same_fan(&user, &claims.sub) => {
            Decision::Refuse(Code::TokenRevoked)
        }
        Some(RecordState::Live(_)) => Decision::Admit(Admission {
            user: claims.sub.clone(),
            event,
            jti: claims.jti.clone(),
        }),
    }
}

/// Whether a record's user id and a token's `sub` name the same fan. The queue writes UUIDs
/// as 32 hex digits in Redis and hyphenated in tokens, so hyphens and case do not count.
fn same_fan(record: &str, sub: &str) -> bool {
    let spelling = |id: &str| {
        id.bytes()
            .filter(|byte| *byte != b'-')
            .map(|byte| byte.to_ascii_lowercase())
            .collect::<Vec<u8>>()
    };
    record == sub || spelling(record) == spelling(sub)
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
mod tests {
    use std::collections::HashMap;

    use tokens::{AccessClaims, AdmissionClaims};

    use super::*;

    const NOW: i64 = 1_800_000_000;
    const EVENT: i64 = 42;

    fn keys() -> Keyring {
        Keyring::parse("k1:gateway-test-secret-0123").expect("keyring")
    }

    fn token(user: &str, event: i64, jti: &str, ttl: i64) -> String {
        keys().sign(&AdmissionClaims::new(user, event, jti, NOW, ttl, 4))
    }

    /// A cache holding some records.
    #[derive(Default)]
    struct Records(HashMap<(i64, String), RecordState>);

    impl Records {
        fn with(event: i64, jti: &str, state: RecordState) -> Self {
            Self(HashMap::from([((event, jti.to_owned()), state)]))
        }
    }

    impl RecordLookup for Records {
        fn lookup(&self, event: i64, jti: &str) -> Option<RecordState> {
            self.0.get(&(event, jti.to_owned())).cloned()
        }
    }

    fn sale<'a>(token: Option<&'a str>, gate: GateState) -> RequestFacts<'a> {
        RequestFacts {
            route: Route::Sale { event: EVENT },
            token,
            gate,
        }
    }

    fn live(user: &str) -> RecordState {
        RecordState::Live(Arc::from(user))
    }

    #[test]
    fn public_routes_pass_without_a_token_whatever_the_gate() {
        let facts = RequestFacts {
            route: Route::Public,
            token: None,
            gate: GateState::Unavailable,
        };

        assert_eq!(
            check(&facts, &keys(), NOW, &Records::default()),
            Decision::Pass
        );
    }

    #[test]
    fn the_gateways_own_endpoints_pass() {
        for route in [Route::Health, Route::Metrics] {
            let facts = RequestFacts {
                route,
                token: None,
                gate: GateState::On,
            };
            assert_eq!(
                check(&facts, &keys(), NOW, &Records::default()),
                Decision::Pass
            );
        }
    }

    #[test]
    fn a_sale_path_without_an_event_id_is_not_found() {
        let facts = RequestFacts {
            route: Route::BadSale,
            token: None,
            gate: GateState::On,
        };

        assert_eq!(
            check(&facts, &keys(), NOW, &Records::default()),
            Decision::Refuse(Code::NotFound)
        );
    }

    #[test]
    fn an_event_whose_gate_is_off_passes_without_a_token() {
        assert_eq!(
            check(
                &sale(None, GateState::Off),
                &keys(),
                NOW,
                &Records::default()
            ),
            Decision::Pass
        );
    }

    #[test]
    fn an_unreadable_gate_fails_closed() {
        let token = token("u1", EVENT, "j1", 60);

        assert_eq!(
            check(
                &sale(Some(&token), GateState::Unavailable),
                &keys(),
                NOW,
                &Records::with(EVENT, "j1", live("u1"))
            ),
            Decision::Refuse(Code::GateUnavailable)
        );
    }

    #[test]
    fn no_token_is_queue_token_required() {
        assert_eq!(
            check(
                &sale(None, GateState::On),
                &keys(),
                NOW,
                &Records::default()
            ),
            Decision::Refuse(Code::QueueTokenRequired)
        );
    }

    #[test]
    fn forged_malformed_and_other_kind_tokens_are_token_invalid() {
        let forged = Keyring::parse("k1:not-the-real-secret-99")
            .expect("forger")
            .sign(&AdmissionClaims::new("u1", EVENT, "j1", NOW, 60, 4));
        let access = keys().sign(&AccessClaims::new("u1", "FAN", NOW, 60));

        for token in [forged.as_str(), "garbage", access.as_str()] {
            assert_eq!(
                check(
                    &sale(Some(token), GateState::On),
                    &keys(),
                    NOW,
                    &Records::default()
                ),
                Decision::Refuse(Code::TokenInvalid),
                "{token}"
            );
        }
    }

    #[test]
    fn an_expired_token_is_token_expired() {
        let token = token("u1", EVENT, "j1", 60);

        assert_eq!(
            check(
                &sale(Some(&token), GateState::On),
                &keys(),
                NOW + 60,
                &Records::with(EVENT, "j1", live("u1"))
            ),
            Decision::Refuse(Code::TokenExpired)
        );
    }

    #[test]
    fn a_token_for_another_event_is_wrong_event() {
        let token = token("u1", EVENT + 1, "j1", 60);

        assert_eq!(
            check(
                &sale(Some(&token), GateState::On),
                &keys(),
                NOW,
                &Records::with(EVENT + 1, "j1", live("u1"))
            ),
            Decision::Refuse(Code::WrongEvent)
        );
    }

    #[test]
    fn a_valid_token_whose_record_is_not_cached_asks_for_a_lookup() {
        let token = token("u1", EVENT, "j1", 60);

        assert_eq!(
            check(
                &sale(Some(&token), GateState::On),
                &keys(),
                NOW,
                &Records::default()
            ),
            Decision::Lookup {
                event: EVENT,
                jti: "j1".into()
            }
        );
    }

    #[test]
    fn a_valid_token_with_a_live_record_is_admitted() {
        let token = token("u1", EVENT, "j1", 60);

        assert_eq!(
            check(
                &sale(Some(&token), GateState::On),
                &keys(),
                NOW,
                &Fetched(live("u1"))
            ),
            Decision::Admit(Admission {
                user: "u1".into(),
                event: EVENT,
                jti: "j1".into()
            })
        );
    }

    #[test]
    fn a_record_spelling_the_same_uuid_without_hyphens_admits() {
        let user = "3f2b8c1e-0d4a-4c7b-9e51-2a6f0b9c8d7e";
        let token = token(user, EVENT, "j1", 60);

        let decision = check(
            &sale(Some(&token), GateState::On),
            &keys(),
            NOW,
            &Fetched(live("3F2B8C1E0D4A4C7B9E512A6F0B9C8D7E")),
        );

        assert!(matches!(decision, Decision::Admit(_)), "{decision:?}");
    }

    #[test]
    fn a_valid_token_without_its_record_is_token_revoked() {
        let token = token("u1", EVENT, "j1", 60);

        assert_eq!(
            check(
                &sale(Some(&token), GateState::On),
                &keys(),
                NOW,
                &Fetched(RecordState::Missing)
            ),
            Decision::Refuse(Code::TokenRevoked)
        );
    }

    #[test]
    fn a_record_naming_another_fan_is_token_revoked() {
        let token = token("u1", EVENT, "j1", 60);

        assert_eq!(
            check(
                &sale(Some(&token), GateState::On),
                &keys(),
                NOW,
                &Fetched(live("someone-else"))
            ),
            Decision::Refuse(Code::TokenRevoked)
        );
    }

    #[test]
    fn an_unreadable_record_fails_closed() {
        let token = token("u1", EVENT, "j1", 60);

        assert_eq!(
            check(
                &sale(Some(&token), GateState::On),
                &keys(),
                NOW,
                &Fetched(RecordState::Unavailable)
            ),
            Decision::Refuse(Code::GateUnavailable)
        );
    }
}
