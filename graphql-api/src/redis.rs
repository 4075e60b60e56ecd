//! The Redis pool, and the key layout every part of the API shares.
//!
//! Every key of an event carries the hash tag `{evt:<id>}`, so all of an event's keys live
//! in one Redis Cluster slot and multi-key scripts stay atomic on a cluster. The configured
//! prefix comes first, outside the tag, so tests can share one Redis without colliding.

use anyhow::Context as _;
use fred::prelude::*;
use secrecy::ExposeSecret as _;

use crate::config::Config;

/// The client configuration from `REDIS_URL`.
fn redis_config(config: &Config) -> anyhow::Result<fred::prelude::Config> {
    let mut redis_config = fred::prelude::Config::from_url(config.redis_url.expose_secret())
        .context("REDIS_URL is not a valid Redis URL")?;
    // fred gives up for good when the very first connection fails (fail fast); an instance
    // that starts while Redis is away, or busy, must keep trying instead.
    redis_config.fail_fast = false;
    Ok(redis_config)
}

/// Opens a small pool: fred pipelines commands from many tasks over each connection.
///
/// An unreachable Redis does not stop the instance from starting: the pool keeps
/// reconnecting in the background and `/readyz` reports Redis as unreachable meanwhile.
pub async fn connect(config: &Config) -> anyhow::Result<Pool> {
    let redis_config = redis_config(config)?;
    let timeout = config.redis_command_timeout();
    let pool = Builder::from_config(redis_config)
        .with_performance_config(|performance| {
            // fred's defaults wait forever; a sale must fail fast instead.
            performance.default_command_timeout = timeout;
        })
        .with_connection_config(|connection| {
            connection.connection_timeout = timeout;
            connection.internal_command_timeout = timeout;
            // Bound the backlog while Redis is away, rather than growing without limit.
            connection.max_command_buffer_len = 50_000;
        })
        .set_policy(ReconnectPolicy::new_exponential(0, 100, 2_000, 2))
        .build_pool(4)
        .context("building the Redis pool")?;
    let _connections = pool.connect();
    match tokio::time::timeout(timeout, pool.wait_for_connect()).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            tracing::warn!(%error, "Redis is not reachable yet; retrying in the background")
        }
        Err(_) => tracing::warn!("Redis did not answer in time; retrying in the background"),
    }
    Ok(pool)
}

/// Opens the client that listens to pub/sub channels (a pool cannot subscribe). It
/// re-subscribes by itself after a reconnect.
pub async fn connect_subscriber(
    config: &Config,
) -> anyhow::Result<fred::clients::SubscriberClient> {
    let redis_config = redis_config(config)?;
    let timeout = config.redis_command_timeout();
    let subscriber = Builder::from_config(redis_config)
        .with_performance_config(|performance| {
            performance.default_command_timeout = timeout;
            // Messages arrive per event and tick, not per fan; a deep buffer absorbs bursts.
            performance.broadcast_channel_capacity = 4_096;
        })
        .with_connection_config(|connection| {
            connection.connection_timeout = timeout;
            connection.internal_command_timeout = timeout;
        })
        .set_policy(ReconnectPolicy::new_exponential(0, 100, 2_000, 2))
        .build_subscriber_client()
        .context("building the Redis subscriber")?;
    let _connection = subscriber.connect();
    let _ = tokio::time::timeout(timeout, subscriber.wait_for_connect()).await;
    // A detached task: it re-subscribes to every channel after each reconnect.
    let _resubscriber = subscriber.manage_subscriptions();
    Ok(subscriber)
}

/// Builds key names under this instance's prefix.
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

    /// A key of one event: `<prefix><kind>:{evt:<id>}[:<rest>]`.
    pub fn event(&self, event_id: i64, kind: &str) -> String {
        format!("{}{kind}:{{evt:{event_id}}}", self.prefix)
    }

    /// A key that belongs to no event (rate counters, login throttles).
    pub fn global(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_keys_carry_the_event_hash_tag_after_the_prefix() {
        let keys = Keys::new("t1:");
        assert_eq!(keys.event(42, "q"), "t1:q:{evt:42}");
        assert_eq!(keys.global("rl:ip"), "t1:rl:ip");
    }
}
