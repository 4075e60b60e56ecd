//! Live queue position over WebSocket: updates, the token on admission, identity from
//! `connection_init`, the per-socket cap, and Redis work per tick independent of fans.

use std::time::Duration;

use graphql_api::{
    queue::{self, ticker},
    testing::{TestApp, TestRedisServer},
};
use serde_json::json;

use crate::{
    queue_support::{active, event, fan, set_limits},
    ws_client::WsClient,
};

const POSITION: &str = "subscription($e: ID!) { queuePosition(eventId: $e) { state position fansAhead \
    estimatedWaitSeconds nowServing exact admission { token expiresAt seatCap salePath } } }";

fn ws_url(app: &TestApp) -> String {
    format!("ws://{}/graphql", app.instance.address)
}

#[tokio::test]
async fn a_subscriber_sees_its_position_then_its_admission_with_a_token() {
    let app = TestApp::spawn_with(|config| config.queue_update_secs = 1).await;
    let state = &app.instance.state;
    let event = event(state, app.seed_event(10).await).await;
    let ahead: Vec<_> = (0..3).map(|_| fan()).collect();
    for identity in &ahead {
        queue::join(state, &event, identity).await.expect("join");
    }
    let me = fan();
    queue::join(state, &event, &me).await.expect("join");
    let token = app.access_token(me.user_id, "FAN");
    let mut client = WsClient::connect(
        &ws_url(&app),
        json!({ "authorization": format!("Bearer {token}") }),
    )
    .await;

    client
        .subscribe("1", POSITION, json!({ "e": event.id.to_string() }))
        .await;
    let first = client.next_payload("1").await;
    set_limits(state, event.id, 1_000.0, 100).await;
    let mut admitted = None;
    for _ in 0..50 {
        ticker::tick_and_publish(state, &active(&event))
            .await
            .expect("tick");
        tokio::time::sleep(Duration::from_millis(20)).await;
        if queue::status(state, &event, &me)
            .await
            .expect("status")
            .admission
            .is_some()
        {
            break;
        }
    }
    for _ in 0..10 {
        let message = client.next_payload("1").await;
        if message["payload"]["data"]["queuePosition"]["state"] == "ADMITTED" {
            admitted = Some(message);
            break;
        }
    }

    let position = &first["payload"]["data"]["queuePosition"];
    assert_eq!(position["state"], "WAITING", "{first}");
    assert_eq!(position["position"], 4);
    assert_eq!(position["fansAhead"], 3);
    assert_eq!(position["exact"], true);
    let admitted = admitted.expect("an ADMITTED update");
    let admission = &admitted["payload"]["data"]["queuePosition"]["admission"];
    let claims = state
        .admission_keys()
        .verify_admission(
            admission["token"].as_str().expect("token"),
            chrono::Utc::now().timestamp(),
            Some(event.id),
        )
        .expect("a valid admission token");
    // One spelling of a fan: the token names them as the queue and the record do.
    assert_eq!(claims.sub, me.fan_key());
    assert_eq!(admission["salePath"], format!("/sale/{}/graphql", event.id));
}

#[tokio::test]
async fn a_waiting_subscriber_gets_estimated_updates_as_the_line_moves() {
    let app = TestApp::spawn_with(|config| config.queue_update_secs = 1).await;
    let state = &app.instance.state;
    let event = event(state, app.seed_event(10).await).await;
    for _ in 0..20 {
        queue::join(state, &event, &fan()).await.expect("join");
    }
    let me = fan();
    queue::join(state, &event, &me).await.expect("join");
    let token = app.access_token(me.user_id, "FAN");
    let mut client = WsClient::connect(
        &ws_url(&app),
        json!({ "authorization": format!("Bearer {token}") }),
    )
    .await;
    client
        .subscribe("q", POSITION, json!({ "e": event.id.to_string() }))
        .await;
    let first = client.next_payload("q").await;
    assert_eq!(
        first["payload"]["data"]["queuePosition"]["position"], 21,
        "{first}"
    );

    set_limits(state, event.id, 40.0, 10).await;
    for _ in 0..10 {
        ticker::tick_and_publish(state, &active(&event))
            .await
            .expect("tick");
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    let update = client.next_payload("q").await;

    let position = &update["payload"]["data"]["queuePosition"];
    assert_eq!(position["state"], "WAITING", "{update}");
    assert_eq!(
        position["exact"], false,
        "estimated from now-serving, not a Redis read"
    );
    assert_eq!(position["position"], 11, "ten fans let in ahead: {update}");
    assert_eq!(position["nowServing"], 10);
}

#[tokio::test]
async fn a_connection_without_identity_gets_a_coded_error_on_subscribe() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(10).await;
    let mut anonymous = WsClient::connect(&ws_url(&app), json!({})).await;
    let mut forged = WsClient::connect(
        &ws_url(&app),
        json!({ "authorization": "Bearer not.a.token" }),
    )
    .await;

    anonymous
        .subscribe("1", POSITION, json!({ "e": event.to_string() }))
        .await;
    forged
        .subscribe("1", POSITION, json!({ "e": event.to_string() }))
        .await;
    let refused = anonymous.next_payload("1").await;
    let refused_forged = forged.next_payload("1").await;

    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{refused}"
    );
    assert!(refused["payload"]["data"].is_null());
    assert_eq!(
        refused_forged["payload"]["errors"][0]["extensions"]["code"], "TOKEN_INVALID",
        "{refused_forged}"
    );
}

#[tokio::test]
async fn one_socket_may_hold_only_so_many_subscriptions() {
    let app = TestApp::spawn_with(|config| config.ws_max_subscriptions = 2).await;
    let state = &app.instance.state;
    let event = event(state, app.seed_event(10).await).await;
    let me = fan();
    queue::join(state, &event, &me).await.expect("join");
    let token = app.access_token(me.user_id, "FAN");
    let mut client = WsClient::connect(
        &ws_url(&app),
        json!({ "authorization": format!("Bearer {token}") }),
    )
    .await;

    let mut first = Vec::new();
    for id in ["a", "b"] {
        client
            .subscribe(id, POSITION, json!({ "e": event.id.to_string() }))
            .await;
        first.push(client.next_payload(id).await);
    }
    client
        .subscribe("c", POSITION, json!({ "e": event.id.to_string() }))
        .await;
    let c = client.next_payload("c").await;

    for payload in &first {
        assert_eq!(
            payload["payload"]["data"]["queuePosition"]["state"], "WAITING",
            "{payload}"
        );
    }
    assert_eq!(
        c["payload"]["errors"][0]["extensions"]["code"], "TOO_MANY_SUBSCRIPTIONS",
        "{c}"
    );
}

/// Opens `n` subscribed fans on `event`; returns their clients once each got a first update.
async fn subscribers(app: &TestApp, event: &entities::event::Model, n: usize) -> Vec<WsClient> {
    let state = &app.instance.state;
    let mut clients = Vec::with_capacity(n);
    for _ in 0..n {
        let identity = fan();
        queue::join(state, event, &identity).await.expect("join");
        let token = app.access_token(identity.user_id, "FAN");
        let mut client = WsClient::connect(
            &ws_url(app),
            json!({ "authorization": format!("Bearer {token}") }),
        )
        .await;
        client
            .subscribe("p", POSITION, json!({ "e": event.id.to_string() }))
            .await;
        clients.push(client);
    }
    for client in &mut clients {
        client.next_payload("p").await;
    }
    clients
}

/// Redis commands executed per tick over `ticks` ticks.
async fn commands_per_tick(
    app: &TestApp,
    redis: &TestRedisServer,
    event: &entities::event::Model,
    ticks: u32,
) -> f64 {
    let before = redis.commands_by_name();
    for _ in 0..ticks {
        ticker::tick_and_publish(&app.instance.state, &active(event))
            .await
            .expect("tick");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let after = redis.commands_by_name();
    let delta: Vec<(String, u64)> = after
        .iter()
        .map(|(name, calls)| (name.clone(), calls - before.get(name).copied().unwrap_or(0)))
        .filter(|(_, calls)| *calls > 0)
        .collect();
    println!("commands over {ticks} ticks: {delta:?}");
    delta.iter().map(|(_, calls)| *calls).sum::<u64>() as f64 / f64::from(ticks)
}

#[tokio::test]
async fn redis_work_per_tick_does_not_grow_with_the_number_of_subscribers() {
    // A Redis of its own, so INFO commandstats counts only this test.
    let redis = TestRedisServer::standalone().await;
    let app = TestApp::spawn_with(|config| {
        config.redis_url = redis.url().into();
        config.queue_update_secs = 1;
        config.queue_exact_rank_secs = 3_600;
        config.queue_abandon_after_secs = 300;
    })
    .await;
    let state = &app.instance.state;
    let few_event = event(state, app.seed_event(10).await).await;
    let mut spec = graphql_api::seed::load_test_spec(10);
    spec.slug = "many-subscribers".into();
    let many_id = graphql_api::seed::seed_event(&app.db.connection, &spec)
        .await
        .expect("seed")
        .event_id;
    let many_event = event(state, many_id).await;
    set_limits(state, few_event.id, 1.0, 100_000).await;
    set_limits(state, many_event.id, 1.0, 100_000).await;

    let _few = subscribers(&app, &few_event, 10).await;
    let _many = subscribers(&app, &many_event, 1_000).await;
    let with_few = commands_per_tick(&app, &redis, &few_event, 20).await;
    let with_many = commands_per_tick(&app, &redis, &many_event, 20).await;

    println!(
        "redis commands per tick: {with_few:.2} with 10 subscribers, {with_many:.2} with 1,000"
    );
    // At most one extra command in the window: a liveness ZADD (one per event, not per fan).
    assert!(
        with_many <= with_few + 0.2,
        "{with_many} per tick with 1,000 vs {with_few} with 10"
    );
}
