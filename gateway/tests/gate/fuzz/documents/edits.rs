//! Strategies: byte-level edits of a valid document (inserts, deletes, duplicates, cuts and
//! replaced characters), and applying them.

use proptest::{
    arbitrary::any,
    prop_oneof,
    sample::{Index, select},
    strategy::Strategy,
};

use crate::fuzz::values::{Gen, one_of};

/// A byte-level change to a document.
#[derive(Clone, Debug)]
pub(super) enum Edit {
    Insert(Index, String),
    Delete(Index, usize),
    Duplicate(Index, usize, usize),
    Truncate(Index),
    Replace(Index, char),
}

pub(super) fn edit() -> Gen<Edit> {
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

pub(super) fn apply_edits(text: &str, edits: &[Edit]) -> String {
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
