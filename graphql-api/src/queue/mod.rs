//! The virtual queue on the public schema: joining, leaving, status, live position, and the
//! admin controls. Redis holds the queue ([`store`]); the [`ticker`] admits fans; the
//! [`hub`] fans updates out inside each instance; the [`lottery`] orders presale fans.

pub mod hub;
pub mod lottery;
pub mod store;
pub mod ticker;

use std::{sync::Arc, time::Duration};

use anyhow::Context as _;
use async_graphql::{Context, Enum, ID, Object, SimpleObject, Subscription};
use chrono::{DateTime, TimeZone as _, Utc};
use entities::event::{self, EventStatus};
use fred::prelude::{HashesInterface as _, SortedSetsInterface as _};
use futures_util::Stream;
use sea_orm::{ConnectionTrait as _, Statement};
use tokens::AdmissionClaims;
use uuid::Uuid;

use self::{hub::Snapshot, store::QueueKeys};
use crate::{
    auth::{AuthContext as _, Identity},
    context::ContextExt as _,
    error::{ApiError, ApiResult},
    events::find_event,
    state::AppState,
    ws::SubscriptionSlots,
};

/// Where a fan stands in an event's queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum QueueState {
    /// Not in the line (never joined, or left).
    NotInQueue,
    /// Joined before the sale opened: the lottery at opening decides the order.
    Presale,
    /// In line.
    Waiting,
    /// Their turn: the admission token lets them buy until it expires.
    Admitted,
    /// The admission ran out (or was revoked) before a purchase: join again.
    Expired,
    /// Their turn came while they were not listening, so it passed: join again.
    Abandoned,
    /// They bought their tickets.
    Completed,
    /// The sale is over: sold out, closed or cancelled.
    Closed,
}

/// What lets an admitted fan buy.
#[derive(Clone, Debug, SimpleObject)]
pub struct Admission {
    /// The admission token: send it as `Authorization: Bearer` to the sale path.
    pub token: String,
    pub expires_at: DateTime<Utc>,
    /// Most seats this fan may hold and buy.
    pub seat_cap: i32,
    /// Where the sale schema answers.
    pub sale_path: String,
}

/// A fan's place in an event's queue.
#[derive(Clone, Debug, SimpleObject)]
pub struct QueueStatus {
    pub event_id: ID,
    pub state: QueueState,
    /// 1 for the next fan in; null unless WAITING.
    pub position: Option<i64>,
    pub fans_ahead: Option<i64>,
    /// From the measured admission rate; null while paused or before the draw.
    pub estimated_wait_seconds: Option<i64>,
    /// The fan's number in line (lottery ranks first, then arrival order).
    pub ticket_number: Option<i64>,
    /// The number of the last fan let through.
    pub now_serving: i64,
    /// Fans waiting for the presale lottery.
    pub presale_fans: i64,
    pub sale_opens_at: DateTime<Utc>,
    pub paused: bool,
    /// Fans let through per second (measured when known, else configured).
    pub admission_rate: f64,
    /// True when `position` is an exact rank, false when estimated from "now serving".
    pub exact: bool,
    pub admission: Option<Admission>,
    pub updated_at: DateTime<Utc>,
}

/// The lottery's audit record, once drawn.
#[derive(Clone, Debug, SimpleObject)]
pub struct LotteryDraw {
    /// The ChaCha20 seed: with `fans`, anyone can redo the draw.
    pub seed: String,
    pub fans: i64,
    pub drawn_at: DateTime<Utc>,
}

/// An event's queue at a glance, for admins.
#[derive(Clone, Debug, SimpleObject)]
pub struct QueueStats {
    pub event_id: ID,
    pub waiting: i64,
    pub presale: i64,
    pub admitted: i64,
    pub abandoned: i64,
    pub expired: i64,
    pub admitted_total: i64,
    pub now_serving: i64,
    pub paused: bool,
    pub admission_rate: f64,
    pub admission_capacity: i64,
    /// How long the fan at the head has waited (to within 100 arrivals).
    pub oldest_wait_seconds: Option<i64>,
    /// Revealed once the lottery has been drawn.
    pub lottery: Option<LotteryDraw>,
}

/// Queue queries.
#[derive(Default)]
pub struct QueueQuery;

#[Object]
impl QueueQuery {
    /// The signed-in fan's place in an event's queue, with an exact rank.
    async fn queue_status(&self, ctx: &Context<'_>, event_id: ID) -> ApiResult<QueueStatus> {
        let identity = ctx.identity()?;
        let state = ctx.api_data::<AppState>()?;
        let event = find_event(state, &event_id).await?;
        status(state, &event, &identity).await
    }

    /// An event's queue counters (admins only).
    async fn queue_stats(&self, ctx: &Context<'_>, event_id: ID) -> ApiResult<QueueStats> {
        ctx.admin()?;
        let state = ctx.api_data::<AppState>()?;
        let event = find_event(state, &event_id).await?;
        stats(state, &event).await
    }
}

/// Queue mutations.
#[derive(Default)]
pub struct QueueMutation;

#[Object]
impl QueueMutation {
    /// Takes a place in line (or returns the fan's existing place: many tabs, one place).
    async fn join_queue(&self, ctx: &Context<'_>, event_id: ID) -> ApiResult<QueueStatus> {
        let identity = ctx.identity()?;
        let state = ctx.api_data::<AppState>()?;
        let event = find_event(state, &event_id).await?;
        join(state, &event, &identity).await
    }

    /// Gives up the fan's place, or ends their admission; `NOT_IN_QUEUE` if neither.
    async fn leave_queue(&self, ctx: &Context<'_>, event_id: ID) -> ApiResult<bool> {
        let identity = ctx.identity()?;
        let state = ctx.api_data::<AppState>()?;
        let event = find_event(state, &event_id).await?;
        leave(state, event.id, &identity.fan_key(), "left").await
    }

    /// Says "still here" for clients that poll instead of subscribing; returns the status.
    async fn heartbeat(&self, ctx: &Context<'_>, event_id: ID) -> ApiResult<QueueStatus> {
        let identity = ctx.identity()?;
        let state = ctx.api_data::<AppState>()?;
        let event = find_event(state, &event_id).await?;
        let keys = QueueKeys::new(state.keys(), event.id);
        let now = Utc::now().timestamp_millis() as f64;
        // XX: only fans already in line are refreshed; a heartbeat never joins anyone.
        let _: i64 = state
            .redis()
            .zadd(
                &keys.alive,
                Some(fred::types::SetOptions::XX),
                None,
                false,
                false,
                (now, identity.fan_key()),
            )
            .await?;
        status(state, &event, &identity).await
    }

    /// Stops admissions for an event (admins only).
    async fn pause_queue(&self, ctx: &Context<'_>, event_id: ID) -> ApiResult<QueueStats> {
        set_meta(ctx, &event_id, "paused", "1".to_owned()).await
    }

    /// Resumes admissions (admins only).
    async fn resume_queue(&self, ctx: &Context<'_>, event_id: ID) -> ApiResult<QueueStats> {
        set_meta(ctx, &event_id, "paused", "0".to_owned()).await
    }

    /// Sets how many fans per second are let in (admins only), between 0.01 and 100,000.
    async fn set_admission_rate(
        &self,
        ctx: &Context<'_>,
        event_id: ID,
        per_second: f64,
    ) -> ApiResult<QueueStats> {
        if !(0.01..=100_000.0).contains(&per_second) || !per_second.is_finite() {
            return Err(ApiError::BadUserInput(
                "`perSecond` must be between 0.01 and 100000.".into(),
            ));
        }
        set_meta(ctx, &event_id, "rate", per_second.to_string()).await
    }

    /// Sets how many fans may be admitted at once (admins only), between 0 and 1,000,000.
    async fn set_admission_capacity(
        &self,
        ctx: &Context<'_>,
        event_id: ID,
        capacity: i32,
    ) -> ApiResult<QueueStats> {
        if !(0..=1_000_000).contains(&capacity) {
            return Err(ApiError::BadUserInput(
                "`capacity` must be between 0 and 1000000.".into(),
            ));
        }
        set_meta(ctx, &event_id, "capacity", capacity.to_string()).await
    }

    /// Ends a fan's admission now (admins only); their token stops working at the gate
    /// within about a second. `NOT_IN_QUEUE` if they are not admitted.
    async fn revoke_admission(
        &self,
        ctx: &Context<'_>,
        event_id: ID,
        user_id: ID,
    ) -> ApiResult<bool> {
        ctx.admin()?;
        let state = ctx.api_data::<AppState>()?;
        let event = find_event(state, &event_id).await?;
        let user = Uuid::parse_str(&user_id.0)
            .map_err(|_| ApiError::UserNotFound(user_id.0.chars().take(40).collect()))?;
        let fan = user.simple().to_string();
        let reply = exact(state, event.id, &fan).await?;
        if reply.state != "ADMITTED" {
            return Err(ApiError::NotInQueue);
        }
        leave(state, event.id, &fan, "revoked").await
    }

    /// Switches an event's gate (admins only): off lets the sale routes pass without a token.
    async fn set_event_gate(
        &self,
        ctx: &Context<'_>,
        event_id: ID,
        enabled: bool,
    ) -> ApiResult<crate::events::Event> {
        ctx.admin()?;
        let state = ctx.api_data::<AppState>()?;
        let event = find_event(state, &event_id).await?;
        let db = state.db();
        db.execute_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "UPDATE events SET gate_enabled = $2, updated_at = now() WHERE id = $1",
            [event.id.into(), enabled.into()],
        ))
        .await
        .context("switching the gate")?;
        let _: () = fred::prelude::KeysInterface::set(
            state.redis(),
            tokens::gate_key(state.keys().prefix(), event.id),
            if enabled { "1" } else { "0" },
            None,
            None,
            false,
        )
        .await?;
        state.event_cache().invalidate(&event.id).await;
        let event = crate::events::find_event_by_id(state, event.id).await?;
        Ok(crate::events::Event::from(event.as_ref()))
    }
}

/// Queue subscriptions.
#[derive(Default)]
pub struct QueueSubscription;

#[Subscription]
impl QueueSubscription {
    /// The fan's place in line, live: at once, then at least every few seconds, and the
    /// moment they are admitted (with the token). Identity comes from `connection_init`.
    async fn queue_position(
        &self,
        ctx: &Context<'_>,
        event_id: ID,
    ) -> Result<impl Stream<Item = ApiResult<QueueStatus>> + use<>, ApiError> {
        let identity = ctx.identity()?;
        let state = ctx.api_data::<AppState>()?.clone();
        let slot = match ctx.data_opt::<SubscriptionSlots>() {
            Some(slots) => Some(slots.acquire()?),
            None => None,
        };
        let event = find_event(&state, &event_id).await?;
        Ok(position_stream(state, event, identity, slot))
    }
}

async fn set_meta(
    ctx: &Context<'_>,
    event_id: &ID,
    field: &str,
    value: String,
) -> ApiResult<QueueStats> {
    ctx.admin()?;
    let state = ctx.api_data::<AppState>()?;
    let event = find_event(state, event_id).await?;
    let keys = QueueKeys::new(state.keys(), event.id);
    let _: i64 = state.redis().hset(&keys.meta, (field, value)).await?;
    stats(state, &event).await
}

/// The raw answer of the status and join scripts.
#[derive(Clone, Debug, Default)]
pub struct ExactReply {
    pub state: String,
    pub score: i64,
    pub rank: i64,
    pub detail: String,
    pub serving: i64,
    pub lottery: i64,
    pub drawn: bool,
    pub paused: bool,
    pub rate: Option<f64>,
    pub presale: i64,
    pub new: bool,
}

impl ExactReply {
    fn parse(reply: &[String]) -> Self {
        let field = |index: usize| reply.get(index).cloned().unwrap_or_default();
        let number = |index: usize| field(index).parse::<f64>().map(|n| n as i64).unwrap_or(0);
        Self {
            state: field(0),
            score: number(1),
            rank: number(2),
            detail: field(3),
            serving: number(4),
            lottery: number(5),
            drawn: field(6) == "1",
            paused: field(7) == "1",
            rate: field(8).parse().ok(),
            presale: number(9),
            new: field(10) == "1",
        }
    }

    /// The fan's dense number while waiting.
    pub fn number(&self) -> Option<i64> {
        (self.state == "WAITING").then(|| store::number_of(self.score, self.lottery))
    }
}

async fn exact(state: &AppState, event: i64, fan: &str) -> ApiResult<ExactReply> {
    let keys = QueueKeys::new(state.keys(), event);
    let reply: Vec<String> = store::run(
        state.redis(),
        &store::STATUS,
        vec![keys.wait, keys.pre, keys.adm, keys.tok, keys.meta, keys.out],
        vec![fan.to_owned()],
    )
    .await?;
    Ok(ExactReply::parse(&reply))
}

fn closed(event: &event::Model) -> Option<&'static str> {
    match event.status {
        EventStatus::Closed => Some("closed"),
        EventStatus::Cancelled => Some("cancelled"),
        EventStatus::SoldOut => Some("sold out"),
        EventStatus::Scheduled | EventStatus::OnSale => None,
    }
}

/// Joins the queue (idempotent per fan).
pub async fn join(
    state: &AppState,
    event: &event::Model,
    identity: &Identity,
) -> ApiResult<QueueStatus> {
    if let Some(reason) = closed(event) {
        return Err(ApiError::QueueClosed(reason.to_owned()));
    }
    if !event.gate_enabled {
        return Err(ApiError::QueueNotRequired);
    }
    let keys = QueueKeys::new(state.keys(), event.id);
    let reply: Vec<String> = store::run(
        state.redis(),
        &store::JOIN,
        keys.join_keys(),
        vec![
            identity.fan_key(),
            event.sale_opens_at.timestamp_millis().to_string(),
        ],
    )
    .await?;
    let reply = ExactReply::parse(&reply);
    Ok(describe(state, event, &identity.fan_key(), &reply, None))
}

/// The fan's status with an exact rank.
pub async fn status(
    state: &AppState,
    event: &event::Model,
    identity: &Identity,
) -> ApiResult<QueueStatus> {
    let fan = identity.fan_key();
    let reply = exact(state, event.id, &fan).await?;
    Ok(describe(state, event, &fan, &reply, None))
}

/// Leaves the line or ends the admission, recording `reason`.
pub async fn leave(state: &AppState, event: i64, fan: &str, reason: &str) -> ApiResult<bool> {
    let keys = QueueKeys::new(state.keys(), event);
    let reply: Vec<String> = store::run(
        state.redis(),
        &store::LEAVE,
        vec![
            keys.wait, keys.pre, keys.adm, keys.tok, keys.out, keys.alive,
        ],
        vec![fan.to_owned(), reason.to_owned(), keys.admission_prefix],
    )
    .await?;
    match reply.first().map(String::as_str) {
        Some("LEFT") => Ok(true),
        Some("ENDED") => {
            // Sale subscriptions holding this admission close at once, on every instance.
            if let Some((jti, _)) = reply.get(1).and_then(|record| record.split_once('|')) {
                crate::seats::live::publish_revoked(state, event, jti).await;
            }
            Ok(true)
        }
        _ => Err(ApiError::NotInQueue),
    }
}

/// Ends a fan's admission because they bought (frees their slot for the next fan).
pub async fn complete_admission(state: &AppState, event: i64, user: Uuid) -> ApiResult<()> {
    match leave(state, event, &user.simple().to_string(), "booked").await {
        Ok(_) | Err(ApiError::NotInQueue) => Ok(()),
        Err(error) => Err(error),
    }
}

/// Signs the admission token of a fan from its record: the same record always gives the
/// same token, so any instance can hand it out again.
pub fn admission(
    state: &AppState,
    event: &event::Model,
    fan: &str,
    jti: &str,
    expires_ms: i64,
) -> Admission {
    let ttl = state.config().admission_ttl_secs;
    let exp = expires_ms.div_euclid(1_000);
    let user = Uuid::parse_str(fan)
        .map(|id| id.to_string())
        .unwrap_or_else(|_| fan.to_owned());
    let cap = u32::try_from(event.max_seats_per_fan).unwrap_or(1);
    let claims = AdmissionClaims::new(&user, event.id, jti, exp - ttl, ttl, cap);
    Admission {
        token: state.admission_keys().sign(&claims),
        expires_at: Utc.timestamp_opt(exp, 0).single().unwrap_or_default(),
        seat_cap: event.max_seats_per_fan,
        sale_path: format!("/sale/{}/graphql", event.id),
    }
}

/// Turns a script reply into what the fan sees; `estimate` overrides the position with a
/// live estimate from the hub's snapshot.
fn describe(
    state: &AppState,
    event: &event::Model,
    fan: &str,
    reply: &ExactReply,
    estimate: Option<(i64, &Snapshot)>,
) -> QueueStatus {
    let configured_rate = reply.rate.unwrap_or(state.config().queue_admission_rate);
    let (serving, paused, rate) = match estimate {
        Some((_, snapshot)) => (
            snapshot.serving,
            snapshot.paused,
            if snapshot.measured_rate > 0.0 {
                snapshot.measured_rate
            } else {
                snapshot
                    .rate
                    .max(configured_rate.min(snapshot.rate.max(0.0)))
            },
        ),
        None => (reply.serving, reply.paused, configured_rate),
    };
    let rate = if rate > 0.0 { rate } else { configured_rate };
    let mut status = QueueStatus {
        event_id: ID(event.id.to_string()),
        state: QueueState::NotInQueue,
        position: None,
        fans_ahead: None,
        estimated_wait_seconds: None,
        ticket_number: None,
        now_serving: serving,
        presale_fans: reply.presale,
        sale_opens_at: event.sale_opens_at,
        paused,
        admission_rate: rate,
        exact: estimate.is_none(),
        admission: None,
        updated_at: Utc::now(),
    };
    if closed(event).is_some() {
        status.state = QueueState::Closed;
        return status;
    }
    match reply.state.as_str() {
        "ADMITTED" => {
            status.state = QueueState::Admitted;
            if let Some((jti, expires)) = reply.detail.split_once('|')
                && let Ok(expires) = expires.parse::<i64>()
            {
                status.admission = Some(admission(state, event, fan, jti, expires));
            }
        }
        "WAITING" => {
            status.state = QueueState::Waiting;
            let position = match estimate {
                Some((position, _)) => position,
                None => reply.rank + 1,
            };
            status.position = Some(position);
            status.fans_ahead = Some(position - 1);
            status.ticket_number = reply.number();
            if !paused && rate > 0.0 {
                status.estimated_wait_seconds = Some(((position - 1) as f64 / rate).ceil() as i64);
            }
        }
        "PRESALE" => status.state = QueueState::Presale,
        _ => {
            status.state = match reply.detail.as_str() {
                "expired" | "revoked" => QueueState::Expired,
                "abandoned" => QueueState::Abandoned,
                "booked" => QueueState::Completed,
                _ => QueueState::NotInQueue,
            }
        }
    }
    status
}

/// A fan's live position: exact at first, then estimated from the hub's "now serving" with
/// an exact correction now and then; the admission the moment it is published.
pub fn position_stream(
    state: AppState,
    event: Arc<event::Model>,
    identity: Identity,
    slot: Option<crate::ws::SlotGuard>,
) -> impl Stream<Item = ApiResult<QueueStatus>> {
    async_stream::stream! {
        let _slot = slot;
        let fan = identity.fan_key();
        let hub = state.queue_hub().clone();
        let mut registration = hub.register(event.id, &fan);
        let mut reply = match exact(&state, event.id, &fan).await {
            Ok(reply) => reply,
            Err(error) => {
                yield Err(error);
                return;
            }
        };
        hub.seed(event.id, reply.serving, reply.lottery, reply.drawn, reply.paused, reply.rate.unwrap_or(state.config().queue_admission_rate));
        // Fans who left ahead since the last exact read: the estimate subtracts them.
        let mut left_ahead = reply.number().map_or(0, |number| (number - reply.serving) - (reply.rank + 1)).max(0);
        yield Ok(describe(&state, &event, &fan, &reply, None));

        let update_every = Duration::from_secs(state.config().queue_update_secs.max(1));
        let mut updates = tokio::time::interval_at(tokio::time::Instant::now() + update_every, update_every);
        let exact_every = Duration::from_secs(state.config().queue_exact_rank_secs.max(1));
        // Spread exact reads so subscribers that started together do not read together.
        let jitter = Duration::from_millis(u64::from(Uuid::new_v4().as_u128() as u16) % (exact_every.as_millis() as u64).max(1));
        let mut exact_reads = tokio::time::interval_at(tokio::time::Instant::now() + exact_every + jitter, exact_every);
        loop {
            let mut refresh = false;
            tokio::select! {
                admitted = registration.admissions.recv() => {
                    let Some(admitted) = admitted else { return };
                    reply.state = "ADMITTED".to_owned();
                    reply.detail = format!("{}|{}", admitted.jti, admitted.expires_ms);
                    yield Ok(describe(&state, &event, &fan, &reply, None));
                    continue;
                }
                _ = updates.tick() => {
                    let snapshot = registration.snapshot.borrow().clone();
                    match reply.state.as_str() {
                        "WAITING" => {
                            // The lottery's size comes with every message, so a FIFO fan's
                            // number stays right across the draw without a Redis read.
                            let number = store::number_of(reply.score, snapshot.lottery.max(reply.lottery));
                            let position = number - snapshot.serving - left_ahead;
                            if position < 1 {
                                // Our turn has come (admission or skip): read it exactly.
                                refresh = true;
                            } else {
                                yield Ok(describe(&state, &event, &fan, &reply, Some((position, &snapshot))));
                            }
                        }
                        // Presale fans learn their rank from the draw itself.
                        "PRESALE" if snapshot.drawn => refresh = true,
                        "ADMITTED" => {
                            let expired = reply.detail.split_once('|')
                                .and_then(|(_, expires)| expires.parse::<i64>().ok())
                                .is_some_and(|expires| expires <= Utc::now().timestamp_millis());
                            if expired { refresh = true } else { yield Ok(describe(&state, &event, &fan, &reply, None)) }
                        }
                        _ => yield Ok(describe(&state, &event, &fan, &reply, None)),
                    }
                }
                _ = exact_reads.tick() => refresh = true,
            }
            if refresh {
                match exact(&state, event.id, &fan).await {
                    Ok(fresh) => {
                        reply = fresh;
                        left_ahead = reply.number().map_or(0, |number| (number - reply.serving) - (reply.rank + 1)).max(0);
                        yield Ok(describe(&state, &event, &fan, &reply, None));
                    }
                    Err(error) => tracing::warn!(error = %error, "exact queue read failed; keeping the estimate"),
                }
            }
        }
    }
}

/// The admin view of an event's queue.
pub async fn stats(state: &AppState, event: &event::Model) -> ApiResult<QueueStats> {
    let keys = QueueKeys::new(state.keys(), event.id);
    let redis = state.redis();
    type Meta = (
        Option<i64>,
        Option<String>,
        Option<f64>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
    );
    let meta: Meta = redis
        .hmget(
            &keys.meta,
            vec![
                "serving",
                "paused",
                "rate",
                "capacity",
                "abandoned",
                "expired",
                "admitted_total",
                "lottery",
            ],
        )
        .await?;
    let (serving, paused, rate, capacity, abandoned, expired, admitted_total, lottery) = meta;
    let waiting: i64 = redis.zcard(&keys.wait).await?;
    let presale: i64 = redis.zcard(&keys.pre).await?;
    let admitted: i64 = redis
        .zcount(
            &keys.adm,
            Utc::now().timestamp_millis() as f64,
            f64::INFINITY,
        )
        .await?;
    let oldest_wait_seconds = oldest_wait(state, &keys, event, lottery.unwrap_or(0)).await?;
    let db = state.db();
    let draw = db
        .query_one_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT seed, fan_count, drawn_at FROM lottery_draws WHERE event_id = $1",
            [event.id.into()],
        ))
        .await
        .context("reading the lottery draw")?;
    let lottery = match draw {
        Some(row) => Some(LotteryDraw {
            seed: row.try_get("", "seed").context("seed")?,
            fans: i64::from(row.try_get::<i32>("", "fan_count").context("fan_count")?),
            drawn_at: row.try_get("", "drawn_at").context("drawn_at")?,
        }),
        None => None,
    };
    Ok(QueueStats {
        event_id: ID(event.id.to_string()),
        waiting,
        presale,
        admitted,
        abandoned: abandoned.unwrap_or(0),
        expired: expired.unwrap_or(0),
        admitted_total: admitted_total.unwrap_or(0),
        now_serving: serving.unwrap_or(0),
        paused: paused.as_deref() == Some("1"),
        admission_rate: rate.unwrap_or(state.config().queue_admission_rate),
        admission_capacity: capacity.unwrap_or(i64::from(state.config().queue_admission_capacity)),
        oldest_wait_seconds,
        lottery,
    })
}

/// How long the fan at the head has waited: lottery fans since the opening, FIFO fans since
/// the nearest recorded arrival at or before theirs.
async fn oldest_wait(
    state: &AppState,
    keys: &QueueKeys,
    event: &event::Model,
    _lottery: i64,
) -> ApiResult<Option<i64>> {
    let redis = state.redis();
    let head: Vec<(String, f64)> = redis
        .zrange(&keys.wait, 0, 0, None, false, None, true)
        .await?;
    let Some((_, score)) = head.first() else {
        return Ok(None);
    };
    let score = *score as i64;
    let now = Utc::now();
    if score < store::FIFO_BASE {
        return Ok(Some((now - event.sale_opens_at).num_seconds().max(0)));
    }
    let seq = score - store::FIFO_BASE;
    let mark: Vec<String> = redis
        .zrevrangebyscore(
            &keys.clock,
            seq as f64,
            f64::NEG_INFINITY,
            false,
            Some((0, 1)),
        )
        .await?;
    let joined_ms = mark
        .first()
        .and_then(|entry| entry.split_once(':'))
        .and_then(|(_, ms)| ms.parse::<i64>().ok());
    Ok(joined_ms.map(|ms| ((now.timestamp_millis() - ms) / 1_000).max(0)))
}
