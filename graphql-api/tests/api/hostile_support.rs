//! Helpers for the hostile-request tests: requests over both transports, and checks that
//! the API still stands.

use graphql_api::testing::TestApp;
use serde_json::{Value, json};

use crate::{sale_support::scalar, ws_client::WsClient};

/// `{ event(id: [[[...1...]]]) { id } }`, nested `levels` deep.
pub fn deep_list(levels: usize) -> String {
    format!(
        "{{ event(id: {}1{}) {{ id }} }}",
        "[".repeat(levels),
        "]".repeat(levels)
    )
}

/// The status and body of a POST of `body` to `path`.
pub async fn post(app: &TestApp, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    app.post_json_as(token, path, &body).await
}

/// The payload of the first message answering one operation over a fresh WebSocket.
pub async fn over_ws(url: &str, query: &str, variables: Value) -> Value {
    let mut client = WsClient::connect(url, json!({})).await;
    client.subscribe("1", query, variables).await;
    client.next_payload("1").await["payload"].clone()
}

/// The public schema's WebSocket address.
pub fn public_ws(app: &TestApp) -> String {
    format!("ws://{}/graphql", app.instance.address)
}

/// An event's sale WebSocket address, the fan's token in its query string (as browsers send it).
pub fn sale_ws(app: &TestApp, event: i64, token: &str) -> String {
    format!(
        "ws://{}/sale/{event}/graphql?access_token={token}",
        app.instance.address
    )
}

/// Fails unless the API still answers its liveness probe: nothing hostile took it down.
pub async fn alive(app: &TestApp) {
    let health = reqwest::get(format!("{}/healthz", app.base_url()))
        .await
        .expect("the API still answers");
    assert_eq!(health.status().as_u16(), 200);
}

/// One number from the test's own database.
pub async fn count(app: &TestApp, sql: &str) -> i64 {
    scalar(&app.db.connection, sql).await
}

/// `{ ...F0 }` through `links` fragments each spreading the next, the last asking for events:
/// `links + 2` levels deep as async-graphql counts (each spread a level, `events` one more).
pub fn fragment_chain(links: usize) -> String {
    let mut query = String::from("{ ...F0 }\n");
    for link in 0..links {
        query.push_str(&format!(
            "fragment F{link} on PublicQuery {{ ...F{} }}\n",
            link + 1
        ));
    }
    query.push_str(&format!(
        "fragment F{links} on PublicQuery {{ events {{ id }} }}\n"
    ));
    query
}
