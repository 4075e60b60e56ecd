//! The proxy: one [`Gateway`] implementing Pingora's `ProxyHttp`.
//!
//! Per request: classify the path, answer `/healthz`, `/metrics` and CORS preflights directly,
//! refuse what the gate or the limits refuse (written in `request_filter`, so the client
//! connection stays alive), and forward the rest to a healthy API instance with the fan's
//! identity in headers the gateway owns. Retries: a failed connect is always retried on
//! another instance (nothing was sent); a failure after sending is retried only for
//! idempotent methods, so a POST mutation is never replayed.

use std::{
    net::IpAddr,
    sync::Arc,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use async_trait::async_trait;
use bytes::Bytes;
use pingora::{
    ErrorSource, ErrorType,
    http::{RequestHeader, ResponseHeader},
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
    verified::VerifiedTokens,
};

/// How long a refused request's unread body may take to drain before the connection closes.
const REFUSAL_DRAIN_TIMEOUT: Duration = Duration::from_secs(1);

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
}

/// One API instance: where the balancer's backend is, and its peer, built once.
struct Upstream {
    address: SocketAddr,
    label: String,
    /// Built once and cloned per request: cheaper than building a peer each time.
    peer: HttpPeer,
}

/// The edge gate.
pub struct Gateway {
    verifier: VerifiedTokens,
    store: Store,
    limits: Limits,
    metrics: Metrics,
    balancer: Arc<LoadBalancer<RoundRobin>>,
    upstreams: Vec<Upstream>,
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
        let upstreams = balancer
            .backends()
            .get_backend()
            .iter()
            .map(|backend| {
                let label = backend.addr.to_string();
                let mut peer = HttpPeer::new(&backend.addr, false, String::new());
                peer.options = peer_template.clone();
                Upstream {
                    address: backend.addr.clone(),
                    label,
                    peer,
                }
            })
            .collect();
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

    /// Refreshes the upstream-health gauges from the balancer's view.
    fn refresh_upstream_health(&self) {
        for backend in self.balancer.backends().get_backend().iter() {
            let healthy = self.balancer.backends().ready(backend);
            self.metrics
                .set_upstream_health(&backend.addr.to_string(), healthy);
        }
    }

    /// Decides a sale request: gate, token, record (fetched on a cache miss).
    async fn admit(&self, session: &mut Session, route: Route, event: i64) -> Decision {
        let gate = self.store.gate(event).await;
        let now = unix_now();
        let first = {
            let facts = RequestFacts {
                route,
                token: token_of(session.req_header()),
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
            token: token_of(session.req_header()),
            gate,
        };
        admission::check(&facts, &self.verifier, now, &Fetched(record))
    }

    async fn refuse(
        &self,
        session: &mut Session,
        ctx: &mut RequestCtx,
        code: Code,
        event: Option<i64>,
        retry_after: Option<u64>,
    ) -> pingora::Result<bool> {
        ctx.outcome = Outcome::Refused(code);
        if code != Code::PayloadTooLarge {
            keep_connection_through_unread_body(session);
        }
        let body = code.body(&self.settings.queue_path, event);
        // A browser app may read the code only if the answer says its origin may.
        let mut extra = self
            .settings
            .allowed_origins
            .refusal_headers(cors::origin_of(session.req_header()));
        if let Some(seconds) = retry_after {
            extra.push(("retry-after", seconds.to_string()));
        }
        write_response(
            session,
            code.status(),
            "application/json",
            body.into(),
            &extra,
        )
        .await?;
        Ok(true)
    }

    /// Answers a CORS preflight with 204, with the allow headers only for an allowed origin.
    async fn answer_preflight(
        &self,
        session: &mut Session,
        ctx: &mut RequestCtx,
    ) -> pingora::Result<bool> {
        ctx.outcome = Outcome::Preflight;
        keep_connection_through_unread_body(session);
        let headers = self
            .settings
            .allowed_origins
            .preflight_headers(cors::origin_of(session.req_header()));
        let mut header = ResponseHeader::build(204, Some(headers.len()))?;
        for (name, value) in headers {
            header.insert_header(name, value)?;
        }
        // Header, then the end of an empty body: keep-alive survives, as in `write_response`.
        session
            .write_response_header(Box::new(header), false)
            .await?;
        session.write_response_body(None, true).await?;
        Ok(true)
    }

    fn rate_limit_ip(&self, session: &Session) -> Result<(), Limited> {
        match client_ip(session) {
            Some(ip) => self.limits.check_public(ip),
            None => Ok(()),
        }
    }
}

/// The request's admission token, from the first source that has one.
fn token_of(request: &RequestHeader) -> Option<&str> {
    let authorization = request
        .headers
        .get("authorization")
        .and_then(|value| value.to_str().ok());
    let cookies = request
        .headers
        .get_all("cookie")
        .iter()
        .filter_map(|value| value.to_str().ok());
    routes::find_token(authorization, cookies, request.uri.query())
}

/// Lets a connection answered before its request body was read stay open.
///
/// Pingora closes such a connection; the bodies answered early here are small (their length
/// was checked), so draining them is cheaper than a new connection: early answers are the
/// path a flood of tokenless clients, or a browser's preflights, take.
fn keep_connection_through_unread_body(session: &mut Session) {
    session.set_close_on_response_before_downstream_finish(false);
    session.set_total_drain_timeout(Some(REFUSAL_DRAIN_TIMEOUT));
}

fn client_ip(session: &Session) -> Option<IpAddr> {
    session
        .client_addr()
        .and_then(SocketAddr::as_inet)
        .map(std::net::SocketAddr::ip)
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() as i64)
}

fn declared_length(request: &RequestHeader) -> Option<usize> {
    request
        .headers
        .get("content-length")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Writes a whole response: header then body, so keep-alive survives (Pingora's
/// `respond_error_with_body` closes the connection each time).
async fn write_response(
    session: &mut Session,
    status: u16,
    content_type: &str,
    body: Bytes,
    extra: &[(&'static str, String)],
) -> pingora::Result<()> {
    let mut header = ResponseHeader::build(status, Some(4 + extra.len()))?;
    header.insert_header("content-type", content_type)?;
    header.insert_header("content-length", body.len().to_string())?;
    header.insert_header("cache-control", "no-store")?;
    for (name, value) in extra {
        header.insert_header(*name, value.as_str())?;
    }
    session
        .write_response_header(Box::new(header), false)
        .await?;
    session.write_response_body(Some(body), true).await?;
    Ok(())
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
        // wait between requests is the idle timeout.
        session.set_keepalive(Some(self.settings.idle_timeout_secs));
        let io_timeout = if session.is_upgrade_req() {
            self.settings.websocket_idle_timeout
        } else {
            self.settings.client_io_timeout
        };
        session.set_read_timeout(Some(io_timeout));
        session.set_write_timeout(Some(io_timeout));

        let request = session.req_header();
        ctx.route = routes::classify(request.uri.path());
        let declared = declared_length(request);
        match ctx.route {
            Route::Health => {
                ctx.outcome = Outcome::Served;
                let body = Bytes::from_static(br#"{"status":"ok"}"#);
                write_response(session, 200, "application/json", body, &[]).await?;
                return Ok(true);
            }
            Route::Metrics => {
                let allowed = client_ip(session).is_some_and(|ip| {
                    self.settings
                        .metrics_allow
                        .iter()
                        .any(|net| net.contains(&ip))
                });
                if !allowed {
                    // As if there were no such page: operational data is not for the public.
                    return self.refuse(session, ctx, Code::NotFound, None, None).await;
                }
                ctx.outcome = Outcome::Served;
                self.refresh_upstream_health();
                let body = Bytes::from(self.metrics.render());
                let content_type = "text/plain; version=0.0.4; charset=utf-8";
                write_response(session, 200, content_type, body, &[]).await?;
                return Ok(true);
            }
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
        let failed = &ctx.failed;
        let backend = self
            .balancer
            .select_with(b"", 256, |backend, healthy| {
                healthy && !failed.contains(&backend.addr)
            })
            .ok_or_else(|| {
                ctx.outcome = Outcome::Refused(Code::NoUpstream);
                pingora::Error::explain(ErrorType::ConnectNoRoute, "no healthy API instance")
            })?;
        let index = self
            .upstreams
            .iter()
            .position(|upstream| upstream.address == backend.addr)
            .ok_or_else(|| {
                pingora::Error::explain(ErrorType::InternalError, "unknown backend selected")
            })?;
        ctx.upstream = Some(index);
        let mut peer = self.upstreams[index].peer.clone();
        if session.is_upgrade_req() {
            // A socket may be quiet between pings for longer than an HTTP answer may take.
            peer.options.read_timeout = Some(self.settings.websocket_idle_timeout);
            peer.options.write_timeout = Some(self.settings.websocket_idle_timeout);
        }
        Ok(Box::new(peer))
    }

    async fn upstream_request_filter(
        &self,
        session: &mut Session,
        upstream_request: &mut RequestHeader,
        ctx: &mut Self::CTX,
    ) -> pingora::Result<()> {
        // Identity headers are the gateway's alone: whatever a client sent is dropped.
        for name in tokens::headers::ALL {
            upstream_request.remove_header(*name);
        }
        if let Some(admission) = &ctx.admission {
            upstream_request.insert_header(tokens::headers::FAN_ID, admission.user.as_str())?;
            upstream_request
                .insert_header(tokens::headers::EVENT_ID, admission.event.to_string())?;
            upstream_request
                .insert_header(tokens::headers::ADMISSION_ID, admission.jti.as_str())?;
        }
        // The gateway is the edge: addresses claimed before it cannot be checked.
        if let Some(ip) = client_ip(session) {
            upstream_request.insert_header("x-forwarded-for", ip.to_string())?;
        }
        Ok(())
    }

    fn fail_to_connect(
        &self,
        _session: &mut Session,
        peer: &HttpPeer,
        ctx: &mut Self::CTX,
        mut e: Box<pingora::Error>,
    ) -> Box<pingora::Error> {
        ctx.failed.push(peer._address.clone());
        ctx.attempts += 1;
        // Nothing reached the instance, so another may take any request, POST included.
        e.set_retry(ctx.attempts <= self.settings.retries);
        e
    }

    fn error_while_proxy(
        &self,
        peer: &HttpPeer,
        session: &mut Session,
        e: Box<pingora::Error>,
        ctx: &mut Self::CTX,
        _client_reused: bool,
    ) -> Box<pingora::Error> {
        ctx.failed.push(peer._address.clone());
        ctx.attempts += 1;
        let mut e = e.more_context(format!("upstream {}", peer._address));
        // The request may have reached the instance: replay only what is safe to repeat
        // (GET, HEAD, PUT, DELETE...; never a POST, which may be a mutation), and only when
        // the whole body is still buffered.
        let replayable = session.req_header().method.is_idempotent()
            && !session.as_ref().retry_buffer_truncated();
        e.set_retry(replayable && ctx.attempts <= self.settings.retries);
        e
    }

    async fn fail_to_proxy(
        &self,
        session: &mut Session,
        e: &pingora::Error,
        ctx: &mut Self::CTX,
    ) -> FailToProxy {
        let code = match (e.esource(), e.etype()) {
            _ if ctx.outcome == Outcome::Refused(Code::NoUpstream) => Some(Code::NoUpstream),
            (_, ErrorType::HTTPStatus(413)) => Some(Code::PayloadTooLarge),
            (
                ErrorSource::Upstream,
                ErrorType::ConnectTimedout
                | ErrorType::ConnectRefused
                | ErrorType::ConnectNoRoute
                | ErrorType::ConnectError,
            ) => Some(Code::NoUpstream),
            (ErrorSource::Upstream, ErrorType::ReadTimedout | ErrorType::WriteTimedout) => {
                Some(Code::UpstreamTimeout)
            }
            (ErrorSource::Downstream, _) => None,
            _ => Some(Code::UpstreamError),
        };
        let Some(code) = code else {
            ctx.outcome = Outcome::ClientError;
            return FailToProxy {
                error_code: 0,
                can_reuse_downstream: false,
            };
        };
        ctx.outcome = Outcome::Refused(code);
        if let Some(written) = session.response_written() {
            // Too late for a refusal: the client already has the start of an answer.
            return FailToProxy {
                error_code: written.status.as_u16(),
                can_reuse_downstream: false,
            };
        }
        session.set_keepalive(None);
        let event = match ctx.route {
            Route::Sale { event } => Some(event),
            _ => None,
        };
        let body = code.body(&self.settings.queue_path, event);
        // Nothing of the API's answer (nor its CORS headers) reached the client: ours go out.
        let extra = self
            .settings
            .allowed_origins
            .refusal_headers(cors::origin_of(session.req_header()));
        if let Err(error) = write_response(
            session,
            code.status(),
            "application/json",
            body.into(),
            &extra,
        )
        .await
        {
            tracing::debug!(%error, "could not write the error answer");
        }
        FailToProxy {
            error_code: code.status(),
            can_reuse_downstream: false,
        }
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
        tracing::info!(
            target: "access",
            method = %request.method,
            path = %routes::redact(request.uri.path(), request.uri.query()),
            status,
            route = ctx.route.label(),
            outcome = ctx.outcome.label(),
            duration_ms = elapsed.as_secs_f64() * 1e3,
            client = %client_ip(session).map_or_else(|| "-".to_owned(), |ip| ip.to_string()),
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
