//! `browse`: admitted fans read the seat map, availability and seat pages, driven by goose.
//!
//! goose fits here: request-and-answer reads, users launched at a fixed rate (each user is
//! one visit, `--iterations 1`, so arrivals are open-model), its coordinated-omission
//! mitigation, and its own HTML report next to ours. Every read is also recorded in this
//! crate's HDR recorder, so the report, thresholds and audit are the same as the rushes'.

use std::{
    path::Path,
    sync::{Arc, OnceLock},
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use goose::{config::GooseConfiguration, prelude::*};
use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use crate::{
    audit, busy,
    config::{BrowseArgs, RunArgs},
    fan::{self, EventInfo, Patience, ops},
    http::{Http, classify, ensure_loopback},
    metrics::{Outcome, Recorder, micros, unix_ms},
    report::Report,
    run::Samples,
    system::{Store, Watcher},
};

/// What goose's transactions read: set once before the attack.
struct Shared {
    recorder: Arc<Recorder>,
    tokens: Vec<String>,
    sale_path: String,
    reads: u32,
    think_ms: f64,
    seed: u64,
}

static SHARED: OnceLock<Shared> = OnceLock::new();

async fn read(
    user: &mut GooseUser,
    op: &'static str,
    query: &str,
    token: &str,
) -> TransactionResult {
    let shared = SHARED
        .get()
        .ok_or_else(|| Box::new(TransactionError::Custom("not set up".into())))?;
    // A `BUSY` answer is waited out and the read sent again, as `Http::gql` does.
    let mut attempt = 0;
    let (started, outcome) = loop {
        let builder = user
            .get_request_builder(&GooseMethod::Post, &shared.sale_path)?
            .bearer_auth(token)
            .json(&json!({ "query": query }));
        let request = GooseRequest::builder()
            .name(op)
            .set_request_builder(builder)
            .build();
        let started = Instant::now();
        let response = user.request(request).await?;
        let outcome = match response.response {
            Ok(answer) => {
                let status = answer.status().as_u16();
                match answer.bytes().await {
                    Ok(body) => match classify(status, &body) {
                        Ok(_) => Outcome::Ok,
                        Err(error) if error.code == busy::CODE => {
                            shared.recorder.count("busy.answers", 1);
                            shared.recorder.count(&format!("busy.{op}"), 1);
                            if attempt >= busy::MAX_RETRIES {
                                shared.recorder.count("busy.gave_up", 1);
                                break (started, Outcome::Error(error.code));
                            }
                            let wait =
                                busy::delay(busy::hint(&error), attempt, rand::random::<f64>());
                            shared.recorder.count("busy.retries", 1);
                            shared.recorder.value("busy.backoff", micros(wait));
                            tokio::time::sleep(wait).await;
                            attempt += 1;
                            continue;
                        }
                        Err(error) => Outcome::Error(error.code),
                    },
                    Err(_) => Outcome::Error("TRANSPORT".into()),
                }
            }
            Err(error) => Outcome::Error(
                if error.is_timeout() {
                    "TIMEOUT"
                } else {
                    "TRANSPORT"
                }
                .into(),
            ),
        };
        break (started, outcome);
    };
    shared.recorder.request(op, started.elapsed(), outcome);
    Ok(())
}

/// One browsing visit: the seat map, then availability and seat pages with think times.
async fn visit(user: &mut GooseUser) -> TransactionResult {
    let shared = SHARED
        .get()
        .ok_or_else(|| Box::new(TransactionError::Custom("not set up".into())))?;
    let index = user.weighted_users_index;
    let token = shared.tokens[index % shared.tokens.len().max(1)].clone();
    let mut rng = ChaCha8Rng::seed_from_u64(shared.seed ^ index as u64);
    shared.recorder.count("fans.arrived", 1);
    read(user, "seatMap", ops::SEAT_MAP, &token).await?;
    for step in 1..shared.reads {
        tokio::time::sleep(fan::think(&mut rng, shared.think_ms)).await;
        if step % 2 == 1 {
            read(user, "availability", ops::AVAILABILITY, &token).await?;
        } else {
            read(user, "seats", ops::SEATS_PAGE, &token).await?;
        }
    }
    let _ = rng.random::<u8>();
    shared.recorder.count("fans.done", 1);
    shared.recorder.count("outcome.browsed", 1);
    Ok(())
}

/// Admits `count` fans and returns their admission tokens.
async fn admitted_sessions(
    http: &Http,
    event: &EventInfo,
    run_id: &str,
    count: u32,
) -> anyhow::Result<Vec<String>> {
    let mut tokens = Vec::new();
    for index in 0..count {
        let account = fan::sign_up(
            http,
            index as usize,
            "setup.signup",
            fan::email(run_id, index),
        )
        .await?;
        // About a minute: the join, then 120 heartbeats half a second apart.
        let patience = Patience {
            requests: 121,
            gap: Duration::from_millis(500),
        };
        let Some(token) = fan::join_until_admitted(
            http,
            index as usize,
            "setup.join",
            event,
            &account.access_token,
            patience,
        )
        .await?
        else {
            bail!(
                "a browsing session was not admitted within a minute: raise the admission rate or capacity"
            );
        };
        tokens.push(token);
    }
    Ok(tokens)
}

/// Runs `browse`; returns the exit code.
pub async fn browse(args: BrowseArgs) -> anyhow::Result<i32> {
    let run = &args.run;
    ensure_loopback(&run.target)?;
    let started_at = chrono::Utc::now();
    let dir = run.report_dir.clone().unwrap_or_else(|| {
        format!(
            "target/load-tests/browse-{}",
            started_at.format("%Y%m%d-%H%M%S")
        )
        .into()
    });
    std::fs::create_dir_all(&dir)?;
    let (event, tokens) = set_up(&args).await?;
    let t0 = unix_ms();
    let recorder = Arc::new(Recorder::new(t0));
    SHARED
        .set(Shared {
            recorder: recorder.clone(),
            tokens,
            sale_path: event.sale_path.clone(),
            reads: args.reads_per_visit.max(1),
            think_ms: args.think_ms,
            seed: run.seed,
        })
        .map_err(|_| anyhow::anyhow!("browse runs once per process"))?;
    let goose_report = dir.join("goose-report.html");
    let attack = attack(&args, &goose_report)?;
    let store = Store::connect(
        &run.redis_url,
        &run.redis_key_prefix,
        &run.database_url,
        event.id,
    )
    .await?;
    let mut watcher = Watcher::parse(&run.watch)?;
    watcher.add("load-gen", std::process::id());
    let (done_tx, sampler) = sample(store.clone(), watcher, run.sample_ms, t0);
    eprintln!(
        "browse: {} visits at {}/s through goose (co-mitigation {})...",
        attack_users(run),
        run.rate,
        args.co_mitigation
    );
    let users_run = execute(attack, run.max_run).await?;
    let _ = done_tx.send(true);
    let samples = sampler.await.context("the sampler")?;
    let data = recorder.take();
    let mut report = Report::summarize(&data, (unix_ms() - t0) / 1e3);
    report.scenario = "browse".into();
    report.started_at = started_at.to_rfc3339();
    report.target = run.target.clone();
    report.event = event.id;
    report.options = json!({ "browse": serde_json::to_value(&args).unwrap_or_default(), "event": event, "goose_users": users_run });
    report.queue = samples.queue;
    report.processes = samples.processes;
    let default_cap = i64::from(run.admission_capacity.unwrap_or(u32::MAX));
    report.audit = audit::run(&store, &[], &report.queue, default_cap, 0, false).await?;
    report.notes = crate::run::notes(&report, &Default::default());
    report.notes.push(format!(
        "goose's own report (with its coordinated-omission mitigation: {}) is {}.",
        args.co_mitigation,
        goose_report.display()
    ));
    report.judge(&run.thresholds)?;
    report.write(&dir)?;
    println!("{}", report.text());
    println!("report: {}", dir.join("report.html").display());
    Ok(if report.passed { 0 } else { 1 })
}

/// Finds the event, applies the admin's settings and admits the browsing sessions: the
/// event and the sessions' admission tokens.
async fn set_up(args: &BrowseArgs) -> anyhow::Result<(EventInfo, Vec<String>)> {
    let run = &args.run;
    let setup = Http::new(
        &run.target,
        run.source_ips,
        run.max_in_flight,
        run.http_timeout(),
        Arc::new(Recorder::new(unix_ms())),
    )?;
    let event = EventInfo::find(&setup, run.event, run.event_slug.as_deref()).await?;
    let admin = fan::admin_session(&setup, &run.admin_email, &run.admin_password).await?;
    for (query, vars) in [
        (
            ops::SET_RATE,
            run.admission_rate
                .map(|r| json!({ "e": event.id.to_string(), "r": r })),
        ),
        (
            ops::SET_CAPACITY,
            run.admission_capacity
                .map(|c| json!({ "e": event.id.to_string(), "c": c })),
        ),
    ] {
        if let Some(vars) = vars {
            setup
                .gql(0, "setup.admin", "/graphql", query, vars, Some(&admin), &[])
                .await?;
        }
    }
    let run_id = format!("b{:07x}", (unix_ms() as u64) & 0x0FFF_FFFF);
    eprintln!(
        "browse: admitting {} sessions for event {}...",
        args.sessions, event.id
    );
    let tokens = admitted_sessions(&setup, &event, &run_id, args.sessions.max(1)).await?;
    Ok((event, tokens))
}

/// Visits goose starts: one user per fan, each a single visit.
fn attack_users(run: &RunArgs) -> usize {
    run.fans.max(1) as usize
}

/// The goose attack: `--fans` one-visit users launched at `--rate`, writing its own report
/// to `goose_report`.
fn attack(args: &BrowseArgs, goose_report: &Path) -> anyhow::Result<Box<GooseAttack>> {
    let run = &args.run;
    let mitigation = match args.co_mitigation.as_str() {
        "average" => GooseCoordinatedOmissionMitigation::Average,
        "minimum" => GooseCoordinatedOmissionMitigation::Minimum,
        "maximum" => GooseCoordinatedOmissionMitigation::Maximum,
        "disabled" => GooseCoordinatedOmissionMitigation::Disabled,
        other => bail!("unknown --co-mitigation {other:?}"),
    };
    let configuration = GooseConfiguration::parse_args_default::<&str>(&[])
        .map_err(|error| anyhow::anyhow!("goose configuration: {error:?}"))?;
    let users = attack_users(run);
    GooseAttack::initialize_with_config(configuration)
        .map_err(|error| anyhow::anyhow!("goose: {error:?}"))?
        .register_scenario(scenario!("browse").register_transaction(transaction!(visit)))
        .set_default(GooseDefault::Host, run.target.as_str())
        .and_then(|a| a.set_default(GooseDefault::Users, users))
        .and_then(|a| {
            a.set_default(
                GooseDefault::IncreaseRate,
                run.rate.max(0.01).to_string().as_str(),
            )
        })
        .and_then(|a| a.set_default(GooseDefault::Iterations, 1usize))
        .and_then(|a| a.set_default(GooseDefault::CoordinatedOmissionMitigation, mitigation))
        .and_then(|a| {
            a.set_default(
                GooseDefault::ReportFile,
                goose_report.to_string_lossy().as_ref(),
            )
        })
        .and_then(|a| a.set_default(GooseDefault::Quiet, 1usize))
        .and_then(|a| a.set_default(GooseDefault::NoPrintMetrics, true))
        .and_then(|a| a.set_default(GooseDefault::NoTelnet, true))
        .and_then(|a| a.set_default(GooseDefault::Timeout, run.http_timeout.to_string().as_str()))
        .map_err(|error| anyhow::anyhow!("goose: {error:?}"))
}

/// Samples the queue and the processes every `--sample-ms` until told to stop.
fn sample(
    store: Store,
    mut watcher: Watcher,
    sample_ms: u64,
    t0: f64,
) -> (
    tokio::sync::watch::Sender<bool>,
    tokio::task::JoinHandle<Samples>,
) {
    let (done_tx, mut done_rx) = tokio::sync::watch::channel(false);
    let sampler = tokio::spawn(async move {
        let mut samples = Samples::default();
        let mut tick = tokio::time::interval(Duration::from_millis(sample_ms.max(50)));
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = done_rx.changed() => break,
            }
            samples.sample(&store, &mut watcher, unix_ms() - t0).await;
        }
        samples
    });
    (done_tx, sampler)
}

/// Runs the attack, bounded by `--max-run`: how many users goose ran (0 when cut off).
async fn execute(attack: Box<GooseAttack>, max_run: f64) -> anyhow::Result<usize> {
    // goose refuses a run time together with iterations: bound the run here instead.
    let bound = Duration::from_secs_f64(max_run.max(1.0));
    Ok(match tokio::time::timeout(bound, attack.execute()).await {
        Ok(result) => {
            result
                .map_err(|error| anyhow::anyhow!("goose run failed: {error:?}"))?
                .total_users
        }
        Err(_) => {
            eprintln!("browse: --max-run reached; visits still going are cut off");
            0
        }
    })
}
