//! A TCP relay in front of Postgres that counts round trips: every time a client speaks after
//! the server last spoke (or first on a connection) is one. That is what the sale path's
//! cost is measured in: a statement, a `BEGIN` and a `COMMIT` each cost one, and so does the
//! first run of a statement on a connection (sqlx prepares it first), which is why tests
//! warm a one-connection pool before counting.
//!
//! Bare liveness pings (a lone protocol `Sync`, answered by `ReadyForQuery`) are counted
//! apart: sqlx sends one each time a connection goes back to its pool, after the caller has
//! its answer, and Postgres neither parses nor plans anything for it.
//!
//! The relay can also cut Postgres off ([`RoundTrips::cut`]): every connection through it
//! closes and new ones are closed at once, which is a Postgres restart as the API sees it,
//! until [`RoundTrips::restore`].

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
};

use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::{TcpListener, TcpStream},
};

/// The relay: point a database URL at [`RoundTrips::address`].
pub struct RoundTrips {
    pub address: SocketAddr,
    count: Arc<AtomicU64>,
    pings: Arc<AtomicU64>,
    /// True while Postgres is cut off.
    down: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl RoundTrips {
    /// Starts relaying to `upstream` (Postgres) on a fresh loopback port.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("binding the round-trip relay");
        let address = listener.local_addr().expect("relay address");
        let count = Arc::new(AtomicU64::new(0));
        let pings = Arc::new(AtomicU64::new(0));
        let counters = (count.clone(), pings.clone());
        let (down, _) = tokio::sync::watch::channel(false);
        let watch = down.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let counters = counters.clone();
                let mut down = watch.subscribe();
                tokio::spawn(async move {
                    if *down.borrow() {
                        return;
                    }
                    if let Ok(server) = TcpStream::connect(upstream).await {
                        tokio::select! {
                            () = relay(client, server, counters) => {}
                            _ = down.wait_for(|down| *down) => {}
                        }
                    }
                });
            }
        });
        Self {
            address,
            count,
            pings,
            down,
            task,
        }
    }

    /// A relay in front of the Postgres server that `url` names.
    pub async fn in_front_of(url: &str) -> Self {
        let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
        let authority = rest.split('/').next().unwrap_or(rest);
        let host = authority
            .rsplit_once('@')
            .map_or(authority, |(_, host)| host);
        let host = if host.contains(':') {
            host.to_owned()
        } else {
            format!("{host}:5432")
        };
        let upstream = tokio::net::lookup_host(host.as_str())
            .await
            .expect("resolving Postgres")
            .next()
            .expect("an address for Postgres");
        Self::start(upstream).await
    }

    /// Round trips so far that carried a query (or a `BEGIN`/`COMMIT`), over every connection.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::SeqCst)
    }

    /// Cuts Postgres off: every open connection closes, new ones close at once.
    pub fn cut(&self) {
        self.down.send_replace(true);
    }

    /// Lets connections through again.
    pub fn restore(&self) {
        self.down.send_replace(false);
    }

    /// Bare liveness pings so far (a pool testing a connection).
    pub fn pings(&self) -> u64 {
        self.pings.load(Ordering::SeqCst)
    }

    /// `url` with its host and port replaced by the relay's, and TLS off: the relay must
    /// read the protocol to tell a liveness ping from a query.
    pub fn url_through(&self, url: &str) -> String {
        let (scheme, rest) = url.split_once("://").expect("a database URL");
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let user = authority
            .rsplit_once('@')
            .map_or(String::new(), |(user, _)| format!("{user}@"));
        let joiner = if path.contains('?') { '&' } else { '?' };
        format!(
            "{scheme}://{user}{}/{path}{joiner}sslmode=disable",
            self.address
        )
    }
}

impl Drop for RoundTrips {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The protocol's `Sync` message alone: what a liveness ping sends.
const SYNC: [u8; 5] = [b'S', 0, 0, 0, 4];

async fn relay(
    client: TcpStream,
    server: TcpStream,
    (count, pings): (Arc<AtomicU64>, Arc<AtomicU64>),
) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    // True when the server spoke last: the client's next bytes start a new round trip.
    let server_spoke = Arc::new(AtomicBool::new(true));
    let spoke = server_spoke.clone();
    let upstream = async move {
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let n = match client_read.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if spoke.swap(false, Ordering::SeqCst) {
                let counter = if buffer[..n] == SYNC { &pings } else { &count };
                counter.fetch_add(1, Ordering::SeqCst);
            }
            if server_write.write_all(&buffer[..n]).await.is_err() {
                break;
            }
        }
    };
    let downstream = async move {
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let n = match server_read.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            // Marked before the client can see the bytes, so its answer counts as new.
            server_spoke.store(true, Ordering::SeqCst);
            if client_write.write_all(&buffer[..n]).await.is_err() {
                break;
            }
        }
    };
    tokio::join!(upstream, downstream);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn urls_are_pointed_at_the_relay() {
        let relay = RoundTrips::start("127.0.0.1:9".parse().expect("addr")).await;
        let url = relay.url_through("postgres://postgres@127.0.0.1:5432/test_db");
        assert_eq!(
            url,
            format!(
                "postgres://postgres@{}/test_db?sslmode=disable",
                relay.address
            )
        );
        let bare = relay.url_through("postgres://localhost/x?application_name=a");
        assert_eq!(
            bare,
            format!(
                "postgres://{}/x?application_name=a&sslmode=disable",
                relay.address
            )
        );
    }
}
