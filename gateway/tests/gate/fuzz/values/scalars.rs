//! Strategies: GraphQL literals of the scalar kinds (strings with odd escapes, ints and floats
//! past their bounds, names, variables, ids seen so far, enum values right and wrong).

use proptest::{arbitrary::any, sample::select, strategy::Strategy};

use super::{
    Env, Gen, one_of, pick,
    text::{graphql_string, text},
};

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

pub(super) fn string_literal() -> Gen<String> {
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

pub(super) fn int_literal() -> Gen<String> {
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

pub(super) fn float_literal() -> Gen<String> {
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

pub(in crate::fuzz) fn ident(env: &Env) -> Gen<String> {
    one_of(vec![
        (3, "[_A-Za-z][_0-9A-Za-z]{0,8}".boxed()),
        (2, select(env.model.names.clone()).boxed()),
        (
            1,
            pick(&["__schema", "__type", "__typename", "_", "__proto__"]),
        ),
    ])
}

pub(super) fn variable_ref() -> Gen<String> {
    pick(&["$v0", "$v1", "$v2", "$v3", "$missing"])
}

pub(super) fn id_literal(env: &Env) -> Gen<String> {
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

pub(super) fn enum_literal(env: &Env, values: Vec<String>) -> Gen<String> {
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
