//! Strategies: the JSON variables sent with any document: typed for its definitions, sometimes
//! absent, wrong or deep. [`json`] writes the values; [`templates`] are the realistic
//! operations (with their variables' types) they are sent with most.

mod json;
mod templates;

use proptest::{
    option,
    strategy::{Just, Strategy},
};

use self::json::json_for;
pub(super) use self::{
    json::{deep_json, json_wild},
    templates::template,
};
use super::{
    VARIABLES,
    model::Ty,
    values::{Env, Gen, ident, json_string, one_of, pick},
};

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
