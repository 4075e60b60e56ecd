//! Events on the public schema: what is on, where, when, and at what prices.

use std::sync::Arc;

use anyhow::Context as _;
use async_graphql::{ComplexObject, Context, Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entities::event;
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _};

use crate::{
    context::ContextExt as _,
    error::{ApiError, ApiResult},
    layout::SeatCategory,
    loaders::{EventCategories, RequestLoader},
    state::AppState,
};

/// Where an event is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum EventStatus {
    /// Announced; the sale opens at `saleOpensAt`.
    Scheduled,
    /// Selling now.
    OnSale,
    /// Every seat is booked.
    SoldOut,
    /// The sale has ended.
    Closed,
    /// The show will not take place.
    Cancelled,
}

impl From<event::EventStatus> for EventStatus {
    fn from(status: event::EventStatus) -> Self {
        match status {
            event::EventStatus::Scheduled => EventStatus::Scheduled,
            event::EventStatus::OnSale => EventStatus::OnSale,
            event::EventStatus::SoldOut => EventStatus::SoldOut,
            event::EventStatus::Closed => EventStatus::Closed,
            event::EventStatus::Cancelled => EventStatus::Cancelled,
        }
    }
}

/// A show with a ticket sale.
#[derive(Clone, Debug, SimpleObject)]
#[graphql(complex)]
pub struct Event {
    pub id: ID,
    /// Stable name for links, e.g. `coldplay-mumbai-2027`.
    pub slug: String,
    pub name: String,
    pub artist: String,
    pub venue: String,
    pub city: String,
    pub starts_at: DateTime<Utc>,
    pub sale_opens_at: DateTime<Utc>,
    pub status: EventStatus,
    /// When true, buying needs a place in the queue and an admission token.
    pub gate_enabled: bool,
    /// Most seats one fan may hold and buy.
    pub max_seats_per_fan: i32,
    #[graphql(skip)]
    pub db_id: i64,
}

#[ComplexObject]
impl Event {
    /// Price bands, cheapest last as on a poster (batched across events: no N+1).
    async fn categories(&self, ctx: &Context<'_>) -> ApiResult<Vec<SeatCategory>> {
        let loader = ctx.api_data::<RequestLoader>()?;
        let categories = loader
            .load_one(EventCategories(self.db_id))
            .await?
            .unwrap_or_default();
        Ok(categories.iter().map(SeatCategory::from).collect())
    }

    /// Where the sale schema of this event answers (through the gateway).
    async fn sale_path(&self) -> String {
        format!("/sale/{}/graphql", self.db_id)
    }
}

impl From<&event::Model> for Event {
    fn from(model: &event::Model) -> Self {
        Self {
            id: ID(model.id.to_string()),
            slug: model.slug.clone(),
            name: model.name.clone(),
            artist: model.artist.clone(),
            venue: model.venue.clone(),
            city: model.city.clone(),
            starts_at: model.starts_at,
            sale_opens_at: model.sale_opens_at,
            status: model.status.into(),
            gate_enabled: model.gate_enabled,
            max_seats_per_fan: model.max_seats_per_fan,
            db_id: model.id,
        }
    }
}

/// Public queries about events.
#[derive(Default)]
pub struct EventQuery;

#[Object]
impl EventQuery {
    /// Every event, soonest first.
    async fn events(&self, ctx: &Context<'_>) -> ApiResult<Vec<Event>> {
        let state = ctx.api_data::<AppState>()?;
        let events = event::Entity::find()
            .order_by_asc(event::Column::StartsAt)
            .order_by_asc(event::Column::Id)
            .all(state.db())
            .await
            .context("listing events")?;
        Ok(events.iter().map(Event::from).collect())
    }

    /// One event by id; `EVENT_NOT_FOUND` if there is none.
    async fn event(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Event> {
        let state = ctx.api_data::<AppState>()?;
        let event = find_event(state, &id).await?;
        Ok(Event::from(event.as_ref()))
    }

    /// One event by slug; `EVENT_NOT_FOUND` if there is none.
    async fn event_by_slug(&self, ctx: &Context<'_>, slug: String) -> ApiResult<Event> {
        let state = ctx.api_data::<AppState>()?;
        let event = event::Entity::find()
            .filter(event::Column::Slug.eq(slug.as_str()))
            .one(state.db())
            .await
            .context("finding an event by slug")?
            .ok_or(ApiError::EventNotFound(slug))?;
        Ok(Event::from(&event))
    }
}

/// Parses a client's event id; anything that is not a positive integer names no event.
pub fn parse_event_id(id: &str) -> ApiResult<i64> {
    id.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::EventNotFound(truncate(id)))
}

/// Finds an event through the instance's short-lived cache.
pub async fn find_event(state: &AppState, id: &str) -> ApiResult<Arc<event::Model>> {
    let event_id = parse_event_id(id)?;
    find_event_by_id(state, event_id).await
}

/// Finds an event by numeric id through the instance's short-lived cache. Concurrent misses
/// for one event share a single query (a rush asks for the same event thousands of times a
/// second).
pub async fn find_event_by_id(state: &AppState, event_id: i64) -> ApiResult<Arc<event::Model>> {
    let db = state.db().clone();
    let loaded = state
        .event_cache()
        .try_get_with(event_id, async move {
            let found = event::Entity::find_by_id(event_id)
                .one(&db)
                .await
                .context("loading an event")?;
            Ok::<_, ApiError>(Arc::new(
                found.ok_or_else(|| ApiError::EventNotFound(event_id.to_string()))?,
            ))
        })
        .await;
    loaded.map_err(|error: Arc<ApiError>| ApiError::clone(&error))
}

/// Keeps error messages short when a client sends a huge id.
fn truncate(text: &str) -> String {
    text.chars().take(40).collect()
}
