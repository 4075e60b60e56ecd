//! A private `redis-server` or Redis Cluster, started and stopped by the test.

use std::time::Duration;

/// A private `redis-server` (or a Redis Cluster) for tests that need Redis to themselves:
/// counting commands, proving the queue works on a cluster, or killing a node. Stopped on drop.
pub struct TestRedisServer {
    pub ports: Vec<u16>,
    children: Vec<std::process::Child>,
    /// Each node's extra arguments, to start it again on its port.
    extras: Vec<Vec<String>>,
    dir: std::path::PathBuf,
}

impl TestRedisServer {
    /// One standalone server without persistence.
    pub async fn standalone() -> Self {
        let mut server = Self::empty();
        server.spawn_node(&[]);
        server.wait_ready(&["PING"], "PONG").await;
        server
    }

    /// One standalone server that keeps its data as the project's scripts run Redis: an
    /// append-only file synced every second, so it survives being killed.
    pub async fn standalone_persistent() -> Self {
        let mut server = Self::empty();
        server.spawn_node(&["--appendonly", "yes", "--appendfsync", "everysec"]);
        server.wait_ready(&["PING"], "PONG").await;
        server
    }

    /// Kills every node at once (SIGKILL: no shutdown, no last save), as a crash would.
    pub fn kill(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts every node again on its port and directory (a persistent one reloads its
    /// append-only file) and waits until each answers.
    pub async fn restart(&mut self) {
        for node in 0..self.ports.len() {
            self.restart_node(node);
        }
        self.wait_ready(&["PING"], "PONG").await;
    }

    /// One standalone server on a given port (to bring Redis back where it was).
    pub async fn standalone_on(port: u16) -> Self {
        let mut server = Self::empty();
        server.spawn_node_on(port, &[]);
        server.wait_ready(&["PING"], "PONG").await;
        server
    }

    /// Three primaries forming a Redis Cluster (no replicas).
    pub async fn cluster() -> Self {
        Self::build_cluster(3, 0, "5000").await
    }

    /// Three primaries, each with one replica, as a production cluster runs: a primary that
    /// stops answering for a second (`cluster-node-timeout` 1000 ms) is replaced by its
    /// replica. Returns once every replica has synced with its primary.
    pub async fn cluster_with_replicas() -> Self {
        let server = Self::build_cluster(6, 1, "1000").await;
        let replicas: Vec<usize> = (0..server.ports.len())
            .filter(|node| server.cli(*node, &["ROLE"]).starts_with("slave"))
            .collect();
        assert_eq!(replicas.len(), 3, "one replica per primary");
        for node in replicas {
            server
                .wait_node(node, &["INFO", "replication"], "master_link_status:up")
                .await;
        }
        server
    }

    /// `nodes` cluster nodes with `replicas` per primary, once the cluster reports itself ok.
    async fn build_cluster(nodes: usize, replicas: u8, node_timeout_ms: &str) -> Self {
        let mut server = Self::empty();
        for _ in 0..nodes {
            server.spawn_node(&[
                "--cluster-enabled",
                "yes",
                "--cluster-node-timeout",
                node_timeout_ms,
            ]);
        }
        server.wait_ready(&["PING"], "PONG").await;
        server.create_cluster(replicas);
        server
            .wait_ready(&["CLUSTER", "INFO"], "cluster_state:ok")
            .await;
        server
    }

    /// Runs `redis-cli --cluster create` over every node, with this many replicas per primary.
    fn create_cluster(&self, replicas: u8) {
        let nodes: Vec<String> = self
            .ports
            .iter()
            .map(|port| format!("127.0.0.1:{port}"))
            .collect();
        let created = std::process::Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&nodes)
            .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
            .output()
            .expect("running redis-cli --cluster create");
        assert!(
            created.status.success(),
            "cluster create failed: {}",
            String::from_utf8_lossy(&created.stdout)
        );
    }

    /// One node's answer to a command, as `redis-cli` prints it (empty if it is down).
    pub fn cli(&self, node: usize, command: &[&str]) -> String {
        std::process::Command::new("redis-cli")
            .args(["-p", &self.ports[node].to_string()])
            .args(command)
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
            .unwrap_or_default()
    }

    /// The node (an index into `ports`) that serves `key` as primary, as `live` sees the
    /// cluster; `None` while no healthy primary serves its slot.
    pub fn primary_of(&self, live: usize, key: &str) -> Option<usize> {
        let slot: u16 = self
            .cli(live, &["CLUSTER", "KEYSLOT", key])
            .trim()
            .parse()
            .ok()?;
        for line in self.cli(live, &["CLUSTER", "NODES"]).lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(address), Some(flags)) = (fields.get(1), fields.get(2)) else {
                continue;
            };
            if !flags.contains("master") || flags.contains("fail") {
                continue;
            }
            let serves = fields.iter().skip(8).any(|range| {
                let (low, high) = range.split_once('-').unwrap_or((range, range));
                matches!((low.parse::<u16>(), high.parse::<u16>()), (Ok(low), Ok(high)) if (low..=high).contains(&slot))
            });
            let port = address
                .split(['@', ','])
                .next()
                .and_then(|host| host.rsplit(':').next())
                .and_then(|port| port.parse::<u16>().ok());
            if serves {
                return port.and_then(|port| self.ports.iter().position(|p| *p == port));
            }
        }
        None
    }

    /// Kills one node (SIGKILL), as a machine lost would.
    pub fn kill_node(&mut self, node: usize) {
        let _ = self.children[node].kill();
        let _ = self.children[node].wait();
    }

    /// Waits until every other node sees `lost` as failed and the cluster as healthy again
    /// (its replica promoted and serving its slots).
    pub async fn wait_failover(&self, lost: usize) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        // Nodes killed before (and not restarted) answer nothing: leave them out.
        let others: Vec<usize> = (0..self.ports.len())
            .filter(|n| *n != lost && self.cli(*n, &["PING"]).contains("PONG"))
            .collect();
        let address = format!("127.0.0.1:{}@", self.ports[lost]);
        loop {
            let failed_and_replaced = others.iter().all(|node| {
                let seen_failed = self
                    .cli(*node, &["CLUSTER", "NODES"])
                    .lines()
                    .filter(|line| line.contains(&address))
                    .any(|line| {
                        line.split_whitespace()
                            .nth(2)
                            .is_some_and(|flags| flags.split(',').any(|flag| flag == "fail"))
                    });
                seen_failed
                    && self
                        .cli(*node, &["CLUSTER", "INFO"])
                        .contains("cluster_state:ok")
            });
            if failed_and_replaced {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no replica took over from node {lost} in 30 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn empty() -> Self {
        let dir =
            std::env::temp_dir().join(format!("tickets-redis-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("a temp dir");
        Self {
            ports: Vec::new(),
            children: Vec::new(),
            extras: Vec::new(),
            dir,
        }
    }

    fn spawn_node(&mut self, extra: &[&str]) {
        self.spawn_node_on(free_port_pair(), extra);
    }

    fn spawn_node_on(&mut self, port: u16, extra: &[&str]) {
        let child = self.start(port, extra);
        self.ports.push(port);
        self.children.push(child);
        self.extras
            .push(extra.iter().map(|arg| (*arg).to_owned()).collect());
    }

    /// Starts node `node` again on its port, with its arguments.
    fn restart_node(&mut self, node: usize) {
        let extra: Vec<&str> = self.extras[node].iter().map(String::as_str).collect();
        self.children[node] = self.start(self.ports[node], &extra);
    }

    fn start(&self, port: u16, extra: &[&str]) -> std::process::Child {
        std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(&self.dir)
            .args(["--cluster-config-file", &format!("nodes-{port}.conf")])
            .args(extra)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("starting redis-server")
    }

    /// Waits until one node's answer to `command` contains `expect`.
    async fn wait_node(&self, node: usize, command: &[&str], expect: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while !self.cli(node, command).contains(expect) {
            assert!(
                std::time::Instant::now() < deadline,
                "redis on {} never answered {expect}",
                self.ports[node]
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn wait_ready(&mut self, command: &[&str], expect: &str) {
        for node in 0..self.ports.len() {
            let port = self.ports[node];
            let deadline = std::time::Instant::now() + Duration::from_secs(20);
            loop {
                // A server that exited found its port taken (a port picked free, or the one a
                // stopped server had, can be grabbed by another test's socket meanwhile):
                // start it again until the port is free.
                if matches!(self.children[node].try_wait(), Ok(Some(_))) {
                    self.restart_node(node);
                }
                if self.cli(node, command).contains(expect) {
                    break;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "redis on {port} never answered {expect}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    /// The URL the API takes: `redis://` for one node, `redis-cluster://` for a cluster.
    pub fn url(&self) -> String {
        match self.ports.as_slice() {
            [port] => format!("redis://127.0.0.1:{port}/0"),
            [first, rest @ ..] => {
                let nodes: Vec<String> = rest
                    .iter()
                    .map(|port| format!("node=127.0.0.1:{port}"))
                    .collect();
                format!("redis-cluster://127.0.0.1:{first}?{}", nodes.join("&"))
            }
            [] => String::new(),
        }
    }

    /// Total commands the server(s) have executed (from `INFO commandstats`).
    pub fn commands_executed(&self) -> u64 {
        self.commands_by_name().values().sum()
    }

    /// Commands executed so far, by command name (`INFO` itself left out).
    pub fn commands_by_name(&self) -> std::collections::BTreeMap<String, u64> {
        let mut counts = std::collections::BTreeMap::new();
        for port in &self.ports {
            let output = std::process::Command::new("redis-cli")
                .args(["-p", &port.to_string(), "INFO", "commandstats"])
                .output()
                .expect("redis-cli");
            for line in String::from_utf8_lossy(&output.stdout).lines() {
                let Some(rest) = line.strip_prefix("cmdstat_") else {
                    continue;
                };
                let Some((name, stats)) = rest.split_once(':') else {
                    continue;
                };
                if name == "info" {
                    continue;
                }
                if let Some(calls) = stats
                    .split("calls=")
                    .nth(1)
                    .and_then(|s| s.split(',').next())
                    .and_then(|s| s.parse::<u64>().ok())
                {
                    *counts.entry(name.to_owned()).or_insert(0) += calls;
                }
            }
        }
        counts
    }
}

impl Drop for TestRedisServer {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A free port whose cluster-bus twin (+10000) is free too.
fn free_port_pair() -> u16 {
    loop {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        let port = listener.local_addr().expect("address").port();
        if port < 55_000 && std::net::TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
}
