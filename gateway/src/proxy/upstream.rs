//! The API side of a request: which instance takes it, what it is told, and what happens
//! when it fails.
//!
//! Retries: a failed connect is always retried on another instance (nothing was sent); a
//! failure after sending is retried only for idempotent methods, so a POST mutation is never
//! replayed. A failure the client must hear about becomes one of the gateway's codes.

use pingora::{
    ErrorSource, ErrorType,
    http::RequestHeader,
    lb::{LoadBalancer, selection::RoundRobin},
    prelude::HttpPeer,
    protocols::l4::socket::SocketAddr,
    proxy::{FailToProxy, Session},
    upstreams::peer::PeerOptions,
};

use super::{Gateway, RequestCtx, answers::write_response, request};
use crate::{cors, error::Code, metrics::Outcome, routes::Route};

/// One API instance: where the balancer's backend is, and its peer, built once.
pub(super) struct Upstream {
    address: SocketAddr,
    /// The instance as the access log names it.
    pub(super) label: String,
    /// Built once and cloned per request: cheaper than building a peer each time.
    peer: HttpPeer,
}

/// One [`Upstream`] per backend of the balancer, each peer built from `template`.
pub(super) fn upstreams(
    balancer: &LoadBalancer<RoundRobin>,
    template: &PeerOptions,
) -> Vec<Upstream> {
    balancer
        .backends()
        .get_backend()
        .iter()
        .map(|backend| {
            let label = backend.addr.to_string();
            let mut peer = HttpPeer::new(&backend.addr, false, String::new());
            peer.options = template.clone();
            Upstream {
                address: backend.addr.clone(),
                label,
                peer,
            }
        })
        .collect()
}

impl Gateway {
    /// A healthy instance that has not failed this request yet; when every instance failed
    /// its health check, any that has not failed this request (panic mode).
    pub(super) fn choose_upstream(
        &self,
        session: &Session,
        ctx: &mut RequestCtx,
    ) -> pingora::Result<Box<HttpPeer>> {
        let failed = &ctx.failed;
        let backend = self
            .balancer
            .select_with(b"", 256, |backend, healthy| {
                healthy && !failed.contains(&backend.addr)
            })
            // On a saturated machine a health check times out while the instance still
            // answers; refusing every fan then turns overload into an outage. A dead instance
            // refuses the connection at once, so trying it costs little: the request moves
            // on to the next, or is answered NO_UPSTREAM once each has failed it.
            .or_else(|| {
                self.balancer
                    .select_with(b"", 256, |backend, _| !failed.contains(&backend.addr))
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

    /// Retry decision after a failed connect.
    pub(super) fn after_connect_failure(
        &self,
        peer: &HttpPeer,
        ctx: &mut RequestCtx,
        mut e: Box<pingora::Error>,
    ) -> Box<pingora::Error> {
        ctx.failed.push(peer._address.clone());
        ctx.attempts += 1;
        // Nothing reached the instance, so another may take any request, POST included.
        e.set_retry(ctx.attempts <= self.settings.retries);
        e
    }

    /// Retry decision after a failure once the request may have been sent.
    pub(super) fn after_proxy_failure(
        &self,
        peer: &HttpPeer,
        session: &Session,
        e: Box<pingora::Error>,
        ctx: &mut RequestCtx,
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

    /// Tells the client the request failed for good, with the code of why.
    pub(super) async fn answer_failure(
        &self,
        session: &mut Session,
        e: &pingora::Error,
        ctx: &mut RequestCtx,
    ) -> FailToProxy {
        let code = if ctx.outcome == Outcome::Refused(Code::NoUpstream) {
            Some(Code::NoUpstream)
        } else {
            failure_code(e)
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
        let mut extra = self
            .settings
            .allowed_origins
            .refusal_headers(cors::origin_of(session.req_header()));
        if let Some(seconds) = code.retry_after_secs() {
            extra.push(("retry-after", seconds.to_string()));
        }
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
}

/// The code of a failed proxying; `None` when the client is the one that failed.
fn failure_code(e: &pingora::Error) -> Option<Code> {
    match (e.esource(), e.etype()) {
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
    }
}

/// Sets the fan's identity on the request to the API, in headers only the gateway writes.
pub(super) fn set_identity(
    session: &Session,
    upstream_request: &mut RequestHeader,
    ctx: &RequestCtx,
) -> pingora::Result<()> {
    // Identity headers are the gateway's alone: whatever a client sent is dropped.
    for name in tokens::headers::ALL {
        upstream_request.remove_header(*name);
    }
    if let Some(admission) = &ctx.admission {
        upstream_request.insert_header(tokens::headers::FAN_ID, admission.user.as_str())?;
        upstream_request.insert_header(tokens::headers::EVENT_ID, admission.event.to_string())?;
        upstream_request.insert_header(tokens::headers::ADMISSION_ID, admission.jti.as_str())?;
    }
    // The gateway is the edge: addresses claimed before it cannot be checked.
    if let Some(ip) = request::client_ip(session) {
        upstream_request.insert_header("x-forwarded-for", ip.to_string())?;
    }
    Ok(())
}
