//! The seat map: an event's layout ([`crate::layout`]) plus one character of state per
//! seat, so a 50,000-seat stadium draws from one small answer. The state string is read once
//! per published change (see [`states`]).
//!
//! The same two halves also travel apart, which is what the web client uses: the layout as
//! an immutable file browsers keep ([`layout_file`], served by `http::layout`), and the
//! states alone as a snapshot at a sequence ([`seat_states`]), a fifth of the map's bytes.

use std::sync::Arc;

use anyhow::Context as _;
use async_graphql::{ID, SimpleObject};
use chrono::Utc;
use entities::{seat, seat_category};
use sea_orm::{
    ColumnTrait as _, ConnectionTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _,
    QuerySelect as _, Statement,
};

use crate::{
    answers::ImmutableFile,
    error::{ApiError, ApiResult},
    inventory,
    layout::{LayoutSeat, MapBounds, MapSection, SeatCategory, SeatLayout, SeatRun, build_layout},
    live::seats as seat_changes,
    state::AppState,
};

/// Everything needed to draw an event's seats.
#[derive(Clone, Debug, SimpleObject)]
pub struct SeatMap {
    pub event_id: ID,
    pub seat_count: i32,
    pub bounds: MapBounds,
    pub categories: Vec<SeatCategory>,
    pub sections: Vec<MapSection>,
    /// Runs in seat-id order; together they cover every seat once.
    pub runs: Vec<SeatRun>,
    /// One character per seat, in the order of `runs`: `A` available, `H` held, `B` booked.
    pub status: String,
    /// The event's seat-change sequence this map includes: apply `seatAvailability`
    /// batches with a higher `toSequence`.
    pub sequence: i64,
}

/// Every seat's state at a sequence: the compact snapshot a client applies live changes to.
#[derive(Clone, Debug, SimpleObject)]
pub struct SeatStates {
    /// The event's seat-change sequence this snapshot includes: apply `seatAvailability`
    /// batches after it; a batch whose `fromSequence` is above `sequence + 1` leaves a hole
    /// (fetch the snapshot again).
    pub sequence: i64,
    /// One character per seat in seat-id order, which is the order of the layout's runs:
    /// `A` available, `H` held, `B` booked.
    pub states: String,
    /// The version of the layout whose runs these states follow: the `{version}` of
    /// `/events/{eventId}/layout/{version}.json`. A client holding another version fetches
    /// the layout again.
    pub layout_version: String,
}

/// The snapshot of an event's seat states, with the version of the layout it goes with.
pub async fn seat_states(state: &AppState, event_id: i64) -> ApiResult<SeatStates> {
    state.count_seat_map_build();
    let file = layout_file(state, event_id).await?;
    // Read before the states, as for the map (see [`seat_map`]).
    let sequence = seat_changes::current_sequence(state.redis(), state.keys(), event_id).await?;
    let states = states(state, event_id, sequence).await?;
    Ok(SeatStates {
        sequence,
        states: states.to_string(),
        layout_version: file.version().to_owned(),
    })
}

/// The layout as the file browsers keep: written once per event and instance, named by a
/// hash of its bytes (equal on every instance, so any of them answers `If-None-Match`).
pub async fn layout_file(state: &AppState, event_id: i64) -> ApiResult<Arc<ImmutableFile>> {
    /// The file's content: the layout, with the event it belongs to.
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct LayoutJson<'a> {
        event_id: String,
        #[serde(flatten)]
        layout: &'a SeatLayout,
    }

    let layout = layout(state, event_id).await?;
    state
        .layout_file_cache()
        .try_get_with(event_id, async move {
            let json = serde_json::to_vec(&LayoutJson {
                event_id: event_id.to_string(),
                layout: &layout,
            })
            .context("writing a seat layout")?;
            Ok::<_, anyhow::Error>(Arc::new(ImmutableFile::new(json.into())))
        })
        .await
        .map_err(ApiError::from)
}

/// Builds an event's seat map from the cached layout and the seats' current state.
pub async fn seat_map(state: &AppState, event_id: i64) -> ApiResult<SeatMap> {
    state.count_seat_map_build();
    let layout = layout(state, event_id).await?;
    // Read before the states: a change in between is then both in the map and in a later
    // batch, which is harmless (batches carry each seat's version).
    let sequence = seat_changes::current_sequence(state.redis(), state.keys(), event_id).await?;
    let status = states(state, event_id, sequence).await?;
    Ok(SeatMap {
        event_id: ID(event_id.to_string()),
        seat_count: layout.seat_count,
        bounds: layout.bounds,
        categories: layout.categories.clone(),
        sections: layout.sections.clone(),
        runs: layout.runs.clone(),
        status: status.to_string(),
        sequence,
    })
}

/// One character per seat, in id order. When a sale opens, thousands of fans load the map
/// at once: they share one read per published change (and per second at most), instead of
/// an aggregate over every seat each. Sharing is safe because a string read after the
/// sequence was taken holds every change up to it; the second bounds staleness when a
/// publish was lost, and an expired hold's seat, which turns free without a publish.
async fn states(state: &AppState, event_id: i64, sequence: i64) -> ApiResult<Arc<str>> {
    let db = state.db().clone();
    state
        .seat_state_cache()
        .try_get_with((event_id, sequence), async move {
            // Aggregated in Postgres: one row back instead of one per seat.
            let row = db
                .query_one_raw(Statement::from_sql_and_values(
                    db.get_database_backend(),
                    inventory::statements::SEAT_STATES.as_str(),
                    [event_id.into(), Utc::now().into()],
                ))
                .await
                .context("reading seat states")?
                .context("no row from an aggregate")?;
            let status: String = row.try_get("", "status").context("reading seat states")?;
            Ok::<_, anyhow::Error>(Arc::<str>::from(status))
        })
        .await
        .map_err(ApiError::from)
}

async fn layout(state: &AppState, event_id: i64) -> ApiResult<Arc<SeatLayout>> {
    let db = state.db().clone();
    state
        .layout_cache()
        .try_get_with(event_id, async move {
            let seats = seat::Entity::find()
                .select_only()
                .columns([
                    seat::Column::Id,
                    seat::Column::Section,
                    seat::Column::RowLabel,
                    seat::Column::Number,
                    seat::Column::CategoryId,
                    seat::Column::X,
                    seat::Column::Y,
                ])
                .filter(seat::Column::EventId.eq(event_id))
                .order_by_asc(seat::Column::Id)
                .into_model::<LayoutSeat>()
                .all(&db)
                .await
                .context("loading the seat layout")?;
            let categories = seat_category::Entity::find()
                .filter(seat_category::Column::EventId.eq(event_id))
                .order_by_asc(seat_category::Column::SortOrder)
                .order_by_asc(seat_category::Column::Id)
                .all(&db)
                .await
                .context("loading seat categories")?;
            Ok::<_, anyhow::Error>(Arc::new(build_layout(&seats, &categories)))
        })
        .await
        .map_err(ApiError::from)
}
