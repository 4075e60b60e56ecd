//! Connections to Redis: the command pool, the pub/sub subscriber, and running scripts. The
//! key layout is the stores' contract, [`tokens::store`], shared with the gateway and the
//! load tests.

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

/// Runs a script on the pool's next client, loading it first where Redis lacks it.
pub async fn run_script<R: fred::types::FromValue>(
    redis: &Pool,
    script: &fred::types::scripts::Script,
    keys: Vec<String>,
    args: Vec<String>,
) -> Result<R, fred::error::Error> {
    script.evalsha_with_reload(redis.next(), keys, args).await
}
