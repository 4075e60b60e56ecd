//! Strategies: GraphQL literals by type (usually right, sometimes wild), lists and input
//! objects nested a little or very deep, and the members of an input object or argument list.

use proptest::{collection::vec, option, sample::select, strategy::Strategy};

use super::{
    Env, Gen, one_of, pick,
    scalars::{
        enum_literal, float_literal, id_literal, ident, int_literal, string_literal, variable_ref,
    },
};
use crate::fuzz::model::{InputValue, Ty};

/// A value of no particular type, nested a little.
pub(in crate::fuzz) fn wild_literal(env: &Env) -> Gen<String> {
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
pub(in crate::fuzz) fn nested(
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
pub(in crate::fuzz) fn nesting_depth() -> Gen<usize> {
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
pub(in crate::fuzz) fn deep_literal() -> Gen<String> {
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

/// A literal for a value of type `ty`, usually of that type.
pub(in crate::fuzz) fn literal(env: &Env, ty: &Ty, depth: u32) -> Gen<String> {
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
pub(in crate::fuzz) fn members(
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
