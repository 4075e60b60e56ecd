//! The coordinator: one rush from start to verdict. It sets the queue up, starts the fans
//! (in this process, or in worker processes), watches until they are done, gathers their
//! data, then audits, reports and judges.

use std::{collections::BTreeMap, path::PathBuf, sync::Arc, time::Duration};

use anyhow::Context as _;
use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use super::{
    Scenario,
    admin::Admin,
    fans::{all_arrivals, environment, my_arrivals, prepare_accounts, release_fans},
    monitor::Samples,
    notes::notes,
    worker::{self, Child},
};
use crate::{
    audit,
    chaos::{self, Chaos, Fault, Injected},
    config::RunArgs,
    fan::EventInfo,
    http::Http,
    metrics::{Data, Progress, Recorder, unix_ms},
    report::Report,
    system::{Store, Watcher},
};

/// Runs a rush from this process; returns the exit code.
pub(super) async fn coordinate(scenario: Scenario) -> anyhow::Result<i32> {
    let rush = Rush::set_up(scenario).await?;
    let mut watcher = Watcher::parse(&rush.run.watch)?;
    watcher.add("load-gen", std::process::id());
    if rush.run.open_after_joined {
        rush.admin.pause(true).await?;
    }
    let (mut fans, t0_unix) = rush.start_fans(&mut watcher).await?;
    let chaos = (!rush.run.chaos.is_empty()).then(|| {
        Chaos::start(
            &rush.run.chaos,
            rush.run.chaos_command.clone(),
            t0_unix,
            rush.run.quiet,
        )
    });
    let samples = rush.watch(&fans, &mut watcher, t0_unix).await?;
    let seconds = (unix_ms() - t0_unix) / 1e3;
    let faults = chaos.map(Chaos::stop).unwrap_or_default();
    let data = rush.gather(&mut fans).await?;
    rush.report(samples, data, seconds, faults).await
}

/// A rush as the coordinator set it up, before any fan arrives.
pub(super) struct Rush {
    pub(super) scenario: Scenario,
    pub(super) run: RunArgs,
    run_id: String,
    started_at: chrono::DateTime<chrono::Utc>,
    /// Where the reports go (and the workers' data on its way to the coordinator).
    dir: PathBuf,
    /// Records the setup's requests (sign-ups...), kept out of the rush's numbers.
    setup_recorder: Arc<Recorder>,
    setup: Http,
    event: EventInfo,
    pub(super) admin: Admin,
    /// The queue's stats before the rush.
    before: Value,
    /// The admission cap where Redis holds no admin setting.
    default_cap: i64,
    pub(super) store: Store,
    /// Tickets up to this one were drawn by lottery, so FIFO order starts after it.
    lottery: i64,
    /// Fans on the schedule, across every process.
    pub(super) arrivals_total: u64,
}

/// Where the fans run.
pub(super) enum Fans {
    /// In this process: the task releasing them, and the recorder they write to.
    Local {
        task: JoinHandle<()>,
        recorder: Arc<Recorder>,
    },
    /// In worker processes.
    Workers(Vec<Child>),
}

impl Fans {
    /// The running totals so far, across every process.
    pub(super) fn progress(&self) -> Progress {
        match self {
            Fans::Local { recorder, .. } => recorder.progress(),
            Fans::Workers(children) => worker::progress(children),
        }
    }

    /// True when every fan is done.
    pub(super) fn done(&self) -> bool {
        match self {
            Fans::Local { task, .. } => task.is_finished(),
            Fans::Workers(children) => worker::all_done(children),
        }
    }
}

impl Rush {
    /// Makes the report folder, finds the event, applies the admin's settings, reads the
    /// queue's state, connects to the system's stores and says what is about to run.
    async fn set_up(scenario: Scenario) -> anyhow::Result<Self> {
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
        let admin = Admin::set_up(&setup, &run, &event).await?;
        let before = admin.stats().await?;
        let default_cap = before["admissionCapacity"].as_i64().unwrap_or(i64::MAX);
        let store = Store::connect(
            &run.redis_url,
            &run.redis_key_prefix,
            &run.database_url,
            event.id,
        )
        .await?;
        let lottery = lottery(&store).await?;
        let rush = Self {
            arrivals_total: all_arrivals(&run).len() as u64,
            scenario,
            run,
            run_id,
            started_at,
            dir,
            setup_recorder,
            setup,
            event,
            admin,
            before,
            default_cap,
            store,
            lottery,
        };
        rush.announce();
        Ok(rush)
    }

    fn announce(&self) {
        let (run, event) = (&self.run, &self.event);
        if !run.quiet {
            eprintln!(
                "{} on {} (event {} \"{}\", {}), run {}: {} fans at {}/s (ramp {} s), admission {}/s cap {}, report in {}",
                self.scenario.name(),
                run.target,
                event.id,
                event.name,
                event.status,
                self.run_id,
                run.fans,
                run.rate,
                run.ramp,
                self.before["admissionRate"],
                self.before["admissionCapacity"],
                self.dir.display()
            );
        }
    }

    /// Starts the fans on one clock: the fans, and that start (Unix ms).
    async fn start_fans(&self, watcher: &mut Watcher) -> anyhow::Result<(Fans, f64)> {
        let workers = self.run.workers.max(1);
        if workers > 1 {
            let (children, t0_unix) =
                worker::start(workers, &self.dir, &self.run_id, self.run.quiet, watcher).await?;
            return Ok((Fans::Workers(children), t0_unix));
        }
        let arrivals = my_arrivals(&self.run);
        let accounts = if self.scenario.signs_up_in_journey() {
            BTreeMap::new()
        } else {
            if !self.run.quiet {
                eprintln!("preparing {} accounts...", arrivals.len());
            }
            prepare_accounts(
                &self.setup,
                &self.run_id,
                &arrivals,
                self.run.signup_concurrency,
                self.run.quiet,
                false,
            )
            .await?
        };
        let t0_unix = unix_ms() + 300.0;
        let recorder = Arc::new(Recorder::new(t0_unix));
        let t0 = tokio::time::Instant::now() + Duration::from_millis(300);
        let env =
            Arc::new(environment(&self.scenario, self.event.clone(), recorder.clone(), t0).await?);
        let task = tokio::spawn(release_fans(
            env,
            self.scenario.clone(),
            arrivals,
            accounts,
            t0,
            self.run_id.clone(),
        ));
        Ok((Fans::Local { task, recorder }, t0_unix))
    }

    /// Everything the fans recorded, merged across processes.
    async fn gather(&self, fans: &mut Fans) -> anyhow::Result<Data> {
        match fans {
            Fans::Local { recorder, .. } => Ok(recorder.take()),
            Fans::Workers(children) => {
                let mut data = Data::default();
                worker::collect(children, &self.dir, &mut data).await?;
                Ok(data)
            }
        }
    }

    /// Audits the system, writes the reports and `fans.json`, prints the summary and
    /// returns the exit code.
    async fn report(
        self,
        samples: Samples,
        data: Data,
        seconds: f64,
        (injected, missed): (Vec<Injected>, Vec<Fault>),
    ) -> anyhow::Result<i32> {
        let after = self.admin.stats().await.unwrap_or(Value::Null);
        let audit = audit::run(
            &self.store,
            &data.fans,
            &samples.queue,
            self.default_cap,
            self.lottery,
            !self.run.chaos.is_empty(),
        )
        .await?;
        let mut report = Report::summarize(&data, seconds);
        report.scenario = self.scenario.name().to_owned();
        report.started_at = self.started_at.to_rfc3339();
        report.target = self.run.target.clone();
        report.event = self.event.id;
        report.options = json!({
            "scenario": self.scenario.options(),
            "run_id": self.run_id,
            "queue_before": self.before,
            "queue_after": after,
            "event": self.event,
        });
        report.queue = samples.queue;
        report.processes = samples.processes;
        report.audit = audit;
        report.faults = chaos::analyse(&injected, &report.timeline);
        report.faults_missed = missed;
        report.notes = notes(&report, &self.setup_recorder.take());
        report.judge(&self.run.thresholds)?;
        let dir = &self.dir;
        report.write(dir)?;
        std::fs::write(dir.join("fans.json"), serde_json::to_vec(&data.fans)?)
            .context("writing fans.json")?;
        println!("{}", report.text());
        println!("report: {}", dir.join("report.html").display());
        Ok(if report.passed { 0 } else { 1 })
    }
}

/// A fresh run id: accounts are named after it, so runs never collide.
fn new_run_id(seed: u64) -> String {
    let nanos = unix_ms() as u64;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ nanos);
    format!("{:08x}", rng.random::<u32>())
}

/// The last lottery rank in the queue's meta (0 without a lottery).
async fn lottery(store: &Store) -> anyhow::Result<i64> {
    Ok(fred::prelude::HashesInterface::hget::<Option<i64>, _, _>(
        &store.redis,
        &store.keys.meta,
        "lottery",
    )
    .await?
    .unwrap_or(0))
}
