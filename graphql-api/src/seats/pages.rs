//! Pages of seats (filtered, cursor-paginated in id order) and availability counts per
//! category, both computed in Postgres.

use anyhow::Context as _;
use async_graphql::{
    ID,
    connection::{Connection, Edge},
};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use entities::{seat, seat_category};
use sea_orm::{
    ColumnTrait as _, Condition, ConnectionTrait as _, EntityTrait as _, QueryFilter as _,
    QueryOrder as _, QuerySelect as _, Statement,
};

use super::{Availability, CategoryAvailability, Seat, SeatCategory, SeatStatus};
use crate::{
    error::{ApiError, ApiResult},
    inventory,
    state::AppState,
};

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

pub(super) fn parse_category_id(id: &ID) -> ApiResult<i64> {
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
            inventory::statements::SEAT_COUNTS.as_str(),
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
    use crate::seats::SeatStatus;

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
