//! The client-visible error codes both services answer with, one row each: the gateway
//! refuses a request with them before the API sees it, and the API answers with the same ones
//! when it is reached directly (or checks again behind the gateway).
//!
//! A client switches on the code alone, whichever service answered, so a shared code must
//! have one spelling and one status: the gateway's and the API's tables take these rows
//! instead of writing them again. `meaning` is the line the API's README shows; a service
//! may say next to its own table row *when* it answers with the code (the gateway does).
//!
//! Plain data, no HTTP crate: statuses are `u16`.

/// One row of a table of error codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Row {
    /// The code as clients see it (`error.code` in JSON, `extensions.code` in GraphQL).
    /// Stable: clients switch on it. Add codes, never rename them.
    pub code: &'static str,
    /// The HTTP status of an answer that is only this error.
    pub status: u16,
    /// What the code means, in one line, for people.
    pub meaning: &'static str,
}

/// Declares one `Row` constant per shared code, named as the code is spelled, and [`ALL`].
macro_rules! shared_codes {
    ($($name:ident = $status:literal, $meaning:literal;)+) => {
        $(
            #[doc = $meaning]
            pub const $name: Row = Row {
                code: stringify!($name),
                status: $status,
                meaning: $meaning,
            };
        )+

        /// Every shared code, in table order.
        pub const ALL: &[Row] = &[$($name),+];
    };
}

shared_codes! {
    QUEUE_TOKEN_REQUIRED = 401, "the sale needs an admission token: join the queue";
    TOKEN_INVALID = 401, "a token we did not issue, malformed, or over 2 KB";
    TOKEN_EXPIRED = 401, "an expired token: `refresh` (sign-in) or join the queue again (admission)";
    TOKEN_REVOKED = 401, "an admission revoked before it expired";
    WRONG_EVENT = 403, "an admission token for another event";
    RATE_LIMITED = 429, "too many operations on one WebSocket (`WS_OPERATIONS_PER_SEC`); `extensions.retryAfterMs` says when to try again";
    PAYLOAD_TOO_LARGE = 413, "the body is over `MAX_BODY_BYTES`";
    NOT_FOUND = 404, "no such route";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_codes_are_unique_and_statuses_are_errors() {
        let names: std::collections::HashSet<_> = ALL.iter().map(|row| row.code).collect();

        assert_eq!(names.len(), ALL.len());
        assert!(ALL.iter().all(|row| (400..600).contains(&row.status)));
    }

    #[test]
    fn a_row_is_named_as_its_code_is_spelled() {
        assert_eq!(TOKEN_EXPIRED.code, "TOKEN_EXPIRED");
        assert_eq!(QUEUE_TOKEN_REQUIRED.status, 401);
    }
}
