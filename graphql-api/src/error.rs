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
            ErrorCode::EventNotFound | ErrorCode::SeatNotFound | ErrorCode::NotFound => 404,
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
            ApiError::Internal(_) => ErrorCode::InternalError,
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(error: anyhow::Error) -> Self {
        ApiError::Internal(std::sync::Arc::new(error))
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
