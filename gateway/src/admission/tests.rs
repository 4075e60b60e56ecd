//! The gate's rules, one test each: every branch of [`check`](super::check) at a fixed instant.

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
fn a_fan_is_spelled_one_way_so_a_record_and_a_token_match_exactly() {
    let user = uuid::Uuid::parse_str("3f2b8c1e-0d4a-4c7b-9e51-2a6f0b9c8d7e").unwrap_or_default();
    let fan = tokens::store::fan_id(&user);
    let token = token(&fan, EVENT, "j1", 60);

    let same = check(
        &sale(Some(&token), GateState::On),
        &keys(),
        NOW,
        &Fetched(live(&fan)),
    );
    assert!(matches!(same, Decision::Admit(_)), "{same:?}");

    // Another spelling of the same id is another fan: nothing re-spells ids any more.
    let respelled = check(
        &sale(Some(&token), GateState::On),
        &keys(),
        NOW,
        &Fetched(live(&user.to_string())),
    );
    assert_eq!(respelled, Decision::Refuse(Code::TokenRevoked));
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
