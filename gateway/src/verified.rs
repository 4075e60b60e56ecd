//! Admission tokens whose signature was already checked, remembered by their exact text.
//!
//! Every sale request carries the fan's token, and a fan sends the same token many times: a
//! seat map, a hold, a booking, a payment, each retry. Checking the HS256 signature (two
//! base64 decodes, two JSON parses, a SHA-256) was the largest share of the gateway's own
//! work per request; looking the token up by its text costs about a third of that.
//!
//! Only what cannot change for a given text is remembered: format, key, signature, audience
//! and issuer. Expiry and event are checked again on every use, and the token's Redis record
//! (revocation) is the [`crate::store`]'s business as before. Only genuine tokens are ever
//! stored, so a flood of forged ones cannot fill the cache (each is checked and refused); a
//! changed byte anywhere makes a different key. The keyring is fixed for the life of the
//! process, so a remembered signature cannot outlive its key.

use std::{sync::Arc, time::Duration};

use moka::sync::Cache;
use tokens::{AdmissionClaims, Keyring, TokenError};

use crate::{admission::VerifyAdmission, metrics::Metrics};

/// How long a checked token is remembered without use. Expiry is checked on every use
/// anyway; this only bounds how long an idle fan's entry takes memory.
const IDLE_TTL: Duration = Duration::from_secs(300);

/// The keyring, with a cache of tokens whose signature it accepted.
pub struct VerifiedTokens {
    keyring: Keyring,
    /// Token text -> its claims. `None` when the cache is turned off (capacity 0).
    cache: Option<Cache<Arc<str>, Arc<AdmissionClaims>>>,
    metrics: Metrics,
}

impl VerifiedTokens {
    /// Remembers up to `capacity` tokens (0: check every signature every time).
    pub fn new(keyring: Keyring, capacity: u64, metrics: Metrics) -> Self {
        let cache = (capacity > 0).then(|| {
            Cache::builder()
                .max_capacity(capacity)
                .time_to_idle(IDLE_TTL)
                .build()
        });
        Self {
            keyring,
            cache,
            metrics,
        }
    }
}

impl VerifyAdmission for VerifiedTokens {
    fn verify_admission(
        &self,
        token: &str,
        now: i64,
        event: i64,
    ) -> Result<Arc<AdmissionClaims>, TokenError> {
        let Some(cache) = &self.cache else {
            return VerifyAdmission::verify_admission(&self.keyring, token, now, event);
        };
        // Nothing longer is ever stored; skip hashing an oversized token just to miss.
        if token.len() <= tokens::MAX_TOKEN_BYTES
            && let Some(claims) = cache.get(token)
        {
            self.metrics.verified_token_hits.inc();
            claims.check_at(now, Some(event))?;
            return Ok(claims);
        }
        self.metrics.verified_token_misses.inc();
        let claims = Arc::new(self.keyring.verify_admission_signature(token)?);
        claims.check_at(now, Some(event))?;
        cache.insert(Arc::from(token), Arc::clone(&claims));
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn keys() -> Keyring {
        Keyring::parse("k1:verified-test-secret-0123").expect("keyring")
    }

    fn token(event: i64, ttl: i64) -> String {
        keys().sign(&AdmissionClaims::new("fan-1", event, "jti-1", NOW, ttl, 4))
    }

    fn verifier(capacity: u64) -> (VerifiedTokens, Metrics) {
        let metrics = Metrics::new().expect("metrics");
        (
            VerifiedTokens::new(keys(), capacity, metrics.clone()),
            metrics,
        )
    }

    #[test]
    fn a_second_use_of_a_token_is_answered_from_the_cache_with_the_same_claims() {
        let (verified, metrics) = verifier(100);
        let token = token(7, 60);

        let first = verified
            .verify_admission(&token, NOW, 7)
            .expect("first use");
        let second = verified
            .verify_admission(&token, NOW + 1, 7)
            .expect("second use");

        assert_eq!(first, second);
        assert_eq!(first.sub, "fan-1");
        assert_eq!(metrics.verified_token_misses.get(), 1);
        assert_eq!(metrics.verified_token_hits.get(), 1);
    }

    #[test]
    fn a_remembered_token_still_expires_at_its_exact_second() {
        let (verified, _) = verifier(100);
        let token = token(7, 60);
        verified
            .verify_admission(&token, NOW, 7)
            .expect("valid now");

        assert!(verified.verify_admission(&token, NOW + 59, 7).is_ok());
        assert_eq!(
            verified.verify_admission(&token, NOW + 60, 7),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn a_remembered_token_is_still_refused_for_another_event() {
        let (verified, metrics) = verifier(100);
        let token = token(7, 60);
        verified
            .verify_admission(&token, NOW, 7)
            .expect("valid for 7");

        assert_eq!(
            verified.verify_admission(&token, NOW, 8),
            Err(TokenError::WrongEvent {
                expected: 8,
                actual: 7
            })
        );
        assert_eq!(metrics.verified_token_hits.get(), 1);
    }

    #[test]
    fn a_forged_token_is_refused_every_time_even_beside_its_genuine_twin() {
        let (verified, metrics) = verifier(100);
        let genuine = token(7, 60);
        verified
            .verify_admission(&genuine, NOW, 7)
            .expect("genuine");
        let (signed, signature) = genuine.rsplit_once('.').expect("three parts");
        let flipped = if signature.starts_with('A') { 'B' } else { 'A' };
        let forged = format!("{signed}.{flipped}{}", &signature[1..]);
        let other_key = Keyring::parse("k1:not-the-real-secret-99")
            .expect("keyring")
            .sign(&AdmissionClaims::new("fan-1", 7, "jti-1", NOW, 60, 4));

        for _ in 0..2 {
            assert_eq!(
                verified.verify_admission(&forged, NOW, 7),
                Err(TokenError::BadSignature)
            );
            assert_eq!(
                verified.verify_admission(&other_key, NOW, 7),
                Err(TokenError::BadSignature)
            );
        }
        // Refused tokens are never remembered: each use was checked again.
        assert_eq!(metrics.verified_token_misses.get(), 5);
        assert_eq!(metrics.verified_token_hits.get(), 0);
    }

    #[test]
    fn an_expired_token_is_not_remembered_and_a_zero_capacity_checks_every_time() {
        let (verified, metrics) = verifier(100);
        let expired = token(7, 60);
        for _ in 0..2 {
            assert_eq!(
                verified.verify_admission(&expired, NOW + 60, 7),
                Err(TokenError::Expired)
            );
        }
        assert_eq!(metrics.verified_token_hits.get(), 0);

        let (uncached, metrics) = verifier(0);
        let token = token(7, 60);
        for _ in 0..3 {
            uncached.verify_admission(&token, NOW, 7).expect("valid");
        }
        assert_eq!(metrics.verified_token_hits.get(), 0);
    }
}
