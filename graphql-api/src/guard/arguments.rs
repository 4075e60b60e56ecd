//! Literals in arguments and directives: NUL characters are refused (Postgres text cannot
//! hold them), and where variables pass to arguments is noted for the error extension.

use async_graphql::{
    Pos,
    parser::types::{Selection, SelectionSet},
};
use async_graphql_value::Value;

use super::scan::nul_refused;
use crate::error::ApiError;

/// Where the document's arguments are, so an error is told by where it points rather than by
/// the library's wording.
#[derive(Clone, Debug, Default)]
pub struct VariableArguments {
    /// Arguments fed by variables (their names' positions): a value that does not fit its
    /// type there is the client's input (`BAD_USER_INPUT`), not a document that does not fit
    /// the schema (`GRAPHQL_VALIDATION_FAILED`); validation reports both alike.
    pub names: Vec<Pos>,
    /// Every argument's value: an error raised there while the resolver reads its arguments
    /// is the client's input too (`BAD_USER_INPUT`), whatever it says.
    pub values: Vec<Pos>,
}

/// Arguments and directives of every selection (nesting is already bounded).
pub(super) fn check_literals(
    set: &SelectionSet,
    arguments: &mut VariableArguments,
) -> Result<(), ApiError> {
    for item in &set.items {
        let (directives, inner) = match &item.node {
            Selection::Field(field) => {
                for (name, value) in &field.node.arguments {
                    if check_value(&value.node)? {
                        arguments.names.push(name.pos);
                    }
                    arguments.values.push(value.pos);
                }
                (&field.node.directives, Some(&field.node.selection_set.node))
            }
            Selection::FragmentSpread(spread) => (&spread.node.directives, None),
            Selection::InlineFragment(inline) => (
                &inline.node.directives,
                Some(&inline.node.selection_set.node),
            ),
        };
        for directive in directives {
            for (_, value) in &directive.node.arguments {
                check_value(&value.node)?;
            }
        }
        if let Some(inner) = inner {
            check_literals(inner, arguments)?;
        }
    }
    Ok(())
}

/// Refuses NUL in a literal; true when the value holds a variable somewhere.
fn check_value(value: &Value) -> Result<bool, ApiError> {
    match value {
        Value::String(text) if text.contains('\0') => Err(nul_refused()),
        Value::Variable(_) => Ok(true),
        Value::List(items) => items
            .iter()
            .try_fold(false, |found, item| Ok(check_value(item)? || found)),
        Value::Object(fields) => fields
            .values()
            .try_fold(false, |found, item| Ok(check_value(item)? || found)),
        _ => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use crate::guard::refused;

    #[test]
    fn nul_in_a_literal_is_bad_user_input_and_other_text_passes() {
        assert_eq!(
            refused(r#"{ eventBySlug(slug: "a\u0000b") { id } }"#),
            Some(crate::error::ErrorCode::BadUserInput)
        );
        assert_eq!(
            refused(
                r#"mutation { register(input: {email: "a@b.c", password: "x", displayName: "\u0000"}) { accessToken } }"#
            ),
            Some(crate::error::ErrorCode::BadUserInput)
        );
        assert_eq!(refused(r#"{ eventBySlug(slug: "a\u0041b") { id } }"#), None);
    }
}
