//! Helpers for queue tests: fans, events, ticks, and Redis reads.

use std::sync::Arc;

use entities::{event, user::Role};
use fred::prelude::{HashesInterface as _, SortedSetsInterface as _};
use graphql_api::{
    auth::Identity,
    events::find_event_by_id,
    queue::{
        self,
        ticker::{self, ActiveEvent, TickOutcome},
    },
    state::AppState,
};
use tokens::store::QueueKeys;
use uuid::Uuid;

/// A fan who exists only in their access token (the queue never reads Postgres users).
pub fn fan() -> Identity {
    Identity {
        user_id: Uuid::new_v4(),
        role: Role::Fan,
    }
}

pub async fn event(state: &AppState, id: i64) -> Arc<event::Model> {
    find_event_by_id(state, id).await.expect("event")
}

/// The event as the ticker sees it, opened in the past.
pub fn active(event: &event::Model) -> ActiveEvent {
    ActiveEvent {
        id: event.id,
        opens_ms: event.sale_opens_at.timestamp_millis(),
        gate_enabled: true,
    }
}

/// Sets an event's admission rate and capacity in Redis, as the admin mutations do.
pub async fn set_limits(state: &AppState, event: i64, rate: f64, capacity: u32) {
    let keys = QueueKeys::new(state.keys(), event);
    let _: i64 = state
        .redis()
        .hset(
            &keys.meta,
            vec![
                ("rate", rate.to_string()),
                ("capacity", capacity.to_string()),
            ],
        )
        .await
        .expect("hset");
}

/// Fans admitted now (the cap counts these).
pub async fn admitted_now(state: &AppState, event: i64) -> i64 {
    let keys = QueueKeys::new(state.keys(), event);
    state.redis().zcard(&keys.adm).await.expect("zcard")
}

/// Ticks until `want` fans were admitted (or `max_ticks` passed); returns them in order.
pub async fn admit_all(
    state: &AppState,
    event: &ActiveEvent,
    want: usize,
    max_ticks: usize,
) -> Vec<String> {
    let mut order = Vec::new();
    for _ in 0..max_ticks {
        let outcome: TickOutcome = ticker::tick_and_publish(state, event).await.expect("tick");
        order.extend(outcome.admitted.into_iter().map(|fan| fan.fan));
        if order.len() >= want {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    order
}

/// Joins every fan concurrently; returns each fan's ticket number, in the given order.
pub async fn join_all(state: &AppState, event: &event::Model, fans: &[Identity]) -> Vec<i64> {
    let joins = fans.iter().map(|fan| queue::join(state, event, fan));
    futures_util::future::join_all(joins)
        .await
        .into_iter()
        .map(|status| {
            status
                .expect("join")
                .ticket_number
                .expect("a ticket number")
        })
        .collect()
}
