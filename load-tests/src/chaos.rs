//! `--chaos`: faults injected while the fans run, and what each did to them.
//!
//! A fault is `KIND@WHEN` (`redis-restart@30s`, `api-kill@60s`, `postgres-restart@90s`,
//! `gateway-upgrade@120s`), `WHEN` counted from the first arrival. The load generator does not
//! know how the system under test was started, so at each fault's time it runs
//! `--chaos-command KIND` (`load-tests/chaos.sh`, which knows the stack `scale-runs.sh`
//! starts) and records when it ran, how long it took and what it printed.
//!
//! The report then shows, per fault, the burst of errors around it: the run of seconds with
//! errors (a quiet second inside is bridged) that begins while the fault is injected or
//! within [`SETTLE_SECS`] after, its length, and its errors by code. Errors are what fans
//! were left with after their own retries, as the web client would show them.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt,
    path::PathBuf,
    str::FromStr,
    sync::{Arc, Mutex},
    time::Duration,
};

use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;

use crate::{metrics::unix_ms, report::WindowSummary};

/// Seconds after a fault's command returned in which a burst still counts as its own: a
/// restarted part takes a moment before clients notice it is back.
pub const SETTLE_SECS: u32 = 10;
/// Lines of the command's output kept in the report.
const OUTPUT_LINES: usize = 12;

/// What part fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// Redis killed (SIGKILL) and started again on its append-only file.
    RedisRestart,
    /// An API instance killed (SIGKILL) under load, then started again.
    ApiKill,
    /// Postgres stopped at once (crash recovery on restart), then started again.
    PostgresRestart,
    /// The gateway replaced by a new process that takes over its listening sockets.
    GatewayUpgrade,
}

impl FaultKind {
    const ALL: [FaultKind; 4] = [
        FaultKind::RedisRestart,
        FaultKind::ApiKill,
        FaultKind::PostgresRestart,
        FaultKind::GatewayUpgrade,
    ];

    /// The spelling on the command line and as the chaos command's argument.
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::RedisRestart => "redis-restart",
            FaultKind::ApiKill => "api-kill",
            FaultKind::PostgresRestart => "postgres-restart",
            FaultKind::GatewayUpgrade => "gateway-upgrade",
        }
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One fault on the schedule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fault {
    pub kind: FaultKind,
    /// Seconds after the first arrival.
    pub at_s: f64,
}

impl FromStr for Fault {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (kind, when) = text
            .trim()
            .split_once('@')
            .ok_or_else(|| format!("`{text}`: a fault is KIND@WHEN, e.g. redis-restart@30s"))?;
        let kind = FaultKind::ALL
            .into_iter()
            .find(|k| k.as_str() == kind)
            .ok_or_else(|| {
                let known: Vec<_> = FaultKind::ALL.iter().map(|k| k.as_str()).collect();
                format!("`{kind}` is not a fault: one of {}", known.join(", "))
            })?;
        Ok(Fault {
            kind,
            at_s: parse_seconds(when)?,
        })
    }
}

/// `30s`, `1500ms`, `2m` or a bare number of seconds.
fn parse_seconds(when: &str) -> Result<f64, String> {
    let (number, scale) = if let Some(ms) = when.strip_suffix("ms") {
        (ms, 1e-3)
    } else if let Some(s) = when.strip_suffix('s') {
        (s, 1.0)
    } else if let Some(m) = when.strip_suffix('m') {
        (m, 60.0)
    } else {
        (when, 1.0)
    };
    match number.parse::<f64>() {
        Ok(value) if value.is_finite() && value >= 0.0 => Ok(value * scale),
        _ => Err(format!(
            "`{when}` is not a time: e.g. 30s, 1500ms or 2m from the first arrival"
        )),
    }
}

/// A fault as it was injected.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Injected {
    pub kind: Option<FaultKind>,
    /// When it was scheduled, seconds after the first arrival.
    pub at_s: f64,
    /// When the command started and returned, seconds after the first arrival.
    pub started_s: f64,
    pub ended_s: f64,
    /// The command's exit status was success.
    pub ok: bool,
    /// The last lines the command printed (stdout, then stderr).
    pub output: String,
}

/// A schedule of faults running beside the fans.
pub struct Chaos {
    task: JoinHandle<()>,
    injected: Arc<Mutex<Vec<Injected>>>,
    scheduled: Vec<Fault>,
}

impl Chaos {
    /// Starts injecting `faults` with `command`, counting time from `t0_unix_ms`.
    pub fn start(faults: &[Fault], command: PathBuf, t0_unix_ms: f64, quiet: bool) -> Self {
        let mut scheduled = faults.to_vec();
        scheduled.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
        let injected = Arc::new(Mutex::new(Vec::new()));
        let task = tokio::spawn(inject_all(
            scheduled.clone(),
            command,
            t0_unix_ms,
            injected.clone(),
            quiet,
        ));
        Self {
            task,
            injected,
            scheduled,
        }
    }

    /// Stops injecting (a fault not yet due never happens; one under way is cut off) and
    /// returns what was injected, and the faults that never were.
    pub fn stop(self) -> (Vec<Injected>, Vec<Fault>) {
        self.task.abort();
        let injected = std::mem::take(
            &mut *self
                .injected
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        let missed = self.scheduled[injected.len().min(self.scheduled.len())..].to_vec();
        (injected, missed)
    }
}

async fn inject_all(
    faults: Vec<Fault>,
    command: PathBuf,
    t0_unix_ms: f64,
    injected: Arc<Mutex<Vec<Injected>>>,
    quiet: bool,
) {
    let since_t0 = || (unix_ms() - t0_unix_ms) / 1e3;
    for fault in faults {
        let wait = fault.at_s - since_t0();
        if wait > 0.0 {
            tokio::time::sleep(Duration::from_secs_f64(wait)).await;
        }
        if !quiet {
            eprintln!("chaos: {} at {:.1} s", fault.kind, since_t0());
        }
        let started_s = since_t0();
        let output = tokio::process::Command::new(&command)
            .arg(fault.kind.as_str())
            .kill_on_drop(true)
            .output()
            .await;
        let ended_s = since_t0();
        let (ok, output) = match output {
            Ok(output) => (
                output.status.success(),
                tail(&format!(
                    "{}{}",
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                )),
            ),
            Err(error) => (
                false,
                format!("could not run {}: {error}", command.display()),
            ),
        };
        if !quiet {
            eprintln!(
                "chaos: {} {} after {:.1} s",
                fault.kind,
                if ok { "done" } else { "FAILED" },
                ended_s - started_s
            );
        }
        injected
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(Injected {
                kind: Some(fault.kind),
                at_s: fault.at_s,
                started_s,
                ended_s,
                ok,
                output,
            });
    }
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(OUTPUT_LINES)..].join("\n")
}

/// A run of seconds in which fans saw errors.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Burst {
    /// Its first and last second (seconds after the first arrival), when there was one.
    pub first_s: Option<u32>,
    pub last_s: Option<u32>,
    /// Its length in seconds (0 when no error came).
    pub seconds: u32,
    pub errors: u64,
    /// Requests answered in those seconds, errors or not.
    pub requests: u64,
    pub codes: BTreeMap<String, u64>,
}

/// One fault in the report: what was done, and the errors it caused.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct FaultReport {
    #[serde(flatten)]
    pub injected: Injected,
    pub burst: Burst,
}

/// The seconds in which some operation answered an error.
fn error_seconds(timeline: &BTreeMap<u32, BTreeMap<String, WindowSummary>>) -> BTreeSet<u32> {
    timeline
        .iter()
        .filter(|(_, ops)| ops.values().any(|op| op.errors > 0))
        .map(|(second, _)| *second)
        .collect()
}

/// The burst that starts at `first` (a second with errors): later seconds with errors join
/// it while no more than one quiet second lies between.
fn burst_from(
    first: u32,
    errors: &BTreeSet<u32>,
    timeline: &BTreeMap<u32, BTreeMap<String, WindowSummary>>,
) -> Burst {
    let mut last = first;
    for &second in errors.range(first..) {
        if second > last + 2 {
            break;
        }
        last = second;
    }
    let mut burst = Burst {
        first_s: Some(first),
        last_s: Some(last),
        seconds: last - first + 1,
        ..Burst::default()
    };
    for (_, ops) in timeline.range(first..=last) {
        for op in ops.values() {
            burst.errors += op.errors;
            burst.requests += op.count;
            for (code, n) in &op.codes {
                *burst.codes.entry(code.clone()).or_default() += n;
            }
        }
    }
    burst
}

/// Each injected fault with the burst of errors it caused (see the module's doc).
pub fn analyse(
    injected: &[Injected],
    timeline: &BTreeMap<u32, BTreeMap<String, WindowSummary>>,
) -> Vec<FaultReport> {
    let errors = error_seconds(timeline);
    injected
        .iter()
        .map(|fault| {
            let from = fault.started_s.max(0.0).floor() as u32;
            let until = fault.ended_s.max(0.0).ceil() as u32 + SETTLE_SECS;
            let burst = errors
                .range(from..=until)
                .next()
                .map(|&first| burst_from(first, &errors, timeline))
                .unwrap_or_default();
            FaultReport {
                injected: fault.clone(),
                burst,
            }
        })
        .collect()
}

/// The longest burst of errors in the whole run, fault or not.
pub fn longest_burst(timeline: &BTreeMap<u32, BTreeMap<String, WindowSummary>>) -> Burst {
    let errors = error_seconds(timeline);
    let mut longest = Burst::default();
    let mut next = errors.iter().next().copied();
    while let Some(first) = next {
        let burst = burst_from(first, &errors, timeline);
        let last = burst.last_s.unwrap_or(first);
        if burst.seconds > longest.seconds {
            longest = burst;
        }
        next = errors.range(last + 1..).next().copied();
    }
    longest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn second(count: u64, codes: &[(&str, u64)]) -> BTreeMap<String, WindowSummary> {
        let codes: BTreeMap<String, u64> =
            codes.iter().map(|(c, n)| ((*c).to_owned(), *n)).collect();
        BTreeMap::from([(
            "lockSeats".to_owned(),
            WindowSummary {
                count,
                errors: codes.values().sum(),
                codes,
                ..WindowSummary::default()
            },
        )])
    }

    #[test]
    fn faults_parse_with_their_time_and_bad_ones_say_why() {
        let fault: Fault = "redis-restart@30s".parse().expect("a fault");
        assert_eq!(fault.kind, FaultKind::RedisRestart);
        assert_eq!(fault.at_s, 30.0);
        assert_eq!(
            "api-kill@1500ms".parse::<Fault>().expect("a fault").at_s,
            1.5
        );
        assert_eq!(
            "gateway-upgrade@2m".parse::<Fault>().expect("a fault").at_s,
            120.0
        );
        assert!(
            "disk-full@3s"
                .parse::<Fault>()
                .expect_err("unknown")
                .contains("postgres-restart")
        );
        assert!("api-kill".parse::<Fault>().is_err());
        assert!("api-kill@-3s".parse::<Fault>().is_err());
        assert!("api-kill@soon".parse::<Fault>().is_err());
    }

    #[test]
    fn a_fault_owns_the_burst_that_starts_while_it_is_injected_or_soon_after() {
        let mut timeline = BTreeMap::new();
        timeline.insert(5, second(100, &[("INTERNAL_ERROR", 1)]));
        for s in 30..=40 {
            timeline.insert(s, second(100, &[]));
        }
        timeline.insert(32, second(90, &[("GATE_UNAVAILABLE", 7)]));
        timeline.insert(33, second(80, &[("GATE_UNAVAILABLE", 3), ("TRANSPORT", 1)]));
        // One quiet second is bridged; two end the burst.
        timeline.insert(35, second(80, &[("BUSY", 2)]));
        timeline.insert(38, second(80, &[("BUSY", 1)]));
        let redis = Injected {
            kind: Some(FaultKind::RedisRestart),
            at_s: 30.0,
            started_s: 30.2,
            ended_s: 31.5,
            ok: true,
            output: String::new(),
        };
        let calm = Injected {
            started_s: 60.0,
            ended_s: 61.0,
            ..redis.clone()
        };

        let reports = analyse(&[redis, calm], &timeline);

        let burst = &reports[0].burst;
        assert_eq!((burst.first_s, burst.last_s), (Some(32), Some(35)));
        assert_eq!(burst.seconds, 4);
        assert_eq!(burst.errors, 13);
        assert_eq!(burst.requests, 90 + 80 + 100 + 80);
        assert_eq!(burst.codes["GATE_UNAVAILABLE"], 10);
        assert_eq!(burst.codes["TRANSPORT"], 1);
        assert_eq!(reports[1].burst, Burst::default(), "no error, no burst");
        assert_eq!(longest_burst(&timeline).seconds, 4);
        assert_eq!(longest_burst(&BTreeMap::new()), Burst::default());
    }

    #[tokio::test]
    async fn the_command_runs_with_the_kind_at_its_time_and_its_output_is_kept() {
        let dir = std::env::temp_dir().join(format!("chaos-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temp dir");
        let script = dir.join("inject.sh");
        std::fs::write(
            &script,
            "#!/bin/sh\necho \"injecting $1\"\n[ \"$1\" != api-kill ]\n",
        )
        .expect("a script");
        let mut permissions = std::fs::metadata(&script).expect("metadata").permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
        std::fs::set_permissions(&script, permissions).expect("chmod");
        let faults: Vec<Fault> = ["api-kill@0.2s", "redis-restart@0s", "gateway-upgrade@60s"]
            .iter()
            .map(|f| f.parse().expect("a fault"))
            .collect();

        let chaos = Chaos::start(&faults, script, unix_ms(), true);
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        let (injected, missed) = chaos.stop();
        let _ = std::fs::remove_dir_all(&dir);

        assert_eq!(injected.len(), 2, "{injected:?}");
        assert_eq!(injected[0].kind, Some(FaultKind::RedisRestart));
        assert!(injected[0].ok);
        assert_eq!(injected[0].output, "injecting redis-restart");
        assert_eq!(injected[1].kind, Some(FaultKind::ApiKill));
        assert!(!injected[1].ok, "a failing command is reported as failed");
        assert!(injected[1].started_s >= 0.2);
        assert_eq!(missed.len(), 1);
        assert_eq!(missed[0].kind, FaultKind::GatewayUpgrade);
    }
}
