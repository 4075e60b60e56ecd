//! Inventory, from Postgres and the fans' own records: nobody was sold a seat twice, the
//! seat states agree with the bookings, every confirmed booking was paid exactly once, and
//! what each fan was told matches the database.

use std::collections::{BTreeMap, HashMap, HashSet};

use anyhow::Context as _;
use sea_orm::{ConnectionTrait as _, Statement};

use super::Audit;
use crate::{metrics::FanRecord, system::Store};

/// Seats by state and bookings by status at the end, for the report.
pub(super) async fn tallies(store: &Store) -> anyhow::Result<Audit> {
    Ok(Audit {
        seats: grouped(
            store,
            "SELECT status, count(*) FROM seats WHERE event_id = $1 GROUP BY status",
        )
        .await?,
        bookings: grouped(
            store,
            "SELECT status, count(*) FROM bookings WHERE event_id = $1 GROUP BY status",
        )
        .await?,
        ..Audit::default()
    })
}

/// No seat is in two confirmed bookings.
pub(super) async fn no_double_sale(audit: &mut Audit, store: &Store) -> anyhow::Result<()> {
    // Judged on bookings.status, not on the confirmed flag the unique index relies on.
    let doubled = count(
        store,
        "SELECT count(*) FROM (SELECT bs.seat_id FROM booking_seats bs \
         JOIN bookings b ON b.id = bs.booking_id \
         WHERE b.event_id = $1 AND b.status = 'CONFIRMED' \
         GROUP BY bs.seat_id HAVING count(*) > 1) doubled",
    )
    .await?;
    audit.check(
        "no seat in two confirmed bookings",
        doubled == 0,
        format!("{doubled} seats in more than one confirmed booking"),
    );
    Ok(())
}

/// Seats marked `BOOKED` are exactly the seats of confirmed bookings.
pub(super) async fn seat_states_agree(audit: &mut Audit, store: &Store) -> anyhow::Result<()> {
    let booked = count(
        store,
        "SELECT count(*) FROM seats WHERE event_id = $1 AND status = 'BOOKED'",
    )
    .await?;
    let in_bookings = count(
        store,
        "SELECT count(DISTINCT bs.seat_id) FROM booking_seats bs \
         JOIN bookings b ON b.id = bs.booking_id \
         WHERE b.event_id = $1 AND b.status = 'CONFIRMED'",
    )
    .await?;
    let stray = count(
        store,
        "SELECT count(*) FROM seats s LEFT JOIN bookings b ON b.id = s.booking_id \
         WHERE s.event_id = $1 AND s.status = 'BOOKED' \
         AND (b.status IS DISTINCT FROM 'CONFIRMED' OR NOT EXISTS (SELECT 1 FROM booking_seats bs \
              WHERE bs.booking_id = s.booking_id AND bs.seat_id = s.id))",
    )
    .await?;
    audit.check(
        "seats BOOKED = seats in confirmed bookings",
        booked == in_bookings && stray == 0,
        format!(
            "{booked} seats BOOKED, {in_bookings} seats in confirmed bookings, {stray} BOOKED seats not backed by their confirmed booking"
        ),
    );
    Ok(())
}

/// Every active hold holds exactly the seats it was taken for: none made without its seats.
pub(super) async fn holds_whole(audit: &mut Audit, store: &Store) -> anyhow::Result<()> {
    let short = count(
        store,
        "SELECT count(*) FROM holds h WHERE h.event_id = $1 AND h.status = 'ACTIVE' \
         AND h.seat_count <> (SELECT count(*) FROM seats s WHERE s.hold_id = h.id)",
    )
    .await?;
    audit.check(
        "every active hold holds exactly its seats",
        short == 0,
        format!("{short} active holds not holding exactly their seats"),
    );
    Ok(())
}

/// Every confirmed booking has exactly one succeeded payment.
pub(super) async fn paid_once(audit: &mut Audit, store: &Store) -> anyhow::Result<()> {
    let unpaid = count(
        store,
        "SELECT count(*) FROM bookings b WHERE b.event_id = $1 AND b.status = 'CONFIRMED' \
         AND (SELECT count(*) FROM payments p WHERE p.booking_id = b.id AND p.status = 'SUCCEEDED') <> 1",
    )
    .await?;
    audit.check(
        "every confirmed booking captured exactly once",
        unpaid == 0,
        format!("{unpaid} confirmed bookings without exactly one succeeded payment"),
    );
    Ok(())
}

/// The seats fans were told they bought are theirs in the database, and nobody else's.
pub(super) async fn fans_told_the_truth(
    audit: &mut Audit,
    store: &Store,
    fans: &[FanRecord],
) -> anyhow::Result<()> {
    let db = &store.db;
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT b.id::text, bs.seat_id FROM bookings b JOIN booking_seats bs ON bs.booking_id = b.id \
             WHERE b.event_id = $1 AND b.status = 'CONFIRMED'",
            [store.event.into()],
        ))
        .await
        .context("reading confirmed bookings")?;
    let mut confirmed: HashMap<String, Vec<i64>> = HashMap::new();
    for row in rows {
        confirmed
            .entry(row.try_get_by_index::<String>(0)?)
            .or_default()
            .push(row.try_get_by_index::<i64>(1)?);
    }
    let told: usize = fans.iter().filter(|fan| fan.booking.is_some()).count();
    let (missing, doubled_told) = fans_disagree(fans, &confirmed);
    audit.check(
        "what fans were told matches the database",
        missing == 0 && doubled_told == 0,
        format!(
            "{told} fans told they booked; {missing} of their seats not confirmed as theirs; {doubled_told} seats told to two fans"
        ),
    );
    // The other way round: a booking confirmed (and paid) that no fan heard of is a fan
    // charged while told it failed, e.g. when the instance that confirmed it died before
    // answering and the retry was refused.
    let untold = untold_bookings(fans, &confirmed);
    audit.check(
        "every confirmed booking was told to its fan",
        untold == 0,
        format!(
            "{} confirmed bookings; {untold} of them never told to the fan who paid",
            confirmed.len()
        ),
    );
    Ok(())
}

/// Confirmed bookings that no fan was told they made.
pub fn untold_bookings(fans: &[FanRecord], confirmed: &HashMap<String, Vec<i64>>) -> usize {
    let told: HashSet<&str> = fans
        .iter()
        .filter_map(|fan| fan.booking.as_deref())
        .collect();
    confirmed
        .keys()
        .filter(|booking| !told.contains(booking.as_str()))
        .count()
}

/// Seats the fans were told they bought that the database does not show as theirs, and
/// seats two fans were both told they bought.
pub fn fans_disagree(fans: &[FanRecord], confirmed: &HashMap<String, Vec<i64>>) -> (u64, u64) {
    let mut missing = 0;
    let mut owners: HashMap<i64, usize> = HashMap::new();
    for fan in fans {
        let Some(booking) = &fan.booking else {
            continue;
        };
        let in_db: HashSet<i64> = confirmed
            .get(booking)
            .map(|seats| seats.iter().copied().collect())
            .unwrap_or_default();
        for seat in &fan.seats {
            missing += u64::from(!in_db.contains(seat));
            *owners.entry(*seat).or_default() += 1;
        }
    }
    let doubled = owners.values().filter(|n| **n > 1).count() as u64;
    (missing, doubled)
}

/// The one number an audit query about the event returns.
async fn count(store: &Store, sql: &str) -> anyhow::Result<i64> {
    let db = &store.db;
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            [store.event.into()],
        ))
        .await
        .with_context(|| format!("audit query: {sql}"))?
        .context("an audit count returned no row")?;
    Ok(row.try_get_by_index::<i64>(0)?)
}

/// Counts by state from an audit query about the event.
async fn grouped(store: &Store, sql: &str) -> anyhow::Result<BTreeMap<String, i64>> {
    let db = &store.db;
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            [store.event.into()],
        ))
        .await
        .with_context(|| format!("audit query: {sql}"))?;
    let mut out = BTreeMap::new();
    for row in rows {
        out.insert(
            row.try_get_by_index::<String>(0)?,
            row.try_get_by_index::<i64>(1)?,
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fans_told_the_same_seat_are_caught() {
        let fan = |booking: &str, seats: Vec<i64>| FanRecord {
            booking: Some(booking.to_owned()),
            seats,
            ..FanRecord::default()
        };
        let fans = vec![
            fan("b1", vec![1, 2]),
            fan("b2", vec![2]),
            fan("b3", vec![9]),
        ];
        let confirmed: HashMap<String, Vec<i64>> =
            [("b1".to_owned(), vec![1, 2]), ("b2".to_owned(), vec![2])]
                .into_iter()
                .collect();

        // Seat 9 is not confirmed as b3's; seat 2 was told to two fans.
        assert_eq!(fans_disagree(&fans, &confirmed), (1, 1));
    }

    #[test]
    fn a_confirmed_booking_no_fan_heard_of_is_caught() {
        let told = FanRecord {
            booking: Some("b1".to_owned()),
            seats: vec![1],
            ..FanRecord::default()
        };
        // This fan paid, but the answer was lost and the retry refused: told nothing.
        let charged_unawares = FanRecord::default();
        let confirmed: HashMap<String, Vec<i64>> =
            [("b1".to_owned(), vec![1]), ("b2".to_owned(), vec![2, 3])]
                .into_iter()
                .collect();

        assert_eq!(
            untold_bookings(&[told.clone(), charged_unawares], &confirmed),
            1
        );
        assert_eq!(untold_bookings(&[told], &HashMap::new()), 0);
    }
}
