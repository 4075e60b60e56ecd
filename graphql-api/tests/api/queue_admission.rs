//! An admission: a token anyone can verify, whose record can be revoked, and which runs out.

use fred::prelude::KeysInterface as _;
use graphql_api::{
    queue::{self, QueueState, ticker},
    state::AppState,
    testing::TestApp,
};
use serde_json::json;

use crate::queue_support::{active, admit_all, admitted_now, event, fan, set_limits};

#[tokio::test]
async fn an_admission_carries_a_verifiable_token_whose_record_can_be_revoked() {
    let app = TestApp::spawn().await;
    let state: &AppState = &app.instance.state;
    let event = event(state, app.seed_event(10).await).await;
    let me = fan();
    queue::join(state, &event, &me).await.expect("join");
    set_limits(state, event.id, 100.0, 10).await;
    admit_all(state, &active(&event), 1, 5).await;

    let status = queue::status(state, &event, &me).await.expect("status");
    let admission = status.admission.expect("an admission");
    let claims = state
        .admission_keys()
        .verify_admission(
            &admission.token,
            chrono::Utc::now().timestamp(),
            Some(event.id),
        )
        .expect("the token verifies");
    let record = state.keys().admission(event.id, &claims.jti);
    let stored: Option<String> = state.redis().get(&record).await.expect("get");

    assert_eq!(status.state, QueueState::Admitted);
    // One spelling of a fan: the token names them as the queue and the record do.
    assert_eq!(claims.sub, me.fan_key());
    assert_eq!(claims.cap, 6);
    assert_eq!(stored, Some(me.fan_key()));
    // The same record always gives the same token.
    let again = queue::status(state, &event, &me)
        .await
        .expect("status")
        .admission
        .expect("admission");
    assert_eq!(again.token, admission.token);

    let admin = app.access_token(uuid::Uuid::now_v7(), "ADMIN");
    let revoked = app
        .public_as(
            &admin,
            "mutation($e: ID!, $u: ID!) { revokeAdmission(eventId: $e, userId: $u) }",
            json!({ "e": event.id.to_string(), "u": me.user_id.to_string() }),
        )
        .await;
    let gone: Option<String> = state.redis().get(&record).await.expect("get");
    let after = queue::status(state, &event, &me).await.expect("status");

    assert_eq!(revoked["data"]["revokeAdmission"], true, "{revoked}");
    assert_eq!(gone, None, "the gateway's record is gone");
    assert_eq!(after.state, QueueState::Expired);
    assert_eq!(admitted_now(state, event.id).await, 0, "the slot is free");
}

#[tokio::test]
async fn an_admission_that_runs_out_frees_its_slot_and_the_fan_can_queue_again() {
    let app = TestApp::spawn_with(|config| config.admission_ttl_secs = 1).await;
    let state = &app.instance.state;
    let event = event(state, app.seed_event(10).await).await;
    let me = fan();
    queue::join(state, &event, &me).await.expect("join");
    set_limits(state, event.id, 100.0, 1).await;
    admit_all(state, &active(&event), 1, 5).await;
    assert_eq!(admitted_now(state, event.id).await, 1);

    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let outcome = ticker::tick_and_publish(state, &active(&event))
        .await
        .expect("tick");
    let status = queue::status(state, &event, &me).await.expect("status");
    let rejoined = queue::join(state, &event, &me).await.expect("join again");

    assert_eq!(outcome.expired, 1);
    assert_eq!(status.state, QueueState::Expired);
    assert_eq!(rejoined.state, QueueState::Waiting);
}
