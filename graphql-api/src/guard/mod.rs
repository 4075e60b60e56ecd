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
//!
//! [`check`] below runs the steps in that order; `scan` holds steps 1 and 2, `arguments`
//! step 4, `operation` steps 5 to 7 with `counter` measuring the expanded selections.
//! `extension` is the hook on the schemas, `budget` the socket's budget.

mod arguments;
mod budget;
mod counter;
mod extension;
mod operation;
mod scan;

use async_graphql::Request;

pub use self::{
    arguments::VariableArguments, budget::SocketBudget, extension::Guard, scan::nesting,
};
use crate::error::ApiError;

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

/// Every check of the guard, in order, with no field-depth bound but the recursive one; the
/// request comes back parsed, with its [`VariableArguments`].
pub fn check(request: Request, over_http: bool) -> Result<Request, ApiError> {
    check_within(request, over_http, usize::MAX)
}

/// [`check`], refusing fields nested deeper than `max_field_depth` (the schema's depth limit)
/// with `QUERY_TOO_DEEP` before the schema would.
pub fn check_within(
    mut request: Request,
    over_http: bool,
    max_field_depth: usize,
) -> Result<Request, ApiError> {
    let nesting = scan::nesting(&request.query);
    if nesting > MAX_NESTING {
        return Err(ApiError::QueryTooDeep(format!(
            "The document nests brackets deeper than {MAX_NESTING} levels."
        )));
    }
    scan::check_variables(&request.variables)?;
    if request
        .operation_name
        .as_ref()
        .is_some_and(|name| name.contains('\0'))
    {
        return Err(scan::nul_refused());
    }
    let operation_name = request.operation_name.clone();
    // The parse below borrows the request; the variables are read beside it.
    let variables = std::mem::take(&mut request.variables);
    let document = request
        .parsed_query()
        .map_err(|error| ApiError::GraphqlParseFailed(error.message))?;
    let arguments = operation::check_document(
        document,
        &variables,
        operation_name.as_deref(),
        over_http,
        max_field_depth,
    )?;
    request.variables = variables;
    if !arguments.values.is_empty() {
        request = request.data(arguments);
    }
    Ok(request)
}

/// The code [`check`] refuses a query with over HTTP, if any: what the unit tests ask.
#[cfg(test)]
fn refused(query: &str) -> Option<crate::error::ErrorCode> {
    check(Request::new(query), true)
        .err()
        .map(|error| error.code())
}
