//! Strategies: JSON values: numbers past their bounds, any value nested a little or very deep,
//! and a value for a variable's type (the seats, holds and bookings of the moment, payment
//! details that decide outcomes, input objects).

use proptest::{arbitrary::any, collection::vec, sample::select, strategy::Strategy};

use crate::fuzz::{
    model::{InputValue, Ty},
    values::{Env, Gen, ident, json_string, members, nested, nesting_depth, one_of, pick, text},
};

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
pub(in crate::fuzz) fn json_wild(env: &Env) -> Gen<String> {
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
pub(in crate::fuzz) fn deep_json() -> Gen<String> {
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
pub(super) fn json_for(env: &Env, ty: &Ty, depth: u32) -> Gen<String> {
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
