//! What the gateway reads from a request before deciding: its token, its client's address,
//! its declared length, and the time.

use std::{
    net::IpAddr,
    time::{SystemTime, UNIX_EPOCH},
};

use pingora::{http::RequestHeader, protocols::l4::socket::SocketAddr, proxy::Session};

use crate::routes;

/// The request's admission token, from the first source that has one.
pub(super) fn token_of(request: &RequestHeader) -> Option<&str> {
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

/// The connection's own address: the gateway is the edge, so no forwarded-for header counts.
pub(super) fn client_ip(session: &Session) -> Option<IpAddr> {
    session
        .client_addr()
        .and_then(SocketAddr::as_inet)
        .map(std::net::SocketAddr::ip)
}

/// The body length the client announced, if it announced a readable one.
pub(super) fn declared_length(request: &RequestHeader) -> Option<usize> {
    request
        .headers
        .get("content-length")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Seconds since the epoch, the clock admission tokens are checked against.
pub(super) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() as i64)
}
