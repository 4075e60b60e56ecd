//! Seats on the sale schema: categories, filtered pages of seats, the seat map, and
//! availability counts. Reads only; holds and bookings change seats elsewhere.
//!
//! A seat HELD past its `held_until` is shown as AVAILABLE everywhere here, because
//! `lockSeats` treats it as free even before the expiry worker has run.

pub mod live;
pub mod map;
pub mod shared;

use anyhow::Context as _;
use async_graphql::{
    Context, Enum, ID, Object, SimpleObject,
    connection::{Connection, Edge},
};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use entities::{seat, seat_category};
use sea_orm::{
    ColumnTrait as _, Condition, ConnectionTrait as _, EntityTrait as _, QueryFilter as _,
    QueryOrder as _, QuerySelect as _, Statement,
};

use crate::{
    context::ContextExt as _,
    error::{ApiError, ApiResult},
    events::Event,
    loaders::{EventCategories, RequestLoader},
    money::Money,
    schema::SaleScope,
    state::AppState,
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

/// A price band of an event, with its colour on the seat map.
#[derive(Clone, Debug, SimpleObject)]
pub struct SeatCategory {
    pub id: ID,
    pub name: String,
    /// Price of one seat.
    pub price: Money,
    /// `#rrggbb`, for the seat map and legends.
    pub colour: String,
}

impl From<&seat_category::Model> for SeatCategory {
    fn from(model: &seat_category::Model) -> Self {
        Self {
            id: ID(model.id.to_string()),
            name: model.name.clone(),
            price: Money::new(model.price_minor, &model.currency),
            colour: model.colour.clone(),
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
        let buyer = match ctx.data_opt::<crate::sale::SaleAuth>() {
            Some(crate::sale::SaleAuth::Buyer(buyer)) => Some(buyer.clone()),
            _ => None,
        };
        let slot = match ctx.data_opt::<crate::ws::SubscriptionSlots>() {
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

/// Which seats a page holds.
#[derive(Clone, Debug, Default)]
pub struct SeatFilter {
    pub section: Option<String>,
    pub category: Option<i64>,
    pub status: Option<SeatStatus>,
}

/// A validated page request: size and the id to start after.
#[derive(Clone, Copy, Debug)]
pub struct PageRequest {
    pub first: u64,
    pub after_id: Option<i64>,
}

impl PageRequest {
    /// Validates `first` (1..=max) and decodes `after`.
    pub fn new(first: Option<i32>, after: Option<&str>, max: u32) -> ApiResult<Self> {
        let first = i64::from(first.unwrap_or(50));
        if first < 1 {
            return Err(ApiError::BadUserInput(format!(
                "`first` must be at least 1, not {first}."
            )));
        }
        if first > i64::from(max) {
            return Err(ApiError::PageTooLarge {
                requested: first,
                max,
            });
        }
        let after_id = after.map(decode_cursor).transpose()?;
        Ok(Self {
            first: first as u64,
            after_id,
        })
    }
}

const CURSOR_PREFIX: &str = "seat:";

/// An opaque cursor for a seat id.
pub fn encode_cursor(seat_id: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{seat_id}"))
}

/// Decodes a cursor made by [`encode_cursor`]; anything else is `INVALID_CURSOR`.
pub fn decode_cursor(cursor: &str) -> ApiResult<i64> {
    let invalid = || ApiError::InvalidCursor(cursor.chars().take(40).collect());
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    text.strip_prefix(CURSOR_PREFIX)
        .and_then(|id| id.parse::<i64>().ok())
        .filter(|id| *id > 0)
        .ok_or_else(invalid)
}

fn parse_category_id(id: &ID) -> ApiResult<i64> {
    id.0.parse::<i64>().map_err(|_| {
        ApiError::BadUserInput(format!(
            "`category` must be a category id from `seatCategories`, not '{}'.",
            id.0.chars().take(40).collect::<String>()
        ))
    })
}

/// One page of an event's seats in id order.
pub async fn seats_page(
    state: &AppState,
    event_id: i64,
    filter: &SeatFilter,
    page: &PageRequest,
    categories: &[seat_category::Model],
    now: DateTime<Utc>,
) -> ApiResult<Connection<String, Seat>> {
    let mut query = seat::Entity::find().filter(seat::Column::EventId.eq(event_id));
    if let Some(section) = &filter.section {
        query = query.filter(seat::Column::Section.eq(section.as_str()));
    }
    if let Some(category) = filter.category {
        query = query.filter(seat::Column::CategoryId.eq(category));
    }
    if let Some(status) = filter.status {
        let held = seat::Column::Status.eq(seat::SeatStatus::Held);
        query = query.filter(match status {
            SeatStatus::Available => Condition::any()
                .add(seat::Column::Status.eq(seat::SeatStatus::Available))
                .add(
                    Condition::all()
                        .add(held)
                        .add(seat::Column::HeldUntil.lte(now)),
                ),
            SeatStatus::Held => Condition::all()
                .add(held)
                .add(seat::Column::HeldUntil.gt(now)),
            SeatStatus::Booked => {
                Condition::all().add(seat::Column::Status.eq(seat::SeatStatus::Booked))
            }
        });
    }
    if let Some(after) = page.after_id {
        query = query.filter(seat::Column::Id.gt(after));
    }
    let mut rows = query
        .order_by_asc(seat::Column::Id)
        .limit(page.first + 1)
        .all(state.db())
        .await
        .context("loading a page of seats")?;
    let has_next_page = rows.len() as u64 > page.first;
    rows.truncate(page.first as usize);
    let mut connection = Connection::new(page.after_id.is_some(), has_next_page);
    for row in &rows {
        connection.edges.push(Edge::new(
            encode_cursor(row.id),
            Seat::from_model(row, categories, now)?,
        ));
    }
    Ok(connection)
}

/// Counts per category, in one grouped query.
pub async fn availability(
    state: &AppState,
    event_id: i64,
    categories: &[seat_category::Model],
) -> ApiResult<Availability> {
    let db = state.db();
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT category_id, \
                count(*) AS total, \
                count(*) FILTER (WHERE status = 'HELD' AND held_until > $2) AS held, \
                count(*) FILTER (WHERE status = 'BOOKED') AS booked \
             FROM seats WHERE event_id = $1 GROUP BY category_id",
            [event_id.into(), Utc::now().into()],
        ))
        .await
        .context("counting seats")?;
    let mut counts = std::collections::HashMap::new();
    for row in rows {
        let category: i64 = row.try_get("", "category_id").context("reading counts")?;
        let total: i64 = row.try_get("", "total").context("reading counts")?;
        let held: i64 = row.try_get("", "held").context("reading counts")?;
        let booked: i64 = row.try_get("", "booked").context("reading counts")?;
        counts.insert(category, (total, held, booked));
    }
    let mut overall = Availability {
        total: 0,
        available: 0,
        held: 0,
        booked: 0,
        categories: Vec::new(),
    };
    for category in categories {
        let (total, held, booked) = counts.get(&category.id).copied().unwrap_or_default();
        let available = total - held - booked;
        overall.total += total;
        overall.held += held;
        overall.booked += booked;
        overall.available += available;
        overall.categories.push(CategoryAvailability {
            category: SeatCategory::from(category),
            total,
            available,
            held,
            booked,
        });
    }
    Ok(overall)
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    #[test]
    fn cursors_round_trip_and_strangers_are_refused() {
        assert_eq!(decode_cursor(&encode_cursor(12_345)).ok(), Some(12_345));
        for bad in ["", "!!!", "c2VhdDphYmM", "c2VhdDotMQ", "Zm9vOjE"] {
            let error = decode_cursor(bad).expect_err(bad);
            assert_eq!(
                error.code(),
                crate::error::ErrorCode::InvalidCursor,
                "{bad}"
            );
        }
    }

    #[test]
    fn page_size_is_checked_against_the_limit() {
        assert!(PageRequest::new(Some(500), None, 500).is_ok());
        let too_large = PageRequest::new(Some(501), None, 500).expect_err("over the limit");
        assert_eq!(too_large.code(), crate::error::ErrorCode::PageTooLarge);
        let zero = PageRequest::new(Some(0), None, 500).expect_err("zero");
        assert_eq!(zero.code(), crate::error::ErrorCode::BadUserInput);
    }

    #[test]
    fn a_hold_past_its_time_shows_as_available() {
        let now = Utc::now();
        let held = seat::SeatStatus::Held;
        assert_eq!(
            SeatStatus::effective(held, Some(now + Duration::seconds(5)), now),
            SeatStatus::Held
        );
        assert_eq!(
            SeatStatus::effective(held, Some(now - Duration::seconds(5)), now),
            SeatStatus::Available
        );
        assert_eq!(
            SeatStatus::effective(seat::SeatStatus::Booked, None, now),
            SeatStatus::Booked
        );
    }
}
