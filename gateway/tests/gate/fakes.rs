//! Fake upstreams for what the API cannot show: the headers it received, a WebSocket
//! endpoint speaking enough `graphql-transport-ws`, and an instance that takes requests and
//! dies without answering.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};

use axum::{
    Json, Router,
    extract::{
        FromRequest as _, Request,
        ws::{Message, WebSocket, WebSocketUpgrade},
    },
    http::HeaderMap,
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpListener,
    task::JoinHandle,
};

/// Answers every request with what it received (method, path, headers), and upgrades
/// WebSockets into a tiny `graphql-transport-ws` server. Stops when dropped.
pub struct EchoUpstream {
    pub address: SocketAddr,
    /// Every request received, except health checks: `(method, path)`.
    pub requests: Arc<Mutex<Vec<(String, String)>>>,
    task: JoinHandle<()>,
}

impl EchoUpstream {
    pub async fn start() -> Self {
        Self::start_with_health(true).await
    }

    /// An instance whose health check fails (503) while it answers every other request, as
    /// an instance too busy to pass its check in time still does.
    pub async fn start_failing_health_checks() -> Self {
        Self::start_with_health(false).await
    }

    async fn start_with_health(healthy: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binding");
        let address = listener.local_addr().expect("address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let app = Router::new()
            .route(
                "/healthz",
                get(move || async move {
                    if healthy {
                        (axum::http::StatusCode::OK, "ok")
                    } else {
                        (axum::http::StatusCode::SERVICE_UNAVAILABLE, "busy")
                    }
                }),
            )
            .fallback(move |request: Request| {
                let seen = seen.clone();
                async move { echo(request, seen).await }
            });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            address,
            requests,
            task,
        }
    }
}

impl Drop for EchoUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn header_map(headers: &HeaderMap) -> Value {
    let map: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                json!(value.to_str().unwrap_or_default()),
            )
        })
        .collect();
    Value::Object(map)
}

async fn echo(request: Request, seen: Arc<Mutex<Vec<(String, String)>>>) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    if let Ok(mut seen) = seen.lock() {
        seen.push((method.clone(), path.clone()));
    }
    let headers = header_map(request.headers());
    let is_upgrade = request
        .headers()
        .get("upgrade")
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"websocket"));
    if is_upgrade {
        return match WebSocketUpgrade::from_request(request, &()).await {
            Ok(upgrade) => upgrade
                .protocols(["graphql-transport-ws"])
                .on_upgrade(move |socket| graphql_ws(socket, headers))
                .into_response(),
            Err(rejection) => rejection.into_response(),
        };
    }
    // Read the body before answering, as the API does: hyper closes a connection whose
    // request body it could not drain right after answering on it, when the gateway may
    // already have taken it from its pool for the next request (a false upstream failure).
    let _ = axum::body::to_bytes(request.into_body(), 1 << 20).await;
    Json(json!({ "method": method, "path": path, "headers": headers })).into_response()
}

/// `connection_init` -> `connection_ack`; `subscribe` -> one `next` with the upgrade
/// request's headers, then `complete`; `ping` -> `pong`.
async fn graphql_ws(mut socket: WebSocket, headers: Value) {
    while let Some(Ok(message)) = socket.recv().await {
        let Message::Text(text) = message else {
            continue;
        };
        let Ok(message) = serde_json::from_str::<Value>(text.as_str()) else {
            continue;
        };
        let replies = match message["type"].as_str() {
            Some("connection_init") => vec![json!({ "type": "connection_ack" })],
            Some("ping") => vec![json!({ "type": "pong" })],
            Some("subscribe") => vec![
                json!({
                    "id": message["id"],
                    "type": "next",
                    "payload": { "data": { "upgradeHeaders": headers } }
                }),
                json!({ "id": message["id"], "type": "complete" }),
            ],
            _ => Vec::new(),
        };
        for reply in replies {
            if socket
                .send(Message::Text(reply.to_string().into()))
                .await
                .is_err()
            {
                return;
            }
        }
    }
}

/// An instance that passes health checks but takes every other request and closes the
/// connection without answering, as an instance dying mid-request would.
pub struct Dropper {
    pub address: SocketAddr,
    /// Requests taken and dropped, by method.
    pub posts: Arc<AtomicUsize>,
    pub gets: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Dropper {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binding");
        let address = listener.local_addr().expect("address");
        let posts = Arc::new(AtomicUsize::new(0));
        let gets = Arc::new(AtomicUsize::new(0));
        let (p, g) = (posts.clone(), gets.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let (p, g) = (p.clone(), g.clone());
                tokio::spawn(async move {
                    let mut buffer = vec![0_u8; 64 * 1024];
                    let mut read = 0;
                    // Read the request head (bodies here are small and arrive with it).
                    while !buffer[..read].windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buffer[read..]).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => read += n,
                        }
                    }
                    let head = String::from_utf8_lossy(&buffer[..read]).to_string();
                    if head.starts_with("GET /healthz ") {
                        let _ = stream
                            .write_all(
                                b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                            )
                            .await;
                    } else if head.starts_with("POST ") {
                        p.fetch_add(1, Ordering::SeqCst);
                    } else {
                        g.fetch_add(1, Ordering::SeqCst);
                    }
                    // Dropping the stream closes it with no answer.
                });
            }
        });
        Self {
            address,
            posts,
            gets,
            task,
        }
    }
}

impl Drop for Dropper {
    fn drop(&mut self) {
        self.task.abort();
    }
}
