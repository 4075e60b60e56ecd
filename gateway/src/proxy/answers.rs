//! The answers the gateway writes itself: its own endpoints, refusals and CORS preflights.
//!
//! Each is a whole response (header, then the end of its body) so the client's connection
//! survives it: Pingora's `respond_error_with_body` would close the connection every time,
//! and early answers are the path a flood of tokenless clients, or a browser's preflights,
//! take.

use std::time::Duration;

use bytes::Bytes;
use pingora::{http::ResponseHeader, proxy::Session};

use super::{Gateway, RequestCtx, request};
use crate::{cors, error::Code, metrics::Outcome};

/// How long a refused request's unread body may take to drain before the connection closes.
const REFUSAL_DRAIN_TIMEOUT: Duration = Duration::from_secs(1);

impl Gateway {
    /// Answers `GET /healthz`: the gateway is up (the API's health is the balancer's concern).
    pub(super) async fn answer_health(
        &self,
        session: &mut Session,
        ctx: &mut RequestCtx,
    ) -> pingora::Result<bool> {
        ctx.outcome = Outcome::Served;
        let body = Bytes::from_static(br#"{"status":"ok"}"#);
        write_response(session, 200, "application/json", body, &[]).await?;
        Ok(true)
    }

    /// Answers `GET /metrics` for an allowed network, and as an unknown route for the rest.
    pub(super) async fn answer_metrics(
        &self,
        session: &mut Session,
        ctx: &mut RequestCtx,
    ) -> pingora::Result<bool> {
        let allowed = request::client_ip(session).is_some_and(|ip| {
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
        Ok(true)
    }

    /// Refuses the request with `code`; the API never sees it.
    pub(super) async fn refuse(
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
        if let Some(seconds) = retry_after.or(code.retry_after_secs()) {
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
    pub(super) async fn answer_preflight(
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

    /// Refreshes the upstream-health gauges from the balancer's view.
    fn refresh_upstream_health(&self) {
        for backend in self.balancer.backends().get_backend().iter() {
            let healthy = self.balancer.backends().ready(backend);
            self.metrics
                .set_upstream_health(&backend.addr.to_string(), healthy);
        }
    }
}

/// Lets a connection answered before its request body was read stay open.
///
/// Pingora closes such a connection; the bodies answered early here are small (their length
/// was checked), so draining them is cheaper than a new connection.
fn keep_connection_through_unread_body(session: &mut Session) {
    session.set_close_on_response_before_downstream_finish(false);
    session.set_total_drain_timeout(Some(REFUSAL_DRAIN_TIMEOUT));
}

/// Writes a whole response: header then body, so keep-alive survives.
pub(super) async fn write_response(
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
