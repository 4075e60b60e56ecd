//! The virtual queue on the public schema: joining, leaving, status, live position, and the
//! admin controls. Redis holds the queue ([`store`]); the [`ticker`] admits fans; the
//! [`hub`] fans updates out inside each instance; the [`lottery`] orders presale fans.

pub mod admin;
pub mod autopilot;
pub mod line;
pub mod lottery;
pub mod position;
pub mod ticker;

use async_graphql::{Context, Enum, ID, Object, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures_util::Stream;

pub use self::{
    admin::stats,
    autopilot::{AutopilotMode, AutopilotStatus},
    line::{admission, complete_admission, join, leave, status},
    position::position_stream,
};
use crate::{
    auth::AuthContext as _,
    context::ContextExt as _,
    error::{ApiError, ApiResult},
    events::{self, find_event},
    queue_store::{OutReason, Setting, Supply},
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

/// Whether an event has seats left to sell, as the admission ticker last read its inventory
/// (about once a second). While none is free, nobody is admitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum SeatSupply {
    /// Seats are free: admissions go on.
    OnSale,
    /// Every unsold seat is in a fan's cart. Some may come back when those holds end or are
    /// released; admissions resume the moment one does.
    AllInCarts,
    /// Every seat is booked. Fans keep their place: a cancelled booking puts seats back on
    /// sale and admissions resume.
    SoldOut,
}

impl From<Supply> for SeatSupply {
    fn from(supply: Supply) -> Self {
        match supply {
            Supply::OnSale => SeatSupply::OnSale,
            Supply::AllInCarts => SeatSupply::AllInCarts,
            Supply::SoldOut => SeatSupply::SoldOut,
        }
    }
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

/// How long a waiting fan should expect to wait, as a band ([`crate::eta`]).
#[derive(Clone, Debug, SimpleObject)]
pub struct EtaBand {
    /// The shortest wait likely from now, in seconds (the line at the fast end of its pace).
    pub low_seconds: i64,
    /// The longest wait likely from now (the slow end). It rises by at most 10% (and a second
    /// of rounding) from one revision of the forecast to the next (every 10 s), unless an
    /// admin cuts the admission rate or cap.
    pub high_seconds: i64,
    /// Share of waits the band aims to hold.
    pub coverage: f64,
    /// When the forecast behind it was last revised.
    pub revised_at: DateTime<Utc>,
}

/// A fan's place in an event's queue.
#[derive(Clone, Debug, SimpleObject)]
pub struct QueueStatus {
    pub event_id: ID,
    pub state: QueueState,
    /// 1 for the next fan in; null unless WAITING.
    pub position: Option<i64>,
    pub fans_ahead: Option<i64>,
    /// The likely wait, inside `eta`; null when `eta` is.
    pub estimated_wait_seconds: Option<i64>,
    /// The wait as a band, from the pace the line has actually kept; null unless waiting, and
    /// while paused, while no seat is free, or in the sale's first seconds (before the pace is
    /// measured).
    pub eta: Option<EtaBand>,
    /// The fan's number in line (lottery ranks first, then arrival order).
    pub ticket_number: Option<i64>,
    /// The fan's pseudonymous id in this event's lottery: a fan who joined before the sale
    /// opened finds it in the revealed draw (`lottery.entrants`), at their ticket's rank.
    pub lottery_entrant: String,
    /// The number of the last fan let through.
    pub now_serving: i64,
    /// Fans waiting for the presale lottery.
    pub presale_fans: i64,
    pub sale_opens_at: DateTime<Utc>,
    pub paused: bool,
    /// Whether seats are left to sell; unless ON_SALE nobody is admitted and there is no
    /// estimated wait.
    pub supply: SeatSupply,
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
    /// The seed: with the presale fans, anyone can redo the draw (see the public `lottery`).
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
    /// Whether seats are left to sell (admissions stop while none is free).
    pub supply: SeatSupply,
    /// Fans let in per second at most, as in force (set by the autopilot or an admin).
    pub admission_rate: f64,
    /// Fans admitted at once at most (shoppers), as in force.
    pub admission_capacity: i64,
    /// Fans actually let in per second lately (smoothed over about ten seconds); null before
    /// any. Waiting fans' estimated waits use it.
    pub achieved_admission_rate: Option<f64>,
    /// Who sets the rate and cap, between which bounds, and why they are what they are.
    pub autopilot: AutopilotStatus,
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

    /// An event's presale lottery: its commitment before the draw, its seed and drawn order
    /// after (no sign-in needed: anyone may check a draw).
    async fn lottery(&self, ctx: &Context<'_>, event_id: ID) -> ApiResult<lottery::Lottery> {
        let state = ctx.api_data::<AppState>()?;
        let event = find_event(state, &event_id).await?;
        lottery::lottery(state, &event).await
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
        leave(state, event.id, &identity.fan_key(), OutReason::Left).await
    }

    /// Says "still here" for clients that poll instead of subscribing; returns the status.
    async fn heartbeat(&self, ctx: &Context<'_>, event_id: ID) -> ApiResult<QueueStatus> {
        let identity = ctx.identity()?;
        let state = ctx.api_data::<AppState>()?;
        let event = find_event(state, &event_id).await?;
        // Only fans already in line are refreshed; a heartbeat never joins anyone.
        crate::queue_store::heartbeat(
            state.redis(),
            &state.keys().queue(event.id),
            &identity.fan_key(),
        )
        .await?;
        status(state, &event, &identity).await
    }

    /// Stops admissions for an event (admins only).
    async fn pause_queue(&self, ctx: &Context<'_>, event_id: ID) -> ApiResult<QueueStats> {
        set(ctx, &event_id, Setting::Paused(true)).await
    }

    /// Resumes admissions (admins only).
    async fn resume_queue(&self, ctx: &Context<'_>, event_id: ID) -> ApiResult<QueueStats> {
        set(ctx, &event_id, Setting::Paused(false)).await
    }

    /// Sets how many fans per second are let in (admins only), between 0.01 and 100,000, and
    /// pins the event's limits (the autopilot leaves them until `resumeAutopilot`).
    async fn set_admission_rate(
        &self,
        ctx: &Context<'_>,
        event_id: ID,
        per_second: f64,
    ) -> ApiResult<QueueStats> {
        set(ctx, &event_id, Setting::Rate(per_second)).await
    }

    /// Sets how many fans may be admitted at once (admins only), between 0 and 1,000,000, and
    /// pins the event's limits (the autopilot leaves them until `resumeAutopilot`).
    async fn set_admission_capacity(
        &self,
        ctx: &Context<'_>,
        event_id: ID,
        capacity: i32,
    ) -> ApiResult<QueueStats> {
        set(ctx, &event_id, Setting::Capacity(capacity)).await
    }

    /// Sets the range the autopilot keeps an event's rate and cap in (admins only); values in
    /// force outside it move inside at once, unless pinned. `BAD_USER_INPUT` for a minimum
    /// above its maximum or a value out of range.
    async fn set_admission_bounds(
        &self,
        ctx: &Context<'_>,
        event_id: ID,
        min_rate: f64,
        max_rate: f64,
        min_capacity: i32,
        max_capacity: i32,
    ) -> ApiResult<QueueStats> {
        let bounds = autopilot::check_bounds(min_rate, max_rate, min_capacity, max_capacity)?;
        ctx.admin()?;
        let state = ctx.api_data::<AppState>()?;
        let event = find_event(state, &event_id).await?;
        admin::set_bounds(state, &event, bounds).await
    }

    /// Pins an event's rate and cap (admins only): the autopilot leaves them until
    /// `resumeAutopilot`. An omitted value keeps the one in force.
    async fn pin_admission(
        &self,
        ctx: &Context<'_>,
        event_id: ID,
        per_second: Option<f64>,
        capacity: Option<i32>,
    ) -> ApiResult<QueueStats> {
        let rate = per_second
            .map(|rate| autopilot::check_rate("perSecond", rate))
            .transpose()?;
        let capacity = capacity
            .map(|capacity| autopilot::check_capacity("capacity", capacity))
            .transpose()?;
        ctx.admin()?;
        let state = ctx.api_data::<AppState>()?;
        let event = find_event(state, &event_id).await?;
        admin::pin(state, &event, rate, capacity).await
    }

    /// Hands an event's rate and cap back to the autopilot (admins only).
    async fn resume_autopilot(&self, ctx: &Context<'_>, event_id: ID) -> ApiResult<QueueStats> {
        ctx.admin()?;
        let state = ctx.api_data::<AppState>()?;
        let event = find_event(state, &event_id).await?;
        admin::resume(state, &event).await
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
        admin::revoke(state, &event, &user_id).await
    }

    /// Switches an event's gate (admins only): off lets the sale routes pass without a token.
    async fn set_event_gate(
        &self,
        ctx: &Context<'_>,
        event_id: ID,
        enabled: bool,
    ) -> ApiResult<events::Event> {
        ctx.admin()?;
        let state = ctx.api_data::<AppState>()?;
        let event = find_event(state, &event_id).await?;
        admin::set_gate(state, event.id, enabled).await?;
        let event = events::find_event_by_id(state, event.id).await?;
        Ok(events::Event::from(event.as_ref()))
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

/// Checks, authorizes and stores an admin's setting.
async fn set(ctx: &Context<'_>, event_id: &ID, setting: Setting) -> ApiResult<QueueStats> {
    let setting = admin::check(setting)?;
    ctx.admin()?;
    let state = ctx.api_data::<AppState>()?;
    let event = find_event(state, event_id).await?;
    admin::set(state, &event, setting).await
}
