//! The ETA forecast in Redis: two fields of the queue's `meta` hash. `eta` is the pace fans'
//! waits are shown from (`at_ms|slow|likely|fast`, read by every status reply and message);
//! `eta_base` is what the next revision measures from. Revising is a compare-and-set on
//! `eta`, so of several tickers only one revises each window. The model is [`crate::eta`].

use std::sync::LazyLock;

use fred::{
    prelude::{HashesInterface as _, Pool},
    types::scripts::Script,
};
use tokens::store::QueueKeys;

use crate::{
    error::ApiResult,
    eta::{self, Counts},
    redis::run_script,
};

/// Stores a revision if the forecast is still the one it was made from.
/// KEYS: meta. ARGV: expected eta ('' for none) new_eta new_base. Returns 1 if stored.
static STORE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r"
if (redis.call('HGET', KEYS[1], 'eta') or '') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'eta', ARGV[2], 'eta_base', ARGV[3])
return 1
",
    )
});

/// Revises the event's forecast when a revision is due; true when this call stored one. A
/// stored forecast that does not read starts over.
pub async fn revise(redis: &Pool, keys: &QueueKeys, now_ms: i64) -> ApiResult<bool> {
    type Stored = (Option<String>, Option<String>, Option<i64>, Option<i64>);
    let (pace, base, admitted_total, active_ms): Stored = redis
        .hmget(
            &keys.meta,
            vec!["eta", "eta_base", "admitted_total", "active_ms"],
        )
        .await?;
    let previous = match (&pace, &base) {
        (Some(pace), Some(base)) => eta::decode(pace, base),
        _ => None,
    };
    let counts = Counts {
        admitted_total: admitted_total.unwrap_or(0),
        active_ms: active_ms.unwrap_or(0),
    };
    let Some(next) = eta::revise(previous.as_ref(), counts, now_ms) else {
        return Ok(false);
    };
    // Zero when another ticker revised first: its forecast is the one in force.
    let stored: i64 = run_script(
        redis,
        &STORE,
        vec![keys.meta.clone()],
        vec![
            pace.unwrap_or_default(),
            eta::encode_pace(&next.pace),
            eta::encode_base(&next),
        ],
    )
    .await?;
    Ok(stored == 1)
}

/// Drops the event's forecast, so that the next one starts from the line as it is now: an
/// admin's cut of the limits may lengthen every wait at once, and fans are told at once
/// (no wait is shown until the new forecast's first window ends).
pub async fn forget(redis: &Pool, keys: &QueueKeys) -> ApiResult<()> {
    let _: i64 = redis.hdel(&keys.meta, vec!["eta", "eta_base"]).await?;
    Ok(())
}
