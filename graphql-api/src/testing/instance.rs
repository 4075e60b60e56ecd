//! One real API instance on port 0, and the configuration tests run it with.

use std::net::SocketAddr;

use tokio::{sync::oneshot, task::JoinHandle};

use super::{TestDb, TestRedis};
use crate::{config::Config, startup::Application, state::AppState};

/// The configuration a test instance runs with.
pub fn test_config(db: &TestDb, redis: &TestRedis) -> Config {
    let mut config = Config::local_defaults();
    config.bind = SocketAddr::from(([127, 0, 0, 1], 0));
    config.database_url = db.url.clone().into();
    config.redis_url = redis.url.clone().into();
    config.redis_key_prefix = redis.prefix.clone();
    config.db_max_connections = 8;
    config.shutdown_grace_secs = 1;
    // Cheap hashing: tests sign up many fans; the cost is not what they test.
    config.argon2_memory_kib = 1_024;
    config.argon2_iterations = 1;
    // Tests drive the admission ticker themselves unless they turn it on.
    config.workers_enabled = false;
    config.queue_tick_ms = 50;
    // Tests burst far past a small pool's share to test other things (500 fans locking at
    // once): there a request waits for its permit rather than being shed. The shed's own
    // tests set their bounds and a wait of 0.
    config.shed_wait_ms = 30_000;
    config
}

/// One running API instance.
pub struct TestInstance {
    pub address: SocketAddr,
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestInstance {
    /// Starts an instance with this configuration.
    pub async fn start(config: Config) -> Self {
        let app = Application::build(config).await.expect("building the API");
        let address = app.local_addr().expect("bound address");
        let state = app.state().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until_stopped(async move {
            let _ = stopped.await;
        }));
        Self {
            address,
            state,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Stops the instance gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for TestInstance {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
