//! A property/fuzz test of both schemas through the gateway: generated GraphQL documents,
//! variables, headers and tokens, over HTTP and WebSocket, against the real API (a
//! [`TestApp`] in this process) behind the real gateway binary.
//!
//! Every answer must come within 15 s, never with a 5xx status (but a typed `BUSY`) nor
//! `INTERNAL_ERROR` in it;
//! afterwards the API and the gateway answer `/healthz` and the sale's invariants hold in
//! Postgres. Inputs come from proptest strategies: documents built from the two schemas' own
//! fields, arguments, enums and input objects (read from their SDL), with aliases (many of the
//! same field too), fragments (spreading themselves, each other, and multiplying), directives
//! known and unknown, values of every kind (NUL and control characters, emoji, 10k-character
//! strings, numbers past i64 and f64, wrong enums, lists and input objects nested up to
//! 100,000 levels now and then), random variables and operation names, several operations,
//! realistic sale and queue operations, byte-level mutations of valid documents, and bodies
//! that are not GraphQL at all; credentials valid, tampered, forged (`alg: none`), huge,
//! non-ASCII or absent, in headers, cookies and query parameters.
//!
//! `FUZZ_CASES` (default 300, the CI budget) cases alternate public HTTP, sale HTTP, public
//! WebSocket and sale WebSocket. `FUZZ_SEED` fixes the inputs (printed at the start). Each
//! case draws from its own generator, seeded from the seed and the case number, so
//! `FUZZ_SEED=s FUZZ_ONLY=n` replays case n alone (the ids it picks come from what earlier
//! cases created, so a replay may differ there; a failure prints the exact input). The case
//! about to be sent is written to a file first (its path is printed), so an abort that takes
//! this process down with the API still leaves the input behind. `scripts/fuzz.sh` runs a
//! long budget.
//!
//! The files: [`model`] reads the schemas' SDL; [`values`] holds what strategies draw from
//! and the literals; [`documents`] builds GraphQL documents; [`variables`] the realistic
//! operations and their JSON variables; [`requests`] bodies, credentials, headers, paths and
//! sends HTTP cases; [`ws`] WebSocket frames and cases and sends them; [`checks`] judges the
//! answers and writes failure reports; [`world`] is what the cases run in (the processes, the
//! fan, the ids seen so far); [`stats`] counts what happened and sums it up. This file reads
//! the settings, seeds each case and runs them.

mod checks;
mod documents;
mod model;
mod requests;
mod stats;
mod values;
mod variables;
mod world;
mod ws;

use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Duration, Instant},
};

use graphql_api::testing::{TestApp, assert_invariants};
use proptest::{
    strategy::{Strategy as _, ValueTree as _},
    test_runner::{Config as RunnerConfig, RngAlgorithm, TestRng, TestRunner},
};
use serde_json::Value;

use self::{
    checks::{ApiLog, failure_report, harvest, signature_of},
    model::Model,
    requests::{HttpCase, http_case},
    stats::{Stats, bump},
    values::Gen,
    world::{Kind, World},
    ws::{WsCase, ws_case},
};
use crate::support::{Gateway, GatewayOptions};

/// Every answer must come within this: a hang detector, not a speed limit (under the whole
/// suite on two cores a slow case took over 5 s once).
const ANSWER_WITHIN: Duration = Duration::from_secs(15);
/// Cases when `FUZZ_CASES` is not set: the CI budget.
const CI_CASES: u64 = 300;
/// How long a subscription may stay silent once the server answered the ping after it.
const STREAM_GRACE: Duration = Duration::from_millis(300);
/// Tokens are minted again after this (tests' tokens live 15 minutes).
const TOKEN_REFRESH: Duration = Duration::from_secs(600);
/// Cases between two new fans.
const FAN_EVERY: u64 = 250;
/// The run stops after this many failing cases.
const MAX_FAILURES: u64 = 200;
/// Most ids remembered from answers and fed back into arguments.
const MAX_IDS: usize = 400;
/// Fragment names documents spread (defined or not).
const FRAGMENTS: &[&str] = &["F0", "F1", "F2"];
/// Variable names documents define and use.
const VARIABLES: &[&str] = &["v0", "v1", "v2", "v3"];

// ---------------------------------------------------------------------------------------
// Running cases.

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a number, not {value:?}")),
    )
}

/// The generator of case `number`: seeded from the run's seed and the number alone.
fn runner_for(seed: u64, number: u64) -> TestRunner {
    let mut bytes = [0u8; 32];
    let mut state = seed ^ number.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for chunk in bytes.chunks_mut(8) {
        // splitmix64
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        chunk.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    TestRunner::new_with_rng(
        RunnerConfig::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &bytes),
    )
}

fn generate<T: std::fmt::Debug>(strategy: &Gen<T>, runner: &mut TestRunner) -> T {
    strategy
        .new_tree(runner)
        .expect("the strategies generate without too many rejections")
        .current()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_requests_never_break_the_gateway_or_the_api() {
    let cases = env_u64("FUZZ_CASES").unwrap_or(CI_CASES);
    let seed = env_u64("FUZZ_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock after 1970")
            .subsec_nanos()
            .into()
    });
    let only = env_u64("FUZZ_ONLY");
    let api_log = ApiLog::install();
    let last_case = std::env::temp_dir().join(format!("gateway-fuzz-{seed}.last-case.txt"));
    println!(
        "fuzz: seed {seed}, {cases} cases (set FUZZ_SEED, FUZZ_CASES; FUZZ_ONLY=n replays case n); \
         each case is written to {} before it is sent",
        last_case.display()
    );

    // No socket budget: the cases should reach the schema, not the rate limit.
    // Holds that run out soon free seats for later fans.
    let app = TestApp::spawn_with(|config| {
        config.ws_operations_per_sec = 0;
        config.hold_duration_secs = 20;
    })
    .await;
    let event = app.seed_event(50).await;
    let other_event = app.seed_event(5).await;
    let gateway = Gateway::start(
        GatewayOptions::new(&[app.instance.address], &app.redis.url, &app.redis.prefix)
            .set("public_rate_per_sec", "0")
            .set("sale_rate_per_sec", "0"),
    )
    .await;
    let public = Arc::new(Model::from_sdl(&graphql_api::schema::public_sdl()));
    let sale = Arc::new(Model::from_sdl(&graphql_api::schema::sale_sdl()));
    for (label, model) in [("public", &public), ("sale", &sale)] {
        assert!(
            model
                .roots
                .iter()
                .all(|root| !model.fields(root).is_empty()),
            "the {label} SDL was not understood: roots {:?}, {} object types",
            model.roots,
            model.objects.len()
        );
    }
    let fan = World::mint_fan(&app, event).await;
    let mut world = World {
        http: reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("an HTTP client"),
        event,
        other_event,
        ids: vec![
            event.to_string(),
            other_event.to_string(),
            fan.user.to_string(),
            "0".to_owned(),
        ],
        fan,
        fixed_ids: 0,
        ids_version: 0,
        seats: Arc::new(Vec::new()),
        holds: Vec::new(),
        bookings: Vec::new(),
        public,
        sale,
        public_socket: None,
        sale_socket: None,
        stats: Stats::default(),
        last_case,
        verbose: std::env::var_os("FUZZ_VERBOSE").is_some(),
        app,
        gateway,
    };
    // Real seat and category ids, so generated sales can hold, book and pay.
    let seats = world
        .http
        .post(format!("{}/sale/{event}/graphql", world.gateway.url))
        .bearer_auth(&world.fan.admission)
        .json(&serde_json::json!({ "query": "{ seatCategories { id } seats(first: 50) { nodes { id } } }" }))
        .send()
        .await
        .expect("asking for the seats")
        .json::<Value>()
        .await
        .expect("a JSON answer");
    let seat_ids: Vec<String> = seats["data"]["seats"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("no seats: {seats}"))
        .iter()
        .filter_map(|seat| seat["id"].as_str().map(str::to_owned))
        .collect();
    assert!(!seat_ids.is_empty(), "{seats}");
    world.seats = Arc::new(seat_ids);
    harvest(&seats, &mut world.ids, 0);
    world.fixed_ids = world.ids.len();

    let started = Instant::now();
    // (what failed, how often, the first case it failed in)
    let mut failures: Vec<(String, u64, u64)> = Vec::new();
    let numbers: Vec<u64> = match only {
        Some(number) => vec![number],
        None => (0..cases).collect(),
    };
    let mut strategies: BTreeMap<(u64, bool), (Gen<HttpCase>, Gen<WsCase>)> = BTreeMap::new();
    for &number in &numbers {
        let kind = Kind::of(number);
        // A new fan now and then (and before the tokens run out), so that holds, bookings and
        // payments keep happening: one fan may hold only once at a time.
        if world.fan.minted.elapsed() > TOKEN_REFRESH || (number > 0 && number % FAN_EVERY == 0) {
            world.new_fan().await;
        }
        // Strategies see the ids known so far; rebuilt as that list grows.
        let key = (world.ids_version, kind.sale());
        if !strategies.contains_key(&key) {
            strategies.retain(|(_, sale), _| *sale != kind.sale());
            let env = world.env(kind.sale());
            strategies.insert(key, (http_case(&env), ws_case(&env)));
        }
        let (http_strategy, ws_strategy) = strategies.get(&key).cloned().expect("just inserted");
        let mut runner = runner_for(seed, number);
        world.stats.current = number;
        let _ = api_log.take();
        let case_started = Instant::now();
        let outcome = match kind {
            Kind::PublicHttp | Kind::SaleHttp => {
                let case = generate(&http_strategy, &mut runner);
                world.http(number, kind, &case).await
            }
            Kind::PublicWs | Kind::SaleWs => {
                let case = generate(&ws_strategy, &mut runner);
                world.ws(number, kind, &case).await
            }
        };
        let took = case_started.elapsed();
        let logged = api_log.take();
        world.stats.api_errors +=
            logged.lines().filter(|line| line.contains("ERROR")).count() as u64;
        let outcome = outcome.map_err(|(sent, failure)| {
            let failure = if logged.is_empty() {
                failure
            } else {
                format!("{failure}\nthe API logged: {}", logged.trim())
            };
            (sent, failure)
        });
        *world
            .stats
            .kinds
            .entry(match kind {
                Kind::PublicHttp => "PublicHttp",
                Kind::SaleHttp => "SaleHttp",
                Kind::PublicWs => "PublicWs",
                Kind::SaleWs => "SaleWs",
            })
            .or_default() += 1;
        if took > world.stats.slowest.0 {
            world.stats.slowest = (took, number);
        }
        if let Err((sent, failure)) = outcome {
            // Kept (the case file is overwritten by the next case), reported once per kind
            // of failure, and the run goes on while both processes live.
            let kept = world.last_case.with_extension(format!("case-{number}.txt"));
            let _ = std::fs::copy(&world.last_case, &kept);
            let signature = signature_of(kind, &failure, &logged);
            let seen = failures.iter_mut().find(|(known, ..)| *known == signature);
            match seen {
                Some((_, count, _)) => *count += 1,
                None => {
                    let logs = world.gateway.logs();
                    let report =
                        failure_report((seed, number, kind), &sent, &failure, &logs, &kept);
                    println!("{report}");
                    failures.push((signature, 1, number));
                }
            }
            if let Err(down) = world.healthy().await {
                println!("fuzz: stopping after case {number}: {down}");
                break;
            }
            if failures.iter().map(|(_, count, _)| count).sum::<u64>() >= MAX_FAILURES {
                println!("fuzz: stopping after {MAX_FAILURES} failures");
                break;
            }
        }
        if (number + 1) % 1_000 == 0 {
            // The sale's invariants, straight from Postgres: a breach panics with the step.
            assert_invariants(
                &world.app.db.connection,
                &format!("fuzz: after case {number} (seed {seed})"),
            )
            .await;
            println!(
                "fuzz: {} cases, {:.0} s",
                number + 1,
                started.elapsed().as_secs_f64()
            );
        }
    }
    let elapsed = started.elapsed();
    let ran = world.stats.kinds.values().sum();
    println!("{}", world.summary(ran, seed, elapsed));
    println!("fuzz: in the database: {}", world.sales().await);
    if let Err(failure) = world.healthy().await {
        panic!("fuzz: after {ran} cases (seed {seed}): {failure}");
    }
    assert_invariants(
        &world.app.db.connection,
        &format!("fuzz: after {ran} cases (seed {seed})"),
    )
    .await;
    if failures.is_empty() {
        let _ = std::fs::remove_file(&world.last_case);
    }
    let failed: Vec<String> = failures
        .iter()
        .map(|(signature, count, first)| format!("{count} x (first in case {first}) {signature}"))
        .collect();
    assert!(
        failed.is_empty(),
        "fuzz: seed {seed}: failures (each reported in full above):\n{}",
        failed.join("\n")
    );
}
