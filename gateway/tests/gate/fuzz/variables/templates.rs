//! Strategies: realistic operations of both schemas (the API's own sale tests' among them),
//! with their variables' types, and drawing one with typed variables.

use proptest::strategy::Strategy;

use super::variables;
use crate::fuzz::{
    documents::Doc,
    model::Ty,
    values::{Env, Gen, one_of},
};

/// Realistic operations, with their variables' types.
const PUBLIC_TEMPLATES: &[(&str, &[(&str, &str)])] = &[
    (
        "mutation($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken refreshToken user { id } } }",
        &[("email", "String!"), ("password", "String!")],
    ),
    (
        "mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id email } } }",
        &[("input", "RegisterInput!")],
    ),
    (
        "mutation($t: String!) { refresh(refreshToken: $t) { accessToken } }",
        &[("t", "String!")],
    ),
    (
        "mutation($t: String!) { logout(refreshToken: $t) }",
        &[("t", "String!")],
    ),
    (
        "mutation($e: ID!) { joinQueue(eventId: $e) { state position ticketNumber } }",
        &[("e", "ID!")],
    ),
    (
        "mutation($e: ID!) { heartbeat(eventId: $e) { state } }",
        &[("e", "ID!")],
    ),
    (
        "mutation($e: ID!) { leaveQueue(eventId: $e) }",
        &[("e", "ID!")],
    ),
    (
        "query($e: ID!) { queueStatus(eventId: $e) { state position admission { token } } }",
        &[("e", "ID!")],
    ),
    (
        "subscription($e: ID!) { queuePosition(eventId: $e) { state position } }",
        &[("e", "ID!")],
    ),
    (
        "query($e: ID!) { event(id: $e) { id name categories { id price { formatted } } } }",
        &[("e", "ID!")],
    ),
    (
        "query($s: String!) { eventBySlug(slug: $s) { id } }",
        &[("s", "String!")],
    ),
    (
        "{ events { id slug salePath status } me { id email role } }",
        &[],
    ),
    (
        "{ myBookings { id status reference total { formatted } payments { status } } }",
        &[],
    ),
    (
        "mutation($b: ID!) { cancelBooking(bookingId: $b) { id status } }",
        &[("b", "BookingID!")],
    ),
    (
        "mutation($e: ID!, $on: Boolean!) { setEventGate(eventId: $e, enabled: $on) { id gateEnabled } }",
        &[("e", "ID!"), ("on", "Boolean!")],
    ),
    (
        "mutation($e: ID!, $r: Float!) { setAdmissionRate(eventId: $e, perSecond: $r) { admissionRate } }",
        &[("e", "ID!"), ("r", "Float!")],
    ),
    (
        "mutation($e: ID!, $c: Int!) { setAdmissionCapacity(eventId: $e, capacity: $c) { admissionCapacity } }",
        &[("e", "ID!"), ("c", "Int!")],
    ),
    (
        "mutation($e: ID!) { pauseQueue(eventId: $e) { paused } resumeQueue(eventId: $e) { paused } }",
        &[("e", "ID!")],
    ),
    (
        "mutation($e: ID!, $u: ID!) { revokeAdmission(eventId: $e, userId: $u) }",
        &[("e", "ID!"), ("u", "ID!")],
    ),
    (
        "query($e: ID!) { queueStats(eventId: $e) { waiting admitted lottery { seed } } }",
        &[("e", "ID!")],
    ),
];

/// Realistic sale operations (those of the API's own sale tests among them).
const SALE_TEMPLATES: &[(&str, &[(&str, &str)])] = &[
    (
        "mutation($seats: [ID!]!, $key: String!) { lockSeats(seatIds: $seats, idempotencyKey: $key) { id status expiresAt total { amountMinor } seats { id status } } }",
        &[("seats", "[SeatID!]!"), ("key", "Key!")],
    ),
    (
        "mutation($hold: ID!, $key: String!) { createBooking(holdId: $hold, idempotencyKey: $key) { id reference status paymentIntent } }",
        &[("hold", "HoldID!"), ("key", "Key!")],
    ),
    (
        "mutation($booking: ID!, $method: PaymentMethod!, $details: PaymentDetailsInput!, $key: String!) { confirmPayment(bookingId: $booking, method: $method, details: $details, idempotencyKey: $key) { booking { id status } payment { id status } } }",
        &[
            ("booking", "BookingID!"),
            ("method", "PaymentMethod!"),
            ("details", "PaymentDetailsInput!"),
            ("key", "Key!"),
        ],
    ),
    (
        "mutation($booking: ID!, $key: String!) { confirmPayment(bookingId: $booking, method: CARD, details: { card: { number: \"4242424242424242\", expiryMonth: 12, expiryYear: 2035, cvv: \"123\", holderName: \"Priya\" } }, idempotencyKey: $key) { booking { id status } payment { status } } }",
        &[("booking", "BookingID!"), ("key", "Key!")],
    ),
    (
        "mutation($booking: ID!, $key: String!) { confirmPayment(bookingId: $booking, method: UPI, details: { upi: { vpa: \"fan@okicici\" } }, idempotencyKey: $key) { booking { id status } payment { status } } }",
        &[("booking", "BookingID!"), ("key", "Key!")],
    ),
    (
        "mutation($hold: ID!) { extendHold(holdId: $hold) { id expiresAt extensionsLeft } }",
        &[("hold", "HoldID!")],
    ),
    (
        "mutation($hold: ID!) { releaseSeats(holdId: $hold) }",
        &[("hold", "HoldID!")],
    ),
    (
        "mutation($b: ID!) { cancelBooking(bookingId: $b) { id status } }",
        &[("b", "BookingID!")],
    ),
    (
        "{ myHold { id status seats { id } } availability { total { available } } }",
        &[],
    ),
    (
        "query($b: ID!) { booking(id: $b) { id status seats { id status } payments { status } } }",
        &[("b", "BookingID!")],
    ),
    (
        "query($s: ID!) { seat(id: $s) { id status version } }",
        &[("s", "SeatID!")],
    ),
    (
        "query($n: Int, $a: String, $st: SeatStatus, $c: ID, $sec: String) { seats(first: $n, after: $a, status: $st, category: $c, section: $sec) { nodes { id } pageInfo { endCursor } } }",
        &[
            ("n", "Int"),
            ("a", "String"),
            ("st", "SeatStatus"),
            ("c", "ID"),
            ("sec", "String"),
        ],
    ),
    ("{ seatMap { seatCount status sequence } }", &[]),
    ("{ event { id status } seatCategories { id name } }", &[]),
    (
        "subscription { seatAvailability { eventId fromSequence changes { seatId status } } }",
        &[],
    ),
];

/// A realistic operation of the schema, with typed variables (the sale's first five, the
/// steps of a purchase, more often).
pub(in crate::fuzz) fn template(env: &Env) -> Gen<(Doc, Option<String>)> {
    let templates = if env.sale {
        SALE_TEMPLATES
    } else {
        PUBLIC_TEMPLATES
    };
    let arms = templates
        .iter()
        .enumerate()
        .map(|(index, (text, definitions))| {
            let definitions: Vec<(String, Ty)> = definitions
                .iter()
                .map(|(name, ty)| ((*name).to_owned(), Ty::parse(ty)))
                .collect();
            let weight = if env.sale && index < 5 { 6 } else { 1 };
            let strategy = variables(env, &definitions)
                .prop_map(move |variables| (Doc::new((*text).to_owned()), variables))
                .boxed();
            (weight, strategy)
        })
        .collect();
    one_of(arms)
}
