//! The autopilot's Redis calls: each event's autopilot record (`ap:{evt:E}`), written
//! together with the limits in force (the queue's `meta`) by one compare-and-set script, and
//! the instances' sale-health windows (`sale:health`). Key layout: [`tokens::store`].

use std::sync::LazyLock;

use fred::{
    prelude::{HashesInterface as _, KeysInterface as _, Pool},
    types::scripts::Script,
};
use tokens::store::Keys;

use super::Supply;
use crate::{error::ApiResult, redis::run_script, sale_health::HealthReport};

/// An event's autopilot as stored; a field never written reads as `None`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AutopilotRecord {
    /// `AUTO` or `PINNED`; `None` before any decision or admin action (counts as `AUTO`).
    pub mode: Option<String>,
    pub min_rate: Option<f64>,
    pub max_rate: Option<f64>,
    pub min_capacity: Option<u32>,
    pub max_capacity: Option<u32>,
    /// Why the limits are what they are (the last change, pin or resume).
    pub reason: Option<String>,
    /// The latest decision that held the limits.
    pub status: Option<String>,
    /// When the autopilot last changed the limits (or started watching), in ms.
    pub changed_ms: Option<i64>,
    /// When the autopilot last cut the limits on distress, in ms; `None` while it never has.
    pub cut_ms: Option<i64>,
    /// Bumped by every write: a decision made on an older version is dropped.
    pub version: i64,
}

/// Reads an event's autopilot record.
pub async fn read(redis: &Pool, keys: &Keys, event: i64) -> ApiResult<AutopilotRecord> {
    type Fields = (
        Option<String>,
        Option<f64>,
        Option<f64>,
        Option<u32>,
        Option<u32>,
        Option<String>,
        Option<String>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
    );
    let fields: Fields = redis
        .hmget(
            keys.autopilot(event),
            vec![
                "mode",
                "min_rate",
                "max_rate",
                "min_capacity",
                "max_capacity",
                "reason",
                "status",
                "changed_ms",
                "cut_ms",
                "version",
            ],
        )
        .await?;
    let (
        mode,
        min_rate,
        max_rate,
        min_capacity,
        max_capacity,
        reason,
        status,
        changed_ms,
        cut_ms,
        version,
    ) = fields;
    Ok(AutopilotRecord {
        mode,
        min_rate,
        max_rate,
        min_capacity,
        max_capacity,
        reason,
        status,
        changed_ms,
        cut_ms,
        version: version.unwrap_or(0),
    })
}

/// Writes fields of the autopilot record and, when given, the limits in force, all at once;
/// only if the record is still at `expected` version (`None`: whatever it is, for admins).
/// KEYS: ap meta. ARGV: expected|* rate|'' capacity|'' field value...
static WRITE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r"
local version = redis.call('HGET', KEYS[1], 'version') or '0'
if ARGV[1] ~= '*' and version ~= ARGV[1] then return 0 end
if ARGV[2] ~= '' then redis.call('HSET', KEYS[2], 'rate', ARGV[2]) end
if ARGV[3] ~= '' then redis.call('HSET', KEYS[2], 'capacity', ARGV[3]) end
for i = 4, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('HINCRBY', KEYS[1], 'version', 1)
return 1
",
    )
});

/// One write of [`write`].
#[derive(Clone, Debug, Default)]
pub struct AutopilotWrite {
    /// Only if the record is still at this version; `None` writes regardless.
    pub expected_version: Option<i64>,
    pub rate: Option<f64>,
    pub capacity: Option<u32>,
    /// Record fields to set (`mode`, bounds, `reason`, `status`, `changed_ms`, `cut_ms`).
    pub fields: Vec<(&'static str, String)>,
}

/// Applies `change`; false when another writer got there first.
pub async fn write(
    redis: &Pool,
    keys: &Keys,
    event: i64,
    change: AutopilotWrite,
) -> ApiResult<bool> {
    let mut args = vec![
        change
            .expected_version
            .map_or_else(|| "*".to_owned(), |version| version.to_string()),
        change.rate.map(|rate| rate.to_string()).unwrap_or_default(),
        change
            .capacity
            .map(|capacity| capacity.to_string())
            .unwrap_or_default(),
    ];
    for (field, value) in change.fields {
        args.push(field.to_owned());
        args.push(value);
    }
    let written: i64 = run_script(
        redis,
        &WRITE,
        vec![keys.autopilot(event), keys.queue(event).meta],
        args,
    )
    .await?;
    Ok(written == 1)
}

/// What the autopilot reads of an event's queue.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct QueueObservation {
    /// Fans admitted now (expired ones not yet swept count too).
    pub admitted: u64,
    /// The smoothed admissions per second, once any.
    pub achieved: Option<f64>,
    /// Whether seats are left to sell, as the ticker last read.
    pub supply: Supply,
    /// When the rate last stopped an admission tick with fans still waiting, in ms.
    pub rate_hit_ms: Option<i64>,
    /// When the cap last stopped an admission tick with fans still waiting, in ms.
    pub cap_hit_ms: Option<i64>,
}

/// Reads what the autopilot needs of the event's queue.
pub async fn observed(redis: &Pool, keys: &Keys, event: i64) -> ApiResult<QueueObservation> {
    use fred::prelude::SortedSetsInterface as _;
    let queue = keys.queue(event);
    let admitted: u64 = redis.zcard(&queue.adm).await?;
    let meta = super::message_meta(redis, &queue).await?;
    let (rate_hit_ms, cap_hit_ms): (Option<i64>, Option<i64>) = redis
        .hmget(&queue.meta, vec!["rate_hit", "cap_hit"])
        .await?;
    Ok(QueueObservation {
        admitted,
        achieved: meta.achieved,
        supply: meta.supply,
        rate_hit_ms,
        cap_hit_ms,
    })
}

/// Stores this instance's latest health window; the key lives `ttl_ms` past the last report.
pub async fn report_health(
    redis: &Pool,
    keys: &Keys,
    instance: &str,
    report: &HealthReport,
    ttl_ms: i64,
) -> ApiResult<()> {
    let json = serde_json::to_string(report)
        .map_err(|error| anyhow::Error::new(error).context("encoding a health report"))?;
    let key = keys.sale_health();
    let _: i64 = redis.hset(&key, (instance, json)).await?;
    let _: bool = redis.pexpire(&key, ttl_ms, None).await?;
    Ok(())
}

/// Every instance's health window written at or after `fresh_since_ms`; older ones (their
/// instance stopped) are deleted on the way.
pub async fn read_health(
    redis: &Pool,
    keys: &Keys,
    fresh_since_ms: i64,
) -> ApiResult<Vec<HealthReport>> {
    let key = keys.sale_health();
    let all: std::collections::HashMap<String, String> = redis.hgetall(&key).await?;
    let mut fresh = Vec::new();
    let mut stale = Vec::new();
    for (instance, json) in all {
        match serde_json::from_str::<HealthReport>(&json) {
            Ok(report) if report.at_ms >= fresh_since_ms => fresh.push(report),
            Ok(_) => stale.push(instance),
            Err(error) => {
                tracing::warn!(%error, instance, "unreadable sale health report");
                stale.push(instance);
            }
        }
    }
    if !stale.is_empty() {
        let _: i64 = redis.hdel(&key, stale).await?;
    }
    Ok(fresh)
}
