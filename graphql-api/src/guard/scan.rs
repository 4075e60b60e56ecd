//! What is read before the parse, without recursion: how deep the document's brackets nest,
//! and the variables' depth and NUL characters.

use async_graphql::Variables;
use async_graphql_value::ConstValue;

use super::MAX_VARIABLE_DEPTH;
use crate::error::ApiError;

/// The deepest nesting of `{`, `[` and `(` outside strings and comments, read without
/// parsing (so without recursion).
///
/// Where this reading and GraphQL's grammar could differ (an unterminated string) the
/// parser stops at the error before it reaches any bracket this reading skipped.
pub fn nesting(source: &str) -> usize {
    let bytes = source.as_bytes();
    let (mut depth, mut deepest, mut i) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && !matches!(bytes[i], b'"' | b'\n' | b'\r') {
                    // An escape never reaches past a line end: GraphQL strings end there.
                    let escapes = bytes[i] == b'\\'
                        && bytes
                            .get(i + 1)
                            .is_some_and(|next| !matches!(next, b'\n' | b'\r'));
                    i += if escapes { 2 } else { 1 };
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    deepest
}

pub(super) fn nul_refused() -> ApiError {
    ApiError::BadUserInput("Text may not contain NUL characters (\\u0000).".into())
}

pub(super) fn check_variables(variables: &Variables) -> Result<(), ApiError> {
    for value in variables.values() {
        check_const(value, 1)?;
    }
    Ok(())
}

pub(super) fn check_const(value: &ConstValue, depth: usize) -> Result<(), ApiError> {
    if depth > MAX_VARIABLE_DEPTH {
        return Err(ApiError::BadUserInput(format!(
            "Variables may nest lists and objects at most {MAX_VARIABLE_DEPTH} levels deep."
        )));
    }
    match value {
        ConstValue::String(text) if text.contains('\0') => Err(nul_refused()),
        ConstValue::List(items) => items
            .iter()
            .try_for_each(|item| check_const(item, depth + 1)),
        ConstValue::Object(fields) => fields.iter().try_for_each(|(name, item)| {
            if name.contains('\0') {
                return Err(nul_refused());
            }
            check_const(item, depth + 1)
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{Request, Variables};

    use super::*;
    use crate::guard::{MAX_NESTING, check, refused};

    #[test]
    fn nesting_counts_every_kind_of_bracket_outside_strings_and_comments() {
        assert_eq!(nesting("{ a { b } }"), 2);
        assert_eq!(nesting("{ a(x: [[1]]) }"), 4);
        assert_eq!(nesting("{ a(x: \"{{{{[[[[\") }"), 2);
        assert_eq!(nesting("{ a(x: \"\\\"[[[[\") }"), 2);
        assert_eq!(nesting("{ a(x: \"\"\"[[[ \\\"\"\" [[\"\"\") }"), 2);
        assert_eq!(nesting("# [[[[[[\n{ a }"), 1);
        assert_eq!(nesting(&"[".repeat(10_000)), 10_000);
    }

    #[test]
    fn a_string_cut_by_a_line_end_does_not_hide_brackets() {
        let query = format!("{{ a(x: \"open\n{}) }}", "[".repeat(100));
        assert!(nesting(&query) > MAX_NESTING);
    }

    #[test]
    fn deeply_nested_values_are_refused_before_parsing() {
        let deep = format!(
            "{{ event(id: {}1{}) {{ id }} }}",
            "[".repeat(5_000),
            "]".repeat(5_000)
        );
        let object = format!("{{ a(x: {}) }}", "{a: ".repeat(3_000) + &"}".repeat(3_000));
        let selections = format!("{}{}", "{ a ".repeat(3_000), "}".repeat(3_000));
        for query in [deep, object, selections] {
            assert_eq!(refused(&query), Some(crate::error::ErrorCode::QueryTooDeep));
        }
    }

    #[test]
    fn deep_or_nul_variables_are_bad_user_input() {
        let mut deep = serde_json::json!(1);
        for _ in 0..40 {
            deep = serde_json::json!([deep]);
        }
        for variables in [
            serde_json::json!({ "x": deep }),
            serde_json::json!({ "x": "a\u{0}b" }),
            serde_json::json!({ "x": { "k\u{0}": 1 } }),
        ] {
            let request =
                Request::new("query($x: ID) { a }").variables(Variables::from_json(variables));
            let code = check(request, true).err().map(|error| error.code());
            assert_eq!(code, Some(crate::error::ErrorCode::BadUserInput));
        }
    }
}
