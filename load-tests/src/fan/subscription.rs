//! The wait on a `queuePosition` subscription: the socket opened and timed, each pushed
//! position timed against when the queue changed, until the admission or another end.

use std::{
    ops::ControlFlow,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use futures_util::{Stream, StreamExt as _};
use serde_json::{Value, json};

use super::{Fan, ops};
use crate::{
    metrics::{Outcome, micros, unix_ms},
    ws::{self, RawOperation},
};

impl Fan<'_> {
    /// Holds a `queuePosition` subscription until the admission (`Some`) or another end.
    pub(super) async fn wait_subscribed(&mut self, event: &str) -> anyhow::Result<Option<Value>> {
        let (started, mut stream) = self.open_subscription(event).await?;
        self.count("ws.opened");
        let max_wait = Duration::from_secs_f64(self.env.wait.max_wait.max(1.0));
        let until = (tokio::time::Instant::now() + max_wait).min(self.env.deadline);
        let mut first = true;
        let result = loop {
            let next = tokio::time::timeout_at(until, stream.next()).await;
            let message = match next {
                Err(_) => {
                    self.end("gave_up_waiting");
                    break Ok(None);
                }
                Ok(None) => {
                    self.count("ws.dropped");
                    break Err(anyhow::anyhow!("the subscription ended"));
                }
                Ok(Some(Err(error))) => {
                    self.count("ws.dropped");
                    break Err(anyhow::anyhow!("subscription error: {error}"));
                }
                Ok(Some(Ok(message))) => message,
            };
            let now = unix_ms();
            if first {
                self.env
                    .recorder
                    .value("sub.first_message", micros(started.elapsed()));
                first = false;
            }
            if let ControlFlow::Break(end) = self.on_position(&message, now) {
                break end;
            }
        };
        self.count("ws.closed");
        result
    }

    /// Opens a socket on this fan's WebSocket base and subscribes, timed as `ws.subscribe`:
    /// when the opening started, and the stream of pushed payloads.
    async fn open_subscription(
        &self,
        event: &str,
    ) -> anyhow::Result<(
        Instant,
        impl Stream<Item = Result<Value, graphql_ws_client::Error>> + use<>,
    )> {
        let account = self.account.clone().context("a fan needs an account")?;
        let targets = &self.env.ws_targets;
        let base = &targets[self.n % targets.len()];
        let started = Instant::now();
        let opened = ws::subscribe(
            base,
            "/graphql",
            self.n,
            self.env.source_ips,
            &account.access_token,
            RawOperation {
                query: ops::POSITION.to_owned(),
                variables: json!({ "e": event }),
            },
        )
        .await;
        let outcome = match &opened {
            Ok(_) => Outcome::Ok,
            Err(error) => {
                // WS_CONNECT alone does not say what failed: count the step and its cause.
                self.count(&format!("ws.connect_failed.{}", connect_failure(error)));
                Outcome::Error("WS_CONNECT".into())
            }
        };
        self.env
            .recorder
            .request("ws.subscribe", started.elapsed(), outcome);
        Ok((started, opened?))
    }

    /// Reads one pushed position received at `received_unix_ms`: `Break` with how the wait
    /// ended (admitted, another end of the visit, or an error), `Continue` while it goes on.
    fn on_position(
        &mut self,
        message: &Value,
        received_unix_ms: f64,
    ) -> ControlFlow<anyhow::Result<Option<Value>>> {
        if let Some(code) = message["errors"][0]["extensions"]["code"].as_str() {
            self.env.recorder.request(
                "ws.message",
                Duration::ZERO,
                Outcome::Error(code.to_owned()),
            );
            return ControlFlow::Break(Err(anyhow::anyhow!("subscription error {code}")));
        }
        let status = message["data"]["queuePosition"].clone();
        self.count("sub.messages");
        self.record
            .eta
            .observe(&status, received_unix_ms - self.env.recorder.t0_unix_ms());
        if let Some(at) = status["updatedAt"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        {
            let lag_ms = received_unix_ms - at.timestamp_micros() as f64 / 1e3;
            self.env
                .recorder
                .value("sub.lag", (lag_ms.max(0.0) * 1e3) as u64);
        }
        match status["state"].as_str() {
            Some("ADMITTED") => ControlFlow::Break(Ok(Some(status))),
            Some("WAITING") if super::queue::told_sold_out(&status) => {
                self.end(super::queue::TOLD_SOLD_OUT);
                ControlFlow::Break(Ok(None))
            }
            Some("WAITING" | "PRESALE") | None => ControlFlow::Continue(()),
            Some(other) => {
                let outcome = other.to_ascii_lowercase();
                self.end(&outcome);
                ControlFlow::Break(Ok(None))
            }
        }
    }
}

/// Which step of opening a subscription failed (`connect`, `upgrade`, `subscribe`, or
/// `other`, from the context [`ws::subscribe`] gives its errors) and, for a socket error,
/// its kind: `connect.ConnectionRefused`, `upgrade.TimedOut`, `subscribe`...
fn connect_failure(error: &anyhow::Error) -> String {
    let context = error.to_string();
    let step = if context.starts_with("connecting to") {
        "connect"
    } else if context.starts_with("upgrading") || context.starts_with("upgrade refused") {
        "upgrade"
    } else if context.starts_with("subscribing") || context.starts_with("connection_init") {
        "subscribe"
    } else {
        "other"
    };
    let io = error.chain().find_map(|cause| {
        cause.downcast_ref::<std::io::Error>().or_else(|| {
            match cause.downcast_ref::<tokio_tungstenite::tungstenite::Error>() {
                Some(tokio_tungstenite::tungstenite::Error::Io(io)) => Some(io),
                _ => None,
            }
        })
    });
    // An upgrade answered with another status than 101 (a gate failing closed, a limit).
    let status = error.chain().find_map(|cause| {
        match cause.downcast_ref::<tokio_tungstenite::tungstenite::Error>() {
            Some(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                Some(response.status().as_u16())
            }
            _ => None,
        }
    });
    match (io, status) {
        (Some(io), _) => format!("{step}.{:?}", io.kind()),
        (None, Some(status)) => format!("{step}.HTTP_{status}"),
        (None, None) => step.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::connect_failure;
    use anyhow::Context as _;

    #[test]
    fn a_failed_opening_says_its_step_and_socket_error() {
        let refused: anyhow::Result<()> =
            Err(std::io::Error::from(std::io::ErrorKind::ConnectionRefused))
                .context("connecting to 127.0.0.1:1");
        assert_eq!(
            connect_failure(&refused.expect_err("an error")),
            "connect.ConnectionRefused"
        );
        let refused_upgrade = anyhow::anyhow!("upgrade refused with 503 Service Unavailable");
        assert_eq!(connect_failure(&refused_upgrade), "upgrade");
        let reset: anyhow::Result<()> = Err(tokio_tungstenite::tungstenite::Error::Io(
            std::io::Error::from(std::io::ErrorKind::ConnectionReset),
        ))
        .context("upgrading to a WebSocket");
        assert_eq!(
            connect_failure(&reset.expect_err("an error")),
            "upgrade.ConnectionReset"
        );
        let mut refused = tokio_tungstenite::tungstenite::http::Response::new(None);
        *refused.status_mut() =
            tokio_tungstenite::tungstenite::http::StatusCode::SERVICE_UNAVAILABLE;
        let refused: anyhow::Result<()> = Err(tokio_tungstenite::tungstenite::Error::Http(
            Box::new(refused),
        ))
        .context("upgrading to a WebSocket");
        assert_eq!(
            connect_failure(&refused.expect_err("an error")),
            "upgrade.HTTP_503"
        );
        assert_eq!(
            connect_failure(&anyhow::anyhow!("subscribing")),
            "subscribe"
        );
    }
}
