//! The wait fans are shown: a band from the pace the line actually kept, revised every
//! window, whose top never rises more than 10% (and a second) from one revision to the next
//! unless an admin cuts the limits; nothing while paused. Counts are written as the admission
//! script writes them and revisions are called with chosen times (no wall clock in asserts).

use std::time::Duration;

use fred::prelude::HashesInterface as _;
use graphql_api::{
    eta::{MOST_RISE, REVISE_EVERY_MS},
    queue::{self, ticker},
    queue_store::forecast,
    state::AppState,
    testing::TestApp,
};
use serde_json::{Value, json};
use tokens::store::QueueKeys;

use crate::{
    queue_support::{active, event, fan, join_all},
    ws_client::WsClient,
};

const STATUS: &str = "query($e: ID!) { queueStatus(eventId: $e) { state position \
    estimatedWaitSeconds eta { lowSeconds highSeconds coverage revisedAt } } }";
const POSITION: &str = "subscription($e: ID!) { queuePosition(eventId: $e) { state position \
    estimatedWaitSeconds eta { lowSeconds highSeconds coverage revisedAt } } }";

/// Sets the totals the admission script keeps (fans let in, time the line moved).
async fn counts(state: &AppState, event: i64, admitted_total: i64, active_ms: i64) {
    let _: i64 = state
        .redis()
        .hset(
            &QueueKeys::new(state.keys(), event).meta,
            [
                ("admitted_total", admitted_total.to_string()),
                ("active_ms", active_ms.to_string()),
            ],
        )
        .await
        .expect("hset");
}

async fn revise(state: &AppState, event: i64, now_ms: i64) -> bool {
    forecast::revise(state.redis(), &QueueKeys::new(state.keys(), event), now_ms)
        .await
        .expect("revise")
}

/// A fan's status over HTTP, as the web client asks for it.
async fn status_of(app: &TestApp, token: &str, event: i64) -> Value {
    let reply = app
        .public_as(token, STATUS, json!({ "e": event.to_string() }))
        .await;
    reply["data"]["queueStatus"].clone()
}

fn seconds(status: &Value, field: &str) -> i64 {
    status["eta"][field]
        .as_i64()
        .unwrap_or_else(|| panic!("no eta.{field} in {status}"))
}

#[tokio::test]
async fn the_wait_is_a_band_from_the_pace_the_line_kept() {
    let app = TestApp::spawn().await;
    let state = &app.instance.state;
    let event = event(state, app.seed_event(10).await).await;
    join_all(state, &event, &(0..49).map(|_| fan()).collect::<Vec<_>>()).await;
    let me = fan();
    queue::join(state, &event, &me).await.expect("join");
    let last = app.access_token(me.user_id, "FAN");
    let t0 = 1_000_000;

    let before = status_of(&app, &last, event.id).await;
    assert!(revise(state, event.id, t0).await, "a new forecast starts");
    let unmeasured = status_of(&app, &last, event.id).await;
    assert!(
        !revise(state, event.id, t0 + REVISE_EVERY_MS - 1).await,
        "not due yet"
    );
    // 100 fans let in over 10 s of a moving line: 10 fans/s, one window known.
    counts(state, event.id, 100, 10_000).await;
    assert!(revise(state, event.id, t0 + REVISE_EVERY_MS).await);
    let measured = status_of(&app, &last, event.id).await;

    for status in [&before, &unmeasured] {
        assert_eq!(status["state"], "WAITING", "{status}");
        assert_eq!(status["eta"], Value::Null, "no pace measured yet: {status}");
        assert_eq!(status["estimatedWaitSeconds"], Value::Null);
    }
    assert_eq!(measured["position"], 50, "{measured}");
    // One window: likely 10/s, the ends at half and one and a half of it.
    assert_eq!(measured["estimatedWaitSeconds"], 5, "{measured}");
    assert_eq!(seconds(&measured, "lowSeconds"), 4, "50 fans at 15/s");
    assert_eq!(seconds(&measured, "highSeconds"), 10, "50 fans at 5/s");
    assert_eq!(measured["eta"]["coverage"], 0.8);
    let revised = chrono::DateTime::parse_from_rfc3339(
        measured["eta"]["revisedAt"].as_str().expect("revisedAt"),
    )
    .expect("a date");
    assert_eq!(revised.timestamp_millis(), t0 + REVISE_EVERY_MS);
}

#[tokio::test]
async fn a_slowing_line_lengthens_the_wait_by_at_most_a_tenth_per_revision() {
    let app = TestApp::spawn().await;
    let state = &app.instance.state;
    let event = event(state, app.seed_event(10).await).await;
    let fans: Vec<_> = (0..200).map(|_| fan()).collect();
    join_all(state, &event, &fans).await;
    let last = app.access_token(fans[199].user_id, "FAN");
    let t0 = 1_000_000;
    revise(state, event.id, t0).await;
    let (mut admitted, mut active_ms) = (0, 0);
    for _ in 0..4 {
        admitted += 400;
        active_ms += 10_000;
        counts(state, event.id, admitted, active_ms).await;
        revise(state, event.id, t0 + active_ms).await;
    }
    let mut shown = vec![status_of(&app, &last, event.id).await];
    // The line slows from 40 to 2 fans/s: the wait grows, a tenth at a time at most.
    for _ in 0..8 {
        admitted += 20;
        active_ms += 10_000;
        counts(state, event.id, admitted, active_ms).await;
        assert!(revise(state, event.id, t0 + active_ms).await);
        shown.push(status_of(&app, &last, event.id).await);
    }

    let highs: Vec<i64> = shown
        .iter()
        .map(|status| seconds(status, "highSeconds"))
        .collect();
    let likely: Vec<i64> = shown
        .iter()
        .map(|status| status["estimatedWaitSeconds"].as_i64().expect("likely"))
        .collect();
    for pair in highs.windows(2).chain(likely.windows(2)) {
        assert!(
            pair[1] as f64 <= pair[0] as f64 * MOST_RISE + 1.0,
            "rose more than a tenth: highs {highs:?}, likely {likely:?}"
        );
    }
    assert!(
        highs[8] > highs[0] && likely[8] > likely[0],
        "the slowdown shows: highs {highs:?}, likely {likely:?}"
    );
    for status in &shown {
        let (low, high) = (
            seconds(status, "lowSeconds"),
            seconds(status, "highSeconds"),
        );
        let likely = status["estimatedWaitSeconds"].as_i64().expect("likely");
        assert!(low <= likely && likely <= high, "{status}");
    }
}

#[tokio::test]
async fn an_admins_cut_starts_a_new_forecast_and_a_raise_keeps_it() {
    let app = TestApp::spawn_with(|config| config.queue_admission_rate = 50.0).await;
    let state = &app.instance.state;
    let event = event(state, app.seed_event(10).await).await;
    let fans: Vec<_> = (0..20).map(|_| fan()).collect();
    join_all(state, &event, &fans).await;
    let last = app.access_token(fans[19].user_id, "FAN");
    let admin = app.access_token(uuid::Uuid::now_v7(), "ADMIN");
    let rate = "mutation($e: ID!, $r: Float!) { setAdmissionRate(eventId: $e, perSecond: $r) { admissionRate } }";
    revise(state, event.id, 0).await;
    counts(state, event.id, 300, 10_000).await;
    revise(state, event.id, REVISE_EVERY_MS).await;

    let raised = app
        .public_as(
            &admin,
            rate,
            json!({ "e": event.id.to_string(), "r": 80.0 }),
        )
        .await;
    let after_raise = status_of(&app, &last, event.id).await;
    let cut = app
        .public_as(&admin, rate, json!({ "e": event.id.to_string(), "r": 5.0 }))
        .await;
    let after_cut = status_of(&app, &last, event.id).await;

    assert_eq!(
        raised["data"]["setAdmissionRate"]["admissionRate"], 80.0,
        "{raised}"
    );
    assert_eq!(
        seconds(&after_raise, "highSeconds"),
        2,
        "kept: {after_raise}"
    );
    assert_eq!(
        cut["data"]["setAdmissionRate"]["admissionRate"], 5.0,
        "{cut}"
    );
    assert_eq!(
        after_cut["eta"],
        Value::Null,
        "the old forecast is gone until the line is measured again: {after_cut}"
    );
    let stored: Option<String> = state
        .redis()
        .hget(&QueueKeys::new(state.keys(), event.id).meta, "eta")
        .await
        .expect("hget");
    assert_eq!(stored, None);
}

#[tokio::test]
async fn the_line_moves_only_while_unpaused_and_a_pause_shows_no_wait() {
    let app = TestApp::spawn_with(|config| {
        config.queue_admission_rate = 1.0;
        config.queue_admission_capacity = 1_000;
    })
    .await;
    let state = &app.instance.state;
    let event = event(state, app.seed_event(10).await).await;
    let fans: Vec<_> = (0..5).map(|_| fan()).collect();
    join_all(state, &event, &fans).await;
    let last = app.access_token(fans[4].user_id, "FAN");
    let keys = QueueKeys::new(state.keys(), event.id);
    let active_ms = || async {
        let value: Option<i64> = state
            .redis()
            .hget(&keys.meta, "active_ms")
            .await
            .expect("hget");
        value.unwrap_or(0)
    };
    revise(state, event.id, 0).await;
    counts(state, event.id, 10, 10_000).await;
    revise(state, event.id, REVISE_EVERY_MS).await;

    ticker::tick_and_publish(state, &active(&event))
        .await
        .expect("tick");
    tokio::time::sleep(Duration::from_millis(60)).await;
    ticker::tick_and_publish(state, &active(&event))
        .await
        .expect("tick");
    let moving = active_ms().await;
    queue::admin::set(
        state,
        &event,
        graphql_api::queue_store::Setting::Paused(true),
    )
    .await
    .expect("pause");
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(30)).await;
        ticker::tick_and_publish(state, &active(&event))
            .await
            .expect("tick");
    }
    let paused = active_ms().await;
    let while_paused = status_of(&app, &last, event.id).await;

    assert!(
        moving >= 10_000 + 50,
        "the ticks with fans waiting count: {moving}"
    );
    assert_eq!(paused, moving, "paused time does not count");
    assert_eq!(while_paused["state"], "WAITING");
    assert_eq!(while_paused["eta"], Value::Null, "{while_paused}");
    assert_eq!(while_paused["estimatedWaitSeconds"], Value::Null);
}

#[tokio::test]
async fn subscribers_see_the_band_the_queries_show() {
    let app = TestApp::spawn_with(|config| {
        config.queue_update_secs = 1;
        config.queue_admission_rate = 0.01;
    })
    .await;
    let state = &app.instance.state;
    let event = event(state, app.seed_event(10).await).await;
    join_all(state, &event, &(0..29).map(|_| fan()).collect::<Vec<_>>()).await;
    let me = fan();
    queue::join(state, &event, &me).await.expect("join");
    let token = app.access_token(me.user_id, "FAN");
    revise(state, event.id, 0).await;
    counts(state, event.id, 60, 10_000).await;
    revise(state, event.id, REVISE_EVERY_MS).await;
    let mut client = WsClient::connect(
        &format!("ws://{}/graphql", app.instance.address),
        json!({ "authorization": format!("Bearer {token}") }),
    )
    .await;
    client
        .subscribe("1", POSITION, json!({ "e": event.id.to_string() }))
        .await;
    let first = client.next_payload("1").await["payload"]["data"]["queuePosition"].clone();
    // A slower window; the ticker's message carries the new forecast to the subscriber.
    counts(state, event.id, 70, 20_000).await;
    revise(state, event.id, 2 * REVISE_EVERY_MS).await;
    ticker::tick_and_publish(state, &active(&event))
        .await
        .expect("tick");
    let queried = status_of(&app, &token, event.id).await;
    let mut pushed = Value::Null;
    for _ in 0..5 {
        pushed = client.next_payload("1").await["payload"]["data"]["queuePosition"].clone();
        if pushed["eta"] == queried["eta"] {
            break;
        }
    }

    assert_eq!(first["position"], 30, "{first}");
    assert_eq!(
        seconds(&first, "highSeconds"),
        10,
        "30 fans at 3/s: {first}"
    );
    assert_eq!(
        pushed["eta"], queried["eta"],
        "pushed {pushed}, queried {queried}"
    );
    assert_eq!(
        pushed["estimatedWaitSeconds"],
        queried["estimatedWaitSeconds"]
    );
    assert!(
        seconds(&queried, "highSeconds") > 10,
        "the slower window shows: {queried}"
    );
}
