//! Gateway configuration from the command line and environment.

use std::net::SocketAddr;

use clap::Parser;

/// The edge gate: proxies fans to the ticketing API.
#[derive(Clone, Debug, Parser)]
#[command(name = "gateway", version, about)]
pub struct GatewayConfig {
    /// Address to listen on.
    #[arg(long, env = "GATEWAY_LISTEN", default_value = "127.0.0.1:8000")]
    pub listen: SocketAddr,
    /// The API instance to forward to.
    #[arg(long, env = "GATEWAY_UPSTREAM", default_value = "127.0.0.1:8080")]
    pub upstream: SocketAddr,
    /// Worker threads of the proxy service.
    #[arg(long, env = "GATEWAY_THREADS", default_value_t = 1)]
    pub threads: usize,
}
