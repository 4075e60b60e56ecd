//! Password hashing with argon2id, off the async threads (hashing is deliberately slow).

use anyhow::Context as _;
use argon2::{
    Algorithm, Argon2, Params, Version,
    password_hash::{
        PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString, rand_core::OsRng,
    },
};

/// Cost settings for new hashes (old hashes verify with the settings they record).
#[derive(Clone, Copy, Debug)]
pub struct Cost {
    pub memory_kib: u32,
    pub iterations: u32,
}

fn hasher(cost: Cost) -> anyhow::Result<Argon2<'static>> {
    let params = Params::new(cost.memory_kib, cost.iterations, 1, None)
        .map_err(|error| anyhow::anyhow!("argon2 parameters: {error}"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a password into a PHC string.
pub async fn hash(password: String, cost: Cost) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        hasher(cost)?
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|error| anyhow::anyhow!("hashing a password: {error}"))
    })
    .await
    .context("the hashing task failed")?
}

/// Checks a password against a stored PHC string; `None` runs a dummy check instead, so an
/// unknown email takes as long as a wrong password.
pub async fn verify(password: String, stored: Option<String>, cost: Cost) -> anyhow::Result<bool> {
    tokio::task::spawn_blocking(move || {
        let Some(stored) = stored else {
            let salt = SaltString::generate(&mut OsRng);
            let _ = hasher(cost)?.hash_password(password.as_bytes(), &salt);
            return Ok(false);
        };
        let parsed =
            PasswordHash::new(&stored).map_err(|error| anyhow::anyhow!("stored hash: {error}"))?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .context("the verifying task failed")?
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP: Cost = Cost {
        memory_kib: 1024,
        iterations: 1,
    };

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_nothing_else() {
        let stored = hash("correct horse".into(), CHEAP).await.expect("hash");

        assert!(stored.starts_with("$argon2id$"));
        assert!(
            verify("correct horse".into(), Some(stored.clone()), CHEAP)
                .await
                .expect("verify")
        );
        assert!(
            !verify("wrong horse".into(), Some(stored), CHEAP)
                .await
                .expect("verify")
        );
        assert!(!verify("anything".into(), None, CHEAP).await.expect("dummy"));
    }
}
