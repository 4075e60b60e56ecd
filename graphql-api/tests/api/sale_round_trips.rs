//! The sale path's cost, counted in round trips to Postgres by a relay in front of it: each
//! sale mutation's success path costs at most two that carry a query. The pool's liveness
//! ping as a connection goes back (sqlx always sends one, after the answer) is counted
//! apart and printed.

use graphql_api::testing::{RoundTrips, TestApp, admin_database_url};
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};

use crate::sale_support::{BOOK, Fan, LOCK, PAY, admitted, card, key, seat_ids};

const EXTEND: &str = "mutation($h: ID!) { extendHold(holdId: $h) { id expiresAt extensionsLeft total { amountMinor } seats { id status } } }";
const RELEASE: &str = "mutation($h: ID!) { releaseSeats(holdId: $h) }";
const CANCEL: &str = "mutation($b: ID!) { cancelBooking(bookingId: $b) { id status seats { id } payments { status } } }";

/// One fan's journey; returns each mutation's round trips, in order: lock, extend, release,
/// lock again, book, pay, cancel.
async fn journey(
    app: &TestApp,
    relay: &RoundTrips,
    event: i64,
    fan: &Fan,
    seats: &[i64],
) -> Vec<(&'static str, u64)> {
    let ids: Vec<String> = seats.iter().map(i64::to_string).collect();
    let mut counts = Vec::new();
    let mut counted = async |name: &'static str, query: &str, variables: Value| {
        let (before, pings) = (relay.count(), relay.pings());
        let answer = app.sale_as(&fan.token, event, query, variables).await;
        counts.push((name, relay.count() - before));
        println!("{name}: {} liveness pings", relay.pings() - pings);
        assert!(answer.get("errors").is_none(), "{name}: {answer}");
        answer
    };
    let hold = counted("lockSeats", LOCK, json!({ "seats": ids, "key": key() })).await;
    let hold = hold["data"]["lockSeats"]["id"]
        .as_str()
        .expect("hold")
        .to_owned();
    let extended = counted("extendHold", EXTEND, json!({ "h": hold })).await;
    assert_eq!(
        extended["data"]["extendHold"]["seats"]
            .as_array()
            .map(Vec::len),
        Some(seats.len())
    );
    counted("releaseSeats", RELEASE, json!({ "h": hold })).await;
    let hold = counted("lockSeats", LOCK, json!({ "seats": ids, "key": key() })).await;
    let hold = hold["data"]["lockSeats"]["id"]
        .as_str()
        .expect("hold")
        .to_owned();
    let booking = counted("createBooking", BOOK, json!({ "hold": hold, "key": key() })).await;
    let booking = booking["data"]["createBooking"]["id"]
        .as_str()
        .expect("booking")
        .to_owned();
    let paid = counted(
        "confirmPayment",
        PAY,
        json!({ "booking": booking, "method": "CARD", "details": card("4111111111111111"), "key": key() }),
    )
    .await;
    assert_eq!(
        paid["data"]["confirmPayment"]["booking"]["status"], "CONFIRMED",
        "{paid}"
    );
    let cancelled = counted("cancelBooking", CANCEL, json!({ "b": booking })).await;
    assert_eq!(
        cancelled["data"]["cancelBooking"]["status"], "REFUNDED",
        "{cancelled}"
    );
    counts
}

#[tokio::test]
async fn each_sale_mutation_costs_at_most_two_round_trips() {
    let relay = RoundTrips::in_front_of(&admin_database_url()).await;
    let app = TestApp::spawn_with(|config| {
        config.database_url = relay
            .url_through(config.database_url.expose_secret())
            .into();
        // One connection, so the warm-up prepares every statement on the one that counts.
        config.db_max_connections = 1;
    })
    .await;
    let event = app.seed_event(40).await;
    let seats = seat_ids(&app.db.connection, event, 40).await;
    let warm = admitted(&app, event).await;
    journey(&app, &relay, event, &warm, &seats[0..2]).await;

    // The fewest of three journeys per mutation: a cache refill (the event, every two
    // seconds) may land on any one request, never on all three.
    let mut fewest: Vec<(&str, u64)> = Vec::new();
    for round in 1..=3 {
        let fan = admitted(&app, event).await;
        let counts = journey(&app, &relay, event, &fan, &seats[round * 2..round * 2 + 2]).await;
        println!("round {round}: {counts:?}");
        if fewest.is_empty() {
            fewest = counts;
        } else {
            for (slot, (_, count)) in fewest.iter_mut().zip(counts) {
                slot.1 = slot.1.min(count);
            }
        }
    }
    for (name, count) in &fewest {
        assert!(*count <= 2, "{name} cost {count} round trips: {fewest:?}");
        assert!(
            *count >= 1,
            "{name} cost no round trip: is the relay in the path? {fewest:?}"
        );
    }
}

/// Each pooled connection plans prepared statements as configured: generic by default (the
/// sale statements are planned once per connection, not on every run), and without TLS to a
/// Postgres on this machine.
#[tokio::test]
async fn the_pools_connections_plan_as_configured_and_skip_tls_on_loopback() {
    use graphql_api::config::PlanCacheMode;
    use sea_orm::ConnectionTrait as _;

    async fn mode(app: &TestApp) -> String {
        let db = app.instance.state.db();
        db.query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT current_setting('plan_cache_mode') AS mode",
        ))
        .await
        .expect("asking")
        .expect("a row")
        .try_get::<String>("", "mode")
        .expect("mode")
    }
    let defaults = TestApp::spawn().await;
    assert_eq!(mode(&defaults).await, "force_generic_plan");
    // A Postgres on this machine is spoken to without TLS (it would cost CPU on both ends).
    let db = defaults.instance.state.db();
    let tls = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        ))
        .await
        .expect("asking")
        .expect("a row")
        .try_get::<bool>("", "ssl")
        .expect("ssl");
    assert!(!tls, "the pool talks TLS to a loopback Postgres");
    let auto = TestApp::spawn_with(|config| config.db_plan_cache_mode = PlanCacheMode::Auto).await;
    assert_eq!(mode(&auto).await, "auto");
}
