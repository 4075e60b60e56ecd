//! Checks of the parsed document: literals everywhere, then the operation that runs: which
//! one it is, its required variables, its size once fragments are expanded, and how often
//! its costly root fields run.

use async_graphql::{
    Variables,
    parser::types::{DocumentOperations, ExecutableDocument, OperationDefinition, OperationType},
};
use async_graphql_value::ConstValue;

use super::{
    MAX_FIELDS, MAX_MUTATION_FIELDS, MAX_RECURSIVE_DEPTH, MAX_SAME_ROOT_FIELD, ONCE_PER_REQUEST,
    arguments::{VariableArguments, check_literals},
    counter::Counter,
    scan::check_const,
};
use crate::error::ApiError;

pub(super) fn check_document(
    document: &ExecutableDocument,
    variables: &Variables,
    operation_name: Option<&str>,
    over_http: bool,
    max_field_depth: usize,
) -> Result<VariableArguments, ApiError> {
    let mut arguments = VariableArguments::default();
    for (_, operation) in document.operations.iter() {
        for definition in &operation.node.variable_definitions {
            if let Some(default) = &definition.node.default_value {
                check_const(&default.node, 1)?;
            }
        }
        check_literals(&operation.node.selection_set.node, &mut arguments)?;
    }
    for fragment in document.fragments.values() {
        check_literals(&fragment.node.selection_set.node, &mut arguments)?;
    }
    let operation = chosen_operation(document, operation_name)?;
    if over_http && operation.ty == OperationType::Subscription {
        return Err(ApiError::SubscriptionOverHttp);
    }
    // async-graphql finds a missing required variable only when a field reads it, and
    // reports it without a code; it is the client's input.
    for definition in &operation.variable_definitions {
        let definition = &definition.node;
        let required = !definition.var_type.node.nullable && definition.default_value.is_none();
        let given = variables
            .get(&definition.name.node)
            .is_some_and(|value| *value != ConstValue::Null);
        if required && !given {
            return Err(ApiError::BadUserInput(format!(
                "The variable ${} is required.",
                definition.name.node.chars().take(64).collect::<String>()
            )));
        }
    }
    let mut counts = Counter::new(document);
    // async-graphql bounds the depth of every operation of the document, not only the one
    // that runs.
    let mut fields = 0;
    let mut deepest = 0;
    let mut deepest_fields = 0;
    for (_, each) in document.operations.iter() {
        let size = counts.size(&each.node.selection_set.node);
        deepest = deepest.max(size.depth);
        deepest_fields = deepest_fields.max(size.field_depth);
        if std::ptr::eq(&each.node, operation) {
            fields = size.fields;
        }
    }
    let roots = counts.roots(&operation.selection_set.node);
    if counts.too_deep || deepest > MAX_RECURSIVE_DEPTH {
        return Err(ApiError::QueryTooDeep(format!(
            "Selections nest deeper than {MAX_RECURSIVE_DEPTH} levels once fragments are expanded (or a fragment spreads itself)."
        )));
    }
    // The schema's own depth limit, checked here so the code never depends on its message.
    if deepest_fields > max_field_depth {
        return Err(ApiError::QueryTooDeep(format!(
            "Fields nest {deepest_fields} deep; at most {max_field_depth} are allowed."
        )));
    }
    if fields > MAX_FIELDS {
        return Err(ApiError::QueryTooComplex(format!(
            "The document asks for {fields} fields once its fragments are expanded; at most {MAX_FIELDS} are allowed."
        )));
    }
    for field in ONCE_PER_REQUEST {
        let asked = roots.get(*field).copied().unwrap_or(0);
        if asked > 1 {
            return Err(ApiError::TooManyExpensiveFields {
                field: (*field).to_owned(),
                max: 1,
                message: format!(
                    "`{field}` may be asked once per request; this one asks it {asked} times."
                ),
            });
        }
    }
    if let Some((field, asked)) = roots
        .iter()
        .filter(|(name, _)| !name.starts_with("__"))
        .find(|(_, asked)| **asked > MAX_SAME_ROOT_FIELD)
    {
        return Err(ApiError::TooManyExpensiveFields {
            field: (*field).to_owned(),
            max: MAX_SAME_ROOT_FIELD,
            message: format!(
                "`{field}` may run at most {MAX_SAME_ROOT_FIELD} times per request; this one asks it {asked} times."
            ),
        });
    }
    let writes: usize = roots
        .iter()
        .filter(|(name, _)| !name.starts_with("__"))
        .map(|(_, count)| *count)
        .fold(0, usize::saturating_add);
    if operation.ty == OperationType::Mutation && writes > MAX_MUTATION_FIELDS {
        return Err(ApiError::TooManyExpensiveFields {
            field: "mutation".to_owned(),
            max: MAX_MUTATION_FIELDS,
            message: format!(
                "A request may run at most {MAX_MUTATION_FIELDS} mutation fields; this one runs {writes}."
            ),
        });
    }
    Ok(arguments)
}

/// The operation async-graphql will run, or why there is none (its own rules, with codes).
fn chosen_operation<'a>(
    document: &'a ExecutableDocument,
    name: Option<&str>,
) -> Result<&'a OperationDefinition, ApiError> {
    match (&document.operations, name) {
        (DocumentOperations::Single(operation), None) => Ok(&operation.node),
        (DocumentOperations::Multiple(operations), Some(name)) => operations
            .get(name)
            .map(|operation| &operation.node)
            .ok_or_else(|| ApiError::UnknownOperation(name.chars().take(64).collect())),
        (DocumentOperations::Single(_), Some(name)) => {
            Err(ApiError::UnknownOperation(name.chars().take(64).collect()))
        }
        (DocumentOperations::Multiple(operations), None) => {
            let mut all = operations.values();
            match (all.next(), all.next()) {
                (Some(only), None) => Ok(&only.node),
                _ => Err(ApiError::OperationNameRequired),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{Request, Variables};

    use crate::guard::{check, refused};

    #[test]
    fn the_operation_must_be_named_known_and_not_a_subscription_over_http() {
        use crate::error::ErrorCode;
        let two = "query A { a } query B { b }";
        assert_eq!(refused(two), Some(ErrorCode::OperationNameRequired));
        let named = Request::new(two).operation_name("C");
        assert_eq!(
            check(named, true).err().map(|e| e.code()),
            Some(ErrorCode::UnknownOperation)
        );
        assert!(check(Request::new(two).operation_name("B"), true).is_ok());
        assert_eq!(
            refused("subscription { queuePosition(eventId: 1) { position } }"),
            Some(ErrorCode::SubscriptionOverHttp)
        );
        let over_socket = Request::new("subscription { queuePosition(eventId: 1) { position } }");
        assert!(check(over_socket, false).is_ok());
        assert_eq!(refused("{ a"), Some(ErrorCode::GraphqlParseFailed));
    }

    #[test]
    fn a_required_variable_must_be_given() {
        use crate::error::ErrorCode;
        let query = "query($e: ID!, $f: Int, $g: Int! = 1) { a }";
        assert_eq!(refused(query), Some(ErrorCode::BadUserInput));
        let null =
            Request::new(query).variables(Variables::from_json(serde_json::json!({ "e": null })));
        assert_eq!(
            check(null, true).err().map(|e| e.code()),
            Some(ErrorCode::BadUserInput)
        );
        let given =
            Request::new(query).variables(Variables::from_json(serde_json::json!({ "e": "1" })));
        assert!(check(given, true).is_ok());
    }

    #[test]
    fn expensive_fields_run_once_per_request_and_mutations_are_few() {
        use crate::error::ErrorCode;
        let twice = r#"mutation { a: login(email: "a", password: "b") { accessToken } b: login(email: "a", password: "c") { accessToken } }"#;
        assert_eq!(refused(twice), Some(ErrorCode::TooManyExpensiveFields));
        let hidden = r#"mutation { ...L ... on PublicMutation { login(email: "a", password: "b") { accessToken } } }
            fragment L on PublicMutation { login(email: "a", password: "b") { accessToken } }"#;
        assert_eq!(refused(hidden), Some(ErrorCode::TooManyExpensiveFields));
        let once = r#"mutation { login(email: "a", password: "b") { accessToken } }"#;
        assert_eq!(refused(once), None);
        let many = format!(
            "mutation {{ {} }}",
            (0..6)
                .map(|i| format!("h{i}: heartbeat(eventId: 1) {{ position }}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        assert_eq!(refused(&many), Some(ErrorCode::TooManyExpensiveFields));
        let many_reads = format!(
            "{{ {} }}",
            (0..6)
                .map(|i| format!("e{i}: events {{ id }}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        assert_eq!(refused(&many_reads), None);
        let too_many_reads = format!(
            "{{ {} }}",
            (0..11)
                .map(|i| format!("a{i}: availability {{ total }}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        assert_eq!(
            refused(&too_many_reads),
            Some(ErrorCode::TooManyExpensiveFields)
        );
    }
}
