//! Running a rush: set the queue up, prepare accounts, release fans on the arrival
//! schedule (in this process or in worker processes), sample the queue and the processes
//! while it runs, then audit, report and judge.
//!
//! Workers are this same binary started with `--worker-of K N`: each prepares every N-th
//! fan, says `READY`, waits for `GO <t0>` on stdin (so all start on one clock), prints
//! `P <progress json>` every second, and writes its data for the coordinator to merge.
//!
//! - `coordinate`: the run from start to verdict, step by step.
//! - `admin`: the event's queue controls, for the setup and `--open-after-joined`.
//! - `fans`: this process's fans: arrivals, accounts, release on schedule, each visit.
//! - `worker`: both sides of the worker protocol.
//! - `monitor`: sampling and the live progress line while fans run.
//! - `notes`: what limited the run, in words, for the report.

mod admin;
mod coordinate;
mod fans;
mod monitor;
mod notes;
mod worker;

use serde_json::Value;

pub use monitor::Samples;
pub use notes::notes;

use crate::{
    config::{BuyArgs, JourneyArgs, QueueRushArgs, RunArgs, SeatRushArgs, WaitArgs},
    http::ensure_loopback,
};

/// Which fans a scenario releases, and what they do.
#[derive(Clone, Debug)]
pub enum Scenario {
    QueueRush(QueueRushArgs),
    SeatRush(SeatRushArgs),
    Journey(JourneyArgs),
}

impl Scenario {
    /// The scenario's command name.
    pub fn name(&self) -> &'static str {
        match self {
            Scenario::QueueRush(_) => "queue-rush",
            Scenario::SeatRush(_) => "seat-rush",
            Scenario::Journey(_) => "journey",
        }
    }

    /// The shared run options.
    pub fn run(&self) -> &RunArgs {
        match self {
            Scenario::QueueRush(a) => &a.run,
            Scenario::SeatRush(a) => &a.run,
            Scenario::Journey(a) => &a.run,
        }
    }

    fn wait(&self) -> &WaitArgs {
        match self {
            Scenario::QueueRush(a) => &a.wait,
            Scenario::SeatRush(a) => &a.wait,
            Scenario::Journey(a) => &a.wait,
        }
    }

    fn buy(&self) -> Option<&BuyArgs> {
        match self {
            Scenario::QueueRush(_) => None,
            Scenario::SeatRush(a) => Some(&a.buy),
            Scenario::Journey(a) => Some(&a.buy),
        }
    }

    fn options(&self) -> Value {
        match self {
            Scenario::QueueRush(a) => serde_json::to_value(a),
            Scenario::SeatRush(a) => serde_json::to_value(a),
            Scenario::Journey(a) => serde_json::to_value(a),
        }
        .unwrap_or(Value::Null)
    }

    /// Journeys sign up inside the journey; the rushes use accounts made beforehand.
    fn signs_up_in_journey(&self) -> bool {
        matches!(self, Scenario::Journey(_))
    }
}

/// Entry point of the rush scenarios: coordinator or worker. Returns the exit code.
pub async fn rush(scenario: Scenario) -> anyhow::Result<i32> {
    let run = scenario.run().clone();
    ensure_loopback(&run.target)?;
    for target in run.ws_targets() {
        ensure_loopback(&target)?;
    }
    if run.worker().is_some() {
        worker::work(scenario).await?;
        return Ok(0);
    }
    coordinate::coordinate(scenario).await
}
