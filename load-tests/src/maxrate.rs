//! `max-rate`: how many of one operation the system completes per second when `n` loops
//! send back to back (a closed loop, like `wrk`, `redis-benchmark` and `pgbench`, so the
//! numbers compare with theirs). Prints one JSON line for `baselines.sh`.

use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use crate::{
    config::{MaxRateArgs, MaxRateOp},
    fan::{self, Account, EventInfo, Patience, SeatView, ops},
    http::Http,
    metrics::{Data, Recorder, unix_ms},
    report::Percentiles,
    system::Watcher,
};

/// What each loop needs.
#[derive(Clone)]
struct Loop {
    n: usize,
    access: Option<String>,
    admission: Option<String>,
}

async fn once(
    http: &Http,
    op: MaxRateOp,
    event: &EventInfo,
    seats: &[i64],
    lp: &Loop,
    rng: &mut ChaCha8Rng,
) {
    match op {
        MaxRateOp::Typename => {
            let _ = http
                .gql(
                    lp.n,
                    "typename",
                    "/graphql",
                    "{ __typename }",
                    json!({}),
                    None,
                    &[],
                )
                .await;
        }
        MaxRateOp::Join => {
            let _ = http
                .gql(
                    lp.n,
                    "joinQueue",
                    "/graphql",
                    ops::JOIN,
                    json!({ "e": event.id.to_string() }),
                    lp.access.as_deref(),
                    &[],
                )
                .await;
        }
        MaxRateOp::Hold => {
            let seat = seats[rng.random_range(0..seats.len().max(1))].to_string();
            let held = http
                .gql(
                    lp.n,
                    "lockSeats",
                    &event.sale_path,
                    ops::LOCK,
                    json!({ "s": [seat], "k": uuid::Uuid::new_v4().to_string() }),
                    lp.admission.as_deref(),
                    &["SEAT_TAKEN"],
                )
                .await;
            if let Ok(data) = held {
                let hold = data["lockSeats"]["id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                let _ = http
                    .gql(
                        lp.n,
                        "releaseSeats",
                        &event.sale_path,
                        ops::RELEASE,
                        json!({ "h": hold }),
                        lp.admission.as_deref(),
                        &[],
                    )
                    .await;
            }
        }
    }
}

/// Runs `max-rate`; returns the exit code.
pub async fn max_rate(args: MaxRateArgs) -> anyhow::Result<i32> {
    let run = &args.run;
    let setup = Http::new(
        &run.target,
        run.source_ips,
        run.max_in_flight,
        run.http_timeout(),
        Arc::new(Recorder::new(unix_ms())),
    )?;
    let event = EventInfo::find(&setup, run.event, run.event_slug.as_deref()).await?;
    let (prepared, seats) = prepare(&args, &setup, &event).await?;
    let loops = prepared.len();
    let recorder = Arc::new(Recorder::new(unix_ms()));
    let http = Http::new(
        &run.target,
        run.source_ips,
        run.max_in_flight,
        run.http_timeout(),
        recorder.clone(),
    )?;
    let mut watcher = Watcher::parse(&run.watch)?;
    let warm_until = Instant::now() + Duration::from_secs(2);
    let measure = Duration::from_secs_f64(args.seconds.max(1.0));
    let mut tasks = tokio::task::JoinSet::new();
    for lp in prepared {
        let (http, event, seats, op, seed) = (
            http.clone(),
            event.clone(),
            seats.clone(),
            args.op,
            run.seed,
        );
        tasks.spawn(async move {
            let mut rng = ChaCha8Rng::seed_from_u64(seed ^ lp.n as u64);
            let stop = warm_until + measure;
            while Instant::now() < stop {
                once(&http, op, &event, &seats, &lp, &mut rng).await;
            }
        });
    }
    tokio::time::sleep_until(warm_until.into()).await;
    let _ = recorder.take();
    let _ = watcher.sample(0.0);
    let started = Instant::now();
    while tasks.join_next().await.is_some() {}
    let seconds = started.elapsed().as_secs_f64();
    let cpu: BTreeMap<String, f64> = watcher
        .sample(seconds * 1e3)
        .into_iter()
        .map(|(name, s)| (name, (s.cpu_pct * 10.0).round() / 10.0))
        .collect();
    print_line(&args, &recorder.take(), loops, seconds, &cpu)?;
    Ok(0)
}

/// One loop per `--concurrency`, signed in (and admitted, for `hold`) as the operation
/// needs, and the hot seats `hold` contends for.
async fn prepare(
    args: &MaxRateArgs,
    setup: &Http,
    event: &EventInfo,
) -> anyhow::Result<(Vec<Loop>, Vec<i64>)> {
    let run = &args.run;
    let run_id = format!("m{:07x}", (unix_ms() as u64) & 0x0FFF_FFFF);
    let loops = args.concurrency.max(1);
    let mut prepared: Vec<Loop> = (0..loops)
        .map(|n| Loop {
            n,
            access: None,
            admission: None,
        })
        .collect();
    if args.op == MaxRateOp::Typename {
        return Ok((prepared, Vec::new()));
    }
    let admin = fan::admin_session(setup, &run.admin_email, &run.admin_password).await?;
    if args.op == MaxRateOp::Hold {
        // Every holding fan must be admitted at once.
        let capacity = args.hold_fans.max(loops as u32) * 2 + 100;
        setup
            .gql(
                0,
                "setup",
                "/graphql",
                ops::SET_CAPACITY,
                json!({ "e": event.id.to_string(), "c": capacity }),
                Some(&admin),
                &[],
            )
            .await?;
        setup
            .gql(
                0,
                "setup",
                "/graphql",
                ops::SET_RATE,
                json!({ "e": event.id.to_string(), "r": 1000.0 }),
                Some(&admin),
                &[],
            )
            .await?;
    }
    let fans = if args.op == MaxRateOp::Hold {
        args.hold_fans.max(1) as usize
    } else {
        loops
    };
    let mut accounts = Vec::new();
    for n in 0..fans {
        accounts.push(fan::sign_up(setup, n, "setup.signup", fan::email(&run_id, n as u32)).await?);
    }
    let (admissions, seats) = if args.op == MaxRateOp::Hold {
        let admissions = admit(setup, event, &accounts).await?;
        let seats = hot_seats(setup, event, &admissions[0]).await?;
        (admissions, seats)
    } else {
        (Vec::new(), Vec::new())
    };
    for (n, lp) in prepared.iter_mut().enumerate() {
        lp.access = Some(accounts[n % accounts.len()].access_token.clone());
        lp.admission = admissions.get(n % admissions.len().max(1)).cloned();
    }
    Ok((prepared, seats))
}

/// Admits every account: their admission tokens, in order.
async fn admit(
    setup: &Http,
    event: &EventInfo,
    accounts: &[Account],
) -> anyhow::Result<Vec<String>> {
    let patience = Patience {
        requests: 100,
        gap: Duration::from_millis(300),
    };
    let mut admissions = Vec::new();
    for (n, account) in accounts.iter().enumerate() {
        let token =
            fan::join_until_admitted(setup, n, "setup", event, &account.access_token, patience)
                .await?;
        admissions.push(token.with_context(|| format!("fan {n} was not admitted in time"))?);
    }
    Ok(admissions)
}

/// Up to 1,000 free seats from the map, in map order.
async fn hot_seats(setup: &Http, event: &EventInfo, admission: &str) -> anyhow::Result<Vec<i64>> {
    let map = setup
        .gql(
            0,
            "setup",
            &event.sale_path,
            ops::SEAT_MAP,
            json!({}),
            Some(admission),
            &[],
        )
        .await?;
    let view = SeatView::from_map(&map["seatMap"]);
    // A hot set: contention like a rush on the best seats.
    let seats: Vec<i64> = view
        .seats
        .iter()
        .zip(&view.free)
        .filter(|(_, free)| **free)
        .map(|((id, _), _)| *id)
        .take(1_000)
        .collect();
    anyhow::ensure!(!seats.is_empty(), "the event has no free seats to hold");
    Ok(seats)
}

/// Prints the one JSON line `baselines.sh` reads.
fn print_line(
    args: &MaxRateArgs,
    data: &Data,
    loops: usize,
    seconds: f64,
    cpu: &BTreeMap<String, f64>,
) -> anyhow::Result<()> {
    let run = &args.run;
    let main_op = match args.op {
        MaxRateOp::Typename => "typename",
        MaxRateOp::Join => "joinQueue",
        MaxRateOp::Hold => "lockSeats",
    };
    let op = data.ops.get(main_op).context("nothing was measured")?;
    let latency = Percentiles::of(&op.latency);
    let line = json!({
        "op": main_op,
        "target": run.target,
        "concurrency": loops,
        "seconds": seconds,
        "requests": op.total(),
        "rate": op.total() as f64 / seconds,
        "ok": op.ok,
        "expected": op.expected,
        "errors": op.errors,
        "p50_ms": latency.p50,
        "p99_ms": latency.p99,
        "releases": data.ops.get("releaseSeats").map_or(0, |r| r.total()),
        "cpu_pct": cpu,
    });
    println!("{line}");
    Ok(())
}
