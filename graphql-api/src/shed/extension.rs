//! The one point where the pools are applied: an extension on both schemas.
//!
//! Why an extension and not the HTTP and WebSocket handlers: async-graphql calls the
//! `execute` hook for every query and mutation, over `Schema::execute` (HTTP) and
//! `execute_stream` (a WebSocket's operations) alike, after the guard, parsing and
//! validation and before any resolver; subscriptions never pass it (they are not bounded).
//! So every operation is bounded the same way on both transports, a refused one has run
//! nothing (it changes nothing), and an invalid document never takes a permit. The
//! extension is registered before the error-code extension, so a shed answer counts as
//! refused before execution: HTTP answers it with `503` and `Retry-After`.

use std::sync::{Arc, OnceLock};

use async_graphql::{
    Response, ServerResult, Variables,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery},
    parser::types::ExecutableDocument,
};

use super::{Kind, SchemaSide, Shed, classify_operation};

/// Registers the instance's pools on one schema.
pub struct ShedGate {
    pub shed: Shed,
    pub side: SchemaSide,
}

impl ExtensionFactory for ShedGate {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ShedExtension {
            shed: self.shed.clone(),
            side: self.side,
            operations: OnceLock::new(),
        })
    }
}

/// One request's gate.
struct ShedExtension {
    shed: Shed,
    side: SchemaSide,
    /// Each operation of the document, by name, with its kind (`None`: not bounded).
    /// Read from the parsed document, since the `execute` hook is given only the name.
    operations: OnceLock<Vec<(Option<String>, Option<Kind>)>>,
}

impl ShedExtension {
    fn kind_of(&self, operation_name: Option<&str>) -> Option<Kind> {
        let operations = self.operations.get()?;
        operations
            .iter()
            .find(|(name, _)| operation_name.is_none() || name.as_deref() == operation_name)
            .and_then(|(_, kind)| *kind)
    }
}

#[async_trait::async_trait]
impl Extension for ShedExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let operations = document
            .operations
            .iter()
            .map(|(name, _)| {
                let name = name.map(|name| name.to_string());
                let kind = classify_operation(self.side, &document, name.as_deref());
                (name, kind)
            })
            .collect();
        let _ = self.operations.set(operations);
        Ok(document)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let Some(kind) = self.kind_of(operation_name) else {
            return next.run(ctx, operation_name).await;
        };
        match self.shed.acquire(kind).await {
            Ok(permit) => {
                let response = next.run(ctx, operation_name).await;
                drop(permit);
                response
            }
            Err(busy) => {
                tracing::debug!(kind = kind.as_str(), "shed a request: its pool is full");
                Response::from_errors(vec![busy.into_server_error()])
            }
        }
    }
}
