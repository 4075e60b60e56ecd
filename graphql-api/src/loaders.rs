//! Batch loading for fields that would otherwise query once per parent (no N+1).
//!
//! A [`DbLoader`] is made per request: its cache must not outlive the request, or it would
//! serve stale seat state.

use std::{collections::HashMap, sync::Arc};

use anyhow::Context as _;
use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use entities::seat_category;
use sea_orm::{
    ColumnTrait as _, DatabaseConnection, EntityTrait as _, QueryFilter as _, QueryOrder as _,
};

/// Key: one seat category by id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CategoryId(pub i64);

/// Key: all seat categories of one event, in display order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EventCategories(pub i64);

/// The loader type resolvers find in request data.
pub type RequestLoader = DataLoader<DbLoader, HashMapCache>;

/// Loads rows by key in batches.
pub struct DbLoader {
    db: DatabaseConnection,
}

impl DbLoader {
    /// A fresh loader for one request, caching what it loaded for that request only.
    pub fn for_request(db: DatabaseConnection) -> DataLoader<Self, HashMapCache> {
        DataLoader::with_cache(Self { db }, tokio::spawn, HashMapCache::default())
    }
}

/// Loader errors are shared between the waiting fields, hence `Arc`.
pub type LoadError = Arc<anyhow::Error>;

impl Loader<CategoryId> for DbLoader {
    type Value = seat_category::Model;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[CategoryId],
    ) -> Result<HashMap<CategoryId, Self::Value>, Self::Error> {
        let rows = seat_category::Entity::find()
            .filter(seat_category::Column::Id.is_in(keys.iter().map(|key| key.0)))
            .all(&self.db)
            .await
            .context("loading seat categories")
            .map_err(Arc::new)?;
        Ok(rows
            .into_iter()
            .map(|row| (CategoryId(row.id), row))
            .collect())
    }
}

impl Loader<EventCategories> for DbLoader {
    type Value = Vec<seat_category::Model>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[EventCategories],
    ) -> Result<HashMap<EventCategories, Self::Value>, Self::Error> {
        let rows = seat_category::Entity::find()
            .filter(seat_category::Column::EventId.is_in(keys.iter().map(|key| key.0)))
            .order_by_asc(seat_category::Column::SortOrder)
            .order_by_asc(seat_category::Column::Id)
            .all(&self.db)
            .await
            .context("loading events' seat categories")
            .map_err(Arc::new)?;
        let mut by_event: HashMap<EventCategories, Self::Value> =
            keys.iter().map(|key| (*key, Vec::new())).collect();
        for row in rows {
            by_event
                .entry(EventCategories(row.event_id))
                .or_default()
                .push(row);
        }
        Ok(by_event)
    }
}
