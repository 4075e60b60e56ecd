//! A stadium plan generator: a floor in front of the stage and two bowls around it.
//!
//! The plan is pure data (no database), so its promises are unit-tested: exactly the asked
//! number of seats, unique (section, row, number), and every row a straight line of evenly
//! spaced seats, which is what lets the seat map describe a whole row in one run.
//!
//! Coordinates: the field's centre is (0, 0), the stage is at the top (negative y), one seat
//! is 10 units wide and one row 12 units deep.

/// Width of one seat in plan units.
pub const SEAT_PITCH: f64 = 10.0;
/// Depth of one row in plan units.
pub const ROW_DEPTH: f64 = 12.0;

/// The tier a section belongs to; each tier is one price category.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tier {
    /// Standing-area blocks on the field, nearest the stage.
    Floor,
    /// The lower bowl around the field.
    Lower,
    /// The upper bowl behind it.
    Upper,
}

/// One straight row of seats: seat `k` (0-based) sits at `start + k * step`.
#[derive(Clone, Debug, PartialEq)]
pub struct RowPlan {
    pub tier: Tier,
    pub section: String,
    pub label: String,
    pub start: (i32, i32),
    pub step: (i32, i32),
    pub count: u32,
}

/// One seat of the plan, ready to load.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedSeat<'a> {
    pub tier: Tier,
    pub section: &'a str,
    pub row: &'a str,
    pub number: u32,
    pub x: i32,
    pub y: i32,
}

/// A whole venue: its rows, in loading order (sections in order, rows front to back).
#[derive(Clone, Debug)]
pub struct StadiumPlan {
    pub rows: Vec<RowPlan>,
}

impl StadiumPlan {
    /// A plan with exactly `capacity` seats (at least 100), about 15% on the floor, 35% in
    /// the lower bowl and 50% in the upper bowl, the way stadium shows are usually split.
    pub fn with_capacity(capacity: u32) -> Self {
        let capacity = u64::from(capacity.max(100));
        let mut rows = layout(capacity);
        let total: u64 = rows.iter().map(|row| u64::from(row.count)).sum();
        trim(&mut rows, total.saturating_sub(capacity));
        Self { rows }
    }

    /// Number of seats in the plan.
    pub fn seat_count(&self) -> u64 {
        self.rows.iter().map(|row| u64::from(row.count)).sum()
    }

    /// Every seat, section by section, row by row, seat by seat.
    pub fn seats(&self) -> impl Iterator<Item = PlannedSeat<'_>> {
        self.rows.iter().flat_map(|row| {
            (0..row.count).map(move |k| {
                let k_i32 = i32::try_from(k).unwrap_or(i32::MAX);
                PlannedSeat {
                    tier: row.tier,
                    section: &row.section,
                    row: &row.label,
                    number: k + 1,
                    x: row.start.0 + k_i32 * row.step.0,
                    y: row.start.1 + k_i32 * row.step.1,
                }
            })
        })
    }
}

/// Lays out the three tiers, adding rows to each until it holds its share of `capacity`
/// (the upper bowl until the total is reached).
fn layout(capacity: u64) -> Vec<RowPlan> {
    let scale = (capacity as f64 / 10_000.0).sqrt();
    let mut rows = Vec::new();

    // Floor: a grid of blocks of horizontal rows facing the stage.
    let blocks_across: u32 = 2;
    let blocks_deep = (2.0 * scale.sqrt()).round().max(1.0) as u32;
    let floor_seats = (20.0 * scale.sqrt()).round().max(8.0) as u32;
    let per_floor_row = u64::from(blocks_across * blocks_deep * floor_seats);
    let floor_rows = (capacity * 15 / 100).div_ceil(per_floor_row).max(2) as u32;
    let block_w = f64::from(floor_seats) * SEAT_PITCH + 30.0;
    let block_d = f64::from(floor_rows) * ROW_DEPTH + 30.0;
    let floor_w = f64::from(blocks_across) * block_w;
    let floor_d = f64::from(blocks_deep) * block_d;
    let mut block = 0;
    for by in 0..blocks_deep {
        for bx in 0..blocks_across {
            block += 1;
            let section = format!("P{block}");
            let left = -floor_w / 2.0 + f64::from(bx) * block_w + 15.0;
            let top = -floor_d / 2.0 + f64::from(by) * block_d + 15.0;
            for r in 0..floor_rows {
                rows.push(RowPlan {
                    tier: Tier::Floor,
                    section: section.clone(),
                    label: row_label(r),
                    start: (
                        left.round() as i32,
                        (top + f64::from(r) * ROW_DEPTH).round() as i32,
                    ),
                    step: (SEAT_PITCH as i32, 0),
                    count: floor_seats,
                });
            }
        }
    }
    let floor_total: u64 = rows.iter().map(|row| u64::from(row.count)).sum();

    // Bowls: a horseshoe of wedge-shaped sections open towards the stage.
    let field_radius = (floor_w.hypot(floor_d) / 2.0) + 60.0;
    let lower_sections = (12.0 * scale.sqrt()).round().max(6.0) as u32;
    let lower_target = (capacity * 50 / 100).saturating_sub(floor_total).max(1);
    let lower_outer = bowl(
        &mut rows,
        Tier::Lower,
        "L",
        100,
        lower_sections,
        lower_target,
        field_radius,
    );
    let so_far: u64 = rows.iter().map(|row| u64::from(row.count)).sum();
    let upper_sections = (16.0 * scale.sqrt()).round().max(8.0) as u32;
    let upper_target = capacity.saturating_sub(so_far).max(1);
    bowl(
        &mut rows,
        Tier::Upper,
        "U",
        200,
        upper_sections,
        upper_target,
        lower_outer + 50.0,
    );
    rows
}

/// Adds one bowl of `sections` wedges with as many rows as it takes to seat `target`;
/// returns the bowl's outer radius.
fn bowl(
    rows: &mut Vec<RowPlan>,
    tier: Tier,
    prefix: &str,
    first_number: u32,
    sections: u32,
    target: u64,
    inner_radius: f64,
) -> f64 {
    // The horseshoe spans 300 degrees, leaving the stage end open.
    let open = 30f64.to_radians();
    let wedge = (std::f64::consts::TAU - 2.0 * open) / f64::from(sections);
    // Seats in one row of one section at a given depth: 85% of the wedge's chord, leaving
    // aisles between sections.
    let per_row = |r: u32| {
        let radius = inner_radius + f64::from(r) * ROW_DEPTH;
        let chord = 2.0 * radius * (wedge / 2.0).sin() * 0.85;
        ((chord / SEAT_PITCH).floor() as u32).max(1)
    };
    let mut depth = 0;
    let mut seated = 0u64;
    while seated < target {
        seated += u64::from(per_row(depth)) * u64::from(sections);
        depth += 1;
    }
    for s in 0..sections {
        let section = format!("{prefix}{}", first_number + s + 1);
        // Angle measured from the stage direction (straight up), clockwise.
        let phi = open + wedge * (f64::from(s) + 0.5);
        let outward = (phi.sin(), -phi.cos());
        let along = (phi.cos(), phi.sin());
        let step = (
            (along.0 * SEAT_PITCH).round() as i32,
            (along.1 * SEAT_PITCH).round() as i32,
        );
        for r in 0..depth {
            let radius = inner_radius + f64::from(r) * ROW_DEPTH;
            let count = per_row(r);
            let half = f64::from(count - 1) / 2.0;
            let centre = (outward.0 * radius, outward.1 * radius);
            let start = (
                (centre.0 - half * f64::from(step.0)).round() as i32,
                (centre.1 - half * f64::from(step.1)).round() as i32,
            );
            rows.push(RowPlan {
                tier,
                section: section.clone(),
                label: row_label(r),
                start,
                step,
                count,
            });
        }
    }
    inner_radius + f64::from(depth) * ROW_DEPTH
}

/// Removes `excess` seats from the ends of rows, one per row in turn, starting with the
/// upper bowl's last section (then the lower bowl, then the floor for tiny plans), so every
/// row stays straight.
fn trim(rows: &mut Vec<RowPlan>, mut excess: u64) {
    for tier in [Tier::Upper, Tier::Lower, Tier::Floor] {
        while excess > 0 {
            let mut trimmed_any = false;
            for row in rows
                .iter_mut()
                .rev()
                .filter(|row| row.tier == tier && row.count > 0)
            {
                if excess == 0 {
                    break;
                }
                row.count -= 1;
                excess -= 1;
                trimmed_any = true;
            }
            if !trimmed_any {
                break;
            }
        }
    }
    rows.retain(|row| row.count > 0);
}

/// Row labels as on tickets: A..Z, then AA, AB, ...
pub fn row_label(index: u32) -> String {
    let mut n = index;
    let mut label = Vec::new();
    loop {
        label.push(b'A' + (n % 26) as u8);
        if n < 26 {
            break;
        }
        n = n / 26 - 1;
    }
    label.reverse();
    String::from_utf8(label).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn row_labels_run_from_a_to_z_then_double_letters() {
        assert_eq!(row_label(0), "A");
        assert_eq!(row_label(25), "Z");
        assert_eq!(row_label(26), "AA");
        assert_eq!(row_label(27), "AB");
        assert_eq!(row_label(26 + 26 * 26), "AAA");
    }

    #[test]
    fn a_plan_has_exactly_the_asked_number_of_seats() {
        for capacity in [100, 500, 2_000, 10_000, 50_000, 123_457] {
            let plan = StadiumPlan::with_capacity(capacity);
            assert_eq!(
                plan.seat_count(),
                u64::from(capacity),
                "capacity {capacity}"
            );
            assert_eq!(plan.seats().count() as u64, u64::from(capacity));
        }
    }

    #[test]
    fn every_seat_has_a_unique_section_row_and_number_and_position() {
        let plan = StadiumPlan::with_capacity(10_000);
        let mut names = HashSet::new();
        let mut positions = HashSet::new();
        for seat in plan.seats() {
            assert!(
                names.insert((seat.section, seat.row, seat.number)),
                "{seat:?}"
            );
            assert!(
                positions.insert((seat.x, seat.y)),
                "two seats at one spot: {seat:?}"
            );
        }
    }

    #[test]
    fn the_plan_is_split_across_three_tiers_with_the_upper_bowl_largest() {
        let plan = StadiumPlan::with_capacity(10_000);
        let count = |tier| plan.seats().filter(|seat| seat.tier == tier).count();
        let (floor, lower, upper) = (count(Tier::Floor), count(Tier::Lower), count(Tier::Upper));
        assert!((1_200..=1_800).contains(&floor), "floor {floor}");
        assert!((3_000..=4_000).contains(&lower), "lower {lower}");
        assert!((4_500..=5_500).contains(&upper), "upper {upper}");
    }

    #[test]
    fn sections_never_overlap_the_field_blocks() {
        let plan = StadiumPlan::with_capacity(50_000);
        let floor_extent = plan
            .seats()
            .filter(|seat| seat.tier == Tier::Floor)
            .map(|seat| f64::from(seat.x).hypot(f64::from(seat.y)))
            .fold(0.0, f64::max);
        let bowl_nearest = plan
            .seats()
            .filter(|seat| seat.tier != Tier::Floor)
            .map(|seat| f64::from(seat.x).hypot(f64::from(seat.y)))
            .fold(f64::MAX, f64::min);
        assert!(
            bowl_nearest > floor_extent,
            "{bowl_nearest} <= {floor_extent}"
        );
    }
}
