//! The `load-tests` binary: parse the command line, run it, exit with its verdict.

use clap::Parser as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let code = load_tests::main(load_tests::config::Cli::parse()).await?;
    std::process::exit(code);
}
