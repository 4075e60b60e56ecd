//! Errors: the codes clients see in refusals, in one table, and the crate's one error enum.

use serde_json::json;

/// Every code the gateway answers with itself, with its HTTP status. Clients read `code`.
///
/// | code | status | when |
/// |---|---|---|
/// | `QUEUE_TOKEN_REQUIRED` | 401 | a sale route without a token (gate on) |
/// | `TOKEN_INVALID` | 401 | forged, malformed, unknown key, oversized, wrong kind |
/// | `TOKEN_EXPIRED` | 401 | past its `exp` |
/// | `TOKEN_REVOKED` | 401 | its Redis record is gone (or names another fan) |
/// | `WRONG_EVENT` | 403 | a valid token for another event |
/// | `RATE_LIMITED` | 429 | over the per-IP or per-fan rate (`Retry-After` says when) |
/// | `PAYLOAD_TOO_LARGE` | 413 | body over `max_body_bytes` |
/// | `NOT_FOUND` | 404 | a `/sale/...` path with no integer event id |
/// | `GATE_UNAVAILABLE` | 503 | Redis unreachable on a sale route: fail closed |
/// | `NO_UPSTREAM` | 503 | no healthy API instance could take the request |
/// | `UPSTREAM_ERROR` | 502 | the API failed after the request was sent (not replayed unless idempotent) |
/// | `UPSTREAM_TIMEOUT` | 504 | the API did not answer within `upstream_read_timeout_ms` |
/// | `GATEWAY_BUSY` | 503 | over `max_connections` concurrent client connections |
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Code {
    QueueTokenRequired,
    TokenInvalid,
    TokenExpired,
    TokenRevoked,
    WrongEvent,
    RateLimited,
    PayloadTooLarge,
    NotFound,
    GateUnavailable,
    NoUpstream,
    UpstreamError,
    UpstreamTimeout,
    GatewayBusy,
}

impl Code {
    /// Every code, in table order (metrics pre-register one counter per code).
    pub const ALL: [Code; 13] = [
        Code::QueueTokenRequired,
        Code::TokenInvalid,
        Code::TokenExpired,
        Code::TokenRevoked,
        Code::WrongEvent,
        Code::RateLimited,
        Code::PayloadTooLarge,
        Code::NotFound,
        Code::GateUnavailable,
        Code::NoUpstream,
        Code::UpstreamError,
        Code::UpstreamTimeout,
        Code::GatewayBusy,
    ];

    /// The stable, client-visible code.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::QueueTokenRequired => "QUEUE_TOKEN_REQUIRED",
            Code::TokenInvalid => "TOKEN_INVALID",
            Code::TokenExpired => "TOKEN_EXPIRED",
            Code::TokenRevoked => "TOKEN_REVOKED",
            Code::WrongEvent => "WRONG_EVENT",
            Code::RateLimited => "RATE_LIMITED",
            Code::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Code::NotFound => "NOT_FOUND",
            Code::GateUnavailable => "GATE_UNAVAILABLE",
            Code::NoUpstream => "NO_UPSTREAM",
            Code::UpstreamError => "UPSTREAM_ERROR",
            Code::UpstreamTimeout => "UPSTREAM_TIMEOUT",
            Code::GatewayBusy => "GATEWAY_BUSY",
        }
    }

    /// The HTTP status of a response carrying this code.
    pub fn status(self) -> u16 {
        match self {
            Code::QueueTokenRequired
            | Code::TokenInvalid
            | Code::TokenExpired
            | Code::TokenRevoked => 401,
            Code::WrongEvent => 403,
            Code::NotFound => 404,
            Code::PayloadTooLarge => 413,
            Code::RateLimited => 429,
            Code::UpstreamError => 502,
            Code::GateUnavailable | Code::NoUpstream | Code::GatewayBusy => 503,
            Code::UpstreamTimeout => 504,
        }
    }

    /// What a person reading the refusal should know.
    pub fn message(self) -> &'static str {
        match self {
            Code::QueueTokenRequired => {
                "This sale is queued: join the queue to get an admission token."
            }
            Code::TokenInvalid => "The admission token is not valid: join the queue again.",
            Code::TokenExpired => "The admission token has expired: join the queue again.",
            Code::TokenRevoked => "The admission token was withdrawn: join the queue again.",
            Code::WrongEvent => "The admission token is for another event.",
            Code::RateLimited => "Too many requests: slow down and retry after the given delay.",
            Code::PayloadTooLarge => "The request body is too large.",
            Code::NotFound => "No such sale route.",
            Code::GateUnavailable => {
                "The sale gate cannot check admissions right now: retry shortly."
            }
            Code::NoUpstream => "No API instance is available right now: retry shortly.",
            Code::UpstreamError => "The API failed while handling the request.",
            Code::UpstreamTimeout => "The API did not answer in time.",
            Code::GatewayBusy => "The gateway is at its connection limit: retry shortly.",
        }
    }

    /// The refusal body: `{"error":{"code","message","queue","eventId"}}`, `eventId` only
    /// on sale routes.
    pub fn body(self, queue: &str, event: Option<i64>) -> String {
        let mut error = json!({
            "code": self.as_str(),
            "message": self.message(),
            "queue": queue,
        });
        if let Some(event) = event {
            error["eventId"] = json!(event);
        }
        json!({ "error": error }).to_string()
    }
}

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The configuration file or environment is unusable.
    #[error("configuration: {0}")]
    Config(String),
    /// `ADMISSION_TOKEN_KEYS` is not a keyring.
    #[error("ADMISSION_TOKEN_KEYS: {0}")]
    Keyring(#[from] tokens::KeyringError),
    /// Redis could not be set up (a Redis that is merely down is not an error: sale routes
    /// fail closed until it returns).
    #[error("Redis: {0}")]
    Redis(String),
    /// Pingora refused to build the server.
    #[error("proxy server: {0}")]
    Server(String),
    /// Anything else, with its cause chain.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_body_has_the_agreed_shape() {
        let body: serde_json::Value =
            serde_json::from_str(&Code::QueueTokenRequired.body("/graphql", Some(42)))
                .expect("json");

        assert_eq!(body["error"]["code"], "QUEUE_TOKEN_REQUIRED");
        assert_eq!(body["error"]["queue"], "/graphql");
        assert_eq!(body["error"]["eventId"], 42);
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }

    #[test]
    fn a_refusal_off_the_sale_routes_names_no_event() {
        let body: serde_json::Value =
            serde_json::from_str(&Code::RateLimited.body("/graphql", None)).expect("json");

        assert!(body["error"].get("eventId").is_none());
        assert_eq!(Code::RateLimited.status(), 429);
    }

    #[test]
    fn codes_are_unique_and_statuses_are_errors() {
        let names: std::collections::HashSet<_> = Code::ALL.iter().map(|c| c.as_str()).collect();

        assert_eq!(names.len(), Code::ALL.len());
        assert!(Code::ALL.iter().all(|c| (400..600).contains(&c.status())));
    }
}
