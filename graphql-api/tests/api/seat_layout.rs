//! The seat map in two halves: the layout as a file browsers keep (ETag, 304, gzip, an
//! immutable versioned name, typed errors on hostile paths), and the states as a snapshot
//! at a sequence that live batches continue without a gap.

use std::{collections::HashMap, io::Read as _};

use entities::seat::SeatStatus;
use graphql_api::{inventory, testing::TestApp};
use reqwest::{StatusCode, header};
use sea_orm::{ConnectionTrait as _, Statement};
use serde_json::{Value, json};

use crate::{
    sale_support::{Fan, admitted, lock, seat_ids},
    ws_client::WsClient,
};

const STATES: &str = "{ seatStates { sequence states layoutVersion } }";
const CHANGES: &str = "subscription { seatAvailability { fromSequence toSequence resync changes { seatId status version } } }";
const RELEASE: &str = "mutation($hold: ID!) { releaseSeats(holdId: $hold) }";

async fn get(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(format!("{}{path}", app.base_url()));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("a response")
}

fn header_of(response: &reqwest::Response, name: header::HeaderName) -> &str {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}

async fn error_code(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    let body: Value = response.json().await.expect("a JSON error");
    let code = body["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (status, code)
}

#[tokio::test]
async fn the_layout_has_a_strong_etag_and_a_matching_if_none_match_gets_304() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(300).await;
    let path = format!("/events/{event}/layout.json");

    let first = get(&app, &path, &[]).await;
    let etag = header_of(&first, header::ETAG).to_owned();
    let cache_control = header_of(&first, header::CACHE_CONTROL).to_owned();
    let layout: Value = first.json().await.expect("JSON");
    let again = get(&app, &path, &[("if-none-match", &etag)]).await;
    let stale = get(&app, &path, &[("if-none-match", "\"0123\"")]).await;

    assert!(
        etag.starts_with('"') && !etag.starts_with("W/") && etag.len() > 30,
        "{etag}"
    );
    assert_eq!(cache_control, "no-cache");
    assert_eq!(layout["eventId"], event.to_string());
    assert_eq!(layout["seatCount"], 300);
    assert!(
        layout["runs"]
            .as_array()
            .is_some_and(|runs| !runs.is_empty())
    );
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(header_of(&again, header::ETAG), etag);
    assert!(again.bytes().await.expect("a body").is_empty());
    assert_eq!(stale.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_layout_comes_gzipped_when_asked_and_plain_otherwise() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(2_000).await;
    let path = format!("/events/{event}/layout.json");
    let plain = get(&app, &path, &[("accept-encoding", "br")]).await;
    assert_eq!(header_of(&plain, header::CONTENT_ENCODING), "");
    let plain_etag = header_of(&plain, header::ETAG).to_owned();
    let plain = plain.bytes().await.expect("a body");

    let zipped = get(&app, &path, &[("accept-encoding", "br;q=1.0, gzip;q=0.5")]).await;
    assert_eq!(header_of(&zipped, header::CONTENT_ENCODING), "gzip");
    assert_eq!(header_of(&zipped, header::VARY), "accept-encoding");
    let zipped_etag = header_of(&zipped, header::ETAG).to_owned();
    let zipped = zipped.bytes().await.expect("a body");
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&zipped[..])
        .read_to_end(&mut unzipped)
        .expect("gzip");

    assert_eq!(unzipped, plain);
    assert!(
        zipped.len() * 4 < plain.len(),
        "{} of {}",
        zipped.len(),
        plain.len()
    );
    assert_ne!(
        plain_etag, zipped_etag,
        "one strong ETag per representation"
    );
    let revalidated = get(
        &app,
        &path,
        &[("accept-encoding", "gzip"), ("if-none-match", &zipped_etag)],
    )
    .await;
    assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn the_versioned_layout_is_immutable_and_the_snapshot_names_its_version() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(300).await;
    let states = app.sale(event, STATES, json!({})).await;
    let version = states["data"]["seatStates"]["layoutVersion"]
        .as_str()
        .expect("a version")
        .to_owned();

    let current = get(&app, &format!("/events/{event}/layout.json"), &[]).await;
    let versioned = get(&app, &format!("/events/{event}/layout/{version}.json"), &[]).await;
    let other = get(
        &app,
        &format!("/events/{event}/layout/{}.json", "0".repeat(32)),
        &[],
    )
    .await;

    assert_eq!(header_of(&current, header::ETAG), format!("\"{version}\""));
    assert_eq!(versioned.status(), StatusCode::OK);
    assert_eq!(
        header_of(&versioned, header::CACHE_CONTROL),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(
        versioned.bytes().await.expect("a body"),
        current.bytes().await.expect("a body")
    );
    assert_eq!(
        error_code(other).await,
        (StatusCode::NOT_FOUND, "NOT_FOUND".into())
    );
}

#[tokio::test]
async fn the_layout_is_public_and_an_unknown_event_gets_a_typed_404() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(20).await;

    // No token: the layout holds nothing of any fan.
    let known = get(&app, &format!("/events/{event}/layout.json"), &[]).await;
    let unknown = get(&app, &format!("/events/{}/layout.json", event + 1_000), &[]).await;
    let unknown_versioned = get(
        &app,
        &format!("/events/{}/layout/ab.json", event + 1_000),
        &[],
    )
    .await;
    let posted = reqwest::Client::new()
        .post(format!("{}/events/{event}/layout.json", app.base_url()))
        .send()
        .await
        .expect("a response");

    assert_eq!(known.status(), StatusCode::OK);
    assert_eq!(
        error_code(unknown).await,
        (StatusCode::NOT_FOUND, "EVENT_NOT_FOUND".into())
    );
    assert_eq!(
        error_code(unknown_versioned).await,
        (StatusCode::NOT_FOUND, "EVENT_NOT_FOUND".into())
    );
    assert_eq!(
        error_code(posted).await,
        (StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED".into())
    );
}

#[tokio::test]
async fn hostile_layout_paths_and_headers_get_typed_errors() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(20).await;
    let huge = "9".repeat(5_000);
    let cases = [
        (format!("/events/{huge}/layout.json"), "EVENT_NOT_FOUND"),
        (
            "/events/99999999999999999999/layout.json".into(),
            "EVENT_NOT_FOUND",
        ),
        ("/events/-1/layout.json".into(), "EVENT_NOT_FOUND"),
        ("/events/1%00/layout.json".into(), "EVENT_NOT_FOUND"),
        ("/events/%00/layout.json".into(), "EVENT_NOT_FOUND"),
        ("/events/%FF%FE/layout.json".into(), "NOT_FOUND"),
        (format!("/events/{event}/layout/%00.json"), "NOT_FOUND"),
        (format!("/events/{event}/layout/{huge}.json"), "NOT_FOUND"),
        (format!("/events/{event}/layout/%FF.json"), "NOT_FOUND"),
        (
            format!("/events/{event}/layout/..%2F..%2Fgraphql"),
            "NOT_FOUND",
        ),
    ];
    for (path, code) in cases {
        let response = get(&app, &path, &[]).await;
        let (status, got) = error_code(response).await;
        assert_eq!(got, code, "{path}");
        assert!(status.is_client_error(), "{path}: {status}");
    }
    for if_none_match in ["\u{1}\"x", "W/", "\"\"\"", &"\"a\",".repeat(2_000)] {
        let Ok(value) = header::HeaderValue::from_str(if_none_match) else {
            continue;
        };
        let response = reqwest::Client::new()
            .get(format!("{}/events/{event}/layout.json", app.base_url()))
            .header(header::IF_NONE_MATCH, value)
            .send()
            .await
            .expect("a response");
        assert_eq!(response.status(), StatusCode::OK, "{if_none_match}");
    }
}

/// The state every seat of an event is in now, from Postgres, in the snapshot's spelling.
async fn states_in_postgres(app: &TestApp, event: i64) -> String {
    let rows = app
        .db
        .connection
        .query_all_raw(Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "SELECT CASE WHEN status = 'BOOKED' THEN 'B' \
                 WHEN status = 'HELD' AND held_until > now() THEN 'H' ELSE 'A' END AS s \
             FROM seats WHERE event_id = $1 ORDER BY id",
            [event.into()],
        ))
        .await
        .expect("seats");
    rows.iter()
        .map(|row| row.try_get::<String>("", "s").expect("a state"))
        .collect()
}

/// Some fans hold seats, some of them let go again.
async fn churn(app: &TestApp, event: i64, fans: &[Fan], seats: &[i64]) {
    futures_util::future::join_all(fans.iter().zip(seats.chunks(3)).enumerate().map(
        |(i, (fan, seats))| async move {
            let held = lock(app, event, fan, seats).await;
            let hold = held["data"]["lockSeats"]["id"].as_str().map(str::to_owned);
            if let (Some(hold), true) = (hold, i % 3 == 0) {
                app.sale_as(&fan.token, event, RELEASE, json!({ "hold": hold }))
                    .await;
            }
        },
    ))
    .await;
}

#[tokio::test]
async fn a_snapshot_and_the_batches_after_its_sequence_rebuild_the_seats_after_concurrent_changes()
{
    let app = TestApp::spawn().await;
    let event = app.seed_event(120).await;
    let seats = seat_ids(&app.db.connection, event, 120).await;
    let index: HashMap<i64, usize> = seats.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let watcher = admitted(&app, event).await;
    let url = format!(
        "ws://{}/sale/{event}/graphql?access_token={}",
        app.instance.address, watcher.token
    );
    let mut client = WsClient::connect(&url, json!({})).await;
    client.subscribe("s", CHANGES, json!({})).await;
    // A batch arriving proves the subscription live (no sleeping on a guess): announce a
    // change that changes nothing until one comes through.
    let mut live = false;
    for _ in 0..100 {
        inventory::publish(
            &app.instance.state,
            event,
            &[(seats[119], SeatStatus::Available, 0)],
        )
        .await;
        let wait = std::time::Duration::from_millis(300);
        if tokio::time::timeout(wait, client.next_payload("s"))
            .await
            .is_ok()
        {
            live = true;
            break;
        }
    }
    assert!(live, "the subscription never delivered");
    let mut fans = Vec::new();
    for _ in 0..36 {
        fans.push(admitted(&app, event).await);
    }

    // Changes before, during and after the snapshot is taken.
    churn(&app, event, &fans[..12], &seats[..36]).await;
    let (_, snapshot) = tokio::join!(
        churn(&app, event, &fans[12..24], &seats[36..72]),
        app.sale(event, STATES, json!({}))
    );
    churn(&app, event, &fans[24..], &seats[72..108]).await;
    let last = app.sale(event, STATES, json!({})).await;

    // What a client does: the snapshot, then every batch reaching past its sequence, in
    // order and without a hole, each change kept only if newer than what the seat has.
    let snapshot = &snapshot["data"]["seatStates"];
    let mut states: Vec<char> = snapshot["states"]
        .as_str()
        .expect("states")
        .chars()
        .collect();
    let mut versions = vec![-1_i64; states.len()];
    let mut reached = snapshot["sequence"].as_i64().expect("a sequence");
    let target = last["data"]["seatStates"]["sequence"]
        .as_i64()
        .expect("a sequence");
    assert!(reached < target, "changes came after the snapshot");
    while reached < target {
        let batch = client.next_payload("s").await;
        let batch = &batch["payload"]["data"]["seatAvailability"];
        assert_eq!(batch["resync"], false, "{batch}");
        let (from, to) = (batch["fromSequence"].as_i64(), batch["toSequence"].as_i64());
        let (Some(from), Some(to)) = (from, to) else {
            panic!("a batch without its range: {batch}");
        };
        if to <= reached {
            continue; // already in the snapshot
        }
        assert!(from <= reached + 1, "a hole between {reached} and {from}");
        for change in batch["changes"].as_array().expect("changes") {
            let seat: i64 = change["seatId"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .expect("id");
            let i = index[&seat];
            let version = change["version"].as_i64().expect("a version");
            if version > versions[i] {
                versions[i] = version;
                states[i] = match change["status"].as_str() {
                    Some("HELD") => 'H',
                    Some("BOOKED") => 'B',
                    _ => 'A',
                };
            }
        }
        reached = to;
    }

    let rebuilt: String = states.into_iter().collect();
    assert_eq!(rebuilt, states_in_postgres(&app, event).await);
    assert!(rebuilt.contains('H') && rebuilt.contains('A'), "{rebuilt}");
}
