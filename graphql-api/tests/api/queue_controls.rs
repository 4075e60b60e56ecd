//! The queue over HTTP: admin controls (pause, resume, limits) and joining and leaving,
//! with their refusals.

use fred::prelude::SortedSetsInterface as _;
use graphql_api::{
    queue::ticker,
    seed,
    testing::{TestApp, first_error_code},
};
use sea_orm::{ConnectionTrait as _, Statement};
use serde_json::json;
use tokens::store::QueueKeys;

use crate::queue_support::{active, admit_all, event, fan, join_all, set_limits};

#[tokio::test]
async fn pausing_stops_admissions_and_resuming_restarts_them() {
    let app = TestApp::spawn().await;
    let state = &app.instance.state;
    let event = event(state, app.seed_event(10).await).await;
    join_all(state, &event, &(0..5).map(|_| fan()).collect::<Vec<_>>()).await;
    set_limits(state, event.id, 100.0, 100).await;
    let admin = app.access_token(uuid::Uuid::now_v7(), "ADMIN");
    let vars = json!({ "e": event.id.to_string() });

    let paused = app
        .public_as(
            &admin,
            "mutation($e: ID!) { pauseQueue(eventId: $e) { paused } }",
            vars.clone(),
        )
        .await;
    let while_paused = ticker::tick_and_publish(state, &active(&event))
        .await
        .expect("tick");
    let resumed = app
        .public_as(
            &admin,
            "mutation($e: ID!) { resumeQueue(eventId: $e) { paused } }",
            vars.clone(),
        )
        .await;
    let after = admit_all(state, &active(&event), 5, 20).await;

    assert_eq!(paused["data"]["pauseQueue"]["paused"], true, "{paused}");
    assert_eq!(while_paused.code, ticker::TickCode::Paused);
    assert!(while_paused.admitted.is_empty());
    assert_eq!(resumed["data"]["resumeQueue"]["paused"], false);
    assert_eq!(after.len(), 5);
}

#[tokio::test]
async fn admin_controls_need_the_admin_role_and_sane_values() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(10).await;
    let fan_token = app.access_token(uuid::Uuid::now_v7(), "FAN");
    let admin = app.access_token(uuid::Uuid::now_v7(), "ADMIN");
    let vars = json!({ "e": event.to_string() });
    let stats =
        "query($e: ID!) { queueStats(eventId: $e) { waiting admitted paused admissionRate } }";

    let anonymous = app.public(stats, vars.clone()).await;
    let as_fan = app.public_as(&fan_token, stats, vars.clone()).await;
    let as_fan_pause = app
        .public_as(
            &fan_token,
            "mutation($e: ID!) { pauseQueue(eventId: $e) { paused } }",
            vars.clone(),
        )
        .await;
    let bad_rate = app
        .public_as(
            &admin,
            "mutation($e: ID!) { setAdmissionRate(eventId: $e, perSecond: -1) { admissionRate } }",
            vars.clone(),
        )
        .await;
    let bad_cap = app.public_as(&admin, "mutation($e: ID!) { setAdmissionCapacity(eventId: $e, capacity: -5) { admissionCapacity } }", vars.clone()).await;
    let good = app.public_as(&admin, "mutation($e: ID!) { setAdmissionRate(eventId: $e, perSecond: 12.5) { admissionRate } }", vars.clone()).await;
    let as_admin = app.public_as(&admin, stats, vars.clone()).await;

    assert_eq!(first_error_code(&anonymous), Some("UNAUTHENTICATED"));
    assert_eq!(first_error_code(&as_fan), Some("FORBIDDEN"));
    assert_eq!(first_error_code(&as_fan_pause), Some("FORBIDDEN"));
    assert_eq!(first_error_code(&bad_rate), Some("BAD_USER_INPUT"));
    assert_eq!(first_error_code(&bad_cap), Some("BAD_USER_INPUT"));
    assert_eq!(
        good["data"]["setAdmissionRate"]["admissionRate"], 12.5,
        "{good}"
    );
    assert_eq!(
        as_admin["data"]["queueStats"]["paused"], false,
        "{as_admin}"
    );
}

#[tokio::test]
async fn joining_is_refused_for_unknown_closed_and_ungated_events_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let token = app.access_token(uuid::Uuid::now_v7(), "FAN");
    let join = "mutation($e: ID!) { joinQueue(eventId: $e) { state position ticketNumber } }";
    let closed = app.seed_event(10).await;
    let mut spec = seed::load_test_spec(10);
    spec.slug = "no-gate".into();
    spec.gate_enabled = false;
    let ungated = seed::seed_event(&app.db.connection, &spec)
        .await
        .expect("seed")
        .event_id;
    app.db
        .connection
        .execute_raw(Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "UPDATE events SET status = 'CLOSED' WHERE id = $1",
            [closed.into()],
        ))
        .await
        .expect("close");

    let unknown = app.public_as(&token, join, json!({ "e": "424242" })).await;
    let on_closed = app
        .public_as(&token, join, json!({ "e": closed.to_string() }))
        .await;
    let on_ungated = app
        .public_as(&token, join, json!({ "e": ungated.to_string() }))
        .await;
    let anonymous = app.public(join, json!({ "e": closed.to_string() })).await;

    assert_eq!(first_error_code(&unknown), Some("EVENT_NOT_FOUND"));
    assert_eq!(
        first_error_code(&on_closed),
        Some("QUEUE_CLOSED"),
        "{on_closed}"
    );
    assert_eq!(first_error_code(&on_ungated), Some("QUEUE_NOT_REQUIRED"));
    assert_eq!(first_error_code(&anonymous), Some("UNAUTHENTICATED"));
    let keys = QueueKeys::new(app.instance.state.keys(), closed);
    let waiting: i64 = app
        .instance
        .state
        .redis()
        .zcard(&keys.wait)
        .await
        .expect("zcard");
    assert_eq!(waiting, 0);
}

#[tokio::test]
async fn joining_twice_over_http_returns_the_same_place_and_leaving_twice_is_not_in_queue() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(10).await;
    let token = app.access_token(uuid::Uuid::now_v7(), "FAN");
    let vars = json!({ "e": event.to_string() });
    let join = "mutation($e: ID!) { joinQueue(eventId: $e) { state position fansAhead ticketNumber exact } }";
    let leave = "mutation($e: ID!) { leaveQueue(eventId: $e) }";

    let first = app.public_as(&token, join, vars.clone()).await;
    let second = app.public_as(&token, join, vars.clone()).await;
    let left = app.public_as(&token, leave, vars.clone()).await;
    let again = app.public_as(&token, leave, vars.clone()).await;
    let status = app
        .public_as(
            &token,
            "query($e: ID!) { queueStatus(eventId: $e) { state } }",
            vars.clone(),
        )
        .await;

    assert_eq!(first["data"]["joinQueue"]["state"], "WAITING", "{first}");
    assert_eq!(first["data"]["joinQueue"]["position"], 1);
    assert_eq!(first["data"]["joinQueue"]["exact"], true);
    assert_eq!(second["data"]["joinQueue"], first["data"]["joinQueue"]);
    assert_eq!(left["data"]["leaveQueue"], true);
    assert_eq!(first_error_code(&again), Some("NOT_IN_QUEUE"));
    assert_eq!(status["data"]["queueStatus"]["state"], "NOT_IN_QUEUE");
}
