//! Whether an event has seats left to sell: what the admission ticker reads once a second per
//! event, so that it stops admitting fans while no seat is free and tells those waiting why.
//! Three `EXISTS` probes on the seats' indexes: the cost does not grow with the event.

use std::sync::LazyLock;

use anyhow::Context as _;
use entities::seat::SeatStatus;
use sea_orm::{ConnectionTrait as _, DatabaseConnection, Statement};

use crate::{db::literal, queue_store::Supply};

/// $1 event: whether a seat is free now (available, or held by a hold that ran out), whether
/// one is in a live cart, and whether one is booked.
static SUPPLY: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT EXISTS (SELECT 1 FROM seats WHERE event_id = $1 AND status = {available}) \
             OR EXISTS (SELECT 1 FROM seats WHERE event_id = $1 AND status = {held} AND held_until <= now()) AS free, \
             EXISTS (SELECT 1 FROM seats WHERE event_id = $1 AND status = {held} AND held_until > now()) AS in_carts, \
             EXISTS (SELECT 1 FROM seats WHERE event_id = $1 AND status = {booked}) AS sold",
        available = literal(&SeatStatus::Available),
        held = literal(&SeatStatus::Held),
        booked = literal(&SeatStatus::Booked),
    )
});

/// What the inventory of `event` has left to sell now.
pub async fn supply(db: &DatabaseConnection, event: i64) -> anyhow::Result<Supply> {
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            SUPPLY.as_str(),
            [event.into()],
        ))
        .await
        .context("reading what is left to sell")?
        .context("the supply query answered no row")?;
    let free: bool = row.try_get("", "free")?;
    let in_carts: bool = row.try_get("", "in_carts")?;
    let sold: bool = row.try_get("", "sold")?;
    Ok(judge(free, in_carts, sold))
}

/// Free seats mean on sale; else seats in carts may still come back; else sold out. An event
/// with no seats at all stays on sale: nothing was sold, so nobody is told it sold out.
fn judge(free: bool, in_carts: bool, sold: bool) -> Supply {
    match (free, in_carts, sold) {
        (true, _, _) | (false, false, false) => Supply::OnSale,
        (false, true, _) => Supply::AllInCarts,
        (false, false, true) => Supply::SoldOut,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_free_seat_means_on_sale_and_carts_may_still_give_seats_back() {
        assert_eq!(judge(true, true, true), Supply::OnSale);
        assert_eq!(judge(true, false, false), Supply::OnSale);
        assert_eq!(judge(false, true, true), Supply::AllInCarts);
        assert_eq!(judge(false, true, false), Supply::AllInCarts);
        assert_eq!(judge(false, false, true), Supply::SoldOut);
    }

    #[test]
    fn an_event_without_seats_is_not_sold_out() {
        assert_eq!(judge(false, false, false), Supply::OnSale);
    }
}
