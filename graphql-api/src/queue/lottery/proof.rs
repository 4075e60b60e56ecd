//! The lottery's proof, pure, so that anyone can check a draw without trusting us.
//!
//! Algorithm `sha256-sort-v1`:
//! - the **seed** is 32 random bytes, shown as 64 lowercase hex digits;
//! - the **commitment**, published before the presale closes, is `hex(SHA-256(seed))`;
//! - a fan's **entrant id** is the first 32 hex digits of
//!   `SHA-256("ticketing-lottery-entrant:" || event id || ":" || fan id)` (fan id: the
//!   account's UUID as 32 hex digits, no dashes); the fan sees it in `queueStatus`;
//! - the **order**: entrants sorted by `SHA-256(seed || entrant id as ASCII)`, ascending
//!   (bytewise), ties by entrant id. The first entrant gets ticket 1.
//!
//! A verifier holding the commitment published before the close checks that the revealed seed
//! hashes to it, that it was published before the close, and that the revealed list is in the
//! order the seed gives. Sorting by a keyed hash (rather than a shuffle driven by a random
//! generator) keeps the algorithm one line in any language.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

/// The name of the algorithm above, published with every draw.
pub const ALGORITHM: &str = "sha256-sort-v1";

/// `hex(SHA-256(seed))`: what is published before the presale closes.
pub fn commitment(seed: &[u8; 32]) -> String {
    hex::encode(Sha256::digest(seed))
}

/// The pseudonymous id under which a fan takes part in an event's lottery.
pub fn entrant_id(event: i64, fan: &str) -> String {
    let digest = Sha256::digest(format!("ticketing-lottery-entrant:{event}:{fan}"));
    hex::encode(&digest[..16])
}

fn draw_key(seed: &[u8; 32], entrant: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(seed);
    hasher.update(entrant.as_bytes());
    hasher.finalize().into()
}

/// The drawn order of `entrants` under `seed`.
pub fn order(seed: &[u8; 32], entrants: &[String]) -> Vec<String> {
    order_by(seed, entrants.iter().map(|entrant| (entrant.clone(), ())))
        .into_iter()
        .map(|(entrant, ())| entrant)
        .collect()
}

/// Entrants, each with what it stands for (a fan, say), in the order `seed` draws them: the
/// one rule both the draw and the verifier use.
pub fn order_by<T: Ord>(
    seed: &[u8; 32],
    entrants: impl IntoIterator<Item = (String, T)>,
) -> Vec<(String, T)> {
    let mut keyed: Vec<([u8; 32], String, T)> = entrants
        .into_iter()
        .map(|(entrant, item)| (draw_key(seed, &entrant), entrant, item))
        .collect();
    keyed.sort();
    keyed
        .into_iter()
        .map(|(_, entrant, item)| (entrant, item))
        .collect()
}

/// Parses a 64-hex-digit seed.
pub fn parse_seed(hex_seed: &str) -> Option<[u8; 32]> {
    hex::decode(hex_seed).ok()?.try_into().ok()
}

/// A draw as the public schema reveals it (the `lottery` query's fields, `entrants` in full).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reveal {
    pub algorithm: String,
    /// The commitment as published before the close (keep your own copy: that is the point).
    pub commitment: String,
    pub committed_at: DateTime<Utc>,
    /// When the presale closed (the sale opened).
    pub closes_at: DateTime<Utc>,
    pub seed: String,
    /// Entrant ids in drawn order.
    pub entrants: Vec<String>,
}

/// Why a revealed draw does not check out.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Flaw {
    #[error("the draw used algorithm `{0}`; this verifier knows `{ALGORITHM}` only")]
    UnknownAlgorithm(String),
    #[error("the seed is not 64 hex digits")]
    MalformedSeed,
    #[error("the seed does not hash to the commitment: SHA-256(seed) is {actual}")]
    SeedDoesNotMatchCommitment { actual: String },
    #[error("the commitment was made at {committed_at}, after the presale closed at {closes_at}")]
    CommittedAfterClose {
        committed_at: DateTime<Utc>,
        closes_at: DateTime<Utc>,
    },
    #[error("entrant {0} appears more than once")]
    Duplicate(String),
    #[error(
        "the list is not in the seed's order: rank {rank} is {listed}, the seed puts {drawn} there"
    )]
    OutOfOrder {
        rank: usize,
        listed: String,
        drawn: String,
    },
}

/// Checks a revealed draw against its commitment; on success every rank is the seed's.
pub fn verify(reveal: &Reveal) -> Result<(), Flaw> {
    if reveal.algorithm != ALGORITHM {
        return Err(Flaw::UnknownAlgorithm(reveal.algorithm.clone()));
    }
    let seed = parse_seed(&reveal.seed).ok_or(Flaw::MalformedSeed)?;
    let actual = commitment(&seed);
    if !actual.eq_ignore_ascii_case(&reveal.commitment) {
        return Err(Flaw::SeedDoesNotMatchCommitment { actual });
    }
    if reveal.committed_at >= reveal.closes_at {
        return Err(Flaw::CommittedAfterClose {
            committed_at: reveal.committed_at,
            closes_at: reveal.closes_at,
        });
    }
    let mut seen = std::collections::HashSet::with_capacity(reveal.entrants.len());
    if let Some(twice) = reveal
        .entrants
        .iter()
        .find(|entrant| !seen.insert(*entrant))
    {
        return Err(Flaw::Duplicate(twice.clone()));
    }
    let drawn = order(&seed, &reveal.entrants);
    match reveal
        .entrants
        .iter()
        .zip(&drawn)
        .position(|(listed, drawn)| listed != drawn)
    {
        Some(at) => Err(Flaw::OutOfOrder {
            rank: at + 1,
            listed: reveal.entrants[at].clone(),
            drawn: drawn[at].clone(),
        }),
        None => Ok(()),
    }
}

/// An entrant's ticket (1 for the first drawn), if listed.
pub fn rank_of(reveal: &Reveal, entrant: &str) -> Option<usize> {
    reveal
        .entrants
        .iter()
        .position(|listed| listed.eq_ignore_ascii_case(entrant))
        .map(|at| at + 1)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn entrants(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| entrant_id(7, &format!("{i:032x}")))
            .collect()
    }

    fn honest(n: usize) -> Reveal {
        let seed = [42u8; 32];
        let closes_at = Utc::now();
        Reveal {
            algorithm: ALGORITHM.into(),
            commitment: commitment(&seed),
            committed_at: closes_at - chrono::Duration::hours(1),
            closes_at,
            seed: hex::encode(seed),
            entrants: order(&seed, &entrants(n)),
        }
    }

    #[test]
    fn the_commitment_is_the_sha256_of_the_seed_bytes() {
        // SHA-256 of 32 zero bytes, from the standard's test vectors.
        assert_eq!(
            commitment(&[0u8; 32]),
            "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925"
        );
    }

    #[test]
    fn entrant_ids_are_stable_per_event_and_differ_across_events() {
        let fan = "0123456789abcdef0123456789abcdef";
        assert_eq!(entrant_id(1, fan), entrant_id(1, fan));
        assert_eq!(entrant_id(1, fan).len(), 32);
        assert_ne!(entrant_id(1, fan), entrant_id(2, fan));
    }

    #[test]
    fn the_order_is_a_permutation_that_the_seed_decides() {
        let all = entrants(1_000);
        let drawn = order(&[1u8; 32], &all);
        assert_eq!(
            drawn.iter().collect::<HashSet<_>>(),
            all.iter().collect::<HashSet<_>>()
        );
        assert_ne!(drawn, all, "a thousand entrants are never left in order");
        assert_ne!(drawn, order(&[2u8; 32], &all));
        let mut reversed = all.clone();
        reversed.reverse();
        assert_eq!(
            order(&[1u8; 32], &reversed),
            drawn,
            "input order is irrelevant"
        );
    }

    #[test]
    fn an_honest_draw_verifies_and_ranks_each_entrant() {
        let reveal = honest(200);
        assert_eq!(verify(&reveal), Ok(()));
        assert_eq!(rank_of(&reveal, &reveal.entrants[41]), Some(42));
        assert_eq!(rank_of(&reveal, "not-an-entrant"), None);
    }

    #[test]
    fn a_seed_changed_after_the_commitment_fails() {
        let mut reveal = honest(50);
        let other = [43u8; 32];
        reveal.seed = hex::encode(other);
        reveal.entrants = order(&other, &reveal.entrants);
        assert!(matches!(
            verify(&reveal),
            Err(Flaw::SeedDoesNotMatchCommitment { .. })
        ));
        reveal.seed = "xyz".into();
        assert_eq!(verify(&reveal), Err(Flaw::MalformedSeed));
    }

    #[test]
    fn a_tampered_list_fails() {
        let mut swapped = honest(50);
        swapped.entrants.swap(3, 9);
        assert!(matches!(
            verify(&swapped),
            Err(Flaw::OutOfOrder { rank: 4, .. })
        ));
        let mut doubled = honest(50);
        doubled.entrants[10] = doubled.entrants[11].clone();
        assert!(matches!(verify(&doubled), Err(Flaw::Duplicate(_))));
        let mut moved = honest(50);
        let last = moved.entrants.pop().expect("entrants");
        moved.entrants.insert(0, last);
        assert!(matches!(
            verify(&moved),
            Err(Flaw::OutOfOrder { rank: 1, .. })
        ));
    }

    #[test]
    fn a_commitment_made_after_the_close_proves_nothing() {
        let mut late = honest(5);
        late.committed_at = late.closes_at + chrono::Duration::seconds(1);
        assert!(matches!(
            verify(&late),
            Err(Flaw::CommittedAfterClose { .. })
        ));
        late.algorithm = "chacha20-shuffle-v0".into();
        assert!(matches!(verify(&late), Err(Flaw::UnknownAlgorithm(_))));
    }
}
