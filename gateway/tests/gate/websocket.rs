//! WebSocket upgrades through the gateway, with the `graphql-transport-ws` protocol.
//!
//! The API has no subscription endpoint yet, so the upstream here is a small fake that
//! speaks enough of the protocol (`connection_init` -> `connection_ack`, one `next` per
//! `subscribe`); what is under test is the gateway passing the upgrade and the frames both
//! ways, and gating it on the sale route.

use futures_util::{SinkExt as _, StreamExt as _};
use graphql_api::testing::TestRedis;
use serde_json::{Value, json};
use tokio_tungstenite::{
    connect_async,
    tungstenite::{Message, client::IntoClientRequest as _, http::HeaderValue},
};

use crate::{
    fakes::EchoUpstream,
    support::{Gateway, GatewayOptions, admit, redis},
};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open(url: &str) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
    let mut request = url.into_client_request().expect("a WebSocket request");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    connect_async(request).await.map(|(socket, _)| socket)
}

async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .expect("sending a frame");
}

async fn receive(socket: &mut Socket) -> Value {
    loop {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(5), socket.next())
            .await
            .expect("a frame within 5 s")
            .expect("an open socket")
            .expect("a readable frame");
        if let Message::Text(text) = frame {
            return serde_json::from_str(text.as_str()).expect("a JSON frame");
        }
    }
}

/// Runs the protocol's opening and one subscription; returns the `next` payload.
async fn subscribe_once(socket: &mut Socket) -> Value {
    send(socket, json!({ "type": "connection_init", "payload": {} })).await;
    assert_eq!(receive(socket).await["type"], "connection_ack");
    send(
        socket,
        json!({ "id": "1", "type": "subscribe", "payload": { "query": "subscription { x }" } }),
    )
    .await;
    let next = receive(socket).await;
    assert_eq!(next["type"], "next", "{next}");
    assert_eq!(receive(socket).await["type"], "complete");
    next["payload"]["data"].clone()
}

#[tokio::test]
async fn a_graphql_ws_subscription_passes_through_on_both_route_kinds() {
    let redis_ns = TestRedis::new();
    let upstream = EchoUpstream::start().await;
    let client = redis(&redis_ns.url).await;
    let fan = admit(&client, &redis_ns.prefix, "fan-ws", 9, 600, 0).await;
    let gateway = Gateway::start(GatewayOptions::new(
        &[upstream.address],
        &redis_ns.url,
        &redis_ns.prefix,
    ))
    .await;
    let base = format!("ws://{}", gateway.address);

    let mut public = open(&format!("{base}/graphql"))
        .await
        .expect("public socket");
    let public_data = subscribe_once(&mut public).await;
    // Browsers cannot set headers on a WebSocket: the token rides in the query string.
    let mut sale = open(&format!("{base}/sale/9/graphql?access_token={}", fan.token))
        .await
        .expect("sale socket");
    let sale_data = subscribe_once(&mut sale).await;

    assert!(public_data["upgradeHeaders"].get("x-fan-id").is_none());
    assert_eq!(sale_data["upgradeHeaders"]["x-fan-id"], "fan-ws");
    assert_eq!(
        sale_data["upgradeHeaders"]["sec-websocket-protocol"],
        "graphql-transport-ws"
    );
}

#[tokio::test]
async fn a_sale_websocket_without_a_token_is_refused_before_the_upgrade() {
    let redis_ns = TestRedis::new();
    let upstream = EchoUpstream::start().await;
    let gateway = Gateway::start(GatewayOptions::new(
        &[upstream.address],
        &redis_ns.url,
        &redis_ns.prefix,
    ))
    .await;

    let refused = open(&format!("ws://{}/sale/9/graphql", gateway.address)).await;

    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 401);
        }
        other => panic!("expected an HTTP 401 refusal, got {other:?}"),
    }
    let reached = upstream.requests.lock().expect("requests").clone();
    assert!(reached.is_empty(), "{reached:?}");
}
