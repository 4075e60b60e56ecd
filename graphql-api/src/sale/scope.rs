//! A sale request's scope: the event named in its path, and the helpers every sale resolver
//! starts with.

use std::sync::Arc;

use async_graphql::{Context, ID};
use entities::event;
use uuid::Uuid;

use super::{Buyer, SaleAuth};
use crate::{
    context::ContextExt as _,
    error::{ApiError, ApiResult},
    state::AppState,
};

/// Request data of the sale schema: the event named in the path.
#[derive(Clone, Debug)]
pub struct SaleScope {
    pub event: Arc<event::Model>,
}

/// The state, the event and the buyer of a sale request.
pub fn sale_context<'a>(
    ctx: &'a Context<'_>,
) -> ApiResult<(&'a AppState, &'a SaleScope, &'a Buyer)> {
    let state = ctx.api_data::<AppState>()?;
    let scope = ctx.api_data::<SaleScope>()?;
    let buyer = ctx.api_data::<SaleAuth>()?.buyer()?;
    Ok((state, scope, buyer))
}

/// Parses a client's id as a UUID, or answers `missing`.
pub fn parse_uuid(id: &ID, missing: ApiError) -> ApiResult<Uuid> {
    Uuid::parse_str(&id.0).map_err(|_| missing)
}

/// Parses seat ids: numeric, at least one, no repeats.
pub fn parse_seat_ids(ids: &[ID]) -> ApiResult<Vec<i64>> {
    if ids.is_empty() {
        return Err(ApiError::BadUserInput("Choose at least one seat.".into()));
    }
    // A set, not `Vec::contains`: a list of 50,000 ids must cost milliseconds, not seconds.
    let mut seen = std::collections::HashSet::with_capacity(ids.len());
    let mut parsed = Vec::with_capacity(ids.len());
    for id in ids {
        let seat =
            id.0.parse::<i64>()
                .map_err(|_| ApiError::SeatNotFound(id.0.chars().take(40).collect()))?;
        if !seen.insert(seat) {
            return Err(ApiError::BadUserInput(format!(
                "Seat {seat} appears twice in the list."
            )));
        }
        parsed.push(seat);
    }
    Ok(parsed)
}
