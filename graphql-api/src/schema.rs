//! The two schemas, each built by one function, and the extension that gives every error a
//! code.
//!
//! - public (`/graphql`): events; later accounts, the queue and my bookings.
//! - sale (`/sale/{eventId}/graphql`): one event's seats; later holds, bookings, payments.

use std::sync::Arc;

use async_graphql::{
    MergedObject, MergedSubscription, Response, Schema, SchemaBuilder, ServerError, ServerResult,
    ValidationResult, Variables,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextRequest,
        NextValidation,
    },
    parser::types::ExecutableDocument,
    registry::SDLExportOptions,
};

use crate::{
    accounts::{AccountsMutation, AccountsQuery},
    booking::{BookingsMutation, BookingsQuery, SaleBookingsMutation, SaleBookingsQuery},
    error::{ApiError, ErrorCode, log_internal},
    events::EventQuery,
    holds::{HoldsMutation, HoldsQuery},
    payments::SalePaymentsMutation,
    queue::{QueueMutation, QueueQuery, QueueSubscription},
    seats::{SeatsQuery, SeatsSubscription},
    shed::{SchemaSide, ShedGate},
    state::AppState,
};

/// Root query of the public schema.
#[derive(MergedObject, Default)]
pub struct PublicQuery(EventQuery, AccountsQuery, QueueQuery, BookingsQuery);

/// Root mutation of the public schema.
#[derive(MergedObject, Default)]
pub struct PublicMutation(AccountsMutation, QueueMutation, BookingsMutation);

/// Root subscription of the public schema.
#[derive(MergedSubscription, Default)]
pub struct PublicSubscription(QueueSubscription);

/// Root query of the sale schema.
#[derive(MergedObject, Default)]
pub struct SaleQuery(SeatsQuery, HoldsQuery, SaleBookingsQuery);

/// Root mutation of the sale schema.
#[derive(MergedObject, Default)]
pub struct SaleMutation(HoldsMutation, SaleBookingsMutation, SalePaymentsMutation);

/// Root subscription of the sale schema.
#[derive(MergedSubscription, Default)]
pub struct SaleSubscription(SeatsSubscription);

pub type PublicSchema = Schema<PublicQuery, PublicMutation, PublicSubscription>;
pub type SaleSchema = Schema<SaleQuery, SaleMutation, SaleSubscription>;

/// Request data of the sale schema (defined with the rest of a sale request's scope).
pub use crate::sale::SaleScope;

/// Limits every schema enforces.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_depth: usize,
    pub max_complexity: usize,
}

impl Limits {
    pub fn from_config(config: &crate::config::Config) -> Self {
        Self {
            max_depth: config.graphql_max_depth,
            max_complexity: config.graphql_max_complexity,
        }
    }
}

/// The limits and extensions every schema has. The shed gate comes before the error codes:
/// its `execute` hook is then the outer one, so a shed answer counts as refused before
/// execution (HTTP 503).
fn with_limits<Q, M, S>(
    builder: SchemaBuilder<Q, M, S>,
    limits: Limits,
    shed: ShedGate,
) -> SchemaBuilder<Q, M, S> {
    builder
        .extension(shed)
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity)
        .limit_recursive_depth(crate::guard::MAX_RECURSIVE_DEPTH)
        .limit_directives(16)
        .extension(ErrorCodes)
        .extension(crate::guard::Guard {
            max_depth: limits.max_depth,
        })
}

/// The public schema with the instance's state.
pub fn public_schema(state: &AppState) -> PublicSchema {
    with_limits(
        Schema::build(
            PublicQuery::default(),
            PublicMutation::default(),
            PublicSubscription::default(),
        )
        .extension(crate::metrics::Metered("public")),
        Limits::from_config(state.config()),
        ShedGate {
            shed: state.shed().clone(),
            side: SchemaSide::Public,
        },
    )
    .data(state.clone())
    .finish()
}

/// The sale schema with the instance's state; each request adds its [`SaleScope`].
pub fn sale_schema(state: &AppState) -> SaleSchema {
    // The health hook is the outermost: it sees the shed gate's BUSY answers too.
    with_limits(
        Schema::build(
            SaleQuery::default(),
            SaleMutation::default(),
            SaleSubscription::default(),
        )
        .extension(crate::autopilot::SaleHealthHook::new(state))
        .extension(crate::metrics::Metered("sale")),
        Limits::from_config(state.config()),
        ShedGate {
            shed: state.shed().clone(),
            side: SchemaSide::Sale,
        },
    )
    .data(state.clone())
    .finish()
}

fn sdl_options() -> SDLExportOptions {
    SDLExportOptions::new()
        .sorted_fields()
        .sorted_arguments()
        .sorted_enum_items()
}

/// The public schema's SDL, as checked in at `graphql-api/schema.public.graphql`.
pub fn public_sdl() -> String {
    Schema::build(
        PublicQuery::default(),
        PublicMutation::default(),
        PublicSubscription::default(),
    )
    .finish()
    .sdl_with_options(sdl_options())
}

/// The sale schema's SDL, as checked in at `graphql-api/schema.sale.graphql`.
pub fn sale_sdl() -> String {
    Schema::build(
        SaleQuery::default(),
        SaleMutation::default(),
        SaleSubscription::default(),
    )
    .finish()
    .sdl_with_options(sdl_options())
}

/// Gives every error leaving a schema an `extensions.code` from [`ErrorCode`].
pub struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodesExtension::default())
    }
}

/// Header an answer refused before execution carries inside the process (never on the
/// wire): the HTTP layer answers it with the first error's status instead of 200.
pub const REFUSED_BEFORE_EXECUTION: &str = "x-tickets-refused-before-execution";

/// One request's error mapping.
#[derive(Default)]
struct ErrorCodesExtension {
    /// Set once a field may have run: errors after that are field errors (HTTP 200).
    executing: std::sync::atomic::AtomicBool,
    /// Where the request's argument values are. Read at validation: the request's own data
    /// is not yet attached when the `request` hook starts, and a WebSocket operation's
    /// stream is wrapped before it is prepared (so the stream holds this, not a copy).
    argument_values: Arc<std::sync::OnceLock<Vec<async_graphql::Pos>>>,
}

#[async_trait::async_trait]
impl Extension for ErrorCodesExtension {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        let arguments = self.argument_values.get().map_or(&[][..], Vec::as_slice);
        for error in &mut response.errors {
            assign_code(error, arguments);
        }
        let executed = self.executing.load(std::sync::atomic::Ordering::Relaxed);
        if !executed && !response.errors.is_empty() {
            response.http_headers.insert(
                REFUSED_BEFORE_EXECUTION,
                axum::http::HeaderValue::from_static("1"),
            );
        }
        response
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        self.executing
            .store(true, std::sync::atomic::Ordering::Relaxed);
        next.run(ctx, operation_name).await
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: futures_util::stream::BoxStream<'s, Response>,
        next: async_graphql::extensions::NextSubscribe<'_>,
    ) -> futures_util::stream::BoxStream<'s, Response> {
        use futures_util::StreamExt as _;
        let arguments = self.argument_values.clone();
        next.run(ctx, stream)
            .map(move |mut response| {
                let arguments = arguments.get().map_or(&[][..], Vec::as_slice);
                for error in &mut response.errors {
                    assign_code(error, arguments);
                }
                response
            })
            .boxed()
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        // The guard parsed the document and bounded its depth already (refusing with codes
        // of its own); what could still fail here is async-graphql's bound on directives.
        next.run(ctx, query, variables)
            .await
            .map_err(|error| with_code(error, ErrorCode::GraphqlParseFailed))
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let from_variables = ctx.data_opt::<crate::guard::VariableArguments>();
        let _ = self.argument_values.set(
            from_variables
                .map(|arguments| arguments.values.clone())
                .unwrap_or_default(),
        );
        next.run(ctx).await.map_err(|errors| {
            errors
                .into_iter()
                .map(|error| {
                    let passed_in_variables = from_variables.is_some_and(|arguments| {
                        error
                            .locations
                            .iter()
                            .any(|at| arguments.names.contains(at))
                    });
                    // The guard refused documents too deep for the schema's limits already,
                    // so a validation error that points nowhere can only be the complexity
                    // limit (the one bound that needs each field's price). A value of the
                    // wrong type is the client's input when it came in variables; anything
                    // else (unknown fields, literals of the wrong type, invalid enum values
                    // in the document) does not fit the schema.
                    let code = if error.locations.is_empty() {
                        ErrorCode::QueryTooComplex
                    } else if passed_in_variables
                        && error.message.starts_with("Invalid value for argument")
                    {
                        ErrorCode::BadUserInput
                    } else {
                        ErrorCode::GraphqlValidationFailed
                    };
                    with_code(error, code)
                })
                .collect()
        })
    }
}

fn with_code(mut error: ServerError, code: ErrorCode) -> ServerError {
    if code_of(&error).is_none() {
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("code", code.as_str());
    }
    error
}

fn code_of(error: &ServerError) -> Option<&async_graphql::Value> {
    error
        .extensions
        .as_ref()
        .and_then(|extensions| extensions.get("code"))
}

/// Maps one error at the boundary: our own errors by variant, errors pointing at an argument's
/// value (it could not be read as its type) as bad input, anything else as internal (logged
/// once, message hidden).
fn assign_code(error: &mut ServerError, argument_values: &[async_graphql::Pos]) {
    if code_of(error).is_some() {
        return;
    }
    let code = if let Some(api_error) = error.source::<ApiError>().cloned() {
        if let ApiError::Internal(cause) = &api_error {
            log_internal(cause);
            error.message = api_error.to_string();
        }
        let extensions = error.extensions.get_or_insert_with(Default::default);
        for (name, value) in api_error.extra_extensions() {
            if let Ok(value) = async_graphql::Value::from_json(value) {
                extensions.set(name, value);
            }
        }
        api_error.code()
    } else if error
        .locations
        .iter()
        .any(|at| argument_values.contains(at))
    {
        ErrorCode::BadUserInput
    } else {
        tracing::error!(error = %error.message, "internal error without a code");
        error.message = "Internal server error.".to_owned();
        ErrorCode::InternalError
    };
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", code.as_str());
}
