//! Accounts: a fan's sign-up (or sign-in when the account exists from an earlier run), and
//! the admin's session for the queue's controls.

use anyhow::{Context as _, bail};
use serde_json::{Value, json};

use super::{Fan, ops};
use crate::http::{ApiError, Http};

/// A fan's account and sign-in.
#[derive(Clone, Debug)]
pub struct Account {
    pub email: String,
    /// The user id as the queue spells it (32 hex digits).
    pub fan_key: String,
    /// The bearer token for the public schema.
    pub access_token: String,
}

/// The password every load-test account uses.
pub const PASSWORD: &str = "load-test-password-1";

/// A load-test fan's email.
pub fn email(run_id: &str, index: u32) -> String {
    format!("lt-{run_id}-{index}@load.test")
}

/// The account in a `register` or `login` answer.
fn account_from(email: String, payload: &Value) -> anyhow::Result<Account> {
    let id = payload["user"]["id"]
        .as_str()
        .context("sign-in without a user id")?;
    Ok(Account {
        email,
        fan_key: id.replace('-', ""),
        access_token: payload["accessToken"]
            .as_str()
            .context("sign-in without an access token")?
            .to_owned(),
    })
}

/// Creates an account (or signs in when it exists) and returns its session.
pub async fn sign_up(http: &Http, n: usize, op: &str, email: String) -> Result<Account, ApiError> {
    let register = http
        .gql(
            n,
            op,
            "/graphql",
            ops::REGISTER,
            json!({ "i": { "email": email, "password": PASSWORD, "displayName": "Load Test Fan" } }),
            None,
            &["EMAIL_TAKEN"],
        )
        .await;
    let payload = match register {
        Ok(data) => data["register"].clone(),
        Err(error) if error.code == "EMAIL_TAKEN" => http
            .gql(
                n,
                "login",
                "/graphql",
                ops::LOGIN,
                json!({ "e": email, "p": PASSWORD }),
                None,
                &[],
            )
            .await?["login"]
            .clone(),
        Err(error) => return Err(error),
    };
    account_from(email, &payload).map_err(|error| ApiError {
        code: "BAD_ANSWER".into(),
        message: error.to_string(),
        extensions: Value::Null,
    })
}

/// Signs in (registering first when needed) an account with its own password.
pub async fn admin_session(http: &Http, email: &str, password: &str) -> anyhow::Result<String> {
    let login = http
        .gql(
            0,
            "setup.admin",
            "/graphql",
            ops::LOGIN,
            json!({ "e": email, "p": password }),
            None,
            &["INVALID_CREDENTIALS"],
        )
        .await;
    let payload = match login {
        Ok(data) => data["login"].clone(),
        Err(error) if error.code == "INVALID_CREDENTIALS" => {
            http.gql(
                0,
                "setup.admin",
                "/graphql",
                ops::REGISTER,
                json!({ "i": { "email": email, "password": password, "displayName": "Load Test Admin" } }),
                None,
                &[],
            )
            .await
            .context("registering the admin (is its email in the API's ADMIN_EMAILS?)")?["register"]
                .clone()
        }
        Err(error) => return Err(error).context("signing in the admin"),
    };
    if payload["user"]["role"].as_str() != Some("ADMIN") {
        bail!("{email} is not an admin: add it to the API's ADMIN_EMAILS");
    }
    Ok(payload["accessToken"]
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

impl Fan<'_> {
    /// Signs up inside the journey (timed as `register`).
    pub async fn sign_up(&mut self, run_id: &str) -> bool {
        match sign_up(
            &self.env.http,
            self.n,
            "register",
            email(run_id, self.record.index),
        )
        .await
        {
            Ok(account) => {
                self.record.fan = account.fan_key.clone();
                self.account = Some(account);
                true
            }
            Err(_) => {
                self.end("signup_failed");
                false
            }
        }
    }
}
