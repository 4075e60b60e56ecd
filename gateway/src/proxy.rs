//! The proxy: forwards every request to the upstream API.

use async_trait::async_trait;
use pingora::{
    prelude::HttpPeer,
    proxy::{ProxyHttp, Session},
};

/// Forwards everything to one upstream.
pub struct Gateway {
    /// Built once and cloned per request: cheaper than building a peer each time.
    peer: HttpPeer,
}

impl Gateway {
    pub fn new(upstream: std::net::SocketAddr) -> Self {
        Self {
            peer: HttpPeer::new(upstream, false, String::new()),
        }
    }
}

#[async_trait]
impl ProxyHttp for Gateway {
    type CTX = ();

    fn new_ctx(&self) -> Self::CTX {}

    async fn upstream_peer(
        &self,
        _session: &mut Session,
        _ctx: &mut Self::CTX,
    ) -> pingora::Result<Box<HttpPeer>> {
        Ok(Box::new(self.peer.clone()))
    }
}
