//! Strategies: realistic operations (with their variables' types) and the JSON variables
//! sent with any document: typed for its definitions, sometimes absent, wrong or deep.

use proptest::{
    arbitrary::any,
    collection::vec,
    option,
    sample::select,
    strategy::{Just, Strategy},
};

use super::{
    VARIABLES,
    documents::Doc,
    model::{InputValue, Ty},
    values::{Env, Gen, ident, json_string, members, nested, nesting_depth, one_of, pick, text},
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

/// Payment details that decide outcomes (valid cards, declines, timeouts) and broken ones.
const PAYMENT_DETAILS: &[&str] = &[
    r#"{"card":{"number":"4242424242424242","expiryMonth":12,"expiryYear":2035,"cvv":"123","holderName":"Priya"}}"#,
    r#"{"card":{"number":"4000000000000002","expiryMonth":12,"expiryYear":2035,"cvv":"123","holderName":"Priya"}}"#,
    r#"{"card":{"number":"4000000000000119","expiryMonth":12,"expiryYear":2035,"cvv":"123","holderName":"Priya"}}"#,
    r#"{"card":{"number":"4242424242424242","expiryMonth":13,"expiryYear":35,"cvv":"12345","holderName":""}}"#,
    r#"{"upi":{"vpa":"fan@okicici"}}"#,
    r#"{"upi":{"vpa":"timeout@upi"}}"#,
    r#"{"netBanking":{"bankCode":"SBIN"}}"#,
    r#"{"netBanking":{"bankCode":"NOPE"}}"#,
    r#"{"card":{"number":"4242424242424242","expiryMonth":12,"expiryYear":2035,"cvv":"123","holderName":"Priya"},"upi":{"vpa":"fan@okicici"}}"#,
    "{}",
];

fn json_number() -> Gen<String> {
    one_of(vec![
        (4, (-3i64..60).prop_map(|n| n.to_string()).boxed()),
        (2, any::<i64>().prop_map(|n| n.to_string()).boxed()),
        (1, (1usize..400).prop_map(|n| "9".repeat(n)).boxed()),
        (
            2,
            pick(&[
                "2147483648",
                "-2147483649",
                "18446744073709551616",
                "1e309",
                "-1e309",
                "5e-324",
                "-0",
                "0.5",
                "1.7976931348623157e308",
            ]),
        ),
    ])
}

/// Any JSON value, nested a little.
pub(super) fn json_wild(env: &Env) -> Gen<String> {
    let keys = ident(env).prop_map(|key| json_string(&key));
    let leaf = one_of(vec![
        (3, text().prop_map(|raw| json_string(&raw)).boxed()),
        (
            2,
            select((*env.ids).clone())
                .prop_map(|id| json_string(&id))
                .boxed(),
        ),
        (2, json_number()),
        (1, pick(&["true", "false", "null"])),
    ]);
    nested(leaf, keys.boxed(), ":", ",")
}

/// JSON nested `depth` levels.
pub(super) fn deep_json() -> Gen<String> {
    (nesting_depth(), any::<bool>())
        .prop_map(|(depth, list)| {
            if list {
                format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
            } else {
                format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth))
            }
        })
        .boxed()
}

/// A JSON value for a variable of type `ty`, usually of that type.
fn json_for(env: &Env, ty: &Ty, depth: u32) -> Gen<String> {
    let typed = match ty {
        Ty::NonNull(inner) => one_of(vec![
            (40, json_for(env, inner, depth)),
            (1, pick(&["null"])),
        ]),
        Ty::List(inner) if depth > 0 => {
            let item = json_for(env, inner, depth - 1);
            one_of(vec![
                (
                    6,
                    vec(item.clone(), 1..6)
                        .prop_map(|items| format!("[{}]", items.join(",")))
                        .boxed(),
                ),
                (1, pick(&["[]"])),
                (1, item),
            ])
        }
        Ty::List(_) => pick(&["[]"]),
        Ty::Named(name) => match name.as_str() {
            // Template-only types: ids of the event's seats, of the holds and bookings made
            // lately, idempotency keys.
            "SeatID" => one_of(vec![
                (
                    12,
                    select((*env.seats).clone())
                        .prop_map(|id| json_string(&id))
                        .boxed(),
                ),
                (1, json_for(env, &Ty::Named("ID".to_owned()), depth)),
            ]),
            "HoldID" | "BookingID" => {
                let made = if name == "HoldID" {
                    &env.holds
                } else {
                    &env.bookings
                };
                let any_id = json_for(env, &Ty::Named("ID".to_owned()), depth);
                if made.is_empty() {
                    any_id
                } else {
                    one_of(vec![
                        (
                            6,
                            select((**made).clone())
                                .prop_map(|id| json_string(&id))
                                .boxed(),
                        ),
                        (1, any_id),
                    ])
                }
            }
            "Key" => one_of(vec![
                (
                    6,
                    "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
                        .prop_map(|key| json_string(&key))
                        .boxed(),
                ),
                (1, pick(&["\"k\"", "\"\""])),
                (1, text().prop_map(|raw| json_string(&raw)).boxed()),
            ]),
            "ID" => one_of(vec![
                (
                    8,
                    select((*env.ids).clone())
                        .prop_map(|id| json_string(&id))
                        .boxed(),
                ),
                (1, json_number()),
                (1, text().prop_map(|raw| json_string(&raw)).boxed()),
            ]),
            "Int" | "Float" => json_number(),
            "String" => text().prop_map(|raw| json_string(&raw)).boxed(),
            "Boolean" => pick(&["true", "false"]),
            "PaymentDetailsInput" => one_of(vec![
                (4, pick(PAYMENT_DETAILS)),
                (1, json_input(env, name, depth)),
            ]),
            _ => match env.model.enums.get(name) {
                Some(values) => one_of(vec![
                    (
                        6,
                        select(values.clone()).prop_map(|v| json_string(&v)).boxed(),
                    ),
                    (1, text().prop_map(|raw| json_string(&raw)).boxed()),
                ]),
                None => json_input(env, name, depth),
            },
        },
    };
    one_of(vec![(30, typed), (1, json_wild(env))])
}

fn json_input(env: &Env, name: &str, depth: u32) -> Gen<String> {
    match env.model.inputs.get(name).filter(|_| depth > 0) {
        Some(fields) => {
            let fields: Vec<InputValue> = fields
                .iter()
                .map(|field| InputValue {
                    name: json_string(&field.name),
                    ty: field.ty.clone(),
                })
                .collect();
            members(env, &fields, depth - 1, 0.9, json_for, json_wild)
                .prop_map(|members| {
                    // `members` writes `name: value`; JSON wants `"name":value`.
                    let members: Vec<String> = members
                        .into_iter()
                        .map(|member| member.replacen(": ", ":", 1))
                        .map(|member| {
                            if member.starts_with('"') {
                                member
                            } else {
                                let (key, value) =
                                    member.split_once(':').unwrap_or((&member, "null"));
                                format!("{}:{value}", json_string(key))
                            }
                        })
                        .collect();
                    format!("{{{}}}", members.join(","))
                })
                .boxed()
        }
        None => json_wild(env),
    }
}

/// The `variables` member: typed for `definitions`, sometimes absent, wrong or deep.
fn variables(env: &Env, definitions: &[(String, Ty)]) -> Gen<Option<String>> {
    let mut members: Vec<Gen<Option<String>>> = definitions
        .iter()
        .map(|(name, ty)| {
            let key = json_string(name);
            option::weighted(0.92, json_for(env, ty, 3))
                .prop_map(move |value| value.map(|value| format!("{key}:{value}")))
                .boxed()
        })
        .collect();
    members.push(
        option::weighted(0.05, (ident(env), json_wild(env)))
            .prop_map(|extra| extra.map(|(key, value)| format!("{}:{value}", json_string(&key))))
            .boxed(),
    );
    members.push(
        option::weighted(0.01, (pick(VARIABLES), deep_json()))
            .prop_map(|deep| deep.map(|(key, value)| format!("{}:{value}", json_string(&key))))
            .boxed(),
    );
    let object = members.prop_map(|members| {
        let members: Vec<String> = members.into_iter().flatten().collect();
        Some(format!("{{{}}}", members.join(",")))
    });
    one_of(vec![
        (40, object.boxed()),
        (2, Just(None).boxed()),
        (
            1,
            pick(&[
                "null",
                "[]",
                "\"{}\"",
                "5",
                "true",
                "{\"v0\":\"a\\u0000b\"}",
                "{\"\\u0000\":1}",
            ])
            .prop_map(Some)
            .boxed(),
        ),
        (1, deep_json().prop_map(Some).boxed()),
        (1, json_wild(env).prop_map(Some).boxed()),
    ])
}

pub(super) fn generic_variables(env: &Env) -> Gen<Option<String>> {
    let definitions: Vec<(String, Ty)> = VARIABLES
        .iter()
        .map(|name| ((*name).to_owned(), Ty::Named("?".to_owned())))
        .collect();
    variables(env, &definitions)
}

/// A realistic operation of the schema, with typed variables (the sale's first five, the
/// steps of a purchase, more often).
pub(super) fn template(env: &Env) -> Gen<(Doc, Option<String>)> {
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
