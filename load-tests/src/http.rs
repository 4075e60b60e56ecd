//! GraphQL over HTTP, as fans send it: spread over several source addresses (the gateway
//! limits per address, and real fans come from many), every request timed and classified.
//!
//! Latency is measured from the moment a fan wants to send, so time spent waiting for one
//! of the process's in-flight slots counts (and is also reported alone as `client.wait`: if
//! it grows, the load generator is the bottleneck, not the system).

use std::{
    net::{IpAddr, Ipv4Addr},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::{
    busy,
    metrics::{Outcome, Recorder, micros},
};

/// A coded failure of one request.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    /// `extensions.code`, the gateway's `error.code`, `HTTP_<status>`, `TIMEOUT` or
    /// `TRANSPORT`.
    pub code: String,
    pub message: String,
    /// The error's extensions (e.g. `seatIds` of `SEAT_TAKEN`).
    pub extensions: Value,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

/// Reads an answer's body into its data or its first coded error.
pub fn classify(status: u16, body: &[u8]) -> Result<Value, ApiError> {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let Some(value) = parsed else {
        return Err(ApiError {
            code: format!("HTTP_{status}"),
            message: String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
            extensions: Value::Null,
        });
    };
    if let Some(first) = value
        .get("errors")
        .and_then(Value::as_array)
        .and_then(|errors| errors.first())
    {
        let extensions = first.get("extensions").cloned().unwrap_or(Value::Null);
        return Err(ApiError {
            code: extensions
                .get("code")
                .and_then(Value::as_str)
                .unwrap_or("GRAPHQL_ERROR")
                .to_owned(),
            message: first
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            extensions,
        });
    }
    if let Some(error) = value.get("error") {
        // The gateway's refusals and the API's plain-JSON errors.
        return Err(ApiError {
            code: error
                .get("code")
                .and_then(Value::as_str)
                .unwrap_or("HTTP_ERROR")
                .to_owned(),
            message: error
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            extensions: error.clone(),
        });
    }
    if !(200..300).contains(&status) {
        return Err(ApiError {
            code: format!("HTTP_{status}"),
            message: String::new(),
            extensions: Value::Null,
        });
    }
    Ok(value.get("data").cloned().unwrap_or(Value::Null))
}

/// Refuses any target that is not this machine.
pub fn ensure_loopback(url: &str) -> anyhow::Result<()> {
    let host = url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split(['/', ':']).next())
        .unwrap_or_default();
    let loopback = host == "localhost"
        || host
            .parse::<Ipv4Addr>()
            .is_ok_and(|address| address.is_loopback());
    if loopback {
        Ok(())
    } else {
        bail!("refusing to load-test {host:?}: loopback addresses (127.0.0.0/8) only")
    }
}

/// The `n`-th source address: 127.0.0.2, 127.0.0.3, ... (127.0.0.1 stays for the servers'
/// own traffic, so per-address limits on it are not hit by the test).
pub fn source_ip(n: usize, count: u8) -> IpAddr {
    let count = usize::from(count.max(1));
    let host = 2 + (n % count) as u32;
    IpAddr::V4(Ipv4Addr::from(0x7F00_0000 + host))
}

/// The shared HTTP side of a process.
#[derive(Clone)]
pub struct Http {
    inner: Arc<Inner>,
}

struct Inner {
    base: String,
    clients: Vec<reqwest::Client>,
    slots: Semaphore,
    recorder: Arc<Recorder>,
}

impl Http {
    /// Clients for `base`, one per source address.
    pub fn new(
        base: &str,
        source_ips: u8,
        max_in_flight: usize,
        timeout: Duration,
        recorder: Arc<Recorder>,
    ) -> anyhow::Result<Self> {
        ensure_loopback(base)?;
        let clients = (0..usize::from(source_ips.max(1)))
            .map(|n| {
                reqwest::Client::builder()
                    .local_address(source_ip(n, source_ips))
                    .timeout(timeout)
                    .connect_timeout(Duration::from_secs(5))
                    .tcp_nodelay(true)
                    .pool_idle_timeout(Duration::from_secs(30))
                    .build()
                    .context("building an HTTP client")
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self {
            inner: Arc::new(Inner {
                base: base.trim_end_matches('/').to_owned(),
                clients,
                slots: Semaphore::new(max_in_flight.max(1)),
                recorder,
            }),
        })
    }

    /// The recorder requests are recorded in.
    pub fn recorder(&self) -> &Arc<Recorder> {
        &self.inner.recorder
    }

    /// Runs one GraphQL operation as fan `fan` (its number picks the source address),
    /// records it under `op`, and returns its data or its coded error. Codes in `expected`
    /// count as expected outcomes, not errors. A `BUSY` answer, or one that says a part is
    /// away for a moment, is waited out and the same request sent again ([`busy`]); the
    /// operation is recorded once, as its last try.
    #[expect(
        clippy::too_many_arguments,
        reason = "one call site shape for every request"
    )]
    pub async fn gql(
        &self,
        fan: usize,
        op: &str,
        path: &str,
        query: &str,
        variables: Value,
        bearer: Option<&str>,
        expected: &[&str],
    ) -> Result<Value, ApiError> {
        let (started, result) = self
            .retrying(op, || self.send(fan, path, query, &variables, bearer))
            .await;
        let outcome = match &result {
            Ok(_) => Outcome::Ok,
            Err(error) if expected.contains(&error.code.as_str()) => {
                Outcome::Expected(error.code.clone())
            }
            Err(error) => Outcome::Error(error.code.clone()),
        };
        self.inner.recorder.request(op, started.elapsed(), outcome);
        result
    }

    /// Sends with `send` until the answer is not one worth sending again (`BUSY`, a part
    /// away) or the retries run out, counting each answer, retry and wait; the last try's
    /// start and result.
    async fn retrying<F, Fut>(&self, op: &str, mut send: F) -> (Instant, Result<Value, ApiError>)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Value, ApiError>>,
    {
        let recorder = &self.inner.recorder;
        let mut attempt = 0;
        loop {
            let started = Instant::now();
            let result = send().await;
            let family = match &result {
                Err(error) => busy::retry_family(&error.code).map(|family| (family, error)),
                Ok(_) => None,
            };
            let Some((family, error)) = family else {
                return (started, result);
            };
            recorder.count(&format!("{family}.answers"), 1);
            recorder.count(&format!("{family}.{op}"), 1);
            if family != "busy" {
                recorder.count(&format!("{family}.{}", error.code), 1);
            }
            if attempt >= busy::MAX_RETRIES {
                recorder.count(&format!("{family}.gave_up"), 1);
                return (started, result);
            }
            let wait = busy::delay(busy::hint(error), attempt, rand::random::<f64>());
            recorder.count(&format!("{family}.retries"), 1);
            recorder.value(&format!("{family}.backoff"), micros(wait));
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// GETs a JSON file (the seat layout) as fan `fan`, recorded under `op`: the parsed body,
    /// or the coded error of a refusal. `BUSY` and a part away are retried as in [`Self::gql`].
    pub async fn get_json(&self, fan: usize, op: &str, path: &str) -> Result<Value, ApiError> {
        let (started, result) = self.retrying(op, || self.fetch(fan, path)).await;
        let outcome = match &result {
            Ok(_) => Outcome::Ok,
            Err(error) => Outcome::Error(error.code.clone()),
        };
        self.inner.recorder.request(op, started.elapsed(), outcome);
        result
    }

    async fn fetch(&self, fan: usize, path: &str) -> Result<Value, ApiError> {
        let _slot = self.inner.slots.acquire().await.map_err(|_| ApiError {
            code: "SHUTDOWN".into(),
            message: "the load generator is stopping".into(),
            extensions: Value::Null,
        })?;
        let client = &self.inner.clients[fan % self.inner.clients.len()];
        let transport = |error: reqwest::Error| ApiError {
            code: if error.is_timeout() {
                "TIMEOUT".into()
            } else {
                "TRANSPORT".into()
            },
            message: error.to_string(),
            extensions: Value::Null,
        };
        let response = client
            .get(format!("{}{path}", self.inner.base))
            .send()
            .await
            .map_err(transport)?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(transport)?;
        if status != 200 {
            return Err(classify(status, &body).err().unwrap_or(ApiError {
                code: format!("HTTP_{status}"),
                message: String::new(),
                extensions: Value::Null,
            }));
        }
        serde_json::from_slice(&body).map_err(|error| ApiError {
            code: "BAD_JSON".into(),
            message: error.to_string(),
            extensions: Value::Null,
        })
    }

    async fn send(
        &self,
        fan: usize,
        path: &str,
        query: &str,
        variables: &Value,
        bearer: Option<&str>,
    ) -> Result<Value, ApiError> {
        let waited = Instant::now();
        let _slot = self.inner.slots.acquire().await.map_err(|_| ApiError {
            code: "SHUTDOWN".into(),
            message: "the load generator is stopping".into(),
            extensions: Value::Null,
        })?;
        self.inner
            .recorder
            .value("client.wait", micros(waited.elapsed()));
        let client = &self.inner.clients[fan % self.inner.clients.len()];
        let mut request = client
            .post(format!("{}{path}", self.inner.base))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let transport = |error: reqwest::Error| ApiError {
            code: if error.is_timeout() {
                "TIMEOUT".into()
            } else {
                "TRANSPORT".into()
            },
            message: error.to_string(),
            extensions: Value::Null,
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(transport)?;
        classify(status, &body)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;

    /// A server answering each connection with the next of `answers` (status, JSON body)
    /// and closing it; the number of requests it took.
    async fn scripted(
        answers: Vec<(u16, &'static str)>,
    ) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let taken = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = taken.clone();
        tokio::spawn(async move {
            for (status, body) in answers {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let mut head = vec![0_u8; 4096];
                let _ = stream.read(&mut head).await;
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let answer = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
            }
        });
        (base, taken)
    }

    #[tokio::test]
    async fn a_layout_answered_busy_is_fetched_again_and_counted_as_a_retry() {
        let (base, taken) = scripted(vec![
            (
                503,
                r#"{"error":{"code":"BUSY","message":"busy","retryAfterMs":1}}"#,
            ),
            (200, r#"{"runs":[1,2]}"#),
        ])
        .await;
        let recorder = Arc::new(crate::metrics::Recorder::new(0.0));
        let http =
            Http::new(&base, 1, 4, Duration::from_secs(5), recorder.clone()).expect("client");

        let layout = http.get_json(0, "layout", "/events/1/layout.json").await;

        assert_eq!(
            layout.expect("the second answer")["runs"],
            serde_json::json!([1, 2])
        );
        assert_eq!(taken.load(std::sync::atomic::Ordering::SeqCst), 2);
        let counters = recorder.take().counters;
        assert_eq!(counters.get("busy.retries"), Some(&1), "{counters:?}");
        assert_eq!(counters.get("busy.layout"), Some(&1), "{counters:?}");
    }

    #[test]
    fn graphql_errors_give_their_extension_code() {
        let body = br#"{"data":null,"errors":[{"message":"taken","extensions":{"code":"SEAT_TAKEN","seatIds":["7"]}}]}"#;

        let error = classify(200, body).expect_err("an error");

        assert_eq!(error.code, "SEAT_TAKEN");
        assert_eq!(error.extensions["seatIds"][0], "7");
    }

    #[test]
    fn gateway_refusals_give_their_code() {
        let body = br#"{"error":{"code":"RATE_LIMITED","message":"slow down"}}"#;

        assert_eq!(
            classify(429, body).expect_err("an error").code,
            "RATE_LIMITED"
        );
        assert_eq!(
            classify(502, b"<html>").expect_err("an error").code,
            "HTTP_502"
        );
    }

    #[test]
    fn data_comes_back_when_there_is_no_error() {
        let data = classify(200, br#"{"data":{"ping":true}}"#).expect("data");

        assert_eq!(data["ping"], true);
    }

    #[test]
    fn only_loopback_targets_are_accepted() {
        assert!(ensure_loopback("http://127.0.0.1:8000").is_ok());
        assert!(ensure_loopback("http://127.4.5.6/graphql").is_ok());
        assert!(ensure_loopback("ws://localhost:8080").is_ok());
        assert!(ensure_loopback("http://10.0.0.1:8000").is_err());
        assert!(ensure_loopback("http://example.com").is_err());
        assert!(ensure_loopback("http://127.0.0.1.evil.com").is_err());
    }

    #[test]
    fn source_addresses_skip_127_0_0_1_and_wrap() {
        assert_eq!(source_ip(0, 4).to_string(), "127.0.0.2");
        assert_eq!(source_ip(3, 4).to_string(), "127.0.0.5");
        assert_eq!(source_ip(4, 4).to_string(), "127.0.0.2");
    }
}
