//! The extension that puts every request through [`check`](super::check), over both
//! transports.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use async_graphql::{
    Request, ServerResult,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest, NextRequest},
};

use super::{SocketBudget, check};
use crate::{error::ApiError, loaders::DbLoader, state::AppState};

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
