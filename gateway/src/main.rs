//! `gateway`: the Pingora edge proxy in front of the API.

use clap::Parser as _;
use gateway::{
    config::{Cli, Config},
    upgrade::{Listener, Signals},
};
use mimalloc::MiMalloc;

/// mimalloc with fat LTO cut the proxy's CPU per request most (see BASELINES.md).
#[global_allocator]
static GLOBAL: MiMalloc = MiMalloc;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::load(cli.config.as_deref())?;
    if cli.print_config {
        println!("{config:#?}");
        return Ok(());
    }
    let _logs = gateway::telemetry::init(config.log_format);
    // Pingora owns its runtimes, so there is no #[tokio::main] here.
    let server = gateway::server::build(&config, Listener::from_upgrade_flag(cli.upgrade))?;
    tracing::info!(listen = %config.listen, upstreams = ?config.upstreams, "gateway listening");
    server.run(Signals::run_args(&config));
    tracing::info!("gateway stopped");
    Ok(())
}
