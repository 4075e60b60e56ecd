//! Strategies: selection sets on a type, out of its own fields with their arguments, aliases,
//! directives known and unknown, fragment spreads and inline fragments.

use proptest::{
    collection::vec,
    option,
    sample::select,
    strategy::{Just, Strategy},
};

use crate::fuzz::{
    FRAGMENTS,
    model::{FieldDef, InputValue},
    values::{
        Env, Gen, deep_literal, ident, literal, members, nothing, one_of, pick, wild_literal,
    },
};

/// `(arg: value, ...)` for a field, or nothing.
pub(super) fn arguments(env: &Env, args: &[InputValue]) -> Gen<String> {
    let mut parts = vec![members(env, args, 3, 0.9, literal, wild_literal)];
    if let Some(first) = args.first() {
        let name = first.name.clone();
        parts.push(
            option::weighted(0.01, deep_literal())
                .prop_map(move |deep| {
                    deep.map(|deep| format!("{name}: {deep}"))
                        .into_iter()
                        .collect()
                })
                .boxed(),
        );
    }
    parts
        .prop_map(|parts| {
            let parts: Vec<String> = parts.into_iter().flatten().collect();
            if parts.is_empty() {
                String::new()
            } else {
                format!("({})", parts.join(", "))
            }
        })
        .boxed()
}

/// Arguments of an unknown field or directive.
fn wild_arguments(env: &Env) -> Gen<String> {
    option::weighted(0.5, vec((ident(env), wild_literal(env)), 0..3))
        .prop_map(|args| match args {
            Some(args) => {
                let args: Vec<String> = args.iter().map(|(k, v)| format!("{k}: {v}")).collect();
                format!("({})", args.join(", "))
            }
            None => String::new(),
        })
        .boxed()
}

pub(super) fn directives(env: &Env) -> Gen<String> {
    one_of(vec![
        (24, nothing()),
        (
            3,
            (
                pick(&["skip", "include"]),
                pick(&["true", "false", "$v0", "\"yes\"", "null", "1"]),
            )
                .prop_map(|(name, value)| format!(" @{name}(if: {value})"))
                .boxed(),
        ),
        (
            1,
            (ident(env), wild_arguments(env))
                .prop_map(|(name, args)| format!(" @{name}{args}"))
                .boxed(),
        ),
        (
            1,
            (
                pick(&[" @skip(if: false)", " @include(if: true)", " @unknown"]),
                select(vec![2usize, 16, 17, 64, 5_000]),
            )
                .prop_map(|(directive, count)| directive.repeat(count))
                .boxed(),
        ),
        (
            1,
            pick(&[
                " @skip",
                " @include(if: true, if: false)",
                " @deprecated",
                " @specifiedBy(url: \"x\")",
                " @skip(if: true) @skip(if: false)",
            ]),
        ),
        (1, pick(&[" @", " @skip()", " @1"])),
    ])
}

fn alias(env: &Env) -> Gen<String> {
    one_of(vec![
        (8, nothing()),
        (2, ident(env).prop_map(|alias| format!("{alias}: ")).boxed()),
        (
            1,
            pick(&["login: ", "events: ", "__typename: ", "id: ", "seatMap: "]),
        ),
    ])
}

fn type_condition(env: &Env, ty: &str) -> Gen<String> {
    one_of(vec![
        (3, Just(format!(" on {ty}")).boxed()),
        (2, nothing()),
        (
            1,
            select(env.model.object_types())
                .prop_map(|other| format!(" on {other}"))
                .boxed(),
        ),
        (
            1,
            ident(env).prop_map(|other| format!(" on {other}")).boxed(),
        ),
    ])
}

/// `{ ... }` on type `ty`, `depth` more levels of objects below.
pub(super) fn selection_set(env: &Env, ty: &str, depth: u32) -> Gen<String> {
    let fields = env.model.fields(ty);
    if fields.is_empty() {
        return pick(&["{ __typename }", "{ id }"]);
    }
    vec(selection(env, ty, fields, depth), 1..5)
        .prop_map(|items| format!("{{ {} }}", items.join(" ")))
        .boxed()
}

fn selection(env: &Env, ty: &str, fields: Vec<FieldDef>, depth: u32) -> Gen<String> {
    let mut arms = vec![
        (12, field_selection(env, fields, depth)),
        (
            1,
            (alias(env), directives(env))
                .prop_map(|(alias, directives)| format!("{alias}__typename{directives}"))
                .boxed(),
        ),
        (
            1,
            (pick(FRAGMENTS), directives(env))
                .prop_map(|(name, directives)| format!("...{name}{directives}"))
                .boxed(),
        ),
        (
            1,
            (ident(env), wild_arguments(env), directives(env))
                .prop_map(|(name, args, directives)| format!("{name}{args}{directives}"))
                .boxed(),
        ),
    ];
    if depth > 0 {
        let (inner_env, inner_ty) = (env.clone(), ty.to_owned());
        let inner = Just(())
            .prop_flat_map(move |()| selection_set(&inner_env, &inner_ty, depth - 1))
            .boxed();
        arms.push((
            2,
            (type_condition(env, ty), directives(env), inner)
                .prop_map(|(on, directives, set)| format!("...{on}{directives} {set}"))
                .boxed(),
        ));
    }
    one_of(arms)
}

fn field_selection(env: &Env, fields: Vec<FieldDef>, depth: u32) -> Gen<String> {
    let env = env.clone();
    select(fields)
        .prop_flat_map(move |field| {
            let object = env.model.objects.contains_key(field.ty.base());
            let sub = match (object, depth) {
                (true, 0) => one_of(vec![(5, pick(&["{ __typename }"])), (1, nothing())]),
                (true, _) => one_of(vec![
                    (19, selection_set(&env, field.ty.base(), depth - 1)),
                    (1, nothing()),
                ]),
                (false, _) => one_of(vec![
                    (40, nothing()),
                    (2, pick(&["{ __typename }"])),
                    (1, pick(&["{ }"])),
                ]),
            };
            let name = field.name.clone();
            (
                alias(&env),
                arguments(&env, &field.args),
                directives(&env),
                sub,
            )
                .prop_map(move |(alias, args, directives, sub)| {
                    format!("{alias}{name}{args}{directives} {sub}")
                })
        })
        .boxed()
}
