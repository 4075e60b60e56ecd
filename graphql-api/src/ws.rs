//! GraphQL subscriptions over WebSocket (`graphql-transport-ws`), with the care a rush needs:
//! small per-socket buffers (axum's default 128 KiB each way would cost ~140 KB per idle
//! fan), an idle timeout (clients ping), a cap on subscriptions per socket, and identity
//! read from `connection_init` (browsers cannot set headers on a WebSocket).
//!
//! A `connection_init` without a token, or with a bad one, is still acknowledged: the
//! subscriptions that need a user then fail with a coded error (`UNAUTHENTICATED`,
//! `TOKEN_EXPIRED`...), which a client can act on, rather than a bare close that the npm
//! `graphql-ws` client treats as fatal (async-graphql closes refused inits with 1002).

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use async_graphql::{Data, Executor};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::{extract::ws::WebSocketUpgrade, response::Response};

use crate::{
    auth::{Auth, now_secs},
    error::{ApiError, ApiResult},
    guard::SocketBudget,
    state::AppState,
};

/// Bytes of read and write buffer per socket.
const SOCKET_BUFFER: usize = 4 * 1024;
/// Largest message a client may send (a subscribe message is far smaller).
const MAX_MESSAGE: usize = 64 * 1024;

/// Counts one socket's subscriptions against its cap.
#[derive(Clone, Debug)]
pub struct SubscriptionSlots {
    used: Arc<AtomicUsize>,
    max: usize,
}

/// Holds one subscription slot; frees it when the subscription ends.
#[derive(Debug)]
pub struct SlotGuard {
    used: Arc<AtomicUsize>,
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        self.used.fetch_sub(1, Ordering::AcqRel);
    }
}

impl SubscriptionSlots {
    pub fn new(max: usize) -> Self {
        Self {
            used: Arc::new(AtomicUsize::new(0)),
            max,
        }
    }

    /// Takes a slot, or `TOO_MANY_SUBSCRIPTIONS`.
    pub fn acquire(&self) -> ApiResult<SlotGuard> {
        let previous = self.used.fetch_add(1, Ordering::AcqRel);
        if previous >= self.max {
            self.used.fetch_sub(1, Ordering::AcqRel);
            return Err(ApiError::TooManySubscriptions { max: self.max });
        }
        Ok(SlotGuard {
            used: self.used.clone(),
        })
    }
}

/// The bearer token in a `connection_init` payload: `{"authorization": "Bearer ..."}` (any
/// case), or `{"accessToken": "..."}`.
pub fn token_in(payload: &serde_json::Value) -> Option<String> {
    let object = payload.as_object()?;
    object
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case("authorization") || key.as_str() == "accessToken")
        .and_then(|(_, value)| value.as_str())
        .map(str::to_owned)
}

/// Upgrades to a GraphQL WebSocket serving `executor`, with identity from `connection_init`.
pub fn serve<E: Executor>(
    app: AppState,
    executor: E,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
    extra: Option<Data>,
) -> Response {
    let idle = Duration::from_secs(app.config().ws_idle_timeout_secs.max(5));
    upgrade
        .read_buffer_size(SOCKET_BUFFER)
        .write_buffer_size(SOCKET_BUFFER)
        .max_message_size(MAX_MESSAGE)
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| {
            let mut socket_data = extra.unwrap_or_default();
            socket_data.insert(SubscriptionSlots::new(app.config().ws_max_subscriptions));
            if let Some(budget) = SocketBudget::new(app.config().ws_operations_per_sec) {
                socket_data.insert(budget);
            }
            GraphQLWebSocket::new(socket, executor, protocol)
                .with_data(socket_data)
                .on_connection_init(move |payload| async move {
                    let token = token_in(&payload);
                    let mut data = Data::default();
                    data.insert(Auth::from_bearer(
                        token.as_deref(),
                        app.access_keys(),
                        now_secs(),
                    ));
                    Ok(data)
                })
                .keepalive_timeout(idle)
                .serve()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_found_under_any_usual_name() {
        assert_eq!(
            token_in(&serde_json::json!({"authorization": "Bearer a"})).as_deref(),
            Some("Bearer a")
        );
        assert_eq!(
            token_in(&serde_json::json!({"Authorization": "Bearer b"})).as_deref(),
            Some("Bearer b")
        );
        assert_eq!(
            token_in(&serde_json::json!({"accessToken": "c"})).as_deref(),
            Some("c")
        );
        assert_eq!(token_in(&serde_json::json!({})), None);
        assert_eq!(token_in(&serde_json::json!(null)), None);
    }

    #[test]
    fn slots_are_capped_and_freed() {
        let slots = SubscriptionSlots::new(2);
        let a = slots.acquire().expect("first");
        let _b = slots.acquire().expect("second");
        assert!(slots.acquire().is_err());
        drop(a);
        assert!(slots.acquire().is_ok());
    }
}
