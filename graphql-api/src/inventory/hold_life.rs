//! Releasing and extending a hold, each in one statement (one round trip).
//!
//! Both lock the hold row first (`h`, `FOR UPDATE`), so they queue behind any other change
//! of the same hold and decide on its newest version; the changes are conditioned on that
//! decision, so a refused request changes nothing.

use std::sync::LazyLock;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use entities::{booking::BookingStatus, hold::HoldStatus, seat, seat::SeatStatus};
use sea_orm::{ConnectionTrait as _, FromQueryResult as _, QueryResult, Statement};
use uuid::Uuid;

use super::{Changes, take::SEAT_COLUMNS};
use crate::{db::literal, error::ApiResult, state::AppState};

/// $1 hold, $2 event, $3 fan: frees the seats of the fan's active hold, marks it RELEASED
/// and cancels its unpaid booking. One row per freed seat (or one empty row), with the
/// hold's status as it was.
static RELEASE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH h AS MATERIALIZED ( \
             SELECT id, status FROM holds WHERE id = $1 AND event_id = $2 AND user_id = $3 FOR UPDATE \
         ), go AS MATERIALIZED ( \
             SELECT EXISTS (SELECT 1 FROM h WHERE status = {active}) AS go \
         ), freed AS ( \
             UPDATE seats SET status = {available}, hold_id = NULL, held_until = NULL, \
                 version = version + 1, updated_at = now() \
             WHERE hold_id = $1 AND (SELECT go FROM go) RETURNING id, version \
         ), ended AS ( \
             UPDATE holds SET status = {released}, ended_at = now() \
             WHERE id = $1 AND status = {active} AND (SELECT go FROM go) RETURNING 1 \
         ), cancelled AS ( \
             UPDATE bookings SET status = {cancelled}, cancelled_at = now(), updated_at = now() \
             WHERE hold_id = $1 AND status IN ({pending}, {failed}) AND (SELECT go FROM go) RETURNING 1 \
         ) \
         SELECT (SELECT status FROM h) AS hold_status, (SELECT count(*) FROM ended) AS ended, \
                (SELECT count(*) FROM cancelled) AS cancelled, freed.id, freed.version \
         FROM (SELECT 1) AS one LEFT JOIN freed ON true",
        active = literal(&HoldStatus::Active),
        released = literal(&HoldStatus::Released),
        available = literal(&SeatStatus::Available),
        cancelled = literal(&BookingStatus::Cancelled),
        pending = literal(&BookingStatus::PendingPayment),
        failed = literal(&BookingStatus::PaymentFailed),
    )
});

/// $1 hold, $2 event, $3 fan, $4 seconds, $5 most extensions: extends a live hold once more
/// and its seats with it. One row per seat of the hold (or one row without seat).
static EXTEND: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH h AS MATERIALIZED ( \
             SELECT id, status, held_until > now() AS live, extensions_used FROM holds \
             WHERE id = $1 AND event_id = $2 AND user_id = $3 FOR UPDATE \
         ), ext AS ( \
             UPDATE holds SET held_until = held_until + make_interval(secs => $4), \
                 extensions_used = extensions_used + 1 \
             WHERE id = $1 AND EXISTS ( \
                 SELECT 1 FROM h WHERE status = {active} AND live AND extensions_used < $5) \
             RETURNING held_until, extensions_used \
         ), followed AS ( \
             UPDATE seats s SET held_until = ext.held_until, updated_at = now() \
             FROM ext WHERE s.hold_id = $1 RETURNING {columns} \
         ) \
         SELECT h.status AS hold_status, h.live, h.extensions_used AS used, \
                ext.held_until AS new_until, ext.extensions_used AS new_used, followed.* \
         FROM h LEFT JOIN ext ON true LEFT JOIN followed ON true ORDER BY followed.id",
        active = literal(&HoldStatus::Active),
        columns = SEAT_COLUMNS,
    )
});

/// What a release found.
#[derive(Clone, Debug, PartialEq)]
pub enum Released {
    /// Released now: these seats were freed.
    Now(Changes),
    /// The hold had already ended with this status (nothing changed).
    Ended(HoldStatus),
    /// No such hold of this fan in this event.
    Missing,
}

/// Releases the fan's hold in one statement.
pub async fn release_hold(
    state: &AppState,
    event: i64,
    user: Uuid,
    hold_id: Uuid,
) -> ApiResult<Released> {
    let rows = run(
        state,
        &RELEASE,
        hold_id,
        event,
        user,
        Vec::new(),
        "releasing a hold",
    )
    .await?;
    let first = rows
        .first()
        .ok_or_else(|| anyhow::anyhow!("the release statement answered no row"))?;
    let Some(status) = first.try_get::<Option<HoldStatus>>("", "hold_status")? else {
        return Ok(Released::Missing);
    };
    if status != HoldStatus::Active {
        return Ok(Released::Ended(status));
    }
    let mut freed = Changes::new();
    for row in &rows {
        if let Some(id) = row.try_get::<Option<i64>>("", "id")? {
            freed.push((id, SeatStatus::Available, row.try_get("", "version")?));
        }
    }
    Ok(Released::Now(freed))
}

/// What an extension found.
#[derive(Clone, Debug, PartialEq)]
pub enum Extended {
    /// Extended: the hold's new end and extensions used, and its seats.
    Now {
        held_until: DateTime<Utc>,
        extensions_used: i32,
        seats: Vec<seat::Model>,
    },
    /// The hold is not active or ran out.
    NotLive,
    /// It was extended as often as allowed.
    Used,
    Missing,
}

/// Extends the fan's live hold once more, in one statement.
pub async fn extend_hold(
    state: &AppState,
    event: i64,
    user: Uuid,
    hold_id: Uuid,
) -> ApiResult<Extended> {
    let config = state.config();
    let extra = vec![
        (config.hold_extension_secs as f64).into(),
        config.hold_max_extensions.into(),
    ];
    let rows = run(
        state,
        &EXTEND,
        hold_id,
        event,
        user,
        extra,
        "extending a hold",
    )
    .await?;
    let Some(first) = rows.first() else {
        return Ok(Extended::Missing);
    };
    let status: HoldStatus = first.try_get("", "hold_status")?;
    if status != HoldStatus::Active || !first.try_get::<bool>("", "live")? {
        return Ok(Extended::NotLive);
    }
    let Some(held_until) = first.try_get::<Option<DateTime<Utc>>>("", "new_until")? else {
        return Ok(Extended::Used);
    };
    let mut seats = Vec::with_capacity(rows.len());
    for row in &rows {
        if row.try_get::<Option<i64>>("", "id")?.is_some() {
            seats.push(seat::Model::from_query_result(row, "").context("an extended seat")?);
        }
    }
    Ok(Extended::Now {
        held_until,
        extensions_used: first.try_get("", "new_used")?,
        seats,
    })
}

async fn run(
    state: &AppState,
    sql: &str,
    hold_id: Uuid,
    event: i64,
    user: Uuid,
    extra: Vec<sea_orm::Value>,
    what: &'static str,
) -> ApiResult<Vec<QueryResult>> {
    let db = state.db();
    let mut values: Vec<sea_orm::Value> = vec![hold_id.into(), event.into(), user.into()];
    values.extend(extra);
    Ok(db
        .query_all_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            values,
        ))
        .await
        .context(what)?)
}
