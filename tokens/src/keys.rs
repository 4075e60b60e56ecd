//! Redis keys the API writes and the gateway reads, spelled in one place so the two agree.
//!
//! Every key of an event carries the `{evt:N}` hash tag, so in a Redis cluster an event's
//! keys share a slot.

/// Redis key of an admission's record: present (with the token's TTL) while it is valid.
/// Its value is the fan's user id as 32 hex digits without hyphens (the queue's spelling;
/// the token's `sub` is the hyphenated form of the same id).
pub fn admission_key(prefix: &str, event: i64, jti: &str) -> String {
    format!("{prefix}adm:{{evt:{event}}}:{jti}")
}

/// Redis key holding `1` when an event's gate is on and `0` when off (absent: on).
pub fn gate_key(prefix: &str, event: i64) -> String {
    format!("{prefix}gate:{{evt:{event}}}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admission_keys_carry_the_event_hash_tag() {
        assert_eq!(admission_key("tix:", 42, "abc"), "tix:adm:{evt:42}:abc");
        assert_eq!(gate_key("tix:", 42), "tix:gate:{evt:42}");
    }
}
