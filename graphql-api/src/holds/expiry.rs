//! Releasing holds whose time ran out, and publishing the freed seats. The
//! [`sweeper`](crate::sweeper) runs it every `HOLD_SWEEP_MS`.

use std::{collections::HashMap, sync::LazyLock};

use anyhow::Context as _;
use entities::{booking::BookingStatus, hold::HoldStatus};
use sea_orm::{ConnectionTrait as _, Statement, TransactionTrait as _};
use uuid::Uuid;

use crate::{
    db::literal,
    inventory::{self, Changes},
    state::AppState,
};

/// $1 limit: active holds that ran out, oldest first, skipping those another sweep holds.
static DUE_HOLDS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT id, event_id FROM holds WHERE status = {active} AND held_until <= now() \
         ORDER BY held_until LIMIT $1 FOR UPDATE SKIP LOCKED",
        active = literal(&HoldStatus::Active),
    )
});

/// Releases up to `limit` holds that ran out; returns how many.
pub async fn sweep(state: &AppState, limit: i64) -> anyhow::Result<usize> {
    let tx = state.db().begin().await.context("starting a sweep")?;
    let due = tx
        .query_all_raw(Statement::from_sql_and_values(
            tx.get_database_backend(),
            DUE_HOLDS.as_str(),
            [limit.into()],
        ))
        .await
        .context("finding holds that ran out")?;
    let mut by_event: HashMap<i64, Changes> = HashMap::new();
    for row in &due {
        let id: Uuid = row.try_get("", "id")?;
        let event: i64 = row.try_get("", "event_id")?;
        let freed = inventory::end_hold(&tx, id, HoldStatus::Expired, BookingStatus::Expired)
            .await
            .map_err(|error| anyhow::anyhow!("{error}"))?;
        by_event.entry(event).or_default().extend(freed);
    }
    tx.commit().await.context("committing a sweep")?;
    for (event, changes) in by_event {
        inventory::publish(state, event, &changes).await;
    }
    Ok(due.len())
}
