//! `graphql-api`: serve (default), migrate, seed, or print the SDL.

use clap::Parser as _;
use graphql_api::{cli, config::Cli, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    telemetry::init(cli.config.log_format);
    cli::run(cli).await
}
