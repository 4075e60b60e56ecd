//! Buying, once admitted: seats from the map, a hold (trying again as others take seats
//! first), then what the fan's pay plan says: walk away, release, or book and pay, perhaps
//! after a declined card or a provider timeout.

use std::{
    collections::HashSet,
    time::{Duration, Instant},
};

use rand::{Rng as _, seq::IndexedRandom as _};
use serde_json::{Value, json};

use super::{Admission, Fan, PayPlan, SeatView, draw_plan, ops, payment_details};
use crate::{config::BuyArgs, http::ApiError, metrics::micros};

impl Fan<'_> {
    /// Chooses seats and buys them (or not), as the pay plan says.
    pub async fn buy(&mut self, admission: &Admission) {
        let Some(buy) = self.env.buy.clone() else {
            return;
        };
        let admitted_at = Instant::now();
        let Some(hold) = self.hold_seats(admission, &buy).await else {
            return;
        };
        self.count("fans.held");
        self.env
            .recorder
            .value("admission.to_hold", micros(admitted_at.elapsed()));
        let hold_id = hold["id"].as_str().unwrap_or_default().to_owned();
        let plan = draw_plan(&self.env.pay_mix, &mut self.rng);
        self.pause(buy.think_ms).await;
        match plan {
            PayPlan::WalkAway => {
                self.end("walked_away");
                return;
            }
            PayPlan::Release => {
                self.give_up(admission, &hold_id, "released").await;
                return;
            }
            _ => {}
        }
        let Some(booking_id) = self.book(admission, &hold_id).await else {
            return;
        };
        self.pause(buy.think_ms).await;
        if let Some(paid) = self
            .pay_as_planned(admission, &hold_id, &booking_id, plan, buy.think_ms)
            .await
        {
            self.booked(&paid, admitted_at);
        }
    }

    /// The map as the web client draws it: the event's layout file once (public, kept by the
    /// browser), then the states alone.
    async fn seat_map(&mut self, admission: &Admission) -> Option<SeatView> {
        if self.layout.is_none() {
            let path = format!("/events/{}/layout.json", self.env.event.id);
            let layout = self.env.http.get_json(self.n, "layout", &path).await.ok()?;
            self.layout = Some(std::sync::Arc::new(layout["runs"].clone()));
        }
        let answer = self
            .sale(admission, "seatStates", ops::SEAT_STATES, json!({}), &[])
            .await
            .ok()?;
        let runs = self.layout.as_deref().cloned().unwrap_or_default();
        let map = json!({ "runs": runs, "status": answer["seatStates"]["states"] });
        Some(SeatView::from_map(&map))
    }

    /// Picks seats for the party from the map and holds them, trying again as others take
    /// them first: the hold, or `None` when the visit ended instead.
    async fn hold_seats(&mut self, admission: &Admission, buy: &BuyArgs) -> Option<Value> {
        let Some(mut view) = self.seat_map(admission).await else {
            self.end_and_leave("sale_failed").await;
            return None;
        };
        let size = *buy.party_sizes.choose(&mut self.rng).unwrap_or(&1);
        let mut want = size.clamp(1, admission.seat_cap.max(1)) as usize;
        let mut taken: HashSet<i64> = HashSet::new();
        let mut empty_maps = 0;
        let mut attempts = 0;
        self.pause(buy.think_ms).await;
        loop {
            if attempts >= buy.max_attempts || tokio::time::Instant::now() >= self.env.deadline {
                self.end_and_leave("gave_up_seats").await;
                return None;
            }
            let Some(seats) = view.choose(want, &taken, &mut self.rng) else {
                if view.free_count(&taken) > 0 && want > 1 {
                    // Fewer seats left than the party: take what there is.
                    want = view.free_count(&taken);
                    continue;
                }
                empty_maps += 1;
                if empty_maps > buy.sold_out_checks {
                    self.end_and_leave("sold_out").await;
                    return None;
                }
                tokio::time::sleep(Duration::from_millis(500 + self.rng.random_range(0..1_000)))
                    .await;
                taken.clear();
                match self.seat_map(admission).await {
                    Some(fresh) => view = fresh,
                    None => {
                        self.end_and_leave("sale_failed").await;
                        return None;
                    }
                }
                continue;
            };
            attempts += 1;
            match self.lock(admission, &seats).await {
                Ok(hold) => return Some(hold),
                Err(error) if error.code == "SEAT_TAKEN" => {
                    mark_taken(&mut taken, &error, &seats);
                    if attempts % 3 == 0 {
                        // Others have moved on too: see the map as it is now.
                        if let Some(fresh) = self.seat_map(admission).await {
                            view = fresh;
                            taken.clear();
                        }
                    }
                    self.pause(buy.think_ms / 3.0).await;
                }
                Err(error) if error.code == "HOLD_LIMIT_EXCEEDED" && want > 1 => want -= 1,
                Err(_) => {
                    self.end_and_leave("hold_failed").await;
                    return None;
                }
            }
        }
    }

    /// `lockSeats` on `seats`: the hold, or why not.
    async fn lock(&self, admission: &Admission, seats: &[i64]) -> Result<Value, ApiError> {
        let ids: Vec<String> = seats.iter().map(i64::to_string).collect();
        let key = uuid::Uuid::new_v4().to_string();
        self.sale(
            admission,
            "lockSeats",
            ops::LOCK,
            json!({ "s": ids, "k": key }),
            &["SEAT_TAKEN"],
        )
        .await
        .map(|data| data["lockSeats"].clone())
    }

    /// `createBooking` for the hold: the booking's id, or `None` when the visit ended instead.
    async fn book(&mut self, admission: &Admission, hold_id: &str) -> Option<String> {
        let booking = match self
            .sale(
                admission,
                "createBooking",
                ops::BOOK,
                json!({ "h": hold_id, "k": uuid::Uuid::new_v4().to_string() }),
                &[],
            )
            .await
        {
            Ok(data) => data["createBooking"].clone(),
            Err(_) => {
                self.end_and_leave("booking_failed").await;
                return None;
            }
        };
        Some(booking["id"].as_str().unwrap_or_default().to_owned())
    }

    /// Pays as the plan says, a second time after a scripted decline or timeout when the
    /// plan retries: the payment's answer, or `None` when the fan gave up (and left).
    async fn pay_as_planned(
        &mut self,
        admission: &Admission,
        hold_id: &str,
        booking_id: &str,
        plan: PayPlan,
        think_ms: f64,
    ) -> Option<Value> {
        let methods = ["CARD", "UPI", "NET_BANKING"];
        let method = *methods.choose(&mut self.rng).unwrap_or(&"CARD");
        let first = match plan {
            PayPlan::DeclineRetry | PayPlan::DeclineGiveUp => "decline",
            PayPlan::TimeoutRetry => "timeout",
            _ => "success",
        };
        let mut paid = self.pay(admission, booking_id, method, first).await;
        if paid.is_none() {
            if plan == PayPlan::DeclineGiveUp || first == "success" {
                let outcome = if first == "success" {
                    "payment_failed"
                } else {
                    "declined_gave_up"
                };
                self.give_up(admission, hold_id, outcome).await;
                return None;
            }
            self.pause(think_ms).await;
            paid = self.pay(admission, booking_id, method, "success").await;
        }
        if paid.is_none() {
            self.give_up(admission, hold_id, "payment_failed").await;
        }
        paid
    }

    /// Keeps what the API confirmed: the booking and its seats, for the audit.
    fn booked(&mut self, paid: &Value, admitted_at: Instant) {
        self.record.booked_ms = Some(self.now_ms());
        self.record.booking = paid["booking"]["id"].as_str().map(str::to_owned);
        self.record.seats = paid["booking"]["seats"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|seat| seat["id"].as_str()?.parse().ok())
            .collect();
        self.env
            .recorder
            .count("seats.booked", self.record.seats.len() as u64);
        self.env
            .recorder
            .value("admission.to_booking", micros(admitted_at.elapsed()));
        self.count("fans.booked");
        self.end("booked");
    }

    /// Lets the hold go, leaves the line and ends the journey with `outcome`.
    async fn give_up(&mut self, admission: &Admission, hold_id: &str, outcome: &str) {
        let _ = self
            .sale(
                admission,
                "releaseSeats",
                ops::RELEASE,
                json!({ "h": hold_id }),
                &[],
            )
            .await;
        self.leave().await;
        self.end(outcome);
    }

    /// `confirmPayment` with details that make the provider answer `result`.
    async fn pay(
        &self,
        admission: &Admission,
        booking: &str,
        method: &str,
        result: &str,
    ) -> Option<Value> {
        let expected: &[&str] = match result {
            "decline" => &["PAYMENT_DECLINED"],
            "timeout" => &["PAYMENT_TIMEOUT"],
            _ => &[],
        };
        self.sale(
            admission,
            "confirmPayment",
            ops::PAY,
            json!({ "b": booking, "m": method, "d": payment_details(method, result), "k": uuid::Uuid::new_v4().to_string() }),
            expected,
        )
        .await
        .ok()
        .map(|data| data["confirmPayment"].clone())
    }
}

/// Marks the seats a `SEAT_TAKEN` names as taken; all of `tried` when it names none.
fn mark_taken(taken: &mut HashSet<i64>, error: &ApiError, tried: &[i64]) {
    for id in error.extensions["seatIds"].as_array().into_iter().flatten() {
        if let Some(id) = id.as_str().and_then(|id| id.parse().ok()) {
            taken.insert(id);
        }
    }
    if error.extensions["seatIds"]
        .as_array()
        .is_none_or(Vec::is_empty)
    {
        taken.extend(tried);
    }
}
