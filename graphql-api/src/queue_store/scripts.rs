//! The queue in Redis: key layout and the server-side scripts that change it atomically.
//!
//! Keys of event `E` (all carry the hash tag `{evt:E}`, so one event lives in one Cluster
//! slot and every script below touches one slot):
//!
//! | key | type | holds |
//! |---|---|---|
//! | `q:{evt:E}:wait` | zset | waiting fans by order key: lottery rank `1..L`, then `10^12 + n` for the n-th FIFO arrival |
//! | `q:{evt:E}:pre` | zset | presale fans by join time (ms), until the draw |
//! | `q:{evt:E}:seq` | string | FIFO arrivals so far |
//! | `q:{evt:E}:adm` | zset | admitted fans by admission expiry (ms): the cap counts these |
//! | `q:{evt:E}:tok` | hash | admitted fan -> `jti|expiry_ms` |
//! | `adm:{evt:E}:<jti>` | string | the admission record the gateway checks (value: fan, TTL: the token's) |
//! | `q:{evt:E}:alive` | zset | waiting fan -> last sign of life (ms) |
//! | `q:{evt:E}:out` | hash | fan -> why they left the line (`expired`, `abandoned`, `left`, `revoked`, `booked`) |
//! | `q:{evt:E}:clock` | zset | every 100th FIFO number -> `n:join_ms`, to tell the oldest wait |
//! | `q:{evt:E}:meta` | hash | `serving`, `lottery`, `drawn`, `paused`, `rate`, `capacity`, token bucket, counters |
//!
//! A fan's *number* is dense: lottery fans are `1..L`, the n-th FIFO arrival is `L + n`.
//! `serving` is the number of the last fan taken from the head, so a fan's position is about
//! `number - serving` (fans who left ahead make it an overestimate; an exact `ZRANK` corrects
//! it now and then). Fans are spelled as 32 hex digits (their user id).

use std::sync::LazyLock;

use fred::{prelude::Pool, types::scripts::Script};

use crate::redis::Keys;

/// Order keys at or above this are FIFO arrivals; below it, lottery ranks.
pub const FIFO_BASE: i64 = 1_000_000_000_000;

/// Every key of one event's queue.
#[derive(Clone, Debug)]
pub struct QueueKeys {
    pub wait: String,
    pub pre: String,
    pub seq: String,
    pub adm: String,
    pub tok: String,
    pub alive: String,
    pub out: String,
    pub clock: String,
    pub meta: String,
    /// Pub/sub channel of the event's queue updates.
    pub channel: String,
    /// Prefix of admission record keys (`...adm:{evt:E}:`).
    pub admission_prefix: String,
}

impl QueueKeys {
    pub fn new(keys: &Keys, event: i64) -> Self {
        let base = keys.event(event, "q");
        let key = |suffix: &str| format!("{base}:{suffix}");
        Self {
            wait: key("wait"),
            pre: key("pre"),
            seq: key("seq"),
            adm: key("adm"),
            tok: key("tok"),
            alive: key("alive"),
            out: key("out"),
            clock: key("clock"),
            meta: key("meta"),
            channel: key("events"),
            admission_prefix: tokens::admission_key(keys.prefix(), event, ""),
        }
    }

    /// The keys of [`JOIN`], in its order.
    pub fn join_keys(&self) -> Vec<String> {
        [
            &self.wait,
            &self.pre,
            &self.seq,
            &self.meta,
            &self.adm,
            &self.tok,
            &self.alive,
            &self.out,
            &self.clock,
        ]
        .map(String::clone)
        .to_vec()
    }
}

/// The current milliseconds from Redis's clock: every instance shares it.
const NOW_MS: &str = "local t = redis.call('TIME')\nlocal now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n";

/// Reports a fan's state with an exact rank, and the event's counters. Expects locals
/// `now`, `fan`, `new` and the key names `kw kp ka kt km ko` (wait pre adm tok meta out).
/// Replies {state, score, rank, detail, serving, lottery, drawn, paused, rate, presale, new}.
const STATUS_BODY: &str = r"
local m = redis.call('HMGET', km, 'serving', 'lottery', 'drawn', 'paused', 'rate')
local presale = redis.call('ZCARD', kp)
local function reply(state, score, rank, detail)
  return {state, score, rank, detail, m[1] or '0', m[2] or '0', m[3] or '0', m[4] or '0', m[5] or '', presale, new}
end
local exp = redis.call('ZSCORE', ka, fan)
if exp and tonumber(exp) > now then
  return reply('ADMITTED', exp, -1, redis.call('HGET', kt, fan) or '')
end
local s = redis.call('ZSCORE', kw, fan)
if s then return reply('WAITING', s, redis.call('ZRANK', kw, fan), '') end
s = redis.call('ZSCORE', kp, fan)
if s then return reply('PRESALE', s, -1, '') end
local out = redis.call('HGET', ko, fan)
if exp then out = 'expired' end
return reply('OUT', '0', -1, out or '')
";

/// Join, then report as [`STATUS`] does: the same fan (any number of tabs) gets the same
/// place back; a new fan goes to presale (before opening, before the draw) or takes the next
/// FIFO number. An admission that ran out is cleared so the fan can queue again.
/// KEYS: wait pre seq meta adm tok alive out clock. ARGV: fan opens_ms.
pub static JOIN: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(format!(
        "{NOW_MS}{}{STATUS_BODY}",
        r"
local fan = ARGV[1]
local new = 0
local kw, kp, ka, kt, km, ko = KEYS[1], KEYS[2], KEYS[5], KEYS[6], KEYS[4], KEYS[8]
local held = redis.call('ZSCORE', ka, fan)
if held and tonumber(held) <= now then
  redis.call('ZREM', ka, fan)
  redis.call('HDEL', kt, fan)
  held = false
end
if not held then
  redis.call('ZADD', KEYS[7], now, fan)
  if not redis.call('ZSCORE', kw, fan) and not redis.call('ZSCORE', kp, fan) then
    new = 1
    redis.call('HDEL', ko, fan)
    if redis.call('HGET', km, 'drawn') ~= '1' and now < tonumber(ARGV[2]) then
      redis.call('ZADD', kp, now, fan)
    else
      local seq = redis.call('INCR', KEYS[3])
      redis.call('ZADD', kw, 1000000000000 + seq, fan)
      if seq % 100 == 1 then redis.call('ZADD', KEYS[9], seq, seq .. ':' .. now) end
    end
  end
end
"
    ))
});

/// Leave the line or end an admission, recording why.
/// KEYS: wait pre adm tok out alive. ARGV: fan reason admission_prefix.
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
  if jti then redis.call('DEL', ARGV[3] .. jti) end
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
/// recent sign of life. Atomic, so two tickers can never exceed the cap between them.
/// KEYS: wait adm tok alive meta out.
/// ARGV: opens_ms default_rate default_capacity ttl_ms abandon_ms admission_prefix scan_limit jti...
/// Returns {code (OK|PAUSED|PRESALE|NEEDS_DRAW), serving, expired, skipped, "fan|jti|exp|number"...}.
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
local m = redis.call('HMGET', KEYS[5], 'drawn', 'paused', 'rate', 'capacity', 'bucket', 'bucket_at', 'serving', 'lottery')
local serving = m[7] or '0'
if m[1] ~= '1' then
  if now < tonumber(ARGV[1]) then return {'PRESALE', serving, #gone, 0} end
  return {'NEEDS_DRAW', serving, #gone, 0}
end
if m[2] == '1' then
  redis.call('HSET', KEYS[5], 'bucket_at', now)
  return {'PAUSED', serving, #gone, 0}
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
if skipped > 0 then redis.call('HINCRBY', KEYS[5], 'abandoned', skipped) end
if #admitted > 0 then redis.call('HINCRBY', KEYS[5], 'admitted_total', #admitted) end
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

/// Runs a script on the pool's next client, loading it first where Redis lacks it.
pub async fn run<R: fred::types::FromValue>(
    redis: &Pool,
    script: &Script,
    keys: Vec<String>,
    args: Vec<String>,
) -> Result<R, fred::error::Error> {
    script.evalsha_with_reload(redis.next(), keys, args).await
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

    #[test]
    fn every_key_of_an_event_carries_its_hash_tag() {
        let keys = QueueKeys::new(&Keys::new("t:"), 42);
        for key in [
            &keys.wait,
            &keys.pre,
            &keys.seq,
            &keys.adm,
            &keys.tok,
            &keys.alive,
            &keys.out,
            &keys.clock,
            &keys.meta,
            &keys.admission_prefix,
        ] {
            assert!(key.contains("{evt:42}"), "{key}");
            assert!(key.starts_with("t:"), "{key}");
        }
    }
}
