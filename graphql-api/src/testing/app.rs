//! A test's whole world, and the requests a test sends it.

use serde_json::{Value, json};

use super::{TestDb, TestInstance, TestRedis, test_config};
use crate::{config::Config, seed};

/// A test's whole world: its own database and Redis prefix, and one API instance on them.
pub struct TestApp {
    pub instance: TestInstance,
    pub http: reqwest::Client,
    // Dropped last: instances close their pools before their database goes.
    pub redis: TestRedis,
    pub db: TestDb,
}

impl TestApp {
    /// A fresh world with one instance on default test configuration.
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// A fresh world with one instance whose configuration `configure` adjusts.
    pub async fn spawn_with(configure: impl FnOnce(&mut Config)) -> Self {
        Self::spawn_on(TestDb::new().await, configure).await
    }

    /// A world on a database made by the caller (on a private server, say), with one
    /// instance whose configuration `configure` adjusts.
    pub async fn spawn_on(db: TestDb, configure: impl FnOnce(&mut Config)) -> Self {
        let redis = TestRedis::new();
        let mut config = test_config(&db, &redis);
        configure(&mut config);
        let instance = TestInstance::start(config).await;
        Self {
            instance,
            http: reqwest::Client::new(),
            redis,
            db,
        }
    }

    /// Another instance on the same database and Redis prefix.
    pub async fn spawn_instance(&self, configure: impl FnOnce(&mut Config)) -> TestInstance {
        let mut config = test_config(&self.db, &self.redis);
        configure(&mut config);
        TestInstance::start(config).await
    }

    /// The first instance's base URL.
    pub fn base_url(&self) -> String {
        self.instance.base_url()
    }

    /// Loads a new stadium event with `seats` seats (ON_SALE, demo prices, its own slug);
    /// returns its id.
    pub async fn seed_event(&self, seats: u32) -> i64 {
        let mut spec = seed::load_test_spec(seats);
        spec.slug = format!("test-{seats}-{}", uuid::Uuid::new_v4().simple());
        seed::seed_event(&self.db.connection, &spec)
            .await
            .expect("seeding an event")
            .event_id
    }

    /// POSTs a query to the public schema; returns the JSON body.
    pub async fn public(&self, query: &str, variables: Value) -> Value {
        self.post_json(
            "/graphql",
            &json!({ "query": query, "variables": variables }),
        )
        .await
        .1
    }

    /// POSTs a query to an event's sale schema; returns the JSON body.
    pub async fn sale(&self, event_id: i64, query: &str, variables: Value) -> Value {
        let token = self.admit(event_id, uuid::Uuid::new_v4()).await;
        self.sale_as(&token, event_id, query, variables).await
    }

    /// POSTs a query to an event's sale schema with a bearer token; returns the JSON body.
    pub async fn sale_as(
        &self,
        token: &str,
        event_id: i64,
        query: &str,
        variables: Value,
    ) -> Value {
        let body = json!({ "query": query, "variables": variables });
        self.post_json_as(Some(token), &format!("/sale/{event_id}/graphql"), &body)
            .await
            .1
    }

    /// POSTs any JSON to a path; returns the status and JSON body.
    pub async fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        self.post_json_as(None, path, body).await
    }

    /// POSTs any JSON to a path, with a bearer token when given; returns the status and JSON
    /// body.
    pub async fn post_json_as(
        &self,
        token: Option<&str>,
        path: &str,
        body: &Value,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base_url()))
            .json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("sending a request");
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON body"))
    }

    /// POSTs a query to the public schema with a bearer token; returns the JSON body.
    pub async fn public_as(&self, token: &str, query: &str, variables: Value) -> Value {
        let body = json!({ "query": query, "variables": variables });
        self.post_json_as(Some(token), "/graphql", &body).await.1
    }
}
