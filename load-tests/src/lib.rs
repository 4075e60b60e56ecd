//! `load-tests`: fan journeys at scale against a running system (normally its gateway),
//! honest numbers, and an audit of fairness and inventory after every run.
//!
//! - [`config`]: the command line, one subcommand per scenario.
//! - [`schedule`]: open-model arrival times (rate, ramp, seed).
//! - [`http`], [`ws`]: GraphQL over HTTP and `graphql-transport-ws`, spread over 127.0.0.x.
//! - [`chaos`]: `--chaos`, faults injected mid-run and the error burst each caused.
//! - [`busy`]: waiting out a `BUSY` answer and sending the same request again.
//! - [`fan`]: what one fan does: sign up, join, wait, choose seats, hold, book, pay.
//! - [`run`]: the rush scenarios (`queue-rush`, `seat-rush`, `journey`): workers, sampling,
//!   the live progress line, then audit and report.
//! - [`browse`]: seat-map and availability reads driven by goose.
//! - [`maxrate`]: closed-loop maximum rate of one operation, for the baselines.
//! - [`read_bench`]: one read at a time, for the cost of one seat map.
//! - [`metrics`]: HDR histograms, per-second windows, counters and per-fan records.
//! - [`eta`]: the ETA band fans were shown, its rises, and how it held up against their wait.
//! - [`system`]: the system's Redis and Postgres, and its processes' CPU and memory.
//! - [`audit`]: no double sale, seat states agree, admitted within the cap, FIFO order.
//! - [`report`]: JSON and single-file HTML reports, thresholds and the exit code.

pub mod audit;
pub mod browse;
pub mod busy;
pub mod chaos;
pub mod config;
pub mod eta;
pub mod fan;
pub mod http;
pub mod maxrate;
pub mod metrics;
pub mod read_bench;
pub mod report;
pub mod run;
pub mod schedule;
pub mod system;
pub mod ws;

use config::{Cli, Command};
use run::Scenario;

/// Runs one command; returns the process's exit code.
pub async fn main(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::QueueRush(args) => run::rush(Scenario::QueueRush(args)).await,
        Command::SeatRush(args) => run::rush(Scenario::SeatRush(args)).await,
        Command::Journey(args) => run::rush(Scenario::Journey(args)).await,
        Command::Browse(args) => browse::browse(args).await,
        Command::MaxRate(args) => maxrate::max_rate(args).await,
        Command::ReadBench(args) => read_bench::read_bench(args).await,
        Command::JoinScriptSha => {
            println!(
                "{}",
                fred::types::scripts::Script::from_lua(tokens::store::join_script()).sha1()
            );
            Ok(0)
        }
    }
}
