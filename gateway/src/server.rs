//! Assembly: the Pingora server with its services (the capped proxy listener, upstream
//! health checks, limiter housekeeping, the drain watch), built from a [`Config`].

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use pingora::{
    apps::{HttpServerApp, ReusedHttpStream, ServerApp},
    http::RequestHeader,
    lb::{Backend, LoadBalancer, health_check::HttpHealthCheck, selection::RoundRobin},
    protocols::{Stream, http::ServerSession},
    proxy::{HttpProxy, http_proxy},
    server::{Server, ShutdownWatch, configuration::ServerConf},
    services::{
        background::{BackgroundService, background_service},
        listening::Service,
    },
    upstreams::peer::PeerOptions,
};
use tokens::Keyring;
use tokio::{io::AsyncWriteExt as _, sync::Semaphore};

use crate::{
    config::Config,
    error::{Code, GatewayError},
    limits::Limits,
    metrics::Metrics,
    proxy::{Gateway, Settings},
    store::Store,
    upgrade::{self, Drain, DrainWatch, Listener},
    verified::VerifiedTokens,
};

/// Builds the server; [`Server::run`] then serves until SIGTERM (graceful), SIGINT, or
/// SIGQUIT (hand the listener to a new process; see [`upgrade`]).
///
/// With [`Listener::TakeOver`] this blocks until the running gateway sends its listening
/// socket, and Pingora ends the process (status 1) if none comes within about 6 s.
pub fn build(config: &Config, listener: Listener) -> Result<Server, GatewayError> {
    if listener == Listener::TakeOver {
        upgrade::check_takeover(config)?;
    }
    let keyring = Keyring::parse(config.admission_token_keys.expose())?;
    if config.admission_token_keys.expose() == tokens::DEV_ADMISSION_KEYS {
        tracing::warn!("ADMISSION_TOKEN_KEYS is not set: using the development keys");
    }
    let metrics =
        Metrics::new().map_err(|error| GatewayError::server("metrics registry", error))?;
    let store = Store::connect(config, metrics.clone())?;
    let limits = Limits::new(
        config.public_rate_per_sec,
        config.public_burst,
        config.sale_rate_per_sec,
        config.sale_burst,
    );

    let mut conf = ServerConf {
        threads: config.threads,
        work_stealing: config.work_stealing,
        grace_period_seconds: Some(config.grace_period_secs),
        graceful_shutdown_timeout_seconds: Some(config.graceful_shutdown_timeout_secs),
        upstream_keepalive_pool_size: config.upstream_keepalive_pool,
        upgrade_sock: config.upgrade_sock.clone(),
        ..ServerConf::default()
    };
    // Our own retry policy decides; this is only Pingora's fail-safe ceiling.
    conf.max_retries = config.retries + 2;
    let mut server = Server::new_with_opt_and_conf(listener.pingora_options(), conf);
    if listener == Listener::TakeOver {
        // Said before the wait: if nothing comes, Pingora exits the process without a word
        // this logger is sure to write.
        tracing::info!(
            upgrade_sock = %config.upgrade_sock,
            "taking over the running gateway's listening socket: send it SIGQUIT now; without \
             an answer within about 6 s this process exits with status 1"
        );
    }
    server.bootstrap();
    if listener == Listener::TakeOver {
        tracing::info!("received the listening socket of the running gateway");
    }
    let drain = Drain::default();
    server.add_service(background_service(
        "drain watch",
        DrainWatch::new(&server, drain.clone()),
    ));

    let health = background_service("upstream health checks", balancer(config)?);
    let balancer = health.task();
    server.add_service(health);

    let mut peer_options = PeerOptions::new();
    peer_options.connection_timeout =
        Some(Duration::from_millis(config.upstream_connect_timeout_ms));
    peer_options.total_connection_timeout =
        Some(Duration::from_millis(config.upstream_connect_timeout_ms));
    peer_options.read_timeout = Some(Duration::from_millis(config.upstream_read_timeout_ms));
    peer_options.write_timeout = Some(Duration::from_millis(config.upstream_read_timeout_ms));
    // Below hyper's and axum's defaults, so the gateway drops an idle pooled connection
    // before the API does and never writes into one the API just closed.
    peer_options.idle_timeout = Some(Duration::from_secs(30));
    let gateway = Gateway::new(
        VerifiedTokens::new(
            keyring,
            config.verified_token_cache_capacity,
            metrics.clone(),
        ),
        store,
        limits.clone(),
        metrics.clone(),
        balancer,
        &peer_options,
        Settings {
            queue_path: config.queue_path.clone(),
            max_body_bytes: config.max_body_bytes,
            idle_timeout_secs: config.idle_timeout_secs,
            client_io_timeout: Duration::from_millis(config.client_io_timeout_ms),
            websocket_idle_timeout: Duration::from_secs(config.websocket_idle_timeout_secs),
            retries: config.retries,
            access_log: config.access_log,
            metrics_allow: config.metrics_networks()?,
            allowed_origins: config.allowed_origins()?,
            drain: drain.clone(),
        },
    );
    let front = Front {
        proxy: Arc::new(http_proxy(&server.configuration, gateway)),
        connections: Arc::new(Semaphore::new(config.max_connections)),
        header_timeout_secs: config.header_timeout_secs,
        metrics,
        drain,
    };
    let mut service = Service::new("gateway".to_owned(), front);
    service.threads = Some(config.threads);
    service.add_tcp(&config.listen);
    server.add_service(service);
    server.add_service(background_service(
        "rate limit housekeeping",
        Housekeeping { limits },
    ));
    Ok(server)
}

/// The API instances, checked with `GET /healthz`: two failed checks in a row take an
/// instance out (one slow answer from a busy instance must not empty the rotation under
/// load), one passed check brings it back; with the default 500 ms interval and timeout a
/// dead instance (its port refuses at once) leaves rotation within about a second.
fn balancer(config: &Config) -> Result<LoadBalancer<RoundRobin>, GatewayError> {
    let mut balancer = LoadBalancer::<RoundRobin>::try_from_iter(config.upstreams.iter())
        .map_err(GatewayError::Upstreams)?;
    let mut check = HttpHealthCheck::new("gateway-health-check", false);
    let mut request = RequestHeader::build("GET", b"/healthz", None)
        .map_err(|error| GatewayError::server("health check request", error))?;
    request
        .append_header("Host", "gateway-health-check")
        .map_err(|error| GatewayError::server("health check request", error))?;
    check.req = request;
    let timeout = Duration::from_millis(config.health_check_timeout_ms);
    check.peer_template.options.connection_timeout = Some(timeout);
    check.peer_template.options.read_timeout = Some(timeout);
    check.consecutive_failure = 2;
    check.consecutive_success = 1;
    check.health_changed_callback = Some(Box::new(HealthLog));
    balancer.set_health_check(Box::new(check));
    balancer.health_check_frequency = Some(Duration::from_millis(config.health_check_interval_ms));
    // One slow instance must not delay noticing another's death.
    balancer.parallel_health_check = true;
    Ok(balancer)
}

/// Logs every change of an instance's health, once, where it is noticed.
struct HealthLog;

#[async_trait]
impl pingora::lb::health_check::HealthObserve for HealthLog {
    async fn observe(&self, target: &Backend, healthy: bool) {
        if healthy {
            tracing::info!(upstream = %target.addr, "API instance is healthy: in rotation");
        } else {
            tracing::warn!(upstream = %target.addr, "API instance failed its health check: out of rotation");
        }
    }
}

/// The listener's application: the proxy behind a cap on concurrent connections, with a
/// header timeout on new connections.
///
/// Pingora's own HTTP/1 loop waits 60 s for a new connection's first request; this one waits
/// `header_timeout_secs` (per read), and the proxy switches to the idle timeout once headers
/// arrive. HTTP/2 cleartext is not offered: browsers speak HTTP/1.1 (and WebSocket) to us.
struct Front {
    proxy: Arc<HttpProxy<Gateway>>,
    connections: Arc<Semaphore>,
    header_timeout_secs: u64,
    metrics: Metrics,
    drain: Drain,
}

/// Answer to a connection over the cap, written raw: no HTTP session is set up for it.
fn busy_response() -> Vec<u8> {
    let body = Code::GatewayBusy.body("/graphql", None);
    let retry_after = Code::GatewayBusy.retry_after_secs().unwrap_or(1);
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nretry-after: {retry_after}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[async_trait]
impl ServerApp for Front {
    async fn process_new(
        self: &Arc<Self>,
        mut stream: Stream,
        shutdown: &ShutdownWatch,
    ) -> Option<Stream> {
        let Ok(_permit) = self.connections.clone().try_acquire_owned() else {
            self.metrics.connections_refused.inc();
            let _ = stream.write_all(&busy_response()).await;
            let _ = stream.flush().await;
            return None;
        };
        self.metrics.connections_active.inc();
        let _active = ActiveGuard(&self.metrics);
        let _open = self.drain.connection();
        let mut session = ServerSession::new_http1(stream);
        if *shutdown.borrow() {
            session.set_keepalive(None);
        } else {
            session.set_keepalive(Some(self.header_timeout_secs));
        }
        let mut reused = self.proxy.process_new_http(session, shutdown).await;
        while let Some((stream, settings)) = reused.map(ReusedHttpStream::consume) {
            let mut session = ServerSession::new_http1(stream);
            if let Some(settings) = settings {
                settings.apply_to_session(&mut session);
            }
            reused = self.proxy.process_new_http(session, shutdown).await;
        }
        None
    }

    /// Runs once the listener stopped accepting. Pingora's own cleanup closes at once every
    /// connection waiting for a request; we let them end by themselves first (see
    /// [`Drain::connections_closed`]), so its cleanup only ever finds none.
    async fn cleanup(&self) {
        self.drain.connections_closed().await;
        self.proxy.http_cleanup().await;
    }
}

/// Decrements the open-connections gauge however the connection ends.
struct ActiveGuard<'a>(&'a Metrics);

impl Drop for ActiveGuard<'_> {
    fn drop(&mut self) {
        self.0.connections_active.dec();
    }
}

/// Periodic chores: forgetting rate-limit keys that have recovered.
struct Housekeeping {
    limits: Limits,
}

#[async_trait]
impl BackgroundService for Housekeeping {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let mut tick = tokio::time::interval(Limits::FORGET_EVERY);
        loop {
            tokio::select! {
                _ = tick.tick() => self.limits.forget_idle(),
                _ = shutdown.changed() => return,
            }
        }
    }
}
