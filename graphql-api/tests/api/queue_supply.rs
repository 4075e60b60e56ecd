//! The line knows when nothing is left to sell: while every unsold seat is in a cart, or every
//! seat is booked, nobody is admitted and waiting fans are told why (over HTTP and on their
//! live position); a seat coming back puts the line in motion again.

use std::time::Duration;

use graphql_api::{
    queue::{self, QueueState, SeatSupply, ticker},
    queue_store::{Supply, TickCode},
    testing::TestApp,
};
use sea_orm::{ConnectionTrait as _, DatabaseBackend, Statement};
use serde_json::json;

use crate::{
    queue_support::{active, admit_all, admitted_now, event, fan, set_limits},
    sale_support::{admitted, book, card, lock, pay, seat_ids},
    ws_client::WsClient,
};

const POSITION: &str =
    "subscription($e: ID!) { queuePosition(eventId: $e) { state supply estimatedWaitSeconds } }";
const JOIN: &str =
    "mutation($e: ID!) { joinQueue(eventId: $e) { state supply estimatedWaitSeconds } }";
const STATS: &str = "query($e: ID!) { queueStats(eventId: $e) { supply } }";

/// An event of exactly two seats (the seeder makes at least a hundred): the others go before
/// anyone touches them.
async fn two_seat_event(app: &TestApp) -> (i64, Vec<i64>) {
    let id = app.seed_event(100).await;
    let seats = seat_ids(&app.db.connection, id, 2).await;
    app.db
        .connection
        .execute_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "DELETE FROM seats WHERE event_id = $1 AND NOT id = ANY($2)",
            [id.into(), seats.clone().into()],
        ))
        .await
        .expect("trimming the event to two seats");
    (id, seats)
}

#[tokio::test]
async fn while_every_seat_is_in_a_cart_nobody_is_admitted_and_a_released_seat_resumes_the_line() {
    let app = TestApp::spawn().await;
    let state = &app.instance.state;
    let (id, seats) = two_seat_event(&app).await;
    let event = event(state, id).await;
    set_limits(state, id, 100.0, 10).await;
    let buyer = admitted(&app, id).await;
    let held = lock(&app, id, &buyer, &seats).await;
    let hold = held["data"]["lockSeats"]["id"]
        .as_str()
        .expect("a hold")
        .to_owned();
    let waiter = fan();
    queue::join(state, &event, &waiter).await.expect("join");

    let supply = ticker::check_supply(state, id).await.expect("supply");
    let idle = ticker::tick_and_publish(state, &active(&event))
        .await
        .expect("tick");
    let waiting = queue::status(state, &event, &waiter).await.expect("status");

    assert_eq!(supply, Supply::AllInCarts);
    assert_eq!(idle.code, TickCode::NoSeats);
    assert!(idle.admitted.is_empty());
    assert_eq!(waiting.state, QueueState::Waiting);
    assert_eq!(waiting.supply, SeatSupply::AllInCarts);
    assert_eq!(waiting.estimated_wait_seconds, None, "no wait is promised");

    let released = app
        .sale_as(
            &buyer.token,
            id,
            "mutation($h: ID!) { releaseSeats(holdId: $h) }",
            json!({ "h": hold }),
        )
        .await;
    assert_eq!(released["data"]["releaseSeats"], true, "{released}");
    let supply = ticker::check_supply(state, id).await.expect("supply");
    let moving = ticker::tick_and_publish(state, &active(&event))
        .await
        .expect("tick");
    // The first tick may already let the fan in (on a slow machine the bucket refills
    // between ticks); otherwise the next ones do.
    let mut let_in: Vec<String> = moving.admitted.iter().map(|fan| fan.fan.clone()).collect();
    if let_in.is_empty() {
        let_in = admit_all(state, &active(&event), 1, 20).await;
    }
    let after = queue::status(state, &event, &waiter).await.expect("status");

    assert_eq!(supply, Supply::OnSale);
    assert_eq!(moving.code, TickCode::Ok);
    assert_eq!(let_in, vec![waiter.fan_key()]);
    assert_eq!(after.state, QueueState::Admitted);
    assert_eq!(after.supply, SeatSupply::OnSale);
}

#[tokio::test]
async fn a_sold_out_event_tells_waiting_fans_on_every_transport_and_a_cancellation_reopens_it() {
    // The instance's own ticker runs: it is what must notice, tell and resume.
    let app = TestApp::spawn_with(|config| {
        config.queue_update_secs = 1;
        config.workers_enabled = true;
    })
    .await;
    let state = &app.instance.state;
    let (id, seats) = two_seat_event(&app).await;
    let event = event(state, id).await;
    set_limits(state, id, 100.0, 10).await;
    let admin = app.access_token(uuid::Uuid::now_v7(), "ADMIN");
    let pause = |paused: bool| {
        let (app, admin) = (&app, &admin);
        async move {
            let mutation = if paused { "pauseQueue" } else { "resumeQueue" };
            let answer = app
                .public_as(
                    admin,
                    &format!("mutation($e: ID!) {{ {mutation}(eventId: $e) {{ paused }} }}"),
                    json!({ "e": id.to_string() }),
                )
                .await;
            assert_eq!(answer["data"][mutation]["paused"], paused, "{answer}");
        }
    };
    // Held back while the seats sell, so only the sell-out can keep the fan out afterwards.
    pause(true).await;
    let waiter = fan();
    queue::join(state, &event, &waiter).await.expect("join");
    let token = app.access_token(waiter.user_id, "FAN");
    let mut client = WsClient::connect(
        &format!("ws://{}/graphql", app.instance.address),
        json!({ "authorization": format!("Bearer {token}") }),
    )
    .await;
    client
        .subscribe("1", POSITION, json!({ "e": id.to_string() }))
        .await;
    let first = client.next_payload("1").await;

    let buyer = admitted(&app, id).await;
    let held = lock(&app, id, &buyer, &seats).await;
    let hold = held["data"]["lockSeats"]["id"].as_str().expect("a hold");
    let booking = book(&app, id, &buyer, hold).await["data"]["createBooking"]["id"]
        .as_str()
        .expect("a booking")
        .to_owned();
    let paid = pay(&app, id, &buyer, &booking, "CARD", card("4111111111111111")).await;
    assert_eq!(
        paid["data"]["confirmPayment"]["booking"]["status"], "CONFIRMED",
        "{paid}"
    );
    let mut told = None;
    for _ in 0..10 {
        let message = client.next_payload("1").await;
        if message["payload"]["data"]["queuePosition"]["supply"] == "SOLD_OUT" {
            told = Some(message);
            break;
        }
    }
    pause(false).await;
    // Several ticks of the running ticker.
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let late = app.access_token(uuid::Uuid::now_v7(), "FAN");
    let joined = app
        .public_as(&late, JOIN, json!({ "e": id.to_string() }))
        .await;
    let stats = app
        .public_as(&admin, STATS, json!({ "e": id.to_string() }))
        .await;

    assert_eq!(
        first["payload"]["data"]["queuePosition"]["supply"], "ON_SALE",
        "{first}"
    );
    assert_eq!(admitted_now(state, id).await, 0, "nobody let in to nothing");
    let told = told.expect("the subscriber is told the event sold out");
    let position = &told["payload"]["data"]["queuePosition"];
    assert_eq!(position["state"], "WAITING", "{told}");
    assert_eq!(position["estimatedWaitSeconds"], json!(null));
    assert_eq!(
        joined["data"]["joinQueue"]["supply"], "SOLD_OUT",
        "{joined}"
    );
    assert_eq!(joined["data"]["joinQueue"]["state"], "WAITING");
    assert_eq!(stats["data"]["queueStats"]["supply"], "SOLD_OUT", "{stats}");

    let buyer_access = app.access_token(buyer.user, "FAN");
    let cancelled = app
        .public_as(
            &buyer_access,
            "mutation($b: ID!) { cancelBooking(bookingId: $b) { status } }",
            json!({ "b": booking }),
        )
        .await;
    assert!(cancelled.get("errors").is_none(), "{cancelled}");
    let mut state_now = QueueState::Waiting;
    for _ in 0..50 {
        state_now = queue::status(state, &event, &waiter)
            .await
            .expect("status")
            .state;
        if state_now != QueueState::Waiting {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    assert_eq!(
        state_now,
        QueueState::Admitted,
        "the fan who kept their place goes in when the seats come back"
    );
}
