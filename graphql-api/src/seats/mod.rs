//! Seats on the sale schema: categories, filtered pages of seats ([`pages`]), the seat map
//! ([`map`], shared between fans by [`shared`]), availability counts, and live changes
//! ([`live`]). Reads only: seats change in [`crate::inventory`].
//!
//! A seat HELD past its `held_until` is shown as AVAILABLE everywhere here, because
//! `lockSeats` treats it as free even before the expiry worker has run.

pub mod live;
pub mod map;
pub mod pages;
pub mod shared;

use anyhow::Context as _;
use async_graphql::{Context, Enum, ID, Object, SimpleObject, connection::Connection};
use chrono::{DateTime, Utc};
use entities::{seat, seat_category};
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};

use self::pages::parse_category_id;
pub use self::pages::{
    PageRequest, SeatFilter, availability, decode_cursor, encode_cursor, seats_page,
};
pub use crate::layout::SeatCategory;
use crate::{
    context::ContextExt as _,
    error::{ApiError, ApiResult},
    events::Event,
    loaders::{EventCategories, RequestLoader},
    sale::{SaleAuth, SaleScope},
    state::AppState,
    ws::SubscriptionSlots,
};

/// A seat's state as a fan should see it now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum SeatStatus {
    /// Free to hold (including seats whose hold has run out).
    Available,
    /// Held by a fan who is buying it.
    Held,
    /// Sold.
    Booked,
}

impl SeatStatus {
    /// The state a seat shows at `now`: an expired hold no longer counts.
    pub fn effective(
        status: seat::SeatStatus,
        held_until: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Self {
        match status {
            seat::SeatStatus::Available => SeatStatus::Available,
            seat::SeatStatus::Held if held_until.is_some_and(|until| until > now) => {
                SeatStatus::Held
            }
            seat::SeatStatus::Held => SeatStatus::Available,
            seat::SeatStatus::Booked => SeatStatus::Booked,
        }
    }
}

/// One seat.
#[derive(Clone, Debug, SimpleObject)]
pub struct Seat {
    pub id: ID,
    /// Section code, e.g. `L105`.
    pub section: String,
    pub row: String,
    pub number: i32,
    pub status: SeatStatus,
    /// Bumped on every change of this seat's state.
    pub version: i64,
    /// The seat's price band.
    pub category: SeatCategory,
}

impl Seat {
    /// A seat as shown at `now`, with its category picked from the event's categories
    /// (loaded once per request, so a page costs the same queries however long it is).
    pub fn from_model(
        model: &seat::Model,
        categories: &[seat_category::Model],
        now: DateTime<Utc>,
    ) -> ApiResult<Self> {
        let category = categories
            .iter()
            .find(|category| category.id == model.category_id)
            .ok_or_else(|| {
                anyhow::anyhow!("seat {} has no category {}", model.id, model.category_id)
            })?;
        Ok(Self {
            id: ID(model.id.to_string()),
            section: model.section.clone(),
            row: model.row_label.clone(),
            number: model.number,
            status: SeatStatus::effective(model.status, model.held_until, now),
            version: model.version,
            category: SeatCategory::from(category),
        })
    }
}

/// Seat counts of one category.
#[derive(Clone, Debug, SimpleObject)]
pub struct CategoryAvailability {
    pub category: SeatCategory,
    pub total: i64,
    pub available: i64,
    pub held: i64,
    pub booked: i64,
}

/// Seat counts of the event, overall and per category.
#[derive(Clone, Debug, SimpleObject)]
pub struct Availability {
    pub total: i64,
    pub available: i64,
    pub held: i64,
    pub booked: i64,
    pub categories: Vec<CategoryAvailability>,
}

/// The sale schema's read side.
#[derive(Default)]
pub struct SeatsQuery;

#[Object]
impl SeatsQuery {
    /// The event this sale is for.
    async fn event(&self, ctx: &Context<'_>) -> ApiResult<Event> {
        Ok(Event::from(ctx.api_data::<SaleScope>()?.event.as_ref()))
    }

    /// Price bands of the event, most expensive first.
    async fn seat_categories(&self, ctx: &Context<'_>) -> ApiResult<Vec<SeatCategory>> {
        let scope = ctx.api_data::<SaleScope>()?;
        let loader = ctx.api_data::<RequestLoader>()?;
        let categories = loader
            .load_one(EventCategories(scope.event.id))
            .await?
            .unwrap_or_default();
        Ok(categories.iter().map(SeatCategory::from).collect())
    }

    /// Seats in id order, filtered, a page at a time (`first` at most `SEATS_MAX_PAGE`).
    #[graphql(complexity = "first.unwrap_or(50).clamp(1, 500) as usize * child_complexity + 1")]
    async fn seats(
        &self,
        ctx: &Context<'_>,
        section: Option<String>,
        category: Option<ID>,
        status: Option<SeatStatus>,
        #[graphql(default = 50)] first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Connection<String, Seat>> {
        let state = ctx.api_data::<AppState>()?;
        let scope = ctx.api_data::<SaleScope>()?;
        let filter = SeatFilter {
            section,
            category: category.map(|id| parse_category_id(&id)).transpose()?,
            status,
        };
        let page = PageRequest::new(first, after.as_deref(), state.config().seats_max_page)?;
        let loader = ctx.api_data::<RequestLoader>()?;
        let categories = loader
            .load_one(EventCategories(scope.event.id))
            .await?
            .unwrap_or_default();
        seats_page(
            state,
            scope.event.id,
            &filter,
            &page,
            &categories,
            Utc::now(),
        )
        .await
    }

    /// One seat by id; `SEAT_NOT_FOUND` if it is not a seat of this event.
    async fn seat(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Seat> {
        let state = ctx.api_data::<AppState>()?;
        let scope = ctx.api_data::<SaleScope>()?;
        let not_found = || ApiError::SeatNotFound(id.0.chars().take(40).collect());
        let seat_id = id.0.parse::<i64>().map_err(|_| not_found())?;
        let seat = seat::Entity::find_by_id(seat_id)
            .filter(seat::Column::EventId.eq(scope.event.id))
            .one(state.db())
            .await
            .context("loading a seat")?
            .ok_or_else(not_found)?;
        let loader = ctx.api_data::<RequestLoader>()?;
        let categories = loader
            .load_one(EventCategories(scope.event.id))
            .await?
            .unwrap_or_default();
        Seat::from_model(&seat, &categories, Utc::now())
    }

    /// The whole layout and every seat's state in one compact answer, to draw the map.
    async fn seat_map(&self, ctx: &Context<'_>) -> ApiResult<map::SeatMap> {
        let state = ctx.api_data::<AppState>()?;
        let scope = ctx.api_data::<SaleScope>()?;
        map::seat_map(state, scope.event.id).await
    }

    /// Every seat's state, one character per seat in the layout's order, at a sequence: the
    /// web client draws its map from this and the layout file (`/events/{eventId}/layout.json`,
    /// cached by the browser), then applies `seatAvailability` batches after `sequence`.
    async fn seat_states(&self, ctx: &Context<'_>) -> ApiResult<map::SeatStates> {
        let state = ctx.api_data::<AppState>()?;
        let scope = ctx.api_data::<SaleScope>()?;
        map::seat_states(state, scope.event.id).await
    }

    /// How many seats are available, held and booked, per category.
    async fn availability(&self, ctx: &Context<'_>) -> ApiResult<Availability> {
        let state = ctx.api_data::<AppState>()?;
        let scope = ctx.api_data::<SaleScope>()?;
        let loader = ctx.api_data::<RequestLoader>()?;
        let categories = loader
            .load_one(EventCategories(scope.event.id))
            .await?
            .unwrap_or_default();
        availability(state, scope.event.id, &categories).await
    }
}

/// Live seat changes on the sale schema.
#[derive(Default)]
pub struct SeatsSubscription;

#[async_graphql::Subscription]
impl SeatsSubscription {
    /// Changes of seat state in this event as they commit, in small batches. Closes with
    /// `TOKEN_EXPIRED` or `TOKEN_REVOKED` when the buyer's admission ends.
    async fn seat_availability(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl futures_util::Stream<Item = ApiResult<live::SeatChanges>> + use<>, ApiError>
    {
        let state = ctx.api_data::<AppState>()?;
        let scope = ctx.api_data::<SaleScope>()?;
        let buyer = match ctx.data_opt::<SaleAuth>() {
            Some(SaleAuth::Buyer(buyer)) => Some(buyer.clone()),
            _ => None,
        };
        let slot = match ctx.data_opt::<SubscriptionSlots>() {
            Some(slots) => Some(slots.acquire()?),
            None => None,
        };
        Ok(live::availability_stream(
            state,
            scope.event.id,
            buyer,
            slot,
        ))
    }
}
