//! Strategies: what they draw from (a schema and the ids seen so far), and values: the raw
//! text of strings, and GraphQL literals of every type.

use std::{fmt::Write as _, sync::Arc};

use proptest::{
    arbitrary::any,
    collection::vec,
    option, prop_oneof,
    sample::select,
    strategy::{BoxedStrategy, Just, Strategy, Union},
};

use super::model::{InputValue, Model, Ty};

pub(super) type Gen<T> = BoxedStrategy<T>;

/// What strategies may refer to: a schema and the ids seen so far.
#[derive(Clone)]
pub(super) struct Env {
    pub(super) model: Arc<Model>,
    /// Every id seen, oldest first (holds and bookings just made are last).
    pub(super) ids: Arc<Vec<String>>,
    /// The event's seats.
    pub(super) seats: Arc<Vec<String>>,
    /// Holds and bookings made lately, newest first.
    pub(super) holds: Arc<Vec<String>>,
    pub(super) bookings: Arc<Vec<String>>,
    pub(super) sale: bool,
}

pub(super) fn one_of<T: std::fmt::Debug + 'static>(arms: Vec<(u32, Gen<T>)>) -> Gen<T> {
    Union::new_weighted(arms).boxed()
}

pub(super) fn pick(values: &[&'static str]) -> Gen<String> {
    select(values.to_vec()).prop_map(str::to_owned).boxed()
}

pub(super) fn nothing() -> Gen<String> {
    Just(String::new()).boxed()
}

/// Text requests really carry: card numbers that decide a payment, UPI addresses, banks...
const PLAUSIBLE: &[&str] = &[
    "4242424242424242",
    "4000000000000002",
    "4000000000000119",
    "4000 0000 0000 0002",
    "fan@okicici",
    "timeout@upi",
    "fail@upi",
    "SBIN",
    "HDFC",
    "NOPE",
    "fan@example.com",
    "admin@tickets.test",
    "correct horse battery staple",
    "Priya",
    "123",
    "1234",
    "AVAILABLE",
    "CARD",
    "2027-01-01T00:00:00Z",
    "c3f1a9b0-0d4a-4c7b-9e51-2a6f0b9c8d7e",
];

/// Text that has broken parsers, databases and logs before.
const ODD: &[&str] = &[
    "",
    " ",
    "\u{0}",
    "a\u{0}b",
    "\\",
    "\"",
    "'; DROP TABLE seats; --",
    "' OR '1'='1",
    "${jndi:ldap://x}",
    "{{7*7}}",
    "%00",
    "%s%s%s%n",
    "../../../../etc/passwd",
    "\u{feff}",
    "\u{202e}evil",
    "\u{fffd}",
    "\u{10ffff}",
    "🎟️👨‍👩‍👧‍👦",
    "Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇",
    "\r\n\r\nX-Injected: 1",
    "<script>alert(1)</script>",
    "NaN",
    "-0",
    "null",
    "__proto__",
];

/// The raw content of a string.
pub(super) fn text() -> Gen<String> {
    one_of(vec![
        (4, "\\PC{0,16}".boxed()),
        (3, "[a-zA-Z0-9@._+ -]{0,24}".boxed()),
        (1, "[\\x00-\\x1f\\x7f]{1,6}".boxed()),
        (2, pick(PLAUSIBLE)),
        (2, pick(ODD)),
        (
            1,
            (
                prop_oneof![Just(10_000usize), 100..12_000usize],
                pick(&["x", "é", "🎟", "\\", "\u{0}", "{", "["]),
            )
                .prop_map(|(count, unit)| unit.repeat(count))
                .boxed(),
        ),
    ])
}

/// A GraphQL string literal for `raw`, escaped.
fn graphql_string(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 2);
    out.push('"');
    for c in raw.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A JSON string for `raw`.
pub(super) fn json_string(raw: &str) -> String {
    serde_json::to_string(raw).expect("a string serializes")
}

/// Escapes a GraphQL parser must refuse or decode with care.
const ESCAPES: &[&str] = &[
    "\\u0000",
    "\\uD800",
    "\\uDFFF",
    "\\uD83C\\uDF9F",
    "\\u{1F39F}",
    "\\u{110000}",
    "\\u{}",
    "\\u12",
    "\\x41",
    "\\q",
    "\\",
];

fn string_literal() -> Gen<String> {
    one_of(vec![
        (40, text().prop_map(|raw| graphql_string(&raw)).boxed()),
        (
            2,
            (text(), pick(ESCAPES))
                .prop_map(|(raw, escape)| {
                    let mut literal = graphql_string(&raw);
                    literal.insert_str(literal.len() - 1, &escape);
                    literal
                })
                .boxed(),
        ),
        (
            1,
            text().prop_map(|raw| format!("\"\"\"{raw}\"\"\"")).boxed(),
        ),
        (1, text().prop_map(|raw| format!("\"{raw}\"")).boxed()),
    ])
}

fn int_literal() -> Gen<String> {
    one_of(vec![
        (4, (-3i64..60).prop_map(|n| n.to_string()).boxed()),
        (2, any::<i32>().prop_map(|n| n.to_string()).boxed()),
        (2, any::<i64>().prop_map(|n| n.to_string()).boxed()),
        (1, (2020i64..2040).prop_map(|n| n.to_string()).boxed()),
        (
            2,
            pick(&[
                "2147483647",
                "2147483648",
                "-2147483648",
                "-2147483649",
                "9223372036854775807",
                "9223372036854775808",
                "-9223372036854775809",
                "18446744073709551616",
                "0",
                "-0",
                "1e3",
                "1.0",
            ]),
        ),
        (1, pick(&["00", "01", "0x10", "1_000", "+1"])),
        (1, (1usize..400).prop_map(|n| "9".repeat(n)).boxed()),
    ])
}

fn float_literal() -> Gen<String> {
    one_of(vec![
        (
            3,
            any::<f64>()
                .prop_filter("finite", |x| x.is_finite())
                .prop_map(|x| format!("{x:e}"))
                .boxed(),
        ),
        (2, (0.0f64..200_000.0).prop_map(|x| format!("{x}")).boxed()),
        (
            2,
            pick(&[
                "0.01",
                "100000",
                "100000.01",
                "1e309",
                "-1e309",
                "1.7976931348623157e308",
                "5e-324",
                "4.9e-325",
                "-0.0",
                "1e-400",
                "1E+308",
                "NaN",
                "Infinity",
            ]),
        ),
        (4, int_literal()),
        (1, pick(&["1.", ".5", "1e", "1.e5"])),
    ])
}

pub(super) fn ident(env: &Env) -> Gen<String> {
    one_of(vec![
        (3, "[_A-Za-z][_0-9A-Za-z]{0,8}".boxed()),
        (2, select(env.model.names.clone()).boxed()),
        (
            1,
            pick(&["__schema", "__type", "__typename", "_", "__proto__"]),
        ),
    ])
}

fn variable_ref() -> Gen<String> {
    pick(&["$v0", "$v1", "$v2", "$v3", "$missing"])
}

fn id_literal(env: &Env) -> Gen<String> {
    one_of(vec![
        (
            6,
            select((*env.ids).clone())
                .prop_map(|id| graphql_string(&id))
                .boxed(),
        ),
        (
            3,
            select((*env.ids).clone())
                .prop_map(|id| {
                    if id.bytes().all(|b| b.is_ascii_digit()) {
                        id
                    } else {
                        graphql_string(&id)
                    }
                })
                .boxed(),
        ),
        (1, int_literal()),
        (1, string_literal()),
    ])
}

/// A value of no particular type, nested a little.
pub(super) fn wild_literal(env: &Env) -> Gen<String> {
    let names = ident(env);
    let leaf = one_of(vec![
        (3, string_literal()),
        (2, int_literal()),
        (1, float_literal()),
        (1, pick(&["true", "false", "null"])),
        (1, ident(env)),
        (1, variable_ref()),
    ]);
    nested(leaf, names, ": ", ", ")
}

/// Lists and objects of `leaf` values nested a little, keyed by `keys`, written with the
/// given separators (GraphQL literals and JSON differ only there).
pub(super) fn nested(
    leaf: Gen<String>,
    keys: Gen<String>,
    colon: &'static str,
    comma: &'static str,
) -> Gen<String> {
    leaf.prop_recursive(3, 24, 5, move |inner| {
        one_of(vec![
            (
                1,
                vec(inner.clone(), 0..5)
                    .prop_map(move |items| format!("[{}]", items.join(comma)))
                    .boxed(),
            ),
            (
                1,
                vec((keys.clone(), inner), 0..5)
                    .prop_map(move |fields| {
                        let fields: Vec<String> = fields
                            .iter()
                            .map(|(k, v)| format!("{k}{colon}{v}"))
                            .collect();
                        format!("{{{}}}", fields.join(comma))
                    })
                    .boxed(),
            ),
        ])
    })
    .boxed()
}

/// How deep deeply nested things go: around the guard's bound, and far past it.
pub(super) fn nesting_depth() -> Gen<usize> {
    one_of(vec![
        (2, (2usize..39).boxed()),
        (
            3,
            select(vec![15usize, 16, 17, 39, 40, 41, 64, 65, 127, 128, 129]).boxed(),
        ),
        (1, (42usize..200).boxed()),
        (1, select(vec![1_000usize, 3_000, 10_000, 100_000]).boxed()),
    ])
}

/// Lists and input objects nested `depth` levels (balanced or not).
pub(super) fn deep_literal() -> Gen<String> {
    (nesting_depth(), 0u8..4, int_literal())
        .prop_map(|(depth, shape, leaf)| match shape {
            0 => format!("{}{leaf}{}", "[".repeat(depth), "]".repeat(depth)),
            1 => format!("{}{leaf}{}", "{a: ".repeat(depth), "}".repeat(depth)),
            2 => {
                let mut text = String::new();
                for level in 0..depth {
                    text.push_str(if level % 2 == 0 { "[" } else { "{a: " });
                }
                text.push_str(&leaf);
                for level in (0..depth).rev() {
                    text.push(if level % 2 == 0 { ']' } else { '}' });
                }
                text
            }
            _ => "[".repeat(depth),
        })
        .boxed()
}

fn enum_literal(env: &Env, values: Vec<String>) -> Gen<String> {
    one_of(vec![
        (6, select(values.clone()).boxed()),
        (1, ident(env)),
        (
            1,
            select(values)
                .prop_map(|value| graphql_string(&value))
                .boxed(),
        ),
        (1, pick(&["true", "null"])),
    ])
}

/// A literal for a value of type `ty`, usually of that type.
pub(super) fn literal(env: &Env, ty: &Ty, depth: u32) -> Gen<String> {
    let typed = match ty {
        Ty::NonNull(inner) => one_of(vec![(20, literal(env, inner, depth)), (1, pick(&["null"]))]),
        Ty::List(inner) if depth > 0 => {
            let item = literal(env, inner, depth - 1);
            one_of(vec![
                (
                    4,
                    vec(item.clone(), 0..6)
                        .prop_map(|items| format!("[{}]", items.join(", ")))
                        .boxed(),
                ),
                (1, item),
            ])
        }
        Ty::List(_) => pick(&["[]"]),
        Ty::Named(name) => named_literal(env, name, depth),
    };
    one_of(vec![
        (16, typed),
        (2, wild_literal(env)),
        (1, variable_ref()),
    ])
}

fn named_literal(env: &Env, name: &str, depth: u32) -> Gen<String> {
    match name {
        "ID" => id_literal(env),
        "Int" => int_literal(),
        "Float" => float_literal(),
        "String" => string_literal(),
        "Boolean" => pick(&["true", "false"]),
        "DateTime" => one_of(vec![
            (
                3,
                pick(&[
                    "\"2027-01-01T00:00:00Z\"",
                    "\"1970-01-01T00:00:00Z\"",
                    "\"9999-12-31T23:59:59Z\"",
                    "\"+275760-09-13T00:00:00Z\"",
                    "\"2027-02-30T00:00:00Z\"",
                    "\"yesterday\"",
                ]),
            ),
            (1, string_literal()),
        ]),
        _ => {
            if let Some(values) = env.model.enums.get(name) {
                enum_literal(env, values.clone())
            } else if let Some(fields) = env.model.inputs.get(name).filter(|_| depth > 0) {
                let members = members(env, fields, depth - 1, 0.85, literal, wild_literal);
                members
                    .prop_map(|members| format!("{{{}}}", members.join(", ")))
                    .boxed()
            } else {
                wild_literal(env)
            }
        }
    }
}

/// `name: value` pairs for `fields` (each present with probability `present`), sometimes
/// with an unknown one.
pub(super) fn members(
    env: &Env,
    fields: &[InputValue],
    depth: u32,
    present: f64,
    value: fn(&Env, &Ty, u32) -> Gen<String>,
    wild: fn(&Env) -> Gen<String>,
) -> Gen<Vec<String>> {
    let mut parts: Vec<Gen<Option<String>>> = fields
        .iter()
        .map(|field| {
            let name = field.name.clone();
            option::weighted(present, value(env, &field.ty, depth))
                .prop_map(move |value| value.map(|value| format!("{name}: {value}")))
                .boxed()
        })
        .collect();
    parts.push(
        option::weighted(0.05, (ident(env), wild(env)))
            .prop_map(|extra| extra.map(|(name, value)| format!("{name}: {value}")))
            .boxed(),
    );
    parts
        .prop_map(|parts| parts.into_iter().flatten().collect())
        .boxed()
}
