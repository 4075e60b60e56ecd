//! Idempotency keys for creating mutations: the same key and input give the first result;
//! the same key with another input is `IDEMPOTENCY_KEY_REUSED`; a retry while the first is
//! still running is `IDEMPOTENCY_IN_PROGRESS`. Keys belong to a fan and last 24 hours.
//!
//! A first attempt that fails forgets its key, so a retry runs again: only successes are
//! remembered. A key left IN_PROGRESS by a crashed instance is taken over after a minute.
//! Where the work is one transaction, it records the key as done inside that transaction
//! ([`Claim::complete`]), so a crash between making a result and remembering it cannot let
//! a retry run the work a second time.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use anyhow::Context as _;
use chrono::{Duration, Utc};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use crate::{
    error::{ApiError, ApiResult},
    state::AppState,
};

/// What to do with a request.
#[derive(Clone, Debug, PartialEq)]
pub enum Begin {
    /// First time: run it, then [`complete`] or [`forget`].
    Fresh,
    /// Seen before: answer with this.
    Replay(Value),
}

/// A request's fingerprint: operation and canonical input.
pub fn fingerprint(operation: &str, input: &Value) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(operation.as_bytes());
    hasher.update([0]);
    hasher.update(input.to_string().as_bytes());
    hasher.finalize().to_vec()
}

/// Checks a key's shape.
pub fn validate(key: &str) -> ApiResult<()> {
    if key.is_empty() || key.len() > 255 {
        return Err(ApiError::BadUserInput(
            "`idempotencyKey` must have 1 to 255 characters.".into(),
        ));
    }
    Ok(())
}

/// Claims `key` for this request, or says how to answer it.
pub async fn begin(
    state: &AppState,
    user: Uuid,
    key: &str,
    operation: &str,
    input: &Value,
) -> ApiResult<Begin> {
    validate(key)?;
    let db = state.db();
    let hash = fingerprint(operation, input);
    let expires = Utc::now() + Duration::seconds(state.config().idempotency_ttl_secs);
    for _ in 0..2 {
        let inserted = db
            .execute_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                "INSERT INTO idempotency_records (user_id, key, operation, request_hash, status, expires_at) \
                 VALUES ($1, $2, $3, $4, 'IN_PROGRESS', $5) ON CONFLICT (user_id, key) DO NOTHING",
                [user.into(), key.into(), operation.into(), hash.clone().into(), expires.into()],
            ))
            .await
            .context("claiming an idempotency key")?;
        if inserted.rows_affected() == 1 {
            return Ok(Begin::Fresh);
        }
        let row = db
            .query_one_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                "SELECT operation, request_hash, status, response, expires_at < now() AS expired, \
                 created_at < now() - interval '1 minute' AS stale FROM idempotency_records \
                 WHERE user_id = $1 AND key = $2",
                [user.into(), key.into()],
            ))
            .await
            .context("reading an idempotency key")?;
        let Some(row) = row else { continue };
        let expired: bool = row.try_get("", "expired").context("expired")?;
        let status: String = row.try_get("", "status").context("status")?;
        let stale: bool = row.try_get("", "stale").context("stale")?;
        if expired || (status == "IN_PROGRESS" && stale) {
            forget(state, user, key).await?;
            continue;
        }
        let stored_operation: String = row.try_get("", "operation").context("operation")?;
        let stored_hash: Vec<u8> = row.try_get("", "request_hash").context("hash")?;
        if stored_operation != operation || stored_hash != hash {
            return Err(ApiError::IdempotencyKeyReused);
        }
        if status == "IN_PROGRESS" {
            return Err(ApiError::IdempotencyInProgress);
        }
        let response: Option<Value> = row.try_get("", "response").context("response")?;
        return Ok(Begin::Replay(response.unwrap_or(Value::Null)));
    }
    Err(ApiError::IdempotencyInProgress)
}

/// Whether `key` of `user` has a record now (read only: a refused one-statement request asks
/// whether its own key's first request won the seats).
pub async fn recorded(state: &AppState, user: Uuid, key: &str) -> ApiResult<bool> {
    let db = state.db();
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT 1 AS found FROM idempotency_records WHERE user_id = $1 AND key = $2",
            [user.into(), key.into()],
        ))
        .await
        .context("looking for an idempotency key")?;
    Ok(row.is_some())
}

/// A key this request has claimed; the work hands it to its transaction to record the result.
#[derive(Clone, Debug)]
pub struct Claim {
    user: Uuid,
    key: String,
    field: &'static str,
    done: Arc<AtomicBool>,
}

impl Claim {
    /// The claim a statement made itself (recorded IN_PROGRESS in the work's first statement).
    pub fn claimed(user: Uuid, key: &str, field: &'static str) -> Self {
        Self {
            user,
            key: key.to_owned(),
            field,
            done: Arc::default(),
        }
    }

    /// Whether the result has been recorded.
    pub fn is_done(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }

    /// Records `id` as the key's result on `conn` (the work's own transaction), so both
    /// commit together or neither does.
    pub async fn complete(&self, conn: &impl ConnectionTrait, id: Uuid) -> ApiResult<()> {
        conn.execute_raw(Statement::from_sql_and_values(
            conn.get_database_backend(),
            "UPDATE idempotency_records SET status = 'COMPLETED', response = $3 \
             WHERE user_id = $1 AND key = $2",
            [
                self.user.into(),
                self.key.clone().into(),
                serde_json::json!({ self.field: id }).into(),
            ],
        ))
        .await
        .context("completing an idempotency key")?;
        self.done.store(true, Ordering::Release);
        Ok(())
    }
}

/// Runs `run` once per key: a replay returns the id the first success recorded under
/// `field`; a failure forgets the key so a retry runs again. `run` should record its result
/// with [`Claim::complete`] inside its transaction; if it did not, it is recorded after.
pub async fn once<F, Fut>(
    state: &AppState,
    user: Uuid,
    key: &str,
    operation: &str,
    input: &Value,
    field: &'static str,
    run: F,
) -> ApiResult<Uuid>
where
    F: FnOnce(Claim) -> Fut,
    Fut: std::future::Future<Output = ApiResult<Uuid>>,
{
    match begin(state, user, key, operation, input).await? {
        Begin::Replay(response) => response[field]
            .as_str()
            .and_then(|id| Uuid::parse_str(id).ok())
            .ok_or_else(|| anyhow::anyhow!("an idempotency record without {field}").into()),
        Begin::Fresh => {
            let claim = Claim {
                user,
                key: key.to_owned(),
                field,
                done: Arc::default(),
            };
            let result = run(claim.clone()).await;
            match &result {
                Ok(id) if !claim.done.load(Ordering::Acquire) => {
                    claim.complete(state.db(), *id).await?;
                }
                Ok(_) => {}
                Err(_) => forget(state, user, key).await?,
            }
            result
        }
    }
}

/// Forgets a key (its request failed), so a retry runs again.
pub async fn forget(state: &AppState, user: Uuid, key: &str) -> ApiResult<()> {
    let db = state.db();
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        "DELETE FROM idempotency_records WHERE user_id = $1 AND key = $2",
        [user.into(), key.into()],
    ))
    .await
    .context("forgetting an idempotency key")?;
    Ok(())
}

/// Deletes keys past their 24 hours (run now and then by the workers).
pub async fn sweep(state: &AppState) -> ApiResult<u64> {
    let db = state.db();
    let done = db
        .execute_raw(Statement::from_string(
            db.get_database_backend(),
            "DELETE FROM idempotency_records WHERE expires_at < now()",
        ))
        .await
        .context("sweeping idempotency keys")?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn fingerprints_differ_by_operation_and_input() {
        let a = fingerprint("lockSeats", &json!({"seats": [1, 2]}));
        assert_eq!(a, fingerprint("lockSeats", &json!({"seats": [1, 2]})));
        assert_ne!(a, fingerprint("lockSeats", &json!({"seats": [1, 3]})));
        assert_ne!(a, fingerprint("createBooking", &json!({"seats": [1, 2]})));
    }

    #[test]
    fn keys_must_have_a_sane_length() {
        assert!(validate("k").is_ok());
        assert!(validate("").is_err());
        assert!(validate(&"k".repeat(256)).is_err());
    }
}
