//! The API's one error enum and the one table of codes clients see.
//!
//! Resolvers return [`ApiResult`]; `?` turns an [`ApiError`] into an `async_graphql::Error`
//! that keeps the original as its source, and the [`ErrorCodes`](crate::schema::ErrorCodes)
//! extension maps it once, at the boundary: it sets `extensions.code`, and for internal
//! errors logs the cause chain once and shows a generic message.

use std::fmt;

/// Result of everything a resolver calls.
pub type ApiResult<T> = Result<T, ApiError>;

/// Declares the one table of client-visible codes: one row per code, with the HTTP status used
/// when the error is the whole answer and the meaning shown in the README (a test checks
/// that the README's table is the one [`ErrorCode::markdown_table`] writes).
///
/// A row is either the API's own, `Variant = "CODE", status, "meaning";`, or a code the gateway
/// answers with too, `Variant = shared CODE;`, whose row lives in [`tokens::codes`] so the two
/// services spell it once.
macro_rules! error_codes {
    (@rows [$($done:tt)*] $variant:ident = shared $name:ident; $($rest:tt)*) => {
        error_codes!(@rows [$($done)* (
            $variant,
            concat!("Shared with the gateway: [`tokens::codes::", stringify!($name), "`]."),
            tokens::codes::$name
        )] $($rest)*);
    };
    (@rows [$($done:tt)*] $variant:ident = $code:literal, $status:literal, $meaning:literal; $($rest:tt)*) => {
        error_codes!(@rows [$($done)* (
            $variant,
            $meaning,
            tokens::codes::Row { code: $code, status: $status, meaning: $meaning }
        )] $($rest)*);
    };
    (@rows [$(($variant:ident, $doc:expr, $row:expr))+]) => {
        /// Every code a client may find in `extensions.code` (GraphQL) or `error.code` (plain
        /// JSON).
        ///
        /// Codes are stable: clients switch on them. Add, never rename.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $(#[doc = $doc] $variant,)+
        }

        impl ErrorCode {
            /// Every code, in table order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)+];

            /// This code's row of the table: its spelling, status and meaning.
            pub const fn row(self) -> tokens::codes::Row {
                match self {
                    $(ErrorCode::$variant => $row,)+
                }
            }
        }
    };
    ($($rows:tt)+) => {
        error_codes!(@rows [] $($rows)+);
    };
}

impl ErrorCode {
    /// The code as clients see it.
    pub fn as_str(self) -> &'static str {
        self.row().code
    }

    /// The code a client sees, read back (`None` for a code this API never sends).
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|known| known.as_str() == code)
    }

    /// The HTTP status used when the error is the whole answer (a request refused
    /// before any field ran); errors of executed fields come in a 200 answer.
    pub fn http_status(self) -> u16 {
        self.row().status
    }

    /// What the code means, for people (the README's table).
    pub fn meaning(self) -> &'static str {
        self.row().meaning
    }
}

error_codes! {
    GraphqlParseFailed = "GRAPHQL_PARSE_FAILED", 400, "the query is not valid GraphQL";
    GraphqlValidationFailed = "GRAPHQL_VALIDATION_FAILED", 400, "the query does not fit the schema";
    QueryTooDeep = "QUERY_TOO_DEEP", 400, "fields nested deeper than `GRAPHQL_MAX_DEPTH`, or brackets of any kind (selections, lists, input objects) nested deeper than 40";
    QueryTooComplex = "QUERY_TOO_COMPLEX", 400, "cost over `GRAPHQL_MAX_COMPLEXITY`";
    OperationNameRequired = "OPERATION_NAME_REQUIRED", 400, "the document holds several operations: say which one in `operationName`";
    UnknownOperation = "UNKNOWN_OPERATION", 400, "`operationName` names no operation of the document";
    SubscriptionOverHttp = "SUBSCRIPTION_OVER_HTTP", 400, "a `subscription` sent over HTTP: subscribe over WebSocket (`graphql-transport-ws`) instead";
    TooManyExpensiveFields = "TOO_MANY_EXPENSIVE_FIELDS", 400, "`login`, `register` or `refresh` asked more than once in one request, any root field more than ten times, or more than five mutation fields (aliases count: each runs); `extensions.field` and `extensions.max` say which";
    BadUserInput = "BAD_USER_INPUT", 400, "an argument is unacceptable (the message says why)";
    EventNotFound = "EVENT_NOT_FOUND", 404, "no event has this id (also on an unknown `/sale/{eventId}` path)";
    SeatNotFound = "SEAT_NOT_FOUND", 404, "no seat of this event has this id";
    InvalidCursor = "INVALID_CURSOR", 400, "a pagination cursor this API did not hand out";
    PageTooLarge = "PAGE_TOO_LARGE", 400, "`first` over `SEATS_MAX_PAGE`";
    BadRequest = "BAD_REQUEST", 400, "the body is not a GraphQL request";
    PayloadTooLarge = shared PAYLOAD_TOO_LARGE;
    MethodNotAllowed = "METHOD_NOT_ALLOWED", 405, "the route exists but not for this HTTP method (e.g. `PUT /graphql`)";
    NotFound = shared NOT_FOUND;
    Unauthenticated = "UNAUTHENTICATED", 401, "the operation needs a signed-in user: send `Authorization: Bearer <accessToken>` (over WebSocket: `{\"authorization\": \"Bearer ...\"}` in `connection_init`)";
    Forbidden = "FORBIDDEN", 403, "signed in, but not allowed (admin operations)";
    TokenInvalid = shared TOKEN_INVALID;
    TokenExpired = shared TOKEN_EXPIRED;
    TokenRevoked = shared TOKEN_REVOKED;
    WrongEvent = shared WRONG_EVENT;
    QueueTokenRequired = shared QUEUE_TOKEN_REQUIRED;
    EmailTaken = "EMAIL_TAKEN", 409, "an account with this email exists (emails compare case-insensitively)";
    InvalidCredentials = "INVALID_CREDENTIALS", 401, "wrong email or password (never says which)";
    LoginThrottled = "LOGIN_THROTTLED", 429, "too many failed sign-ins for this account; `extensions.retryAfterSeconds` says when to try again";
    InvalidRefreshToken = "INVALID_REFRESH_TOKEN", 401, "unknown, expired or revoked refresh token: sign in again";
    RefreshTokenReused = "REFRESH_TOKEN_REUSED", 401, "a spent refresh token came back: every token of that sign-in is revoked";
    UserNotFound = "USER_NOT_FOUND", 404, "no user has this id";
    QueueClosed = "QUEUE_CLOSED", 409, "the event is sold out, closed or cancelled: no queue to join";
    QueueNotRequired = "QUEUE_NOT_REQUIRED", 409, "the event's gate is off: go straight to the seats";
    NotInQueue = "NOT_IN_QUEUE", 404, "the fan is neither in line nor admitted";
    TooManySubscriptions = "TOO_MANY_SUBSCRIPTIONS", 429, "the WebSocket already holds `WS_MAX_SUBSCRIPTIONS` subscriptions";
    RateLimited = shared RATE_LIMITED;
    SeatTaken = "SEAT_TAKEN", 409, "some asked-for seats are not free; `extensions.seatIds` names them; nothing was held";
    HoldLimitExceeded = "HOLD_LIMIT_EXCEEDED", 400, "more seats than the fan's cap (held plus already bought)";
    ActiveHoldExists = "ACTIVE_HOLD_EXISTS", 409, "the fan already holds seats in this event (`extensions.holdId`): book or release them";
    HoldNotFound = "HOLD_NOT_FOUND", 404, "no such hold of this fan";
    HoldExpired = "HOLD_EXPIRED", 409, "the hold ran out (its seats are free again); for a payment: the authorization was voided";
    ExtensionUsed = "EXTENSION_USED", 409, "the hold was already extended as often as allowed (`HOLD_MAX_EXTENSIONS`)";
    BookingNotFound = "BOOKING_NOT_FOUND", 404, "no such booking of this fan";
    BookingNotPayable = "BOOKING_NOT_PAYABLE", 409, "the booking is cancelled, expired or refunded";
    AlreadyPaid = "ALREADY_PAID", 409, "the booking is paid (a second payment is voided, never captured)";
    PaymentDeclined = "PAYMENT_DECLINED", 402, "declined; retry while the hold lives";
    PaymentTimeout = "PAYMENT_TIMEOUT", 504, "the provider did not answer in time; nothing was charged";
    InvalidPaymentDetails = "INVALID_PAYMENT_DETAILS", 400, "malformed or missing details for the chosen method";
    IdempotencyKeyReused = "IDEMPOTENCY_KEY_REUSED", 409, "the key was used for a different request";
    IdempotencyInProgress = "IDEMPOTENCY_IN_PROGRESS", 409, "the first request with this key is still running";
    WebhookSignatureInvalid = "WEBHOOK_SIGNATURE_INVALID", 401, "a payment webhook whose HMAC does not match";
    WebhookTimestampStale = "WEBHOOK_TIMESTAMP_STALE", 401, "a payment webhook signed more than five minutes away from now";
    InternalError = "INTERNAL_ERROR", 500, "our fault; details are in our logs, never in the answer";
}

impl ErrorCode {
    /// The README's table of codes, written from this one.
    pub fn markdown_table() -> String {
        let mut table = String::from(
            "| code | HTTP status when it is the whole answer | meaning |\n|---|---|---|\n",
        );
        for code in Self::ALL {
            table.push_str(&format!(
                "| `{}` | {} | {} |\n",
                code.as_str(),
                code.http_status(),
                code.meaning()
            ));
        }
        table
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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
            ApiError::RateLimited { retry_after_ms } => {
                vec![("retryAfterMs", serde_json::json!(retry_after_ms))]
            }
            _ => Vec::new(),
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(error: anyhow::Error) -> Self {
        ApiError::Internal(std::sync::Arc::new(error))
    }
}

impl From<fred::error::Error> for ApiError {
    fn from(error: fred::error::Error) -> Self {
        ApiError::Internal(std::sync::Arc::new(
            anyhow::Error::new(error).context("talking to Redis"),
        ))
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(error: sea_orm::DbErr) -> Self {
        ApiError::Internal(std::sync::Arc::new(error.into()))
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
