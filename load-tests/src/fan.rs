//! What one fan does, step by step: sign up, join the queue, wait (subscribed or polling),
//! learn of the admission, choose seats from the map, hold, book and pay (or not).
//!
//! Every step is a real request through the target and is timed; codes that are part of
//! normal life in a rush (`SEAT_TAKEN`, a deliberately declined card) are expected
//! outcomes, not errors.

use std::{
    collections::HashSet,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use base64::Engine as _;
use futures_util::StreamExt as _;
use rand::{Rng as _, seq::IndexedRandom as _};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use crate::{
    config::{BuyArgs, WaitArgs},
    http::{ApiError, Http},
    metrics::{FanRecord, Recorder, micros, unix_ms},
    system::Store,
    ws::{self, RawOperation},
};

/// GraphQL documents, as the web client sends them.
pub mod ops {
    pub const REGISTER: &str =
        "mutation($i: RegisterInput!) { register(input: $i) { accessToken user { id role } } }";
    pub const LOGIN: &str = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken user { id role } } }";
    pub const EVENTS: &str = "{ events { id name artist venue startsAt status salePath categories { name colour price { formatted } } } }";
    pub const EVENT: &str = "query($id: ID!) { event(id: $id) { id name status gateEnabled maxSeatsPerFan salePath saleOpensAt } }";
    pub const EVENT_BY_SLUG: &str = "query($s: String!) { eventBySlug(slug: $s) { id name status gateEnabled maxSeatsPerFan salePath saleOpensAt } }";
    pub const JOIN: &str = "mutation($e: ID!) { joinQueue(eventId: $e) { state ticketNumber position nowServing admission { token expiresAt seatCap } } }";
    pub const HEARTBEAT: &str = "mutation($e: ID!) { heartbeat(eventId: $e) { state ticketNumber position nowServing updatedAt admission { token expiresAt seatCap } } }";
    pub const LEAVE: &str = "mutation($e: ID!) { leaveQueue(eventId: $e) }";
    pub const POSITION: &str = "subscription($e: ID!) { queuePosition(eventId: $e) { state ticketNumber position exact nowServing updatedAt admission { token expiresAt seatCap } } }";
    pub const SEAT_MAP: &str = "{ seatMap { seatCount sequence bounds { minX minY maxX maxY } \
        categories { id name colour price { amountMinor currency } } \
        sections { name categoryId seatCount labelX labelY } \
        runs { section row categoryId firstSeatId firstNumber count x y dx dy } status } }";
    pub const AVAILABILITY: &str = "{ availability { total available held booked categories { category { name } available } } }";
    pub const SEATS_PAGE: &str = "query($after: String) { seats(first: 100, after: $after, status: AVAILABLE) { \
        edges { cursor node { id section row number status category { name } } } pageInfo { hasNextPage endCursor } } }";
    pub const LOCK: &str = "mutation($s: [ID!]!, $k: String!) { lockSeats(seatIds: $s, idempotencyKey: $k) { id status expiresAt seats { id } total { amountMinor } } }";
    pub const BOOK: &str = "mutation($h: ID!, $k: String!) { createBooking(holdId: $h, idempotencyKey: $k) { id status reference total { amountMinor currency } } }";
    pub const PAY: &str = "mutation($b: ID!, $m: PaymentMethod!, $d: PaymentDetailsInput!, $k: String!) { confirmPayment(bookingId: $b, method: $m, details: $d, idempotencyKey: $k) { booking { id status seats { id } } payment { status } } }";
    pub const RELEASE: &str = "mutation($h: ID!) { releaseSeats(holdId: $h) }";
    pub const MY_BOOKINGS: &str = "{ myBookings { id reference status seats { id } } }";
    pub const STATS: &str = "query($e: ID!) { queueStats(eventId: $e) { waiting admitted abandoned expired admittedTotal nowServing admissionRate admissionCapacity oldestWaitSeconds paused } }";
    pub const SET_RATE: &str = "mutation($e: ID!, $r: Float!) { setAdmissionRate(eventId: $e, perSecond: $r) { admissionRate } }";
    pub const SET_CAPACITY: &str = "mutation($e: ID!, $c: Int!) { setAdmissionCapacity(eventId: $e, capacity: $c) { admissionCapacity } }";
    pub const PAUSE: &str = "mutation($e: ID!) { pauseQueue(eventId: $e) { paused } }";
    pub const RESUME: &str = "mutation($e: ID!) { resumeQueue(eventId: $e) { paused } }";
}

/// The event under test.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct EventInfo {
    pub id: i64,
    pub name: String,
    pub status: String,
    pub gate_enabled: bool,
    pub max_seats_per_fan: u32,
    pub sale_path: String,
}

impl EventInfo {
    /// Looks the event up by id or slug on the public schema.
    pub async fn find(http: &Http, id: Option<i64>, slug: Option<&str>) -> anyhow::Result<Self> {
        let data = match (id, slug) {
            (Some(id), _) => http
                .gql(
                    0,
                    "setup.event",
                    "/graphql",
                    ops::EVENT,
                    json!({ "id": id }),
                    None,
                    &[],
                )
                .await?["event"]
                .clone(),
            (None, Some(slug)) => http
                .gql(
                    0,
                    "setup.event",
                    "/graphql",
                    ops::EVENT_BY_SLUG,
                    json!({ "s": slug }),
                    None,
                    &[],
                )
                .await?["eventBySlug"]
                .clone(),
            (None, None) => bail!("name the event with --event ID or --event-slug SLUG"),
        };
        Ok(Self {
            id: data["id"]
                .as_str()
                .and_then(|id| id.parse().ok())
                .context("the event has no id")?,
            name: data["name"].as_str().unwrap_or_default().to_owned(),
            status: data["status"].as_str().unwrap_or_default().to_owned(),
            gate_enabled: data["gateEnabled"].as_bool().unwrap_or(true),
            max_seats_per_fan: data["maxSeatsPerFan"].as_u64().unwrap_or(4) as u32,
            sale_path: data["salePath"]
                .as_str()
                .map_or_else(|| "/sale/0/graphql".to_owned(), str::to_owned),
        })
    }
}

/// A fan's account and sign-in.
#[derive(Clone, Debug)]
pub struct Account {
    pub email: String,
    /// The user id as the queue spells it (32 hex digits).
    pub fan_key: String,
    pub access_token: String,
}

/// The password every load-test account uses.
pub const PASSWORD: &str = "load-test-password-1";

/// A load-test fan's email.
pub fn email(run_id: &str, index: u32) -> String {
    format!("lt-{run_id}-{index}@load.test")
}

fn account_from(email: String, payload: &Value) -> anyhow::Result<Account> {
    let id = payload["user"]["id"]
        .as_str()
        .context("sign-in without a user id")?;
    Ok(Account {
        email,
        fan_key: id.replace('-', ""),
        access_token: payload["accessToken"]
            .as_str()
            .context("sign-in without an access token")?
            .to_owned(),
    })
}

/// Creates an account (or signs in when it exists) and returns its session.
pub async fn sign_up(http: &Http, n: usize, op: &str, email: String) -> Result<Account, ApiError> {
    let register = http
        .gql(
            n,
            op,
            "/graphql",
            ops::REGISTER,
            json!({ "i": { "email": email, "password": PASSWORD, "displayName": "Load Test Fan" } }),
            None,
            &["EMAIL_TAKEN"],
        )
        .await;
    let payload = match register {
        Ok(data) => data["register"].clone(),
        Err(error) if error.code == "EMAIL_TAKEN" => http
            .gql(
                n,
                "login",
                "/graphql",
                ops::LOGIN,
                json!({ "e": email, "p": PASSWORD }),
                None,
                &[],
            )
            .await?["login"]
            .clone(),
        Err(error) => return Err(error),
    };
    account_from(email, &payload).map_err(|error| ApiError {
        code: "BAD_ANSWER".into(),
        message: error.to_string(),
        extensions: Value::Null,
    })
}

/// Signs in (registering first when needed) an account with its own password.
pub async fn admin_session(http: &Http, email: &str, password: &str) -> anyhow::Result<String> {
    let login = http
        .gql(
            0,
            "setup.admin",
            "/graphql",
            ops::LOGIN,
            json!({ "e": email, "p": password }),
            None,
            &["INVALID_CREDENTIALS"],
        )
        .await;
    let payload = match login {
        Ok(data) => data["login"].clone(),
        Err(error) if error.code == "INVALID_CREDENTIALS" => {
            http.gql(
                0,
                "setup.admin",
                "/graphql",
                ops::REGISTER,
                json!({ "i": { "email": email, "password": password, "displayName": "Load Test Admin" } }),
                None,
                &[],
            )
            .await
            .context("registering the admin (is its email in the API's ADMIN_EMAILS?)")?["register"]
                .clone()
        }
        Err(error) => return Err(error).context("signing in the admin"),
    };
    if payload["user"]["role"].as_str() != Some("ADMIN") {
        bail!("{email} is not an admin: add it to the API's ADMIN_EMAILS");
    }
    Ok(payload["accessToken"]
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

/// The admission a fan got.
#[derive(Clone, Debug)]
pub struct Admission {
    pub token: String,
    pub seat_cap: u32,
}

/// `exp - iat` of a JWT, in seconds: the admission's lifetime.
pub fn token_lifetime_secs(token: &str) -> Option<i64> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    Some(claims["exp"].as_i64()? - claims["iat"].as_i64()?)
}

/// How a payment goes for one fan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayPlan {
    /// Pays at once.
    Pay,
    /// Declined, then pays with another card.
    DeclineRetry,
    /// Declined, then releases the seats and leaves.
    DeclineGiveUp,
    /// Changes their mind after holding: releases the seats and leaves.
    Release,
    /// Closes the tab holding seats: the hold runs out on its own.
    WalkAway,
    /// The provider times out, then the fan retries and pays.
    TimeoutRetry,
}

/// Parses `pay=80,decline-retry=6,...` into weighted plans.
pub fn parse_pay_mix(text: &str) -> anyhow::Result<Vec<(PayPlan, u32)>> {
    let mut mix = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, weight) = part
            .split_once('=')
            .with_context(|| format!("pay mix entry {part:?} must be name=weight"))?;
        let plan = match name.trim() {
            "pay" => PayPlan::Pay,
            "decline-retry" => PayPlan::DeclineRetry,
            "decline-give-up" => PayPlan::DeclineGiveUp,
            "release" => PayPlan::Release,
            "walk-away" => PayPlan::WalkAway,
            "timeout-retry" => PayPlan::TimeoutRetry,
            other => bail!("unknown payment outcome {other:?}"),
        };
        mix.push((
            plan,
            weight
                .trim()
                .parse()
                .context("a weight is a whole number")?,
        ));
    }
    if mix.iter().map(|(_, w)| w).sum::<u32>() == 0 {
        bail!("the pay mix needs some weight");
    }
    Ok(mix)
}

/// Draws a plan from a weighted mix.
pub fn draw_plan(mix: &[(PayPlan, u32)], rng: &mut ChaCha8Rng) -> PayPlan {
    let total: u32 = mix.iter().map(|(_, w)| w).sum();
    let mut pick = rng.random_range(0..total.max(1));
    for (plan, weight) in mix {
        if pick < *weight {
            return *plan;
        }
        pick -= weight;
    }
    PayPlan::Pay
}

/// Seats as a fan's client sees them on the map.
#[derive(Clone, Debug, Default)]
pub struct SeatView {
    /// Seat ids in map order, with their run.
    pub seats: Vec<(i64, u32)>,
    /// `true` when the map showed the seat available.
    pub free: Vec<bool>,
}

impl SeatView {
    /// Reads a `seatMap` answer.
    pub fn from_map(map: &Value) -> Self {
        let mut view = Self::default();
        let status = map["status"].as_str().unwrap_or_default().as_bytes();
        for (r, run) in map["runs"].as_array().into_iter().flatten().enumerate() {
            let first: i64 = run["firstSeatId"]
                .as_str()
                .and_then(|id| id.parse().ok())
                .unwrap_or(0);
            for k in 0..run["count"].as_i64().unwrap_or(0) {
                view.seats.push((first + k, r as u32));
            }
        }
        view.free = (0..view.seats.len())
            .map(|i| status.get(i) == Some(&b'A'))
            .collect();
        view
    }

    /// Seats still believed free.
    pub fn free_count(&self, taken: &HashSet<i64>) -> usize {
        self.seats
            .iter()
            .zip(&self.free)
            .filter(|((id, _), free)| **free && !taken.contains(id))
            .count()
    }

    /// `k` seats side by side in one run if any, from a random place; else any `k` free seats.
    pub fn choose(&self, k: usize, taken: &HashSet<i64>, rng: &mut ChaCha8Rng) -> Option<Vec<i64>> {
        let n = self.seats.len();
        if n == 0 || k == 0 {
            return None;
        }
        let ok = |i: usize| self.free[i] && !taken.contains(&self.seats[i].0);
        let start = rng.random_range(0..n);
        for step in 0..n {
            let i = (start + step) % n;
            if i + k > n {
                continue;
            }
            let run = self.seats[i].1;
            if (i..i + k).all(|j| ok(j) && self.seats[j].1 == run) {
                return Some((i..i + k).map(|j| self.seats[j].0).collect());
            }
        }
        let scattered: Vec<i64> = (0..n)
            .map(|step| (start + step) % n)
            .filter(|i| ok(*i))
            .take(k)
            .map(|i| self.seats[i].0)
            .collect();
        (scattered.len() == k).then_some(scattered)
    }
}

/// Payment details for a method and an intended result.
pub fn payment_details(method: &str, result: &str) -> Value {
    match (method, result) {
        ("CARD", result) => {
            let number = match result {
                "decline" => "4000000000000002",
                "timeout" => "4000000000000119",
                _ => "4111111111111111",
            };
            json!({ "card": { "number": number, "expiryMonth": 12, "expiryYear": 2031, "cvv": "123", "holderName": "Load Test" } })
        }
        ("UPI", result) => {
            let vpa = match result {
                "decline" => "failure@upi",
                "timeout" => "timeout@upi",
                _ => "fan@okicici",
            };
            json!({ "upi": { "vpa": vpa } })
        }
        (_, result) => {
            let bank = match result {
                "decline" => "FAIL",
                "timeout" => "SLOW",
                _ => "HDFC",
            };
            json!({ "netBanking": { "bankCode": bank } })
        }
    }
}

/// What every fan of a process shares.
pub struct Env {
    pub http: Http,
    pub recorder: Arc<Recorder>,
    pub ws_targets: Vec<String>,
    pub source_ips: u8,
    pub event: EventInfo,
    pub store: Option<Store>,
    pub wait: WaitArgs,
    pub buy: Option<BuyArgs>,
    pub pay_mix: Vec<(PayPlan, u32)>,
    /// Mean dwell of an admitted fan in `queue-rush`, ms.
    pub dwell_ms: f64,
    /// Mean think time on public pages in `journey`, ms.
    pub browse_think_ms: f64,
    /// No fan step starts after this.
    pub deadline: tokio::time::Instant,
}

/// One fan on their way.
pub struct Fan<'a> {
    pub env: &'a Env,
    pub n: usize,
    pub rng: ChaCha8Rng,
    pub account: Option<Account>,
    pub record: FanRecord,
}

/// An exponential think time with the given mean, capped at 10x.
pub fn think(rng: &mut ChaCha8Rng, mean_ms: f64) -> Duration {
    if mean_ms <= 0.0 {
        return Duration::ZERO;
    }
    let u: f64 = rng.random_range(f64::EPSILON..1.0);
    Duration::from_secs_f64((-u.ln() * mean_ms).min(mean_ms * 10.0) / 1e3)
}

impl Fan<'_> {
    fn now_ms(&self) -> f64 {
        self.env.recorder.now_ms()
    }

    fn count(&self, name: &str) {
        self.env.recorder.count(name, 1);
    }

    fn end(&mut self, outcome: &str) {
        self.record.outcome = outcome.to_owned();
        self.count(&format!("outcome.{outcome}"));
    }

    fn access(&self) -> Option<&str> {
        self.account.as_ref().map(|a| a.access_token.as_str())
    }

    async fn public(
        &self,
        op: &str,
        query: &str,
        vars: Value,
        expected: &[&str],
    ) -> Result<Value, ApiError> {
        self.env
            .http
            .gql(self.n, op, "/graphql", query, vars, self.access(), expected)
            .await
    }

    async fn sale(
        &self,
        admission: &Admission,
        op: &str,
        query: &str,
        vars: Value,
        expected: &[&str],
    ) -> Result<Value, ApiError> {
        self.env
            .http
            .gql(
                self.n,
                op,
                &self.env.event.sale_path,
                query,
                vars,
                Some(&admission.token),
                expected,
            )
            .await
    }

    async fn pause(&mut self, mean_ms: f64) {
        let wait = think(&mut self.rng, mean_ms);
        tokio::time::sleep_until((tokio::time::Instant::now() + wait).min(self.env.deadline)).await;
    }

    /// Signs up inside the journey (timed as `register`).
    pub async fn sign_up(&mut self, run_id: &str) -> bool {
        match sign_up(
            &self.env.http,
            self.n,
            "register",
            email(run_id, self.record.index),
        )
        .await
        {
            Ok(account) => {
                self.record.fan = account.fan_key.clone();
                self.account = Some(account);
                true
            }
            Err(_) => {
                self.end("signup_failed");
                false
            }
        }
    }

    /// The public pages a fan reads before joining (journey).
    pub async fn look_around(&mut self) {
        let _ = self.public("events", ops::EVENTS, json!({}), &[]).await;
        self.pause(self.env.browse_think_ms).await;
        let _ = self
            .public(
                "event",
                ops::EVENT,
                json!({ "id": self.env.event.id.to_string() }),
                &[],
            )
            .await;
        self.pause(self.env.browse_think_ms).await;
    }

    /// Joins the queue and waits for the turn. `None` when the fan's visit ended instead.
    pub async fn join_and_wait(&mut self, subscribe: bool) -> Option<Admission> {
        let event = self.env.event.id.to_string();
        self.record.join_start_ms = Some(self.now_ms());
        let joined = self
            .public(
                "joinQueue",
                ops::JOIN,
                json!({ "e": event }),
                &["QUEUE_CLOSED"],
            )
            .await;
        self.record.join_done_ms = Some(self.now_ms());
        self.count("fans.join_done");
        let status = match joined {
            Ok(data) => data["joinQueue"].clone(),
            Err(error) if error.code == "QUEUE_CLOSED" => {
                self.end("queue_closed");
                return None;
            }
            Err(_) => {
                self.end("join_failed");
                return None;
            }
        };
        self.count("fans.joined");
        self.record.ticket = status["ticketNumber"].as_i64();
        let waited_from = Instant::now();
        let mut status = status;
        let mut via = "join";
        if status["state"] != "ADMITTED" && subscribe {
            self.record.subscribed = true;
            match self.wait_subscribed(&event).await {
                Ok(Some(admitted)) => {
                    status = admitted;
                    via = "subscription";
                }
                Ok(None) => return None,
                Err(_) => {
                    // The socket failed or closed: carry on like a client falling back to polling.
                    self.count("sub.fallback_to_polling");
                }
            }
        }
        let max_wait = Duration::from_secs_f64(self.env.wait.max_wait.max(1.0));
        while status["state"] != "ADMITTED" {
            match status["state"].as_str() {
                Some("WAITING" | "PRESALE") | None => {}
                Some(other) => {
                    let outcome = other.to_ascii_lowercase();
                    self.end(&outcome);
                    return None;
                }
            }
            if waited_from.elapsed() > max_wait || tokio::time::Instant::now() >= self.env.deadline
            {
                self.end("gave_up_waiting");
                return None;
            }
            let gap = self.env.wait.poll_secs.max(0.2) * self.rng.random_range(0.8..1.2);
            tokio::time::sleep_until(
                (tokio::time::Instant::now() + Duration::from_secs_f64(gap)).min(self.env.deadline),
            )
            .await;
            match self
                .public("heartbeat", ops::HEARTBEAT, json!({ "e": event }), &[])
                .await
            {
                Ok(data) => status = data["heartbeat"].clone(),
                Err(_) => continue,
            }
            via = "polling";
        }
        self.admitted(&status, via).await
    }

    /// Holds a `queuePosition` subscription until the admission (`Some`) or another end.
    async fn wait_subscribed(&mut self, event: &str) -> anyhow::Result<Option<Value>> {
        let account = self.account.clone().context("a fan needs an account")?;
        let targets = &self.env.ws_targets;
        let base = &targets[self.n % targets.len()];
        let started = Instant::now();
        let opened = ws::subscribe(
            base,
            "/graphql",
            self.n,
            self.env.source_ips,
            &account.access_token,
            RawOperation {
                query: ops::POSITION.to_owned(),
                variables: json!({ "e": event }),
            },
        )
        .await;
        let mut stream = match opened {
            Ok(stream) => {
                self.env.recorder.request(
                    "ws.subscribe",
                    started.elapsed(),
                    crate::metrics::Outcome::Ok,
                );
                stream
            }
            Err(error) => {
                self.env.recorder.request(
                    "ws.subscribe",
                    started.elapsed(),
                    crate::metrics::Outcome::Error("WS_CONNECT".into()),
                );
                return Err(error);
            }
        };
        self.count("ws.opened");
        let max_wait = Duration::from_secs_f64(self.env.wait.max_wait.max(1.0));
        let until = (tokio::time::Instant::now() + max_wait).min(self.env.deadline);
        let mut first = true;
        let result = loop {
            let next = tokio::time::timeout_at(until, stream.next()).await;
            let message = match next {
                Err(_) => {
                    self.end("gave_up_waiting");
                    break Ok(None);
                }
                Ok(None) => {
                    self.count("ws.dropped");
                    break Err(anyhow::anyhow!("the subscription ended"));
                }
                Ok(Some(Err(error))) => {
                    self.count("ws.dropped");
                    break Err(anyhow::anyhow!("subscription error: {error}"));
                }
                Ok(Some(Ok(message))) => message,
            };
            let now = unix_ms();
            if first {
                self.env
                    .recorder
                    .value("sub.first_message", micros(started.elapsed()));
                first = false;
            }
            if let Some(code) = message["errors"][0]["extensions"]["code"].as_str() {
                self.env.recorder.request(
                    "ws.message",
                    Duration::ZERO,
                    crate::metrics::Outcome::Error(code.to_owned()),
                );
                break Err(anyhow::anyhow!("subscription error {code}"));
            }
            let status = message["data"]["queuePosition"].clone();
            self.count("sub.messages");
            if let Some(at) = status["updatedAt"]
                .as_str()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            {
                let lag_ms = now - at.timestamp_micros() as f64 / 1e3;
                self.env
                    .recorder
                    .value("sub.lag", (lag_ms.max(0.0) * 1e3) as u64);
            }
            match status["state"].as_str() {
                Some("ADMITTED") => break Ok(Some(status)),
                Some("WAITING" | "PRESALE") => {}
                Some(other) => {
                    let outcome = other.to_ascii_lowercase();
                    self.end(&outcome);
                    break Ok(None);
                }
                None => {}
            }
        };
        self.count("ws.closed");
        result
    }

    /// Records the admission: when the fan saw it and when Redis made it.
    async fn admitted(&mut self, status: &Value, via: &str) -> Option<Admission> {
        let token = status["admission"]["token"].as_str()?.to_owned();
        let seen_unix = unix_ms();
        self.record.admitted_seen_ms = Some(self.now_ms());
        self.count("fans.admitted");
        if let (Some(done), Some(seen)) = (self.record.join_done_ms, self.record.admitted_seen_ms) {
            self.env
                .recorder
                .value("queue.time", ((seen - done).max(0.0) * 1e3) as u64);
        }
        if let (Some(store), Some(ttl)) = (&self.env.store, token_lifetime_secs(&token))
            && let Ok(Some(at)) = store.admitted_at(&self.record.fan, ttl * 1_000).await
        {
            self.record.admitted_unix_ms = Some(at);
            // Split by how the fan heard: a subscription's push, the next poll, or the join.
            self.env.recorder.value(
                &format!("admission.notice_lag.{via}"),
                ((seen_unix - at).max(0.0) * 1e3) as u64,
            );
        }
        Some(Admission {
            seat_cap: status["admission"]["seatCap"].as_u64().unwrap_or(1) as u32,
            token,
        })
    }

    /// Leaves the queue (frees the admission slot for the next fan).
    pub async fn leave(&self) {
        let _ = self
            .public(
                "leaveQueue",
                ops::LEAVE,
                json!({ "e": self.env.event.id.to_string() }),
                &["NOT_IN_QUEUE"],
            )
            .await;
    }

    /// Stays admitted a while, then leaves (`queue-rush`).
    pub async fn dwell_and_leave(&mut self) {
        self.pause(self.env.dwell_ms).await;
        self.leave().await;
        self.end("left_after_admission");
    }

    async fn seat_map(&self, admission: &Admission) -> Option<SeatView> {
        let map = self
            .sale(admission, "seatMap", ops::SEAT_MAP, json!({}), &[])
            .await
            .ok()?;
        Some(SeatView::from_map(&map["seatMap"]))
    }

    /// Chooses seats and buys them (or not), as the pay plan says.
    pub async fn buy(&mut self, admission: &Admission) {
        let Some(buy) = self.env.buy.clone() else {
            return;
        };
        let admitted_at = Instant::now();
        let Some(mut view) = self.seat_map(admission).await else {
            self.end("sale_failed");
            self.leave().await;
            return;
        };
        let size = *buy.party_sizes.choose(&mut self.rng).unwrap_or(&1);
        let mut want = size.clamp(1, admission.seat_cap.max(1)) as usize;
        let mut taken: HashSet<i64> = HashSet::new();
        let mut empty_maps = 0;
        let mut attempts = 0;
        self.pause(buy.think_ms).await;
        let hold = loop {
            if attempts >= buy.max_attempts || tokio::time::Instant::now() >= self.env.deadline {
                self.end("gave_up_seats");
                self.leave().await;
                return;
            }
            let Some(seats) = view.choose(want, &taken, &mut self.rng) else {
                if view.free_count(&taken) > 0 && want > 1 {
                    // Fewer seats left than the party: take what there is.
                    want = view.free_count(&taken);
                    continue;
                }
                empty_maps += 1;
                if empty_maps > buy.sold_out_checks {
                    self.end("sold_out");
                    self.leave().await;
                    return;
                }
                tokio::time::sleep(Duration::from_millis(500 + self.rng.random_range(0..1_000)))
                    .await;
                taken.clear();
                match self.seat_map(admission).await {
                    Some(fresh) => view = fresh,
                    None => {
                        self.end("sale_failed");
                        self.leave().await;
                        return;
                    }
                }
                continue;
            };
            attempts += 1;
            let ids: Vec<String> = seats.iter().map(i64::to_string).collect();
            let key = uuid::Uuid::new_v4().to_string();
            match self
                .sale(
                    admission,
                    "lockSeats",
                    ops::LOCK,
                    json!({ "s": ids, "k": key }),
                    &["SEAT_TAKEN"],
                )
                .await
            {
                Ok(data) => break data["lockSeats"].clone(),
                Err(error) if error.code == "SEAT_TAKEN" => {
                    for id in error.extensions["seatIds"].as_array().into_iter().flatten() {
                        if let Some(id) = id.as_str().and_then(|id| id.parse().ok()) {
                            taken.insert(id);
                        }
                    }
                    if error.extensions["seatIds"]
                        .as_array()
                        .is_none_or(Vec::is_empty)
                    {
                        taken.extend(&seats);
                    }
                    if attempts % 3 == 0 {
                        // Others have moved on too: see the map as it is now.
                        if let Some(fresh) = self.seat_map(admission).await {
                            view = fresh;
                            taken.clear();
                        }
                    }
                    self.pause(buy.think_ms / 3.0).await;
                }
                Err(error) if error.code == "HOLD_LIMIT_EXCEEDED" && want > 1 => want -= 1,
                Err(_) => {
                    self.end("hold_failed");
                    self.leave().await;
                    return;
                }
            }
        };
        self.count("fans.held");
        self.env
            .recorder
            .value("admission.to_hold", micros(admitted_at.elapsed()));
        let hold_id = hold["id"].as_str().unwrap_or_default().to_owned();
        let plan = draw_plan(&self.env.pay_mix, &mut self.rng);
        self.pause(buy.think_ms).await;
        match plan {
            PayPlan::WalkAway => {
                self.end("walked_away");
                return;
            }
            PayPlan::Release => {
                self.give_up(admission, &hold_id, "released").await;
                return;
            }
            _ => {}
        }
        let booking = match self
            .sale(
                admission,
                "createBooking",
                ops::BOOK,
                json!({ "h": hold_id, "k": uuid::Uuid::new_v4().to_string() }),
                &[],
            )
            .await
        {
            Ok(data) => data["createBooking"].clone(),
            Err(_) => {
                self.end("booking_failed");
                self.leave().await;
                return;
            }
        };
        let booking_id = booking["id"].as_str().unwrap_or_default().to_owned();
        self.pause(buy.think_ms).await;
        let methods = ["CARD", "UPI", "NET_BANKING"];
        let method = *methods.choose(&mut self.rng).unwrap_or(&"CARD");
        let first = match plan {
            PayPlan::DeclineRetry | PayPlan::DeclineGiveUp => "decline",
            PayPlan::TimeoutRetry => "timeout",
            _ => "success",
        };
        let mut paid = self.pay(admission, &booking_id, method, first).await;
        if paid.is_none() {
            if plan == PayPlan::DeclineGiveUp || first == "success" {
                let outcome = if first == "success" {
                    "payment_failed"
                } else {
                    "declined_gave_up"
                };
                self.give_up(admission, &hold_id, outcome).await;
                return;
            }
            self.pause(buy.think_ms).await;
            paid = self.pay(admission, &booking_id, method, "success").await;
        }
        match paid {
            Some(result) => {
                self.record.booked_ms = Some(self.now_ms());
                self.record.booking = result["booking"]["id"].as_str().map(str::to_owned);
                self.record.seats = result["booking"]["seats"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|seat| seat["id"].as_str()?.parse().ok())
                    .collect();
                self.env
                    .recorder
                    .count("seats.booked", self.record.seats.len() as u64);
                self.env
                    .recorder
                    .value("admission.to_booking", micros(admitted_at.elapsed()));
                self.count("fans.booked");
                self.end("booked");
            }
            None => self.give_up(admission, &hold_id, "payment_failed").await,
        }
    }

    /// Lets the hold go, leaves the line and ends the journey with `outcome`.
    async fn give_up(&mut self, admission: &Admission, hold_id: &str, outcome: &str) {
        let _ = self
            .sale(
                admission,
                "releaseSeats",
                ops::RELEASE,
                json!({ "h": hold_id }),
                &[],
            )
            .await;
        self.leave().await;
        self.end(outcome);
    }

    async fn pay(
        &self,
        admission: &Admission,
        booking: &str,
        method: &str,
        result: &str,
    ) -> Option<Value> {
        let expected: &[&str] = match result {
            "decline" => &["PAYMENT_DECLINED"],
            "timeout" => &["PAYMENT_TIMEOUT"],
            _ => &[],
        };
        self.sale(
            admission,
            "confirmPayment",
            ops::PAY,
            json!({ "b": booking, "m": method, "d": payment_details(method, result), "k": uuid::Uuid::new_v4().to_string() }),
            expected,
        )
        .await
        .ok()
        .map(|data| data["confirmPayment"].clone())
    }

    /// Looks at the bookings page (journey's last step).
    pub async fn my_bookings(&self) {
        let _ = self
            .public("myBookings", ops::MY_BOOKINGS, json!({}), &[])
            .await;
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng as _;

    use super::*;

    fn map() -> Value {
        json!({
            "runs": [
                { "firstSeatId": "100", "count": 4 },
                { "firstSeatId": "200", "count": 3 }
            ],
            "status": "AHAAAAB"
        })
    }

    #[test]
    fn the_seat_map_reads_into_seats_and_states() {
        let view = SeatView::from_map(&map());

        assert_eq!(view.seats.len(), 7);
        assert_eq!(view.seats[4], (200, 1));
        assert_eq!(view.free, vec![true, false, true, true, true, true, false]);
        assert_eq!(view.free_count(&HashSet::new()), 5);
    }

    #[test]
    fn a_party_gets_seats_side_by_side_in_one_run() {
        let view = SeatView::from_map(&map());
        let mut rng = ChaCha8Rng::seed_from_u64(3);

        for _ in 0..20 {
            let seats = view.choose(2, &HashSet::new(), &mut rng).expect("seats");
            assert!(
                seats == vec![102, 103] || seats == vec![200, 201],
                "{seats:?}"
            );
        }
    }

    #[test]
    fn taken_seats_are_avoided_and_scattered_seats_are_the_fallback() {
        let view = SeatView::from_map(&map());
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let taken: HashSet<i64> = [103, 201].into_iter().collect();

        let seats = view.choose(2, &taken, &mut rng).expect("scattered seats");

        assert_eq!(seats.len(), 2);
        assert!(seats.iter().all(|s| [100, 102, 200].contains(s)));
        assert_eq!(view.choose(4, &taken, &mut rng), None);
    }

    #[test]
    fn pay_mixes_parse_and_draw_by_weight() {
        let mix = parse_pay_mix("pay=3, release=1").expect("parses");
        let mut rng = ChaCha8Rng::seed_from_u64(1);

        let pays = (0..4_000)
            .filter(|_| draw_plan(&mix, &mut rng) == PayPlan::Pay)
            .count();

        assert!((2_800..3_200).contains(&pays), "{pays}");
        assert!(parse_pay_mix("pay=0").is_err());
        assert!(parse_pay_mix("refund=3").is_err());
    }

    #[test]
    fn a_token_lifetime_is_exp_minus_iat() {
        let claims =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"iat":1000,"exp":1900}"#);
        let token = format!("h.{claims}.s");

        assert_eq!(token_lifetime_secs(&token), Some(900));
        assert_eq!(token_lifetime_secs("nonsense"), None);
    }

    #[test]
    fn think_times_have_the_asked_mean() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);

        let total: f64 = (0..10_000)
            .map(|_| think(&mut rng, 100.0).as_secs_f64())
            .sum();

        assert!((total / 10_000.0 - 0.1).abs() < 0.01);
        assert_eq!(think(&mut rng, 0.0), Duration::ZERO);
    }
}
