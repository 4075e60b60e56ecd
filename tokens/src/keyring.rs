//! The keys that sign and verify tokens, and why a token is refused.
//!
//! A [`Keyring`] holds HS256 keys by id: the first signs, every one verifies, so a key can be
//! rotated in without refusing the tokens signed by the one before. Verification is split in
//! two: what never changes for a token string (format, key, signature, audience), which a
//! caller may remember, and what depends on the time ([`AdmissionClaims::check_at`]).

use std::collections::HashMap;

use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header, encode,
};
use serde::{Serialize, de::DeserializeOwned};

use crate::{
    claims::{ACCESS_AUDIENCE, ADMISSION_AUDIENCE, AccessClaims, AdmissionClaims, ISSUER},
    codes,
};

/// Tokens longer than this are refused before any parsing (a real one is about 400 bytes).
pub const MAX_TOKEN_BYTES: usize = 2_048;

/// Admission keys used when none are configured: fine on a laptop, never in production
/// (the API and the gateway log a warning when they run on it).
pub const DEV_ADMISSION_KEYS: &str = "dev-admission:dev-only-admission-key-change-me";

/// Why a token was refused. [`TokenError::code`] is what clients see.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is longer than {MAX_TOKEN_BYTES} bytes")]
    TooLarge,
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("the token names no key we know")]
    UnknownKey,
    #[error("the token's signature does not match")]
    BadSignature,
    #[error("the token is not meant for this use")]
    WrongAudience,
    #[error("the token has expired")]
    Expired,
    #[error("the token is for event {actual}, not event {expected}")]
    WrongEvent { expected: i64, actual: i64 },
}

impl TokenError {
    /// The client-visible code: `TOKEN_EXPIRED`, `WRONG_EVENT`, or `TOKEN_INVALID`.
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::Expired => codes::TOKEN_EXPIRED.code,
            TokenError::WrongEvent { .. } => codes::WRONG_EVENT.code,
            TokenError::TooLarge
            | TokenError::Malformed
            | TokenError::UnknownKey
            | TokenError::BadSignature
            | TokenError::WrongAudience => codes::TOKEN_INVALID.code,
        }
    }
}

/// Why a keyring specification was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyringError {
    #[error("a keyring needs at least one key, written `kid:secret[,kid:secret...]`")]
    Empty,
    #[error("key `{0}` must be written `kid:secret`")]
    Malformed(String),
    #[error("key `{0}` is shorter than 16 bytes")]
    TooShort(String),
    #[error("key id `{0}` appears twice")]
    Duplicate(String),
}

/// HS256 keys by id. The first key signs; every key verifies (old keys stay during rotation).
#[derive(Clone)]
pub struct Keyring {
    signing_kid: String,
    encoding: EncodingKey,
    decoding: HashMap<String, DecodingKey>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Key ids only: secrets never reach logs.
        let mut kids: Vec<&String> = self.decoding.keys().collect();
        kids.sort();
        f.debug_struct("Keyring")
            .field("signing_kid", &self.signing_kid)
            .field("kids", &kids)
            .finish()
    }
}

impl Keyring {
    /// Parses `kid:secret[,kid:secret...]`; the first key signs.
    pub fn parse(spec: &str) -> Result<Self, KeyringError> {
        let mut signing: Option<(String, EncodingKey)> = None;
        let mut decoding = HashMap::new();
        for part in spec
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
        {
            let (kid, secret) = part
                .split_once(':')
                .filter(|(kid, secret)| !kid.is_empty() && !secret.is_empty())
                .ok_or_else(|| {
                    KeyringError::Malformed(part.split(':').next().unwrap_or("").to_owned())
                })?;
            if secret.len() < 16 {
                return Err(KeyringError::TooShort(kid.to_owned()));
            }
            if decoding
                .insert(kid.to_owned(), DecodingKey::from_secret(secret.as_bytes()))
                .is_some()
            {
                return Err(KeyringError::Duplicate(kid.to_owned()));
            }
            if signing.is_none() {
                signing = Some((kid.to_owned(), EncodingKey::from_secret(secret.as_bytes())));
            }
        }
        let (signing_kid, encoding) = signing.ok_or(KeyringError::Empty)?;
        Ok(Self {
            signing_kid,
            encoding,
            decoding,
        })
    }

    /// The id of the key that signs.
    pub fn signing_kid(&self) -> &str {
        &self.signing_kid
    }

    /// Signs claims with the first key, naming it in the `kid` header.
    pub fn sign<C: Serialize>(&self, claims: &C) -> String {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.signing_kid.clone());
        // HS256 over serializable claims cannot fail; an empty token would be refused anyway.
        encode(&header, claims, &self.encoding).unwrap_or_default()
    }

    /// Checks signature, audience and issuer; leaves time checks to the caller's `now`.
    fn verify<C: DeserializeOwned>(&self, token: &str, audience: &str) -> Result<C, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::TooLarge);
        }
        let header = decode_header(token).map_err(|_| TokenError::Malformed)?;
        if header.alg != Algorithm::HS256 {
            return Err(TokenError::BadSignature);
        }
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.decoding.get(kid))
            .ok_or(TokenError::UnknownKey)?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.required_spec_claims.clear();
        validation.set_audience(&[audience]);
        validation.set_issuer(&[ISSUER]);
        // Decoded loosely first, so a token of the other kind fails on its audience rather
        // than on its missing claims.
        let claims = decode::<serde_json::Value>(token, key, &validation).map_err(|error| {
            use jsonwebtoken::errors::ErrorKind;
            match error.kind() {
                ErrorKind::InvalidSignature => TokenError::BadSignature,
                ErrorKind::InvalidAudience | ErrorKind::InvalidIssuer => TokenError::WrongAudience,
                _ => TokenError::Malformed,
            }
        })?;
        serde_json::from_value(claims.claims).map_err(|_| TokenError::Malformed)
    }

    /// Verifies an admission token at `now` (seconds), for `event` when given.
    pub fn verify_admission(
        &self,
        token: &str,
        now: i64,
        event: Option<i64>,
    ) -> Result<AdmissionClaims, TokenError> {
        let claims = self.verify_admission_signature(token)?;
        claims.check_at(now, event)?;
        Ok(claims)
    }

    /// The half of [`Self::verify_admission`] that never changes for a given token string
    /// (format, key, signature, audience, issuer), so its answer may be remembered; the
    /// caller must still call [`AdmissionClaims::check_at`] on every use.
    pub fn verify_admission_signature(&self, token: &str) -> Result<AdmissionClaims, TokenError> {
        self.verify(token, ADMISSION_AUDIENCE)
    }

    /// Verifies an access token at `now` (seconds).
    pub fn verify_access(&self, token: &str, now: i64) -> Result<AccessClaims, TokenError> {
        let claims: AccessClaims = self.verify(token, ACCESS_AUDIENCE)?;
        if claims.exp <= now {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn keys() -> Keyring {
        Keyring::parse("k2:second-secret-0123456789,k1:first-secret-0123456789").expect("keyring")
    }

    #[test]
    fn an_admission_token_round_trips_and_names_its_key() {
        let claims = AdmissionClaims::new("user-1", 42, "jti-1", NOW, 900, 6);
        let token = keys().sign(&claims);

        assert_eq!(
            keys().verify_admission(&token, NOW + 1, Some(42)),
            Ok(claims)
        );
        assert_eq!(
            decode_header(&token).expect("header").kid.as_deref(),
            Some("k2")
        );
    }

    #[test]
    fn tokens_signed_with_an_older_key_still_verify_during_rotation() {
        let old = Keyring::parse("k1:first-secret-0123456789").expect("old keyring");
        let token = old.sign(&AdmissionClaims::new("u", 1, "j", NOW, 60, 4));

        assert!(keys().verify_admission(&token, NOW, Some(1)).is_ok());
    }

    #[test]
    fn an_expired_token_is_token_expired_at_the_exact_second() {
        let token = keys().sign(&AdmissionClaims::new("u", 1, "j", NOW, 60, 4));

        assert!(keys().verify_admission(&token, NOW + 59, None).is_ok());
        let error = keys()
            .verify_admission(&token, NOW + 60, None)
            .expect_err("expired");
        assert_eq!(error.code(), "TOKEN_EXPIRED");
    }

    #[test]
    fn a_token_for_another_event_is_wrong_event() {
        let token = keys().sign(&AdmissionClaims::new("u", 7, "j", NOW, 60, 4));

        let error = keys()
            .verify_admission(&token, NOW, Some(8))
            .expect_err("wrong event");
        assert_eq!(
            error,
            TokenError::WrongEvent {
                expected: 8,
                actual: 7
            }
        );
        assert_eq!(error.code(), "WRONG_EVENT");
    }

    #[test]
    fn forged_unknown_key_malformed_and_oversized_tokens_are_token_invalid() {
        let forger = Keyring::parse("k2:not-the-real-secret-000").expect("forger");
        let forged = forger.sign(&AdmissionClaims::new("u", 1, "j", NOW, 60, 4));
        let stranger = Keyring::parse("k9:first-secret-0123456789").expect("stranger");
        let unknown = stranger.sign(&AdmissionClaims::new("u", 1, "j", NOW, 60, 4));
        let huge = "a".repeat(MAX_TOKEN_BYTES + 1);

        assert_eq!(
            keys().verify_admission(&forged, NOW, None),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            keys().verify_admission(&unknown, NOW, None),
            Err(TokenError::UnknownKey)
        );
        assert_eq!(
            keys().verify_admission("not.a.jwt", NOW, None),
            Err(TokenError::Malformed)
        );
        assert_eq!(
            keys().verify_admission("", NOW, None),
            Err(TokenError::Malformed)
        );
        assert_eq!(
            keys().verify_admission(&huge, NOW, None),
            Err(TokenError::TooLarge)
        );
        for error in [
            TokenError::BadSignature,
            TokenError::UnknownKey,
            TokenError::Malformed,
            TokenError::TooLarge,
        ] {
            assert_eq!(error.code(), "TOKEN_INVALID");
        }
    }

    #[test]
    fn an_access_token_is_never_accepted_as_an_admission_token_or_back() {
        let access = keys().sign(&AccessClaims::new("u", "FAN", NOW, 900));
        let admission = keys().sign(&AdmissionClaims::new("u", 1, "j", NOW, 60, 4));

        assert_eq!(
            keys().verify_admission(&access, NOW, None),
            Err(TokenError::WrongAudience)
        );
        assert_eq!(
            keys().verify_access(&admission, NOW),
            Err(TokenError::WrongAudience)
        );
        assert!(keys().verify_access(&access, NOW).is_ok());
    }

    #[test]
    fn keyrings_refuse_empty_short_malformed_and_duplicate_keys() {
        assert_eq!(Keyring::parse("").err(), Some(KeyringError::Empty));
        assert_eq!(
            Keyring::parse("k1:short").err(),
            Some(KeyringError::TooShort("k1".into()))
        );
        assert_eq!(
            Keyring::parse("nocolon").err(),
            Some(KeyringError::Malformed("nocolon".into()))
        );
        assert_eq!(
            Keyring::parse("a:0123456789abcdef,a:0123456789abcdef").err(),
            Some(KeyringError::Duplicate("a".into()))
        );
    }

    #[test]
    fn the_debug_form_of_a_keyring_shows_no_secret() {
        let shown = format!("{:?}", keys());

        assert!(shown.contains("k1") && shown.contains("k2"));
        assert!(!shown.contains("secret"), "{shown}");
    }
}
