//! The queue under the autopilot: the ticker admits up to the cap the autopilot set, and the
//! rate shown to fans is the one actually achieved.

use chrono::Utc;
use fred::prelude::HashesInterface as _;
use graphql_api::{autopilot, testing::TestApp};

use crate::{
    autopilot::{INTERVAL_MS, limits, report},
    queue_support::{active, admit_all, admitted_now, event, fan, join_all},
};

#[tokio::test]
async fn the_ticker_admits_up_to_the_cap_the_autopilot_set() {
    let app = TestApp::spawn_with(|config| {
        config.queue_admission_rate = 1_000.0;
        config.queue_admission_capacity = 40;
        config.autopilot_min_capacity = 6;
        config.autopilot_interval_ms = INTERVAL_MS as u64;
        config.autopilot_report_ms = 3_600_000;
    })
    .await;
    let state = &app.instance.state;
    let event = event(state, app.seed_event(10).await).await;
    let fans: Vec<_> = (0..30).map(|_| fan()).collect();
    join_all(state, &event, &fans).await;
    let t0 = Utc::now().timestamp_millis();

    autopilot::adjust(state, event.id, t0)
        .await
        .expect("adjust");
    report(state, "a", t0 + INTERVAL_MS, 3_000, 0).await;
    autopilot::adjust(state, event.id, t0 + INTERVAL_MS)
        .await
        .expect("adjust");
    let let_in = admit_all(state, &active(&event), 30, 8).await;

    assert_eq!(limits(state, event.id).await.1, Some(6));
    assert_eq!(let_in.len(), 6);
    assert_eq!(admitted_now(state, event.id).await, 6);
}

#[tokio::test]
async fn the_rate_shown_to_fans_is_the_rate_achieved() {
    let app = TestApp::spawn_with(|config| {
        config.queue_admission_rate = 1_000.0;
        config.queue_admission_capacity = 3;
    })
    .await;
    let state = &app.instance.state;
    let event = event(state, app.seed_event(10).await).await;
    let fans: Vec<_> = (0..10).map(|_| fan()).collect();
    join_all(state, &event, &fans).await;
    let last = fans.last().expect("a fan");

    let before = graphql_api::queue::status(state, &event, last)
        .await
        .expect("status");
    admit_all(state, &active(&event), 3, 10).await;
    let after = graphql_api::queue::status(state, &event, last)
        .await
        .expect("status");
    let achieved: Option<f64> = state
        .redis()
        .hget(&state.keys().queue(event.id).meta, "achieved")
        .await
        .expect("hget");

    assert_eq!(
        before.admission_rate, 1_000.0,
        "no history yet: the configured rate"
    );
    let achieved = achieved.expect("the admission script measures what it achieves");
    assert!(achieved > 0.0 && achieved < 1_000.0, "{achieved}");
    assert_eq!(after.admission_rate, achieved);
    assert!(after.fans_ahead.is_some(), "still waiting");
    // The wait itself comes from the forecast, once a window of the line is measured
    // (tests/api/eta.rs).
    assert_eq!(after.estimated_wait_seconds, None);
}

/// The admission script's stamps: when the rate or the cap last stopped a tick.
async fn hits(state: &graphql_api::state::AppState, event: i64) -> (Option<i64>, Option<i64>) {
    state
        .redis()
        .hmget(&state.keys().queue(event).meta, vec!["rate_hit", "cap_hit"])
        .await
        .expect("hmget")
}

async fn forget_hits(state: &graphql_api::state::AppState, event: i64) {
    let _: i64 = state
        .redis()
        .hdel(&state.keys().queue(event).meta, vec!["rate_hit", "cap_hit"])
        .await
        .expect("hdel");
}

#[tokio::test]
async fn a_tick_stamps_the_limit_that_stopped_it_and_none_when_the_line_ran_out() {
    let app = TestApp::spawn_with(|config| {
        config.queue_admission_rate = 1_000.0;
        config.queue_admission_capacity = 3;
    })
    .await;
    let state = &app.instance.state;
    let capped = event(state, app.seed_event(10).await).await;
    join_all(state, &capped, &(0..10).map(|_| fan()).collect::<Vec<_>>()).await;
    let slow = event(state, app.seed_event(10).await).await;
    crate::queue_support::set_limits(state, slow.id, 2.0, 100).await;
    join_all(state, &slow, &(0..10).map(|_| fan()).collect::<Vec<_>>()).await;
    let short = event(state, app.seed_event(10).await).await;
    crate::queue_support::set_limits(state, short.id, 1_000.0, 100).await;
    join_all(state, &short, &[fan(), fan()]).await;

    // Fill the cap, then one more tick with time for the bucket to refill: the cap stops it.
    assert_eq!(admit_all(state, &active(&capped), 3, 50).await.len(), 3);
    forget_hits(state, capped.id).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    admit_all(state, &active(&capped), 1, 1).await;
    // 2/s: a tick after 600 ms may let one fan in, and the bucket is what stops it.
    admit_all(state, &active(&slow), 1, 1).await;
    forget_hits(state, slow.id).await;
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let slow_in = admit_all(state, &active(&slow), 1, 1).await;
    // Everyone in line is let in: nothing but the line stopped the tick.
    assert_eq!(admit_all(state, &active(&short), 2, 50).await.len(), 2);
    forget_hits(state, short.id).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    admit_all(state, &active(&short), 1, 1).await;

    let (rate_hit, cap_hit) = hits(state, capped.id).await;
    assert!(
        cap_hit.is_some() && rate_hit.is_none(),
        "{rate_hit:?} {cap_hit:?}"
    );
    assert_eq!(slow_in.len(), 1);
    let (rate_hit, cap_hit) = hits(state, slow.id).await;
    assert!(
        rate_hit.is_some() && cap_hit.is_none(),
        "{rate_hit:?} {cap_hit:?}"
    );
    assert_eq!(hits(state, short.id).await, (None, None));
}
