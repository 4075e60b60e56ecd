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

use super::{SocketBudget, check_within};
use crate::{error::ApiError, loaders::DbLoader, state::AppState};

/// Registers the guard on a schema whose depth limit is `max_depth`.
pub struct Guard {
    pub max_depth: usize,
}

impl ExtensionFactory for Guard {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(GuardExtension {
            over_http: AtomicBool::new(false),
            max_depth: self.max_depth,
        })
    }
}

/// One request's guard.
struct GuardExtension {
    /// Set when the request came through `execute` (HTTP), which cannot stream.
    over_http: AtomicBool,
    max_depth: usize,
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
        let mut request = check_within(
            request,
            self.over_http.load(Ordering::Relaxed),
            self.max_depth,
        )
        .map_err(ApiError::into_server_error)?;
        if let Some(state) = ctx.data_opt::<AppState>() {
            request = request.data(DbLoader::for_request(state.db().clone()));
        }
        next.run(ctx, request).await
    }
}
