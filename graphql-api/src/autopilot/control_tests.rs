//! The controller's rules, one test each: distress cuts, health raises, bounds clamp, a pin
//! wins, stale or missing reports never raise, at most one change per interval.

use super::control::*;
use crate::queue_store::Supply;

const NOW: i64 = 1_000_000;

fn tuning() -> Tuning {
    Tuning {
        target_p99_ms: 400,
        interval_ms: 3_000,
        rate_step: 4.0,
        capacity_step: 50,
        growth: 1.0,
        cut_factor: 0.5,
        busy_share: 0.01,
        pool_pressure: 0.9,
        min_samples: 20,
    }
}

fn situation(rate: f64, capacity: u32) -> Situation {
    Situation {
        mode: Mode::Auto,
        limits: Limits { rate, capacity },
        bounds: Bounds {
            min_rate: 1.0,
            max_rate: 100.0,
            min_capacity: 10,
            max_capacity: 1_000,
        },
        changed_ms: Some(NOW - 10_000),
        cut_ms: None,
    }
}

fn healthy() -> Health {
    Health {
        instances: 2,
        operations: 500,
        busy: 0,
        mutations: 400,
        p99_ms: 120,
        pool_pressure: 0.3,
    }
}

/// The cap full and the rate fully used: both limits are what hold fans back.
fn busy_queue(limits: &Situation) -> Observed {
    Observed {
        admitted: u64::from(limits.limits.capacity),
        achieved_rate: Some(limits.limits.rate),
        supply: Supply::OnSale,
        ..Observed::default()
    }
}

#[test]
fn a_healthy_sale_path_raises_rate_and_cap_by_one_step() {
    let now = situation(20.0, 200);

    let decision = decide(&now, Some(&healthy()), &busy_queue(&now), &tuning(), NOW);

    assert!(decision.changed);
    assert_eq!(
        decision.limits,
        Limits {
            rate: 24.0,
            capacity: 250
        }
    );
    assert_eq!(
        decision.reason,
        "healthy: p99 120 ms < 400 ms target, raising rate 20 -> 24/s, raising cap 200 -> 250"
    );
}

#[test]
fn a_slow_p99_cuts_both_limits_by_the_factor() {
    let now = situation(20.0, 200);
    let slow = Health {
        p99_ms: 900,
        ..healthy()
    };

    let decision = decide(&now, Some(&slow), &busy_queue(&now), &tuning(), NOW);

    assert_eq!(
        decision.limits,
        Limits {
            rate: 10.0,
            capacity: 100
        }
    );
    assert!(
        decision
            .reason
            .starts_with("distress: p99 900 ms > 400 ms target"),
        "{}",
        decision.reason
    );
}

#[test]
fn busy_answers_or_a_full_pool_are_distress_too() {
    let now = situation(20.0, 200);
    let busy = Health {
        busy: 50,
        ..healthy()
    };
    let full_pool = Health {
        pool_pressure: 0.95,
        ..healthy()
    };

    let on_busy = decide(&now, Some(&busy), &busy_queue(&now), &tuning(), NOW);
    let on_pool = decide(&now, Some(&full_pool), &busy_queue(&now), &tuning(), NOW);

    assert_eq!(on_busy.limits.capacity, 100);
    assert!(on_busy.reason.contains("BUSY"), "{}", on_busy.reason);
    assert_eq!(on_pool.limits.capacity, 100);
    assert!(on_pool.reason.contains("pool 95%"), "{}", on_pool.reason);
}

#[test]
fn a_cut_starts_from_the_shoppers_there_are_and_the_rate_achieved() {
    let now = situation(50.0, 1_000);
    let observed = Observed {
        admitted: 300,
        achieved_rate: Some(30.0),
        supply: Supply::OnSale,
        ..Observed::default()
    };
    let slow = Health {
        p99_ms: 2_000,
        ..healthy()
    };

    let decision = decide(&now, Some(&slow), &observed, &tuning(), NOW);

    assert_eq!(
        decision.limits,
        Limits {
            rate: 15.0,
            capacity: 150
        }
    );
}

#[test]
fn between_healthy_and_the_target_the_limits_hold() {
    let now = situation(20.0, 200);
    let near = Health {
        p99_ms: 350,
        ..healthy()
    };

    let decision = decide(&now, Some(&near), &busy_queue(&now), &tuning(), NOW);

    assert!(!decision.changed);
    assert_eq!(decision.limits, now.limits);
}

#[test]
fn no_limit_leaves_its_bounds() {
    let top = situation(98.0, 990);
    let bottom = situation(1.5, 12);
    let slow = Health {
        p99_ms: 5_000,
        ..healthy()
    };

    let raised = decide(&top, Some(&healthy()), &busy_queue(&top), &tuning(), NOW);
    let cut = decide(&bottom, Some(&slow), &busy_queue(&bottom), &tuning(), NOW);
    let at_floor = decide(
        &situation(1.0, 10),
        Some(&slow),
        &busy_queue(&situation(1.0, 10)),
        &tuning(),
        NOW,
    );

    assert_eq!(
        raised.limits,
        Limits {
            rate: 100.0,
            capacity: 1_000
        }
    );
    assert_eq!(
        cut.limits,
        Limits {
            rate: 1.0,
            capacity: 10
        }
    );
    assert!(!at_floor.changed, "{at_floor:?}");
}

#[test]
fn limits_outside_new_bounds_move_inside_at_once() {
    let mut now = situation(500.0, 5);
    now.changed_ms = Some(NOW - 1);

    let decision = decide(&now, None, &Observed::default(), &tuning(), NOW);

    assert!(decision.changed);
    assert_eq!(
        decision.limits,
        Limits {
            rate: 100.0,
            capacity: 10
        }
    );
}

#[test]
fn a_pin_wins_over_any_health() {
    let mut now = situation(500.0, 5);
    now.mode = Mode::Pinned;
    let slow = Health {
        p99_ms: 5_000,
        ..healthy()
    };

    for health in [healthy(), slow] {
        let decision = decide(&now, Some(&health), &busy_queue(&now), &tuning(), NOW);
        assert!(!decision.changed);
        assert_eq!(decision.limits, now.limits);
        assert!(decision.reason.starts_with("pinned"), "{}", decision.reason);
    }
}

#[test]
fn without_fresh_reports_or_enough_samples_soon_after_a_change_nothing_rises() {
    let mut now = situation(20.0, 200);
    now.changed_ms = Some(NOW - 3_000);
    let gone = Health {
        instances: 0,
        ..healthy()
    };
    let thin = Health {
        operations: 5,
        ..healthy()
    };

    for health in [None, Some(&gone), Some(&thin)] {
        let decision = decide(&now, health, &busy_queue(&now), &tuning(), NOW);
        assert!(!decision.changed, "{decision:?}");
    }
}

#[test]
fn a_sale_path_quiet_for_three_intervals_with_the_cap_full_raises() {
    let mut now = situation(20.0, 200);
    now.changed_ms = Some(NOW - 9_000);
    // Five operations, one of them a slow payment: too few for the p99 to mean anything.
    let thin = Health {
        operations: 5,
        p99_ms: 1_500,
        ..healthy()
    };

    let decision = decide(&now, Some(&thin), &busy_queue(&now), &tuning(), NOW);

    assert!(decision.changed, "{decision:?}");
    assert_eq!(decision.limits.capacity, 250);
    assert!(
        decision.reason.starts_with("quiet: 5 sale operations"),
        "{}",
        decision.reason
    );
}

#[test]
fn a_quiet_sale_path_before_any_admission_does_not_creep_up() {
    let mut now = situation(20.0, 200);
    now.changed_ms = Some(NOW - 60_000);
    let silent = Health {
        operations: 0,
        p99_ms: 0,
        ..healthy()
    };
    let not_open_yet = Observed {
        admitted: 0,
        achieved_rate: None,
        supply: Supply::OnSale,
        ..Observed::default()
    };

    let decision = decide(&now, Some(&silent), &not_open_yet, &tuning(), NOW);

    assert!(!decision.changed, "{decision:?}");
}

#[test]
fn a_quiet_sale_path_still_cuts_on_busy_answers() {
    let mut now = situation(20.0, 200);
    now.changed_ms = Some(NOW - 9_000);
    let thin_but_busy = Health {
        operations: 10,
        busy: 4,
        ..healthy()
    };

    let decision = decide(
        &now,
        Some(&thin_but_busy),
        &busy_queue(&now),
        &tuning(),
        NOW,
    );

    assert_eq!(decision.limits.capacity, 100, "{decision:?}");
    assert!(decision.reason.contains("BUSY"), "{}", decision.reason);
}

#[test]
fn with_no_seat_free_the_limits_hold_however_healthy() {
    let now = situation(20.0, 200);
    for supply in [Supply::AllInCarts, Supply::SoldOut] {
        let observed = Observed {
            supply,
            ..busy_queue(&now)
        };

        let decision = decide(&now, Some(&healthy()), &observed, &tuning(), NOW);

        assert!(!decision.changed, "{decision:?}");
        assert!(
            decision.reason.starts_with("no seat is free"),
            "{}",
            decision.reason
        );
    }
}

#[test]
fn at_most_one_change_per_interval() {
    let mut now = situation(20.0, 200);
    now.changed_ms = Some(NOW - 2_999);

    let too_soon = decide(&now, Some(&healthy()), &busy_queue(&now), &tuning(), NOW);
    let in_time = decide(
        &now,
        Some(&healthy()),
        &busy_queue(&now),
        &tuning(),
        NOW + 1,
    );

    assert!(!too_soon.changed && too_soon.waiting);
    assert!(in_time.changed && !in_time.waiting);
}

#[test]
fn a_cap_nobody_fills_is_not_raised() {
    let now = situation(20.0, 200);
    let idle = Observed {
        admitted: 20,
        achieved_rate: Some(5.0),
        supply: Supply::OnSale,
        ..Observed::default()
    };

    let decision = decide(&now, Some(&healthy()), &idle, &tuning(), NOW);

    assert!(!decision.changed);
    assert!(
        decision.reason.contains("neither the rate nor the cap"),
        "{}",
        decision.reason
    );
}

/// The tuning with slow start on: x1.5 until the first distress.
fn growing() -> Tuning {
    Tuning {
        growth: 1.5,
        ..tuning()
    }
}

#[test]
fn before_any_distress_a_healthy_path_multiplies_the_limits() {
    let now = situation(20.0, 200);

    let decision = decide(&now, Some(&healthy()), &busy_queue(&now), &growing(), NOW);

    assert_eq!(
        decision.limits,
        Limits {
            rate: 30.0,
            capacity: 300
        }
    );
    assert_eq!(
        decision.reason,
        "healthy: p99 120 ms < 400 ms target, no distress yet (x1.5), raising rate 20 -> 30/s, \
         raising cap 200 -> 300"
    );
}

#[test]
fn after_a_cut_a_healthy_path_raises_by_steps_only() {
    let now = Situation {
        cut_ms: Some(NOW - 60_000),
        ..situation(20.0, 200)
    };

    let decision = decide(&now, Some(&healthy()), &busy_queue(&now), &growing(), NOW);

    assert_eq!(
        decision.limits,
        Limits {
            rate: 24.0,
            capacity: 250
        }
    );
    assert!(!decision.cut);
}

#[test]
fn a_cut_on_distress_says_so_and_growth_never_passes_the_bounds() {
    let near_top = situation(80.0, 900);
    let slow = Health {
        p99_ms: 900,
        ..healthy()
    };

    let grown = decide(
        &near_top,
        Some(&healthy()),
        &busy_queue(&near_top),
        &growing(),
        NOW,
    );
    let cut = decide(
        &near_top,
        Some(&slow),
        &busy_queue(&near_top),
        &growing(),
        NOW,
    );

    assert_eq!(
        grown.limits,
        Limits {
            rate: 100.0,
            capacity: 1_000
        }
    );
    assert!(!grown.cut);
    assert!(cut.cut && cut.changed, "{cut:?}");
}

#[test]
fn a_quiet_path_raises_by_steps_even_before_any_distress() {
    let mut now = situation(20.0, 200);
    now.changed_ms = Some(NOW - 3 * tuning().interval_ms);
    let quiet = Health {
        operations: 3,
        ..healthy()
    };

    let decision = decide(&now, Some(&quiet), &busy_queue(&now), &growing(), NOW);

    assert_eq!(decision.limits.capacity, 250, "{decision:?}");
}

#[test]
fn a_limit_that_stopped_a_tick_lately_binds_though_the_smoothed_rate_lags() {
    let now = situation(20.0, 200);
    // The smoothed rate still remembers a slower past; the cap has room.
    let lagging = Observed {
        admitted: 50,
        achieved_rate: Some(12.0),
        supply: Supply::OnSale,
        rate_hit_ms: Some(NOW - 500),
        cap_hit_ms: None,
    };
    let stale = Observed {
        rate_hit_ms: Some(NOW - tuning().interval_ms - 1),
        ..lagging
    };
    let cap_hit = Observed {
        rate_hit_ms: None,
        cap_hit_ms: Some(NOW - 200),
        ..lagging
    };

    let raised = decide(&now, Some(&healthy()), &lagging, &tuning(), NOW);
    let held = decide(&now, Some(&healthy()), &stale, &tuning(), NOW);
    let cap_raised = decide(&now, Some(&healthy()), &cap_hit, &tuning(), NOW);

    assert_eq!(
        raised.limits,
        Limits {
            rate: 24.0,
            capacity: 200
        }
    );
    assert!(!held.changed, "{held:?}");
    assert_eq!(
        cap_raised.limits,
        Limits {
            rate: 20.0,
            capacity: 250
        }
    );
}
