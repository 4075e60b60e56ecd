//! Every query and mutation of both schemas behaves the same over HTTP and over WebSocket:
//! one fan walks a journey over HTTP, another walks the same journey over `graphql-transport-ws`,
//! and each step's answer must have the same shape and the same codes. The journeys
//! themselves, and the check that they name every root field, are in `transports_journeys`.

use graphql_api::testing::TestApp;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    sale_support::seat_ids,
    transports_journeys::{ADMIN, PUBLIC, SALE, Step},
    ws_client::WsClient,
};

/// Where one journey's requests go.
enum Transport<'a> {
    Http {
        app: &'a TestApp,
        path: String,
        token: String,
    },
    Ws(Box<WsClient>, u32),
}

impl Transport<'_> {
    async fn run(&mut self, query: &str, variables: Value) -> Value {
        match self {
            Transport::Http { app, path, token } => {
                let body = json!({ "query": query, "variables": variables });
                app.post_json_as(Some(token.as_str()), path, &body).await.1
            }
            Transport::Ws(client, next_id) => {
                *next_id += 1;
                let id = next_id.to_string();
                client.subscribe(&id, query, variables).await;
                client.next_payload(&id).await["payload"].clone()
            }
        }
    }
}

/// What an answer is, without its values: the codes of its errors, and the keys and kinds
/// of its data.
fn shape(answer: &Value) -> Value {
    fn of(value: &Value) -> Value {
        match value {
            Value::Object(fields) => fields
                .iter()
                .map(|(name, value)| (name.clone(), of(value)))
                .collect::<serde_json::Map<_, _>>()
                .into(),
            Value::Array(items) => json!([items.first().map(of)]),
            Value::String(_) => json!("string"),
            Value::Number(_) => json!("number"),
            Value::Bool(_) => json!("bool"),
            Value::Null => Value::Null,
        }
    }
    let codes: Vec<&Value> = answer["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|error| &error["extensions"]["code"])
                .collect()
        })
        .unwrap_or_default();
    json!({ "data": of(&answer["data"]), "codes": codes })
}

/// Remembers ids that later steps use.
fn remember(found: &mut Value, answer: &Value) {
    let data = &answer["data"];
    for (path, name) in [
        ("/lockSeats/id", "hold"),
        ("/createBooking/id", "booking"),
        ("/login/refreshToken", "refresh"),
        ("/refresh/refreshToken", "refresh"),
        ("/event/slug", "slug"),
    ] {
        if let Some(value) = data.pointer(path) {
            found[name] = value.clone();
        }
    }
}

/// Walks `steps` on `transport`; returns each step's answer.
async fn walk(transport: &mut Transport<'_>, steps: &[Step], mut found: Value) -> Vec<Value> {
    let mut answers = Vec::new();
    for (query, variables) in steps {
        let answer = transport.run(query, variables(&found)).await;
        remember(&mut found, &answer);
        answers.push(answer);
    }
    answers
}

fn compare(steps: &[Step], http: &[Value], ws: &[Value]) {
    for ((query, _), (over_http, over_ws)) in steps.iter().zip(http.iter().zip(ws)) {
        assert!(
            !over_http.to_string().contains("INTERNAL_ERROR")
                && !over_ws.to_string().contains("INTERNAL_ERROR"),
            "{query}:\nHTTP {over_http}\nWS {over_ws}"
        );
        assert_eq!(
            shape(over_http),
            shape(over_ws),
            "{query}:\nHTTP {over_http}\nWS {over_ws}"
        );
    }
}

/// A fan with a sign-in token, an admission token and two seats of their own.
struct Walker {
    user: Uuid,
    access: String,
    admission: String,
    seats: Vec<String>,
}

async fn walker(app: &TestApp, event: i64, seats: &[i64]) -> Walker {
    let user = Uuid::now_v7();
    let admission = app.admit(event, user).await;
    Walker {
        user,
        access: app.access_token(user, "FAN"),
        admission,
        seats: seats.iter().map(i64::to_string).collect(),
    }
}

#[tokio::test]
async fn the_sale_journey_answers_alike_over_http_and_websocket() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(20).await;
    let seats = seat_ids(&app.db.connection, event, 4).await;
    let over_http = walker(&app, event, &seats[..2]).await;
    let over_ws = walker(&app, event, &seats[2..]).await;
    let socket = WsClient::connect(
        &format!(
            "ws://{}/sale/{event}/graphql?access_token={}",
            app.instance.address, over_ws.admission
        ),
        json!({}),
    )
    .await;

    let mut http = Transport::Http {
        app: &app,
        path: format!("/sale/{event}/graphql"),
        token: over_http.admission.clone(),
    };
    let http_answers = walk(&mut http, SALE, json!({ "seats": over_http.seats })).await;
    let ws_answers = walk(
        &mut Transport::Ws(Box::new(socket), 0),
        SALE,
        json!({ "seats": over_ws.seats }),
    )
    .await;

    compare(SALE, &http_answers, &ws_answers);
    // The journey did what it says: the payment went through on both.
    let paid = SALE
        .iter()
        .position(|(query, _)| query.contains("confirmPayment"))
        .expect("a payment step");
    for answers in [&http_answers, &ws_answers] {
        assert_eq!(
            answers[paid]["data"]["confirmPayment"]["payment"]["status"], "SUCCEEDED",
            "{}",
            answers[paid]
        );
        assert!(
            answers[5]["data"]["seatStates"]["states"]
                .as_str()
                .is_some_and(|states| !states.is_empty() && states.chars().all(|c| c == 'A')),
            "{}",
            answers[5]
        );
    }
    assert!(over_http.user != over_ws.user);
}

#[tokio::test]
async fn the_public_journey_answers_alike_over_http_and_websocket() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(20).await;
    let over_http = walker(&app, event, &[]).await;
    let over_ws = walker(&app, event, &[]).await;
    let admin = app.access_token(Uuid::now_v7(), "ADMIN");
    let url = format!("ws://{}/graphql", app.instance.address);
    let bearer = |token: &str| json!({ "authorization": format!("Bearer {token}") });
    let start = |who: &str| json!({ "event": event.to_string(), "email": format!("{who}-{}@fans.test", Uuid::new_v4().simple()) });

    let mut http = Transport::Http {
        app: &app,
        path: "/graphql".into(),
        token: over_http.access.clone(),
    };
    let http_answers = walk(&mut http, PUBLIC, start("http")).await;
    let socket = WsClient::connect(&url, bearer(&over_ws.access)).await;
    let ws_answers = walk(&mut Transport::Ws(Box::new(socket), 0), PUBLIC, start("ws")).await;
    let mut http_admin = Transport::Http {
        app: &app,
        path: "/graphql".into(),
        token: admin.clone(),
    };
    let http_admin_answers = walk(&mut http_admin, ADMIN, start("admin")).await;
    let admin_socket = WsClient::connect(&url, bearer(&admin)).await;
    let ws_admin_answers = walk(
        &mut Transport::Ws(Box::new(admin_socket), 0),
        ADMIN,
        start("admin"),
    )
    .await;

    compare(PUBLIC, &http_answers, &ws_answers);
    compare(ADMIN, &http_admin_answers, &ws_admin_answers);
    // Signed in on both transports: `me` answered, not UNAUTHENTICATED.
    assert!(
        ws_answers[3]["data"]["me"]["id"].is_string(),
        "{}",
        ws_answers[3]
    );
    assert!(
        ws_admin_answers[0]["data"]["queueStats"].is_object(),
        "{}",
        ws_admin_answers[0]
    );
}
