//! A small `graphql-transport-ws` client for tests, over a real WebSocket.

use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, connect_async,
    tungstenite::{client::IntoClientRequest as _, http::HeaderValue, protocol::Message},
};

/// One open, acknowledged connection.
pub struct WsClient {
    socket: WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>,
}

impl WsClient {
    /// Connects to `url` (ws://...), sends `connection_init` with `payload`, awaits the ack.
    pub async fn connect(url: &str, payload: Value) -> Self {
        let mut request = url.into_client_request().expect("a ws request");
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static("graphql-transport-ws"),
        );
        let (socket, _) = connect_async(request).await.expect("connecting");
        let mut client = Self { socket };
        client
            .send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        let ack = client.next_message().await;
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        client
    }

    pub async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::Text(message.to_string().into()))
            .await
            .expect("sending");
    }

    /// Starts a subscription with id `id`.
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } })).await;
    }

    /// The next protocol message (answering pings), within 20 s.
    pub async fn next_message(&mut self) -> Value {
        tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                match self.socket.next().await {
                    Some(Ok(Message::Text(text))) => {
                        let value: Value = serde_json::from_str(&text).expect("json");
                        if value["type"] == "ping" {
                            self.send(json!({ "type": "pong" })).await;
                            continue;
                        }
                        return value;
                    }
                    Some(Ok(_)) => continue,
                    other => panic!("the socket ended: {other:?}"),
                }
            }
        })
        .await
        .expect("a message within 20 s")
    }

    /// The next `next` payload's data for subscription `id`, or the error message.
    pub async fn next_payload(&mut self, id: &str) -> Value {
        loop {
            let message = self.next_message().await;
            if message["id"] == id {
                return message;
            }
        }
    }
}

/// An event's sale WebSocket on one instance, with the admission token in the query.
pub fn sale_ws(address: std::net::SocketAddr, event: i64, token: &str) -> String {
    format!("ws://{address}/sale/{event}/graphql?access_token={token}")
}
