//! The autopilot against real Redis and Postgres: health reports steer the stored limits (the
//! clock is an argument: no sleeping for adjustments), a pin holds, `queueStats` shows the
//! values and why, and sale answers are recorded. The queue's side: `autopilot_queue.rs`.

use chrono::Utc;
use graphql_api::{
    autopilot::{self, report_now},
    queue_store::{
        self,
        autopilot::{self as store, AutopilotWrite},
    },
    sale_health::HealthReport,
    state::AppState,
    testing::TestApp,
};
use serde_json::{Value, json};

use crate::sale_support::{admitted, card, hold_and_book, lock, pay, seat_ids};

/// The autopilot interval of the tests' instances.
pub const INTERVAL_MS: i64 = 3_000;

/// An instance whose autopilot may move the rate in 1..100 and the cap in 10..1000,
/// starting from 20/s and 200.
async fn app() -> TestApp {
    TestApp::spawn_with(|config| {
        config.queue_admission_rate = 20.0;
        config.queue_admission_capacity = 200;
        config.autopilot_max_rate = Some(100.0);
        config.autopilot_max_capacity = Some(1_000);
        config.autopilot_interval_ms = INTERVAL_MS as u64;
        config.autopilot_cut_factor = 0.5;
        config.autopilot_rate_step = 5.0;
        // Only what the tests report counts: the instance's own windows stay away.
        config.autopilot_report_ms = 3_600_000;
    })
    .await
}

/// A window from instance `name` at `at_ms` with this p99 and these `BUSY` answers.
pub async fn report(state: &AppState, name: &str, at_ms: i64, p99_ms: u64, busy: u64) {
    let window = HealthReport {
        at_ms,
        operations: 200,
        busy,
        mutations: 150,
        p50_ms: p99_ms / 4,
        p99_ms,
        max_ms: p99_ms,
        pool_in_use: 2,
        pool_max: 8,
    };
    store::report_health(state.redis(), state.keys(), name, &window, 60_000)
        .await
        .expect("report");
}

/// The limits in force, as the admission script reads them.
pub async fn limits(state: &AppState, event: i64) -> (Option<f64>, Option<u32>) {
    queue_store::limits(state.redis(), &state.keys().queue(event))
        .await
        .expect("limits")
}

const STATS: &str = "query($e: ID!) { queueStats(eventId: $e) { admissionRate admissionCapacity \
    achievedAdmissionRate autopilot { mode rate capacity minRate maxRate minCapacity maxCapacity \
    reason status changedAt health { instances operations busy p99Ms poolPressure } } } }";

async fn stats(app: &TestApp, admin: &str, event: i64) -> Value {
    app.public_as(admin, STATS, json!({ "e": event.to_string() }))
        .await
}

#[tokio::test]
async fn distress_lowers_the_stored_rate_and_health_raises_it_again() {
    let app = app().await;
    let state = &app.instance.state;
    let event = app.seed_event(10).await;
    let t0 = Utc::now().timestamp_millis();

    let first = autopilot::adjust(state, event, t0).await.expect("adjust");
    report(state, "a", t0 + INTERVAL_MS, 2_000, 0).await;
    report(state, "b", t0 + INTERVAL_MS, 90, 0).await;
    let cut = autopilot::adjust(state, event, t0 + INTERVAL_MS)
        .await
        .expect("adjust");
    let after_cut = limits(state, event).await;
    let too_soon = autopilot::adjust(state, event, t0 + INTERVAL_MS + 1)
        .await
        .expect("adjust");
    report(state, "a", t0 + 2 * INTERVAL_MS, 80, 0).await;
    report(state, "b", t0 + 2 * INTERVAL_MS, 90, 0).await;
    let raised = autopilot::adjust(state, event, t0 + 2 * INTERVAL_MS)
        .await
        .expect("adjust");
    let after_raise = limits(state, event).await;

    assert!(
        !first.changed,
        "an event seen for the first time is only watched: {first:?}"
    );
    assert!(cut.changed, "{cut:?}");
    assert!(
        cut.reason
            .starts_with("distress: p99 2000 ms > 400 ms target"),
        "{}",
        cut.reason
    );
    // Nobody is admitted, so the cap falls to its floor; the rate halves.
    assert_eq!(after_cut, (Some(10.0), Some(10)));
    assert!(!too_soon.changed && too_soon.waiting, "{too_soon:?}");
    assert!(raised.changed, "{raised:?}");
    assert!(
        raised.reason.contains("raising rate 10 -> 15/s"),
        "{}",
        raised.reason
    );
    assert_eq!(after_raise.0, Some(15.0));
}

#[tokio::test]
async fn the_limits_grow_by_a_factor_until_the_first_distress_then_by_steps() {
    let app = app().await;
    let state = &app.instance.state;
    let event = app.seed_event(10).await;
    let t0 = Utc::now().timestamp_millis();
    let healthy_at = |at: i64| async move {
        report(state, "a", at, 80, 0).await;
    };

    autopilot::adjust(state, event, t0).await.expect("adjust");
    healthy_at(t0 + INTERVAL_MS).await;
    let grown = autopilot::adjust(state, event, t0 + INTERVAL_MS)
        .await
        .expect("adjust");
    let after_growth = limits(state, event).await;
    report(state, "a", t0 + 2 * INTERVAL_MS, 2_000, 0).await;
    let cut = autopilot::adjust(state, event, t0 + 2 * INTERVAL_MS)
        .await
        .expect("adjust");
    healthy_at(t0 + 3 * INTERVAL_MS).await;
    let stepped = autopilot::adjust(state, event, t0 + 3 * INTERVAL_MS)
        .await
        .expect("adjust");
    let record = store::read(state.redis(), state.keys(), event)
        .await
        .expect("record");

    // Nobody admitted yet: the rate is what would bind, the cap has room.
    assert_eq!(after_growth, (Some(30.0), Some(200)), "{}", grown.reason);
    assert!(
        grown.reason.contains("no distress yet (x1.5)"),
        "{}",
        grown.reason
    );
    assert!(cut.cut, "{cut:?}");
    assert_eq!(record.cut_ms, Some(t0 + 2 * INTERVAL_MS));
    // 15 after the halving; a step of 5 now, not x1.5 (22.5).
    assert_eq!(
        limits(state, event).await.0,
        Some(20.0),
        "{}",
        stepped.reason
    );
}

#[tokio::test]
async fn busy_answers_cut_even_with_a_fast_p99() {
    let app = app().await;
    let state = &app.instance.state;
    let event = app.seed_event(10).await;
    let t0 = Utc::now().timestamp_millis();

    autopilot::adjust(state, event, t0).await.expect("adjust");
    report(state, "a", t0 + INTERVAL_MS, 50, 40).await;
    let decision = autopilot::adjust(state, event, t0 + INTERVAL_MS)
        .await
        .expect("adjust");

    assert!(decision.changed, "{decision:?}");
    assert!(decision.reason.contains("BUSY"), "{}", decision.reason);
    assert_eq!(limits(state, event).await.0, Some(10.0));
}

#[tokio::test]
async fn a_pin_holds_against_any_report_until_the_autopilot_resumes() {
    let app = app().await;
    let state = &app.instance.state;
    let event = app.seed_event(10).await;
    let admin = app.access_token(uuid::Uuid::now_v7(), "ADMIN");
    let vars = json!({ "e": event.to_string() });
    let t0 = Utc::now().timestamp_millis();

    let pinned = app
        .public_as(
            &admin,
            "mutation($e: ID!) { pinAdmission(eventId: $e, perSecond: 7, capacity: 30) { admissionRate admissionCapacity autopilot { mode reason } } }",
            vars.clone(),
        )
        .await;
    report(state, "a", t0 + 10 * INTERVAL_MS, 5_000, 100).await;
    let while_pinned = autopilot::adjust(state, event, t0 + 10 * INTERVAL_MS)
        .await
        .expect("adjust");
    let kept = limits(state, event).await;
    let resumed = app
        .public_as(
            &admin,
            "mutation($e: ID!) { resumeAutopilot(eventId: $e) { autopilot { mode reason } } }",
            vars,
        )
        .await;
    let resumed_at = Utc::now().timestamp_millis();
    report(state, "a", resumed_at + INTERVAL_MS, 5_000, 100).await;
    let after = autopilot::adjust(state, event, resumed_at + INTERVAL_MS)
        .await
        .expect("adjust");

    let view = &pinned["data"]["pinAdmission"];
    assert_eq!(view["admissionRate"], 7.0, "{pinned}");
    assert_eq!(view["admissionCapacity"], 30);
    assert_eq!(view["autopilot"]["mode"], "PINNED");
    assert!(!while_pinned.changed, "{while_pinned:?}");
    assert_eq!(kept, (Some(7.0), Some(30)));
    assert_eq!(
        resumed["data"]["resumeAutopilot"]["autopilot"]["mode"], "AUTO",
        "{resumed}"
    );
    assert!(after.changed, "{after:?}");
    assert_eq!(limits(state, event).await, (Some(3.5), Some(10)));
}

#[tokio::test]
async fn queue_stats_show_the_values_the_bounds_and_why() {
    let app = app().await;
    let state = &app.instance.state;
    let event = app.seed_event(10).await;
    let admin = app.access_token(uuid::Uuid::now_v7(), "ADMIN");
    let t0 = Utc::now().timestamp_millis();

    let before = stats(&app, &admin, event).await;
    autopilot::adjust(state, event, t0).await.expect("adjust");
    report(state, "a", t0 + INTERVAL_MS, 1_500, 0).await;
    autopilot::adjust(state, event, t0 + INTERVAL_MS)
        .await
        .expect("adjust");
    let after = stats(&app, &admin, event).await;

    let before = &before["data"]["queueStats"];
    assert_eq!(before["autopilot"]["mode"], "AUTO", "{before}");
    assert_eq!(before["admissionRate"], 20.0);
    assert_eq!(before["autopilot"]["maxCapacity"], 1_000);
    assert_eq!(before["achievedAdmissionRate"], Value::Null);
    let after = &after["data"]["queueStats"];
    assert_eq!(after["admissionRate"], 10.0, "{after}");
    assert_eq!(after["autopilot"]["rate"], 10.0);
    assert_eq!(after["autopilot"]["capacity"], 10);
    let reason = after["autopilot"]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("distress: p99 1500 ms > 400 ms target, cutting rate 20 -> 10/s"),
        "{reason}"
    );
    assert_eq!(after["autopilot"]["health"]["p99Ms"], 1_500);
    assert!(after["autopilot"]["changedAt"].is_string());
}

#[tokio::test]
async fn with_the_autopilot_off_reports_change_nothing() {
    let app = TestApp::spawn_with(|config| config.autopilot_enabled = false).await;
    let state = &app.instance.state;
    let event = app.seed_event(10).await;
    let admin = app.access_token(uuid::Uuid::now_v7(), "ADMIN");
    let t0 = Utc::now().timestamp_millis();

    for at in [t0, t0 + INTERVAL_MS, t0 + 10 * INTERVAL_MS] {
        report(state, "a", at, 9_000, 100).await;
        let decision = autopilot::adjust(state, event, at).await.expect("adjust");
        assert!(!decision.changed, "{decision:?}");
    }
    let stats = stats(&app, &admin, event).await;

    assert_eq!(limits(state, event).await, (None, None));
    assert_eq!(
        stats["data"]["queueStats"]["autopilot"]["mode"], "OFF",
        "{stats}"
    );
    assert_eq!(stats["data"]["queueStats"]["admissionRate"], 50.0);
}

#[tokio::test]
async fn bounds_are_checked_and_limits_outside_them_move_inside() {
    let app = app().await;
    let state = &app.instance.state;
    let event = app.seed_event(10).await;
    let admin = app.access_token(uuid::Uuid::now_v7(), "ADMIN");
    let fan_token = app.access_token(uuid::Uuid::now_v7(), "FAN");
    let set = |min_rate: f64, max_rate: f64, min_cap: i32, max_cap: i32| json!({ "e": event.to_string(), "a": min_rate, "b": max_rate, "c": min_cap, "d": max_cap });
    let mutation = "mutation($e: ID!, $a: Float!, $b: Float!, $c: Int!, $d: Int!) { \
        setAdmissionBounds(eventId: $e, minRate: $a, maxRate: $b, minCapacity: $c, maxCapacity: $d) { \
        admissionRate admissionCapacity autopilot { minRate maxRate minCapacity maxCapacity reason } } }";

    let upside_down = app
        .public_as(&admin, mutation, set(5.0, 1.0, 10, 100))
        .await;
    let negative = app
        .public_as(&admin, mutation, set(1.0, 5.0, -1, 100))
        .await;
    let as_fan = app
        .public_as(&fan_token, mutation, set(1.0, 5.0, 10, 100))
        .await;
    let narrowed = app
        .public_as(&admin, mutation, set(1.0, 5.0, 10, 100))
        .await;

    for refused in [&upside_down, &negative] {
        assert_eq!(
            refused["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{refused}"
        );
    }
    assert_eq!(
        as_fan["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{as_fan}"
    );
    let view = &narrowed["data"]["setAdmissionBounds"];
    assert_eq!(view["admissionRate"], 5.0, "{narrowed}");
    assert_eq!(view["admissionCapacity"], 100);
    assert_eq!(view["autopilot"]["maxRate"], 5.0);
    assert_eq!(limits(state, event).await, (Some(5.0), Some(100)));
}

#[tokio::test]
async fn a_decision_made_on_an_old_record_is_dropped() {
    let app = app().await;
    let state = &app.instance.state;
    let event = app.seed_event(10).await;
    let record = store::read(state.redis(), state.keys(), event)
        .await
        .expect("read");
    let write = |rate: f64| AutopilotWrite {
        expected_version: Some(record.version),
        rate: Some(rate),
        ..AutopilotWrite::default()
    };

    let first = store::write(state.redis(), state.keys(), event, write(11.0)).await;
    let second = store::write(state.redis(), state.keys(), event, write(99.0)).await;

    assert_eq!(first.ok(), Some(true));
    assert_eq!(second.ok(), Some(false));
    assert_eq!(limits(state, event).await.0, Some(11.0));
}

#[tokio::test]
async fn sale_mutations_and_their_latency_are_recorded_and_reported() {
    let app = app().await;
    let state = &app.instance.state;
    let event = app.seed_event(10).await;
    let seats = seat_ids(state.db(), event, 3).await;
    let mut fans = Vec::new();
    for _ in 0..3 {
        fans.push(admitted(&app, event).await);
    }
    // Close whatever window was open so only these answers count.
    report_now(state, "this-instance", Utc::now().timestamp_millis())
        .await
        .expect("report");

    for (fan, seat) in fans.iter().zip(&seats) {
        let held = lock(&app, event, fan, &[*seat]).await;
        assert!(held["errors"].is_null(), "{held}");
    }
    let window = report_now(state, "this-instance", Utc::now().timestamp_millis())
        .await
        .expect("report");
    let stored = store::read_health(state.redis(), state.keys(), window.at_ms)
        .await
        .expect("read");

    assert_eq!(window.mutations, 3, "{window:?}");
    assert_eq!(window.operations, 3);
    assert_eq!(window.busy, 0);
    assert!(window.p99_ms >= 1, "{window:?}");
    assert!(window.max_ms >= window.p99_ms);
    assert_eq!(stored, vec![window]);
}

#[tokio::test]
async fn the_payment_providers_wait_is_not_counted_as_the_sale_paths_latency() {
    // A provider that makes the fan wait 3 s (a timing-out test card) says nothing about the
    // database: counted, the autopilot would cut admissions for every slow provider answer.
    let provider_wait_ms = 3_000;
    let app = TestApp::spawn_with(|config| {
        config.payment_timeout_ms = provider_wait_ms;
        config.autopilot_report_ms = 3_600_000;
    })
    .await;
    let state = &app.instance.state;
    let event = app.seed_event(10).await;
    let seats = seat_ids(state.db(), event, 1).await;
    let fan = admitted(&app, event).await;
    let booking = hold_and_book(&app, event, &fan, &seats).await["id"]
        .as_str()
        .expect("booking")
        .to_owned();
    report_now(state, "this-instance", Utc::now().timestamp_millis())
        .await
        .expect("report");

    let began = std::time::Instant::now();
    let paid = pay(
        &app,
        event,
        &fan,
        &booking,
        "CARD",
        card("4000000000000119"),
    )
    .await;
    let answered_after = began.elapsed();
    let window = report_now(state, "this-instance", Utc::now().timestamp_millis())
        .await
        .expect("report");

    assert_eq!(
        paid["errors"][0]["extensions"]["code"], "PAYMENT_TIMEOUT",
        "{paid}"
    );
    // The fan did wait for the provider; the sale path's own latency leaves that wait out.
    assert!(answered_after.as_millis() >= u128::from(provider_wait_ms));
    assert_eq!(window.mutations, 1, "{window:?}");
    assert!(window.max_ms < provider_wait_ms, "{window:?}");
}
