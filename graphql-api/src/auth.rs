//! Who is asking: the signed-in fan behind an access token, and the admin check.
//!
//! The HTTP handler (or the WebSocket's `connection_init`) turns the bearer token into an
//! [`Auth`] in request data once; resolvers ask it through [`AuthContext`].

use async_graphql::Context;
use entities::user::Role;
use tokens::{Keyring, TokenError};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

/// A verified signed-in user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Identity {
    pub user_id: Uuid,
    pub role: Role,
}

impl Identity {
    /// The fan as every store and admission token spells them ([`tokens::store::fan_id`]).
    pub fn fan_key(&self) -> String {
        tokens::store::fan_id(&self.user_id)
    }
}

/// What the request said about its user.
#[derive(Clone, Debug)]
pub enum Auth {
    /// No token.
    Anonymous,
    /// A valid access token.
    User(Identity),
    /// A token that did not verify: operations that need a user fail with its reason.
    Refused(TokenError),
}

impl Auth {
    /// Reads `Bearer <token>` (or a bare token) at `now` (seconds since the epoch).
    pub fn from_bearer(value: Option<&str>, keys: &Keyring, now: i64) -> Self {
        let Some(value) = value.map(str::trim).filter(|value| !value.is_empty()) else {
            return Auth::Anonymous;
        };
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .unwrap_or(value)
            .trim();
        match keys.verify_access(token, now) {
            Ok(claims) => match (Uuid::parse_str(&claims.sub), claims.role.as_str()) {
                (Ok(user_id), "ADMIN") => Auth::User(Identity {
                    user_id,
                    role: Role::Admin,
                }),
                (Ok(user_id), _) => Auth::User(Identity {
                    user_id,
                    role: Role::Fan,
                }),
                (Err(_), _) => Auth::Refused(TokenError::Malformed),
            },
            Err(error) => Auth::Refused(error),
        }
    }

    /// The user, or why there is none.
    pub fn identity(&self) -> ApiResult<&Identity> {
        match self {
            Auth::User(identity) => Ok(identity),
            Auth::Anonymous => Err(ApiError::Unauthenticated),
            Auth::Refused(error) => Err(ApiError::Token(error.clone())),
        }
    }
}

/// Identity checks for resolvers.
pub trait AuthContext {
    /// The signed-in user, or `UNAUTHENTICATED` / `TOKEN_EXPIRED` / `TOKEN_INVALID`.
    fn identity(&self) -> ApiResult<Identity>;
    /// The signed-in user if they are an admin, else `FORBIDDEN`.
    fn admin(&self) -> ApiResult<Identity>;
}

impl AuthContext for Context<'_> {
    fn identity(&self) -> ApiResult<Identity> {
        match self.data_opt::<Auth>() {
            Some(auth) => auth.identity().copied(),
            None => Err(ApiError::Unauthenticated),
        }
    }

    fn admin(&self) -> ApiResult<Identity> {
        let identity = self.identity()?;
        if identity.role == Role::Admin {
            Ok(identity)
        } else {
            Err(ApiError::Forbidden("Only admins may do this.".to_owned()))
        }
    }
}

/// Seconds since the epoch, now.
pub fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

#[cfg(test)]
mod tests {
    use tokens::AccessClaims;

    use super::*;

    fn keys() -> Keyring {
        Keyring::parse("k:0123456789abcdef0123").expect("keys")
    }

    #[test]
    fn a_valid_bearer_token_names_the_user_and_role() {
        let user = Uuid::now_v7();
        let token = keys().sign(&AccessClaims::new(&user.to_string(), "ADMIN", 1_000, 60));

        let auth = Auth::from_bearer(Some(&format!("Bearer {token}")), &keys(), 1_010);

        assert_eq!(
            auth.identity().ok(),
            Some(&Identity {
                user_id: user,
                role: Role::Admin
            })
        );
    }

    #[test]
    fn no_header_is_anonymous_and_a_bad_one_says_why() {
        let expired = keys().sign(&AccessClaims::new(
            &Uuid::now_v7().to_string(),
            "FAN",
            1_000,
            60,
        ));

        assert!(matches!(
            Auth::from_bearer(None, &keys(), 0),
            Auth::Anonymous
        ));
        assert!(matches!(
            Auth::from_bearer(Some("  "), &keys(), 0),
            Auth::Anonymous
        ));
        let refused = Auth::from_bearer(Some(&format!("Bearer {expired}")), &keys(), 2_000);
        assert_eq!(
            refused.identity().err().map(|e| e.code().as_str()),
            Some("TOKEN_EXPIRED")
        );
        let garbage = Auth::from_bearer(Some("Bearer nonsense"), &keys(), 0);
        assert_eq!(
            garbage.identity().err().map(|e| e.code().as_str()),
            Some("TOKEN_INVALID")
        );
    }
}
