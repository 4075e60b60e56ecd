//! The simulated payment provider: which test values approve, decline or time out (the
//! table is in `docs/sale-api.md`), and the shape checks a real provider would make.

use std::time::Duration;

use chrono::{DateTime, Datelike as _, Utc};
use uuid::Uuid;

use super::{PaymentDetailsInput, PaymentMethod};
use crate::error::{ApiError, ApiResult};

/// What the (simulated) provider answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Approved { provider_ref: String },
    Declined { code: String, message: String },
    TimedOut,
}

const BANKS: &[&str] = &["SBIN", "HDFC", "ICIC", "UTIB", "KKBK"];

fn luhn_valid(digits: &str) -> bool {
    let mut sum = 0;
    for (i, c) in digits.chars().rev().enumerate() {
        let Some(mut d) = c.to_digit(10) else {
            return false;
        };
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum % 10 == 0
}

/// Checks the details of the chosen method; returns a normalized test value to simulate on.
pub fn validate(
    method: PaymentMethod,
    details: &PaymentDetailsInput,
    today: DateTime<Utc>,
) -> ApiResult<String> {
    let invalid = |message: &str| ApiError::InvalidPaymentDetails(message.to_owned());
    match method {
        PaymentMethod::Card => {
            let card = details
                .card
                .as_ref()
                .ok_or_else(|| invalid("Card details are missing."))?;
            let digits: String = card
                .number
                .chars()
                .filter(|c| !c.is_whitespace() && *c != '-')
                .collect();
            if !(12..=19).contains(&digits.len()) || !luhn_valid(&digits) {
                return Err(invalid("That card number is not valid; check the digits."));
            }
            if !(1..=12).contains(&card.expiry_month) {
                return Err(invalid("The expiry month must be between 1 and 12."));
            }
            let (year, month) = (today.year(), today.month() as i32);
            let expiry_year = if card.expiry_year < 100 {
                2000 + card.expiry_year
            } else {
                card.expiry_year
            };
            if expiry_year < year
                || (expiry_year == year && card.expiry_month < month)
                || expiry_year > year + 20
            {
                return Err(invalid(
                    "This card has expired (or the expiry date is not valid).",
                ));
            }
            if !(3..=4).contains(&card.cvv.len()) || !card.cvv.chars().all(|c| c.is_ascii_digit()) {
                return Err(invalid("The CVV is the 3 or 4 digits on the card."));
            }
            if card.holder_name.trim().is_empty() || card.holder_name.len() > 100 {
                return Err(invalid("Enter the name on the card."));
            }
            Ok(digits)
        }
        PaymentMethod::Upi => {
            let upi = details
                .upi
                .as_ref()
                .ok_or_else(|| invalid("The UPI ID is missing."))?;
            let vpa = upi.vpa.trim().to_lowercase();
            let valid = vpa.len() <= 100
                && vpa.split_once('@').is_some_and(|(name, bank)| {
                    !name.is_empty()
                        && !bank.is_empty()
                        && vpa
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || ".-_@".contains(c))
                });
            if !valid {
                return Err(invalid("A UPI ID looks like name@bank."));
            }
            Ok(vpa)
        }
        PaymentMethod::NetBanking => {
            let bank = details
                .net_banking
                .as_ref()
                .ok_or_else(|| invalid("Choose a bank."))?;
            let code = bank.bank_code.trim().to_uppercase();
            if !BANKS.contains(&code.as_str()) && code != "FAIL" && code != "SLOW" {
                return Err(invalid("We do not support that bank for net banking yet."));
            }
            Ok(code)
        }
    }
}

/// Asks the (simulated) provider and waits as long as it makes us wait: `timeout` for the
/// test values that time out. The wait is the provider's, not the sale path's.
pub async fn ask(method: PaymentMethod, value: &str, timeout: Duration) -> Outcome {
    match simulate(method, value) {
        Outcome::TimedOut => {
            crate::sale_health::waiting_on_others(tokio::time::sleep(timeout)).await;
            Outcome::TimedOut
        }
        other => other,
    }
}

/// The simulated provider's answer for a normalized test value.
pub fn simulate(method: PaymentMethod, value: &str) -> Outcome {
    let declined = |message: &str| Outcome::Declined {
        code: "PAYMENT_DECLINED".into(),
        message: message.into(),
    };
    match (method, value) {
        (PaymentMethod::Card, "4000000000000002") => declined("Your bank declined the card."),
        (PaymentMethod::Card, "4000000000000119")
        | (PaymentMethod::Upi, "timeout@upi")
        | (PaymentMethod::NetBanking, "SLOW") => Outcome::TimedOut,
        (PaymentMethod::Upi, "failure@upi") => declined("The UPI payment was declined."),
        (PaymentMethod::NetBanking, "FAIL") => declined("Your bank declined the transfer."),
        _ => Outcome::Approved {
            provider_ref: format!("sim_{}", Uuid::new_v4().simple()),
        },
    }
}

/// Sale-schema payment mutations.
#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;
    use crate::payments::{CardInput, NetBankingInput, UpiInput};

    fn card(number: &str) -> PaymentDetailsInput {
        PaymentDetailsInput {
            card: Some(CardInput {
                number: number.into(),
                expiry_month: 12,
                expiry_year: 2030,
                cvv: "123".into(),
                holder_name: "Priya".into(),
            }),
            upi: None,
            net_banking: None,
        }
    }

    fn today() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 0, 0, 0)
            .single()
            .unwrap_or_default()
    }

    #[test]
    fn test_cards_succeed_decline_and_time_out_as_documented() {
        let outcome = |number: &str| {
            let value = validate(PaymentMethod::Card, &card(number), today()).expect("valid");
            simulate(PaymentMethod::Card, &value)
        };
        assert!(matches!(
            outcome("4111 1111 1111 1111"),
            Outcome::Approved { .. }
        ));
        assert!(matches!(
            outcome("4000 0000 0000 0002"),
            Outcome::Declined { .. }
        ));
        assert_eq!(outcome("4000-0000-0000-0119"), Outcome::TimedOut);
    }

    #[test]
    fn upi_and_net_banking_test_values_behave_as_documented() {
        let upi = |vpa: &str| PaymentDetailsInput {
            card: None,
            upi: Some(UpiInput { vpa: vpa.into() }),
            net_banking: None,
        };
        let bank = |code: &str| PaymentDetailsInput {
            card: None,
            upi: None,
            net_banking: Some(NetBankingInput {
                bank_code: code.into(),
            }),
        };
        let run = |method, details: PaymentDetailsInput| {
            simulate(method, &validate(method, &details, today()).expect("valid"))
        };
        assert!(matches!(
            run(PaymentMethod::Upi, upi("fan@okicici")),
            Outcome::Approved { .. }
        ));
        assert!(matches!(
            run(PaymentMethod::Upi, upi("failure@upi")),
            Outcome::Declined { .. }
        ));
        assert_eq!(
            run(PaymentMethod::Upi, upi("timeout@upi")),
            Outcome::TimedOut
        );
        assert!(matches!(
            run(PaymentMethod::NetBanking, bank("hdfc")),
            Outcome::Approved { .. }
        ));
        assert!(matches!(
            run(PaymentMethod::NetBanking, bank("FAIL")),
            Outcome::Declined { .. }
        ));
        assert_eq!(
            run(PaymentMethod::NetBanking, bank("SLOW")),
            Outcome::TimedOut
        );
    }

    #[test]
    fn malformed_details_are_refused() {
        let mut expired = card("4111111111111111");
        if let Some(card) = expired.card.as_mut() {
            card.expiry_year = 2025;
        }
        let mut short_cvv = card("4111111111111111");
        if let Some(card) = short_cvv.card.as_mut() {
            card.cvv = "12".into();
        }
        let cases = [
            (PaymentMethod::Card, card("4111 1111 1111 1112")),
            (PaymentMethod::Card, expired),
            (PaymentMethod::Card, short_cvv),
            (
                PaymentMethod::Upi,
                PaymentDetailsInput {
                    card: None,
                    upi: Some(UpiInput {
                        vpa: "no-at-sign".into(),
                    }),
                    net_banking: None,
                },
            ),
            (
                PaymentMethod::NetBanking,
                PaymentDetailsInput {
                    card: None,
                    upi: None,
                    net_banking: Some(NetBankingInput {
                        bank_code: "XXXX".into(),
                    }),
                },
            ),
            (PaymentMethod::Upi, card("4111111111111111")),
        ];
        for (method, details) in cases {
            let error = validate(method, &details, today()).expect_err("refused");
            assert_eq!(error.code(), crate::error::ErrorCode::InvalidPaymentDetails);
        }
    }
}
