//! Building and running one API instance: bind first (so port 0 works), then connect, then
//! serve until told to stop.

use std::{future::Future, net::SocketAddr, time::Duration};

use anyhow::Context as _;
use tokio::net::TcpListener;

use secrecy::ExposeSecret as _;
use tokens::Keyring;

use tokens::store::Keys;

use crate::{config::Config, db, http, live, queue, redis, state::AppState, sweeper};

/// Parses both keyrings, warning when a development key is in use.
fn keyrings(config: &Config) -> anyhow::Result<(Keyring, Keyring)> {
    let access = config.access_token_keys.expose_secret();
    let admission = config.admission_token_keys.expose_secret();
    if access == crate::config::DEV_ACCESS_KEYS || admission == tokens::DEV_ADMISSION_KEYS {
        tracing::warn!(
            "running with development token keys: set ACCESS_TOKEN_KEYS and ADMISSION_TOKEN_KEYS in production"
        );
    }
    if config.webhook_secret.expose_secret() == crate::config::DEV_WEBHOOK_SECRET {
        tracing::warn!(
            "running with the development webhook secret: set WEBHOOK_SECRET in production"
        );
    }
    Ok((
        Keyring::parse(access).context("ACCESS_TOKEN_KEYS")?,
        Keyring::parse(admission).context("ADMISSION_TOKEN_KEYS")?,
    ))
}

/// A built instance, ready to serve.
pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    /// Binds the listener and connects to Postgres and Redis. Does not migrate.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(config.bind)
            .await
            .with_context(|| format!("binding {}", config.bind))?;
        let keyrings = keyrings(&config)?;
        http::check_origins(&config.cors_allowed_origins)?;
        let queries = db::QueryCounter::default();
        let db = db::connect_counted(&config, &queries).await?;
        let redis = redis::connect(&config).await?;
        let subscriber = redis::connect_subscriber(&config).await?;
        let heartbeat = Duration::from_secs((config.queue_abandon_after_secs / 3).clamp(1, 10));
        let hub = live::queue::start(
            Keys::new(config.redis_key_prefix.clone()),
            redis.clone(),
            subscriber.clone(),
            heartbeat,
        );
        let seat_hub = live::seats::start(
            Keys::new(config.redis_key_prefix.clone()),
            subscriber,
            Duration::from_millis(config.seat_batch_ms.max(1)),
        );
        Ok(Self {
            listener,
            state: AppState::new(config, db, queries, redis, keyrings, (hub, seat_hub)),
        })
    }

    /// The address actually bound (the real port when configured with port 0).
    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        self.listener
            .local_addr()
            .context("reading the bound address")
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then lets requests in flight finish for up to the
    /// configured grace period.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let grace = Duration::from_secs(self.state.config().shutdown_grace_secs);
        let (stopping_tx, mut stopping_rx) = tokio::sync::watch::channel(false);
        let router = http::router(&self.state);
        let (workers_tx, workers_rx) = tokio::sync::watch::channel(false);
        let reporter = self.state.config().autopilot_enabled.then(|| {
            tokio::spawn(crate::autopilot::report::run(
                self.state.clone(),
                workers_rx.clone(),
            ))
        });
        let ticker = self.state.config().workers_enabled.then(|| {
            (
                tokio::spawn(queue::ticker::run(self.state.clone(), workers_rx.clone())),
                tokio::spawn(sweeper::run(self.state.clone(), workers_rx)),
            )
        });
        let server = axum::serve(
            self.listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down: finishing requests in flight");
            let _ = stopping_tx.send(true);
        });
        let deadline = async move {
            let _ = stopping_rx.wait_for(|stopping| *stopping).await;
            tokio::time::sleep(grace).await;
        };
        tokio::select! {
            served = server => served.context("serving HTTP")?,
            () = deadline => tracing::warn!(grace_secs = grace.as_secs(), "grace period over; closing the rest"),
        }
        let _ = workers_tx.send(true);
        if let Some((ticker, expiry)) = ticker {
            let _ = ticker.await;
            let _ = expiry.await;
        }
        if let Some(reporter) = reporter {
            let _ = reporter.await;
        }
        self.state.queue_hub().stop().await;
        self.state.db().clone().close().await.ok();
        Ok(())
    }
}

/// Completes on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
