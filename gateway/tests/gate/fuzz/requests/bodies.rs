//! Strategies: request bodies: a GraphQL request as JSON (its members sometimes missing, wrong
//! or repeated), and bodies that are not a GraphQL request at all.

use proptest::{
    arbitrary::any,
    collection::vec,
    option,
    sample::select,
    strategy::{Just, Strategy},
};

use crate::fuzz::{
    documents::request,
    values::{Env, Gen, json_string, one_of, pick, text},
    variables::deep_json,
};

/// A request body: the bytes, and whether its document may subscribe.
#[derive(Clone, Debug)]
pub(in crate::fuzz) struct Body {
    pub(in crate::fuzz) bytes: Vec<u8>,
    pub(in crate::fuzz) subscription: bool,
}

/// A GraphQL request as JSON, its members sometimes missing, wrong or repeated.
pub(in crate::fuzz) fn json_body(env: &Env) -> Gen<Body> {
    request(env)
        .prop_flat_map(|(doc, variables)| {
            let query = one_of(vec![
                (40, Just(Some(json_string(&doc.text))).boxed()),
                (1, Just(None).boxed()),
                (
                    1,
                    pick(&["null", "123", "[\"{ __typename }\"]", "{}", "\"\"", "true"])
                        .prop_map(Some)
                        .boxed(),
                ),
            ]);
            let names: Vec<String> = doc.names.iter().map(|name| json_string(name)).collect();
            let mut operation_name = vec![
                (24, Just(None).boxed()),
                (1, pick(&["\"Op0\"", "\"Nope\""]).prop_map(Some).boxed()),
                (
                    1,
                    pick(&["null", "42", "\"\"", "\"Op\\u0000\"", "[\"Op0\"]"])
                        .prop_map(Some)
                        .boxed(),
                ),
                (1, text().prop_map(|raw| Some(json_string(&raw))).boxed()),
            ];
            if !names.is_empty() {
                operation_name.push((8, select(names).prop_map(Some).boxed()));
            }
            let operation_name = one_of(operation_name);
            let extensions = option::weighted(
                0.03,
                pick(&[
                    r#"{"persistedQuery":{"version":1,"sha256Hash":"ecf4edb46db40b5132295c0291d62fb65d6759a9eedfa4d5d612dd5ec54a6b38"}}"#,
                    "null",
                    "[]",
                    "{\"a\":{\"b\":{}}}",
                ]),
            );
            let repeated = option::weighted(
                0.02,
                pick(&[r#""query":"{ __typename }""#, r#""variables":null"#, r#""query":null"#]),
            );
            let subscription = doc.subscription || doc.text.contains("subscription");
            (query, operation_name, extensions, repeated).prop_map(
                move |(query, name, extensions, repeated)| {
                    let mut members = Vec::new();
                    if let Some(query) = query {
                        members.push(format!("\"query\":{query}"));
                    }
                    if let Some(variables) = &variables {
                        members.push(format!("\"variables\":{variables}"));
                    }
                    if let Some(name) = name {
                        members.push(format!("\"operationName\":{name}"));
                    }
                    if let Some(extensions) = extensions {
                        members.push(format!("\"extensions\":{extensions}"));
                    }
                    members.extend(repeated);
                    Body {
                        bytes: format!("{{{}}}", members.join(",")).into_bytes(),
                        subscription,
                    }
                },
            )
        })
        .boxed()
}

/// Bodies that are not a GraphQL request: bytes, text, wrong JSON shapes, deep JSON.
pub(in crate::fuzz) fn raw_body() -> Gen<Body> {
    one_of(vec![
        (2, vec(any::<u8>(), 0..512).boxed()),
        (2, "\\PC{0,200}".prop_map(String::into_bytes).boxed()),
        (
            3,
            pick(&[
                "",
                "null",
                "[]",
                "{}",
                "\"{ __typename }\"",
                "[{\"query\":\"{ __typename }\"}]",
                "{\"query\":\"{ __typename }\"",
                "{\"query\":\"{ __typename }\"}}",
                "{'query': '{ __typename }'}",
                "query=%7B__typename%7D",
                "{ __typename }",
                "\u{feff}{\"query\":\"{ __typename }\"}",
                "{\"query\":\"{ __typename }\"}\u{0}",
                "{\"query\":\"\\ud800\"}",
                "{\"query\":\"{ __typename }\",\"variables\":{\"a\":1e999999}}",
                "{\"query\":\"x\",\"query\":\"y\"}",
            ])
            .prop_map(String::into_bytes)
            .boxed(),
        ),
        (
            1,
            deep_json()
                .prop_map(|deep| {
                    format!("{{\"query\":\"query($v0: ID) {{ __typename }}\",\"variables\":{{\"v0\":{deep}}}}}")
                        .into_bytes()
                })
                .boxed(),
        ),
        (1, deep_json().prop_map(String::into_bytes).boxed()),
        (
            1,
            (250_000usize..270_000)
                .prop_map(|size| format!("{{\"query\":\"{{{}__typename }}\"}}", " ".repeat(size)).into_bytes())
                .boxed(),
        ),
    ])
    .prop_map(|bytes| Body {
        bytes,
        subscription: false,
    })
    .boxed()
}
