//! Strategies: whole documents of the schema's own fields: operations (typed variable
//! definitions, names, the three keywords and the shorthand), fragment definitions, and
//! several operations in one document.

use proptest::{collection::vec, option, sample::select, strategy::Strategy};

use super::{
    Doc,
    selections::{directives, selection_set},
};
use crate::fuzz::{
    VARIABLES,
    values::{Env, Gen, nothing, one_of, pick, wild_literal},
};

fn type_reference(env: &Env) -> Gen<String> {
    let mut names: Vec<String> = [
        "ID", "Int", "Float", "String", "Boolean", "DateTime", "Nope",
    ]
    .iter()
    .map(|name| (*name).to_owned())
    .collect();
    names.extend(env.model.enums.keys().cloned());
    names.extend(env.model.inputs.keys().cloned());
    names.extend(env.model.objects.keys().take(3).cloned());
    (select(names), 0u8..40)
        .prop_map(|(name, wrap)| match wrap {
            0..=15 => name,
            16..=27 => format!("{name}!"),
            28..=32 => format!("[{name}]"),
            33..=36 => format!("[{name}!]!"),
            37 | 38 => format!("[[{name}]]"),
            _ => format!("{name}!!"),
        })
        .boxed()
}

fn variable_definitions(env: &Env) -> Gen<String> {
    let definition = (
        pick(VARIABLES),
        type_reference(env),
        option::weighted(0.2, wild_literal(env)),
    )
        .prop_map(|(name, ty, default)| match default {
            Some(default) => format!("${name}: {ty} = {default}"),
            None => format!("${name}: {ty}"),
        });
    one_of(vec![
        (3, nothing()),
        (
            2,
            vec(definition, 1..4)
                .prop_map(|definitions| format!("({})", definitions.join(", ")))
                .boxed(),
        ),
    ])
}

#[derive(Clone, Debug)]
struct Operation {
    text: String,
    name: Option<String>,
    subscription: bool,
}

fn operation(env: &Env, index: usize) -> Gen<Operation> {
    let env = env.clone();
    (0u8..13)
        .prop_flat_map(move |kind| {
            // 11: the `query` keyword over mutation fields; 12: the `{ ... }` shorthand.
            let (keyword, root) = match kind {
                0..=4 => ("query", 0),
                5..=8 => ("mutation", 1),
                9..=10 => ("subscription", 2),
                11 => ("query", 1),
                _ => ("", 0),
            };
            let root_type = env.model.roots.get(root).cloned().unwrap_or_default();
            let name = option::weighted(
                0.6,
                select(vec![
                    format!("Op{index}"),
                    "Op0".to_owned(),
                    "subscription".to_owned(),
                ]),
            );
            (
                name,
                variable_definitions(&env),
                directives(&env),
                selection_set(&env, &root_type, 3),
            )
                .prop_map(move |(name, variables, directives, set)| {
                    if keyword.is_empty() {
                        return Operation {
                            text: set,
                            name: None,
                            subscription: false,
                        };
                    }
                    let named = name
                        .as_deref()
                        .map_or(String::new(), |name| format!(" {name}"));
                    Operation {
                        text: format!("{keyword}{named}{variables}{directives} {set}"),
                        name,
                        subscription: keyword == "subscription",
                    }
                })
        })
        .boxed()
}

fn fragment_definition(env: &Env, name: &'static str) -> Gen<String> {
    let env = env.clone();
    let mut types = env.model.roots.clone();
    types.extend(env.model.object_types());
    select(types)
        .prop_flat_map(move |ty| {
            selection_set(&env, &ty, 2)
                .prop_map(move |set| format!("fragment {name} on {ty} {set}"))
        })
        .boxed()
}

/// A document made of the schema's own fields: one or more operations, fragments.
pub(super) fn generated_document(env: &Env) -> Gen<Doc> {
    let operations = one_of(vec![
        (6, operation(env, 0).prop_map(|op| vec![op]).boxed()),
        (
            1,
            (
                operation(env, 0),
                operation(env, 1),
                option::weighted(0.5, operation(env, 2)),
            )
                .prop_map(|(a, b, c)| [Some(a), Some(b), c].into_iter().flatten().collect())
                .boxed(),
        ),
    ]);
    let fragments = (
        option::weighted(0.3, fragment_definition(env, "F0")),
        option::weighted(0.15, fragment_definition(env, "F1")),
        option::weighted(0.1, fragment_definition(env, "F2")),
    );
    (operations, fragments)
        .prop_map(|(operations, (f0, f1, f2))| {
            let mut parts: Vec<String> = operations.iter().map(|op| op.text.clone()).collect();
            parts.extend([f0, f1, f2].into_iter().flatten());
            Doc {
                text: parts.join("\n"),
                names: operations.iter().filter_map(|op| op.name.clone()).collect(),
                subscription: operations.iter().any(|op| op.subscription),
            }
        })
        .boxed()
}
