//! Strategies: GraphQL documents, built from the schema's own fields (selections,
//! arguments, directives, fragments, operations), documents made to hurt (alias floods,
//! fragment bombs and cycles, deep nesting, huge documents, classics), byte-level edits, and
//! the mix of them (with variables) a request carries.

use std::fmt::Write as _;

use proptest::{
    arbitrary::any,
    collection::vec,
    option, prop_oneof,
    sample::{Index, select},
    strategy::{Just, Strategy},
};

use super::{
    FRAGMENTS, VARIABLES,
    model::{FieldDef, InputValue},
    values::{
        Env, Gen, deep_literal, ident, literal, members, nesting_depth, nothing, one_of, pick,
        wild_literal,
    },
    variables::{generic_variables, template},
};

/// `(arg: value, ...)` for a field, or nothing.
fn arguments(env: &Env, args: &[InputValue]) -> Gen<String> {
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

fn directives(env: &Env) -> Gen<String> {
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
fn selection_set(env: &Env, ty: &str, depth: u32) -> Gen<String> {
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

/// One document (the GraphQL text, its operations' names, whether it may subscribe).
#[derive(Clone, Debug)]
pub(super) struct Doc {
    pub(super) text: String,
    pub(super) names: Vec<String>,
    pub(super) subscription: bool,
}

impl Doc {
    pub(super) fn new(text: String) -> Self {
        let subscription = text.contains("subscription");
        Self {
            text,
            names: Vec::new(),
            subscription,
        }
    }
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
fn generated_document(env: &Env) -> Gen<Doc> {
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
fn alias_flood(env: &Env) -> Gen<Doc> {
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
fn fragment_bomb(env: &Env) -> Gen<Doc> {
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
fn fragment_chain(env: &Env) -> Gen<Doc> {
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
fn deep_selection(env: &Env) -> Gen<Doc> {
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
fn deep_value(env: &Env) -> Gen<Doc> {
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
fn huge_document() -> Gen<Doc> {
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
const CLASSIC: &[&str] = &[
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

/// A byte-level change to a document.
#[derive(Clone, Debug)]
enum Edit {
    Insert(Index, String),
    Delete(Index, usize),
    Duplicate(Index, usize, usize),
    Truncate(Index),
    Replace(Index, char),
}

fn edit() -> Gen<Edit> {
    one_of(vec![
        (
            3,
            (
                any::<Index>(),
                "\\PC{1,4}|[{}()\\[\\]\"\\\\$@:!#.\\n\\x00]{1,3}",
            )
                .prop_map(|(at, text)| Edit::Insert(at, text))
                .boxed(),
        ),
        (
            2,
            (any::<Index>(), 1usize..16)
                .prop_map(|(at, length)| Edit::Delete(at, length))
                .boxed(),
        ),
        (
            2,
            (
                any::<Index>(),
                1usize..64,
                prop_oneof![1usize..4, 100usize..2_000],
            )
                .prop_map(|(at, length, times)| Edit::Duplicate(at, length, times))
                .boxed(),
        ),
        (1, any::<Index>().prop_map(Edit::Truncate).boxed()),
        (
            2,
            (
                any::<Index>(),
                select(vec![
                    '{', '}', '[', ']', '(', ')', '"', '\\', '$', '@', ':', '!', '#', '.', '\n',
                    '\0', ' ',
                ]),
            )
                .prop_map(|(at, c)| Edit::Replace(at, c))
                .boxed(),
        ),
    ])
}

fn apply_edits(text: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for edit in edits {
        let len = chars.len();
        let position = |at: &Index| if len == 0 { 0 } else { at.index(len + 1) };
        match edit {
            Edit::Insert(at, text) => {
                let at = position(at);
                chars.splice(at..at, text.chars());
            }
            Edit::Delete(at, length) => {
                let at = position(at).min(len);
                chars.drain(at..(at + length).min(len));
            }
            Edit::Duplicate(at, length, times) => {
                let at = position(at).min(len);
                let piece: Vec<char> = chars[at..(at + length).min(len)].to_vec();
                let copies: Vec<char> = piece
                    .iter()
                    .copied()
                    .cycle()
                    .take(piece.len() * times)
                    .collect();
                chars.splice(at..at, copies);
            }
            Edit::Truncate(at) => chars.truncate(position(at)),
            Edit::Replace(at, c) => {
                if len > 0 {
                    chars[at.index(len)] = *c;
                }
            }
        }
    }
    chars.into_iter().collect()
}

/// A document (and its variables) to send to the schema.
pub(super) fn request(env: &Env) -> Gen<(Doc, Option<String>)> {
    let generated = (generated_document(env), generic_variables(env)).boxed();
    let valid = one_of(vec![(3, generated.clone()), (2, template(env))]);
    let mutated = (valid, vec(edit(), 1..4))
        .prop_map(|((doc, variables), edits)| {
            let text = apply_edits(&doc.text, &edits);
            (Doc { text, ..doc }, variables)
        })
        .boxed();
    let plain = |docs: Gen<Doc>| docs.prop_map(|doc| (doc, None)).boxed();
    let on = env.model.roots[0].clone();
    one_of(vec![
        (10, generated),
        // More on the sale route: purchases need several steps to succeed in a row.
        (if env.sale { 24 } else { 14 }, template(env)),
        (4, mutated),
        (1, plain(alias_flood(env))),
        (1, plain(fragment_bomb(env))),
        (1, plain(fragment_chain(env))),
        (1, plain(deep_selection(env))),
        (1, plain(deep_value(env))),
        (1, plain(huge_document())),
        (
            1,
            (pick(CLASSIC), generic_variables(env))
                .prop_map(move |(text, variables)| {
                    (Doc::new(text.replace("PublicQuery", &on)), variables)
                })
                .boxed(),
        ),
        (1, plain("\\PC{0,200}".prop_map(Doc::new).boxed())),
    ])
}
