//! Whether an event has seats to sell, as the queue stores it (the ticker writes it from the
//! inventory; the admission script, the status replies and the messages read it).

use serde::{Deserialize, Serialize};

/// Whether an event has seats to sell, as the ticker last saw its inventory. While none is
/// free, admitting fans would only send them after seats they cannot have: the ticker admits
/// nobody, and waiting fans are told why.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Supply {
    /// Some seat is free (or the ticker has not looked yet).
    #[default]
    OnSale,
    /// Every unsold seat is in a fan's cart (held): some may come back when holds end.
    AllInCarts,
    /// Every seat is booked; only a cancellation brings one back.
    SoldOut,
}

impl Supply {
    /// How the supply is stored in the event's queue meta (`supply`).
    pub fn as_str(self) -> &'static str {
        match self {
            Supply::OnSale => "",
            Supply::AllInCarts => "carts",
            Supply::SoldOut => "sold_out",
        }
    }

    /// Reads a stored supply; `None` for a spelling no version wrote.
    pub fn parse(stored: &str) -> Option<Self> {
        [Supply::OnSale, Supply::AllInCarts, Supply::SoldOut]
            .into_iter()
            .find(|supply| supply.as_str() == stored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_supply_reads_back_as_stored_and_a_strange_spelling_is_refused() {
        for supply in [Supply::OnSale, Supply::AllInCarts, Supply::SoldOut] {
            assert_eq!(Supply::parse(supply.as_str()), Some(supply));
        }
        assert_eq!(Supply::parse("gone"), None);
    }
}
