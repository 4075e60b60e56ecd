//! The event under test, looked up once before the run.

use anyhow::{Context as _, bail};
use serde_json::json;

use super::ops;
use crate::http::Http;

/// The event under test.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct EventInfo {
    pub id: i64,
    pub name: String,
    pub status: String,
    pub gate_enabled: bool,
    pub max_seats_per_fan: u32,
    pub sale_path: String,
}

impl EventInfo {
    /// Looks the event up by id or slug on the public schema.
    pub async fn find(http: &Http, id: Option<i64>, slug: Option<&str>) -> anyhow::Result<Self> {
        let data = match (id, slug) {
            (Some(id), _) => http
                .gql(
                    0,
                    "setup.event",
                    "/graphql",
                    ops::EVENT,
                    json!({ "id": id }),
                    None,
                    &[],
                )
                .await?["event"]
                .clone(),
            (None, Some(slug)) => http
                .gql(
                    0,
                    "setup.event",
                    "/graphql",
                    ops::EVENT_BY_SLUG,
                    json!({ "s": slug }),
                    None,
                    &[],
                )
                .await?["eventBySlug"]
                .clone(),
            (None, None) => bail!("name the event with --event ID or --event-slug SLUG"),
        };
        Ok(Self {
            id: data["id"]
                .as_str()
                .and_then(|id| id.parse().ok())
                .context("the event has no id")?,
            name: data["name"].as_str().unwrap_or_default().to_owned(),
            status: data["status"].as_str().unwrap_or_default().to_owned(),
            gate_enabled: data["gateEnabled"].as_bool().unwrap_or(true),
            max_seats_per_fan: data["maxSeatsPerFan"].as_u64().unwrap_or(4) as u32,
            sale_path: data["salePath"]
                .as_str()
                .map_or_else(|| "/sale/0/graphql".to_owned(), str::to_owned),
        })
    }
}
