//! The API's one error enum and the one table of codes clients see.
//!
//! Resolvers return [`ApiResult`]; `?` turns an [`ApiError`] into an `async_graphql::Error`
//! that keeps the original as its source, and the [`ErrorCodes`](crate::schema::ErrorCodes)
//! extension maps it once, at the boundary: it sets `extensions.code`, and for internal
//! errors logs the cause chain once and shows a generic message.

use std::fmt;

/// Result of everything a resolver calls.
pub type ApiResult<T> = Result<T, ApiError>;

/// Every code a client may find in `extensions.code` (GraphQL) or `error.code` (plain JSON).
///
/// Codes are stable: clients switch on them. Add, never rename.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The query is not valid GraphQL.
    GraphqlParseFailed,
    /// The query does not fit the schema (unknown field, wrong argument type...).
    GraphqlValidationFailed,
    /// The query nests fields deeper than the configured limit.
    QueryTooDeep,
    /// The query's estimated cost is over the configured limit.
    QueryTooComplex,
    /// An argument is well-typed but unacceptable (explained in the message).
    BadUserInput,
    /// No event has this id.
    EventNotFound,
    /// No seat of this event has this id.
    SeatNotFound,
    /// A pagination cursor was not one this API handed out.
    InvalidCursor,
    /// A page was asked for with more items than allowed.
    PageTooLarge,
    /// The request body is not a GraphQL request (not JSON, or no `query`).
    BadRequest,
    /// The request body is larger than allowed.
    PayloadTooLarge,
    /// No such route.
    NotFound,
    /// The operation needs a signed-in user: send `Authorization: Bearer <accessToken>`.
    Unauthenticated,
    /// Signed in, but not allowed (e.g. admin operations).
    Forbidden,
    /// A token is not one we issued, or is malformed or oversized.
    TokenInvalid,
    /// A token has expired: refresh it (sign-in) or join the queue again (admission).
    TokenExpired,
    /// An admission token was revoked before it expired.
    TokenRevoked,
    /// An admission token for another event.
    WrongEvent,
    /// The sale needs an admission token: join the queue first.
    QueueTokenRequired,
    /// An account with this email exists already.
    EmailTaken,
    /// Wrong email or password (never says which).
    InvalidCredentials,
    /// Too many failed sign-ins for this account; wait `retryAfterSeconds`.
    LoginThrottled,
    /// The refresh token is unknown, expired or revoked: sign in again.
    InvalidRefreshToken,
    /// A refresh token was used twice: every token of its sign-in was revoked.
    RefreshTokenReused,
    /// No user has this id.
    UserNotFound,
    /// The event's sale is closed, sold out or cancelled: there is no queue to join.
    QueueClosed,
    /// The event's gate is off: go straight to the seats, no queue needed.
    QueueNotRequired,
    /// The fan is not in this event's queue (nor admitted).
    NotInQueue,
    /// This WebSocket already holds the most subscriptions allowed.
    TooManySubscriptions,
    /// Some asked-for seats are not free; `extensions.seatIds` names them. Nothing was held.
    SeatTaken,
    /// More seats than the fan's cap (in the admission token).
    HoldLimitExceeded,
    /// The fan already has an active hold in this event (`extensions.holdId`).
    ActiveHoldExists,
    /// No such hold of this fan.
    HoldNotFound,
    /// The hold ran out; its seats are free again.
    HoldExpired,
    /// The hold was already extended as often as allowed.
    ExtensionUsed,
    /// No such booking of this fan.
    BookingNotFound,
    /// The booking can no longer be paid (expired, cancelled, refunded).
    BookingNotPayable,
    /// The booking is paid already.
    AlreadyPaid,
    /// The payment was declined; the fan may retry while the hold lives.
    PaymentDeclined,
    /// The payment provider did not answer in time; nothing was charged.
    PaymentTimeout,
    /// The payment details are malformed or missing.
    InvalidPaymentDetails,
    /// The idempotency key was used for a different request.
    IdempotencyKeyReused,
    /// The first request with this idempotency key is still running.
    IdempotencyInProgress,
    /// A webhook's signature does not match.
    WebhookSignatureInvalid,
    /// A webhook's timestamp is more than five minutes away from now.
    WebhookTimestampStale,
    /// Something failed on our side; the details are in our logs, not in the response.
    InternalError,
}

impl ErrorCode {
    /// Every code, for documentation and its test.
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::GraphqlParseFailed,
        ErrorCode::GraphqlValidationFailed,
        ErrorCode::QueryTooDeep,
        ErrorCode::QueryTooComplex,
        ErrorCode::BadUserInput,
        ErrorCode::EventNotFound,
        ErrorCode::SeatNotFound,
        ErrorCode::InvalidCursor,
        ErrorCode::PageTooLarge,
        ErrorCode::BadRequest,
        ErrorCode::PayloadTooLarge,
        ErrorCode::NotFound,
        ErrorCode::Unauthenticated,
        ErrorCode::Forbidden,
        ErrorCode::TokenInvalid,
        ErrorCode::TokenExpired,
        ErrorCode::TokenRevoked,
        ErrorCode::WrongEvent,
        ErrorCode::QueueTokenRequired,
        ErrorCode::EmailTaken,
        ErrorCode::InvalidCredentials,
        ErrorCode::LoginThrottled,
        ErrorCode::InvalidRefreshToken,
        ErrorCode::RefreshTokenReused,
        ErrorCode::UserNotFound,
        ErrorCode::QueueClosed,
        ErrorCode::QueueNotRequired,
        ErrorCode::NotInQueue,
        ErrorCode::TooManySubscriptions,
        ErrorCode::SeatTaken,
        ErrorCode::HoldLimitExceeded,
        ErrorCode::ActiveHoldExists,
        ErrorCode::HoldNotFound,
        ErrorCode::HoldExpired,
        ErrorCode::ExtensionUsed,
        ErrorCode::BookingNotFound,
        ErrorCode::BookingNotPayable,
        ErrorCode::AlreadyPaid,
        ErrorCode::PaymentDeclined,
        ErrorCode::PaymentTimeout,
        ErrorCode::InvalidPaymentDetails,
        ErrorCode::IdempotencyKeyReused,
        ErrorCode::IdempotencyInProgress,
        ErrorCode::WebhookSignatureInvalid,
        ErrorCode::WebhookTimestampStale,
        ErrorCode::InternalError,
    ];

    /// The code as clients see it.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::GraphqlParseFailed => "GRAPHQL_PARSE_FAILED",
            ErrorCode::GraphqlValidationFailed => "GRAPHQL_VALIDATION_FAILED",
            ErrorCode::QueryTooDeep => "QUERY_TOO_DEEP",
            ErrorCode::QueryTooComplex => "QUERY_TOO_COMPLEX",
            ErrorCode::BadUserInput => "BAD_USER_INPUT",
            ErrorCode::EventNotFound => "EVENT_NOT_FOUND",
            ErrorCode::SeatNotFound => "SEAT_NOT_FOUND",
            ErrorCode::InvalidCursor => "INVALID_CURSOR",
            ErrorCode::PageTooLarge => "PAGE_TOO_LARGE",
            ErrorCode::BadRequest => "BAD_REQUEST",
            ErrorCode::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::TokenInvalid => "TOKEN_INVALID",
            ErrorCode::TokenExpired => "TOKEN_EXPIRED",
            ErrorCode::TokenRevoked => "TOKEN_REVOKED",
            ErrorCode::WrongEvent => "WRONG_EVENT",
            ErrorCode::QueueTokenRequired => "QUEUE_TOKEN_REQUIRED",
            ErrorCode::EmailTaken => "EMAIL_TAKEN",
            ErrorCode::InvalidCredentials => "INVALID_CREDENTIALS",
            ErrorCode::LoginThrottled => "LOGIN_THROTTLED",
            ErrorCode::InvalidRefreshToken => "INVALID_REFRESH_TOKEN",
            ErrorCode::RefreshTokenReused => "REFRESH_TOKEN_REUSED",
            ErrorCode::UserNotFound => "USER_NOT_FOUND",
            ErrorCode::QueueClosed => "QUEUE_CLOSED",
            ErrorCode::QueueNotRequired => "QUEUE_NOT_REQUIRED",
            ErrorCode::NotInQueue => "NOT_IN_QUEUE",
            ErrorCode::TooManySubscriptions => "TOO_MANY_SUBSCRIPTIONS",
            ErrorCode::SeatTaken => "SEAT_TAKEN",
            ErrorCode::HoldLimitExceeded => "HOLD_LIMIT_EXCEEDED",
            ErrorCode::ActiveHoldExists => "ACTIVE_HOLD_EXISTS",
            ErrorCode::HoldNotFound => "HOLD_NOT_FOUND",
            ErrorCode::HoldExpired => "HOLD_EXPIRED",
            ErrorCode::ExtensionUsed => "EXTENSION_USED",
            ErrorCode::BookingNotFound => "BOOKING_NOT_FOUND",
            ErrorCode::BookingNotPayable => "BOOKING_NOT_PAYABLE",
            ErrorCode::AlreadyPaid => "ALREADY_PAID",
            ErrorCode::PaymentDeclined => "PAYMENT_DECLINED",
            ErrorCode::PaymentTimeout => "PAYMENT_TIMEOUT",
            ErrorCode::InvalidPaymentDetails => "INVALID_PAYMENT_DETAILS",
            ErrorCode::IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED",
            ErrorCode::IdempotencyInProgress => "IDEMPOTENCY_IN_PROGRESS",
            ErrorCode::WebhookSignatureInvalid => "WEBHOOK_SIGNATURE_INVALID",
            ErrorCode::WebhookTimestampStale => "WEBHOOK_TIMESTAMP_STALE",
            ErrorCode::InternalError => "INTERNAL_ERROR",
        }
    }

    /// The HTTP status used when the error is the whole answer (outside GraphQL's 200).
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::GraphqlParseFailed
            | ErrorCode::GraphqlValidationFailed
            | ErrorCode::QueryTooDeep
            | ErrorCode::QueryTooComplex
            | ErrorCode::BadUserInput
            | ErrorCode::InvalidCursor
            | ErrorCode::PageTooLarge
            | ErrorCode::BadRequest => 400,
            ErrorCode::EventNotFound
            | ErrorCode::SeatNotFound
            | ErrorCode::NotFound
            | ErrorCode::UserNotFound
            | ErrorCode::NotInQueue
            | ErrorCode::HoldNotFound
            | ErrorCode::BookingNotFound => 404,
            ErrorCode::SeatTaken
            | ErrorCode::ActiveHoldExists
            | ErrorCode::HoldExpired
            | ErrorCode::ExtensionUsed
            | ErrorCode::BookingNotPayable
            | ErrorCode::AlreadyPaid
            | ErrorCode::IdempotencyKeyReused
            | ErrorCode::IdempotencyInProgress => 409,
            ErrorCode::HoldLimitExceeded | ErrorCode::InvalidPaymentDetails => 400,
            ErrorCode::PaymentDeclined => 402,
            ErrorCode::PaymentTimeout => 504,
            ErrorCode::WebhookSignatureInvalid | ErrorCode::WebhookTimestampStale => 401,
            ErrorCode::Unauthenticated
            | ErrorCode::TokenInvalid
            | ErrorCode::TokenExpired
            | ErrorCode::TokenRevoked
            | ErrorCode::QueueTokenRequired
            | ErrorCode::InvalidCredentials
            | ErrorCode::InvalidRefreshToken
            | ErrorCode::RefreshTokenReused => 401,
            ErrorCode::Forbidden | ErrorCode::WrongEvent => 403,
            ErrorCode::EmailTaken | ErrorCode::QueueClosed | ErrorCode::QueueNotRequired => 409,
            ErrorCode::LoginThrottled | ErrorCode::TooManySubscriptions => 429,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::InternalError => 500,
        }
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
            ApiError::Unauthenticated => ErrorCode::Unauthenticated,
            ApiError::Forbidden(_) => ErrorCode::Forbidden,
            ApiError::Token(error) => match error.code() {
                "TOKEN_EXPIRED" => ErrorCode::TokenExpired,
                "WRONG_EVENT" => ErrorCode::WrongEvent,
                _ => ErrorCode::TokenInvalid,
            },
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
