//! The stores' contract: every Redis key the parts share, in one table, and the queue's join
//! script. The API writes these keys, the gateway reads admissions and gates, and the load
//! tests sample and audit them; all three name keys through [`Keys`], so a change of layout
//! is made here once.
//!
//! Every key of an event carries the hash tag `{evt:E}`, so one event lives in one Redis
//! Cluster slot and every multi-key script touches one slot. The configured prefix comes
//! first, outside the tag, so tests can share one Redis without colliding.
//!
//! | key | type | holds | written by |
//! |---|---|---|---|
//! | `q:{evt:E}:wait` | zset | waiting fans by order key: lottery rank `1..L`, then `10^12 + n` for the n-th FIFO arrival | queue scripts |
//! | `q:{evt:E}:pre` | zset | presale fans by join time (ms), until the draw | queue scripts |
//! | `q:{evt:E}:seq` | string | FIFO arrivals so far | queue scripts |
//! | `q:{evt:E}:adm` | zset | admitted fans by admission expiry (ms): the cap counts these | queue scripts |
//! | `q:{evt:E}:tok` | hash | admitted fan -> `jti|expiry_ms` | queue scripts |
//! | `q:{evt:E}:alive` | zset | waiting fan -> last sign of life (ms) | queue scripts, hub heartbeats |
//! | `q:{evt:E}:out` | hash | fan -> why they left the line (`expired`, `abandoned`, `left`, `revoked`, `booked`) | queue scripts |
//! | `q:{evt:E}:clock` | zset | every 100th FIFO number -> `n:join_ms`, to tell the oldest wait | queue scripts |
//! | `q:{evt:E}:meta` | hash | `serving`, `lottery`, `drawn`, `paused`, `rate`, `capacity` (the limits in force), token bucket, counters, `achieved` (admissions per second lately, smoothed) | queue scripts, admin, autopilot |
//! | `q:{evt:E}:events` | channel | the ticker's queue updates | ticker |
//! | `adm:{evt:E}:<jti>` | string | the admission record the gateway checks (value: fan, TTL: the token's) | admit script |
//! | `gate:{evt:E}` | string | `1` while the event's gate is on, `0` when off (absent: on) | API |
//! | `seats:{evt:E}:seq` | string | the event's last seat-change sequence number | seat publish script |
//! | `seats:{evt:E}:changes` | channel | committed seat changes and ended admissions | API |
//! | `ap:{evt:E}` | hash | the event's autopilot: `mode` (`AUTO`, `PINNED`), bounds (`min_rate`, `max_rate`, `min_capacity`, `max_capacity`; absent: configured), `reason` (of the last change), `status` (the latest decision that held), `changed_ms`, `version` (compare-and-set) | autopilot, admin |
//! | `sale:health` | hash | API instance id -> its last sale-health window (JSON with `at_ms`; stale entries are dropped by readers, the key expires when no instance reports) | every API instance |
//! | `login:<hash>` | string | failed sign-ins of one account (hashed email) | API |
//!
//! Fans are spelled one way everywhere: see [`fan_id`].

/// Builds key names under one deployment's prefix.
#[derive(Clone, Debug)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    /// The prefix itself (tests delete everything under it).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// A key of one event: `<prefix><kind>:{evt:<id>}`.
    pub fn event(&self, event: i64, kind: &str) -> String {
        format!("{}{kind}:{{evt:{event}}}", self.prefix)
    }

    /// A key that belongs to no event (sign-in throttles).
    pub fn global(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// Every key of one event's queue.
    pub fn queue(&self, event: i64) -> QueueKeys {
        QueueKeys::new(self, event)
    }

    /// The keys of one event's live seat changes.
    pub fn seats(&self, event: i64) -> SeatKeys {
        let base = self.event(event, "seats");
        SeatKeys {
            seq: format!("{base}:seq"),
            channel: format!("{base}:changes"),
        }
    }

    /// The record of one admission: present (with the token's TTL) while it is valid. Its
    /// value is the admitted fan's [`fan_id`].
    pub fn admission(&self, event: i64, jti: &str) -> String {
        format!("{}{jti}", self.admission_prefix(event))
    }

    /// What every admission record key of an event starts with (scripts append the jti).
    pub fn admission_prefix(&self, event: i64) -> String {
        format!("{}:", self.event(event, "adm"))
    }

    /// Holds `1` when an event's gate is on and `0` when off (absent: on).
    pub fn gate(&self, event: i64) -> String {
        self.event(event, "gate")
    }

    /// The autopilot of one event: its mode, bounds and last decision.
    pub fn autopilot(&self, event: i64) -> String {
        self.event(event, "ap")
    }

    /// Every API instance's last window of sale health (one hash: read in one call).
    pub fn sale_health(&self) -> String {
        self.global("sale:health")
    }

    /// Failed sign-ins of one account, by a digest of its email (never the email itself).
    pub fn login_throttle(&self, email_digest: &str) -> String {
        self.global(&format!("login:{email_digest}"))
    }
}

/// Every key of one event's queue (see the table above).
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
            admission_prefix: keys.admission_prefix(event),
        }
    }

    /// The keys of [`JOIN_SCRIPT`], in its order.
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

/// The keys of one event's live seat changes.
#[derive(Clone, Debug)]
pub struct SeatKeys {
    /// The last sequence number taken.
    pub seq: String,
    /// Where changes (and ended admissions) are published.
    pub channel: String,
}

/// Order keys at or above this are FIFO arrivals; below it, lottery ranks.
pub const FIFO_BASE: i64 = 1_000_000_000_000;

/// The current milliseconds from Redis's clock: every instance shares it.
pub const NOW_MS: &str = "local t = redis.call('TIME')\nlocal now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n";

/// Reports a fan's state with an exact rank, and the event's counters. Expects locals
/// `now`, `fan`, `new` and the key names `kw kp ka kt km ko` (wait pre adm tok meta out).
/// Replies {state, score, rank, detail, serving, lottery, drawn, paused, rate, presale, new,
/// achieved, supply, eta} (`achieved`: admissions per second lately, empty before any; `supply`:
/// empty while seats are free, `carts` when every unsold seat is in a fan's cart, `sold_out`;
/// `eta`: the forecast pace `at_ms|slow|likely|fast`, empty before the first).
pub const STATUS_BODY: &str = r"
local m = redis.call('HMGET', km, 'serving', 'lottery', 'drawn', 'paused', 'rate', 'achieved', 'supply', 'eta')
local presale = redis.call('ZCARD', kp)
local function reply(state, score, rank, detail)
  return {state, score, rank, detail, m[1] or '0', m[2] or '0', m[3] or '0', m[4] or '0', m[5] or '', presale, new, m[6] or '', m[7] or '', m[8] or ''}
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

/// The body of the join script (after [`NOW_MS`], before [`STATUS_BODY`]): the same fan
/// (any number of tabs) gets the same place back; a new fan goes to presale (before opening,
/// before the draw) or takes the next FIFO number. An admission that ran out is cleared so
/// the fan can queue again. KEYS: [`QueueKeys::join_keys`]. ARGV: fan opens_ms.
pub const JOIN_BODY: &str = r"
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
";

/// The whole join script, as Redis runs it (benchmarks call it with `EVALSHA`).
pub fn join_script() -> String {
    format!("{NOW_MS}{JOIN_BODY}{STATUS_BODY}")
}

/// The one spelling of a fan in every store and in admission tokens: the user id as 32
/// lower-case hex digits (queue members, admission records, an admission token's `sub`, the
/// gateway's `x-fan-id`). The compact form, because a rush keeps millions of them in Redis.
pub fn fan_id(user: &uuid::Uuid) -> String {
    user.simple().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_of_an_event_carries_its_hash_tag_after_the_prefix() {
        let keys = Keys::new("t:");
        let queue = keys.queue(42);
        let seats = keys.seats(42);
        for key in [
            &queue.wait,
            &queue.pre,
            &queue.seq,
            &queue.adm,
            &queue.tok,
            &queue.alive,
            &queue.out,
            &queue.clock,
            &queue.meta,
            &queue.channel,
            &queue.admission_prefix,
            &seats.seq,
            &seats.channel,
            &keys.gate(42),
            &keys.admission(42, "j1"),
            &keys.autopilot(42),
        ] {
            assert!(key.contains("{evt:42}"), "{key}");
            assert!(key.starts_with("t:"), "{key}");
        }
    }

    #[test]
    fn keys_keep_the_layout_other_parts_already_read() {
        let keys = Keys::new("p:");
        assert_eq!(keys.event(7, "q"), "p:q:{evt:7}");
        assert_eq!(keys.admission(7, "abc"), "p:adm:{evt:7}:abc");
        assert_eq!(keys.gate(7), "p:gate:{evt:7}");
        assert_eq!(keys.queue(7).wait, "p:q:{evt:7}:wait");
        assert_eq!(keys.seats(7).channel, "p:seats:{evt:7}:changes");
        assert_eq!(keys.login_throttle("ab"), "p:login:ab");
        assert_eq!(keys.autopilot(7), "p:ap:{evt:7}");
        assert_eq!(keys.sale_health(), "p:sale:health");
    }

    #[test]
    fn a_fan_has_one_spelling_whatever_the_input_spelling() {
        let user =
            uuid::Uuid::parse_str("0190A3C4-0000-7000-8000-00000000002A").unwrap_or_default();
        assert_eq!(fan_id(&user), "0190a3c400007000800000000000002a");
    }
}
