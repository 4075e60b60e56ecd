//! Money as clients see it: integer minor units, a currency code, and a display string.

use async_graphql::SimpleObject;

/// An amount of money. Never a float: `amountMinor` is in the currency's minor unit.
#[derive(Clone, Debug, PartialEq, Eq, SimpleObject, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Money {
    /// Amount in minor units (paise for INR: 250000 is INR 2,500).
    pub amount_minor: i64,
    /// ISO 4217 code, e.g. `INR`.
    pub currency: String,
    /// For display, e.g. `₹2,500` or `₹1,25,000.50` (Indian grouping for INR).
    pub formatted: String,
}

impl Money {
    pub fn new(amount_minor: i64, currency: &str) -> Self {
        Self {
            amount_minor,
            currency: currency.to_owned(),
            formatted: format(amount_minor, currency),
        }
    }
}

/// Formats an amount for people: symbol, grouping, and paise only when there are some.
pub fn format(amount_minor: i64, currency: &str) -> String {
    let negative = amount_minor < 0;
    let minor = amount_minor.unsigned_abs();
    let (major, cents) = (minor / 100, minor % 100);
    let digits = major.to_string();
    let grouped = if currency == "INR" {
        group_indian(&digits)
    } else {
        group_thousands(&digits)
    };
    let symbol = match currency {
        "INR" => "₹".to_owned(),
        "USD" => "$".to_owned(),
        "EUR" => "€".to_owned(),
        "GBP" => "£".to_owned(),
        other => format!("{other} "),
    };
    let sign = if negative { "-" } else { "" };
    if cents == 0 {
        format!("{sign}{symbol}{grouped}")
    } else {
        format!("{sign}{symbol}{grouped}.{cents:02}")
    }
}

/// 1234567 -> 1,234,567.
fn group_thousands(digits: &str) -> String {
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// 1234567 -> 12,34,567 (the last three digits, then pairs).
fn group_indian(digits: &str) -> String {
    if digits.len() <= 3 {
        return digits.to_owned();
    }
    let (head, tail) = digits.split_at(digits.len() - 3);
    let mut out = String::new();
    for (i, c) in head.chars().enumerate() {
        if i > 0 && (head.len() - i).is_multiple_of(2) {
            out.push(',');
        }
        out.push(c);
    }
    out.push(',');
    out.push_str(tail);
    out
}

#[cfg(test)]
mod tests {
    use super::format;

    #[test]
    fn rupees_use_indian_grouping_and_show_paise_only_when_present() {
        assert_eq!(format(250_000, "INR"), "₹2,500");
        assert_eq!(format(1_250_000, "INR"), "₹12,500");
        assert_eq!(format(12_500_050, "INR"), "₹1,25,000.50");
        assert_eq!(format(99, "INR"), "₹0.99");
    }

    #[test]
    fn other_currencies_group_by_thousands() {
        assert_eq!(format(123_456_789, "USD"), "$1,234,567.89");
        assert_eq!(format(-500, "EUR"), "-€5");
        assert_eq!(format(100_000, "JPY"), "JPY 1,000");
    }
}
