//! Sign-in sessions: short access JWTs plus rotating refresh tokens, stored hashed.
//!
//! Every refresh spends its token and issues the next one in the same family. A spent (or
//! revoked) token presented again means it leaked: the whole family is revoked, ending the
//! thief's session and the fan's alike, and the fan signs in again.

use anyhow::Context as _;
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use entities::{refresh_token, user};
use rand::RngCore as _;
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, ConnectionTrait, EntityTrait as _,
    QueryFilter as _, TransactionTrait as _, sea_query::Expr,
};
use sha2::{Digest as _, Sha256};
use tokens::AccessClaims;
use uuid::Uuid;

use crate::{
    error::{ApiError, ApiResult},
    state::AppState,
};

/// A fresh pair of tokens for a user.
#[derive(Clone, Debug)]
pub struct Session {
    pub access_token: String,
    pub access_expires_at: DateTime<Utc>,
    pub refresh_token: String,
    pub refresh_expires_at: DateTime<Utc>,
}

fn role_name(role: user::Role) -> &'static str {
    match role {
        user::Role::Fan => "FAN",
        user::Role::Admin => "ADMIN",
    }
}

fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Signs an access token for `user`.
pub fn access_token(
    state: &AppState,
    user: &user::Model,
    now: DateTime<Utc>,
) -> (String, DateTime<Utc>) {
    let ttl = state.config().access_token_ttl_secs;
    let claims = AccessClaims::new(
        &user.id.to_string(),
        role_name(user.role),
        now.timestamp(),
        ttl,
    );
    (
        state.access_keys().sign(&claims),
        now + Duration::seconds(ttl),
    )
}

/// Starts a new session (a new family) for `user`.
pub async fn start(state: &AppState, user: &user::Model) -> ApiResult<Session> {
    issue(state, state.db(), user, Uuid::now_v7(), Utc::now()).await
}

async fn issue(
    state: &AppState,
    db: &impl ConnectionTrait,
    user: &user::Model,
    family: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<Session> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let refresh = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let refresh_expires_at = now + Duration::seconds(state.config().refresh_token_ttl_secs);
    refresh_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        family_id: Set(family),
        user_id: Set(user.id),
        token_hash: Set(hash(&refresh)),
        created_at: Set(now),
        expires_at: Set(refresh_expires_at),
        used_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(db)
    .await
    .context("storing a refresh token")?;
    let (access_token, access_expires_at) = access_token(state, user, now);
    Ok(Session {
        access_token,
        access_expires_at,
        refresh_token: refresh,
        refresh_expires_at,
    })
}

/// Spends a refresh token for the next pair; reuse revokes the family.
pub async fn rotate(state: &AppState, token: &str) -> ApiResult<(user::Model, Session)> {
    let now = Utc::now();
    let db = state.db();
    let row = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(hash(token)))
        .one(db)
        .await
        .context("finding a refresh token")?
        .ok_or(ApiError::InvalidRefreshToken)?;
    if row.revoked_at.is_some() || row.expires_at <= now {
        return Err(ApiError::InvalidRefreshToken);
    }
    if row.used_at.is_some() {
        revoke_family(db, row.family_id, now).await?;
        return Err(ApiError::RefreshTokenReused);
    }
    let tx = db.begin().await.context("starting a rotation")?;
    // Spent with a condition: of two concurrent refreshes with one token, one wins and the
    // other is treated as reuse.
    let spent = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
        .filter(refresh_token::Column::Id.eq(row.id))
        .filter(refresh_token::Column::UsedAt.is_null())
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(&tx)
        .await
        .context("spending a refresh token")?;
    if spent.rows_affected == 0 {
        drop(tx);
        revoke_family(db, row.family_id, now).await?;
        return Err(ApiError::RefreshTokenReused);
    }
    let user = user::Entity::find_by_id(row.user_id)
        .one(&tx)
        .await
        .context("loading the user")?
        .ok_or(ApiError::InvalidRefreshToken)?;
    let session = issue(state, &tx, &user, row.family_id, now).await?;
    tx.commit().await.context("committing a rotation")?;
    Ok((user, session))
}

/// Ends the session a refresh token belongs to (idempotent; unknown tokens are ignored).
pub async fn end(state: &AppState, token: &str) -> ApiResult<()> {
    let db = state.db();
    if let Some(row) = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(hash(token)))
        .one(db)
        .await
        .context("finding a refresh token")?
    {
        revoke_family(db, row.family_id, Utc::now()).await?;
    }
    Ok(())
}

async fn revoke_family(
    db: &impl ConnectionTrait,
    family: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(now))
        .filter(refresh_token::Column::FamilyId.eq(family))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await
        .context("revoking a refresh-token family")?;
    Ok(())
}
