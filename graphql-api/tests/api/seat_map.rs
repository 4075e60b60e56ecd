//! The seat map: compact, complete, and live with seat states.

use std::collections::HashSet;

use entities::seat::SeatStatus;
use graphql_api::{inventory, testing::TestApp};
use serde_json::{Value, json};

use crate::support::{first_seat_ids, hold_seats, insert_user};

const MAP: &str = "{ seatMap { eventId seatCount sequence bounds { minX minY maxX maxY } \
    categories { id name colour } sections { name categoryId seatCount labelX labelY } \
    runs { section row categoryId firstSeatId firstNumber count x y dx dy } status } }";

/// Expands runs into (seat id, section, row, number, x, y).
fn expand(map: &Value) -> Vec<(i64, String, String, i64, i64, i64)> {
    let sections = map["sections"].as_array().expect("sections");
    map["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .flat_map(|run| {
            let first: i64 = run["firstSeatId"]
                .as_str()
                .and_then(|id| id.parse().ok())
                .expect("id");
            let section = sections[run["section"].as_u64().expect("index") as usize]["name"]
                .as_str()
                .expect("name")
                .to_owned();
            let row = run["row"].as_str().expect("row").to_owned();
            let get = |key: &str| run[key].as_i64().expect(key);
            (0..get("count")).map(move |k| {
                (
                    first + k,
                    section.clone(),
                    row.clone(),
                    get("firstNumber") + k,
                    get("x") + k * get("dx"),
                    get("y") + k * get("dy"),
                )
            })
        })
        .collect()
}

#[tokio::test]
async fn the_seat_map_covers_every_seat_once_and_matches_the_database() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(3_000).await;

    let body = app.sale(event, MAP, json!({})).await;
    let map = &body["data"]["seatMap"];
    let seats = expand(map);

    assert_eq!(map["seatCount"], 3_000, "{body}");
    assert_eq!(seats.len(), 3_000);
    assert_eq!(
        seats.iter().map(|s| s.0).collect::<HashSet<_>>().len(),
        3_000
    );
    assert_eq!(map["status"].as_str().map(str::len), Some(3_000));
    assert!(
        map["status"]
            .as_str()
            .unwrap_or_default()
            .chars()
            .all(|c| c == 'A')
    );
    assert!(
        (map["runs"].as_array().map(Vec::len).unwrap_or(0)) < 300,
        "rows, not seats"
    );
    let rows = sea_orm::ConnectionTrait::query_all_raw(
        &app.db.connection,
        sea_orm::Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "SELECT id, section, row_label, number, x, y FROM seats WHERE event_id = $1 ORDER BY id",
            [event.into()],
        ),
    )
    .await
    .expect("seats");
    let from_db: Vec<(i64, String, String, i64, i64, i64)> = rows
        .iter()
        .map(|row| {
            (
                row.try_get("", "id").expect("id"),
                row.try_get("", "section").expect("section"),
                row.try_get("", "row_label").expect("row"),
                i64::from(row.try_get::<i32>("", "number").expect("number")),
                i64::from(row.try_get::<i32>("", "x").expect("x")),
                i64::from(row.try_get::<i32>("", "y").expect("y")),
            )
        })
        .collect();
    assert_eq!(seats, from_db);
    let bounds = &map["bounds"];
    assert!(seats.iter().all(|s| {
        bounds["minX"].as_i64() <= Some(s.4)
            && Some(s.4) <= bounds["maxX"].as_i64()
            && bounds["minY"].as_i64() <= Some(s.5)
            && Some(s.5) <= bounds["maxY"].as_i64()
    }));
}

#[tokio::test]
async fn the_seat_map_marks_held_seats_at_their_position_in_the_status_string() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(500).await;
    let db = &app.db.connection;
    let seats = first_seat_ids(db, event, 500).await;
    let fan = insert_user(db, "fan@example.com").await;
    let held = [seats[7], seats[250], seats[499]];
    app.sale(event, MAP, json!({})).await; // layout and states are cached before the change
    hold_seats(db, event, fan, &held, 600).await;
    // Every real change path publishes what it committed; that is what refreshes the map.
    let changes: Vec<_> = held.iter().map(|id| (*id, SeatStatus::Held, 1)).collect();
    inventory::publish(&app.instance.state, event, &changes).await;

    let body = app.sale(event, MAP, json!({})).await;
    let map = &body["data"]["seatMap"];
    let order: Vec<i64> = expand(map).iter().map(|s| s.0).collect();
    let status: Vec<char> = map["status"].as_str().expect("status").chars().collect();

    for (index, seat) in order.iter().enumerate() {
        let expected = if held.contains(seat) { 'H' } else { 'A' };
        assert_eq!(status[index], expected, "seat {seat}");
    }
}

#[tokio::test]
async fn fans_loading_the_map_at_once_share_one_read_of_the_seat_states() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(300).await;
    // With a variable the whole answer is not shared (see the next test): only the states.
    let map = "query($on: Boolean!) { seatMap @include(if: $on) { status sequence } }";
    let vars = || json!({ "on": true });
    let tokens =
        futures_util::future::join_all((0..20).map(|_| app.admit(event, uuid::Uuid::now_v7())))
            .await;
    app.sale(event, map, vars()).await; // event, layout and states cached

    let (builds, before) = (
        app.instance.state.seat_map_builds(),
        app.instance.state.queries().get(),
    );
    let bodies = futures_util::future::join_all(
        tokens
            .iter()
            .map(|token| app.sale_as(token, event, map, vars())),
    )
    .await;
    assert_eq!(
        app.instance.state.seat_map_builds() - builds,
        20,
        "each map was built"
    );
    let spent = app.instance.state.queries().get() - before;

    for body in &bodies {
        assert!(body.get("errors").is_none(), "{body}");
        assert_eq!(
            body["data"]["seatMap"]["status"],
            bodies[0]["data"]["seatMap"]["status"]
        );
    }
    // One read at most (the cached one may have just expired), not twenty.
    assert!(
        spent <= 1,
        "20 map loads sent {spent} statements to Postgres"
    );
}

#[tokio::test]
async fn a_change_that_was_never_published_still_shows_within_a_second() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(50).await;
    let db = &app.db.connection;
    let seats = first_seat_ids(db, event, 1).await;
    let fan = insert_user(db, "fan@example.com").await;
    app.sale(event, MAP, json!({})).await;
    hold_seats(db, event, fan, &seats, 600).await; // no publish: a lost message

    let held_at = |body: &Value| {
        body["data"]["seatMap"]["status"]
            .as_str()
            .map(|s| s.starts_with('H'))
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let body = app.sale(event, MAP, json!({})).await;
        if held_at(&body) == Some(true) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the map stayed stale: {body}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn fans_asking_for_the_map_alone_at_once_share_one_answer() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(300).await;
    let tokens =
        futures_util::future::join_all((0..20).map(|_| app.admit(event, uuid::Uuid::now_v7())))
            .await;
    app.sale(event, MAP, json!({})).await;

    let builds = app.instance.state.seat_map_builds();
    let bodies = futures_util::future::join_all(
        tokens
            .iter()
            .map(|token| app.sale_as(token, event, MAP, json!({}))),
    )
    .await;
    let built = app.instance.state.seat_map_builds() - builds;

    for body in &bodies {
        assert!(body.get("errors").is_none(), "{body}");
        assert_eq!(body, &bodies[0]);
    }
    // One build at most (the shared answer may have just expired), not twenty.
    assert!(built <= 1, "20 map loads built {built} maps");
}

#[tokio::test]
async fn a_shared_map_answer_still_needs_a_token_and_follows_every_published_change() {
    let app = TestApp::spawn().await;
    let state = &app.instance.state;
    let event = app.seed_event(50).await;
    let db = &app.db.connection;
    let seats = first_seat_ids(db, event, 1).await;
    let fan = insert_user(db, "fan@example.com").await;
    let first = app.sale(event, MAP, json!({})).await;
    assert!(
        first["data"]["seatMap"]["status"]
            .as_str()
            .is_some_and(|s| s.starts_with('A'))
    );

    // Another fan's answer is cached; a request without a token still gets nothing.
    let (status, anonymous) = app
        .post_json(&format!("/sale/{event}/graphql"), &json!({ "query": MAP }))
        .await;
    assert_eq!(status, 401, "{anonymous}");
    assert!(
        anonymous.get("data").is_none_or(Value::is_null),
        "{anonymous}"
    );

    // A published change names a new answer at once, well within the second.
    hold_seats(db, event, fan, &seats, 600).await;
    inventory::publish(state, event, &[(seats[0], SeatStatus::Held, 1)]).await;
    let after = app.sale(event, MAP, json!({})).await;
    assert!(
        after["data"]["seatMap"]["status"]
            .as_str()
            .is_some_and(|s| s.starts_with('H')),
        "{after}"
    );
    assert!(
        after["data"]["seatMap"]["sequence"].as_i64()
            > first["data"]["seatMap"]["sequence"].as_i64()
    );
}

#[tokio::test]
async fn a_browser_gets_the_shared_answer_gzipped() {
    use std::io::Read as _;

    let app = TestApp::spawn().await;
    let event = app.seed_event(400).await;
    let token = app.admit(event, uuid::Uuid::now_v7()).await;
    let plain = app.sale_as(&token, event, MAP, json!({})).await;
    let client = reqwest::Client::new();
    let ask = || {
        client
            .post(format!("{}/sale/{event}/graphql", app.base_url()))
            .bearer_auth(&token)
            .header("accept-encoding", "br;q=1.0, gzip;q=0.8")
            .json(&json!({ "query": MAP }))
            .send()
    };

    let first = ask().await.expect("a response");
    assert_eq!(first.headers()["content-encoding"], "gzip");
    assert_eq!(first.headers()["content-type"], "application/json");
    let first = first.bytes().await.expect("a body");
    let second = ask()
        .await
        .expect("a response")
        .bytes()
        .await
        .expect("a body");
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&first[..])
        .read_to_end(&mut unzipped)
        .expect("gzip");
    let unzipped: Value = serde_json::from_slice(&unzipped).expect("JSON");

    assert_eq!(unzipped, plain);
    assert_eq!(first, second, "the same compressed answer");
    assert!(first.len() * 4 < serde_json::to_vec(&plain).expect("JSON").len());
}
