//! Running a rush: set the queue up, prepare accounts, release fans on the arrival
//! schedule (in this process or in worker processes), sample the queue and the processes
//! while it runs, then audit, report and judge.
//!
//! Workers are this same binary started with `--worker-of K N`: each prepares every N-th
//! fan, says `READY`, waits for `GO <t0>` on stdin (so all start on one clock), prints
//! `P <progress json>` every second, and writes its data for the coordinator to merge.

use std::{
    collections::BTreeMap,
    io::Write as _,
    path::{Path, PathBuf},
    process::Stdio,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use futures_util::StreamExt as _;
use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};

use crate::{
    audit,
    config::{BuyArgs, JourneyArgs, QueueRushArgs, RunArgs, SeatRushArgs, WaitArgs},
    fan::{self, Account, Env, EventInfo, Fan, ops},
    http::{Http, ensure_loopback},
    metrics::{Data, FanRecord, Progress, Recorder, unix_ms},
    report::Report,
    schedule::{self, RateShape},
    system::{ProcSample, QueueSample, Store, Watcher},
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

/// The fans this process releases: `(index, arrival offset s)`.
fn my_arrivals(run: &RunArgs) -> Vec<(u32, f64)> {
    let times = schedule::arrivals(
        RateShape {
            rate: run.rate,
            ramp: run.ramp,
        },
        run.fans,
        run.duration,
        run.arrivals,
        run.seed,
    );
    let (index, count) = run.worker().unwrap_or((0, 1));
    times
        .into_iter()
        .enumerate()
        .filter(|(i, _)| *i as u32 % count.max(1) == index)
        .map(|(i, t)| (i as u32, t))
        .collect()
}

/// A fresh run id: accounts are named after it, so runs never collide.
fn new_run_id(seed: u64) -> String {
    let nanos = unix_ms() as u64;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ nanos);
    format!("{:08x}", rng.random::<u32>())
}

/// Accounts for the given fans, made with bounded concurrency (not part of the rush's
/// numbers: they land in `setup`'s recorder).
async fn prepare_accounts(
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
async fn release_fans(
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
        env.recorder
            .value("schedule.lag", crate::metrics::micros(late));
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

/// The admin's controls of the event's queue.
struct Admin {
    http: Http,
    token: String,
    event: String,
}

impl Admin {
    async fn call(&self, op: &str, query: &str, vars: Value) -> anyhow::Result<Value> {
        Ok(self
            .http
            .gql(0, op, "/graphql", query, vars, Some(&self.token), &[])
            .await?)
    }

    async fn stats(&self) -> anyhow::Result<Value> {
        Ok(self
            .call("setup.stats", ops::STATS, json!({ "e": self.event }))
            .await?["queueStats"]
            .clone())
    }

    async fn pause(&self, paused: bool) -> anyhow::Result<()> {
        let query = if paused { ops::PAUSE } else { ops::RESUME };
        self.call("setup.pause", query, json!({ "e": self.event }))
            .await?;
        Ok(())
    }
}

/// Builds the process's shared state for fans.
async fn environment(
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

/// Entry point of the rush scenarios: coordinator or worker. Returns the exit code.
pub async fn rush(scenario: Scenario) -> anyhow::Result<i32> {
    let run = scenario.run().clone();
    ensure_loopback(&run.target)?;
    for target in run.ws_targets() {
        ensure_loopback(&target)?;
    }
    if run.worker().is_some() {
        worker(scenario).await?;
        return Ok(0);
    }
    coordinate(scenario).await
}

async fn worker(scenario: Scenario) -> anyhow::Result<()> {
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
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let go = stdin
        .next_line()
        .await?
        .context("the coordinator went away")?;
    let t0_unix: f64 = go
        .strip_prefix("GO ")
        .and_then(|t| t.trim().parse().ok())
        .context("expected GO <t0>")?;
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
    let path = dir.join(format!("worker-{index}.json"));
    let wire = recorder.take().to_wire()?;
    std::fs::write(&path, serde_json::to_vec(&wire)?).context("writing the worker's data")?;
    println!("DONE {}", path.display());
    std::io::stdout().flush().ok();
    Ok(())
}

/// A child worker as the coordinator sees it.
struct Child {
    process: tokio::process::Child,
    progress: Arc<Mutex<Progress>>,
    state: Arc<Mutex<String>>,
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

/// Samples the queue and the processes until told to stop.
struct Monitor {
    queue: Vec<QueueSample>,
    processes: BTreeMap<String, Vec<ProcSample>>,
}

#[expect(
    clippy::too_many_lines,
    reason = "the coordinator's steps read best in order"
)]
async fn coordinate(scenario: Scenario) -> anyhow::Result<i32> {
    let run = scenario.run().clone();
    let run_id = run.run_id.clone().unwrap_or_else(|| new_run_id(run.seed));
    let started_at = chrono::Utc::now();
    let dir = run.report_dir.clone().unwrap_or_else(|| {
        PathBuf::from(format!(
            "target/load-tests/{}-{}",
            scenario.name(),
            started_at.format("%Y%m%d-%H%M%S")
        ))
    });
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;

    let setup_recorder = Arc::new(Recorder::new(unix_ms()));
    let setup = Http::new(
        &run.target,
        run.source_ips,
        run.max_in_flight,
        run.http_timeout(),
        setup_recorder.clone(),
    )?;
    let event = EventInfo::find(&setup, run.event, run.event_slug.as_deref()).await?;
    let admin = Admin {
        token: fan::admin_session(&setup, &run.admin_email, &run.admin_password).await?,
        http: setup.clone(),
        event: event.id.to_string(),
    };
    if let Some(rate) = run.admission_rate {
        admin
            .call(
                "setup.rate",
                ops::SET_RATE,
                json!({ "e": admin.event, "r": rate }),
            )
            .await?;
    }
    if let Some(capacity) = run.admission_capacity {
        admin
            .call(
                "setup.capacity",
                ops::SET_CAPACITY,
                json!({ "e": admin.event, "c": capacity }),
            )
            .await?;
    }
    let before = admin.stats().await?;
    let default_cap = before["admissionCapacity"].as_i64().unwrap_or(i64::MAX);
    let store = Store::connect(
        &run.redis_url,
        &run.redis_key_prefix,
        &run.database_url,
        event.id,
    )
    .await?;
    let lottery: i64 = fred::prelude::HashesInterface::hget::<Option<i64>, _, _>(
        &store.redis,
        &store.keys.meta,
        "lottery",
    )
    .await?
    .unwrap_or(0);
    let quiet = run.quiet;
    if !quiet {
        eprintln!(
            "{} on {} (event {} \"{}\", {}), run {run_id}: {} fans at {}/s (ramp {} s), admission {}/s cap {}, report in {}",
            scenario.name(),
            run.target,
            event.id,
            event.name,
            event.status,
            run.fans,
            run.rate,
            run.ramp,
            before["admissionRate"],
            before["admissionCapacity"],
            dir.display()
        );
    }
    let arrivals_total = schedule::arrivals(
        RateShape {
            rate: run.rate,
            ramp: run.ramp,
        },
        run.fans,
        run.duration,
        run.arrivals,
        run.seed,
    )
    .len() as u64;

    let mut watcher = Watcher::parse(&run.watch)?;
    watcher.add("load-gen", std::process::id());
    if run.open_after_joined {
        admin.pause(true).await?;
    }

    // Prepare and start the fans.
    let workers = run.workers.max(1);
    let local_recorder: Option<Arc<Recorder>>;
    let mut children = Vec::new();
    let mut local_fans = None;
    let t0_unix;
    if workers == 1 {
        let arrivals = my_arrivals(&run);
        let accounts = if scenario.signs_up_in_journey() {
            BTreeMap::new()
        } else {
            if !quiet {
                eprintln!("preparing {} accounts...", arrivals.len());
            }
            prepare_accounts(
                &setup,
                &run_id,
                &arrivals,
                run.signup_concurrency,
                quiet,
                false,
            )
            .await?
        };
        t0_unix = unix_ms() + 300.0;
        let recorder = Arc::new(Recorder::new(t0_unix));
        let t0 = tokio::time::Instant::now() + Duration::from_millis(300);
        let env = Arc::new(environment(&scenario, event.clone(), recorder.clone(), t0).await?);
        local_fans = Some(tokio::spawn(release_fans(
            env,
            scenario.clone(),
            arrivals,
            accounts,
            t0,
            run_id.clone(),
        )));
        local_recorder = Some(recorder);
    } else {
        if !quiet {
            eprintln!("starting {workers} worker processes (each prepares its own accounts)...");
        }
        children = spawn_workers(workers, &dir, &run_id).await?;
        let waiting_since = Instant::now();
        let mut last_note = Instant::now();
        loop {
            let states: Vec<String> = children.iter().map(child_state).collect();
            if states.iter().any(|s| s == "EXITED") {
                bail!("a worker stopped before it was ready");
            }
            if states.iter().all(|s| s == "READY") {
                break;
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
        t0_unix = unix_ms() + 500.0;
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
        local_recorder = None;
    }

    // Watch until every fan is done.
    let mut monitor = Monitor {
        queue: Vec::new(),
        processes: BTreeMap::new(),
    };
    let mut sample = tokio::time::interval(Duration::from_millis(run.sample_ms.max(50)));
    let mut last_print = Instant::now();
    let mut last_requests = 0u64;
    let mut resumed = !run.open_after_joined;
    let run_started = Instant::now();
    loop {
        sample.tick().await;
        let t_ms = unix_ms() - t0_unix;
        if let Ok(mut q) = store.sample_queue().await {
            q.t_ms = t_ms;
            monitor.queue.push(q);
        }
        for (name, s) in watcher.sample(t_ms) {
            monitor.processes.entry(name).or_default().push(s);
        }
        let progress = match &local_recorder {
            Some(recorder) => recorder.progress(),
            None => {
                let mut total = Progress::default();
                for child in &children {
                    total.add(
                        &child
                            .progress
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner),
                    );
                }
                total
            }
        };
        if !resumed
            && progress.get("fans.join_done") + progress.get("outcome.no_account") >= arrivals_total
        {
            admin.pause(false).await?;
            resumed = true;
            if !quiet {
                eprintln!("\nall {arrivals_total} fans joined: admissions resumed");
            }
        }
        if !quiet && last_print.elapsed() >= Duration::from_secs(1) {
            let rate =
                (progress.requests - last_requests) as f64 / last_print.elapsed().as_secs_f64();
            last_requests = progress.requests;
            last_print = Instant::now();
            eprint!(
                "\r{}",
                progress_line(
                    t_ms,
                    &progress,
                    arrivals_total,
                    rate,
                    monitor.queue.last(),
                    &monitor.processes
                )
            );
        }
        let done = match &mut local_fans {
            Some(handle) => handle.is_finished(),
            None => children.iter().all(|c| {
                let s = child_state(c);
                s.starts_with("DONE") || s == "EXITED"
            }),
        };
        if done {
            break;
        }
        if run_started.elapsed() > Duration::from_secs_f64(run.max_run + 120.0) {
            eprintln!("\nthe fans did not finish in time; stopping");
            break;
        }
    }
    if !quiet {
        eprintln!();
    }
    if !resumed {
        admin.pause(false).await?;
    }
    let seconds = (unix_ms() - t0_unix) / 1e3;

    // Gather the data.
    let mut data = match &local_recorder {
        Some(recorder) => recorder.take(),
        None => Data::default(),
    };
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
    let after = admin.stats().await.unwrap_or(Value::Null);

    let audit = audit::run(&store, &data.fans, &monitor.queue, default_cap, lottery).await?;
    let mut report = Report::summarize(&data, seconds);
    report.scenario = scenario.name().to_owned();
    report.started_at = started_at.to_rfc3339();
    report.target = run.target.clone();
    report.event = event.id;
    report.options = json!({
        "scenario": scenario.options(),
        "run_id": run_id,
        "queue_before": before,
        "queue_after": after,
        "event": event,
    });
    report.queue = monitor.queue;
    report.processes = monitor.processes;
    report.audit = audit;
    report.notes = notes(&report, &setup_recorder.take());
    report.judge(&run.thresholds)?;
    report.write(&dir)?;
    std::fs::write(dir.join("fans.json"), serde_json::to_vec(&data.fans)?)
        .context("writing fans.json")?;
    println!("{}", report.text());
    println!("report: {}", dir.join("report.html").display());
    Ok(if report.passed { 0 } else { 1 })
}

fn progress_line(
    t_ms: f64,
    p: &Progress,
    planned: u64,
    rate: f64,
    queue: Option<&QueueSample>,
    processes: &BTreeMap<String, Vec<ProcSample>>,
) -> String {
    let error_pct = p.errors as f64 * 100.0 / p.requests.max(1) as f64;
    let mut line = format!(
        "[{:>5.0}s] arrived {}/{planned} joined {} admitted {} booked {} done {} | {:.0} req/s err {:.2}% | ws {}",
        t_ms / 1e3,
        p.get("fans.arrived"),
        p.get("fans.joined"),
        p.get("fans.admitted"),
        p.get("fans.booked"),
        p.get("fans.done"),
        rate,
        error_pct,
        p.get("ws.opened").saturating_sub(p.get("ws.closed")),
    );
    if let Some(q) = queue {
        line.push_str(&format!(
            " | queue {} admitted {}/{}",
            q.waiting,
            q.admitted,
            q.capacity.map_or("-".to_owned(), |c| c.to_string())
        ));
    }
    let cpu: Vec<String> = processes
        .iter()
        .filter_map(|(name, samples)| {
            let recent = &samples[samples.len().saturating_sub(4)..];
            let avg = recent.iter().map(|s| s.cpu_pct).sum::<f64>() / recent.len().max(1) as f64;
            (!recent.is_empty()).then(|| format!("{name} {avg:.0}%"))
        })
        .collect();
    if !cpu.is_empty() {
        line.push_str(&format!(" | cpu {}", cpu.join(" ")));
    }
    line.push_str("   ");
    line
}

/// What limited the run, measured: CPU of each watched process and of the machine, the
/// generator's own lateness, and the accounts' preparation.
pub fn notes(report: &Report, setup: &Data) -> Vec<String> {
    let mut notes = Vec::new();
    let cores = std::thread::available_parallelism().map_or(1, usize::from) as f64;
    let mut busiest: Vec<(String, f64, f64)> = report
        .processes
        .iter()
        .filter(|(_, s)| s.len() > 2)
        .map(|(name, samples)| {
            let active = &samples[1..];
            let avg = active.iter().map(|s| s.cpu_pct).sum::<f64>() / active.len() as f64;
            let peak_rss = samples.iter().map(|s| s.rss_mb).fold(0.0, f64::max);
            (name.clone(), avg, peak_rss)
        })
        .collect();
    busiest.sort_by(|a, b| b.1.total_cmp(&a.1));
    if !busiest.is_empty() {
        let list: Vec<String> = busiest
            .iter()
            .map(|(name, cpu, rss)| {
                if name == "machine" {
                    format!("machine {cpu:.0}% of {:.0}%", cores * 100.0)
                } else {
                    format!("{name} {cpu:.0}% ({rss:.0} MB peak)")
                }
            })
            .collect();
        notes.push(format!(
            "Average CPU over the run (100% = one core): {}.",
            list.join(", ")
        ));
        let machine = busiest.iter().find(|(n, _, _)| n == "machine").map(|b| b.1);
        let watched: f64 = busiest
            .iter()
            .filter(|(n, _, _)| n != "machine")
            .map(|b| b.1)
            .sum();
        if let Some(machine) = machine {
            notes.push(format!(
                "CPU used by processes outside the test (the machine minus every watched process): about {:.0}% of one core.",
                (machine - watched).max(0.0)
            ));
        }
        if let Some((_, machine, _)) = busiest.iter().find(|(n, _, _)| n == "machine")
            && *machine > cores * 100.0 * 0.9
        {
            notes.push(format!(
                "The machine's {cores:.0} cores were saturated ({machine:.0}%): numbers are the box's limit, shared by the servers and the load generator."
            ));
        }
        for (name, cpu, _) in &busiest {
            if name != "machine"
                && name != "load-gen"
                && *cpu > 90.0
                && (name.contains("redis") || name.contains("postgres"))
            {
                notes.push(format!(
                    "{name} used about a whole core ({cpu:.0}%): it may be the bottleneck."
                ));
            }
        }
    }
    if let Some(lag) = report.values.get("schedule.lag")
        && lag.p99 > 100.0
    {
        notes.push(format!(
            "The load generator released fans late (schedule lag p99 {:.0} ms): it could not keep the arrival rate.",
            lag.p99
        ));
    }
    if let Some(wait) = report.values.get("client.wait")
        && wait.p99 > 5.0
    {
        notes.push(format!(
            "Requests waited for the generator's in-flight cap (client.wait p99 {:.1} ms): raise --max-in-flight or add --workers.",
            wait.p99
        ));
    }
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        notes.push(format!(
            "Load average at the end: {} ({cores:.0} cores).",
            load.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
    if let Some(signup) = setup.ops.get("setup.signup") {
        let l = crate::report::Percentiles::of(&signup.latency);
        notes.push(format!(
            "Accounts prepared before the rush (not in the numbers above): {} sign-ups, p50 {:.1} ms, p99 {:.1} ms, {} errors.",
            signup.total(),
            l.p50,
            l.p99,
            signup.error_count()
        ));
    }
    notes
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
