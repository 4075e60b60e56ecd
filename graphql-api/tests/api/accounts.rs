//! Sign-up, sign-in, rotating refresh tokens, throttling, and `me`.

use graphql_api::testing::{TestApp, first_error_code};
use serde_json::{Value, json};

const REGISTER: &str = "mutation($input: RegisterInput!) { register(input: $input) { accessToken refreshToken \
    accessTokenExpiresAt user { id email displayName role } } }";
const LOGIN: &str = "mutation($email: String!, $password: String!) { login(email: $email, password: $password) { \
    accessToken refreshToken user { id role } } }";
const REFRESH: &str =
    "mutation($token: String!) { refresh(refreshToken: $token) { accessToken refreshToken } }";
const ME: &str = "{ me { id email displayName role } }";

async fn register(app: &TestApp, email: &str, password: &str) -> Value {
    app.public(
        REGISTER,
        json!({ "input": { "email": email, "password": password, "displayName": "Priya" } }),
    )
    .await
}

#[tokio::test]
async fn a_fan_signs_up_signs_in_and_sees_themselves() {
    let app = TestApp::spawn().await;

    let registered = register(&app, "Priya@Example.com", "correct horse battery").await;
    let logged_in = app
        .public(
            LOGIN,
            json!({ "email": "priya@example.com", "password": "correct horse battery" }),
        )
        .await;
    let token = logged_in["data"]["login"]["accessToken"]
        .as_str()
        .expect("token")
        .to_owned();
    let me = app.public_as(&token, ME, json!({})).await;

    assert_eq!(
        registered["data"]["register"]["user"]["role"], "FAN",
        "{registered}"
    );
    assert_eq!(me["data"]["me"]["email"], "Priya@Example.com", "{me}");
    assert_eq!(
        me["data"]["me"]["id"],
        registered["data"]["register"]["user"]["id"]
    );
}

#[tokio::test]
async fn emails_are_unique_whatever_their_case() {
    let app = TestApp::spawn().await;
    register(&app, "fan@example.com", "password-one").await;

    let again = register(&app, "FAN@EXAMPLE.COM", "password-two").await;

    assert_eq!(first_error_code(&again), Some("EMAIL_TAKEN"), "{again}");
}

#[tokio::test]
async fn bad_sign_up_input_is_refused_and_creates_nothing() {
    let app = TestApp::spawn().await;

    for (email, password) in [
        ("not-an-email", "long enough pw"),
        ("fan@example.com", "short"),
        ("fan@example.com", &"x".repeat(200)),
    ] {
        let body = register(&app, email, password).await;
        assert_eq!(
            first_error_code(&body),
            Some("BAD_USER_INPUT"),
            "{email}: {body}"
        );
    }
    let ok = register(&app, "fan@example.com", "long enough pw").await;
    assert!(
        ok.get("errors").is_none(),
        "nothing half-made blocks a good sign-up: {ok}"
    );
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_answer() {
    let app = TestApp::spawn().await;
    register(&app, "fan@example.com", "right password").await;

    let wrong = app
        .public(
            LOGIN,
            json!({ "email": "fan@example.com", "password": "wrong password" }),
        )
        .await;
    let unknown = app
        .public(
            LOGIN,
            json!({ "email": "nobody@example.com", "password": "right password" }),
        )
        .await;

    assert_eq!(first_error_code(&wrong), Some("INVALID_CREDENTIALS"));
    assert_eq!(first_error_code(&unknown), Some("INVALID_CREDENTIALS"));
    assert_eq!(
        wrong["errors"][0]["message"],
        unknown["errors"][0]["message"]
    );
}

#[tokio::test]
async fn repeated_failed_sign_ins_are_slowed_down_even_for_the_right_password() {
    let app = TestApp::spawn_with(|config| {
        config.login_max_failures = 3;
        config.login_lock_secs = 30;
    })
    .await;
    register(&app, "fan@example.com", "right password").await;

    for _ in 0..3 {
        let body = app
            .public(
                LOGIN,
                json!({ "email": "fan@example.com", "password": "guess" }),
            )
            .await;
        assert_eq!(first_error_code(&body), Some("INVALID_CREDENTIALS"));
    }
    let locked = app
        .public(
            LOGIN,
            json!({ "email": "FAN@example.com", "password": "right password" }),
        )
        .await;

    assert_eq!(
        first_error_code(&locked),
        Some("LOGIN_THROTTLED"),
        "{locked}"
    );
    let retry = locked["errors"][0]["extensions"]["retryAfterSeconds"]
        .as_i64()
        .expect("retryAfterSeconds");
    assert!((1..=30).contains(&retry), "{retry}");
}

#[tokio::test]
async fn a_refresh_rotates_the_tokens_and_reuse_ends_the_whole_session() {
    let app = TestApp::spawn().await;
    let first = register(&app, "fan@example.com", "right password").await["data"]["register"]["refreshToken"]
        .as_str()
        .expect("refresh token")
        .to_owned();

    let rotated = app.public(REFRESH, json!({ "token": first })).await;
    let second = rotated["data"]["refresh"]["refreshToken"]
        .as_str()
        .expect("new refresh token")
        .to_owned();
    let reused = app.public(REFRESH, json!({ "token": first })).await;
    let after_reuse = app.public(REFRESH, json!({ "token": second })).await;

    assert_ne!(first, second);
    assert!(
        rotated["data"]["refresh"]["accessToken"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    assert_eq!(
        first_error_code(&reused),
        Some("REFRESH_TOKEN_REUSED"),
        "{reused}"
    );
    assert_eq!(
        first_error_code(&after_reuse),
        Some("INVALID_REFRESH_TOKEN"),
        "the family is revoked: {after_reuse}"
    );
}

#[tokio::test]
async fn logout_ends_the_session_and_unknown_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let refresh = register(&app, "fan@example.com", "right password").await["data"]["register"]["refreshToken"]
        .as_str()
        .expect("refresh token")
        .to_owned();

    let out = app
        .public(
            "mutation($t: String!) { logout(refreshToken: $t) }",
            json!({ "t": refresh }),
        )
        .await;
    let after = app.public(REFRESH, json!({ "token": refresh })).await;
    let junk = app.public(REFRESH, json!({ "token": "made-up" })).await;

    assert_eq!(out["data"]["logout"], true);
    assert_eq!(first_error_code(&after), Some("INVALID_REFRESH_TOKEN"));
    assert_eq!(first_error_code(&junk), Some("INVALID_REFRESH_TOKEN"));
}

#[tokio::test]
async fn me_needs_a_valid_access_token() {
    let app = TestApp::spawn().await;
    let expired = {
        let claims = tokens::AccessClaims::new(&uuid::Uuid::now_v7().to_string(), "FAN", 1_000, 60);
        app.instance.state.access_keys().sign(&claims)
    };

    let anonymous = app.public(ME, json!({})).await;
    let old = app.public_as(&expired, ME, json!({})).await;
    let forged = app
        .public_as("eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl", ME, json!({}))
        .await;
    let oversized = app.public_as(&"a".repeat(5_000), ME, json!({})).await;

    assert_eq!(first_error_code(&anonymous), Some("UNAUTHENTICATED"));
    assert_eq!(first_error_code(&old), Some("TOKEN_EXPIRED"));
    assert_eq!(first_error_code(&forged), Some("TOKEN_INVALID"));
    assert_eq!(first_error_code(&oversized), Some("TOKEN_INVALID"));
}

#[tokio::test]
async fn the_first_admin_comes_from_configuration() {
    let app =
        TestApp::spawn_with(|config| config.admin_emails = vec!["boss@example.com".into()]).await;

    let boss = register(&app, "Boss@Example.com", "right password").await;
    let fan = register(&app, "fan@example.com", "right password").await;

    assert_eq!(boss["data"]["register"]["user"]["role"], "ADMIN", "{boss}");
    assert_eq!(fan["data"]["register"]["user"]["role"], "FAN");
}
