//! Measuring selections with fragments expanded, without walking a fragment more than once.

use std::collections::HashMap;

use async_graphql::{
    Name,
    parser::types::{ExecutableDocument, Selection, SelectionSet},
};

use super::MAX_RECURSIVE_DEPTH;

/// What a selection set expands to with its fragments inlined.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Size {
    /// Every field (saturating).
    pub(super) fields: usize,
    /// Levels below the set, as async-graphql's recursion bound counts them.
    pub(super) depth: usize,
    /// Fields nested in the deepest path, fragments inlined, as async-graphql's depth limit
    /// counts them (a leaf field is 1).
    pub(super) field_depth: usize,
}

/// Measures selections with fragments expanded, remembering each fragment's measure so that
/// fragments spreading each other many times over cost one visit each.
pub(super) struct Counter<'a> {
    document: &'a ExecutableDocument,
    sizes: HashMap<&'a Name, Size>,
    roots: HashMap<&'a Name, HashMap<&'a str, usize>>,
    visiting: Vec<&'a Name>,
    /// Set when a fragment spreads itself, or a chain of fragments is deeper than
    /// [`MAX_RECURSIVE_DEPTH`] on its own (each spread is a level).
    pub(super) too_deep: bool,
}

impl<'a> Counter<'a> {
    pub(super) fn new(document: &'a ExecutableDocument) -> Self {
        Self {
            document,
            sizes: HashMap::new(),
            roots: HashMap::new(),
            visiting: Vec::new(),
            too_deep: false,
        }
    }

    /// The fields a selection set expands to and how deep it nests (a fragment cycle sets
    /// [`Counter::too_deep`]).
    pub(super) fn size(&mut self, set: &'a SelectionSet) -> Size {
        let mut total = Size::default();
        for item in &set.items {
            let (fields, depth, field_depth) = match &item.node {
                Selection::Field(field) => {
                    let inner = &field.node.selection_set.node;
                    let size = self.size(inner);
                    let depth = if inner.items.is_empty() {
                        0
                    } else {
                        size.depth + 1
                    };
                    (size.fields.saturating_add(1), depth, size.field_depth + 1)
                }
                Selection::InlineFragment(inline) => {
                    let size = self.size(&inline.node.selection_set.node);
                    (size.fields, size.depth + 1, size.field_depth)
                }
                Selection::FragmentSpread(spread) => {
                    let name = &spread.node.fragment_name.node;
                    let size = match self.sizes.get(name) {
                        Some(size) => *size,
                        None => {
                            self.fragment(name, |counter, set| counter.size(set), Size::default())
                        }
                    };
                    (size.fields, size.depth + 1, size.field_depth)
                }
            };
            total.fields = total.fields.saturating_add(fields);
            total.depth = total.depth.max(depth);
            total.field_depth = total.field_depth.max(field_depth);
        }
        total
    }

    /// How often each root field runs, by field name (aliases and fragments expanded).
    pub(super) fn roots(&mut self, set: &'a SelectionSet) -> HashMap<&'a str, usize> {
        let mut found: HashMap<&'a str, usize> = HashMap::new();
        let add = |found: &mut HashMap<&'a str, usize>, other: &HashMap<&'a str, usize>| {
            for (name, count) in other {
                let entry = found.entry(name).or_default();
                *entry = entry.saturating_add(*count);
            }
        };
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    let entry = found.entry(field.node.name.node.as_str()).or_default();
                    *entry = entry.saturating_add(1);
                }
                Selection::InlineFragment(inline) => {
                    let inner = self.roots(&inline.node.selection_set.node);
                    add(&mut found, &inner);
                }
                Selection::FragmentSpread(spread) => {
                    let name = &spread.node.fragment_name.node;
                    let inner = match self.roots.get(name) {
                        Some(inner) => inner.clone(),
                        None => {
                            self.fragment(name, |counter, set| counter.roots(set), HashMap::new())
                        }
                    };
                    add(&mut found, &inner);
                }
            }
        }
        found
    }

    /// Measures a fragment once with `count`, remembering the result; unknown fragments
    /// count as `empty` (validation reports them), and so do cycles, which are too deep.
    fn fragment<T: Clone + Memo<'a>>(
        &mut self,
        name: &'a Name,
        count: impl FnOnce(&mut Self, &'a SelectionSet) -> T,
        empty: T,
    ) -> T {
        let Some(fragment) = self.document.fragments.get(name) else {
            return empty;
        };
        // A cycle nests without end; a longer chain than the bound is too deep whatever it
        // holds, and stopping here keeps this recursion short.
        if self.visiting.contains(&name) || self.visiting.len() >= MAX_RECURSIVE_DEPTH {
            self.too_deep = true;
            return empty;
        }
        self.visiting.push(name);
        let result = count(self, &fragment.node.selection_set.node);
        self.visiting.pop();
        T::remember(self, name, result.clone());
        result
    }
}

/// Where a fragment's count is remembered.
trait Memo<'a>: Sized {
    fn remember(counter: &mut Counter<'a>, name: &'a Name, value: Self);
}

impl<'a> Memo<'a> for Size {
    fn remember(counter: &mut Counter<'a>, name: &'a Name, value: Self) {
        counter.sizes.insert(name, value);
    }
}

impl<'a> Memo<'a> for HashMap<&'a str, usize> {
    fn remember(counter: &mut Counter<'a>, name: &'a Name, value: Self) {
        counter.roots.insert(name, value);
    }
}

#[cfg(test)]
mod tests {
    use crate::guard::refused;

    #[test]
    fn fragments_that_multiply_are_counted_without_being_walked_many_times() {
        // Ten fragments, each spreading the next ten times: 10^9 fields once expanded.
        let mut query = String::from("{ ...F0 }\n");
        for level in 0..9 {
            let spreads = format!("...F{} ", level + 1).repeat(10);
            query.push_str(&format!(
                "fragment F{level} on Query {{ a: __typename {spreads} }}\n"
            ));
        }
        query.push_str("fragment F9 on Query { __typename }\n");

        assert_eq!(
            refused(&query),
            Some(crate::error::ErrorCode::QueryTooComplex)
        );
    }

    #[test]
    fn a_fragment_that_spreads_itself_is_too_deep() {
        let query = "{ ...F }\nfragment F on Query { a ...G }\nfragment G on Query { ...F }";
        assert_eq!(refused(query), Some(crate::error::ErrorCode::QueryTooDeep));
    }

    #[test]
    fn a_long_chain_of_fragments_is_too_deep() {
        let mut query = String::from("{ ...F0 }\n");
        for level in 0..5_000 {
            query.push_str(&format!(
                "fragment F{level} on Query {{ ...F{} }}\n",
                level + 1
            ));
        }
        query.push_str("fragment F5000 on Query { __typename }\n");

        assert_eq!(refused(&query), Some(crate::error::ErrorCode::QueryTooDeep));
    }
}
