//! The admin's controls of the event's queue: the admission rate and cap before the run,
//! the queue's stats before and after it, and the pause for `--open-after-joined`.

use serde_json::{Value, json};

use crate::{
    config::RunArgs,
    fan::{self, EventInfo, ops},
    http::Http,
};

/// The admin's controls of the event's queue.
pub(super) struct Admin {
    http: Http,
    token: String,
    event: String,
}

impl Admin {
    /// Signs the admin in, then applies `--admission-rate` and `--admission-capacity`.
    pub(super) async fn set_up(
        setup: &Http,
        run: &RunArgs,
        event: &EventInfo,
    ) -> anyhow::Result<Self> {
        let admin = Admin {
            token: fan::admin_session(setup, &run.admin_email, &run.admin_password).await?,
            http: setup.clone(),
            event: event.id.to_string(),
        };
        if let Some(rate) = run.admission_rate {
            admin
                .call(
                    "setup.rate",
                    ops::SET_RATE,
                    json!({ "e": admin.event, "r": rate }),
                )
                .await?;
        }
        if let Some(capacity) = run.admission_capacity {
            admin
                .call(
                    "setup.capacity",
                    ops::SET_CAPACITY,
                    json!({ "e": admin.event, "c": capacity }),
                )
                .await?;
        }
        Ok(admin)
    }

    async fn call(&self, op: &str, query: &str, vars: Value) -> anyhow::Result<Value> {
        Ok(self
            .http
            .gql(0, op, "/graphql", query, vars, Some(&self.token), &[])
            .await?)
    }

    /// The queue's stats (`queueStats`) now.
    pub(super) async fn stats(&self) -> anyhow::Result<Value> {
        Ok(self
            .call("setup.stats", ops::STATS, json!({ "e": self.event }))
            .await?["queueStats"]
            .clone())
    }

    /// Pauses admissions (`true`) or resumes them.
    pub(super) async fn pause(&self, paused: bool) -> anyhow::Result<()> {
        let query = if paused { ops::PAUSE } else { ops::RESUME };
        self.call("setup.pause", query, json!({ "e": self.event }))
            .await?;
        Ok(())
    }
}
