//! The proxy: one [`Gateway`] implementing Pingora's `ProxyHttp`.
//!
//! Per request: classify the path, answer `/healthz`, `/metrics` and CORS preflights directly,
//! refuse what the gate or the limits refuse (written in `request_filter`, so the client
//! connection stays alive), and forward the rest to a healthy API instance with the fan's
//! identity in headers the gateway owns.
//!
//! - [`answers`]: the responses the gateway writes itself.
//! - [`upstream`]: choosing an instance, retries, and failures after forwarding.
//! - [`request`]: what is read from the request (token, client address, length).

mod answers;
mod request;
mod upstream;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use async_trait::async_trait;
use bytes::Bytes;
use pingora::{
    ErrorType,
    http::RequestHeader,
    lb::{LoadBalancer, selection::RoundRobin},
    modules::http::HttpModules,
    prelude::HttpPeer,
    protocols::l4::socket::SocketAddr,
    proxy::{FailToProxy, ProxyHttp, Session},
};

use crate::{
    admission::{self, Admission, Decision, Fetched, RequestFacts},
    cors::{self, AllowedOrigins},
    error::Code,
    limits::{Limited, Limits},
    metrics::{Metrics, Outcome},
    routes::{self, Route},
    store::Store,
    upgrade::Drain,
    verified::VerifiedTokens,
};

/// Per-request settings taken from the configuration.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Where refusals send clients to join the queue.
    pub queue_path: String,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Idle time between requests on a kept-alive client connection, in seconds.
    pub idle_timeout_secs: u64,
    /// Time between reads of a body and between writes to the client.
    pub client_io_timeout: Duration,
    /// Idle time allowed on an upgraded (WebSocket) connection.
    pub websocket_idle_timeout: Duration,
    /// Extra attempts on other instances after a failure that is safe to retry.
    pub retries: usize,
    /// Write one access-log line per request.
    pub access_log: bool,
    /// Client networks that may read `/metrics`.
    pub metrics_allow: Vec<ipnet::IpNet>,
    /// Browser origins whose pages may call through the gateway.
    pub allowed_origins: AllowedOrigins,
    /// Set while this process is on its way out: answers then close their connection.
    pub drain: Drain,
}

/// The edge gate.
pub struct Gateway {
    verifier: VerifiedTokens,
    store: Store,
    limits: Limits,
    metrics: Metrics,
    balancer: Arc<LoadBalancer<RoundRobin>>,
    upstreams: Vec<upstream::Upstream>,
    settings: Settings,
}

/// What one request carries between Pingora's phases.
pub struct RequestCtx {
    started: Instant,
    route: Route,
    outcome: Outcome,
    /// The verified fan, on admitted sale requests.
    admission: Option<Admission>,
    body_bytes: usize,
    attempts: usize,
    /// Instances that failed this request: not chosen again for it.
    failed: Vec<SocketAddr>,
    /// Index into `upstreams` of the instance last chosen.
    upstream: Option<usize>,
}

impl Gateway {
    /// A gateway over these parts; `upstream_peer` builds each instance's peer from
    /// `peer_template` (timeouts and pool settings).
    pub fn new(
        verifier: VerifiedTokens,
        store: Store,
        limits: Limits,
        metrics: Metrics,
        balancer: Arc<LoadBalancer<RoundRobin>>,
        peer_template: &pingora::upstreams::peer::PeerOptions,
        settings: Settings,
    ) -> Self {
        let upstreams = upstream::upstreams(&balancer, peer_template);
        Self {
            verifier,
            store,
            limits,
            metrics,
            balancer,
            upstreams,
            settings,
        }
    }

    /// Decides a sale request: gate, token, record (fetched on a cache miss).
    async fn admit(&self, session: &mut Session, route: Route, event: i64) -> Decision {
        let gate = self.store.gate(event).await;
        let now = request::unix_now();
        let first = {
            let facts = RequestFacts {
                route,
                token: request::token_of(session.req_header()),
                gate,
            };
            admission::check(&facts, &self.verifier, now, &self.store)
        };
        let Decision::Lookup { event, jti } = first else {
            return first;
        };
        let record = self.store.fetch_record(event, &jti).await;
        let facts = RequestFacts {
            route,
            token: request::token_of(session.req_header()),
            gate,
        };
        admission::check(&facts, &self.verifier, now, &Fetched(record))
    }

    fn rate_limit_ip(&self, session: &Session) -> Result<(), Limited> {
        match request::client_ip(session) {
            Some(ip) => self.limits.check_public(ip),
            None => Ok(()),
        }
    }
}

#[async_trait]
impl ProxyHttp for Gateway {
    type CTX = RequestCtx;

    fn new_ctx(&self) -> Self::CTX {
        RequestCtx {
            started: Instant::now(),
            route: Route::Public,
            outcome: Outcome::Proxied,
            admission: None,
            body_bytes: 0,
            attempts: 0,
            failed: Vec::new(),
            upstream: None,
        }
    }

    fn init_downstream_modules(&self, _modules: &mut HttpModules) {
        // None: the API compresses its own answers, and every module costs per request.
    }

    async fn request_filter(
        &self,
        session: &mut Session,
        ctx: &mut Self::CTX,
    ) -> pingora::Result<bool> {
        ctx.started = Instant::now();
        // A new connection waited `header_timeout_secs` for these headers; from now on the
        // wait between requests is the idle timeout. A process on its way out closes the
        // connection after this answer instead, so the client's next request opens one to
        // whichever process holds the listener then (this also overrides Pingora's own
        // shutdown choice, so both cases are decided here).
        let keepalive =
            (!self.settings.drain.is_draining()).then_some(self.settings.idle_timeout_secs);
        session.set_keepalive(keepalive);
        let io_timeout = if session.is_upgrade_req() {
            self.settings.websocket_idle_timeout
        } else {
            self.settings.client_io_timeout
        };
        session.set_read_timeout(Some(io_timeout));
        session.set_write_timeout(Some(io_timeout));

        let request = session.req_header();
        ctx.route = routes::classify(request.uri.path());
        let declared = request::declared_length(request);
        match ctx.route {
            Route::Health => return self.answer_health(session, ctx).await,
            Route::Metrics => return self.answer_metrics(session, ctx).await,
            Route::Public | Route::Sale { .. } | Route::BadSale => {}
        }
        let event = match ctx.route {
            Route::Sale { event } => Some(event),
            _ => None,
        };
        if declared.is_some_and(|length| length > self.settings.max_body_bytes) {
            // Reading a huge body just to keep the connection is not worth it.
            session.set_keepalive(None);
            return self
                .refuse(session, ctx, Code::PayloadTooLarge, event, None)
                .await;
        }
        if cors::is_preflight(session.req_header()) {
            // A browser sends no credentials with a preflight, so the gate would refuse every
            // one on a sale route: the gateway answers them all itself, for any route kind,
            // but they still cost the client's IP its public allowance.
            if let Err(limited) = self.rate_limit_ip(session) {
                return self
                    .refuse(
                        session,
                        ctx,
                        Code::RateLimited,
                        event,
                        Some(limited.retry_after_secs),
                    )
                    .await;
            }
            return self.answer_preflight(session, ctx).await;
        }

        let decision = match ctx.route {
            Route::Sale { event } => self.admit(session, ctx.route, event).await,
            Route::BadSale => Decision::Refuse(Code::NotFound),
            _ => Decision::Pass,
        };
        let limited = match decision {
            Decision::Refuse(code) => {
                return self.refuse(session, ctx, code, event, None).await;
            }
            // `Fetched` always answers, so a second lookup cannot be asked for: fail closed.
            Decision::Lookup { .. } => {
                return self
                    .refuse(session, ctx, Code::GateUnavailable, event, None)
                    .await;
            }
            Decision::Pass => self.rate_limit_ip(session),
            Decision::Admit(admission) => {
                let limited = self.limits.check_sale(&admission.user);
                ctx.admission = Some(admission);
                limited
            }
        };
        match limited {
            Ok(()) => Ok(false),
            Err(limited) => {
                self.refuse(
                    session,
                    ctx,
                    Code::RateLimited,
                    event,
                    Some(limited.retry_after_secs),
                )
                .await
            }
        }
    }

    async fn request_body_filter(
        &self,
        _session: &mut Session,
        body: &mut Option<Bytes>,
        _end_of_stream: bool,
        ctx: &mut Self::CTX,
    ) -> pingora::Result<()> {
        // Chunked bodies declare no length: count them as they stream.
        if let Some(chunk) = body {
            ctx.body_bytes += chunk.len();
            if ctx.body_bytes > self.settings.max_body_bytes {
                return Err(pingora::Error::explain(
                    ErrorType::HTTPStatus(413),
                    "request body over max_body_bytes",
                ));
            }
        }
        Ok(())
    }

    async fn upstream_peer(
        &self,
        session: &mut Session,
        ctx: &mut Self::CTX,
    ) -> pingora::Result<Box<HttpPeer>> {
        self.choose_upstream(session, ctx)
    }

    async fn upstream_request_filter(
        &self,
        session: &mut Session,
        upstream_request: &mut RequestHeader,
        ctx: &mut Self::CTX,
    ) -> pingora::Result<()> {
        upstream::set_identity(session, upstream_request, ctx)
    }

    fn fail_to_connect(
        &self,
        _session: &mut Session,
        peer: &HttpPeer,
        ctx: &mut Self::CTX,
        e: Box<pingora::Error>,
    ) -> Box<pingora::Error> {
        self.after_connect_failure(peer, ctx, e)
    }

    fn error_while_proxy(
        &self,
        peer: &HttpPeer,
        session: &mut Session,
        e: Box<pingora::Error>,
        ctx: &mut Self::CTX,
        _client_reused: bool,
    ) -> Box<pingora::Error> {
        self.after_proxy_failure(peer, session, e, ctx)
    }

    async fn fail_to_proxy(
        &self,
        session: &mut Session,
        e: &pingora::Error,
        ctx: &mut Self::CTX,
    ) -> FailToProxy {
        self.answer_failure(session, e, ctx).await
    }

    async fn logging(
        &self,
        session: &mut Session,
        _e: Option<&pingora::Error>,
        ctx: &mut Self::CTX,
    ) {
        let elapsed = ctx.started.elapsed();
        self.metrics
            .record(ctx.route, ctx.outcome, elapsed.as_secs_f64());
        if !self.settings.access_log {
            return;
        }
        let request = session.req_header();
        let status = session
            .response_written()
            .map_or(0, |response| response.status.as_u16());
        let upstream = ctx
            .upstream
            .map_or("-", |index| self.upstreams[index].label.as_str());
        // No header is logged, and `redact` blanks a token passed in the query.
        tracing::info!(
            target: "access",
            method = %request.method,
            path = %routes::redact(request.uri.path(), request.uri.query()),
            status,
            route = ctx.route.label(),
            outcome = ctx.outcome.label(),
            duration_ms = elapsed.as_secs_f64() * 1e3,
            client = %request::client_ip(session).map_or_else(|| "-".to_owned(), |ip| ip.to_string()),
            upstream,
            fan = ctx.admission.as_ref().map_or("-", |admission| admission.user.as_str()),
            "request"
        );
    }

    fn request_summary(&self, session: &Session, _ctx: &Self::CTX) -> String {
        // Pingora's own error logs use this: never with a token in it.
        let request = session.req_header();
        format!(
            "{} {}",
            request.method,
            routes::redact(request.uri.path(), request.uri.query())
        )
    }
}
