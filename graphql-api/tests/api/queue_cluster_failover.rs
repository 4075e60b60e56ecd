//! A Redis Cluster primary lost mid-rush (SIGKILL) and replaced by its replica. The event's
//! queue lives on that primary, and so do the instance's live hubs (its pub/sub
//! subscriptions): fans in line before the failure keep their places, joins during the
//! failover answer `BUSY` and land once retried, a fan whose acknowledged join did not reach
//! the replica is told `NOT_IN_QUEUE` and joins again, admissions follow ticket order, and
//! the live position and seat map opened before the failure carry on.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use entities::event;
use futures_util::{StreamExt as _, stream};
use graphql_api::{
    auth::Identity,
    error::ApiError,
    queue::{self, QueueState, QueueStatus},
    state::AppState,
    testing::{TestApp, TestRedisServer},
};
use serde_json::json;

use crate::{
    queue_support::{event, fan, set_limits},
    sale_support::{admitted, lock, seat_ids},
    ws_client::{WsClient, sale_ws},
};

const POSITION: &str = "subscription($e: ID!) { queuePosition(eventId: $e) { state position } }";
const CHANGES: &str =
    "subscription { seatAvailability { fromSequence toSequence changes { seatId status } } }";

/// Runs `call` again while the cluster answers `BUSY` (a client backs off the same way);
/// any other error fails the test.
async fn retrying_busy<T, F, Fut>(what: &str, mut call: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ApiError>>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match call().await {
            Ok(value) => return value,
            Err(ApiError::Busy { .. }) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(error) => panic!("{what} answered {error:?}, not BUSY"),
        }
    }
}

async fn join_retrying(state: &AppState, event: &event::Model, identity: &Identity) -> QueueStatus {
    retrying_busy("a join", || queue::join(state, event, identity)).await
}

async fn status_retrying(
    state: &AppState,
    event: &event::Model,
    identity: &Identity,
) -> QueueStatus {
    retrying_busy("a status", || queue::status(state, event, identity)).await
}

/// The live nodes where some client subscribed to `channel`.
fn subscribed_on(cluster: &TestRedisServer, live: &[usize], channel: &str) -> Vec<usize> {
    live.iter()
        .copied()
        .filter(|node| {
            let answer = cluster.cli(*node, &["PUBSUB", "NUMSUB", channel]);
            answer
                .lines()
                .nth(1)
                .and_then(|count| count.trim().parse::<u32>().ok())
                .is_some_and(|count| count > 0)
        })
        .collect()
}

/// The seats a `seatAvailability` batch changed.
fn changed_seats(batch: &serde_json::Value) -> Vec<String> {
    batch["payload"]["data"]["seatAvailability"]["changes"]
        .as_array()
        .map(|changes| {
            changes
                .iter()
                .filter_map(|change| change["seatId"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Opens a fan's live position on the public schema.
async fn listen(app: &TestApp, event: &event::Model, identity: &Identity) -> WsClient {
    let token = app.access_token(identity.user_id, "FAN");
    let mut client = WsClient::connect(
        &format!("ws://{}/graphql", app.instance.address),
        json!({ "authorization": format!("Bearer {token}") }),
    )
    .await;
    client
        .subscribe("q", POSITION, json!({ "e": event.id.to_string() }))
        .await;
    client
}

/// The nodes where the instance's queue hub and seat hub listen for `event` (each hub is one
/// Redis connection, on the node that serves its client's slot).
async fn hub_nodes(
    cluster: &TestRedisServer,
    live: &[usize],
    state: &AppState,
    event: i64,
) -> (usize, usize) {
    let (queue, seats) = (
        state.keys().queue(event).channel,
        state.keys().seats(event).channel,
    );
    for _ in 0..100 {
        let found = (
            subscribed_on(cluster, live, &queue),
            subscribed_on(cluster, live, &seats),
        );
        if let ([queue], [seats]) = (found.0.as_slice(), found.1.as_slice()) {
            return (*queue, *seats);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the hubs never subscribed to event {event}'s channels");
}

#[tokio::test]
async fn a_primary_killed_mid_rush_is_replaced_by_its_replica_and_the_line_keeps_its_order() {
    // Arrange: six nodes; an instance on them that lets nobody in yet (so the line itself can
    // be checked), with its hubs subscribed through a probe event.
    let mut cluster = TestRedisServer::cluster_with_replicas().await;
    let app = TestApp::spawn_with(|config| {
        config.redis_url = cluster.url().into();
        config.workers_enabled = true;
        config.queue_update_secs = 1;
        config.autopilot_enabled = false;
        // Fans here join without listening: none may be skipped as gone on a slow machine.
        config.queue_abandon_after_secs = 600;
    })
    .await;
    let state = &app.instance.state;
    let all: Vec<usize> = (0..cluster.ports.len()).collect();
    let probe = event(state, app.seed_event(10).await).await;
    let prober = admitted(&app, probe.id).await;
    let mut probe_seats = WsClient::connect(
        &sale_ws(app.instance.address, probe.id, &prober.token),
        json!({}),
    )
    .await;
    probe_seats.subscribe("s", CHANGES, json!({})).await;
    let in_probe_line = fan();
    join_retrying(state, &probe, &in_probe_line).await;
    let mut probe_position = listen(&app, &probe, &in_probe_line).await;
    let _ = probe_position.next_payload("q").await;
    let (queue_hub, seat_hub) = hub_nodes(&cluster, &all, state, probe.id).await;
    // Events land on slots by id: take one whose queue lives on the queue hub's node, so one
    // failure takes the line and its live positions away at once.
    let mut chosen = None;
    for _ in 0..40 {
        let id = app.seed_event(20).await;
        if cluster.primary_of(0, &state.keys().queue(id).wait) == Some(queue_hub) {
            chosen = Some(id);
            break;
        }
    }
    let event = event(state, chosen.expect("an event on the queue hub's node")).await;
    set_limits(state, event.id, 1_000.0, 0).await;
    let seats = seat_ids(&app.db.connection, event.id, 4).await;

    let early: Vec<Identity> = (0..100).map(|_| fan()).collect();
    let early_tickets: Vec<i64> = stream::iter(&early)
        .map(|identity| join_retrying(state, &event, identity))
        .buffered(16)
        .map(|status| status.ticket_number.expect("a ticket"))
        .collect()
        .await;
    let listener = &early[early.len() - 1];
    let mut position = listen(&app, &event, listener).await;
    let first_position = position.next_payload("q").await;
    let watcher = admitted(&app, event.id).await;
    let mut seat_view = WsClient::connect(
        &sale_ws(app.instance.address, event.id, &watcher.token),
        json!({}),
    )
    .await;
    seat_view.subscribe("s", CHANGES, json!({})).await;
    let hubs = hub_nodes(&cluster, &all, state, event.id).await;
    // Replication is asynchronous: give it a moment, as a real line has between joins.
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Act: the rush goes on while the primary is killed.
    let primary = cluster
        .primary_of(0, &state.keys().queue(event.id).wait)
        .expect("a primary");
    let late: Vec<Identity> = (0..200).map(|_| fan()).collect();
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let rush = {
        let (state, event, late, acknowledged) = (
            state.clone(),
            event.clone(),
            late.clone(),
            acknowledged.clone(),
        );
        tokio::spawn(async move {
            stream::iter(late)
                .map(|identity| {
                    let (state, event, acknowledged) =
                        (state.clone(), event.clone(), acknowledged.clone());
                    async move {
                        let status = join_retrying(&state, &event, &identity).await;
                        acknowledged.fetch_add(1, Ordering::Relaxed);
                        (status.ticket_number.expect("a ticket"), Instant::now())
                    }
                })
                .buffered(16)
                .collect::<Vec<_>>()
                .await
        })
    };
    while acknowledged.load(Ordering::Relaxed) < 50 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    cluster.kill_node(primary);
    let killed_at = Instant::now();
    let late_joins = rush.await.expect("the rush");
    cluster.wait_failover(primary).await;
    let promoted = cluster
        .primary_of(
            all.iter().copied().find(|n| *n != primary).expect("a node"),
            &state.keys().queue(event.id).wait,
        )
        .expect("a new primary");
    // The seat hub may listen on another primary: that one fails too (its replica is intact).
    if seat_hub != primary {
        cluster.kill_node(seat_hub);
        cluster.wait_failover(seat_hub).await;
    }

    let mut lost = Vec::new();
    let mut kept = Vec::new();
    for (identity, ticket) in early.iter().zip(&early_tickets) {
        let now = status_retrying(state, &event, identity).await;
        assert_eq!(
            now.ticket_number,
            Some(*ticket),
            "a fan in line before the failure keeps their place"
        );
        kept.push((*ticket, *identity));
    }
    for (identity, (ticket, at)) in late.iter().zip(&late_joins) {
        let now = status_retrying(state, &event, identity).await;
        if now.state == QueueState::NotInQueue {
            lost.push((*identity, *at));
        } else {
            assert_eq!(
                now.ticket_number,
                Some(*ticket),
                "an acknowledged join holds"
            );
            kept.push((*ticket, *identity));
        }
    }
    for (identity, _) in &lost {
        let again = join_retrying(state, &event, identity).await;
        assert_eq!(again.state, QueueState::Waiting);
        kept.push((again.ticket_number.expect("a ticket"), *identity));
    }
    // Now let the first 150 in: they must be exactly the 150 lowest tickets.
    set_limits(state, event.id, 1_000.0, 150).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut admitted_tickets = Vec::new();
    let mut waiting_tickets = Vec::new();
    while Instant::now() < deadline {
        admitted_tickets.clear();
        waiting_tickets.clear();
        for (ticket, identity) in &kept {
            match status_retrying(state, &event, identity).await.state {
                QueueState::Admitted => admitted_tickets.push(*ticket),
                _ => waiting_tickets.push(*ticket),
            }
        }
        if admitted_tickets.len() == 150 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut heard_admitted = false;
    for _ in 0..60 {
        let message = position.next_payload("q").await;
        if message["payload"]["data"]["queuePosition"]["state"] == "ADMITTED" {
            heard_admitted = true;
            break;
        }
    }
    let buyer = admitted(&app, event.id).await;
    let held = lock(&app, event.id, &buyer, &seats[0..2]).await;
    let mut heard_hold = None;
    for _ in 0..5 {
        let batch = seat_view.next_payload("s").await;
        if changed_seats(&batch).contains(&seats[0].to_string()) {
            heard_hold = Some(batch);
            break;
        }
    }

    // Assert
    eprintln!(
        "primary {primary} (port {}) killed after {} acknowledged late joins; node {promoted} \
         promoted; hubs (queue, seats) on {:?}; {} acknowledged joins lost, acknowledged {:?} before the kill",
        cluster.ports[primary],
        late_joins.iter().filter(|(_, at)| *at < killed_at).count(),
        hubs,
        lost.len(),
        lost.iter()
            .map(|(_, at)| killed_at.saturating_duration_since(*at))
            .collect::<Vec<_>>(),
    );
    assert_eq!(
        hubs,
        (queue_hub, seat_hub),
        "the hubs kept their nodes until the failure"
    );
    assert_eq!(
        primary, queue_hub,
        "the line and its live positions failed together"
    );
    assert_ne!(promoted, primary, "the replica took over");
    let mut tickets: Vec<i64> = kept.iter().map(|(ticket, _)| *ticket).collect();
    tickets.sort_unstable();
    tickets.dedup();
    assert_eq!(
        tickets.len(),
        300,
        "every fan in line holds a place of their own"
    );
    assert!(
        lost.iter().all(|(_, at)| *at <= killed_at),
        "only joins acknowledged before the kill can be lost"
    );
    assert_eq!(
        admitted_tickets.len(),
        150,
        "the line moved on after the failover"
    );
    let last_in = admitted_tickets.iter().max().expect("admitted");
    let first_out = waiting_tickets.iter().min().expect("waiting");
    assert!(
        last_in < first_out,
        "no fan was let in ahead of an earlier one ({last_in} in, {first_out} waiting)"
    );
    assert_eq!(
        first_position["payload"]["data"]["queuePosition"]["state"], "WAITING",
        "{first_position}"
    );
    assert!(
        heard_admitted,
        "the live position opened before the failure carries on to the admission"
    );
    assert!(held["data"]["lockSeats"]["id"].is_string(), "{held}");
    assert!(
        heard_hold.is_some(),
        "the seat map opened before the failure hears the new hold"
    );
}
