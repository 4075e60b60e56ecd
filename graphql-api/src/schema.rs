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
        Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextRequest, NextValidation,
    },
    parser::types::ExecutableDocument,
    registry::SDLExportOptions,
};
use entities::event;

use crate::{
    accounts::{AccountsMutation, AccountsQuery},
    booking::{BookingsMutation, BookingsQuery, SaleBookingsMutation, SaleBookingsQuery},
    error::{ApiError, ErrorCode, log_internal},
    events::EventQuery,
    holds::{HoldsMutation, HoldsQuery},
    payments::SalePaymentsMutation,
    queue::{QueueMutation, QueueQuery, QueueSubscription},
    seats::{SeatsQuery, SeatsSubscription},
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

/// Request data of the sale schema: the event named in the path.
#[derive(Clone, Debug)]
pub struct SaleScope {
    pub event: Arc<event::Model>,
}

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

fn with_limits<Q, M, S>(builder: SchemaBuilder<Q, M, S>, limits: Limits) -> SchemaBuilder<Q, M, S> {
    builder
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity)
        .limit_recursive_depth(64)
        .limit_directives(16)
        .extension(ErrorCodes)
}

/// The public schema with the instance's state.
pub fn public_schema(state: &AppState) -> PublicSchema {
    with_limits(
        Schema::build(
            PublicQuery::default(),
            PublicMutation::default(),
            PublicSubscription::default(),
        ),
        Limits::from_config(state.config()),
    )
    .data(state.clone())
    .finish()
}

/// The sale schema with the instance's state; each request adds its [`SaleScope`].
pub fn sale_schema(state: &AppState) -> SaleSchema {
    with_limits(
        Schema::build(
            SaleQuery::default(),
            SaleMutation::default(),
            SaleSubscription::default(),
        ),
        Limits::from_config(state.config()),
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
        Arc::new(ErrorCodes)
    }
}

#[async_trait::async_trait]
impl Extension for ErrorCodes {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        response.errors.iter_mut().for_each(assign_code);
        response
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: futures_util::stream::BoxStream<'s, Response>,
        next: async_graphql::extensions::NextSubscribe<'_>,
    ) -> futures_util::stream::BoxStream<'s, Response> {
        use futures_util::StreamExt as _;
        next.run(ctx, stream)
            .map(|mut response| {
                response.errors.iter_mut().for_each(assign_code);
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
        next.run(ctx, query, variables)
            .await
            .map_err(|error| with_code(error, ErrorCode::GraphqlParseFailed))
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await.map_err(|errors| {
            errors
                .into_iter()
                .map(|error| {
                    // async-graphql reports its limits with these fixed messages; a value
                    // that does not fit an argument's type is the client's input, not
                    // a schema mismatch.
                    let code = match error.message.as_str() {
                        "Query is nested too deep." => ErrorCode::QueryTooDeep,
                        "Query is too complex." => ErrorCode::QueryTooComplex,
                        message if message.starts_with("Invalid value for argument") => {
                            ErrorCode::BadUserInput
                        }
                        _ => ErrorCode::GraphqlValidationFailed,
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

/// Maps one error at the boundary: our own errors by variant, argument errors as bad input,
/// anything else as internal (logged once, message hidden).
fn assign_code(error: &mut ServerError) {
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
    } else if error.message.starts_with("Failed to parse")
        || error.message.starts_with("Invalid value")
        || error
            .message
            .contains("Internal error occurred while parsing")
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
