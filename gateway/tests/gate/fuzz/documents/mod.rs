//! Strategies: the GraphQL document a request carries, drawn from a mix: documents built
//! from the schema's own fields ([`operations`] made of [`selections`]), realistic operations
//! with their variables, documents made to hurt ([`hostile`]), byte-level [`edits`] of valid
//! ones, and text that is not GraphQL at all.

mod edits;
mod hostile;
mod operations;
mod selections;

use proptest::{collection::vec, strategy::Strategy};

use self::{
    edits::{apply_edits, edit},
    hostile::{
        CLASSIC, alias_flood, deep_selection, deep_value, fragment_bomb, fragment_chain,
        huge_document,
    },
    operations::generated_document,
};
use super::{
    values::{Env, Gen, one_of, pick},
    variables::{generic_variables, template},
};

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
