//! How a fan's payment goes: a plan drawn from the weighted `--pay-mix`, and the details
//! that make the fake provider succeed, decline or time out.

use anyhow::{Context as _, bail};
use rand::Rng as _;
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

/// How a payment goes for one fan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayPlan {
    /// Pays at once.
    Pay,
    /// Declined, then pays with another card.
    DeclineRetry,
    /// Declined, then releases the seats and leaves.
    DeclineGiveUp,
    /// Changes their mind after holding: releases the seats and leaves.
    Release,
    /// Closes the tab holding seats: the hold runs out on its own.
    WalkAway,
    /// The provider times out, then the fan retries and pays.
    TimeoutRetry,
}

/// Parses `pay=80,decline-retry=6,...` into weighted plans.
pub fn parse_pay_mix(text: &str) -> anyhow::Result<Vec<(PayPlan, u32)>> {
    let mut mix = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, weight) = part
            .split_once('=')
            .with_context(|| format!("pay mix entry {part:?} must be name=weight"))?;
        let plan = match name.trim() {
            "pay" => PayPlan::Pay,
            "decline-retry" => PayPlan::DeclineRetry,
            "decline-give-up" => PayPlan::DeclineGiveUp,
            "release" => PayPlan::Release,
            "walk-away" => PayPlan::WalkAway,
            "timeout-retry" => PayPlan::TimeoutRetry,
            other => bail!("unknown payment outcome {other:?}"),
        };
        mix.push((
            plan,
            weight
                .trim()
                .parse()
                .context("a weight is a whole number")?,
        ));
    }
    if mix.iter().map(|(_, w)| w).sum::<u32>() == 0 {
        bail!("the pay mix needs some weight");
    }
    Ok(mix)
}

/// Draws a plan from a weighted mix.
pub fn draw_plan(mix: &[(PayPlan, u32)], rng: &mut ChaCha8Rng) -> PayPlan {
    let total: u32 = mix.iter().map(|(_, w)| w).sum();
    let mut pick = rng.random_range(0..total.max(1));
    for (plan, weight) in mix {
        if pick < *weight {
            return *plan;
        }
        pick -= weight;
    }
    PayPlan::Pay
}

/// Payment details for a method and an intended result.
pub fn payment_details(method: &str, result: &str) -> Value {
    match (method, result) {
        ("CARD", result) => {
            let number = match result {
                "decline" => "4000000000000002",
                "timeout" => "4000000000000119",
                _ => "4111111111111111",
            };
            json!({ "card": { "number": number, "expiryMonth": 12, "expiryYear": 2031, "cvv": "123", "holderName": "Load Test" } })
        }
        ("UPI", result) => {
            let vpa = match result {
                "decline" => "failure@upi",
                "timeout" => "timeout@upi",
                _ => "fan@okicici",
            };
            json!({ "upi": { "vpa": vpa } })
        }
        (_, result) => {
            let bank = match result {
                "decline" => "FAIL",
                "timeout" => "SLOW",
                _ => "HDFC",
            };
            json!({ "netBanking": { "bankCode": bank } })
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng as _;

    use super::*;

    #[test]
    fn pay_mixes_parse_and_draw_by_weight() {
        let mix = parse_pay_mix("pay=3, release=1").expect("parses");
        let mut rng = ChaCha8Rng::seed_from_u64(1);

        let pays = (0..4_000)
            .filter(|_| draw_plan(&mix, &mut rng) == PayPlan::Pay)
            .count();

        assert!((2_800..3_200).contains(&pays), "{pays}");
        assert!(parse_pay_mix("pay=0").is_err());
        assert!(parse_pay_mix("refund=3").is_err());
    }
}
