//! Who a test's requests speak as: users, admission to a sale, and access tokens, made
//! directly instead of through sign-up, sign-in and the queue.

use fred::prelude::KeysInterface as _;
use sea_orm::{ConnectionTrait as _, Statement};

use super::TestApp;

impl TestApp {
    /// Makes sure a user row exists for `user` (holds and bookings belong to real users).
    pub async fn ensure_user(&self, user: uuid::Uuid) {
        self.db
            .connection
            .execute_raw(Statement::from_sql_and_values(
                self.db.connection.get_database_backend(),
                "INSERT INTO users (id, email, password_hash, display_name) VALUES ($1, $2, 'not-a-hash', 'Test fan') \
                 ON CONFLICT DO NOTHING",
                [user.into(), format!("{}@fans.test", user.simple()).into()],
            ))
            .await
            .expect("creating a user");
    }

    /// Admits `user` to `event` without queueing: the record the admission script would
    /// write, and the token the queue signs for it (the queue's own signing code), valid for
    /// the configured admission time; returns the token.
    pub async fn admit(&self, event_id: i64, user: uuid::Uuid) -> String {
        self.ensure_user(user).await;
        let state = &self.instance.state;
        let event = crate::events::find_event_by_id(state, event_id)
            .await
            .expect("event");
        let fan = tokens::store::fan_id(&user);
        let jti = uuid::Uuid::new_v4().simple().to_string();
        let ttl = state.config().admission_ttl_secs;
        let expires_ms = (chrono::Utc::now().timestamp() + ttl) * 1_000;
        let _: () = state
            .redis()
            .set(
                state.keys().admission(event_id, &jti),
                fan.as_str(),
                Some(fred::types::Expiration::EX(ttl)),
                None,
                false,
            )
            .await
            .expect("storing an admission record");
        crate::queue::admission(state, &event, &fan, &jti, expires_ms).token
    }

    /// An access token for `user` with `role` (`FAN` or `ADMIN`), as `login` would give.
    pub fn access_token(&self, user: uuid::Uuid, role: &str) -> String {
        let claims =
            tokens::AccessClaims::new(&user.to_string(), role, chrono::Utc::now().timestamp(), 900);
        self.instance.state.access_keys().sign(&claims)
    }
}
