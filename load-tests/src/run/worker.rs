//! Workers: this same binary started with `--worker-of K N`, both sides of the protocol.
//!
//! A worker prepares every N-th fan's account (printing `S <made> <total>` now and then),
//! says `READY`, waits for `GO <t0>` on stdin (so all start on one clock), prints
//! `P <progress json>` every second, and writes its data for the coordinator to merge
//! before saying `DONE <path>`.

use std::{
    collections::BTreeMap,
    io::Write as _,
    path::Path,
    process::Stdio,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};

use super::{
    Scenario,
    fans::{environment, my_arrivals, prepare_accounts, release_fans},
};
use crate::{
    fan::EventInfo,
    http::Http,
    metrics::{Data, Progress, Recorder, unix_ms},
    system::Watcher,
};

/// Runs this process as one worker of a rush, as the coordinator's command line says.
pub(super) async fn work(scenario: Scenario) -> anyhow::Result<()> {
    let run = scenario.run().clone();
    let (index, _) = run.worker().context("a worker index")?;
    let run_id = run.run_id.clone().context("a worker needs --run-id")?;
    let setup_recorder = Arc::new(Recorder::new(unix_ms()));
    let setup = Http::new(
        &run.target,
        run.source_ips,
        run.max_in_flight,
        run.http_timeout(),
        setup_recorder,
    )?;
    let event = EventInfo::find(&setup, run.event, run.event_slug.as_deref()).await?;
    let arrivals = my_arrivals(&run);
    let accounts = if scenario.signs_up_in_journey() {
        BTreeMap::new()
    } else {
        prepare_accounts(
            &setup,
            &run_id,
            &arrivals,
            run.signup_concurrency,
            true,
            true,
        )
        .await?
    };
    println!("READY");
    let t0_unix = wait_for_go().await?;
    let recorder = Arc::new(Recorder::new(t0_unix));
    let t0 = tokio::time::Instant::now()
        + Duration::from_secs_f64(((t0_unix - unix_ms()) / 1e3).max(0.0));
    let env = Arc::new(environment(&scenario, event, recorder.clone(), t0).await?);
    let fans = tokio::spawn(release_fans(env, scenario, arrivals, accounts, t0, run_id));
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tokio::pin!(fans);
    loop {
        tokio::select! {
            _ = &mut fans => break,
            _ = tick.tick() => {
                println!("P {}", serde_json::to_string(&recorder.progress())?);
            }
        }
    }
    println!("P {}", serde_json::to_string(&recorder.progress())?);
    let dir = run
        .report_dir
        .clone()
        .context("a worker needs --report-dir")?;
    hand_over(&recorder.take(), &dir, index)
}

/// The coordinator's `GO <t0>`: the run's start, Unix ms.
async fn wait_for_go() -> anyhow::Result<f64> {
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let go = stdin
        .next_line()
        .await?
        .context("the coordinator went away")?;
    go.strip_prefix("GO ")
        .and_then(|t| t.trim().parse().ok())
        .context("expected GO <t0>")
}

/// Writes worker `index`'s data into `dir` and says `DONE` with its path.
fn hand_over(data: &Data, dir: &Path, index: u32) -> anyhow::Result<()> {
    let path = dir.join(format!("worker-{index}.json"));
    let wire = data.to_wire()?;
    std::fs::write(&path, serde_json::to_vec(&wire)?).context("writing the worker's data")?;
    println!("DONE {}", path.display());
    std::io::stdout().flush().ok();
    Ok(())
}

/// A child worker as the coordinator sees it.
pub(super) struct Child {
    process: tokio::process::Child,
    progress: Arc<Mutex<Progress>>,
    state: Arc<Mutex<String>>,
}

/// Starts `n` workers, waits until every one is ready, then starts them all on one clock:
/// the workers, and that start (Unix ms). Each worker's CPU is watched as `load-gen`.
pub(super) async fn start(
    n: u32,
    dir: &Path,
    run_id: &str,
    quiet: bool,
    watcher: &mut Watcher,
) -> anyhow::Result<(Vec<Child>, f64)> {
    if !quiet {
        eprintln!("starting {n} worker processes (each prepares its own accounts)...");
    }
    let mut children = spawn_workers(n, dir, run_id).await?;
    wait_until_ready(&children, quiet).await?;
    let t0_unix = unix_ms() + 500.0;
    for child in &mut children {
        let stdin = child.process.stdin.as_mut().context("a worker's stdin")?;
        stdin
            .write_all(format!("GO {t0_unix}\n").as_bytes())
            .await?;
        stdin.flush().await?;
    }
    for child in &children {
        if let Some(pid) = child.process.id() {
            watcher.add("load-gen", pid);
        }
    }
    Ok((children, t0_unix))
}

/// Waits for every worker's `READY`, showing how many accounts they have made so far.
async fn wait_until_ready(children: &[Child], quiet: bool) -> anyhow::Result<()> {
    let waiting_since = Instant::now();
    let mut last_note = Instant::now();
    loop {
        let states: Vec<String> = children.iter().map(child_state).collect();
        if states.iter().any(|s| s == "EXITED") {
            bail!("a worker stopped before it was ready");
        }
        if states.iter().all(|s| s == "READY") {
            return Ok(());
        }
        if !quiet && last_note.elapsed() > Duration::from_secs(5) {
            let made: u64 = states
                .iter()
                .filter_map(|s| s.strip_prefix("S ")?.split(' ').next()?.parse::<u64>().ok())
                .sum();
            eprintln!(
                "  workers preparing accounts: {made} made, {:.0} s",
                waiting_since.elapsed().as_secs_f64()
            );
            last_note = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The workers' running totals, summed.
pub(super) fn progress(children: &[Child]) -> Progress {
    let mut total = Progress::default();
    for child in children {
        total.add(
            &child
                .progress
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
    }
    total
}

/// True when every worker has said `DONE` or exited.
pub(super) fn all_done(children: &[Child]) -> bool {
    children.iter().all(|c| {
        let s = child_state(c);
        s.starts_with("DONE") || s == "EXITED"
    })
}

/// Waits for each worker to exit and merges the data it left into `data`.
pub(super) async fn collect(
    children: &mut [Child],
    dir: &Path,
    data: &mut Data,
) -> anyhow::Result<()> {
    for (k, child) in children.iter_mut().enumerate() {
        let _ = tokio::time::timeout(Duration::from_secs(30), child.process.wait()).await;
        let path = dir.join(format!("worker-{k}.json"));
        match std::fs::read(&path) {
            Ok(bytes) => {
                data.merge_wire(
                    serde_json::from_slice(&bytes).context("reading a worker's data")?,
                )?;
                let _ = std::fs::remove_file(&path);
            }
            Err(error) => {
                eprintln!("worker {k} left no data ({error}); its fans are missing from the report")
            }
        }
    }
    Ok(())
}

/// The command line for worker `k` of `n`: this invocation's arguments, with the report
/// folder and run id pinned.
fn worker_args(k: u32, n: u32, dir: &Path, run_id: &str) -> Vec<String> {
    let mut args: Vec<String> = Vec::new();
    let mut skip = false;
    for arg in std::env::args().skip(1) {
        if skip {
            skip = false;
            continue;
        }
        if arg == "--report-dir" || arg == "--run-id" {
            skip = true;
            continue;
        }
        if arg.starts_with("--report-dir=") || arg.starts_with("--run-id=") || arg == "--quiet" {
            continue;
        }
        args.push(arg);
    }
    args.extend([
        "--worker-of".into(),
        k.to_string(),
        n.to_string(),
        "--report-dir".into(),
        dir.display().to_string(),
        "--run-id".into(),
        run_id.to_owned(),
        "--quiet".into(),
    ]);
    args
}

async fn spawn_workers(n: u32, dir: &Path, run_id: &str) -> anyhow::Result<Vec<Child>> {
    let exe = std::env::current_exe().context("finding this program")?;
    let mut children = Vec::new();
    for k in 0..n {
        let mut process = tokio::process::Command::new(&exe)
            .args(worker_args(k, n, dir, run_id))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("starting a worker")?;
        let stdout = process.stdout.take().context("a worker's stdout")?;
        let progress = Arc::new(Mutex::new(Progress::default()));
        let state = Arc::new(Mutex::new(String::from("starting")));
        let (p, s) = (progress.clone(), state.clone());
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(json) = line.strip_prefix("P ") {
                    if let Ok(parsed) = serde_json::from_str::<Progress>(json) {
                        *p.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = parsed;
                    }
                } else if line == "READY" || line.starts_with("DONE ") || line.starts_with("S ") {
                    *s.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = line;
                }
            }
            let mut state = s.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if !state.starts_with("DONE") {
                *state = "EXITED".into();
            }
        });
        children.push(Child {
            process,
            progress,
            state,
        });
    }
    Ok(children)
}

fn child_state(child: &Child) -> String {
    child
        .state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}
