//! The API's one error enum and the one table of codes clients see.
//!
//! Resolvers return [`ApiResult`]; `?` turns an [`ApiError`] into an `async_graphql::Error`
//! that keeps the original as its source, and the [`ErrorCodes`](crate::schema::ErrorCodes)
//! extension maps it once, at the boundary: it sets `extensions.code`, and for internal
//! errors logs the cause chain once and shows a generic message.

mod codes;

pub use self::codes::ErrorCode;

/// Result of everything a resolver calls.
pub type ApiResult<T> = Result<T, ApiError>;

/// Everything that can go wrong in the API.
#[derive(Clone, Debug, thiserror::Error)]
pub enum ApiError {
    #[error("No event with id '{0}'.")]
    EventNotFound(String),
    #[error("No seat with id '{0}' in this event.")]
    SeatNotFound(String),
    #[error("The cursor '{0}' is not valid here; use a cursor from a previous page.")]
    InvalidCursor(String),
    #[error("A page holds at most {max} items; {requested} were asked for.")]
    PageTooLarge { requested: i64, max: u32 },
    #[error("{0}")]
    BadUserInput(String),
    #[error("{0}")]
    GraphqlParseFailed(String),
    #[error("{0}")]
    QueryTooDeep(String),
    #[error("{0}")]
    QueryTooComplex(String),
    #[error("This document holds several operations: name the one to run in `operationName`.")]
    OperationNameRequired,
    #[error("No operation named '{0}' in this document.")]
    UnknownOperation(String),
    #[error(
        "Subscriptions need a WebSocket (`graphql-transport-ws`); HTTP answers queries and mutations."
    )]
    SubscriptionOverHttp,
    #[error("{message}")]
    TooManyExpensiveFields {
        field: String,
        max: usize,
        message: String,
    },
    #[error("Too many operations on this connection; try again in {retry_after_ms} ms.")]
    RateLimited { retry_after_ms: u64 },
    /// This instance is at its bound of concurrent database work of one kind (answered at
    /// once instead of queueing until the pool times out: nothing was changed), or Postgres or
    /// Redis cannot be reached for a moment (a retry with the same key answers a request that
    /// landed as a replay).
    #[error("The sale is busy. Try again in {retry_after_ms} ms with the same idempotency key.")]
    Busy { retry_after_ms: u64 },
    #[error("Sign in first: send `Authorization: Bearer <accessToken>`.")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(String),
    #[error("The token was refused: {0}.")]
    Token(tokens::TokenError),
    #[error("The admission was revoked; join the queue again.")]
    TokenRevoked,
    #[error("This sale needs a place in the queue: join it, and buy when it is your turn.")]
    QueueTokenRequired,
    #[error("An account with this email exists already; sign in instead.")]
    EmailTaken,
    #[error("Wrong email or password.")]
    InvalidCredentials,
    #[error("Too many failed sign-ins for this account; try again in {retry_after_secs} s.")]
    LoginThrottled { retry_after_secs: u64 },
    #[error("This refresh token is not valid any more; sign in again.")]
    InvalidRefreshToken,
    #[error(
        "This refresh token was already used, so every session of this sign-in was ended; sign in again."
    )]
    RefreshTokenReused,
    #[error("No user with id '{0}'.")]
    UserNotFound(String),
    #[error("The sale of this event is {0}: there is no queue to join.")]
    QueueClosed(String),
    #[error("This sale has no queue: go straight to the seats.")]
    QueueNotRequired,
    #[error("You are not in this event's queue.")]
    NotInQueue,
    #[error("This connection already holds {max} subscriptions, the most allowed.")]
    TooManySubscriptions { max: usize },
    #[error("Some of these seats were just taken by someone else; nothing was held. Pick others.")]
    SeatTaken { seat_ids: Vec<i64> },
    #[error("You may hold at most {cap} seats for this event (you asked for {requested}).")]
    HoldLimitExceeded { cap: i64, requested: i64 },
    #[error("You already hold seats for this event: release them or book them first.")]
    ActiveHoldExists { hold_id: uuid::Uuid },
    #[error("No such hold.")]
    HoldNotFound,
    #[error("Your hold ran out and its seats were released; pick seats again.")]
    HoldExpired,
    #[error("This hold was already extended; it cannot be extended again.")]
    ExtensionUsed,
    #[error("No such booking.")]
    BookingNotFound,
    #[error("This booking can no longer be paid: it is {0}.")]
    BookingNotPayable(String),
    #[error("This booking is paid already.")]
    AlreadyPaid,
    #[error("The payment was declined: {0} You can try again while your seats are held.")]
    PaymentDeclined(String),
    #[error("The payment provider did not answer in time; nothing was charged. Try again.")]
    PaymentTimeout,
    #[error("{0}")]
    InvalidPaymentDetails(String),
    #[error("This idempotency key was used for a different request; use a new key.")]
    IdempotencyKeyReused,
    #[error(
        "The first request with this idempotency key is still running; wait a moment and retry."
    )]
    IdempotencyInProgress,
    #[error("The webhook signature does not match.")]
    WebhookSignatureInvalid,
    #[error("The webhook timestamp is too old or too far ahead.")]
    WebhookTimestampStale,
    /// Anything unexpected; its cause is logged, never shown.
    #[error("Internal server error.")]
    Internal(std::sync::Arc<anyhow::Error>),
}

impl ApiError {
    /// The client-visible code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::EventNotFound(_) => ErrorCode::EventNotFound,
            ApiError::SeatNotFound(_) => ErrorCode::SeatNotFound,
            ApiError::InvalidCursor(_) => ErrorCode::InvalidCursor,
            ApiError::PageTooLarge { .. } => ErrorCode::PageTooLarge,
            ApiError::BadUserInput(_) => ErrorCode::BadUserInput,
            ApiError::GraphqlParseFailed(_) => ErrorCode::GraphqlParseFailed,
            ApiError::QueryTooDeep(_) => ErrorCode::QueryTooDeep,
            ApiError::QueryTooComplex(_) => ErrorCode::QueryTooComplex,
            ApiError::OperationNameRequired => ErrorCode::OperationNameRequired,
            ApiError::UnknownOperation(_) => ErrorCode::UnknownOperation,
            ApiError::SubscriptionOverHttp => ErrorCode::SubscriptionOverHttp,
            ApiError::TooManyExpensiveFields { .. } => ErrorCode::TooManyExpensiveFields,
            ApiError::RateLimited { .. } => ErrorCode::RateLimited,
            ApiError::Busy { .. } => ErrorCode::Busy,
            ApiError::Unauthenticated => ErrorCode::Unauthenticated,
            ApiError::Forbidden(_) => ErrorCode::Forbidden,
            ApiError::Token(error) => {
                ErrorCode::from_code(error.code()).unwrap_or(ErrorCode::TokenInvalid)
            }
            ApiError::TokenRevoked => ErrorCode::TokenRevoked,
            ApiError::QueueTokenRequired => ErrorCode::QueueTokenRequired,
            ApiError::EmailTaken => ErrorCode::EmailTaken,
            ApiError::InvalidCredentials => ErrorCode::InvalidCredentials,
            ApiError::LoginThrottled { .. } => ErrorCode::LoginThrottled,
            ApiError::InvalidRefreshToken => ErrorCode::InvalidRefreshToken,
            ApiError::RefreshTokenReused => ErrorCode::RefreshTokenReused,
            ApiError::UserNotFound(_) => ErrorCode::UserNotFound,
            ApiError::QueueClosed(_) => ErrorCode::QueueClosed,
            ApiError::QueueNotRequired => ErrorCode::QueueNotRequired,
            ApiError::NotInQueue => ErrorCode::NotInQueue,
            ApiError::TooManySubscriptions { .. } => ErrorCode::TooManySubscriptions,
            ApiError::SeatTaken { .. } => ErrorCode::SeatTaken,
            ApiError::HoldLimitExceeded { .. } => ErrorCode::HoldLimitExceeded,
            ApiError::ActiveHoldExists { .. } => ErrorCode::ActiveHoldExists,
            ApiError::HoldNotFound => ErrorCode::HoldNotFound,
            ApiError::HoldExpired => ErrorCode::HoldExpired,
            ApiError::ExtensionUsed => ErrorCode::ExtensionUsed,
            ApiError::BookingNotFound => ErrorCode::BookingNotFound,
            ApiError::BookingNotPayable(_) => ErrorCode::BookingNotPayable,
            ApiError::AlreadyPaid => ErrorCode::AlreadyPaid,
            ApiError::PaymentDeclined(_) => ErrorCode::PaymentDeclined,
            ApiError::PaymentTimeout => ErrorCode::PaymentTimeout,
            ApiError::InvalidPaymentDetails(_) => ErrorCode::InvalidPaymentDetails,
            ApiError::IdempotencyKeyReused => ErrorCode::IdempotencyKeyReused,
            ApiError::IdempotencyInProgress => ErrorCode::IdempotencyInProgress,
            ApiError::WebhookSignatureInvalid => ErrorCode::WebhookSignatureInvalid,
            ApiError::WebhookTimestampStale => ErrorCode::WebhookTimestampStale,
            ApiError::Internal(_) => ErrorCode::InternalError,
        }
    }
}

impl ApiError {
    /// Extra `extensions` fields some errors carry (besides `code`).
    pub fn extra_extensions(&self) -> Vec<(&'static str, serde_json::Value)> {
        match self {
            ApiError::LoginThrottled { retry_after_secs } => {
                vec![("retryAfterSeconds", serde_json::json!(retry_after_secs))]
            }
            ApiError::SeatTaken { seat_ids } => {
                let ids: Vec<String> = seat_ids.iter().map(i64::to_string).collect();
                vec![("seatIds", serde_json::json!(ids))]
            }
            ApiError::ActiveHoldExists { hold_id } => {
                vec![("holdId", serde_json::json!(hold_id.to_string()))]
            }
            ApiError::TooManyExpensiveFields { field, max, .. } => vec![
                ("field", serde_json::json!(field)),
                ("max", serde_json::json!(max)),
            ],
            ApiError::RateLimited { retry_after_ms } | ApiError::Busy { retry_after_ms } => {
                vec![("retryAfterMs", serde_json::json!(retry_after_ms))]
            }
            _ => Vec::new(),
        }
    }
}

/// How long a fan is asked to wait when the Postgres pool had no connection for them in time,
/// or Postgres could not be reached (the pool reconnects by itself).
const POOL_BUSY_RETRY_MS: u64 = 1_000;

impl From<anyhow::Error> for ApiError {
    fn from(error: anyhow::Error) -> Self {
        std::sync::Arc::new(error).into()
    }
}

/// A failure shared by every waiter of a cache or a loader: judged by its whole chain, like
/// any other, so Postgres away is `BUSY` there too (flattening it to text lost the cause).
impl From<std::sync::Arc<anyhow::Error>> for ApiError {
    fn from(error: std::sync::Arc<anyhow::Error>) -> Self {
        // An overload (the statement was never sent) or Postgres away (restarting, failing
        // over): answered as `BUSY` like the shed gate's, never as `INTERNAL_ERROR`. A
        // connection that broke around a commit is why clients retry with the same key.
        if crate::db::is_unavailable(&error) {
            tracing::warn!(
                error = format!("{error:#}"),
                "Postgres busy or unreachable; answered BUSY"
            );
            return ApiError::Busy {
                retry_after_ms: POOL_BUSY_RETRY_MS,
            };
        }
        ApiError::Internal(error)
    }
}

/// How long a fan is asked to wait while Redis cannot be reached (it reconnects by itself,
/// within about two seconds of coming back).
const REDIS_AWAY_RETRY_MS: u64 = 1_000;

impl From<fred::error::Error> for ApiError {
    fn from(error: fred::error::Error) -> Self {
        use fred::error::ErrorKind;
        // Redis away (restarting, failing over, unreachable) is a moment to wait out, with a
        // code the client retries on; anything else is a bug or a broken reply.
        if matches!(
            error.kind(),
            ErrorKind::IO
                | ErrorKind::Canceled
                | ErrorKind::Timeout
                | ErrorKind::Backpressure
                | ErrorKind::Cluster
                | ErrorKind::Routing
        ) {
            // Not a warning per request: an outage would flood the log; `/readyz` tells.
            tracing::debug!(%error, "Redis unreachable: answering BUSY");
            return ApiError::Busy {
                retry_after_ms: REDIS_AWAY_RETRY_MS,
            };
        }
        ApiError::Internal(std::sync::Arc::new(
            anyhow::Error::new(error).context("talking to Redis"),
        ))
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(error: sea_orm::DbErr) -> Self {
        anyhow::Error::from(error).into()
    }
}

impl ApiError {
    /// This error as GraphQL reports it, with its code and extensions already set (for
    /// refusals made before any resolver runs).
    pub fn into_server_error(self) -> async_graphql::ServerError {
        let mut error = async_graphql::ServerError::new(self.to_string(), None);
        let extensions = error.extensions.get_or_insert_with(Default::default);
        extensions.set("code", self.code().as_str());
        for (name, value) in self.extra_extensions() {
            if let Ok(value) = async_graphql::Value::from_json(value) {
                extensions.set(name, value);
            }
        }
        error
    }
}

/// Whether a GraphQL error already carries `code` in its extensions.
pub fn carries_code(error: &async_graphql::ServerError, code: ErrorCode) -> bool {
    error
        .extensions
        .as_ref()
        .and_then(|extensions| extensions.get("code"))
        .is_some_and(
            |value| matches!(value, async_graphql::Value::String(value) if value == code.as_str()),
        )
}

/// A JSON body `{"error": {"code", "message"}}` for answers outside GraphQL.
pub fn json_error(code: ErrorCode, message: &str) -> serde_json::Value {
    serde_json::json!({ "error": { "code": code.as_str(), "message": message } })
}

/// A GraphQL-shaped body `{"errors": [...]}` for requests refused before execution.
pub fn graphql_error_body(code: ErrorCode, message: &str) -> serde_json::Value {
    serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": code.as_str() } }] })
}

/// Logs an internal error once, with its whole cause chain.
pub(crate) fn log_internal(error: &anyhow::Error) {
    tracing::error!(error = format!("{error:#}"), "internal error");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_reads_back_as_itself() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_code(code.as_str()), Some(*code));
        }
        assert_eq!(ErrorCode::from_code("NOT_A_CODE"), None);
    }

    #[test]
    fn every_code_shared_with_the_gateway_is_in_the_table() {
        for row in tokens::codes::ALL {
            let code = ErrorCode::from_code(row.code).expect(row.code);
            assert_eq!(code.row(), *row);
        }
    }
}
