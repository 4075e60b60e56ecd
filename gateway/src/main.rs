//! `gateway`: the Pingora edge proxy in front of the API.

use clap::Parser as _;
use gateway::{config::GatewayConfig, proxy::Gateway};
use pingora::{proxy::http_proxy_service, server::Server};

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let config = GatewayConfig::parse();
    // Pingora owns its runtimes, so there is no #[tokio::main] here.
    let mut server = Server::new(None)?;
    server.bootstrap();
    let mut proxy = http_proxy_service(&server.configuration, Gateway::new(config.upstream));
    proxy.threads = Some(config.threads);
    proxy.add_tcp(&config.listen.to_string());
    server.add_service(proxy);
    tracing::info!(listen = %config.listen, upstream = %config.upstream, "gateway listening");
    server.run_forever()
}
