//! The presale lottery anyone can verify: a commitment on the public schema before the close,
//! then the seed and the drawn order of pseudonymous entrant ids, checked by the verifier and
//! by `graphql-api lottery verify`; tampering with either fails.

use std::collections::HashSet;

use graphql_api::{
    queue::{self, lottery, lottery::proof, ticker},
    seed,
    testing::{TestApp, first_error_code},
};
use serde_json::{Value, json};

use crate::queue_support::{active, admit_all, event, fan, set_limits};

const LOTTERY: &str = "query($id: ID!, $offset: Int, $limit: Int) { lottery(eventId: $id) { \
    eventId algorithm commitment committedAt closesAt drawnAt seed entrantCount \
    entrants(offset: $offset, limit: $limit) } }";

async fn presale_event(app: &TestApp) -> i64 {
    let mut spec = seed::load_test_spec(10);
    spec.slug = "lottery-show".into();
    spec.sale_opens_at = chrono::Utc::now() + chrono::Duration::hours(1);
    spec.status = "SCHEDULED";
    seed::seed_event(&app.db.connection, &spec)
        .await
        .expect("seed")
        .event_id
}

async fn lottery_of(app: &TestApp, id: i64, page: Value) -> Value {
    let mut variables = json!({ "id": id.to_string() });
    if let (Some(vars), Some(page)) = (variables.as_object_mut(), page.as_object()) {
        vars.extend(page.clone());
    }
    let body = app.public(LOTTERY, variables).await;
    assert!(body.get("errors").is_none(), "{body}");
    body["data"]["lottery"].clone()
}

/// Runs the shipped verifier on a file; returns (success, stdout + stderr).
fn run_verifier(reveal: &Value, extra: &[&str]) -> (bool, String) {
    let file = std::env::temp_dir().join(format!("reveal-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(&file, json!({ "data": { "lottery": reveal } }).to_string()).expect("write");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_graphql-api"))
        .args(["lottery", "verify", "--file"])
        .arg(&file)
        .args(extra)
        .env("RUST_LOG", "off")
        .output()
        .expect("running the verifier");
    let _ = std::fs::remove_file(&file);
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

#[tokio::test]
async fn a_draw_reveals_the_committed_seed_and_an_order_anyone_can_check() {
    let app = TestApp::spawn().await;
    let state = &app.instance.state;
    let id = presale_event(&app).await;
    let before = lottery_of(&app, id, json!({})).await;
    assert_eq!(before["commitment"], Value::Null, "nothing committed yet");
    assert_eq!(before["entrants"], Value::Null);

    // The ticker commits a seed for every event still in presale; the first one stays.
    let events = ticker::active_events(state).await.expect("events");
    ticker::commit_lotteries(state, &events, &mut HashSet::new()).await;
    let committed = lottery_of(&app, id, json!({})).await;
    let commitment = committed["commitment"]
        .as_str()
        .expect("commitment")
        .to_owned();
    assert_eq!(commitment.len(), 64);
    assert_eq!(committed["algorithm"], proof::ALGORITHM);
    assert_eq!(
        (
            &committed["seed"],
            &committed["drawnAt"],
            &committed["entrants"]
        ),
        (&Value::Null, &Value::Null, &Value::Null),
        "the seed stays secret until the draw"
    );
    assert_eq!(
        lottery::commit(state.db(), id).await.expect("commit again"),
        commitment
    );

    let presale: Vec<_> = (0..60).map(|_| fan()).collect();
    let opening = event(state, id).await;
    for identity in &presale {
        queue::join(state, &opening, identity).await.expect("join");
    }
    set_limits(state, id, 10_000.0, 100_000).await;
    let mut opened = (*opening).clone();
    opened.sale_opens_at = chrono::Utc::now() - chrono::Duration::seconds(1);
    let admitted = admit_all(state, &active(&opened), 60, 50).await;
    assert_eq!(admitted.len(), 60);

    let revealed = lottery_of(&app, id, json!({ "limit": 10_000 })).await;
    assert_eq!(revealed["commitment"], commitment.as_str());
    assert_eq!(revealed["entrantCount"], 60);
    let reveal: proof::Reveal = serde_json::from_value(revealed.clone()).expect("a reveal");
    assert_eq!(proof::verify(&reveal), Ok(()));
    assert_eq!(
        admitted
            .iter()
            .map(|fan| proof::entrant_id(id, fan))
            .collect::<Vec<_>>(),
        reveal.entrants,
        "fans were admitted in the revealed order"
    );

    // A fan recognises their id and finds it at their ticket's rank.
    let me = &presale[17];
    app.ensure_user(me.user_id).await;
    let token = app.access_token(me.user_id, "FAN");
    let mine = app
        .public_as(
            &token,
            "query($id: ID!) { queueStatus(eventId: $id) { lotteryEntrant } }",
            json!({ "id": id.to_string() }),
        )
        .await;
    let entrant = mine["data"]["queueStatus"]["lotteryEntrant"]
        .as_str()
        .expect("an entrant id")
        .to_owned();
    let ticket = admitted
        .iter()
        .position(|fan| *fan == me.fan_key())
        .expect("admitted")
        + 1;
    assert_eq!(proof::rank_of(&reveal, &entrant), Some(ticket));

    // The shipped command agrees, and refuses tampering.
    let (ok, said) = run_verifier(
        &revealed,
        &["--commitment", &commitment, "--entrant", &entrant],
    );
    assert!(ok, "{said}");
    assert!(said.contains(&format!("ticket {ticket}")), "{said}");
    let mut swapped = revealed.clone();
    swapped["entrants"]
        .as_array_mut()
        .expect("entrants")
        .swap(0, 1);
    let (ok, said) = run_verifier(&swapped, &[]);
    assert!(!ok && said.contains("not in the seed's order"), "{said}");
    let mut reseeded = revealed.clone();
    reseeded["seed"] = json!("00".repeat(32));
    let (ok, said) = run_verifier(&reseeded, &[]);
    assert!(
        !ok && said.contains("does not hash to the commitment"),
        "{said}"
    );
    let (ok, said) = run_verifier(&revealed, &["--commitment", &"11".repeat(32)]);
    assert!(!ok && said.contains("not the one you kept"), "{said}");
}

#[tokio::test]
async fn entrants_come_in_bounded_pages() {
    let app = TestApp::spawn().await;
    let state = &app.instance.state;
    let id = presale_event(&app).await;
    lottery::commit(state.db(), id).await.expect("commit");
    let opening = event(state, id).await;
    for _ in 0..30 {
        queue::join(state, &opening, &fan()).await.expect("join");
    }
    set_limits(state, id, 10_000.0, 100_000).await;
    let mut opened = (*opening).clone();
    opened.sale_opens_at = chrono::Utc::now() - chrono::Duration::seconds(1);
    admit_all(state, &active(&opened), 30, 50).await;

    let all = lottery_of(&app, id, json!({ "limit": 100 })).await["entrants"].clone();
    let page = lottery_of(&app, id, json!({ "offset": 20, "limit": 20 })).await["entrants"].clone();
    assert_eq!(page.as_array().map(Vec::len), Some(10));
    assert_eq!(page[0], all[20]);
    let past = lottery_of(&app, id, json!({ "offset": 30 })).await["entrants"].clone();
    assert_eq!(past, json!([]));
    for (offset, limit) in [(0, 0), (0, 10_001), (-1, 10)] {
        let body = app
            .public(
                LOTTERY,
                json!({ "id": id.to_string(), "offset": offset, "limit": limit }),
            )
            .await;
        assert_eq!(first_error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    }
}
