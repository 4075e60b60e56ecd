//! A booking's payments as its fan sees them (the payment flow itself is in
//! [`crate::payments`]).

use async_graphql::{Enum, ID, SimpleObject};
use chrono::{DateTime, Utc};
use entities::payment;

use crate::money::Money;

/// How the fan pays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum PaymentMethod {
    Card,
    Upi,
    NetBanking,
}

impl PaymentMethod {
    /// How the database spells the method.
    pub fn db(self) -> &'static str {
        match self {
            PaymentMethod::Card => "CARD",
            PaymentMethod::Upi => "UPI",
            PaymentMethod::NetBanking => "NET_BANKING",
        }
    }
}

/// Where a payment is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum PaymentStatus {
    Pending,
    Succeeded,
    Failed,
    Refunded,
}

/// One attempt to pay.
#[derive(Clone, Debug, SimpleObject)]
pub struct Payment {
    pub id: ID,
    pub method: PaymentMethod,
    pub status: PaymentStatus,
    pub amount: Money,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Builds the GraphQL payment from its row.
pub trait PaymentView {
    fn view(&self) -> Payment;
}

impl PaymentView for payment::Model {
    fn view(&self) -> Payment {
        Payment {
            id: ID(self.id.to_string()),
            method: match self.method {
                payment::PaymentMethod::Card => PaymentMethod::Card,
                payment::PaymentMethod::Upi => PaymentMethod::Upi,
                payment::PaymentMethod::NetBanking => PaymentMethod::NetBanking,
            },
            status: match self.status {
                payment::PaymentStatus::Pending => PaymentStatus::Pending,
                payment::PaymentStatus::Succeeded => PaymentStatus::Succeeded,
                payment::PaymentStatus::Failed => PaymentStatus::Failed,
                payment::PaymentStatus::Refunded => PaymentStatus::Refunded,
            },
            amount: Money::new(self.amount_minor, &self.currency),
            failure_code: self.failure_code.clone(),
            failure_message: self.failure_message.clone(),
            created_at: self.created_at,
        }
    }
}
