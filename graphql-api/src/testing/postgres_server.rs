//! A private Postgres cluster, started, crashed and restarted by the test.

use std::{
    os::unix::process::CommandExt as _,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// How long a start (or a restart with its crash recovery) may take on a loaded machine.
const START_DEADLINE: Duration = Duration::from_secs(60);

/// How long a crashed postmaster's children get to notice and exit by themselves.
const ORPHANS_DEADLINE: Duration = Duration::from_secs(10);

/// A Postgres cluster of one test's own (`initdb` into a fresh temporary directory, trust
/// auth, loopback only), for tests that take Postgres down: [`crash`](Self::crash) kills it
/// as a power cut kills a process, [`restart`](Self::restart) starts it again on the same port
/// and data, where crash recovery replays the write-ahead log. Stopped and removed on drop.
pub struct TestPostgresServer {
    /// The port it listens on, 127.0.0.1 only; the same across restarts.
    pub port: u16,
    /// The temporary directory: the data directory, the socket and the log live in it.
    dir: PathBuf,
    /// Where `initdb` and `postgres` live.
    bin: PathBuf,
    /// The OS user and group the server runs as (`None`: as this process).
    run_as: Option<(u32, u32)>,
    /// The running postmaster (started directly, not through `pg_ctl` or `runuser`, so this
    /// is the postmaster's own pid and a kill reaches it, not a wrapper).
    postmaster: Option<Child>,
}

impl TestPostgresServer {
    /// Makes a fresh cluster and starts it; panics with the server's log if it never answers.
    pub async fn start() -> Self {
        let bin = bindir();
        let run_as = server_user();
        let dir =
            std::env::temp_dir().join(format!("tickets-pg-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("a temp dir for Postgres");
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
                .expect("handing the temp dir to postgres");
        }
        let mut server = Self {
            port: free_port(),
            dir,
            bin,
            run_as,
            postmaster: None,
        };
        // `--no-sync`: the files initdb writes need not reach the disk (a machine that dies
        // now loses nothing a test cares about); the server itself runs with fsync on.
        let initdb = server
            .command("initdb")
            .arg("-D")
            .arg(server.data())
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ])
            .output()
            .expect("running initdb");
        assert!(
            initdb.status.success(),
            "initdb failed in {}:\n{}{}",
            server.dir.display(),
            String::from_utf8_lossy(&initdb.stdout),
            String::from_utf8_lossy(&initdb.stderr)
        );
        server.spawn();
        server.wait_ready().await;
        server
    }

    /// `postgres://postgres@127.0.0.1:<port>/postgres`: the admin database, as
    /// `TEST_DATABASE_URL` names the shared server's.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Kills the postmaster with SIGKILL (no shutdown checkpoint, nothing flushed that was
    /// not already), and waits until its children are gone too.
    ///
    /// SIGKILL rather than `pg_ctl stop -m immediate`: both leave the cluster to crash
    /// recovery, but only SIGKILL is a crash the server has no part in. Its backends and
    /// auxiliary processes notice the postmaster's death on their own (each watches a pipe
    /// the postmaster holds) and exit within milliseconds when waiting on a client or a
    /// latch. A restart must wait for them: a new postmaster refuses to start while any of
    /// them still has the old shared memory attached. One that outlives the deadline (a long
    /// query never reaching a wait) is killed, as the machine's crash would have.
    pub async fn crash(&mut self) {
        if !self.kill_postmaster() {
            return;
        }
        let deadline = Instant::now() + ORPHANS_DEADLINE;
        while !self.processes().is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.kill_stragglers();
    }

    /// SIGKILLs the postmaster and reaps it; false if none was running.
    fn kill_postmaster(&mut self) -> bool {
        let Some(mut postmaster) = self.postmaster.take() else {
            return false;
        };
        let _ = postmaster.kill();
        let _ = postmaster.wait();
        true
    }

    fn kill_stragglers(&self) {
        for pid in self.processes() {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    }

    /// Starts the server again on its port and data directory and waits until it accepts
    /// connections (after crash recovery, if it crashed); panics with its log if it never does.
    pub async fn restart(&mut self) {
        if self.postmaster.is_none() {
            self.spawn();
        }
        self.wait_ready().await;
    }

    /// Everything the server has logged since it was made (every start appends).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    /// The cluster's live processes: every Postgres process works in its data directory, so
    /// this finds the postmaster's children even once they are orphans (and those forked
    /// after any list of children was taken).
    fn processes(&self) -> Vec<u32> {
        let data = self.data();
        std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
            // A zombie has no working directory left: it has exited, its memory detached.
            .filter(|pid| {
                std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd == data)
            })
            .collect()
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// A command for one of the server's programs, run as the server's user: Postgres refuses
    /// to run as root, and tests run as root on CI.
    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin.join(program));
        if let Some((uid, gid)) = self.run_as {
            command.uid(uid).gid(gid);
        }
        // The server's own environment, not the test's (a `PGDATA` or `PGPORT` set for the
        // shared server must not leak in).
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("LANG", "C.UTF-8")
            .current_dir(&self.dir);
        command
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("server.log"))
            .expect("opening the server log");
        let child = self
            .command("postgres")
            .arg("-D")
            .arg(self.data())
            .args([
                "-p",
                &self.port.to_string(),
                "-c",
                "listen_addresses=127.0.0.1",
            ])
            .arg("-c")
            .arg(format!("unix_socket_directories={}", self.dir.display()))
            // Durability is what a restart test is about: the settings that make a commit
            // reach the write-ahead log on disk before its answer, written out rather than
            // trusted as defaults. With `synchronous_commit=off` a SIGKILL loses commits whose
            // WAL was still in shared memory: `postgres_restart` then sees holds it was
            // answered for vanish (HOLD_NOT_FOUND on their booking).
            .args(["-c", "fsync=on", "-c", "synchronous_commit=on"])
            .args(["-c", "full_page_writes=on"])
            // Small and quick: a test cluster holds a few tables of a few hundred rows.
            .args(["-c", "shared_buffers=16MB", "-c", "max_connections=60"])
            // The log (at its default level, which tells of crash recovery) goes to the file
            // that a failed start is reported with.
            .args(["-c", "logging_collector=off"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("the server log"))
            .stderr(log)
            .spawn()
            .expect("starting postgres");
        self.postmaster = Some(child);
    }

    async fn wait_ready(&mut self) {
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            if let Some(postmaster) = &mut self.postmaster
                && let Ok(Some(status)) = postmaster.try_wait()
            {
                self.postmaster = None;
                let log = self.log();
                // The port (taken by another test's socket meanwhile) or the old shared memory
                // (a child of a crashed postmaster not yet gone) can be briefly in the way:
                // start again until they are free.
                let transient = log.lines().rev().take(20).any(|line| {
                    line.contains("could not bind")
                        || line.contains("pre-existing shared memory block")
                });
                assert!(
                    transient && Instant::now() < deadline,
                    "postgres on port {} exited ({status}) before accepting connections; its log:\n{log}",
                    self.port
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
                self.spawn();
                continue;
            }
            if self.accepts_connections().await {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "postgres on port {} did not accept connections within {START_DEADLINE:?}; its log:\n{}",
                self.port,
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Whether the server takes connections now (not starting up, not in recovery): a real
    /// sign-in, as the API's pool makes one.
    async fn accepts_connections(&self) -> bool {
        use sea_orm::sqlx::Connection as _;
        let connect = sea_orm::sqlx::postgres::PgConnection::connect(&self.url());
        match tokio::time::timeout(Duration::from_secs(2), connect).await {
            Ok(Ok(connection)) => {
                let _ = connection.close().await;
                true
            }
            _ => false,
        }
    }
}

impl Drop for TestPostgresServer {
    fn drop(&mut self) {
        // Drop cannot wait asynchronously; the children are usually gone in milliseconds.
        if self.kill_postmaster() {
            let deadline = Instant::now() + ORPHANS_DEADLINE;
            while !self.processes().is_empty() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            self.kill_stragglers();
        }
        if std::env::var_os("KEEP_TEST_DB").is_some() {
            eprintln!("kept the test cluster in {}", self.dir.display());
            return;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Where the Postgres programs are: `PG_BINDIR`, else `pg_config --bindir`, else the newest
/// Debian install under `/usr/lib/postgresql` (where `scripts/up.sh` looks too).
fn bindir() -> PathBuf {
    let has_initdb = |dir: &Path| dir.join("initdb").is_file();
    if let Some(dir) = std::env::var_os("PG_BINDIR").map(PathBuf::from) {
        assert!(
            has_initdb(&dir),
            "PG_BINDIR={} holds no initdb",
            dir.display()
        );
        return dir;
    }
    if let Ok(output) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        if output.status.success() && has_initdb(&dir) {
            return dir;
        }
    }
    let mut installed: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, dir)| has_initdb(dir))
        .collect();
    installed.sort();
    installed
        .pop()
        .map(|(_, dir)| dir)
        .expect("no Postgres server programs (initdb) found: install postgresql, or set PG_BINDIR")
}

/// The user to run the server as: `postgres` when this process is root (initdb and postgres
/// refuse root), else nobody else (`None`).
fn server_user() -> Option<(u32, u32)> {
    let id = |args: &[&str]| -> Option<u32> {
        let output = Command::new("id").args(args).output().ok()?;
        String::from_utf8_lossy(&output.stdout).trim().parse().ok()
    };
    if id(&["-u"]) != Some(0) {
        return None;
    }
    let uid = id(&["-u", "postgres"])
        .expect("running as root needs a `postgres` OS user to run Postgres as");
    let gid = id(&["-g", "postgres"]).expect("the `postgres` OS user's group");
    Some((uid, gid))
}

/// A free loopback port below the kernel's ephemeral range: the server gets it back after a
/// restart, and no outgoing connection (which takes its port from that range) can take it
/// while the server is down.
fn free_port() -> u16 {
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32_768);
    let low = 10_000.min(ephemeral_low / 2);
    for _ in 0..1_000 {
        let port = low + (rand::random::<u16>() % (ephemeral_low - low));
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port below {ephemeral_low}")
}
