//! The lottery as anyone may see it: the commitment before the close, the seed and the drawn
//! order after the draw. The seed itself never leaves Postgres before the draw.

use anyhow::Context as _;
use async_graphql::{ComplexObject, Context, ID, SimpleObject};
use chrono::{DateTime, Utc};
use entities::event;
use sea_orm::{ConnectionTrait as _, Statement};

use super::proof;
use crate::{
    context::ContextExt as _,
    error::{ApiError, ApiResult},
    state::AppState,
};

/// Most entrant ids one `entrants` page returns.
pub const MAX_PAGE: i32 = 10_000;

/// An event's presale lottery, verifiable by anyone (algorithm in `algorithm`; the README's
/// "Verifying a lottery" shows how).
#[derive(Clone, Debug, SimpleObject)]
#[graphql(complex)]
pub struct Lottery {
    pub event_id: ID,
    #[graphql(skip)]
    pub event: i64,
    /// How the seed orders the entrants (`sha256-sort-v1`; `chacha20-shuffle-v0` for draws
    /// made before commitments existed, which cannot be verified this way).
    pub algorithm: String,
    /// `hex(SHA-256(seed))`, published before the presale closes; null until committed. Keep a
    /// copy: after the draw the revealed seed must hash to it.
    pub commitment: Option<String>,
    pub committed_at: Option<DateTime<Utc>>,
    /// When the presale closes and the draw happens (the sale's opening).
    pub closes_at: DateTime<Utc>,
    /// Null until the draw.
    pub drawn_at: Option<DateTime<Utc>>,
    /// The seed (64 hex digits), revealed at the draw; null before.
    pub seed: Option<String>,
    /// Fans in the draw; null before it.
    pub entrant_count: Option<i64>,
}

#[ComplexObject]
impl Lottery {
    /// Entrant ids in drawn order (the first one got ticket 1), a page at a time; null before
    /// the draw. A fan finds their own id in `queueStatus.lotteryEntrant`.
    async fn entrants(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 0)] offset: Option<i32>,
        #[graphql(default = 1000)] limit: Option<i32>,
    ) -> ApiResult<Option<Vec<String>>> {
        // Optional in the schema so that an unset variable means the default, not an error.
        let (offset, limit) = (offset.unwrap_or(0), limit.unwrap_or(1000));
        if offset < 0 || !(1..=MAX_PAGE).contains(&limit) {
            return Err(ApiError::BadUserInput(format!(
                "`offset` must be >= 0 and `limit` between 1 and {MAX_PAGE}."
            )));
        }
        if self.drawn_at.is_none() {
            return Ok(None);
        }
        let state = ctx.api_data::<AppState>()?;
        let db = state.db();
        // Arrays count from 1 and slices include both ends.
        let row = db
            .query_one_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                "SELECT entrants[$2:$3] AS page FROM lottery_draws WHERE event_id = $1",
                [
                    self.event.into(),
                    (i64::from(offset) + 1).into(),
                    (i64::from(offset) + i64::from(limit)).into(),
                ],
            ))
            .await
            .context("reading the lottery's entrants")?;
        Ok(match row {
            Some(row) => row
                .try_get::<Option<Vec<String>>>("", "page")
                .context("reading the lottery's entrants")?
                // A slice past the end is an empty array, which Postgres gives as NULL.
                .or_else(|| Some(Vec::new())),
            None => None,
        })
    }
}

/// What the public schema shows of `event`'s lottery.
pub async fn lottery(state: &AppState, event: &event::Model) -> ApiResult<Lottery> {
    let db = state.db();
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT c.commitment, c.committed_at, d.seed, d.fan_count, d.drawn_at, d.algorithm \
             FROM (SELECT $1::bigint AS event_id) e \
             LEFT JOIN lottery_commitments c ON c.event_id = e.event_id \
             LEFT JOIN lottery_draws d ON d.event_id = e.event_id",
            [event.id.into()],
        ))
        .await
        .context("reading the lottery")?
        .context("the lottery query answered no row")?;
    Ok(Lottery {
        event_id: ID(event.id.to_string()),
        event: event.id,
        algorithm: row
            .try_get::<Option<String>>("", "algorithm")
            .context("reading the algorithm")?
            .unwrap_or_else(|| proof::ALGORITHM.to_owned()),
        commitment: row
            .try_get("", "commitment")
            .context("reading the commitment")?,
        committed_at: row
            .try_get("", "committed_at")
            .context("reading the commitment time")?,
        closes_at: event.sale_opens_at,
        drawn_at: row
            .try_get("", "drawn_at")
            .context("reading the draw time")?,
        seed: row.try_get("", "seed").context("reading the seed")?,
        entrant_count: row
            .try_get::<Option<i32>>("", "fan_count")
            .context("reading the entrant count")?
            .map(i64::from),
    })
}
