//! The queue, as a fan lives it: join, wait for the turn (on a subscription or by polling
//! `heartbeat`), learn of the admission, and leave. Also the one untimed join-and-poll for
//! sessions that must be admitted before a measurement starts (`browse`, `max-rate`).

use std::time::{Duration, Instant};

use base64::Engine as _;
use rand::Rng as _;
use serde_json::{Value, json};

use super::{EventInfo, Fan, ops};
use crate::{http::Http, metrics::unix_ms};

/// The admission a fan got.
#[derive(Clone, Debug)]
pub struct Admission {
    /// The bearer token for the sale path.
    pub token: String,
    /// Seats this admission may hold at once.
    pub seat_cap: u32,
}

/// `exp - iat` of a JWT, in seconds: the admission's lifetime.
pub fn token_lifetime_secs(token: &str) -> Option<i64> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    Some(claims["exp"].as_i64()? - claims["iat"].as_i64()?)
}

/// How long a session prepared before a measurement waits for its admission.
#[derive(Clone, Copy, Debug)]
pub struct Patience {
    /// Joins and heartbeats sent at most, the join included.
    pub requests: u32,
    /// The wait between two of them.
    pub gap: Duration,
}

/// Joins the queue as `access_token` and heartbeats until admitted: the admission token, or
/// `None` when patience ran out. Untimed and with no fan record, unlike
/// [`Fan::join_and_wait`]: these sessions only set a measurement up.
pub async fn join_until_admitted(
    http: &Http,
    n: usize,
    op: &str,
    event: &EventInfo,
    access_token: &str,
    patience: Patience,
) -> anyhow::Result<Option<String>> {
    for request in 0..patience.requests {
        if request > 0 {
            tokio::time::sleep(patience.gap).await;
        }
        let query = if request == 0 {
            ops::JOIN
        } else {
            ops::HEARTBEAT
        };
        let data = http
            .gql(
                n,
                op,
                "/graphql",
                query,
                json!({ "e": event.id.to_string() }),
                Some(access_token),
                &[],
            )
            .await?;
        // The answer's one field is `joinQueue` or `heartbeat`, whichever was sent.
        let status = data
            .as_object()
            .and_then(|o| o.values().next())
            .cloned()
            .unwrap_or_default();
        if let Some(token) = status["admission"]["token"].as_str() {
            return Ok(Some(token.to_owned()));
        }
    }
    Ok(None)
}

/// The outcome of a waiting fan told the event sold out: like most fans, they leave the line.
pub const TOLD_SOLD_OUT: &str = "told_sold_out";

/// True when a waiting fan's status says every seat is booked.
pub fn told_sold_out(status: &Value) -> bool {
    status["supply"] == "SOLD_OUT"
}

impl Fan<'_> {
    /// Joins the queue and waits for the turn. `None` when the fan's visit ended instead.
    pub async fn join_and_wait(&mut self, subscribe: bool) -> Option<Admission> {
        let admission = self.join_and_wait_for_turn(subscribe).await;
        if self.record.outcome == TOLD_SOLD_OUT {
            self.leave().await;
        }
        admission
    }

    async fn join_and_wait_for_turn(&mut self, subscribe: bool) -> Option<Admission> {
        let event = self.env.event.id.to_string();
        let joined = self.join(&event).await?;
        let waited_from = Instant::now();
        let (status, via) = if joined["state"] != "ADMITTED" && subscribe {
            self.record.subscribed = true;
            match self.wait_subscribed(&event).await {
                Ok(Some(admitted)) => (admitted, "subscription"),
                Ok(None) => return None,
                Err(_) => {
                    // The socket failed or closed: carry on like a client falling back to polling.
                    self.count("sub.fallback_to_polling");
                    (joined, "join")
                }
            }
        } else {
            (joined, "join")
        };
        let (status, via) = self.poll(&event, status, via, waited_from).await?;
        self.admitted(&status, via).await
    }

    /// `joinQueue`, timed on the fan's record: the queue status, or `None` when the queue
    /// said no.
    async fn join(&mut self, event: &str) -> Option<Value> {
        self.record.join_start_ms = Some(self.now_ms());
        let joined = self
            .public(
                "joinQueue",
                ops::JOIN,
                json!({ "e": event }),
                &["QUEUE_CLOSED"],
            )
            .await;
        self.record.join_done_ms = Some(self.now_ms());
        self.count("fans.join_done");
        let status = match joined {
            Ok(data) => data["joinQueue"].clone(),
            Err(error) if error.code == "QUEUE_CLOSED" => {
                self.end("queue_closed");
                return None;
            }
            Err(_) => {
                self.end("join_failed");
                return None;
            }
        };
        self.count("fans.joined");
        self.record.ticket = status["ticketNumber"].as_i64();
        self.record.eta.observe(&status, self.now_ms());
        Some(status)
    }

    /// Heartbeats until `status` says admitted: the admitted status and how the fan heard
    /// of it, or `None` when the fan gave up or the queue ended the visit.
    async fn poll(
        &mut self,
        event: &str,
        mut status: Value,
        mut via: &'static str,
        waited_from: Instant,
    ) -> Option<(Value, &'static str)> {
        let max_wait = Duration::from_secs_f64(self.env.wait.max_wait.max(1.0));
        while status["state"] != "ADMITTED" {
            match status["state"].as_str() {
                Some("WAITING") if told_sold_out(&status) => {
                    self.end(TOLD_SOLD_OUT);
                    return None;
                }
                Some("WAITING" | "PRESALE") | None => {}
                Some(other) => {
                    let outcome = other.to_ascii_lowercase();
                    self.end(&outcome);
                    return None;
                }
            }
            if waited_from.elapsed() > max_wait || tokio::time::Instant::now() >= self.env.deadline
            {
                self.end("gave_up_waiting");
                return None;
            }
            let gap = self.env.wait.poll_secs.max(0.2) * self.rng.random_range(0.8..1.2);
            tokio::time::sleep_until(
                (tokio::time::Instant::now() + Duration::from_secs_f64(gap)).min(self.env.deadline),
            )
            .await;
            match self
                .public("heartbeat", ops::HEARTBEAT, json!({ "e": event }), &[])
                .await
            {
                Ok(data) => status = data["heartbeat"].clone(),
                Err(_) => continue,
            }
            self.record.eta.observe(&status, self.now_ms());
            via = "polling";
        }
        Some((status, via))
    }

    /// Records the admission: when the fan saw it and when Redis made it.
    async fn admitted(&mut self, status: &Value, via: &str) -> Option<Admission> {
        let token = status["admission"]["token"].as_str()?.to_owned();
        let seen_unix = unix_ms();
        self.record.admitted_seen_ms = Some(self.now_ms());
        // The ETA is judged on Redis's instant when it is read below: a poll's lag is no
        // forecast's error.
        self.record.eta.admitted_ms = self.record.admitted_seen_ms;
        self.count("fans.admitted");
        if let (Some(done), Some(seen)) = (self.record.join_done_ms, self.record.admitted_seen_ms) {
            self.env
                .recorder
                .value("queue.time", ((seen - done).max(0.0) * 1e3) as u64);
        }
        if let (Some(store), Some(ttl)) = (&self.env.store, token_lifetime_secs(&token))
            && let Ok(Some(at)) = store.admitted_at(&self.record.fan, ttl * 1_000).await
        {
            self.record.admitted_unix_ms = Some(at);
            self.record.eta.admitted_ms = Some(at - self.env.recorder.t0_unix_ms());
            // Split by how the fan heard: a subscription's push, the next poll, or the join.
            self.env.recorder.value(
                &format!("admission.notice_lag.{via}"),
                ((seen_unix - at).max(0.0) * 1e3) as u64,
            );
        }
        Some(Admission {
            seat_cap: status["admission"]["seatCap"].as_u64().unwrap_or(1) as u32,
            token,
        })
    }

    /// Leaves the queue (frees the admission slot for the next fan).
    pub async fn leave(&self) {
        let _ = self
            .public(
                "leaveQueue",
                ops::LEAVE,
                json!({ "e": self.env.event.id.to_string() }),
                &["NOT_IN_QUEUE"],
            )
            .await;
    }

    /// Stays admitted a while, then leaves (`queue-rush`).
    pub async fn dwell_and_leave(&mut self) {
        self.pause(self.env.dwell_ms).await;
        self.leave().await;
        self.end("left_after_admission");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_lifetime_is_exp_minus_iat() {
        let claims =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"iat":1000,"exp":1900}"#);
        let token = format!("h.{claims}.s");

        assert_eq!(token_lifetime_secs(&token), Some(900));
        assert_eq!(token_lifetime_secs("nonsense"), None);
    }
}
