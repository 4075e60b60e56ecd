//! The presale lottery: fans who joined before the sale opened are shuffled at opening.
//!
//! The shuffle is Fisher-Yates driven by ChaCha20 from a 32-byte seed drawn from the OS.
//! The seed and the input (presale fans in sorted order) are written to Postgres *before*
//! the draw is committed to Redis, so the draw can be redone and checked after the sale:
//! `shuffle(sorted_fans, seed)` gives the committed order. Of several instances racing to
//! draw, the first insert wins and every instance shuffles with that seed.

use anyhow::Context as _;
use fred::prelude::Pool;
use rand::{SeedableRng as _, TryRngCore as _, seq::SliceRandom as _};
use rand_chacha::ChaCha20Rng;
use sea_orm::{ConnectionTrait as _, DatabaseConnection, Statement};

use tokens::store::QueueKeys;

use crate::queue_store;

/// Shuffles `fans` (in the given order) with a seed: the same inputs give the same output.
pub fn shuffle(fans: &[String], seed: [u8; 32]) -> Vec<String> {
    let mut drawn = fans.to_vec();
    drawn.shuffle(&mut ChaCha20Rng::from_seed(seed));
    drawn
}

/// Parses a 64-hex-digit seed.
pub fn parse_seed(hex_seed: &str) -> Option<[u8; 32]> {
    hex::decode(hex_seed).ok()?.try_into().ok()
}

/// Draws the lottery of an event if nobody has yet; returns the number of lottery fans, or
/// -1 when the event was drawn already.
pub async fn draw(
    db: &DatabaseConnection,
    redis: &Pool,
    keys: &QueueKeys,
    event: i64,
) -> anyhow::Result<i64> {
    let mut fans = queue_store::presale_fans(redis, keys).await?;
    fans.sort();
    let mut seed = [0u8; 32];
    rand::rngs::OsRng
        .try_fill_bytes(&mut seed)
        .context("reading the OS random source")?;
    let backend = db.get_database_backend();
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        "INSERT INTO lottery_draws (event_id, seed, fans, fan_count) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (event_id) DO NOTHING",
        [
            event.into(),
            hex::encode(seed).into(),
            fans.clone().into(),
            (fans.len() as i32).into(),
        ],
    ))
    .await
    .context("recording the lottery draw")?;
    // Whoever inserted first decides the seed and the input.
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            "SELECT seed, fans FROM lottery_draws WHERE event_id = $1",
            [event.into()],
        ))
        .await
        .context("reading the lottery draw")?
        .context("the lottery draw vanished")?;
    let seed_hex: String = row.try_get("", "seed").context("reading the seed")?;
    let recorded: Vec<String> = row.try_get("", "fans").context("reading the fans")?;
    let seed = parse_seed(&seed_hex).context("a recorded seed is not 64 hex digits")?;
    let order = shuffle(&recorded, seed);
    let drawn = queue_store::draw(redis, keys, order)
        .await
        .context("committing the lottery draw")?;
    if let Some(fans) = drawn {
        tracing::info!(event, fans, seed = %seed_hex, "presale lottery drawn");
    }
    // -1: another instance drew first.
    Ok(drawn.unwrap_or(-1))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn fans(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("{i:032x}")).collect()
    }

    #[test]
    fn the_same_seed_and_fans_give_the_same_order() {
        let seed = [7u8; 32];
        assert_eq!(shuffle(&fans(100), seed), shuffle(&fans(100), seed));
    }

    #[test]
    fn a_draw_is_a_permutation_of_its_fans() {
        let drawn = shuffle(&fans(1_000), [1u8; 32]);
        assert_eq!(drawn.len(), 1_000);
        assert_eq!(
            drawn.iter().collect::<HashSet<_>>(),
            fans(1_000).iter().collect::<HashSet<_>>()
        );
        assert_ne!(
            drawn,
            fans(1_000),
            "a thousand fans are never left in order"
        );
    }

    #[test]
    fn different_seeds_give_different_orders() {
        assert_ne!(
            shuffle(&fans(100), [1u8; 32]),
            shuffle(&fans(100), [2u8; 32])
        );
    }

    #[test]
    fn seeds_parse_from_64_hex_digits_only() {
        assert_eq!(parse_seed(&"ab".repeat(32)), Some([0xab; 32]));
        assert_eq!(parse_seed("abc"), None);
        assert_eq!(parse_seed(&"zz".repeat(32)), None);
    }
}
