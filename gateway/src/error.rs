//! Errors: the codes clients see in refusals, in one table, and the crate's one error enum.

use serde_json::json;

/// Declares the gateway's table of codes: one row per code with when the gateway answers
/// with it and the message the refusal carries.
///
/// A row is either the gateway's own, `Variant = "CODE", status, when "...", says "...";`, or
/// a code the API answers with too, `Variant = shared CODE, when "...", says "...";`, whose
/// spelling and status live in [`tokens::codes`] so the two services agree.
macro_rules! gateway_codes {
    (@rows [$($done:tt)*]
        $variant:ident = shared $name:ident, when $when:literal, says $message:literal;
        $($rest:tt)*
    ) => {
        gateway_codes!(@rows [$($done)* ($variant, $when, $message, tokens::codes::$name)] $($rest)*);
    };
    (@rows [$($done:tt)*]
        $variant:ident = $code:literal, $status:literal, when $when:literal, says $message:literal;
        $($rest:tt)*
    ) => {
        gateway_codes!(@rows [$($done)* (
            $variant,
            $when,
            $message,
            tokens::codes::Row { code: $code, status: $status, meaning: $when }
        )] $($rest)*);
    };
    (@rows [$(($variant:ident, $when:literal, $message:literal, $row:expr))+]) => {
        /// Every code the gateway answers with itself. Clients read `code`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Code {
            $(#[doc = $when] $variant,)+
        }

        impl Code {
            /// Every code, in table order (metrics pre-register one counter per code).
            pub const ALL: [Code; [$(stringify!($variant)),+].len()] = [$(Code::$variant),+];

            /// This code's row: its spelling, its status and when the gateway answers with it.
            pub const fn row(self) -> tokens::codes::Row {
                match self {
                    $(Code::$variant => $row,)+
                }
            }

            /// What a person reading the refusal should know.
            pub fn message(self) -> &'static str {
                match self {
                    $(Code::$variant => $message,)+
                }
            }
        }
    };
    ($($rows:tt)+) => {
        gateway_codes!(@rows [] $($rows)+);
    };
}

gateway_codes! {
    QueueTokenRequired = shared QUEUE_TOKEN_REQUIRED,
        when "a sale route without a token (gate on)",
        says "This sale is queued: join the queue to get an admission token.";
    TokenInvalid = shared TOKEN_INVALID,
        when "forged, malformed, unknown key, oversized, wrong kind",
        says "The admission token is not valid: join the queue again.";
    TokenExpired = shared TOKEN_EXPIRED,
        when "past its `exp`",
        says "The admission token has expired: join the queue again.";
    TokenRevoked = shared TOKEN_REVOKED,
        when "its Redis record is gone (or names another fan)",
        says "The admission token was withdrawn: join the queue again.";
    WrongEvent = shared WRONG_EVENT,
        when "a valid token for another event",
        says "The admission token is for another event.";
    RateLimited = shared RATE_LIMITED,
        when "over the per-IP or per-fan rate (`Retry-After` says when)",
        says "Too many requests: slow down and retry after the given delay.";
    PayloadTooLarge = shared PAYLOAD_TOO_LARGE,
        when "body over `max_body_bytes`",
        says "The request body is too large.";
    NotFound = shared NOT_FOUND,
        when "a `/sale/...` path with no integer event id",
        says "No such sale route.";
    GateUnavailable = "GATE_UNAVAILABLE", 503,
        when "Redis unreachable on a sale route: fail closed",
        says "The sale gate cannot check admissions right now: retry shortly.";
    NoUpstream = "NO_UPSTREAM", 503,
        when "no healthy API instance could take the request",
        says "No API instance is available right now: retry shortly.";
    UpstreamError = "UPSTREAM_ERROR", 502,
        when "the API failed after the request was sent (not replayed unless idempotent)",
        says "The API failed while handling the request.";
    UpstreamTimeout = "UPSTREAM_TIMEOUT", 504,
        when "the API did not answer within `upstream_read_timeout_ms`",
        says "The API did not answer in time.";
    GatewayBusy = "GATEWAY_BUSY", 503,
        when "over `max_connections` concurrent client connections",
        says "The gateway is at its connection limit: retry shortly.";
}

impl Code {
    /// Seconds a client should wait before retrying, sent as `Retry-After` with every
    /// overload answer (503) of the gateway's own: a second, long enough for a connection
    /// or an instance to free up, short enough not to lose a fan's turn. (`RATE_LIMITED`
    /// carries its own, computed from the bucket.)
    pub fn retry_after_secs(self) -> Option<u64> {
        (self.status() == 503).then_some(1)
    }

    /// The stable, client-visible code.
    pub fn as_str(self) -> &'static str {
        self.row().code
    }

    /// The HTTP status of a response carrying this code.
    pub fn status(self) -> u16 {
        self.row().status
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

/// What went wrong under a [`GatewayError`], kept whole so the cause chain reaches the log.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why the gateway could not start.
///
/// The underlying error is kept as the source, never flattened into the message, so `main`
/// prints the whole chain once. No variant carries a secret: URLs and keys stay out.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// A setting that cannot work; the message names the key.
    #[error("configuration: {0}")]
    Config(String),
    /// The configuration file or the environment could not be read into a
    /// [`Config`](crate::config::Config).
    #[error("configuration: the file or the environment could not be read")]
    ConfigUnreadable(#[source] Box<figment::Error>),
    /// An entry of `metrics_allow` is neither a network nor an address.
    #[error("configuration: `metrics_allow`: {entry:?} is not a network like 10.0.0.0/8")]
    MetricsNetwork {
        /// The entry as written.
        entry: String,
        /// Why it is not a network.
        #[source]
        source: ipnet::AddrParseError,
    },
    /// `upstreams` holds something that does not resolve to an address.
    #[error("configuration: `upstreams` must be `host:port` addresses")]
    Upstreams(#[source] std::io::Error),
    /// `ADMISSION_TOKEN_KEYS` is not a keyring.
    #[error("ADMISSION_TOKEN_KEYS is not a usable keyring")]
    Keyring(#[from] tokens::KeyringError),
    /// Redis could not be set up (a Redis that is merely down is not an error: sale routes
    /// fail closed until it returns).
    #[error("Redis: {context}")]
    Redis {
        /// What was being set up.
        context: &'static str,
        /// Why it failed.
        #[source]
        source: Cause,
    },
    /// Pingora (or the metrics registry) refused to build the server.
    #[error("proxy server: {context}")]
    Server {
        /// What was being built.
        context: &'static str,
        /// Why it failed.
        #[source]
        source: Cause,
    },
    /// `--upgrade` cannot work as asked: there is no gateway to take over from, or nowhere
    /// to wait for its socket. The message says what to do instead.
    #[error("upgrade: {0}")]
    Upgrade(String),
    /// Anything else, with its cause chain.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl GatewayError {
    /// Redis setup failed while doing `context`.
    pub(crate) fn redis(context: &'static str, source: impl Into<Cause>) -> Self {
        Self::Redis {
            context,
            source: source.into(),
        }
    }

    /// Building the server failed while doing `context`.
    pub(crate) fn server(context: &'static str, source: impl Into<Cause>) -> Self {
        Self::Server {
            context,
            source: source.into(),
        }
    }
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
    fn every_overload_answer_says_when_to_retry() {
        for code in Code::ALL {
            assert_eq!(
                code.retry_after_secs().is_some(),
                code.status() == 503,
                "{code:?}"
            );
        }
        assert_eq!(Code::GatewayBusy.retry_after_secs(), Some(1));
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

    #[test]
    fn every_code_shared_with_the_api_is_in_the_table() {
        for row in tokens::codes::ALL {
            assert!(
                Code::ALL.iter().any(|code| code.row() == *row),
                "{}",
                row.code
            );
        }
    }
}
