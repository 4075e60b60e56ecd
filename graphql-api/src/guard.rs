//! The request guard: every GraphQL request of either schema, over HTTP or WebSocket, passes
//! here before anything recursive walks it.
//!
//! async-graphql's parser and validators recurse over the document, so a list nested a few
//! thousand levels deep overflows a worker's stack and aborts the process, and fragments
//! that spread each other ten times over make its walkers run for hours. The guard bounds
//! what those walkers may meet, in this order, each step linear in the request's size:
//!
//! 1. brackets of any kind nested deeper than [`MAX_NESTING`] (read without parsing);
//! 2. variables nested deeper than [`MAX_VARIABLE_DEPTH`], or holding a NUL character;
//! 3. the parse itself (kept in the request, so the schema does not parse again);
//! 4. NUL characters in string literals (Postgres text cannot hold them);
//! 5. the operation to run: named when there are several, known, not a subscription over
//!    HTTP;
//! 6. the selections once fragments are expanded: at most [`MAX_FIELDS`], nested at most
//!    [`MAX_RECURSIVE_DEPTH`] deep (a fragment spreading itself never ends);
//! 7. fields that cost a password hash or a session rotation once per request, any root
//!    field at most [`MAX_SAME_ROOT_FIELD`] times, and at most [`MAX_MUTATION_FIELDS`]
//!    mutation fields (aliases count: each runs).
//!
//! It also gives each request its own [`DbLoader`](crate::loaders::DbLoader), over both
//! transports, and spends the WebSocket's operation budget ([`SocketBudget`]).

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use async_graphql::{
    Name, Pos, Request, ServerResult, Variables,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest, NextRequest},
    parser::types::{
        DocumentOperations, ExecutableDocument, OperationDefinition, OperationType, Selection,
        SelectionSet,
    },
};
use async_graphql_value::{ConstValue, Value};

use crate::{error::ApiError, loaders::DbLoader, state::AppState};

/// Deepest nesting of `{`, `[` and `(` a document may have. Selections deeper than
/// `GRAPHQL_MAX_DEPTH` are refused by validation anyway; this bound is what keeps the
/// parser's recursion far from the end of a worker's stack.
pub const MAX_NESTING: usize = 40;
/// Deepest nesting of lists and objects in the variables.
pub const MAX_VARIABLE_DEPTH: usize = 16;
/// Most selections a document may expand to once fragments are inlined.
pub const MAX_FIELDS: usize = 5_000;
/// Deepest selections may nest, counting each fragment spread and inline fragment as a level,
/// as async-graphql's own recursion bound counts; the schemas are built with this number, so
/// the guard refuses first and with its code.
pub const MAX_RECURSIVE_DEPTH: usize = 64;
/// Most root fields a mutation may hold: each one runs, so each one writes.
pub const MAX_MUTATION_FIELDS: usize = 5;
/// Most times one root field may run in a request (aliases count): each occurrence of
/// `availability` or `myBookings` is its own database query.
pub const MAX_SAME_ROOT_FIELD: usize = 10;
/// Root fields that cost a password hash (argon2) or a session rotation: once per request.
pub const ONCE_PER_REQUEST: &[&str] = &["login", "register", "refresh"];

/// Registers the guard on a schema.
pub struct Guard;

impl ExtensionFactory for Guard {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(GuardExtension::default())
    }
}

/// One request's guard.
#[derive(Default)]
struct GuardExtension {
    /// Set when the request came through `execute` (HTTP), which cannot stream.
    over_http: AtomicBool,
}

#[async_trait::async_trait]
impl Extension for GuardExtension {
    async fn request(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextRequest<'_>,
    ) -> async_graphql::Response {
        // Only `Schema::execute` calls this hook; WebSocket operations go through
        // `execute_stream`, which does not.
        self.over_http.store(true, Ordering::Relaxed);
        next.run(ctx).await
    }

    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        if let Some(budget) = ctx.data_opt::<SocketBudget>() {
            budget.spend().map_err(ApiError::into_server_error)?;
        }
        let mut request = check(request, self.over_http.load(Ordering::Relaxed))
            .map_err(ApiError::into_server_error)?;
        if let Some(state) = ctx.data_opt::<AppState>() {
            request = request.data(DbLoader::for_request(state.db().clone()));
        }
        next.run(ctx, request).await
    }
}

/// Where the document passes variables to arguments: an argument whose value does not fit
/// its type there is the client's input (`BAD_USER_INPUT`), not a document that does not
/// fit the schema (`GRAPHQL_VALIDATION_FAILED`), and async-graphql reports both alike.
#[derive(Clone, Debug, Default)]
pub struct VariableArguments(pub Vec<Pos>);

/// Every check of the guard, in order; the request comes back parsed, with its
/// [`VariableArguments`].
pub fn check(mut request: Request, over_http: bool) -> Result<Request, ApiError> {
    let nesting = nesting(&request.query);
    if nesting > MAX_NESTING {
        return Err(ApiError::QueryTooDeep(format!(
            "The document nests brackets deeper than {MAX_NESTING} levels."
        )));
    }
    check_variables(&request.variables)?;
    if request
        .operation_name
        .as_ref()
        .is_some_and(|name| name.contains('\0'))
    {
        return Err(nul_refused());
    }
    let operation_name = request.operation_name.clone();
    // The parse below borrows the request; the variables are read beside it.
    let variables = std::mem::take(&mut request.variables);
    let document = request
        .parsed_query()
        .map_err(|error| ApiError::GraphqlParseFailed(error.message))?;
    let arguments = check_document(document, &variables, operation_name.as_deref(), over_http)?;
    request.variables = variables;
    if !arguments.0.is_empty() {
        request = request.data(arguments);
    }
    Ok(request)
}

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

fn nul_refused() -> ApiError {
    ApiError::BadUserInput("Text may not contain NUL characters (\\u0000).".into())
}

fn check_variables(variables: &Variables) -> Result<(), ApiError> {
    for value in variables.values() {
        check_const(value, 1)?;
    }
    Ok(())
}

fn check_const(value: &ConstValue, depth: usize) -> Result<(), ApiError> {
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

fn check_document(
    document: &ExecutableDocument,
    variables: &Variables,
    operation_name: Option<&str>,
    over_http: bool,
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
    for (_, each) in document.operations.iter() {
        let size = counts.size(&each.node.selection_set.node);
        deepest = deepest.max(size.depth);
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

/// Arguments and directives of every selection (nesting is already bounded).
fn check_literals(set: &SelectionSet, arguments: &mut VariableArguments) -> Result<(), ApiError> {
    for item in &set.items {
        let (directives, inner) = match &item.node {
            Selection::Field(field) => {
                for (name, value) in &field.node.arguments {
                    if check_value(&value.node)? {
                        arguments.0.push(name.pos);
                    }
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

/// What a selection set expands to with its fragments inlined.
#[derive(Clone, Copy, Debug, Default)]
struct Size {
    /// Every field (saturating).
    fields: usize,
    /// Levels below the set, as async-graphql's recursion bound counts them.
    depth: usize,
}

/// Measures selections with fragments expanded, remembering each fragment's measure so that
/// fragments spreading each other many times over cost one visit each.
struct Counter<'a> {
    document: &'a ExecutableDocument,
    sizes: HashMap<&'a Name, Size>,
    roots: HashMap<&'a Name, HashMap<&'a str, usize>>,
    visiting: Vec<&'a Name>,
    /// Set when a fragment spreads itself, or a chain of fragments is deeper than
    /// [`MAX_RECURSIVE_DEPTH`] on its own (each spread is a level).
    too_deep: bool,
}

impl<'a> Counter<'a> {
    fn new(document: &'a ExecutableDocument) -> Self {
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
    fn size(&mut self, set: &'a SelectionSet) -> Size {
        let mut total = Size::default();
        for item in &set.items {
            let (fields, depth) = match &item.node {
                Selection::Field(field) => {
                    let inner = &field.node.selection_set.node;
                    let size = self.size(inner);
                    let depth = if inner.items.is_empty() {
                        0
                    } else {
                        size.depth + 1
                    };
                    (size.fields.saturating_add(1), depth)
                }
                Selection::InlineFragment(inline) => {
                    let size = self.size(&inline.node.selection_set.node);
                    (size.fields, size.depth + 1)
                }
                Selection::FragmentSpread(spread) => {
                    let name = &spread.node.fragment_name.node;
                    let size = match self.sizes.get(name) {
                        Some(size) => *size,
                        None => {
                            self.fragment(name, |counter, set| counter.size(set), Size::default())
                        }
                    };
                    (size.fields, size.depth + 1)
                }
            };
            total.fields = total.fields.saturating_add(fields);
            total.depth = total.depth.max(depth);
        }
        total
    }

    /// How often each root field runs, by field name (aliases and fragments expanded).
    fn roots(&mut self, set: &'a SelectionSet) -> HashMap<&'a str, usize> {
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

/// A WebSocket's budget of operations (`WS_OPERATIONS_PER_SEC`, bursts of twice that): the
/// gateway's rate limits count HTTP requests, and a socket, once open, is one request.
#[derive(Clone)]
pub struct SocketBudget {
    limiter: Arc<governor::DefaultDirectRateLimiter>,
}

impl std::fmt::Debug for SocketBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketBudget").finish_non_exhaustive()
    }
}

impl SocketBudget {
    /// A budget of `per_second` operations (0: unlimited, `None`).
    pub fn new(per_second: u32) -> Option<Self> {
        let rate = std::num::NonZeroU32::new(per_second)?;
        let burst = std::num::NonZeroU32::new(per_second.saturating_mul(2))?;
        let quota = governor::Quota::per_second(rate).allow_burst(burst);
        Some(Self {
            limiter: Arc::new(governor::RateLimiter::direct(quota)),
        })
    }

    /// Spends one operation, or says how long to wait.
    pub fn spend(&self) -> Result<(), ApiError> {
        self.limiter.check().map_err(|not_until| {
            use governor::clock::Clock as _;
            let wait = not_until.wait_time_from(governor::clock::DefaultClock::default().now());
            ApiError::RateLimited {
                retry_after_ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(query: &str) -> Option<crate::error::ErrorCode> {
        check(Request::new(query), true)
            .err()
            .map(|error| error.code())
    }

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

    #[test]
    fn a_socket_budget_refuses_past_its_burst_with_a_wait() {
        let budget = SocketBudget::new(2).expect("a budget");
        let spent = (0..10).filter(|_| budget.spend().is_ok()).count();
        assert_eq!(spent, 4);
        match budget.spend() {
            Err(ApiError::RateLimited { retry_after_ms }) => assert!(retry_after_ms >= 1),
            other => panic!("expected RATE_LIMITED, got {other:?}"),
        }
        assert!(SocketBudget::new(0).is_none());
    }
}
