//! Accounts on the public schema: sign-up, sign-in, token refresh, sign-out, and `me`.

pub mod passwords;
pub mod sessions;
pub mod throttle;

use anyhow::Context as _;
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entities::user;
use sea_orm::{
    ActiveModelTrait as _,
    ActiveValue::Set,
    EntityTrait as _, QueryFilter as _,
    sea_query::{Expr, ExprTrait as _, Func},
};
use uuid::Uuid;

use crate::{
    auth::AuthContext as _,
    context::ContextExt as _,
    db::is_unique_violation,
    error::{ApiError, ApiResult},
    state::AppState,
};

/// What a user may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum Role {
    Fan,
    Admin,
}

/// A signed-in user, as they see themselves.
#[derive(Clone, Debug, SimpleObject)]
pub struct User {
    pub id: ID,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
}

impl From<&user::Model> for User {
    fn from(model: &user::Model) -> Self {
        Self {
            id: ID(model.id.to_string()),
            email: model.email.clone(),
            display_name: model.display_name.clone(),
            role: match model.role {
                user::Role::Fan => Role::Fan,
                user::Role::Admin => Role::Admin,
            },
            created_at: model.created_at,
        }
    }
}

/// Tokens for a session: send the access token as `Authorization: Bearer`, and trade the
/// refresh token for a new pair before the access token expires.
#[derive(Clone, Debug, SimpleObject)]
pub struct AuthPayload {
    pub access_token: String,
    pub access_token_expires_at: DateTime<Utc>,
    /// Single use: each refresh returns a new one; using an old one ends the session.
    pub refresh_token: String,
    pub refresh_token_expires_at: DateTime<Utc>,
    pub user: User,
}

impl AuthPayload {
    fn new(user: &user::Model, session: sessions::Session) -> Self {
        Self {
            access_token: session.access_token,
            access_token_expires_at: session.access_expires_at,
            refresh_token: session.refresh_token,
            refresh_token_expires_at: session.refresh_expires_at,
            user: User::from(user),
        }
    }
}

/// Sign-up details.
#[derive(Clone, Debug, InputObject)]
pub struct RegisterInput {
    pub email: String,
    /// 8 to 128 characters.
    pub password: String,
    /// How the fan is greeted, 1 to 100 characters.
    pub display_name: String,
}

/// Account queries.
#[derive(Default)]
pub struct AccountsQuery;

#[Object]
impl AccountsQuery {
    /// The signed-in user; `UNAUTHENTICATED` without a valid access token.
    async fn me(&self, ctx: &Context<'_>) -> ApiResult<User> {
        let identity = ctx.identity()?;
        let state = ctx.api_data::<AppState>()?;
        let user = user::Entity::find_by_id(identity.user_id)
            .one(state.db())
            .await
            .context("loading the signed-in user")?
            .ok_or_else(|| ApiError::UserNotFound(identity.user_id.to_string()))?;
        Ok(User::from(&user))
    }
}

/// Account mutations.
#[derive(Default)]
pub struct AccountsMutation;

#[Object]
impl AccountsMutation {
    /// Creates an account and signs it in.
    // An argon2 hash costs ~1,000 times a plain field: priced so, the complexity limit bounds
    // it too (the guard already allows one per request).
    #[graphql(complexity = "1000 + child_complexity")]
    async fn register(&self, ctx: &Context<'_>, input: RegisterInput) -> ApiResult<AuthPayload> {
        let state = ctx.api_data::<AppState>()?;
        register(state, input).await
    }

    /// Signs in; repeated failures for one account are slowed down (`LOGIN_THROTTLED`).
    #[graphql(complexity = "1000 + child_complexity")]
    async fn login(
        &self,
        ctx: &Context<'_>,
        email: String,
        password: String,
    ) -> ApiResult<AuthPayload> {
        let state = ctx.api_data::<AppState>()?;
        login(state, &email, password).await
    }

    /// Trades a refresh token for a new pair of tokens.
    #[graphql(complexity = "100 + child_complexity")]
    async fn refresh(&self, ctx: &Context<'_>, refresh_token: String) -> ApiResult<AuthPayload> {
        let state = ctx.api_data::<AppState>()?;
        let (user, session) = sessions::rotate(state, &refresh_token).await?;
        Ok(AuthPayload::new(&user, session))
    }

    /// Ends the session the refresh token belongs to. Always true.
    async fn logout(&self, ctx: &Context<'_>, refresh_token: String) -> ApiResult<bool> {
        let state = ctx.api_data::<AppState>()?;
        sessions::end(state, &refresh_token).await?;
        Ok(true)
    }
}

fn cost(state: &AppState) -> passwords::Cost {
    passwords::Cost {
        memory_kib: state.config().argon2_memory_kib,
        iterations: state.config().argon2_iterations,
    }
}

fn is_admin_email(state: &AppState, email: &str) -> bool {
    state
        .config()
        .admin_emails
        .iter()
        .any(|admin| admin.trim().eq_ignore_ascii_case(email.trim()))
}

/// Validates and creates an account, then starts its session.
pub async fn register(state: &AppState, input: RegisterInput) -> ApiResult<AuthPayload> {
    let email = input.email.trim().to_owned();
    let display_name = input.display_name.trim().to_owned();
    validate_email(&email)?;
    let password_chars = input.password.chars().count();
    if !(8..=128).contains(&password_chars) {
        return Err(ApiError::BadUserInput(
            "The password must have 8 to 128 characters.".into(),
        ));
    }
    if display_name.is_empty() || display_name.chars().count() > 100 {
        return Err(ApiError::BadUserInput(
            "The display name must have 1 to 100 characters.".into(),
        ));
    }
    let password_hash = passwords::hash(input.password, cost(state)).await?;
    let now = Utc::now();
    let role = if is_admin_email(state, &email) {
        user::Role::Admin
    } else {
        user::Role::Fan
    };
    let created = user::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(email),
        password_hash: Set(password_hash),
        display_name: Set(display_name),
        role: Set(role),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(state.db())
    .await;
    let user = match created {
        Ok(user) => user,
        // The unique index on lower(email) decides, even between two racing sign-ups.
        Err(error) if is_unique_violation(&error, "users_email_lower_key") => {
            return Err(ApiError::EmailTaken);
        }
        Err(error) => return Err(anyhow::Error::new(error).context("creating a user").into()),
    };
    let session = sessions::start(state, &user).await?;
    Ok(AuthPayload::new(&user, session))
}

/// Checks credentials (throttled per account) and starts a session.
pub async fn login(state: &AppState, email: &str, password: String) -> ApiResult<AuthPayload> {
    let config = state.config();
    throttle::attempt(
        state.redis(),
        state.keys(),
        email,
        config.login_max_failures,
        config.login_lock_secs,
    )
    .await?;
    let found = user::Entity::find()
        .filter(
            Expr::expr(Func::lower(Expr::col(user::Column::Email)))
                .eq(Expr::val(email.trim().to_lowercase())),
        )
        .one(state.db())
        .await
        .context("finding a user by email")?;
    let ok = passwords::verify(
        password,
        found.as_ref().map(|user| user.password_hash.clone()),
        cost(state),
    )
    .await?;
    let Some(mut user) = found.filter(|_| ok) else {
        return Err(ApiError::InvalidCredentials);
    };
    throttle::succeeded(state.redis(), state.keys(), email).await?;
    if user.role == user::Role::Fan && is_admin_email(state, &user.email) {
        let mut promote: user::ActiveModel = user.clone().into();
        promote.role = Set(user::Role::Admin);
        promote.updated_at = Set(Utc::now());
        user = promote
            .update(state.db())
            .await
            .context("promoting an admin")?;
    }
    let session = sessions::start(state, &user).await?;
    Ok(AuthPayload::new(&user, session))
}

fn validate_email(email: &str) -> ApiResult<()> {
    let valid = email.len() <= 320
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !email.chars().any(char::is_whitespace);
    if valid {
        Ok(())
    } else {
        Err(ApiError::BadUserInput(
            "That does not look like an email address.".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::validate_email;

    #[test]
    fn email_addresses_are_checked_for_shape() {
        assert!(validate_email("fan@example.com").is_ok());
        for bad in [
            "",
            "fan",
            "@example.com",
            "fan@example",
            "fan@.com",
            "fan @example.com",
            "fan@example.",
        ] {
            assert!(validate_email(bad).is_err(), "{bad}");
        }
    }
}
