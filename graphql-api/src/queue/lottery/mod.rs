//! The presale lottery: fans who joined before the sale opened are ordered by a draw at
//! opening that anyone can check ([`proof`] holds the algorithm and the verifier).
//!
//! Before the sale opens the ticker [`commit`]s a secret seed per event and the public schema
//! shows its SHA-256 (the commitment). At opening the seed orders the presale fans' entrant ids;
//! the seed, the input (presale fans in sorted order) and the drawn order are written to
//! Postgres *before* the draw is committed to Redis, and from then on the public schema
//! reveals the seed and the ordered entrant ids. Of several instances racing to draw, the
//! first insert wins and every instance orders with what it recorded.

pub mod proof;
mod public;

use anyhow::Context as _;
use fred::prelude::Pool;
use rand::{SeedableRng as _, TryRngCore as _, seq::SliceRandom as _};
use rand_chacha::ChaCha20Rng;
use sea_orm::{ConnectionTrait as _, DatabaseConnection, Statement};

use tokens::store::QueueKeys;

pub use self::public::{Lottery, lottery};
use crate::queue_store;

/// The algorithm of draws made before commitments existed: a ChaCha20-driven shuffle of the
/// sorted fan ids. Kept so that such a draw, recorded but not yet committed to Redis when an
/// instance of this version takes over, is finished the way it was recorded.
const LEGACY_ALGORITHM: &str = "chacha20-shuffle-v0";

/// Shuffles `fans` (in the given order) with a seed, as draws of [`LEGACY_ALGORITHM`] did.
pub fn shuffle(fans: &[String], seed: [u8; 32]) -> Vec<String> {
    let mut drawn = fans.to_vec();
    drawn.shuffle(&mut ChaCha20Rng::from_seed(seed));
    drawn
}

pub use self::proof::parse_seed;

/// Commits an event's lottery seed if none is yet: a fresh secret seed whose hash the public
/// schema shows from now on. Returns the commitment in force.
pub async fn commit(db: &DatabaseConnection, event: i64) -> anyhow::Result<String> {
    Ok(committed(db, event).await?.1)
}

/// The event's committed (seed, commitment), committing a fresh seed first if none is yet.
async fn committed(db: &DatabaseConnection, event: i64) -> anyhow::Result<(String, String)> {
    let mut seed = [0u8; 32];
    rand::rngs::OsRng
        .try_fill_bytes(&mut seed)
        .context("reading the OS random source")?;
    let backend = db.get_database_backend();
    // One statement: the existing commitment wins, and is what comes back either way. The
    // no-op update (not DO NOTHING) returns the row an instance racing us committed, which
    // this statement's snapshot would not see.
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            "INSERT INTO lottery_commitments (event_id, seed, commitment) VALUES ($1, $2, $3) \
             ON CONFLICT (event_id) DO UPDATE SET event_id = lottery_commitments.event_id \
             RETURNING seed, commitment",
            [
                event.into(),
                hex::encode(seed).into(),
                proof::commitment(&seed).into(),
            ],
        ))
        .await
        .context("committing the lottery seed")?
        .context("the lottery commitment vanished")?;
    Ok((
        row.try_get("", "seed").context("reading the seed")?,
        row.try_get("", "commitment")
            .context("reading the commitment")?,
    ))
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
    // A seed committed before the close; an event that opened before the ticker saw it gets
    // one now (and its reveal says the commitment came late).
    let (seed_hex, _) = committed(db, event).await?;
    let seed = parse_seed(&seed_hex).context("a committed seed is not 64 hex digits")?;
    let drawn = proof::order_by(
        &seed,
        fans.iter()
            .map(|fan| (proof::entrant_id(event, fan), fan.clone())),
    );
    let backend = db.get_database_backend();
    let recorded_here = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            "INSERT INTO lottery_draws (event_id, seed, fans, fan_count, algorithm, entrants) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
            [
                event.into(),
                seed_hex.into(),
                fans.clone().into(),
                (fans.len() as i32).into(),
                proof::ALGORITHM.into(),
                drawn
                    .iter()
                    .map(|(entrant, _)| entrant.clone())
                    .collect::<Vec<_>>()
                    .into(),
            ],
        ))
        .await
        .context("recording the lottery draw")?
        .is_some();
    let order = if recorded_here {
        drawn.into_iter().map(|(_, fan)| fan).collect()
    } else {
        // Another instance recorded first: its seed, input and algorithm decide.
        recorded_order(db, event).await?
    };
    let drawn = queue_store::draw(redis, keys, order)
        .await
        .context("committing the lottery draw")?;
    if let Some(fans) = drawn {
        tracing::info!(event, fans, "presale lottery drawn");
    }
    // -1: another instance drew first.
    Ok(drawn.unwrap_or(-1))
}

/// The fans in the order of the draw another instance recorded.
async fn recorded_order(db: &DatabaseConnection, event: i64) -> anyhow::Result<Vec<String>> {
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT seed, fans, algorithm FROM lottery_draws WHERE event_id = $1",
            [event.into()],
        ))
        .await
        .context("reading the lottery draw")?
        .context("the lottery draw vanished")?;
    let seed_hex: String = row.try_get("", "seed").context("reading the seed")?;
    let recorded: Vec<String> = row.try_get("", "fans").context("reading the fans")?;
    let algorithm: String = row
        .try_get("", "algorithm")
        .context("reading the algorithm")?;
    let seed = parse_seed(&seed_hex).context("a recorded seed is not 64 hex digits")?;
    Ok(if algorithm == LEGACY_ALGORITHM {
        shuffle(&recorded, seed)
    } else {
        fans_in_order(event, &recorded, seed)
    })
}

/// The fans in the order the seed gives their entrant ids.
fn fans_in_order(event: i64, fans: &[String], seed: [u8; 32]) -> Vec<String> {
    proof::order_by(
        &seed,
        fans.iter()
            .map(|fan| (proof::entrant_id(event, fan), fan.clone())),
    )
    .into_iter()
    .map(|(_, fan)| fan)
    .collect()
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
    fn fans_are_ordered_as_their_entrant_ids_are() {
        let fans = fans(300);
        let seed = [9u8; 32];
        let drawn = fans_in_order(5, &fans, seed);
        let entrant_ids = |fans: &[String]| -> Vec<String> {
            fans.iter().map(|fan| proof::entrant_id(5, fan)).collect()
        };
        assert_eq!(
            entrant_ids(&drawn),
            proof::order(&seed, &entrant_ids(&fans))
        );
        assert_eq!(
            drawn.iter().collect::<HashSet<_>>(),
            fans.iter().collect::<HashSet<_>>()
        );
    }

    #[test]
    fn seeds_parse_from_64_hex_digits_only() {
        assert_eq!(parse_seed(&"ab".repeat(32)), Some([0xab; 32]));
        assert_eq!(parse_seed("abc"), None);
        assert_eq!(parse_seed(&"zz".repeat(32)), None);
    }
}
