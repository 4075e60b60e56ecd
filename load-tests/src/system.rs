//! The system under test seen from behind: its Redis and Postgres (for sampling and the
//! audit), and its processes' CPU and memory from `/proc`.

use std::{collections::BTreeMap, time::Duration};

use anyhow::Context as _;
use fred::prelude::{
    Builder, ClientLike as _, Config as RedisConfig, HashesInterface as _, LuaInterface as _,
};
use sea_orm::{Database, DatabaseConnection};
use serde::{Deserialize, Serialize};
use tokens::store::{Keys, QueueKeys};

/// Connections to the system's stores, and the event's queue keys.
#[derive(Clone)]
pub struct Store {
    pub redis: fred::clients::Client,
    pub db: DatabaseConnection,
    pub keys: QueueKeys,
    pub event: i64,
}

impl Store {
    /// Connects to Redis and Postgres.
    pub async fn connect(
        redis_url: &str,
        prefix: &str,
        database_url: &str,
        event: i64,
    ) -> anyhow::Result<Self> {
        let config = RedisConfig::from_url(redis_url).context("REDIS_URL is not a Redis URL")?;
        let redis = Builder::from_config(config)
            .with_performance_config(|performance| {
                performance.default_command_timeout = Duration::from_secs(5);
            })
            // A run with `--chaos redis-restart` goes on sampling once Redis is back.
            .set_policy(fred::prelude::ReconnectPolicy::new_exponential(
                0, 100, 2_000, 2,
            ))
            .build()
            .context("building a Redis client")?;
        redis.init().await.context("connecting to Redis")?;
        let mut options = sea_orm::ConnectOptions::new(database_url.to_owned());
        options
            .max_connections(2)
            .connect_timeout(Duration::from_secs(5))
            .sqlx_logging(false);
        let db = Database::connect(options)
            .await
            .context("connecting to Postgres")?;
        Ok(Self {
            redis,
            db,
            keys: Keys::new(prefix).queue(event),
            event,
        })
    }

    /// When Redis admitted `fan`, from its admission record (`jti|expiry_ms`) and the
    /// admission's lifetime: Unix ms on Redis's clock. `None` when there is no record.
    pub async fn admitted_at(&self, fan: &str, ttl_ms: i64) -> anyhow::Result<Option<f64>> {
        let record: Option<String> = self.redis.hget(&self.keys.tok, fan).await?;
        Ok(record
            .as_deref()
            .and_then(|record| record.split_once('|'))
            .and_then(|(_, expiry)| expiry.parse::<i64>().ok())
            .map(|expiry| (expiry - ttl_ms) as f64))
    }

    /// One atomic reading of the queue's counters.
    pub async fn sample_queue(&self) -> anyhow::Result<QueueSample> {
        let reply: Vec<String> = self
            .redis
            .eval(
                SAMPLE_SCRIPT,
                vec![
                    self.keys.wait.clone(),
                    self.keys.adm.clone(),
                    self.keys.meta.clone(),
                ],
                Vec::<String>::new(),
            )
            .await
            .context("sampling the queue")?;
        Ok(QueueSample::parse(&reply))
    }
}

/// Reads the queue's counters in one atomic step, so the admitted count and the cap it is
/// compared with come from the same instant.
const SAMPLE_SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local m = redis.call('HMGET', KEYS[3], 'capacity', 'rate', 'serving', 'admitted_total', 'abandoned', 'paused', 'expired')
return {tostring(redis.call('ZCARD', KEYS[1])), tostring(redis.call('ZCARD', KEYS[2])),
  tostring(redis.call('ZCOUNT', KEYS[2], '(' .. now, '+inf')), m[1] or '', m[2] or '', m[3] or '0',
  m[4] or '0', m[5] or '0', m[6] or '0', m[7] or '0', tostring(now)}
";

/// The queue at one instant.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct QueueSample {
    /// ms since the run's start (set by the sampler).
    pub t_ms: f64,
    pub waiting: i64,
    /// Entries in the admitted set (what the cap counts, including run-out ones not yet swept).
    pub admitted: i64,
    /// Admissions still live.
    pub admitted_live: i64,
    /// The event's cap, when an admin set one (else the API's default applies).
    pub capacity: Option<i64>,
    pub rate: Option<f64>,
    pub serving: i64,
    pub admitted_total: i64,
    pub abandoned: i64,
    pub paused: bool,
    pub expired: i64,
    /// Redis's clock, Unix ms.
    pub redis_ms: i64,
}

impl QueueSample {
    /// Reads the sample script's reply.
    pub fn parse(reply: &[String]) -> Self {
        let field = |i: usize| reply.get(i).map(String::as_str).unwrap_or_default();
        let int = |i: usize| field(i).parse::<i64>().unwrap_or(0);
        Self {
            t_ms: 0.0,
            waiting: int(0),
            admitted: int(1),
            admitted_live: int(2),
            capacity: field(3).parse().ok(),
            rate: field(4).parse().ok(),
            serving: int(5),
            admitted_total: int(6),
            abandoned: int(7),
            paused: field(8) == "1",
            expired: int(9),
            redis_ms: int(10),
        }
    }
}

/// CPU and memory of one watched process at one instant.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ProcSample {
    pub t_ms: f64,
    /// Percent of one core since the previous sample.
    pub cpu_pct: f64,
    pub rss_mb: f64,
}

/// Processes to watch, by name; a name may cover several pids (summed).
#[derive(Clone, Debug, Default)]
pub struct Watcher {
    pub pids: BTreeMap<String, Vec<u32>>,
    /// Names given without a pid: looked up again at every sample (processes come and go).
    by_name: Vec<String>,
    /// Per name: when last sampled, and each pid's CPU ticks then.
    last: BTreeMap<String, (f64, BTreeMap<u32, u64>)>,
    last_system: Option<(u64, u64)>,
}

/// Linux's USER_HZ: /proc reports CPU time in these ticks.
const TICKS_PER_SEC: f64 = 100.0;

/// utime + stime of a process, in ticks.
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces) in parentheses.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Resident memory of a process, in MB.
pub fn rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// (busy, total) ticks of the whole machine.
fn system_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?;
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: u64 = values.iter().sum();
    // idle + iowait
    let idle = values.get(3).copied().unwrap_or(0) + values.get(4).copied().unwrap_or(0);
    Some((total - idle, total))
}

impl Watcher {
    /// Parses `name=pid` entries; a bare name is looked up in `/proc/*/comm`.
    pub fn parse(specs: &[String]) -> anyhow::Result<Self> {
        let mut pids: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        for spec in specs.iter().filter(|spec| !spec.is_empty()) {
            match spec.split_once('=') {
                Some((name, pid)) => pids.entry(name.to_owned()).or_default().push(
                    pid.parse()
                        .with_context(|| format!("--watch {spec}: not a pid"))?,
                ),
                None => {
                    pids.insert(spec.clone(), pids_named(spec));
                }
            }
        }
        let by_name = specs
            .iter()
            .filter(|spec| !spec.is_empty() && !spec.contains('='))
            .cloned()
            .collect();
        Ok(Self {
            pids,
            by_name,
            ..Self::default()
        })
    }

    /// Adds pids under a name (the load generator's own processes).
    pub fn add(&mut self, name: &str, pid: u32) {
        self.pids.entry(name.to_owned()).or_default().push(pid);
    }

    /// One sample of every watched name, plus `machine` (busy % of all cores x cores).
    pub fn sample(&mut self, t_ms: f64) -> BTreeMap<String, ProcSample> {
        for name in &self.by_name {
            self.pids.insert(name.clone(), pids_named(name));
        }
        let mut out = BTreeMap::new();
        for (name, pids) in &self.pids {
            let ticks: BTreeMap<u32, u64> = pids
                .iter()
                .filter_map(|pid| Some((*pid, cpu_ticks(*pid)?)))
                .collect();
            let rss: f64 = pids.iter().filter_map(|pid| rss_mb(*pid)).sum();
            // Only pids seen at both samples count: a process that just appeared would
            // otherwise add its whole lifetime's CPU to one interval.
            let cpu_pct = match self.last.get(name) {
                Some((at, before)) if t_ms > *at => {
                    let used: u64 = ticks
                        .iter()
                        .filter_map(|(pid, now)| Some(now.saturating_sub(*before.get(pid)?)))
                        .sum();
                    (used as f64 / TICKS_PER_SEC) / ((t_ms - at) / 1e3) * 100.0
                }
                _ => 0.0,
            };
            self.last.insert(name.clone(), (t_ms, ticks));
            out.insert(
                name.clone(),
                ProcSample {
                    t_ms,
                    cpu_pct,
                    rss_mb: rss,
                },
            );
        }
        if let Some((busy, total)) = system_ticks() {
            if let Some((busy0, total0)) = self.last_system {
                let cores = std::thread::available_parallelism().map_or(1, usize::from) as f64;
                let share = busy.saturating_sub(busy0) as f64
                    / (total.saturating_sub(total0)).max(1) as f64;
                out.insert(
                    "machine".to_owned(),
                    ProcSample {
                        t_ms,
                        cpu_pct: share * cores * 100.0,
                        rss_mb: 0.0,
                    },
                );
            }
            self.last_system = Some((busy, total));
        }
        out
    }
}

/// Pids whose command name is `name`.
pub fn pids_named(name: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim() == name)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_sample_reads_every_field() {
        let reply: Vec<String> = [
            "120",
            "30",
            "28",
            "50",
            "25.5",
            "900",
            "880",
            "3",
            "0",
            "2",
            "1700000000000",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();

        let sample = QueueSample::parse(&reply);

        assert_eq!(
            (sample.waiting, sample.admitted, sample.admitted_live),
            (120, 30, 28)
        );
        assert_eq!(sample.capacity, Some(50));
        assert_eq!(sample.rate, Some(25.5));
        assert_eq!(sample.admitted_total, 880);
        assert!(!sample.paused);
        assert_eq!(sample.redis_ms, 1_700_000_000_000);
    }

    #[test]
    fn an_unset_capacity_reads_as_none() {
        let reply = vec![
            "0".to_owned(),
            "0".to_owned(),
            "0".to_owned(),
            String::new(),
        ];

        assert_eq!(QueueSample::parse(&reply).capacity, None);
    }

    #[test]
    fn this_process_can_be_watched() {
        let pid = std::process::id();
        let mut watcher = Watcher::parse(&[format!("me={pid}")]).expect("parses");

        let first = watcher.sample(0.0);
        let second = watcher.sample(1_000.0);

        assert!(first["me"].rss_mb > 0.0);
        assert!(second["me"].cpu_pct >= 0.0);
        assert!(cpu_ticks(pid).is_some());
    }
}
