//! Reading an event's queue as a whole: the admin counters, who is at the head, and what a
//! tick's message carries besides its outcome.

use chrono::Utc;
use fred::prelude::{HashesInterface as _, Pool, SortedSetsInterface as _};
use tokens::store::QueueKeys;

use super::{QueueCounters, Supply};
use crate::{
    error::ApiResult,
    eta::{Pace, decode_pace, known},
};

/// The event's counters, as admins see them (several reads: not one instant).
pub async fn counters(redis: &Pool, keys: &QueueKeys) -> ApiResult<QueueCounters> {
    type Meta = (
        Option<i64>,
        Option<String>,
        Option<f64>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<String>,
        Option<f64>,
        Option<String>,
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
                "drawn",
                "achieved",
                "supply",
            ],
        )
        .await?;
    let (
        serving,
        paused,
        rate,
        capacity,
        abandoned,
        expired,
        admitted_total,
        lottery,
        drawn,
        achieved,
        supply,
    ) = meta;
    let now_ms = Utc::now().timestamp_millis() as f64;
    Ok(QueueCounters {
        waiting: redis.zcard(&keys.wait).await?,
        presale: redis.zcard(&keys.pre).await?,
        admitted: redis.zcount(&keys.adm, now_ms, f64::INFINITY).await?,
        abandoned: abandoned.unwrap_or(0),
        expired: expired.unwrap_or(0),
        admitted_total: admitted_total.unwrap_or(0),
        serving: serving.unwrap_or(0),
        lottery: lottery.unwrap_or(0),
        drawn: drawn.as_deref() == Some("1"),
        paused: paused.as_deref() == Some("1"),
        rate,
        capacity,
        achieved,
        supply: stored_supply(supply.as_deref())?,
    })
}

/// A stored supply (none stored: on sale); a spelling no version wrote is an error, as in
/// the scripts' replies.
fn stored_supply(stored: Option<&str>) -> ApiResult<Supply> {
    let stored = stored.unwrap_or_default();
    Supply::parse(stored).ok_or_else(|| {
        anyhow::anyhow!("the queue's supply is stored as {stored:?}, which it never should").into()
    })
}

/// When the fan at the head joined (ms), if they arrived FIFO: from the nearest recorded
/// arrival at or before theirs. `Head::Lottery` when the head was ranked by the lottery.
pub async fn head(redis: &Pool, keys: &QueueKeys) -> ApiResult<Head> {
    let head: Vec<(String, f64)> = redis
        .zrange(&keys.wait, 0, 0, None, false, None, true)
        .await?;
    let Some((_, score)) = head.first() else {
        return Ok(Head::Empty);
    };
    let score = *score as i64;
    if score < tokens::store::FIFO_BASE {
        return Ok(Head::Lottery);
    }
    let seq = score - tokens::store::FIFO_BASE;
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
    Ok(Head::Fifo { joined_ms })
}

/// Who is at the head of the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Head {
    Empty,
    /// Ranked by the lottery: waiting since the opening.
    Lottery,
    /// Arrived FIFO, at about `joined_ms` when the clock recorded it.
    Fifo {
        joined_ms: Option<i64>,
    },
}

/// The counters a queue message carries besides the tick's own outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MessageMeta {
    pub lottery: Option<i64>,
    pub drawn: bool,
    pub paused: bool,
    pub rate: Option<f64>,
    pub achieved: Option<f64>,
    pub supply: Supply,
    pub pace: Option<Pace>,
}

/// Reads what a queue message carries besides the tick's own outcome.
pub async fn message_meta(redis: &Pool, keys: &QueueKeys) -> ApiResult<MessageMeta> {
    type Meta = (
        Option<i64>,
        Option<String>,
        Option<String>,
        Option<f64>,
        Option<f64>,
        Option<String>,
        Option<String>,
    );
    let (lottery, drawn, paused, rate, achieved, supply, pace): Meta = redis
        .hmget(
            &keys.meta,
            vec![
                "lottery", "drawn", "paused", "rate", "achieved", "supply", "eta",
            ],
        )
        .await?;
    Ok(MessageMeta {
        lottery,
        drawn: drawn.as_deref() == Some("1"),
        paused: paused.as_deref() == Some("1"),
        rate,
        achieved,
        supply: stored_supply(supply.as_deref())?,
        pace: pace.as_deref().and_then(decode_pace).filter(known),
    })
}
