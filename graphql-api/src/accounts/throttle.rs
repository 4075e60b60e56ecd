//! Slowing down repeated failed sign-ins for one account, in Redis so every instance agrees.
//!
//! Each attempt is counted *before* the password is checked (one atomic script), so many
//! parallel guesses cannot all slip past the check; a success clears the count. Past the
//! allowed failures, each further attempt locks the account for twice as long as the last,
//! up to 15 minutes.

use std::sync::LazyLock;

use fred::{
    prelude::{KeysInterface as _, Pool},
    types::scripts::Script,
};
use sha2::{Digest as _, Sha256};
use tokens::store::Keys;

use crate::error::{ApiError, ApiResult};

/// Counts an attempt; returns the seconds to wait if the account is locked.
const ATTEMPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1])
local locked = tonumber(redis.call('HGET', KEYS[1], 'locked_until') or '0')
if locked > now then return locked - now end
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
local max = tonumber(ARGV[1])
if attempts > max then
  local wait = math.floor(math.min(tonumber(ARGV[2]) * 2 ^ (attempts - max - 1), 900))
  redis.call('HSET', KEYS[1], 'locked_until', now + wait)
  redis.call('EXPIRE', KEYS[1], wait + 900)
  return wait
end
redis.call('EXPIRE', KEYS[1], 900)
return 0
";

/// Where one account's attempts are counted (the email is hashed: no addresses in Redis).
fn key(keys: &Keys, email: &str) -> String {
    let digest = Sha256::digest(email.trim().to_lowercase().as_bytes());
    keys.login_throttle(&hex::encode(&digest[..16]))
}

/// Counts an attempt, refusing with `LOGIN_THROTTLED` while the account is locked.
pub async fn attempt(
    redis: &Pool,
    keys: &Keys,
    email: &str,
    max_failures: u32,
    lock_secs: u64,
) -> ApiResult<()> {
    static SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::from_lua(ATTEMPT));
    let wait: i64 = SCRIPT
        .evalsha_with_reload(
            redis.next(),
            vec![key(keys, email)],
            vec![max_failures.to_string(), lock_secs.to_string()],
        )
        .await?;
    if wait > 0 {
        return Err(ApiError::LoginThrottled {
            retry_after_secs: wait as u64,
        });
    }
    Ok(())
}

/// Clears the count after a successful sign-in.
pub async fn succeeded(redis: &Pool, keys: &Keys, email: &str) -> ApiResult<()> {
    let _: i64 = redis.del(key(keys, email)).await?;
    Ok(())
}
