//! Over WebSocket: batched fields and a hold answer as over HTTP, and a socket that starts
//! too many operations is told to wait.

use graphql_api::testing::{TestApp, first_error_code};
use serde_json::json;

use crate::{
    hostile_support::{over_ws, public_ws, sale_ws},
    sale_support::{admitted, key, seat_ids},
    ws_client::WsClient,
};

#[tokio::test]
async fn every_dataloader_field_answers_the_same_over_http_and_websocket() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(20).await;
    let fan = admitted(&app, event).await;
    let public = [
        "{ events { id categories { name } } }".to_owned(),
        format!("{{ event(id: {event}) {{ id categories {{ name colour }} }} }}"),
    ];
    let sale = [
        "{ seatCategories { name } }",
        "{ availability { total available categories { category { name } available } } }",
        "{ seats(first: 3) { edges { node { id category { name } } } } }",
        "{ event { id categories { name } } }",
    ];

    for query in &public {
        let http = app.public(query, json!({})).await;
        let socket = over_ws(&public_ws(&app), query, json!({})).await;
        assert!(http.get("errors").is_none(), "{query}: {http}");
        assert_eq!(socket["data"], http["data"], "{query}: {socket}");
        assert!(socket.get("errors").is_none(), "{query}: {socket}");
    }
    for query in sale {
        let http = app.sale_as(&fan.token, event, query, json!({})).await;
        let socket = over_ws(&sale_ws(&app, event, &fan.token), query, json!({})).await;
        assert!(http.get("errors").is_none(), "{query}: {http}");
        assert_eq!(socket["data"], http["data"], "{query}: {socket}");
    }
}

#[tokio::test]
async fn a_hold_made_over_websocket_is_answered_as_made() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(20).await;
    let fan = admitted(&app, event).await;
    let seats: Vec<String> = seat_ids(&app.db.connection, event, 2)
        .await
        .iter()
        .map(i64::to_string)
        .collect();
    let lock = "mutation($seats: [ID!]!, $key: String!) { lockSeats(seatIds: $seats, idempotencyKey: $key) { id status seats { id status category { name } } } }";

    let answer = over_ws(
        &sale_ws(&app, event, &fan.token),
        lock,
        json!({ "seats": seats, "key": key() }),
    )
    .await;
    let mine = app
        .sale_as(&fan.token, event, "{ myHold { id } }", json!({}))
        .await;

    assert!(answer.get("errors").is_none(), "{answer}");
    assert_eq!(answer["data"]["lockSeats"]["status"], "ACTIVE", "{answer}");
    assert_eq!(
        answer["data"]["lockSeats"]["id"], mine["data"]["myHold"]["id"],
        "{mine}"
    );
}

#[tokio::test]
async fn a_socket_that_starts_too_many_operations_is_told_to_wait() {
    let app = TestApp::spawn_with(|config| config.ws_operations_per_sec = 2).await;
    let mut client = WsClient::connect(&public_ws(&app), json!({})).await;

    let mut codes = Vec::new();
    for id in 0..8 {
        client
            .subscribe(&id.to_string(), "{ events { id } }", json!({}))
            .await;
        let answer = client.next_payload(&id.to_string()).await;
        codes.push(first_error_code(&answer["payload"]).map(str::to_owned));
    }

    assert_eq!(
        codes.iter().filter(|code| code.is_none()).count(),
        4,
        "{codes:?}"
    );
    assert!(
        codes.iter().flatten().all(|code| code == "RATE_LIMITED"),
        "{codes:?}"
    );
}
