//! Redis killed mid-sale (SIGKILL, no last save) and started again from its append-only file,
//! as the project's scripts run it: every waiting fan keeps their place and order, admitted
//! fans keep their admissions, the ticker and the live hubs reconnect by themselves, and a
//! live position opened before the crash carries on to the admission. While Redis is away,
//! queue calls answer `BUSY` (retry), never `INTERNAL_ERROR`.

use std::time::Duration;

use fred::prelude::SortedSetsInterface as _;
use graphql_api::{
    auth::Identity,
    queue::{self, QueueState, QueueStatus},
    queue_store::OutReason,
    testing::{TestApp, TestRedisServer},
};
use serde_json::json;

use crate::{
    queue_support::{event, fan, set_limits},
    ws_client::WsClient,
};

const STATUS: &str = "query($e: ID!) { queueStatus(eventId: $e) { state position } }";
const POSITION: &str = "subscription($e: ID!) { queuePosition(eventId: $e) { state position } }";

/// What must survive: the state, the place, and the admission's token.
fn kept(status: &QueueStatus) -> (QueueState, Option<i64>, Option<i64>, Option<String>) {
    (
        status.state,
        status.ticket_number,
        status.position,
        status
            .admission
            .as_ref()
            .map(|admission| admission.token.clone()),
    )
}

#[tokio::test]
async fn redis_killed_and_restarted_keeps_every_place_and_admission_and_the_line_moves_on() {
    let mut redis = TestRedisServer::standalone_persistent().await;
    let app = TestApp::spawn_with(|config| {
        config.redis_url = redis.url().into();
        config.workers_enabled = true;
        config.queue_update_secs = 1;
        // The limits stay as set: this is about what survives, not about steering.
        config.autopilot_enabled = false;
    })
    .await;
    let state = &app.instance.state;
    let event = event(state, app.seed_event(100).await).await;
    set_limits(state, event.id, 1_000.0, 3).await;
    let fans: Vec<Identity> = (0..10).map(|_| fan()).collect();
    for identity in &fans {
        queue::join(state, &event, identity).await.expect("join");
    }
    let listener = app.access_token(fans[4].user_id, "FAN");
    let mut client = WsClient::connect(
        &format!("ws://{}/graphql", app.instance.address),
        json!({ "authorization": format!("Bearer {listener}") }),
    )
    .await;
    client
        .subscribe("1", POSITION, json!({ "e": event.id.to_string() }))
        .await;
    let first = client.next_payload("1").await;
    let statuses = || async {
        let mut all = Vec::new();
        for identity in &fans {
            all.push(queue::status(state, &event, identity).await);
        }
        all
    };
    let mut before = Vec::new();
    for _ in 0..100 {
        before = statuses()
            .await
            .into_iter()
            .map(|s| s.expect("status"))
            .collect();
        if before
            .iter()
            .filter(|s| s.state == QueueState::Admitted)
            .count()
            == 3
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The append-only file is synced every second.
    tokio::time::sleep(Duration::from_millis(1_500)).await;

    redis.kill();
    let waiting_token = app.access_token(fans[6].user_id, "FAN");
    let during = app
        .public_as(&waiting_token, STATUS, json!({ "e": event.id.to_string() }))
        .await;
    redis.restart().await;
    let mut after = Vec::new();
    for _ in 0..100 {
        let read: Vec<_> = statuses().await;
        if read.iter().all(Result::is_ok) {
            after = read.into_iter().map(|s| s.expect("status")).collect();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    assert_eq!(
        first["payload"]["data"]["queuePosition"]["state"], "WAITING",
        "{first}"
    );
    let admitted: Vec<usize> = (0..fans.len())
        .filter(|i| before[*i].state == QueueState::Admitted)
        .collect();
    assert_eq!(admitted, vec![0, 1, 2], "the first three were let in");
    assert_eq!(
        during["errors"][0]["extensions"]["code"], "BUSY",
        "Redis away is a moment to wait out: {during}"
    );
    assert_eq!(
        after.len(),
        fans.len(),
        "the instance reconnected by itself"
    );
    for (i, (then, now)) in before.iter().zip(&after).enumerate() {
        assert_eq!(
            kept(then),
            kept(now),
            "fan {i} kept their place or admission"
        );
    }

    // The line moves on by itself, in order: shoppers finish, the next fans go in.
    for identity in &fans[..3] {
        queue::leave(state, event.id, &identity.fan_key(), OutReason::Booked)
            .await
            .expect("leave");
    }
    let mut moved = Vec::new();
    for _ in 0..100 {
        moved = statuses()
            .await
            .into_iter()
            .map(|s| s.expect("status"))
            .collect();
        if moved[5].state == QueueState::Admitted {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut heard = None;
    // Updates queued up while the test looked elsewhere come first (one a second).
    for _ in 0..40 {
        let message = client.next_payload("1").await;
        if message["payload"]["data"]["queuePosition"]["state"] == "ADMITTED" {
            heard = Some(message);
            break;
        }
    }

    let in_now: Vec<usize> = (0..fans.len())
        .filter(|i| moved[*i].state == QueueState::Admitted)
        .collect();
    assert_eq!(in_now, vec![3, 4, 5], "the next three in line, in order");
    assert!(
        heard.is_some(),
        "the live position opened before the crash carries on to the admission"
    );
}

#[tokio::test]
async fn a_fan_whose_join_was_lost_is_told_they_are_out_of_line_and_joins_again_at_the_back() {
    let app = TestApp::spawn().await;
    let state = &app.instance.state;
    let event = event(state, app.seed_event(100).await).await;
    let (first, lost, later) = (fan(), fan(), fan());
    for identity in [&first, &lost, &later] {
        queue::join(state, &event, identity).await.expect("join");
    }
    // A killed Redis process loses nothing it answered (it writes its append-only file before
    // replying); a machine that dies loses up to the last second. What such a loss leaves:
    // the fan is simply not in Redis any more.
    let keys = state.keys().queue(event.id);
    let _: i64 = state
        .redis()
        .zrem(&keys.wait, lost.fan_key())
        .await
        .expect("zrem");
    let _: i64 = state
        .redis()
        .zrem(&keys.alive, lost.fan_key())
        .await
        .expect("zrem");
    let token = app.access_token(lost.user_id, "FAN");

    let told = app
        .public_as(&token, STATUS, json!({ "e": event.id.to_string() }))
        .await;
    let again = app
        .public_as(
            &token,
            "mutation($e: ID!) { joinQueue(eventId: $e) { state position } }",
            json!({ "e": event.id.to_string() }),
        )
        .await;

    assert_eq!(
        told["data"]["queueStatus"]["state"], "NOT_IN_QUEUE",
        "told plainly, not an error: {told}"
    );
    assert_eq!(again["data"]["joinQueue"]["state"], "WAITING", "{again}");
    assert_eq!(
        again["data"]["joinQueue"]["position"], 3,
        "a new place, behind the fans still in line"
    );
}
