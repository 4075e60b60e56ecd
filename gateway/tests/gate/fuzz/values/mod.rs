//! Strategies: what they draw from (a schema and the ids seen so far) and the helpers every
//! strategy uses; the values themselves are the raw [`text`] of strings, [`scalars`] and the
//! typed and nested [`literals`] built from them.

mod literals;
mod scalars;
mod text;

use std::sync::Arc;

use proptest::{
    sample::select,
    strategy::{BoxedStrategy, Just, Strategy, Union},
};

pub(super) use self::{
    literals::{deep_literal, literal, members, nested, nesting_depth, wild_literal},
    scalars::ident,
    text::{json_string, text},
};
use super::model::Model;

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
