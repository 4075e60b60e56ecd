//! Typed access to request data, failing with an internal error instead of panicking.

use std::any::Any;

use async_graphql::Context;

use crate::error::{ApiError, ApiResult};

/// `ctx.data::<T>()` that fails as [`ApiError::Internal`], never with a panic.
pub trait ContextExt {
    fn api_data<T: Any + Send + Sync>(&self) -> ApiResult<&T>;
}

impl ContextExt for Context<'_> {
    fn api_data<T: Any + Send + Sync>(&self) -> ApiResult<&T> {
        self.data_opt::<T>().ok_or_else(|| {
            ApiError::Internal(std::sync::Arc::new(anyhow::anyhow!(
                "request data {} is missing",
                std::any::type_name::<T>()
            )))
        })
    }
}
