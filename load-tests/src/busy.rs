//! `BUSY`: an API instance at its bound of concurrent database work answers at once, with
//! `extensions.retryAfterMs`, and changes nothing. A fan (like the web client) waits the
//! hint plus jitter and sends the very same request again (the same idempotency key).
//!
//! The report shows them apart from errors: every `BUSY` answer is counted
//! (`busy.answers`, and `busy.<operation>`), every retry (`busy.retries`) and its wait
//! (`busy.backoff`); the operation itself is recorded once, with the outcome and latency of
//! its last try, so a request retried to success is a success, and only a request still
//! `BUSY` after its retries counts as an error (`BUSY`, and `busy.gave_up`).

use std::time::Duration;

use crate::http::ApiError;

/// The code of the answer.
pub const CODE: &str = "BUSY";

/// Answers that mean a part of the system is away for a moment, retried the same way and
/// counted apart (`transient.answers`, `transient.<code>`, `transient.retries`,
/// `transient.gave_up`): the gateway failing closed while Redis is away, no healthy API
/// instance, an instance lost mid-request, the gateway at its connection cap, a connection
/// refused or cut, and a retry that found its key's first attempt still running (its answer
/// was lost; the web client retries it too). Sending again is safe for everything a fan
/// sends: the sale mutations carry idempotency keys and the queue's operations are idempotent.
pub const TRANSIENT: [&str; 6] = [
    "GATE_UNAVAILABLE",
    "NO_UPSTREAM",
    "UPSTREAM_ERROR",
    "GATEWAY_BUSY",
    "TRANSPORT",
    "IDEMPOTENCY_IN_PROGRESS",
];

/// The counter family of a code worth sending again: `busy` or `transient`; `None` for
/// every other answer.
pub fn retry_family(code: &str) -> Option<&'static str> {
    if code == CODE {
        Some("busy")
    } else if TRANSIENT.contains(&code) {
        Some("transient")
    } else {
        None
    }
}
/// Retries of one request on `BUSY` before it counts as an error (as the web client).
pub const MAX_RETRIES: u32 = 8;
/// Longest wait between two tries.
pub const CAP: Duration = Duration::from_secs(15);
/// The wait when an answer gives no hint.
const DEFAULT_HINT: Duration = Duration::from_secs(1);

/// The wait a `BUSY` answer asks for.
pub fn hint(error: &ApiError) -> Option<Duration> {
    error
        .extensions
        .get("retryAfterMs")
        .and_then(serde_json::Value::as_u64)
        .map(Duration::from_millis)
}

/// How long to wait before try `attempt + 1` (0-based), with `unit_random` in [0, 1): the
/// hint, growing by half of it per refusal (up to three times it), plus up to half of that
/// in jitter, so a crowd refused together does not come back together; at most [`CAP`].
pub fn delay(hint: Option<Duration>, attempt: u32, unit_random: f64) -> Duration {
    let hint = hint.filter(|hint| !hint.is_zero()).unwrap_or(DEFAULT_HINT);
    let base = hint.mul_f64(1.0 + 0.5 * f64::from(attempt.min(4)));
    (base + base.mul_f64(unit_random.clamp(0.0, 1.0) / 2.0)).min(CAP)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_wait_is_at_least_the_hint_grows_and_is_capped() {
        let two = Some(Duration::from_secs(2));
        assert_eq!(delay(two, 0, 0.0), Duration::from_secs(2));
        assert_eq!(delay(two, 0, 1.0), Duration::from_secs(3));
        assert_eq!(delay(two, 2, 0.0), Duration::from_secs(4));
        assert_eq!(delay(None, 0, 0.0), Duration::from_secs(1));
        assert_eq!(delay(Some(Duration::from_secs(60)), 9, 0.5), CAP);
    }

    #[test]
    fn busy_and_a_part_away_are_retried_other_answers_are_not() {
        assert_eq!(retry_family("BUSY"), Some("busy"));
        assert_eq!(retry_family("GATE_UNAVAILABLE"), Some("transient"));
        assert_eq!(retry_family("TRANSPORT"), Some("transient"));
        assert_eq!(
            retry_family("IDEMPOTENCY_IN_PROGRESS"),
            Some("transient"),
            "the web client retries it too"
        );
        assert_eq!(retry_family("SEAT_TAKEN"), None);
        assert_eq!(
            retry_family("TIMEOUT"),
            None,
            "a fan who waited 30 s gives up"
        );
        assert_eq!(retry_family("INTERNAL_ERROR"), None);
    }

    #[test]
    fn the_hint_is_read_from_the_extensions() {
        let busy = ApiError {
            code: CODE.into(),
            message: "busy".into(),
            extensions: json!({ "code": "BUSY", "retryAfterMs": 1500 }),
        };
        assert_eq!(hint(&busy), Some(Duration::from_millis(1_500)));
        let other = ApiError {
            extensions: serde_json::Value::Null,
            ..busy
        };
        assert_eq!(hint(&other), None);
    }
}
