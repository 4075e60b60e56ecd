//! The audit after every run, straight from Postgres and Redis and the fans' own records:
//! nobody was sold a seat twice, the seat states agree with the bookings, the admitted
//! count never went over the cap, nobody was let in out of turn, and the ETA band kept its
//! promise.
//!
//! - [`inventory`]: seats, bookings and payments in Postgres, and what fans were told.
//! - [`admissions`]: the admitted count against the cap, and Redis's admission records.
//! - [`order`]: admission order, by ticket number and by the fans' own clocks; no fan who
//!   joined lost their place.
//! - [`eta`]: the ETA band's top never rose more than 10% between a fan's updates.

mod admissions;
mod eta;
mod inventory;
mod order;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use admissions::cap_excess;
pub use inventory::fans_disagree;
pub use order::{causal_inversions, ticket_inversions};

use crate::{metrics::FanRecord, system::QueueSample, system::Store};

/// One check of the audit.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    pub passed: bool,
    /// What was measured, in words and numbers.
    pub detail: String,
}

/// The whole audit.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Audit {
    pub checks: Vec<Check>,
    /// Seats by state at the end (`AVAILABLE`, `HELD`, `BOOKED`).
    pub seats: BTreeMap<String, i64>,
    /// Bookings by status at the end.
    pub bookings: BTreeMap<String, i64>,
}

impl Audit {
    /// True when every check passed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|check| check.passed)
    }

    fn check(&mut self, name: &str, passed: bool, detail: String) {
        self.checks.push(Check {
            name: name.to_owned(),
            passed,
            detail,
        });
    }
}

/// Runs every check. `chaos` says faults were injected: promises that a stalled queue
/// excepts are then not judged.
pub async fn run(
    store: &Store,
    fans: &[FanRecord],
    samples: &[QueueSample],
    default_cap: i64,
    lottery: i64,
    chaos: bool,
) -> anyhow::Result<Audit> {
    let mut audit = inventory::tallies(store).await?;
    inventory::no_double_sale(&mut audit, store).await?;
    inventory::seat_states_agree(&mut audit, store).await?;
    inventory::holds_whole(&mut audit, store).await?;
    inventory::paid_once(&mut audit, store).await?;
    inventory::fans_told_the_truth(&mut audit, store, fans).await?;
    admissions::within_the_cap(&mut audit, samples, default_cap);
    admissions::records_agree(&mut audit, store).await?;
    order::in_turn(&mut audit, fans, lottery);
    order::kept_their_place(&mut audit, fans);
    eta::band_never_rose(&mut audit, fans, chaos);
    Ok(audit)
}
