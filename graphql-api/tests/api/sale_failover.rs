//! An API instance lost mid-sale: a fan's seat map, subscribed on that instance, reconnects to
//! another one. The event-wide sequence numbers tell the client what it missed while away (a
//! hole between the last batch it applied and the next one it gets), the snapshot says which
//! sequence it includes, and the client ends with exactly the seat states Postgres has.

use std::time::Duration;

use graphql_api::testing::TestApp;
use serde_json::{Value, json};

use crate::{
    sale_support::{admitted, lock, seat_ids, seat_status},
    ws_client::{WsClient, sale_ws},
};

const CHANGES: &str =
    "subscription { seatAvailability { fromSequence toSequence changes { seatId status } } }";
const STATES: &str = "{ seatStates { sequence states } }";

/// A seat map as the web client keeps it: states in seat-id order and the sequence they include.
struct View {
    first_seat: i64,
    states: Vec<u8>,
    sequence: i64,
}

impl View {
    fn load(first_seat: i64, answer: &Value) -> Self {
        let snapshot = &answer["data"]["seatStates"];
        Self {
            first_seat,
            states: snapshot["states"]
                .as_str()
                .expect("states")
                .as_bytes()
                .to_vec(),
            sequence: snapshot["sequence"].as_i64().expect("sequence"),
        }
    }

    /// Applies a batch; false when it leaves a hole (the snapshot must be fetched again).
    fn apply(&mut self, message: &Value) -> bool {
        let batch = &message["payload"]["data"]["seatAvailability"];
        let (from, to) = (
            batch["fromSequence"].as_i64().expect("from"),
            batch["toSequence"].as_i64().expect("to"),
        );
        if to <= self.sequence {
            return true;
        }
        if from > self.sequence + 1 {
            return false;
        }
        for change in batch["changes"].as_array().expect("changes") {
            let seat: i64 = change["seatId"].as_str().expect("id").parse().expect("id");
            let letter = match change["status"].as_str() {
                Some("HELD") => b'H',
                Some("BOOKED") => b'B',
                _ => b'A',
            };
            self.states[(seat - self.first_seat) as usize] = letter;
        }
        self.sequence = to;
        true
    }
}

#[tokio::test]
async fn a_seat_subscriber_whose_instance_is_lost_resyncs_on_another_without_missing_a_change() {
    let app = TestApp::spawn().await;
    let doomed = app.spawn_instance(|_| {}).await;
    let event = app.seed_event(100).await;
    let seats = seat_ids(&app.db.connection, event, 6).await;
    let watcher = admitted(&app, event).await;
    let buyers = [
        admitted(&app, event).await,
        admitted(&app, event).await,
        admitted(&app, event).await,
    ];
    let mut view = View::load(
        seats[0],
        &app.sale_as(&watcher.token, event, STATES, json!({})).await,
    );
    let mut client =
        WsClient::connect(&sale_ws(doomed.address, event, &watcher.token), json!({})).await;
    client.subscribe("s", CHANGES, json!({})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let first = lock(&app, event, &buyers[0], &seats[0..2]).await;
    let applied_before = view.apply(&client.next_payload("s").await);

    // The instance goes; the sale goes on through the other one meanwhile.
    doomed.stop().await;
    drop(client);
    lock(&app, event, &buyers[1], &seats[2..4]).await;
    let released = app
        .sale_as(
            &buyers[0].token,
            event,
            "mutation($h: ID!) { releaseSeats(holdId: $h) }",
            json!({ "h": first["data"]["lockSeats"]["id"] }),
        )
        .await;
    assert_eq!(released["data"]["releaseSeats"], true, "{released}");

    let mut client = WsClient::connect(
        &sale_ws(app.instance.address, event, &watcher.token),
        json!({}),
    )
    .await;
    client.subscribe("s", CHANGES, json!({})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    lock(&app, event, &buyers[2], &seats[4..6]).await;
    let after = client.next_payload("s").await;
    let hole_seen = !view.apply(&after);
    if hole_seen {
        view = View::load(
            seats[0],
            &app.sale_as(&watcher.token, event, STATES, json!({})).await,
        );
        view.apply(&after);
    }

    assert!(applied_before, "the first batch follows the snapshot");
    assert!(hole_seen, "the changes made while away show as a hole");
    let mut expected = Vec::new();
    for seat in &seats {
        expected.push(
            match seat_status(&app.db.connection, *seat).await.as_str() {
                "HELD" => b'H',
                "BOOKED" => b'B',
                _ => b'A',
            },
        );
    }
    assert_eq!(
        String::from_utf8_lossy(&view.states[..6]),
        String::from_utf8_lossy(&expected),
        "the client's seats are Postgres's"
    );
    assert_eq!(&expected, b"AAHHHH");
}
