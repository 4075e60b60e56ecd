//! The `seatAvailability` subscription: an event's seat changes as batches, ending when the
//! buyer's admission does. The batches come from this instance's seat hub
//! ([`crate::live::seats`]).

use std::time::Duration;

use async_graphql::{ID, SimpleObject};
use futures_util::Stream;
use tokio::sync::broadcast;

use super::SeatStatus;
use crate::{
    error::{ApiError, ApiResult},
    live::seats::{self, Batch},
    sale::Buyer,
    state::AppState,
    ws::SlotGuard,
};

/// One seat's new state.
#[derive(Clone, Debug, PartialEq, Eq, SimpleObject)]
pub struct SeatChange {
    pub seat_id: ID,
    pub status: SeatStatus,
    /// The seat's own version after the change: apply a change only if it is newer.
    pub version: i64,
}

/// A batch of changes for one event.
#[derive(Clone, Debug, SimpleObject)]
pub struct SeatChanges {
    pub event_id: ID,
    /// The event-wide sequence numbers this batch covers (inclusive). If `fromSequence` is
    /// not one more than the last batch's `toSequence`, something was missed: re-fetch.
    pub from_sequence: i64,
    pub to_sequence: i64,
    /// True when this subscriber fell behind and changes were dropped: re-fetch `seatMap`.
    pub resync: bool,
    pub changes: Vec<SeatChange>,
}

fn to_graphql(
    event: i64,
    from: i64,
    to: i64,
    resync: bool,
    changes: &[(i64, char, i64)],
) -> SeatChanges {
    SeatChanges {
        event_id: ID(event.to_string()),
        from_sequence: from,
        to_sequence: to,
        resync,
        changes: changes
            .iter()
            .map(|(id, status, version)| SeatChange {
                seat_id: ID(id.to_string()),
                status: match status {
                    'H' => SeatStatus::Held,
                    'B' => SeatStatus::Booked,
                    _ => SeatStatus::Available,
                },
                version: *version,
            })
            .collect(),
    }
}

/// A subscriber's stream of batches; it ends with `TOKEN_EXPIRED` when the buyer's admission
/// runs out and with `TOKEN_REVOKED` when it is ended early.
pub fn availability_stream(
    state: &AppState,
    event: i64,
    buyer: Option<Buyer>,
    slot: Option<SlotGuard>,
) -> impl Stream<Item = ApiResult<SeatChanges>> + use<> {
    let mut batches = seats::subscribe(state.seat_hub(), event);
    async_stream::stream! {
        let _slot = slot;
        let admission = buyer.and_then(|buyer| buyer.admission);
        let expires = admission.as_ref().map(|(_, exp)| *exp);
        let until_expiry = expires.map(|exp| {
            let left = (exp - chrono::Utc::now().timestamp()).max(0);
            tokio::time::Instant::now() + Duration::from_secs(left.unsigned_abs())
        });
        let expiry = async move {
            match until_expiry {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending::<()>().await,
            }
        };
        tokio::pin!(expiry);
        loop {
            tokio::select! {
                batch = batches.recv() => match batch {
                    Ok(batch) => match Batch::clone(&batch) {
                        Batch::Changes { from, to, changes } => yield Ok(to_graphql(event, from, to, false, &changes)),
                        Batch::Revoked(jti) => {
                            if admission.as_ref().is_some_and(|(mine, _)| *mine == jti) {
                                yield Err(ApiError::TokenRevoked);
                                return;
                            }
                        }
                    },
                    Err(broadcast::error::RecvError::Lagged(_)) => yield Ok(to_graphql(event, 0, 0, true, &[])),
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                () = &mut expiry => {
                    yield Err(ApiError::Token(tokens::TokenError::Expired));
                    return;
                }
            }
        }
    }
}
