//! Postgres going away mid-sale, as the API sees a restart or a failover: a relay closes every
//! connection and closes new ones at once, then lets them through again. Requests meanwhile
//! answer `BUSY` (HTTP 503, `retryAfterMs`), never `INTERNAL_ERROR`; the pool recovers by
//! itself; a hold retried with its key lands once; nothing confirmed before is lost.
//! (The server itself is not restarted here: its durability is Postgres's own write-ahead log.)

use std::time::Duration;

use graphql_api::testing::{RoundTrips, TestApp, admin_database_url};
use secrecy::ExposeSecret as _;
use serde_json::json;

use crate::sale_support::{LOCK, admitted, assert_invariants, bought, key, scalar, seat_ids};

#[tokio::test]
async fn postgres_away_answers_busy_the_pool_recovers_alone_and_nothing_confirmed_is_lost() {
    let relay = RoundTrips::in_front_of(&admin_database_url()).await;
    let app = TestApp::spawn_with(|config| {
        config.database_url = relay
            .url_through(config.database_url.expose_secret())
            .into();
        // Requests during the outage answer within half a second.
        config.db_acquire_timeout_ms = 500;
    })
    .await;
    let event = app.seed_event(40).await;
    let seats = seat_ids(&app.db.connection, event, 40).await;
    let (_, booking) = bought(&app, event, &seats[0..2]).await;
    let other = admitted(&app, event).await;
    let hold_key = key();
    let ids = vec![seats[5].to_string()];
    let request = json!({ "query": LOCK, "variables": { "seats": ids, "key": hold_key } });
    let path = format!("/sale/{event}/graphql");

    relay.cut();
    let (status, during) = app.post_json_as(Some(&other.token), &path, &request).await;
    // Reads shared by many waiters (the seat states' cache, the categories' loader) too.
    let states = app
        .sale_as(&other.token, event, "{ seatStates { states } }", json!({}))
        .await;
    let categories = app
        .sale_as(
            &other.token,
            event,
            "{ seatCategories { name } }",
            json!({}),
        )
        .await;
    relay.restore();
    let mut after = json!(null);
    for _ in 0..100 {
        after = app
            .post_json_as(Some(&other.token), &path, &request)
            .await
            .1;
        if after["errors"][0]["extensions"]["code"] != "BUSY" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let again = app
        .post_json_as(Some(&other.token), &path, &request)
        .await
        .1;

    assert_eq!(
        during["errors"][0]["extensions"]["code"], "BUSY",
        "Postgres away is a moment to wait out: {during}"
    );
    assert!(
        during["errors"][0]["extensions"]["retryAfterMs"].is_u64(),
        "{during}"
    );
    assert_eq!(status, 503, "{during}");
    for read in [&states, &categories] {
        assert_eq!(read["errors"][0]["extensions"]["code"], "BUSY", "{read}");
    }
    let hold = after["data"]["lockSeats"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("the pool came back by itself: {after}"));
    assert_eq!(
        again["data"]["lockSeats"]["id"], hold,
        "the same key lands once"
    );
    assert_eq!(
        scalar(
            &app.db.connection,
            &format!(
                "SELECT count(*) FROM holds WHERE user_id = '{}' AND status = 'ACTIVE'",
                other.user
            ),
        )
        .await,
        1
    );
    assert_eq!(
        scalar(
            &app.db.connection,
            &format!(
                "SELECT count(*) FROM bookings WHERE id = '{booking}' AND status = 'CONFIRMED'"
            ),
        )
        .await,
        1,
        "the booking confirmed before the outage is still confirmed"
    );
    assert_invariants(&app.db.connection, "after Postgres came back").await;
}
