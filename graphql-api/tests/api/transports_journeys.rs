//! The journeys the transport tests walk, step by step, and a check that they name every
//! root query and mutation field, so a new operation cannot skip the comparison.

use std::collections::BTreeSet;

use graphql_api::schema::{public_sdl, sale_sdl};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::sale_support::{card, key};

/// One step: a document and its variables from what earlier steps answered.
pub type Step = (&'static str, fn(&Value) -> Value);

pub const SALE: &[Step] = &[
    ("{ event { id name } }", |_| json!({})),
    ("{ seatCategories { name } }", |_| json!({})),
    (
        "{ seats(first: 2) { edges { node { id status category { name } } } } }",
        |_| json!({}),
    ),
    (
        "query($id: ID!) { seat(id: $id) { id status } }",
        |f| json!({ "id": f["seats"][0] }),
    ),
    ("{ seatMap { sequence status } }", |_| json!({})),
    ("{ seatStates { sequence states layoutVersion } }", |_| {
        json!({})
    }),
    (
        "{ availability { total available categories { category { name } } } }",
        |_| json!({}),
    ),
    ("{ myHold { id } }", |_| json!({})),
    (
        "mutation($s: [ID!]!, $k: String!) { lockSeats(seatIds: $s, idempotencyKey: $k) { id status seats { id category { name } } } }",
        |f| json!({ "s": f["seats"], "k": key() }),
    ),
    ("{ myHold { id seats { id } } }", |_| json!({})),
    (
        "mutation($h: ID!) { extendHold(holdId: $h) { id extensionsLeft } }",
        |f| json!({ "h": f["hold"] }),
    ),
    (
        "mutation($h: ID!, $k: String!) { createBooking(holdId: $h, idempotencyKey: $k) { id status seats { id } } }",
        |f| json!({ "h": f["hold"], "k": key() }),
    ),
    (
        "query($b: ID!) { booking(id: $b) { id status total { formatted } } }",
        |f| json!({ "b": f["booking"] }),
    ),
    (
        "mutation($b: ID!, $d: PaymentDetailsInput!, $k: String!) { confirmPayment(bookingId: $b, method: CARD, details: $d, idempotencyKey: $k) { booking { status } payment { status } } }",
        |f| json!({ "b": f["booking"], "d": card("4111111111111111"), "k": key() }),
    ),
    (
        "mutation($b: ID!) { cancelBooking(bookingId: $b) { status } }",
        |f| json!({ "b": f["booking"] }),
    ),
    (
        "mutation($h: ID!) { releaseSeats(holdId: $h) }",
        |f| json!({ "h": f["hold"] }),
    ),
];

pub const PUBLIC: &[Step] = &[
    ("{ events { id categories { name } } }", |_| json!({})),
    (
        "query($e: ID!) { event(id: $e) { id slug categories { name } } }",
        |f| json!({ "e": f["event"] }),
    ),
    (
        "query($s: String!) { eventBySlug(slug: $s) { id } }",
        |f| json!({ "s": f["slug"] }),
    ),
    ("{ me { id } }", |_| json!({})),
    ("{ myBookings { id } }", |_| json!({})),
    (
        "mutation($i: RegisterInput!) { register(input: $i) { accessToken user { id } } }",
        |f| json!({ "i": { "email": f["email"], "password": "correct horse battery", "displayName": "Fan" } }),
    ),
    (
        "mutation($e: String!) { login(email: $e, password: \"correct horse battery\") { refreshToken } }",
        |f| json!({ "e": f["email"] }),
    ),
    (
        "mutation($r: String!) { refresh(refreshToken: $r) { refreshToken } }",
        |f| json!({ "r": f["refresh"] }),
    ),
    (
        "mutation($r: String!) { logout(refreshToken: $r) }",
        |f| json!({ "r": f["refresh"] }),
    ),
    (
        "mutation($e: ID!) { joinQueue(eventId: $e) { state } }",
        |f| json!({ "e": f["event"] }),
    ),
    (
        "query($e: ID!) { queueStatus(eventId: $e) { state } }",
        |f| json!({ "e": f["event"] }),
    ),
    (
        "mutation($e: ID!) { heartbeat(eventId: $e) { state } }",
        |f| json!({ "e": f["event"] }),
    ),
    (
        "mutation($e: ID!) { leaveQueue(eventId: $e) }",
        |f| json!({ "e": f["event"] }),
    ),
    (
        "mutation($b: ID!) { cancelBooking(bookingId: $b) { id } }",
        |_| json!({ "b": Uuid::new_v4().to_string() }),
    ),
    (
        "query($e: ID!) { lottery(eventId: $e) { eventId algorithm commitment seed entrants(limit: 5) } }",
        |f| json!({ "e": f["event"] }),
    ),
];

pub const ADMIN: &[Step] = &[
    (
        "query($e: ID!) { queueStats(eventId: $e) { paused } }",
        |f| json!({ "e": f["event"] }),
    ),
    (
        "mutation($e: ID!) { pauseQueue(eventId: $e) { paused } }",
        |f| json!({ "e": f["event"] }),
    ),
    (
        "mutation($e: ID!) { resumeQueue(eventId: $e) { paused } }",
        |f| json!({ "e": f["event"] }),
    ),
    (
        "mutation($e: ID!) { setAdmissionRate(eventId: $e, perSecond: 10) { admissionRate } }",
        |f| json!({ "e": f["event"] }),
    ),
    (
        "mutation($e: ID!) { setAdmissionCapacity(eventId: $e, capacity: 100) { admissionCapacity } }",
        |f| json!({ "e": f["event"] }),
    ),
    (
        "mutation($e: ID!) { setAdmissionBounds(eventId: $e, minRate: 1, maxRate: 50, minCapacity: 10, maxCapacity: 500) { autopilot { maxRate } } }",
        |f| json!({ "e": f["event"] }),
    ),
    (
        "mutation($e: ID!) { pinAdmission(eventId: $e, perSecond: 5) { autopilot { mode } } }",
        |f| json!({ "e": f["event"] }),
    ),
    (
        "mutation($e: ID!) { resumeAutopilot(eventId: $e) { autopilot { mode reason } } }",
        |f| json!({ "e": f["event"] }),
    ),
    (
        "mutation($e: ID!, $u: ID!) { revokeAdmission(eventId: $e, userId: $u) }",
        |f| json!({ "e": f["event"], "u": Uuid::new_v4().to_string() }),
    ),
    (
        "mutation($e: ID!) { setEventGate(eventId: $e, enabled: true) { id gateEnabled } }",
        |f| json!({ "e": f["event"] }),
    ),
];

/// Root fields a journey's documents name.
fn roots(steps: &[Step]) -> BTreeSet<String> {
    use async_graphql::parser::types::Selection;
    steps
        .iter()
        .flat_map(|(query, _)| {
            let document =
                async_graphql::parser::parse_query(query).expect("a journey step parses");
            document
                .operations
                .iter()
                .flat_map(|(_, operation)| {
                    operation
                        .node
                        .selection_set
                        .node
                        .items
                        .iter()
                        .filter_map(|item| match &item.node {
                            Selection::Field(field) => Some(field.node.name.node.to_string()),
                            _ => None,
                        })
                        .collect::<Vec<_>>()
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Root query and mutation fields an SDL serves.
fn served(sdl: &str) -> BTreeSet<String> {
    use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
    let document = async_graphql::parser::parse_schema(sdl).expect("SDL parses");
    document
        .definitions
        .into_iter()
        .filter_map(|definition| match definition {
            TypeSystemDefinition::Type(definition) => Some(definition.node),
            _ => None,
        })
        .filter(|definition| {
            let name = definition.name.node.as_str();
            name.ends_with("Query") || name.ends_with("Mutation")
        })
        .flat_map(|definition| match definition.kind {
            TypeKind::Object(object) => object
                .fields
                .into_iter()
                .map(|field| field.node.name.node.to_string())
                .collect(),
            _ => Vec::new(),
        })
        .collect()
}

#[test]
fn the_journeys_name_every_query_and_mutation() {
    let public: BTreeSet<String> = roots(PUBLIC).union(&roots(ADMIN)).cloned().collect();
    assert_eq!(public, served(&public_sdl()), "public schema");
    assert_eq!(roots(SALE), served(&sale_sdl()), "sale schema");
}
