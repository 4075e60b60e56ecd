//! Postgres itself crashed (SIGKILL of the postmaster) and restarted mid-sale, on a private
//! cluster: the requests in flight and those made while it is down answer success or `BUSY`
//! (HTTP 503, `retryAfterMs`), never `INTERNAL_ERROR` or a dropped connection; the pool comes
//! back without restarting the API; each mutation retried with its key lands once; and what
//! was confirmed before the crash (bookings, captured payments) is still there, read back
//! from the write-ahead log by crash recovery. `sale_outage` cuts the network instead.

use std::{
    sync::{
        Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use futures_util::future::join_all;
use graphql_api::testing::{TestApp, TestDb, TestPostgresServer};
use serde_json::{Value, json};

use crate::sale_support::{
    BOOK, Fan, LOCK, admitted, assert_invariants, bought, key, scalar, seat_ids,
};

/// Fans buying at once while Postgres goes down.
const SHOPPERS: usize = 6;

/// How long one mutation may keep answering `BUSY` before the test gives up on the pool.
const RETRY_DEADLINE: Duration = Duration::from_secs(30);

/// One answer of the sale endpoint, and when its request went and came back.
struct Answer {
    sent: Instant,
    answered: Instant,
    operation: &'static str,
    status: u16,
    body: Value,
}

impl Answer {
    fn is_busy(&self) -> bool {
        self.body["errors"][0]["extensions"]["code"] == "BUSY"
    }

    fn is_success(&self) -> bool {
        self.status == 200 && self.body.get("errors").is_none()
    }
}

/// A fan's purchase: a hold and its booking, each a mutation with its own idempotency key.
struct Journey {
    fan: Fan,
    seats: Vec<String>,
    lock_key: String,
    book_key: String,
    /// The hold and booking ids of the first success of each mutation.
    hold: Mutex<Option<String>>,
    booking: Mutex<Option<String>>,
}

/// What the shoppers share: the answers so far and the journeys still to run.
struct Sale<'a> {
    app: &'a TestApp,
    path: String,
    answers: Mutex<Vec<Answer>>,
    journeys: Vec<Journey>,
    next: AtomicUsize,
    finished: AtomicUsize,
    stop: AtomicBool,
}

impl Sale<'_> {
    /// Sends one operation to the sale; a connection the API dropped is recorded as a
    /// failure, not retried.
    async fn send(&self, fan: &Fan, operation: &'static str, body: &Value) -> (u16, Value) {
        self.send_to(&self.path, fan, operation, body).await
    }

    /// Sends one operation to `path`, recording the answer.
    async fn send_to(
        &self,
        path: &str,
        fan: &Fan,
        operation: &'static str,
        body: &Value,
    ) -> (u16, Value) {
        let sent = Instant::now();
        let response = self
            .app
            .http
            .post(format!("{}{path}", self.app.base_url()))
            .bearer_auth(&fan.token)
            .json(body)
            .timeout(Duration::from_secs(60))
            .send()
            .await;
        let (status, body) = match response {
            Ok(response) => {
                let status = response.status().as_u16();
                let body = response
                    .json::<Value>()
                    .await
                    .unwrap_or_else(|error| json!({ "transport": error.to_string() }));
                (status, body)
            }
            Err(error) => (0, json!({ "transport": error.to_string() })),
        };
        self.answers.lock().expect("answers").push(Answer {
            sent,
            answered: Instant::now(),
            operation,
            status,
            body: body.clone(),
        });
        (status, body)
    }

    /// Sends a mutation until it is answered with something other than `BUSY`; returns that.
    /// Faster than `retryAfterMs` asks (100 ms), to sample the outage densely.
    async fn until_not_busy(&self, fan: &Fan, operation: &'static str, body: &Value) -> Value {
        let deadline = Instant::now() + RETRY_DEADLINE;
        loop {
            let (_, answer) = self.send(fan, operation, body).await;
            if answer["errors"][0]["extensions"]["code"] != "BUSY" || Instant::now() > deadline {
                return answer;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A shopper: takes the next fan's journey, holds and books, and again, until told to stop.
    async fn shop(&self) {
        while !self.stop.load(Ordering::SeqCst) {
            let Some(journey) = self.journeys.get(self.next.fetch_add(1, Ordering::SeqCst)) else {
                return;
            };
            let lock = json!({ "query": LOCK, "variables": { "seats": journey.seats, "key": journey.lock_key } });
            let held = self.until_not_busy(&journey.fan, "lockSeats", &lock).await;
            let Some(hold) = held["data"]["lockSeats"]["id"].as_str() else {
                // Recorded in the answers; the checks after the run say what went wrong.
                continue;
            };
            journey.hold.lock().expect("hold").replace(hold.to_owned());
            let book =
                json!({ "query": BOOK, "variables": { "hold": hold, "key": journey.book_key } });
            let booked = self
                .until_not_busy(&journey.fan, "createBooking", &book)
                .await;
            if let Some(booking) = booked["data"]["createBooking"]["id"].as_str() {
                journey
                    .booking
                    .lock()
                    .expect("booking")
                    .replace(booking.to_owned());
            }
            self.finished.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// The bookings, payments and seats of `users`, as rows of text, in a stable order.
async fn confirmed_state(db: &sea_orm::DatabaseConnection, users: &[uuid::Uuid]) -> Vec<String> {
    use sea_orm::{ConnectionTrait as _, Statement};
    let users: Vec<String> = users.iter().map(|user| format!("'{user}'")).collect();
    let sql = format!(
        "SELECT concat_ws(' ', b.id, b.status, b.amount_minor, p.id, p.status, p.amount_minor, \
             (SELECT string_agg(s.id || ':' || s.status || ':' || coalesce(s.booking_id::text, ''), ',' ORDER BY s.id) \
              FROM seats s WHERE s.booking_id = b.id)) AS line \
         FROM bookings b LEFT JOIN payments p ON p.booking_id = b.id \
         WHERE b.user_id IN ({}) ORDER BY b.id, p.id",
        users.join(", ")
    );
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("reading bookings")
        .iter()
        .map(|row| row.try_get::<String>("", "line").expect("line"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_killed_mid_sale_answers_busy_recovers_alone_and_keeps_every_confirmed_booking() {
    // Arrange: a private cluster (declared first, so it outlives the API on it), a sale on it,
    // and three fans who paid.
    let mut postgres = TestPostgresServer::start().await;
    let app = TestApp::spawn_on(TestDb::on_server(&postgres.url()).await, |config| {
        // Requests while Postgres is away answer within half a second.
        config.db_acquire_timeout_ms = 500;
    })
    .await;
    let db = &app.db.connection;
    let event = app.seed_event(150).await;
    let seats = seat_ids(db, event, 150).await;
    let mut buyers = Vec::new();
    for pair in seats[..6].chunks(2) {
        let (buyer, _) = bought(&app, event, pair).await;
        buyers.push(buyer.user);
    }
    let before = confirmed_state(db, &buyers).await;
    let mut journeys = Vec::new();
    for pair in seats[6..].chunks(2) {
        journeys.push(Journey {
            fan: admitted(&app, event).await,
            seats: pair.iter().map(i64::to_string).collect(),
            lock_key: key(),
            book_key: key(),
            hold: Mutex::default(),
            booking: Mutex::default(),
        });
    }
    let sale = Sale {
        app: &app,
        path: format!("/sale/{event}/graphql"),
        answers: Mutex::default(),
        journeys,
        next: AtomicUsize::new(0),
        finished: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
    };

    // Act: the shoppers buy; once the sale is running, Postgres is killed and restarted
    // under them; they stop once the pool is back.
    let probe = admitted(&app, event).await;
    // Seeded straight into Postgres: the instance has never loaded it, so a request for it
    // must read it while Postgres is down (the sale route's own lookup, before any resolver).
    let unseen = app.seed_event(4).await;
    let timeline = async {
        let deadline = Instant::now() + Duration::from_secs(20);
        while sale.finished.load(Ordering::SeqCst) < SHOPPERS {
            assert!(Instant::now() < deadline, "the sale never got going");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let crashed = Instant::now();
        postgres.crash().await;
        let read = json!({ "query": "{ myHold { id } }" });
        let unseen_path = format!("/sale/{unseen}/graphql");
        let (_, refused) = sale
            .send_to(&unseen_path, &probe, "uncached event", &read)
            .await;
        let restarting = Instant::now();
        postgres.restart().await;
        let restarted = Instant::now();
        // The pool is back when a read of the fan's own hold succeeds (it needs Postgres).
        loop {
            let (_, answer) = sale.send(&probe, "myHold", &read).await;
            if answer.get("errors").is_none() {
                break;
            }
            assert!(
                restarted.elapsed() < RETRY_DEADLINE,
                "the pool never came back: {answer}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let recovered = Instant::now();
        // Shoppers at work now finish their journeys on the recovered pool.
        sale.stop.store(true, Ordering::SeqCst);
        (crashed, restarting, restarted, recovered, refused)
    };
    let shoppers = join_all((0..SHOPPERS).map(|_| sale.shop()));
    let ((crashed, restarting, restarted, recovered, refused), _) =
        tokio::join!(timeline, shoppers);

    // Assert: every answer was a success or a typed BUSY.
    let answers = sale.answers.into_inner().expect("answers");
    for answer in &answers {
        assert!(
            answer.is_success() || (answer.is_busy() && answer.status == 503),
            "{} answered neither success nor BUSY (HTTP {}): {}",
            answer.operation,
            answer.status,
            answer.body
        );
        if answer.is_busy() {
            assert!(
                answer.body["errors"][0]["extensions"]["retryAfterMs"].is_u64(),
                "{}",
                answer.body
            );
        }
    }
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "BUSY",
        "a sale request that must read Postgres while it is down: {refused}"
    );
    let straddling = answers
        .iter()
        .filter(|answer| answer.sent < crashed && answer.answered > crashed)
        .count();
    let outage: Vec<&Answer> = answers
        .iter()
        .filter(|answer| answer.answered > crashed && answer.sent < recovered)
        .collect();
    let busy = outage.iter().filter(|answer| answer.is_busy()).count();
    println!(
        "postgres down {} ms (SIGKILL to accepting connections; {} ms of it from starting again), \
         pool recovered {} ms after; \
         {straddling} requests in flight at the crash, {busy} of {} answers around the outage BUSY, \
         {} answers in all",
        (restarted - crashed).as_millis(),
        (restarted - restarting).as_millis(),
        (recovered - restarted).as_millis(),
        outage.len(),
        answers.len()
    );
    assert!(straddling > 0, "the crash caught no request in flight");
    assert!(
        postgres
            .log()
            .contains("not properly shut down; automatic recovery in progress"),
        "the restart went through crash recovery:\n{}",
        postgres.log()
    );
    assert!(busy > 0, "no request saw Postgres away");

    // Each mutation retried with its key lands once: the same hold and booking come back, and
    // each fan has one of each.
    let started = sale.next.load(Ordering::SeqCst).min(sale.journeys.len());
    let ran = &sale.journeys[..started];
    assert!(ran.len() > SHOPPERS, "journeys started: {started}");
    for journey in ran {
        let hold = journey
            .hold
            .lock()
            .expect("hold")
            .clone()
            .unwrap_or_else(|| panic!("fan {} never got a hold", journey.fan.user));
        let booking = journey
            .booking
            .lock()
            .expect("booking")
            .clone()
            .unwrap_or_else(|| panic!("hold {hold} was never booked"));
        let lock = json!({ "seats": journey.seats, "key": journey.lock_key });
        let again = app.sale_as(&journey.fan.token, event, LOCK, lock).await;
        assert_eq!(again["data"]["lockSeats"]["id"], hold.as_str(), "{again}");
        let book = json!({ "hold": hold, "key": journey.book_key });
        let again = app.sale_as(&journey.fan.token, event, BOOK, book).await;
        assert_eq!(
            again["data"]["createBooking"]["id"],
            booking.as_str(),
            "{again}"
        );
        let user = journey.fan.user;
        assert_eq!(
            scalar(
                db,
                &format!("SELECT count(*) FROM holds WHERE user_id = '{user}'")
            )
            .await,
            1,
            "fan {user} has one hold"
        );
        assert_eq!(
            scalar(
                db,
                &format!("SELECT count(*) FROM bookings WHERE user_id = '{user}'")
            )
            .await,
            1,
            "fan {user} has one booking"
        );
    }

    // What was confirmed and captured before the crash is there as it was.
    assert_eq!(
        confirmed_state(db, &buyers).await,
        before,
        "bookings and payments confirmed before the crash"
    );
    assert_invariants(db, "after Postgres restarted").await;
}
