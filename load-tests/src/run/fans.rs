//! This process's fans: which arrivals are theirs, their accounts made before the rush,
//! their release on the arrival schedule, and each one's visit by scenario.

use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use futures_util::StreamExt as _;
use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;

use super::Scenario;
use crate::{
    config::RunArgs,
    fan::{self, Account, Env, EventInfo, Fan},
    http::Http,
    metrics::{FanRecord, Recorder, micros},
    schedule::{self, RateShape},
    system::Store,
};

/// The fans this process releases: `(index, arrival offset s)`.
pub(super) fn my_arrivals(run: &RunArgs) -> Vec<(u32, f64)> {
    let times = all_arrivals(run);
    let (index, count) = run.worker().unwrap_or((0, 1));
    times
        .into_iter()
        .enumerate()
        .filter(|(i, _)| *i as u32 % count.max(1) == index)
        .map(|(i, t)| (i as u32, t))
        .collect()
}

/// Every fan's arrival offset (s), whichever process releases them: one schedule per run.
pub(super) fn all_arrivals(run: &RunArgs) -> Vec<f64> {
    schedule::arrivals(
        RateShape {
            rate: run.rate,
            ramp: run.ramp,
        },
        run.fans,
        run.duration,
        run.arrivals,
        run.seed,
    )
}

/// Accounts for the given fans, made with bounded concurrency (not part of the rush's
/// numbers: they land in `setup`'s recorder).
pub(super) async fn prepare_accounts(
    setup: &Http,
    run_id: &str,
    fans: &[(u32, f64)],
    concurrency: usize,
    quiet: bool,
    worker: bool,
) -> anyhow::Result<BTreeMap<u32, Account>> {
    let started = Instant::now();
    let total = fans.len();
    let mut made = BTreeMap::new();
    let mut failures = 0usize;
    let mut stream = futures_util::stream::iter(fans.iter().map(|(index, _)| {
        let setup = setup.clone();
        let index = *index;
        let email = fan::email(run_id, index);
        async move {
            (
                index,
                fan::sign_up(&setup, index as usize, "setup.signup", email).await,
            )
        }
    }))
    .buffer_unordered(concurrency.max(1));
    let mut last_print = Instant::now();
    while let Some((index, result)) = stream.next().await {
        match result {
            Ok(account) => {
                made.insert(index, account);
            }
            Err(error) => {
                failures += 1;
                if failures <= 3 {
                    eprintln!("sign-up of fan {index} failed: {error}");
                }
            }
        }
        if last_print.elapsed() > Duration::from_secs(2) {
            if worker {
                // Tell the coordinator, which shows the sum.
                println!("S {} {total}", made.len());
            } else if !quiet {
                eprintln!(
                    "  accounts: {}/{total} ({:.0}/s)",
                    made.len(),
                    made.len() as f64 / started.elapsed().as_secs_f64()
                );
            }
            last_print = Instant::now();
        }
    }
    if failures * 100 > total.max(1) {
        bail!("{failures} of {total} sign-ups failed");
    }
    Ok(made)
}

/// Releases the fans on schedule from `t0` and waits for all of them (or the hard stop).
pub(super) async fn release_fans(
    env: Arc<Env>,
    scenario: Scenario,
    arrivals: Vec<(u32, f64)>,
    mut accounts: BTreeMap<u32, Account>,
    t0: tokio::time::Instant,
    run_id: String,
) {
    let run = scenario.run().clone();
    let wait = scenario.wait().clone();
    let mut tasks = tokio::task::JoinSet::new();
    for (index, offset) in arrivals {
        let intended = t0 + Duration::from_secs_f64(offset);
        if intended >= env.deadline {
            break;
        }
        tokio::time::sleep_until(intended).await;
        // How late the generator released this fan: if it grows, the generator is saturated.
        let late = tokio::time::Instant::now().saturating_duration_since(intended);
        env.recorder.value("schedule.lag", micros(late));
        env.recorder.count("fans.arrived", 1);
        let env = env.clone();
        let account = accounts.remove(&index);
        let scenario = scenario.clone();
        let run_id = run_id.clone();
        let subscribe = {
            // A stable draw per fan, whatever the worker split.
            let mut rng =
                ChaCha8Rng::seed_from_u64(run.seed.wrapping_mul(1_000_003) ^ u64::from(index));
            rng.random_range(0.0..1.0) < wait.subscribe_share
        };
        tasks.spawn(async move {
            let record = FanRecord {
                index,
                fan: account
                    .as_ref()
                    .map(|a| a.fan_key.clone())
                    .unwrap_or_default(),
                arrival_ms: offset * 1e3,
                ..FanRecord::default()
            };
            let mut fan = Fan {
                env: &env,
                n: index as usize,
                rng: ChaCha8Rng::seed_from_u64(run.seed ^ (u64::from(index) << 20)),
                account,
                record,
                layout: None,
            };
            let deadline = env.deadline;
            let finished =
                tokio::time::timeout_at(deadline, visit(&mut fan, &scenario, &run_id, subscribe))
                    .await;
            if finished.is_err() {
                fan.record.outcome = "cut_off".into();
                env.recorder.count("outcome.cut_off", 1);
            }
            env.recorder.count("fans.done", 1);
            let record = std::mem::take(&mut fan.record);
            env.recorder.fan(record);
        });
        // Reap finished fans as we go, so 100,000 arrivals do not pile up handles.
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
}

/// One fan's visit, by scenario.
async fn visit(fan: &mut Fan<'_>, scenario: &Scenario, run_id: &str, subscribe: bool) {
    if scenario.signs_up_in_journey() {
        if !fan.sign_up(run_id).await {
            return;
        }
        fan.look_around().await;
    } else if fan.account.is_none() {
        fan.record.outcome = "no_account".into();
        fan.env.recorder.count("outcome.no_account", 1);
        return;
    }
    let Some(admission) = fan.join_and_wait(subscribe).await else {
        return;
    };
    match scenario {
        Scenario::QueueRush(_) => fan.dwell_and_leave().await,
        Scenario::SeatRush(_) => fan.buy(&admission).await,
        Scenario::Journey(_) => {
            fan.buy(&admission).await;
            if fan.record.booking.is_some() {
                fan.my_bookings().await;
            }
        }
    }
}

/// Builds the process's shared state for fans.
pub(super) async fn environment(
    scenario: &Scenario,
    event: EventInfo,
    recorder: Arc<Recorder>,
    t0: tokio::time::Instant,
) -> anyhow::Result<Env> {
    let run = scenario.run();
    let http = Http::new(
        &run.target,
        run.source_ips,
        run.max_in_flight,
        run.http_timeout(),
        recorder.clone(),
    )?;
    let store = Store::connect(
        &run.redis_url,
        &run.redis_key_prefix,
        &run.database_url,
        event.id,
    )
    .await
    .context("connecting to the system's Redis and Postgres (for admission times)")?;
    let (dwell_ms, browse_think_ms) = match scenario {
        Scenario::QueueRush(a) => (a.dwell_ms, 0.0),
        Scenario::Journey(a) => (0.0, a.browse_think_ms),
        Scenario::SeatRush(_) => (0.0, 0.0),
    };
    Ok(Env {
        http,
        recorder,
        ws_targets: run.ws_targets(),
        source_ips: run.source_ips,
        event,
        store: Some(store),
        wait: scenario.wait().clone(),
        buy: scenario.buy().cloned(),
        pay_mix: match scenario.buy() {
            Some(buy) => fan::parse_pay_mix(&buy.pay_mix)?,
            None => Vec::new(),
        },
        dwell_ms,
        browse_think_ms,
        deadline: t0 + Duration::from_secs_f64(run.max_run.max(1.0)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_get_every_nth_fan_of_one_schedule() {
        let parse = |extra: &[&str]| {
            let mut args = vec![
                "load-tests",
                "queue-rush",
                "--event",
                "1",
                "--fans",
                "10",
                "--rate",
                "10",
                "--arrivals",
                "uniform",
            ];
            args.extend_from_slice(extra);
            match <crate::config::Cli as clap::Parser>::parse_from(args).command {
                crate::config::Command::QueueRush(a) => a.run,
                _ => unreachable!(),
            }
        };
        let all = my_arrivals(&parse(&[]));
        let first = my_arrivals(&parse(&["--worker-of", "0", "3"]));
        let second = my_arrivals(&parse(&["--worker-of", "1", "3"]));

        assert_eq!(all.len(), 10);
        assert_eq!(
            first.iter().map(|a| a.0).collect::<Vec<_>>(),
            vec![0, 3, 6, 9]
        );
        assert_eq!(second[0], all[1]);
    }
}
