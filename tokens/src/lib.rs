//! The formats of the project's two kinds of token, defined once for the API and the gateway.
//!
//! - **Access tokens** (sign-in): say who the fan is, on the public schema. Audience
//!   [`ACCESS_AUDIENCE`]. Signed and checked only by the API.
//! - **Admission tokens** (the queue token): say this fan may buy for this event until this
//!   time, and how many seats. Audience [`ADMISSION_AUDIENCE`]. Signed by the API when the
//!   queue admits a fan; checked by the gateway on every sale request and by the API again.
//!
//! Both are HS256 JWTs with a `kid` header naming the key, so keys can rotate: a [`Keyring`]
//! signs with its first key and verifies with any. The audiences differ, so one kind is never
//! accepted as the other. Verification takes `now` as an argument: the checks are pure
//! functions, testable at any instant.
//!
//! An admission token is only half the story: its record in Redis (see
//! [`store::Keys::admission`])
//! must exist too, so an admission can be revoked before it expires.
//!
//! Modules:
//! - [`claims`]: what each kind of token says.
//! - [`keyring`]: the keys that sign and verify, and why a token is refused.
//! - [`store`]: the stores' contract: every Redis key the API, the gateway and the load
//!   tests share, the queue's join script, and the one spelling of a fan id.
//! - [`headers`]: the headers the gateway sets for the API.
//! - [`codes`]: the client-visible error codes both services answer with.
//!
//! Everything public is re-exported here, so `tokens::Keyring` and friends keep one path.

#![warn(unused_crate_dependencies)]

pub mod claims;
pub mod codes;
pub mod headers;
pub mod keyring;
pub mod store;

pub use claims::{ACCESS_AUDIENCE, ADMISSION_AUDIENCE, AccessClaims, AdmissionClaims, ISSUER};
pub use keyring::{DEV_ADMISSION_KEYS, Keyring, KeyringError, MAX_TOKEN_BYTES, TokenError};
