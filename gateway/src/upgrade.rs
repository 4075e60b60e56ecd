//! Graceful upgrade: a new gateway process takes over the listening socket of the running one,
//! so a new binary or configuration goes live without refusing a connection.
//!
//! Pingora does the handover: the new process, started with `--upgrade`, listens on
//! `upgrade_sock` while it boots; the old one, on SIGQUIT, sends its listening socket there,
//! keeps accepting for 5 s (Pingora's fixed close timeout) alongside the new one, then stops
//! accepting, lets what it holds finish for `grace_period_secs`, and exits. This module adds
//! what Pingora leaves to the application:
//!
//! - [`check_takeover`]: `--upgrade` with nothing to take over fails at once and says why
//!   (Pingora would wait about 6 s and exit with a bare error code).
//! - [`Signals`]: a SIGQUIT while no new process waits on `upgrade_sock` is refused (Pingora
//!   would stop the only gateway listening).
//! - [`Drain`]: from the handover on, every answer closes its connection, so clients reconnect
//!   (to the shared listener) while the old process still serves; and when the old process
//!   stops accepting, its connections are left to end by themselves within the grace period.
//!   Pingora would close every connection waiting for a request at that moment, and a client
//!   sending on one just then (a kept-alive connection, or one accepted an instant before)
//!   gets no answer: 1 to 8 failed requests per upgrade under the upgrade test's load.

use std::{
    os::unix::fs::FileTypeExt as _,
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use async_trait::async_trait;
use pingora::{
    server::{
        ExecutionPhase, RunArgs, Server, ShutdownSignal, ShutdownSignalWatch, ShutdownWatch,
        configuration::Opt,
    },
    services::background::BackgroundService,
};
use tokio::{
    signal::unix::{SignalKind, signal},
    sync::broadcast::{self, error::RecvError},
};

use crate::{config::Config, error::GatewayError};

/// Where this process's listening socket comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listener {
    /// Bind `listen` (a first start).
    Bind,
    /// Receive the running gateway's socket over `upgrade_sock` (`--upgrade`).
    TakeOver,
}

impl Listener {
    /// [`Listener::TakeOver`] when `--upgrade` was given.
    pub fn from_upgrade_flag(upgrade: bool) -> Self {
        if upgrade { Self::TakeOver } else { Self::Bind }
    }

    /// Pingora's command-line options for this start: only the upgrade flag is ours to set.
    pub(crate) fn pingora_options(self) -> Option<Opt> {
        (self == Self::TakeOver).then(|| Opt {
            upgrade: true,
            ..Opt::default()
        })
    }
}

/// Refuses a takeover that cannot work, before Pingora would wait in vain for a socket that
/// never comes (about 6 s, then a bare exit) or panic on a missing folder.
pub fn check_takeover(config: &Config) -> Result<(), GatewayError> {
    let sock = Path::new(&config.upgrade_sock);
    let folder = sock.parent().unwrap_or(Path::new("/"));
    if !folder.is_dir() {
        return Err(GatewayError::Upgrade(format!(
            "the folder of `upgrade_sock` ({}) does not exist",
            folder.display()
        )));
    }
    // Binding succeeds only where nothing listens yet, and then no gateway holds the address
    // to hand over. (A refused bind may be something else on the port; Pingora's own wait
    // bounds that case.)
    if std::net::TcpListener::bind(&config.listen).is_ok() {
        return Err(GatewayError::Upgrade(format!(
            "nothing listens on {}, so there is no running gateway to take over from: start \
             without --upgrade",
            config.listen
        )));
    }
    Ok(())
}

/// Whether this process is on its way out (its listener handed over, or a stop signal
/// received), and how many client connections it holds. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Drain {
    inner: Arc<DrainState>,
}

#[derive(Debug, Default)]
struct DrainState {
    draining: AtomicBool,
    /// Client connections open now.
    open: AtomicUsize,
}

impl Drain {
    /// True once answers should close their connection.
    pub fn is_draining(&self) -> bool {
        self.inner.draining.load(Ordering::Relaxed)
    }

    /// Starts draining (once; later calls change nothing).
    fn start(&self, why: &str) {
        if !self.inner.draining.swap(true, Ordering::Relaxed) {
            tracing::info!("{why}: answers now close their connections");
        }
    }

    /// Counts a client connection as open until the guard drops.
    pub(crate) fn connection(&self) -> OpenConnection {
        self.inner.open.fetch_add(1, Ordering::Relaxed);
        OpenConnection(self.inner.clone())
    }

    /// Waits until every client connection has closed by itself.
    ///
    /// Run once the listener stopped, instead of closing the connections that wait for a
    /// request: closing one races a client already sending on it, and that request fails.
    /// Left open, each answers its next request with `Connection: close`, or reaches its idle
    /// timeout; the runtime ends whatever remains when the grace period ends, so the wait is
    /// bounded.
    pub(crate) async fn connections_closed(&self) {
        while self.inner.open.load(Ordering::Relaxed) > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// An open client connection; see [`Drain::connections_closed`].
pub(crate) struct OpenConnection(Arc<DrainState>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Starts the [`Drain`] when Pingora has handed the listener over or begins to shut down.
pub struct DrainWatch {
    /// Taken by the one `start`; Pingora's phases are a broadcast, subscribed before running.
    phases: Mutex<Option<broadcast::Receiver<ExecutionPhase>>>,
    drain: Drain,
}

impl DrainWatch {
    /// Watches `server`'s phases for `drain`; call before [`Server::run`].
    pub fn new(server: &Server, drain: Drain) -> Self {
        Self {
            phases: Mutex::new(Some(server.watch_execution_phase())),
            drain,
        }
    }
}

#[async_trait]
impl BackgroundService for DrainWatch {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let phases = self.phases.lock().ok().and_then(|mut phases| phases.take());
        let Some(mut phases) = phases else {
            return;
        };
        let mut watching_phases = true;
        loop {
            tokio::select! {
                phase = phases.recv(), if watching_phases => match phase {
                    Ok(ExecutionPhase::GracefulUpgradeCloseTimeout) => {
                        self.drain.start("listening socket handed to the new gateway");
                    }
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => watching_phases = false,
                },
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        self.drain.start("shutting down");
                        return;
                    }
                }
            }
        }
    }
}

/// Pingora's signals (SIGQUIT: hand the listener to a new process; SIGTERM: graceful stop;
/// SIGINT: stop at once), except that a SIGQUIT while no new process waits on
/// `upgrade_sock` is refused and logged: Pingora would send the socket to nobody and stop
/// listening, leaving no gateway at all.
pub struct Signals {
    upgrade_sock: PathBuf,
}

impl Signals {
    /// The run arguments for [`Server::run`] with these signals.
    pub fn run_args(config: &Config) -> RunArgs {
        RunArgs {
            shutdown_signal: Box::new(Self {
                upgrade_sock: PathBuf::from(&config.upgrade_sock),
            }),
        }
    }

    /// A new process waits: its socket file exists. (Connecting to check would be taken as
    /// the handover itself.)
    fn new_process_waits(&self) -> bool {
        std::fs::metadata(&self.upgrade_sock).is_ok_and(|meta| meta.file_type().is_socket())
    }
}

#[async_trait]
impl ShutdownSignalWatch for Signals {
    async fn recv(&self) -> ShutdownSignal {
        let (mut quit, mut terminate, mut interrupt) = match (
            signal(SignalKind::quit()),
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(quit), Ok(terminate), Ok(interrupt)) => (quit, terminate, interrupt),
            (Err(error), _, _) | (_, Err(error), _) | (_, _, Err(error)) => {
                // A gateway that cannot be stopped by a signal must not run unnoticed.
                tracing::error!(%error, "cannot watch for signals: stopping");
                return ShutdownSignal::FastShutdown;
            }
        };
        loop {
            tokio::select! {
                _ = quit.recv() => {
                    if self.new_process_waits() {
                        return ShutdownSignal::GracefulUpgrade;
                    }
                    tracing::error!(
                        upgrade_sock = %self.upgrade_sock.display(),
                        "SIGQUIT refused: no new gateway waits on upgrade_sock to take the \
                         listening socket (start one with --upgrade first, or use \
                         scripts/upgrade-gateway.sh); still serving"
                    );
                }
                _ = terminate.recv() => return ShutdownSignal::GracefulTerminate,
                _ = interrupt.recv() => return ShutdownSignal::FastShutdown,
            }
        }
    }
}
