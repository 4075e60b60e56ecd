//! The queue: fair joins, FIFO and lottery order, the admission cap, abandoned fans, admin
//! controls and bad input. The same core checks also run on a Redis Cluster (queue_cluster).

use std::collections::HashSet;

use fred::prelude::{KeysInterface as _, SortedSetsInterface as _};
use graphql_api::{
    queue::{self, QueueState, lottery, store::QueueKeys, ticker},
    seed,
    state::AppState,
    testing::{TestApp, first_error_code},
};
use sea_orm::{ConnectionTrait as _, Statement};
use serde_json::json;

use crate::queue_support::{active, admit_all, admitted_now, event, fan, join_all, set_limits};

/// 10,000 fans join at once: distinct, gap-free numbers.
pub async fn concurrent_joins_get_distinct_gap_free_numbers(app: &TestApp, fans: usize) {
    let state = &app.instance.state;
    let event = event(state, app.seed_event(10).await).await;
    let identities: Vec<_> = (0..fans).map(|_| fan()).collect();

    let mut numbers = join_all(state, &event, &identities).await;

    numbers.sort_unstable();
    assert_eq!(numbers, (1..=fans as i64).collect::<Vec<_>>());
}

/// One fan, many tabs: one place.
pub async fn one_fan_joining_many_times_holds_one_place(app: &TestApp) {
    let state = &app.instance.state;
    let event = event(state, app.seed_event(10).await).await;
    let others: Vec<_> = (0..5).map(|_| fan()).collect();
    join_all(state, &event, &others).await;
    let me = fan();

    let numbers = join_all(state, &event, &vec![me; 1_000]).await;

    assert!(
        numbers.iter().all(|n| *n == numbers[0]),
        "every tab sees one number"
    );
    assert_eq!(numbers[0], 6);
    let keys = QueueKeys::new(state.keys(), event.id);
    let waiting: i64 = state.redis().zcard(&keys.wait).await.expect("zcard");
    assert_eq!(waiting, 6);
}

/// Admission order equals join order: zero inversions.
pub async fn admission_follows_join_order(app: &TestApp, fans: usize) {
    let state = &app.instance.state;
    let event = event(state, app.seed_event(10).await).await;
    let mut joined = Vec::new();
    for _ in 0..fans {
        let identity = fan();
        queue::join(state, &event, &identity).await.expect("join");
        joined.push(identity.fan_key());
    }
    set_limits(state, event.id, 10_000.0, 100_000).await;

    let admitted = admit_all(state, &active(&event), fans, 200).await;

    assert_eq!(admitted.len(), fans);
    let inversions = admitted.windows(2).filter(|pair| {
        let rank = |fan: &String| joined.iter().position(|j| j == fan);
        rank(&pair[0]) > rank(&pair[1])
    });
    assert_eq!(inversions.count(), 0);
    assert_eq!(admitted, joined);
}

/// Two instances ticking at once never admit past the cap.
pub async fn the_cap_holds_under_two_tickers(
    app: &TestApp,
    second: &graphql_api::testing::TestInstance,
    cap: u32,
) {
    let state = &app.instance.state;
    let event = event(state, app.seed_event(10).await).await;
    let fans: Vec<_> = (0..(cap as usize * 4)).map(|_| fan()).collect();
    join_all(state, &event, &fans).await;
    set_limits(state, event.id, 5_000.0, cap).await;
    let active = active(&event);

    let mut peak = 0;
    for _ in 0..40 {
        let (a, b) = tokio::join!(
            ticker::tick_and_publish(state, &active),
            ticker::tick_and_publish(&second.state, &active)
        );
        a.expect("tick on A");
        b.expect("tick on B");
        peak = peak.max(admitted_now(state, event.id).await);
    }

    assert_eq!(peak, i64::from(cap), "filled to the cap, never past it");
    let stats = queue::stats(state, &event).await.expect("stats");
    assert_eq!(stats.admitted_total, i64::from(cap));
    assert_eq!(stats.waiting, i64::from(cap) * 3);
}

#[tokio::test]
async fn ten_thousand_concurrent_joins_get_distinct_gap_free_numbers() {
    let app = TestApp::spawn().await;
    concurrent_joins_get_distinct_gap_free_numbers(&app, 10_000).await;
}

#[tokio::test]
async fn a_thousand_joins_by_one_fan_give_one_place() {
    let app = TestApp::spawn().await;
    one_fan_joining_many_times_holds_one_place(&app).await;
}

#[tokio::test]
async fn fans_are_admitted_in_the_order_they_joined() {
    let app = TestApp::spawn().await;
    admission_follows_join_order(&app, 300).await;
}

#[tokio::test]
async fn the_admission_cap_holds_with_two_instances_ticking() {
    let app = TestApp::spawn().await;
    let second = app.spawn_instance(|_| {}).await;
    the_cap_holds_under_two_tickers(&app, &second, 25).await;
}

#[tokio::test]
async fn the_running_tickers_of_two_instances_never_exceed_the_cap() {
    let app = TestApp::spawn_with(|config| {
        config.workers_enabled = true;
        config.queue_tick_ms = 20;
    })
    .await;
    let _second = app
        .spawn_instance(|config| {
            config.workers_enabled = true;
            config.queue_tick_ms = 20;
        })
        .await;
    let state = &app.instance.state;
    let event = event(state, app.seed_event(10).await).await;
    set_limits(state, event.id, 2_000.0, 30).await;
    join_all(state, &event, &(0..200).map(|_| fan()).collect::<Vec<_>>()).await;

    let mut peak = 0;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        peak = peak.max(admitted_now(state, event.id).await);
        if peak == 30 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    for _ in 0..50 {
        peak = peak.max(admitted_now(state, event.id).await);
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }

    assert_eq!(peak, 30);
}

#[tokio::test]
async fn fans_who_stopped_listening_are_skipped_and_marked_abandoned() {
    let app = TestApp::spawn().await;
    let state = &app.instance.state;
    let event = event(state, app.seed_event(10).await).await;
    let fans: Vec<_> = (0..10).map(|_| fan()).collect();
    for identity in &fans {
        queue::join(state, &event, identity).await.expect("join");
    }
    let keys = QueueKeys::new(state.keys(), event.id);
    for gone in &fans[..5] {
        let _: i64 = state
            .redis()
            .zadd(&keys.alive, None, None, false, false, (0.0, gone.fan_key()))
            .await
            .expect("zadd");
    }
    set_limits(state, event.id, 1_000.0, 3).await;

    let admitted = admit_all(state, &active(&event), 3, 5).await;

    let expected: Vec<String> = fans[5..8].iter().map(|f| f.fan_key()).collect();
    assert_eq!(
        admitted, expected,
        "the slots went to the next fans who were listening"
    );
    let status = queue::status(state, &event, &fans[0])
        .await
        .expect("status");
    assert_eq!(status.state, QueueState::Abandoned);
    let stats = queue::stats(state, &event).await.expect("stats");
    assert_eq!(stats.abandoned, 5);
    assert_eq!(stats.admitted, 3);
}

#[tokio::test]
async fn presale_fans_are_shuffled_by_an_audited_lottery_then_fifo_follows() {
    let app = TestApp::spawn().await;
    let state = &app.instance.state;
    let mut spec = seed::load_test_spec(10);
    spec.slug = "presale-show".into();
    spec.sale_opens_at = chrono::Utc::now() + chrono::Duration::hours(1);
    spec.status = "SCHEDULED";
    let id = seed::seed_event(&app.db.connection, &spec)
        .await
        .expect("seed")
        .event_id;
    let before_opening = event(state, id).await;
    let presale: Vec<_> = (0..60).map(|_| fan()).collect();
    for identity in &presale {
        let status = queue::join(state, &before_opening, identity)
            .await
            .expect("join");
        assert_eq!(status.state, QueueState::Presale);
    }
    set_limits(state, id, 10_000.0, 100_000).await;

    // The sale opens.
    let mut opened = (*before_opening).clone();
    opened.sale_opens_at = chrono::Utc::now() - chrono::Duration::seconds(1);
    let lottery_order = admit_all(state, &active(&opened), 60, 50).await;
    let fifo: Vec<_> = (0..20).map(|_| fan()).collect();
    for identity in &fifo {
        queue::join(state, &opened, identity)
            .await
            .expect("join after opening");
    }
    let fifo_order = admit_all(state, &active(&opened), 20, 50).await;

    let presale_keys: HashSet<String> = presale.iter().map(|f| f.fan_key()).collect();
    assert_eq!(
        lottery_order.iter().cloned().collect::<HashSet<_>>(),
        presale_keys,
        "a permutation of the presale fans"
    );
    assert_ne!(
        lottery_order,
        presale.iter().map(|f| f.fan_key()).collect::<Vec<_>>(),
        "shuffled, not join order"
    );
    assert_eq!(
        fifo_order,
        fifo.iter().map(|f| f.fan_key()).collect::<Vec<_>>(),
        "then first come, first served"
    );
    // The audit: the recorded seed and input redo the draw exactly.
    let row = app
        .db
        .connection
        .query_one_raw(Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "SELECT seed, fans FROM lottery_draws WHERE event_id = $1",
            [id.into()],
        ))
        .await
        .expect("query")
        .expect("a recorded draw");
    let seed: String = row.try_get("", "seed").expect("seed");
    let fans: Vec<String> = row.try_get("", "fans").expect("fans");
    assert_eq!(
        lottery::shuffle(&fans, lottery::parse_seed(&seed).expect("seed")),
        lottery_order
    );
    let stats = queue::stats(state, &opened).await.expect("stats");
    assert_eq!(
        stats.lottery.map(|draw| (draw.seed, draw.fans)),
        Some((seed, 60))
    );
}

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
    let record = tokens::admission_key(state.keys().prefix(), event.id, &claims.jti);
    let stored: Option<String> = state.redis().get(&record).await.expect("get");

    assert_eq!(status.state, QueueState::Admitted);
    assert_eq!(claims.sub, me.user_id.to_string());
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
    assert_eq!(while_paused.code, "PAUSED");
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
