//! The pages only the `journey` scenario reads around the sale: the public listings before
//! joining, and the bookings page after buying.

use serde_json::json;

use super::{Fan, ops};

impl Fan<'_> {
    /// The public pages a fan reads before joining (journey).
    pub async fn look_around(&mut self) {
        let _ = self.public("events", ops::EVENTS, json!({}), &[]).await;
        self.pause(self.env.browse_think_ms).await;
        let _ = self
            .public(
                "event",
                ops::EVENT,
                json!({ "id": self.env.event.id.to_string() }),
                &[],
            )
            .await;
        self.pause(self.env.browse_think_ms).await;
    }

    /// Looks at the bookings page (journey's last step).
    pub async fn my_bookings(&self) {
        let _ = self
            .public("myBookings", ops::MY_BOOKINGS, json!({}), &[])
            .await;
    }
}
