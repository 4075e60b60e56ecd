//! The queue's order: fair joins, FIFO and lottery order, the admission cap, and abandoned
//! fans. The same core checks also run on a Redis Cluster (queue_cluster).

use std::collections::HashSet;

use fred::prelude::SortedSetsInterface as _;
use graphql_api::{
    queue::{self, QueueState, lottery, ticker},
    seed,
    testing::TestApp,
};
use sea_orm::{ConnectionTrait as _, Statement};
use tokens::store::QueueKeys;

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
            "SELECT seed, fans, entrants FROM lottery_draws WHERE event_id = $1",
            [id.into()],
        ))
        .await
        .expect("query")
        .expect("a recorded draw");
    let seed: String = row.try_get("", "seed").expect("seed");
    let fans: Vec<String> = row.try_get("", "fans").expect("fans");
    let entrants: Vec<String> = row.try_get("", "entrants").expect("entrants");
    let entrant_ids = |fans: &[String]| -> Vec<String> {
        fans.iter()
            .map(|fan| lottery::proof::entrant_id(id, fan))
            .collect()
    };
    let redone = lottery::proof::order(
        &lottery::parse_seed(&seed).expect("seed"),
        &entrant_ids(&fans),
    );
    assert_eq!(redone, entrant_ids(&lottery_order));
    assert_eq!(
        entrants, redone,
        "the recorded order is the admission order"
    );
    let stats = queue::stats(state, &opened).await.expect("stats");
    assert_eq!(
        stats.lottery.map(|draw| (draw.seed, draw.fans)),
        Some((seed, 60))
    );
}
