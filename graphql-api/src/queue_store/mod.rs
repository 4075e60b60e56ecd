//! The queue in Redis: every Redis call the queue makes goes through here, and every reply
//! comes back typed. A reply that does not read as the script promised is an error, never
//! a zero or an empty string. The key layout is the stores' contract, [`tokens::store`];
//! the scripts are in [`scripts`]; the replies in [`replies`].

pub mod autopilot;
mod counters;
pub mod forecast;
pub mod replies;
pub mod scripts;
mod supply;

use std::time::Duration;

use chrono::Utc;
use fred::prelude::{
    HashesInterface as _, KeysInterface as _, Pool, PubsubInterface as _, SortedSetsInterface as _,
};
use moka::future::Cache;
use serde::{Deserialize, Serialize};
use tokens::store::{Keys, QueueKeys};

pub use self::counters::{Head, MessageMeta, counters, head, message_meta};
pub use self::replies::{
    AdmissionRecord, FanReply, LeaveOutcome, OutReason, Place, QueueCounters, TickCode, TickOutcome,
};
pub use self::supply::Supply;
use crate::{error::ApiResult, eta::Pace, redis::run_script};

/// One admitted fan, as the ticker publishes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdmittedFan {
    pub fan: String,
    pub jti: String,
    pub expires_ms: i64,
    pub number: i64,
}

/// What the ticker publishes per event and tick on the queue channel.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct QueueMessage {
    pub serving: i64,
    pub lottery: i64,
    pub drawn: bool,
    pub paused: bool,
    pub rate: f64,
    pub admitted: Vec<AdmittedFan>,
    /// Fans let in per second lately (absent from instances that predate it).
    #[serde(default)]
    pub achieved: Option<f64>,
    /// Whether seats are left to sell (absent from instances that predate it: on sale).
    #[serde(default)]
    pub supply: Supply,
    /// The forecast of the line's pace fans' waits are shown from (absent before the first,
    /// and from instances that predate it).
    #[serde(default)]
    pub pace: Option<Pace>,
}

/// Joins `fan` (idempotent: the same fan gets the same place) and reports where they stand.
pub async fn join(redis: &Pool, keys: &QueueKeys, fan: &str, opens_ms: i64) -> ApiResult<FanReply> {
    let reply: Vec<String> = run_script(
        redis,
        &scripts::JOIN,
        keys.join_keys(),
        vec![fan.to_owned(), opens_ms.to_string()],
    )
    .await?;
    FanReply::parse(&reply)
}

/// Where `fan` stands, with an exact rank.
pub async fn status(redis: &Pool, keys: &QueueKeys, fan: &str) -> ApiResult<FanReply> {
    let reply: Vec<String> = run_script(
        redis,
        &scripts::STATUS,
        vec![
            keys.wait.clone(),
            keys.pre.clone(),
            keys.adm.clone(),
            keys.tok.clone(),
            keys.meta.clone(),
            keys.out.clone(),
        ],
        vec![fan.to_owned()],
    )
    .await?;
    FanReply::parse(&reply)
}

/// Takes `fan` out of the line, or ends their admission, recording `reason`.
pub async fn leave(
    redis: &Pool,
    keys: &QueueKeys,
    fan: &str,
    reason: OutReason,
    grace: Duration,
) -> ApiResult<LeaveOutcome> {
    let reply: Vec<String> = run_script(
        redis,
        &scripts::LEAVE,
        vec![
            keys.wait.clone(),
            keys.pre.clone(),
            keys.adm.clone(),
            keys.tok.clone(),
            keys.out.clone(),
            keys.alive.clone(),
        ],
        vec![
            fan.to_owned(),
            reason.as_str().to_owned(),
            keys.admission_prefix.clone(),
            grace.as_millis().to_string(),
        ],
    )
    .await?;
    LeaveOutcome::parse(&reply)
}

/// Refreshes a waiting fan's sign of life; a fan not in line is not added.
pub async fn heartbeat(redis: &Pool, keys: &QueueKeys, fan: &str) -> ApiResult<()> {
    let now = Utc::now().timestamp_millis() as f64;
    let _: i64 = redis
        .zadd(
            &keys.alive,
            Some(fred::types::SetOptions::XX),
            None,
            false,
            false,
            (now, fan.to_owned()),
        )
        .await?;
    Ok(())
}

/// Marks fans with a live subscription on this instance as alive: one command per 5,000
/// fans of an event, whatever the number of subscriptions.
pub async fn mark_alive(redis: &Pool, keys: &QueueKeys, fans: &[String]) -> ApiResult<()> {
    let now_ms = Utc::now().timestamp_millis() as f64;
    for chunk in fans.chunks(5_000) {
        let members: Vec<(f64, String)> = chunk.iter().map(|fan| (now_ms, fan.clone())).collect();
        let _: i64 = redis
            .zadd(&keys.alive, None, None, false, false, members)
            .await?;
    }
    Ok(())
}

/// What one admission tick may do: its defaults, the admission lifetime and fresh token ids.
#[derive(Clone, Debug)]
pub struct AdmitRequest {
    pub opens_ms: i64,
    pub default_rate: f64,
    pub default_capacity: u32,
    pub ttl: Duration,
    pub abandon_after: Duration,
    /// Fans the tick may look at (admitted or skipped as gone).
    pub scan_limit: usize,
    /// One fresh token id per fan the tick may admit.
    pub jtis: Vec<String>,
}

/// One atomic admission step (see [`scripts::ADMIT`]).
pub async fn admit(
    redis: &Pool,
    keys: &QueueKeys,
    request: AdmitRequest,
) -> ApiResult<TickOutcome> {
    let mut args = vec![
        request.opens_ms.to_string(),
        request.default_rate.to_string(),
        request.default_capacity.to_string(),
        request.ttl.as_millis().to_string(),
        request.abandon_after.as_millis().to_string(),
        keys.admission_prefix.clone(),
        request.scan_limit.to_string(),
    ];
    args.extend(request.jtis);
    let reply: Vec<String> = run_script(
        redis,
        &scripts::ADMIT,
        vec![
            keys.wait.clone(),
            keys.adm.clone(),
            keys.tok.clone(),
            keys.alive.clone(),
            keys.meta.clone(),
            keys.out.clone(),
        ],
        args,
    )
    .await?;
    TickOutcome::parse(&reply)
}

/// Commits a lottery draw: `order` takes ranks `1..`. `None` when the event was drawn already.
pub async fn draw(redis: &Pool, keys: &QueueKeys, order: Vec<String>) -> ApiResult<Option<i64>> {
    let drawn: i64 = run_script(
        redis,
        &scripts::DRAW,
        vec![keys.pre.clone(), keys.wait.clone(), keys.meta.clone()],
        order,
    )
    .await?;
    Ok((drawn >= 0).then_some(drawn))
}

/// Everyone in presale, by join time (the lottery's entrants).
pub async fn presale_fans(redis: &Pool, keys: &QueueKeys) -> ApiResult<Vec<String>> {
    Ok(redis
        .zrange(&keys.pre, 0, -1, None, false, None, false)
        .await?)
}

/// An admin's setting of the event's queue.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Setting {
    Paused(bool),
    /// Admissions per second.
    Rate(f64),
    /// Fans admitted at once.
    Capacity(i32),
}

/// Stores an admin's setting; the next tick follows it.
pub async fn set(redis: &Pool, keys: &QueueKeys, setting: Setting) -> ApiResult<()> {
    let (field, value) = match setting {
        Setting::Paused(paused) => ("paused", if paused { "1" } else { "0" }.to_owned()),
        Setting::Rate(rate) => ("rate", rate.to_string()),
        Setting::Capacity(capacity) => ("capacity", capacity.to_string()),
    };
    let _: i64 = redis.hset(&keys.meta, (field, value)).await?;
    Ok(())
}

/// Stores whether the event has seats left to sell (the ticker's reading of the inventory),
/// where the admission script and the queue's replies read it.
pub async fn set_supply(redis: &Pool, keys: &QueueKeys, supply: Supply) -> ApiResult<()> {
    let _: i64 = redis.hset(&keys.meta, ("supply", supply.as_str())).await?;
    Ok(())
}

/// Switches an event's gate for the gateway (`1` on, `0` off).
pub async fn set_gate(redis: &Pool, keys: &Keys, event: i64, enabled: bool) -> ApiResult<()> {
    let value = if enabled { "1" } else { "0" };
    let _: () = redis
        .set(keys.gate(event), value, None, None, false)
        .await?;
    Ok(())
}

/// The admin-set rate and capacity, where set.
pub async fn limits(redis: &Pool, keys: &QueueKeys) -> ApiResult<(Option<f64>, Option<u32>)> {
    Ok(redis.hmget(&keys.meta, vec!["rate", "capacity"]).await?)
}

/// Tells every instance about a tick.
pub async fn publish(redis: &Pool, keys: &QueueKeys, message: &QueueMessage) -> ApiResult<()> {
    let json = serde_json::to_string(message)
        .map_err(|error| anyhow::Error::new(error).context("encoding a queue message"))?;
    let _: i64 = redis.next().publish(&keys.channel, json).await?;
    Ok(())
}

/// Admission records checked in the last second, by token id: whether each exists. A revoked
/// admission stops working within that second on every instance.
#[derive(Clone)]
pub struct AdmissionRecords {
    cache: Cache<String, bool>,
}

impl Default for AdmissionRecords {
    fn default() -> Self {
        Self {
            cache: Cache::builder()
                .max_capacity(200_000)
                .time_to_live(Duration::from_secs(1))
                .build(),
        }
    }
}

impl AdmissionRecords {
    /// Whether the admission `jti` of `event` is still on record.
    pub async fn exists(
        &self,
        redis: &Pool,
        keys: &Keys,
        event: i64,
        jti: &str,
    ) -> ApiResult<bool> {
        if let Some(present) = self.cache.get(jti).await {
            return Ok(present);
        }
        let present = redis.exists::<i64, _>(keys.admission(event, jti)).await? > 0;
        self.cache.insert(jti.to_owned(), present).await;
        Ok(present)
    }
}
