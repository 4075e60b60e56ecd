//! The queue's server-side scripts: each changes one event's queue atomically (all its keys
//! share one Cluster slot). The key layout is in [`tokens::store`].
//!
//! A fan's *number* is dense: lottery fans are `1..L`, the n-th FIFO arrival is `L + n`.
//! `serving` is the number of the last fan taken from the head, so a fan's position is about
//! `number - serving` (fans who left ahead make it an overestimate; an exact `ZRANK` corrects
//! it now and then).

use std::sync::LazyLock;

use fred::types::scripts::Script;
#[cfg(doc)]
use tokens::store::QueueKeys;
use tokens::store::{self, FIFO_BASE, NOW_MS, STATUS_BODY};

/// Join, then report as [`STATUS`] does (the script is the stores' contract, so load tests
/// can call it directly). KEYS: [`QueueKeys::join_keys`]. ARGV: fan opens_ms.
pub static JOIN: LazyLock<Script> = LazyLock::new(|| Script::from_lua(store::join_script()));

/// Leave the line or end an admission, recording why. An ended admission's record (what its
/// token passes on) is deleted, or with `grace_ms` > 0 kept for at most that long (the caller
/// gives a grace to a purchase only).
/// KEYS: wait pre adm tok out alive. ARGV: fan reason admission_prefix grace_ms.
/// Returns {outcome (LEFT|ENDED|NONE), token record}.
pub static LEAVE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r"
local fan = ARGV[1]
if redis.call('ZREM', KEYS[1], fan) == 1 or redis.call('ZREM', KEYS[2], fan) == 1 then
  redis.call('HSET', KEYS[5], fan, ARGV[2])
  redis.call('ZREM', KEYS[6], fan)
  return {'LEFT', ''}
end
if redis.call('ZREM', KEYS[3], fan) == 1 then
  local record = redis.call('HGET', KEYS[4], fan) or ''
  redis.call('HDEL', KEYS[4], fan)
  redis.call('HSET', KEYS[5], fan, ARGV[2])
  local jti = string.match(record, '^([^|]+)')
  if jti then
    local key = ARGV[3] .. jti
    local grace = tonumber(ARGV[4] or '0')
    if grace > 0 then
      if redis.call('PTTL', key) > grace then redis.call('PEXPIRE', key, grace) end
    else
      redis.call('DEL', key)
    end
  end
  return {'ENDED', record}
end
return {'NONE', ''}
",
    )
});

/// A fan's state with an exact rank, and the event's counters, in one round trip.
/// KEYS: wait pre adm tok meta out. ARGV: fan.
pub static STATUS: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(format!(
        "{NOW_MS}{}{STATUS_BODY}",
        r"
local fan = ARGV[1]
local new = 0
local kw, kp, ka, kt, km, ko = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
"
    ))
});

/// One admission tick: end run-out admissions, refill the shared token bucket, then take
/// fans from the head while the rate and the cap allow, skipping (and marking) fans with no
/// recent sign of life; nobody while paused or while no seat is free (`supply`). Atomic, so two tickers can never exceed the cap between them. It also
/// smooths the admissions per second actually achieved into `achieved` (an exponential
/// average over about ten seconds, whatever the spacing of ticks), and counts in `active_ms`
/// the time the line was moving (fans waiting or let in): the ETA's forecast measures its pace
/// over that time only ([`crate::eta`]).
/// When a limit, not the line, stopped a tick with fans still waiting, it stamps `rate_hit` or
/// `cap_hit` with the time: the autopilot raises only a limit that holds fans back, and the
/// smoothed rate lags a raise by seconds where the stamp does not.
/// KEYS: wait adm tok alive meta out.
/// ARGV: opens_ms default_rate default_capacity ttl_ms abandon_ms admission_prefix scan_limit jti...
/// Returns {code (OK|PAUSED|NO_SEATS|PRESALE|NEEDS_DRAW), serving, expired, skipped, "fan|jti|exp|number"...}.
pub static ADMIT: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(format!(
        "{NOW_MS}{}",
        r"
local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
for _, fan in ipairs(gone) do
  redis.call('ZREM', KEYS[2], fan)
  redis.call('HDEL', KEYS[3], fan)
  redis.call('HSET', KEYS[6], fan, 'expired')
end
if #gone > 0 then redis.call('HINCRBY', KEYS[5], 'expired', #gone) end
local m = redis.call('HMGET', KEYS[5], 'drawn', 'paused', 'rate', 'capacity', 'bucket', 'bucket_at', 'serving', 'lottery', 'achieved', 'supply')
local serving = m[7] or '0'
if m[1] ~= '1' then
  if now < tonumber(ARGV[1]) then return {'PRESALE', serving, #gone, 0} end
  return {'NEEDS_DRAW', serving, #gone, 0}
end
if m[2] == '1' then
  redis.call('HSET', KEYS[5], 'bucket_at', now)
  return {'PAUSED', serving, #gone, 0}
end
if m[10] and m[10] ~= '' then
  redis.call('HSET', KEYS[5], 'bucket_at', now)
  return {'NO_SEATS', serving, #gone, 0}
end
local rate = tonumber(m[3] or ARGV[2])
local capacity = tonumber(m[4] or ARGV[3])
local last = tonumber(m[6] or now)
local bucket = math.min(math.max(rate, 1), tonumber(m[5] or '0') + rate * (now - last) / 1000)
local slots = capacity - redis.call('ZCARD', KEYS[2])
local want = math.min(math.floor(bucket), slots, #ARGV - 7)
local lottery = tonumber(m[8] or '0')
local limit = tonumber(ARGV[7])
local abandon_before = now - tonumber(ARGV[5])
local ttl = tonumber(ARGV[4])
local admitted = {}
local skipped = 0
local scanned = 0
while #admitted < want and scanned < limit do
  local head = redis.call('ZPOPMIN', KEYS[1])
  if #head == 0 then break end
  scanned = scanned + 1
  local fan = head[1]
  local score = tonumber(head[2])
  local number = score
  if score >= 1000000000000 then number = lottery + score - 1000000000000 end
  serving = string.format('%d', number)
  local seen = redis.call('ZSCORE', KEYS[4], fan)
  redis.call('ZREM', KEYS[4], fan)
  if (not seen) or tonumber(seen) < abandon_before then
    redis.call('HSET', KEYS[6], fan, 'abandoned')
    skipped = skipped + 1
  else
    local jti = ARGV[8 + #admitted]
    local exp = now + ttl
    redis.call('ZADD', KEYS[2], exp, fan)
    redis.call('HSET', KEYS[3], fan, jti .. '|' .. string.format('%d', exp))
    redis.call('SET', ARGV[6] .. jti, fan, 'PX', ttl)
    admitted[#admitted + 1] = fan .. '|' .. jti .. '|' .. string.format('%d', exp) .. '|' .. serving
  end
end
redis.call('HSET', KEYS[5], 'bucket', bucket - #admitted, 'bucket_at', now, 'serving', serving)
if #admitted == math.max(want, 0) and scanned < limit and redis.call('ZCARD', KEYS[1]) > 0 then
  if slots <= want then redis.call('HSET', KEYS[5], 'cap_hit', now) end
  if math.floor(bucket) <= want then redis.call('HSET', KEYS[5], 'rate_hit', now) end
end
if skipped > 0 then redis.call('HINCRBY', KEYS[5], 'abandoned', skipped) end
if #admitted > 0 then redis.call('HINCRBY', KEYS[5], 'admitted_total', #admitted) end
local dt = now - last
if dt > 0 then
  local observed = #admitted * 1000 / dt
  local achieved = tonumber(m[9] or '')
  if (not achieved) or achieved < 0.01 then
    achieved = observed
  else
    achieved = achieved + (1 - math.exp(-dt / 10000)) * (observed - achieved)
  end
  redis.call('HSET', KEYS[5], 'achieved', string.format('%.3f', achieved))
  if #admitted > 0 or redis.call('ZCARD', KEYS[1]) > 0 then
    redis.call('HINCRBY', KEYS[5], 'active_ms', dt)
  end
end
local result = {'OK', serving, #gone, skipped}
for _, entry in ipairs(admitted) do result[#result + 1] = entry end
return result
"
    ))
});

/// Commit a lottery draw: presale fans take ranks `1..L` in the drawn order (anyone still in
/// presale but not in the list goes after, by join time). Does nothing if already drawn.
/// KEYS: pre wait meta. ARGV: fans in drawn order. Returns L, or -1 if already drawn.
pub static DRAW: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r"
if redis.call('HGET', KEYS[3], 'drawn') == '1' then return -1 end
local rank = 0
for i = 1, #ARGV do
  if redis.call('ZREM', KEYS[1], ARGV[i]) == 1 then
    rank = rank + 1
    redis.call('ZADD', KEYS[2], rank, ARGV[i])
  end
end
for _, fan in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  rank = rank + 1
  redis.call('ZADD', KEYS[2], rank, fan)
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[3], 'drawn', '1', 'lottery', rank)
return rank
",
    )
});

/// The dense number of an order key, given the lottery size.
pub fn number_of(score: i64, lottery: i64) -> i64 {
    if score >= FIFO_BASE {
        lottery + score - FIFO_BASE
    } else {
        score
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_dense_across_the_lottery_and_fifo() {
        assert_eq!(number_of(1, 3), 1);
        assert_eq!(number_of(3, 3), 3);
        assert_eq!(number_of(FIFO_BASE + 1, 3), 4);
        assert_eq!(number_of(FIFO_BASE + 10, 0), 10);
    }
}
