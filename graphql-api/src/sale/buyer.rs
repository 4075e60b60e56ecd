//! Who is buying on a sale route. The gateway checks admission tokens first; the API checks
//! them again, so nothing reaches the sale by mistake (a misrouted request, a direct call).
//!
//! The token comes from `Authorization: Bearer`, a cookie `admission_token`, or the query
//! parameter `access_token`, in that order (browsers cannot set headers on a WebSocket). An
//! admission token must verify (signature, expiry, this event) and its Redis record must
//! exist (a revoked admission has none); the record check goes through a one-second cache.
//! On an event whose gate is off, reads need no token and a sign-in access token identifies
//! the buyer.

use axum::http::{HeaderMap, Uri, header};
use entities::event;
use tokens::TokenError;
use uuid::Uuid;

use crate::{
    auth::{Auth, now_secs},
    error::{ApiError, ApiResult},
    state::AppState,
};

/// A buyer on the sale schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Buyer {
    pub user_id: Uuid,
    /// Most seats this buyer may hold and buy in the event.
    pub cap: i64,
    /// The admission (token id and expiry, seconds) when the buyer came through the queue.
    pub admission: Option<(String, i64)>,
}

/// What a sale request said about its buyer.
#[derive(Clone, Debug)]
pub enum SaleAuth {
    /// No token on an ungated event: reads only.
    Anonymous,
    Buyer(Buyer),
}

impl SaleAuth {
    /// The buyer, or `QUEUE_TOKEN_REQUIRED` / `UNAUTHENTICATED`.
    pub fn buyer(&self) -> ApiResult<&Buyer> {
        match self {
            SaleAuth::Buyer(buyer) => Ok(buyer),
            SaleAuth::Anonymous => Err(ApiError::Unauthenticated),
        }
    }
}

/// The token a request carries, in the order the gateway reads it.
pub fn token_from(headers: &HeaderMap, uri: &Uri) -> Option<String> {
    if let Some(bearer) = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
        })
    {
        return Some(bearer.trim().to_owned());
    }
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|cookies| {
            cookies.split(';').find_map(|pair| {
                pair.trim()
                    .strip_prefix("admission_token=")
                    .map(str::to_owned)
            })
        });
    if cookie.is_some() {
        return cookie;
    }
    uri.query().and_then(|query| {
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix("access_token=").map(str::to_owned))
    })
}

/// Decides who the buyer is, or why the request is refused.
pub async fn authenticate(
    state: &AppState,
    event: &event::Model,
    token: Option<&str>,
) -> ApiResult<SaleAuth> {
    let Some(token) = token.filter(|token| !token.is_empty()) else {
        return if event.gate_enabled {
            Err(queue_token_required())
        } else {
            Ok(SaleAuth::Anonymous)
        };
    };
    let now = now_secs();
    match state
        .admission_keys()
        .verify_admission(token, now, Some(event.id))
    {
        Ok(claims) => {
            if !record_exists(state, event.id, &claims.jti).await? {
                return Err(ApiError::TokenRevoked);
            }
            let user_id =
                Uuid::parse_str(&claims.sub).map_err(|_| ApiError::Token(TokenError::Malformed))?;
            Ok(SaleAuth::Buyer(Buyer {
                user_id,
                cap: i64::from(claims.cap),
                admission: Some((claims.jti, claims.exp)),
            }))
        }
        // Not an admission token: on an ungated event a sign-in token names the buyer.
        Err(admission_error)
            if !event.gate_enabled && !matches!(admission_error, TokenError::WrongEvent { .. }) =>
        {
            match Auth::from_bearer(Some(token), state.access_keys(), now) {
                Auth::User(identity) => Ok(SaleAuth::Buyer(Buyer {
                    user_id: identity.user_id,
                    cap: i64::from(event.max_seats_per_fan),
                    admission: None,
                })),
                Auth::Refused(
                    TokenError::WrongAudience | TokenError::BadSignature | TokenError::UnknownKey,
                ) => Err(ApiError::Token(admission_error)),
                Auth::Refused(error) => Err(ApiError::Token(error)),
                Auth::Anonymous => Ok(SaleAuth::Anonymous),
            }
        }
        Err(TokenError::WrongAudience) => Err(queue_token_required()),
        Err(error) => Err(ApiError::Token(error)),
    }
}

fn queue_token_required() -> ApiError {
    ApiError::QueueTokenRequired
}

async fn record_exists(state: &AppState, event: i64, jti: &str) -> ApiResult<bool> {
    state
        .admission_records()
        .exists(state.redis(), state.keys(), event, jti)
        .await
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn the_token_is_read_from_header_then_cookie_then_query() {
        let uri: Uri = "/sale/1/graphql?x=1&access_token=from-query"
            .parse()
            .expect("uri");
        let mut headers = HeaderMap::new();
        assert_eq!(token_from(&headers, &uri).as_deref(), Some("from-query"));
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=b; admission_token=from-cookie"),
        );
        assert_eq!(token_from(&headers, &uri).as_deref(), Some("from-cookie"));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer from-header"),
        );
        assert_eq!(token_from(&headers, &uri).as_deref(), Some("from-header"));
        assert_eq!(
            token_from(&HeaderMap::new(), &"/x".parse().expect("uri")),
            None
        );
    }
}
