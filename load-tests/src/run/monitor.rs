//! While the fans run: the queue and the processes sampled every `--sample-ms`, admissions
//! resumed once everyone joined (`--open-after-joined`), and the live progress line.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use super::coordinate::{Fans, Rush};
use crate::{
    metrics::{Progress, unix_ms},
    system::{ProcSample, QueueSample, Store, Watcher},
};

/// What was sampled while the fans ran.
#[derive(Debug, Default)]
pub struct Samples {
    pub queue: Vec<QueueSample>,
    /// Per watched process (and `machine`), in time order.
    pub processes: BTreeMap<String, Vec<ProcSample>>,
}

impl Samples {
    /// Takes one sample of the queue and of each watched process, `t_ms` into the run.
    pub async fn sample(&mut self, store: &Store, watcher: &mut Watcher, t_ms: f64) {
        if let Ok(mut q) = store.sample_queue().await {
            q.t_ms = t_ms;
            self.queue.push(q);
        }
        for (name, s) in watcher.sample(t_ms) {
            self.processes.entry(name).or_default().push(s);
        }
    }
}

impl Rush {
    /// Samples until every fan is done (or well past `--max-run`), and makes sure
    /// admissions end up resumed.
    pub(super) async fn watch(
        &self,
        fans: &Fans,
        watcher: &mut Watcher,
        t0_unix: f64,
    ) -> anyhow::Result<Samples> {
        let (run, quiet) = (&self.run, self.run.quiet);
        let arrivals_total = self.arrivals_total;
        let mut samples = Samples::default();
        let mut sample = tokio::time::interval(Duration::from_millis(run.sample_ms.max(50)));
        let mut last_print = Instant::now();
        let mut last_requests = 0u64;
        let mut resumed = !run.open_after_joined;
        let run_started = Instant::now();
        loop {
            sample.tick().await;
            let t_ms = unix_ms() - t0_unix;
            samples.sample(&self.store, watcher, t_ms).await;
            let progress = fans.progress();
            if !resumed
                && progress.get("fans.join_done") + progress.get("outcome.no_account")
                    >= arrivals_total
            {
                self.admin.pause(false).await?;
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
                        samples.queue.last(),
                        &samples.processes
                    )
                );
            }
            if fans.done() {
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
            self.admin.pause(false).await?;
        }
        Ok(samples)
    }
}

/// The live progress line: fans by stage, request rate and errors, sockets, the queue and
/// the watched processes' recent CPU.
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
