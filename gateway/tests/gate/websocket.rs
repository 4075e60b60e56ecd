//! WebSocket upgrades through the gateway, with the `graphql-transport-ws` protocol.
//!
//! Two tests use the real API's public subscription endpoint through the gateway, one of them
//! the whole journey: `queuePosition` delivers an admission whose token then opens the sale
//! route. The API has no sale-route subscriptions yet, so the others use a small fake upstream that speaks
//! enough of the protocol (`connection_init` -> `connection_ack`, one `next` per
//! `subscribe`) and echoes the upgrade's headers: what is under test is the gateway passing
//! the upgrade and the frames both ways, and gating it on the sale route.

use futures_util::{SinkExt as _, StreamExt as _};
use graphql_api::testing::{TestApp, TestRedis};
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
    assert_eq!(sale_data["upgradeHeaders"]["x-fan-id"], fan.user.as_str());
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

#[tokio::test]
async fn the_apis_subscription_endpoint_answers_through_the_gateway() {
    let app = TestApp::spawn().await;
    let gateway = Gateway::start(GatewayOptions::new(
        &[app.instance.address],
        &app.redis.url,
        &app.redis.prefix,
    ))
    .await;

    let mut socket = open(&format!("ws://{}/graphql", gateway.address))
        .await
        .expect("a socket to the API");
    send(
        &mut socket,
        json!({ "type": "connection_init", "payload": {} }),
    )
    .await;
    let ack = receive(&mut socket).await;
    send(&mut socket, json!({ "type": "ping" })).await;
    let pong = receive(&mut socket).await;

    assert_eq!(ack["type"], "connection_ack", "{ack}");
    assert_eq!(pong["type"], "pong", "{pong}");
}

const POSITION: &str = "subscription($e: ID!) { queuePosition(eventId: $e) { state \
    admission { token } } }";

#[tokio::test]
async fn a_queue_position_subscription_through_the_gateway_delivers_a_token_that_opens_the_sale() {
    use fred::prelude::HashesInterface as _;
    use graphql_api::{
        auth::Identity,
        queue::{self, ticker},
    };
    use tokens::store::QueueKeys;

    let app = TestApp::spawn_with(|config| config.queue_update_secs = 1).await;
    let state = &app.instance.state;
    let event_id = app.seed_event(10).await;
    let event = graphql_api::events::find_event_by_id(state, event_id)
        .await
        .expect("the event");
    let me = Identity {
        user_id: uuid::Uuid::new_v4(),
        role: entities::user::Role::Fan,
    };
    queue::join(state, &event, &me)
        .await
        .expect("joining the queue");
    let gateway = Gateway::start(GatewayOptions::new(
        &[app.instance.address],
        &app.redis.url,
        &app.redis.prefix,
    ))
    .await;
    let access = app.access_token(me.user_id, "FAN");

    let mut socket = open(&format!("ws://{}/graphql", gateway.address))
        .await
        .expect("a socket to the API");
    send(
        &mut socket,
        json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {access}") } }),
    )
    .await;
    assert_eq!(receive(&mut socket).await["type"], "connection_ack");
    send(
        &mut socket,
        json!({ "id": "1", "type": "subscribe",
                "payload": { "query": POSITION, "variables": { "e": event_id.to_string() } } }),
    )
    .await;
    let first = receive(&mut socket).await;
    assert_eq!(
        first["payload"]["data"]["queuePosition"]["state"], "WAITING",
        "{first}"
    );
    // Let the queue admit (the admin mutations would set these).
    let keys = QueueKeys::new(state.keys(), event_id);
    let _: i64 = state
        .redis()
        .hset(
            &keys.meta,
            vec![("rate", "1000".to_owned()), ("capacity", "100".to_owned())],
        )
        .await
        .expect("setting the admission rate");
    let active = ticker::ActiveEvent {
        id: event_id,
        opens_ms: event.sale_opens_at.timestamp_millis(),
        gate_enabled: true,
    };
    let mut token = None;
    for _ in 0..50 {
        ticker::tick_and_publish(state, &active)
            .await
            .expect("a tick");
        let Ok(frame) =
            tokio::time::timeout(std::time::Duration::from_millis(200), receive(&mut socket)).await
        else {
            continue;
        };
        if let Some(admitted) =
            frame["payload"]["data"]["queuePosition"]["admission"]["token"].as_str()
        {
            token = Some(admitted.to_owned());
            break;
        }
    }
    let token = token.expect("an admission token over the gateway's socket");
    let sale = reqwest::Client::new()
        .post(format!("{}/sale/{event_id}/graphql", gateway.url))
        .bearer_auth(&token)
        .json(&json!({ "query": "{ seatCategories { name } }" }))
        .send()
        .await
        .expect("a response");

    assert_eq!(sale.status().as_u16(), 200);
    let body: Value = sale.json().await.expect("JSON");
    assert!(body["data"]["seatCategories"].is_array(), "{body}");
}
