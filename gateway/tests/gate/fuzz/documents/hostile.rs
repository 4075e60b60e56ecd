//! Strategies: documents made to hurt: alias floods, fragment bombs and cycles, deep nesting,
//! huge documents, and the classics that broke GraphQL servers before.

use std::fmt::Write as _;

use proptest::{arbitrary::any, sample::select, strategy::Strategy};

use super::{Doc, selections::arguments};
use crate::fuzz::{
    model::FieldDef,
    values::{Env, Gen, deep_literal, nesting_depth},
};

/// One root field with arguments and the smallest selection it needs.
fn root_call(env: &Env, root: usize) -> Gen<String> {
    let env = env.clone();
    let fields = env.model.fields(&env.model.roots[root]);
    select(fields)
        .prop_flat_map(move |field| {
            let sub = if env.model.objects.contains_key(field.ty.base()) {
                " { __typename }"
            } else {
                ""
            };
            let name = field.name.clone();
            arguments(&env, &field.args).prop_map(move |args| format!("{name}{args}{sub}"))
        })
        .boxed()
}

/// Many aliases of one root field (`login` a thousand times over).
pub(super) fn alias_flood(env: &Env) -> Gen<Doc> {
    let env = env.clone();
    (0usize..2)
        .prop_flat_map(move |root| {
            let keyword = ["query", "mutation"][root];
            (
                root_call(&env, root),
                select(vec![2usize, 3, 5, 6, 7, 50, 500, 2_000]),
            )
                .prop_map(move |(call, count)| {
                    let mut text = format!("{keyword} {{");
                    for i in 0..count {
                        if text.len() > 300_000 {
                            break;
                        }
                        let _ = write!(text, " a{i}: {call}");
                    }
                    text.push_str(" }");
                    Doc::new(text)
                })
        })
        .boxed()
}

/// Fragments spreading the next one `fanout` times, `levels` deep, over a real root field.
pub(super) fn fragment_bomb(env: &Env) -> Gen<Doc> {
    let env = env.clone();
    (0usize..2)
        .prop_flat_map(move |root| {
            let (keyword, on) = (["query", "mutation"][root], env.model.roots[root].clone());
            (2usize..12, 2usize..12, root_call(&env, root)).prop_map(
                move |(levels, fanout, call)| {
                    let mut text = format!("{keyword} {{ ...F0 }}\n");
                    for level in 0..levels {
                        let spreads = format!("...F{} ", level + 1).repeat(fanout);
                        let _ =
                            writeln!(text, "fragment F{level} on {on} {{ __typename {spreads}}}");
                    }
                    let _ = writeln!(text, "fragment F{levels} on {on} {{ {call} }}");
                    Doc::new(text)
                },
            )
        })
        .boxed()
}

/// A chain of fragments each spreading the next, possibly closing a cycle.
pub(super) fn fragment_chain(env: &Env) -> Gen<Doc> {
    let on = env.model.roots[0].clone();
    (
        select(vec![2usize, 5, 31, 32, 33, 64, 1_000, 5_000]),
        any::<bool>(),
    )
        .prop_map(move |(length, cycle)| {
            let mut text = "{ ...F0 }\n".to_owned();
            for i in 0..length {
                let next = if cycle && i + 1 == length { 0 } else { i + 1 };
                let _ = writeln!(text, "fragment F{i} on {on} {{ ...F{next} }}");
            }
            if !cycle {
                let _ = writeln!(text, "fragment F{length} on {on} {{ __typename }}");
            }
            Doc::new(text)
        })
        .boxed()
}

/// Selections nested `depth` levels.
pub(super) fn deep_selection(env: &Env) -> Gen<Doc> {
    (nesting_depth(), select(env.model.names.clone()))
        .prop_map(|(depth, name)| {
            let depth = depth.min(60_000);
            Doc::new(format!(
                "{}{}",
                format!("{{ {name} ").repeat(depth),
                "}".repeat(depth)
            ))
        })
        .boxed()
}

/// A real root field with a deeply nested argument.
pub(super) fn deep_value(env: &Env) -> Gen<Doc> {
    let env = env.clone();
    (0usize..2)
        .prop_flat_map(move |root| {
            let keyword = ["query", "mutation"][root];
            let fields: Vec<FieldDef> = env
                .model
                .fields(&env.model.roots[root])
                .into_iter()
                .filter(|field| !field.args.is_empty())
                .collect();
            (select(fields), deep_literal()).prop_map(move |(field, deep)| {
                Doc::new(format!(
                    "{keyword} {{ {}({}: {deep}) {{ __typename }} }}",
                    field.name, field.args[0].name
                ))
            })
        })
        .boxed()
}

/// Documents near or over the body limit, and documents with very many fields.
pub(super) fn huge_document() -> Gen<Doc> {
    (240_000usize..270_000, 0u8..3)
        .prop_map(|(size, shape)| {
            Doc::new(match shape {
                0 => format!("#{}\n{{ __typename }}", "x".repeat(size)),
                1 => format!("{{{}__typename }}", " ".repeat(size)),
                _ => format!("{{ {}}}", "__typename ".repeat(size / 110)),
            })
        })
        .boxed()
}

/// Documents that broke GraphQL servers before.
pub(super) const CLASSIC: &[&str] = &[
    "{ __schema { types { name fields { name args { name type { name ofType { name ofType { name ofType { name } } } } } } } } }",
    "{ __type(name: \"Event\") { fields { name } } }",
    "query { ...F0 } fragment F0 on PublicQuery { ...F0 }",
    "query { ...F0 } fragment F0 on SaleQuery { ...F0 }",
    "{ ...A } fragment A on PublicQuery { ...B } fragment B on PublicQuery { ...A }",
    "query($v0: Int = $v0) { __typename }",
    "subscription { __typename }",
    "subscription { queuePosition(eventId: 1) { state } q2: queuePosition(eventId: 2) { state } }",
    "subscription { seatAvailability { eventId } seatAvailability { eventId } }",
    "query A { __typename } query A { __typename }",
    "query { __typename } mutation { __typename }",
    "{ __typename } #",
    "{",
    "}",
    "",
    " ",
    "\u{feff}{ __typename }",
    "query",
    "query {",
    "{ a: __typename a: events { id } }",
    "mutation { logout(refreshToken: \"\") }",
    "{ events @include(if: $undefined) { id } }",
    "fragment F0 on PublicQuery { __typename }",
    "{ __typename } fragment F0 on PublicQuery { __typename }",
    "{ ... on PublicQuery { ... on SaleQuery { __typename } } }",
    "{ ... on Event { id } }",
    "{ seats(first: 2147483647) { nodes { id } } }",
    "{ seats(first: -1) { nodes { id } } }",
    "{ seats(after: \"\\u0000\") { nodes { id } } }",
    "{ seats(after: \"////\") { nodes { id } } }",
    "{ seatMap { status runs { count } } }",
    "{ events { categories { price { formatted } } } }",
    "{ myBookings { event { categories { price { formatted } } } seats { category { name } } } }",
];
