//! GraphQL subscriptions as fans hold them: one WebSocket per fan from one of several
//! 127.0.0.x source addresses (one address gives at most ~28k ports towards one server),
//! `graphql-transport-ws` through graphql-ws-client on tokio-tungstenite 0.28, with small
//! socket buffers so tens of thousands of idle fans fit in a few processes.

use std::{net::SocketAddr, time::Duration};

use anyhow::{Context as _, bail};
use futures_util::Stream;
use graphql_ws_client::{Client, Connection, Message, graphql::GraphqlOperation};
use serde::Serialize;
use serde_json::Value;
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::{
    client::IntoClientRequest as _, http::HeaderValue, protocol::WebSocketConfig,
};

use crate::http::{ensure_loopback, source_ip};

/// How often a socket pings, whatever it receives: what the web client does (npm
/// `graphql-ws` `keepAlive: 15_000`); the API closes sockets whose client said nothing for
/// WS_IDLE_TIMEOUT_SECS, even while it is sending them updates.
const PING_EVERY: Duration = Duration::from_secs(15);
/// Read and write buffer per socket; the messages are a few hundred bytes.
const SOCKET_BUFFER: usize = 4 * 1024;

/// A GraphQL operation given as text, answered as raw JSON (`{data, errors}`).
#[derive(Clone, Debug, Serialize)]
pub struct RawOperation {
    pub query: String,
    pub variables: Value,
}

impl GraphqlOperation for RawOperation {
    type Response = Value;
    type Error = serde_json::Error;

    fn decode(&self, data: Value) -> Result<Self::Response, Self::Error> {
        Ok(data)
    }
}

/// A connection that sends a `graphql-transport-ws` ping every [`PING_EVERY`] whatever
/// arrives (graphql-ws-client's own keep-alive only pings a silent connection).
struct Pinging<C> {
    inner: C,
    every: tokio::time::Interval,
}

impl<C: Connection + Send> Connection for Pinging<C> {
    async fn receive(&mut self) -> Option<Message> {
        loop {
            let Self { inner, every } = self;
            // Receiving is cancel-safe (a stream's next()), so a tick may interrupt it.
            let ticked = tokio::select! {
                message = inner.receive() => return message,
                _ = every.tick() => true,
            };
            if ticked
                && inner
                    .send(Message::Text(r#"{"type":"ping"}"#.to_owned()))
                    .await
                    .is_err()
            {
                return None;
            }
        }
    }

    async fn send(&mut self, message: Message) -> Result<(), graphql_ws_client::Error> {
        self.inner.send(message).await
    }
}

/// `host:port` of a `http://` or `ws://` base URL.
pub fn socket_address(base: &str) -> anyhow::Result<SocketAddr> {
    let rest = base.split("://").nth(1).context("a URL needs a scheme")?;
    let authority = rest.split('/').next().unwrap_or_default();
    let authority = if authority.starts_with("localhost") {
        authority.replacen("localhost", "127.0.0.1", 1)
    } else {
        authority.to_owned()
    };
    let with_port = if authority.contains(':') {
        authority
    } else {
        format!("{authority}:80")
    };
    with_port
        .parse()
        .with_context(|| format!("{base} does not name an IPv4 address and port"))
}

/// Opens a socket from source address `n`, upgrades it at `base` + `path`, sends
/// `connection_init` with `token`, and subscribes. The stream yields each `next` payload.
pub async fn subscribe(
    base: &str,
    path: &str,
    n: usize,
    source_ips: u8,
    token: &str,
    operation: RawOperation,
) -> anyhow::Result<impl Stream<Item = Result<Value, graphql_ws_client::Error>> + use<>> {
    ensure_loopback(base)?;
    let address = socket_address(base)?;
    let socket = TcpSocket::new_v4().context("a socket")?;
    socket
        .bind(SocketAddr::new(source_ip(n, source_ips), 0))
        .context("binding a source address")?;
    let stream = socket
        .connect(address)
        .await
        .with_context(|| format!("connecting to {address}"))?;
    stream.set_nodelay(true).ok();
    let ws_base = base.replacen("http", "ws", 1);
    let mut request = format!("{}{path}", ws_base.trim_end_matches('/'))
        .into_client_request()
        .context("a WebSocket request")?;
    // The API's GraphQLProtocol extractor answers 400 without it.
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let config = WebSocketConfig::default()
        .read_buffer_size(SOCKET_BUFFER)
        .write_buffer_size(0)
        .max_write_buffer_size(64 * 1024);
    let (socket, response) =
        tokio_tungstenite::client_async_with_config(request, stream, Some(config))
            .await
            .context("upgrading to a WebSocket")?;
    if response.status().as_u16() != 101 {
        bail!("upgrade refused with {}", response.status());
    }
    let mut every = tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let subscription = Client::build(Pinging {
        inner: socket,
        every,
    })
    .payload(serde_json::json!({ "authorization": format!("Bearer {token}") }))
    .context("connection_init payload")?
    .subscription_buffer_size(8)
    .subscribe(operation)
    .await
    .context("subscribing")?;
    Ok(subscription)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_addresses_come_from_base_urls() {
        assert_eq!(
            socket_address("http://127.0.0.1:8000").expect("parses"),
            "127.0.0.1:8000".parse().expect("address")
        );
        assert_eq!(
            socket_address("ws://localhost:9001/graphql")
                .expect("parses")
                .port(),
            9001
        );
        assert_eq!(
            socket_address("http://127.0.0.3").expect("parses").port(),
            80
        );
    }
}
