//! The one table of codes clients see: each code with its HTTP status and meaning, written
//! once (codes the gateway answers with too are rows of [`tokens::codes`]).

use std::fmt;

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
    Busy = "BUSY", 503, "this instance is at its bound of concurrent database work, or Postgres or Redis cannot be reached for a moment (a restart, a failover); retry after `extensions.retryAfterMs` (HTTP answers also carry `Retry-After`) with the same idempotency key, which answers a request that did land as a replay";
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
