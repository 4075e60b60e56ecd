//! An event's seat layout: where every seat sits and what it costs, in runs of evenly spaced
//! seats. Seats never move once seeded, so a layout is built once per event and instance and
//! cached ([`crate::state::AppState`] holds the cache); the seat map adds one character of
//! state per seat to it.
//!
//! A run is a stretch of seats with consecutive ids and numbers in one row of one section
//! and category, each `(dx, dy)` from the last.

use async_graphql::{ID, SimpleObject};
use entities::seat_category;
use sea_orm::FromQueryResult;
use serde::Serialize;

use crate::money::Money;

/// A price band of an event, with its colour on the seat map.
#[derive(Clone, Debug, SimpleObject, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeatCategory {
    pub id: ID,
    pub name: String,
    /// Price of one seat.
    pub price: Money,
    /// `#rrggbb`, for the seat map and legends.
    pub colour: String,
}

impl From<&seat_category::Model> for SeatCategory {
    fn from(model: &seat_category::Model) -> Self {
        Self {
            id: ID(model.id.to_string()),
            name: model.name.clone(),
            price: Money::new(model.price_minor, &model.currency),
            colour: model.colour.clone(),
        }
    }
}

/// The fields of a seat that place it on the map.
#[derive(Clone, Debug, PartialEq, Eq, FromQueryResult)]
pub struct LayoutSeat {
    pub id: i64,
    pub section: String,
    pub row_label: String,
    pub number: i32,
    pub category_id: i64,
    pub x: i32,
    pub y: i32,
}

/// A stretch of evenly spaced seats: seat `k` has id `first_seat_id + k`, number
/// `first_number + k`, and sits at `(x + k*dx, y + k*dy)`.
#[derive(Clone, Debug, PartialEq, Eq, SimpleObject, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeatRun {
    /// Index into `SeatMap.sections`.
    pub section: i32,
    pub row: String,
    pub category_id: ID,
    pub first_seat_id: ID,
    pub first_number: i32,
    pub count: i32,
    pub x: i32,
    pub y: i32,
    pub dx: i32,
    pub dy: i32,
}

/// A section, for labels and filters.
#[derive(Clone, Debug, PartialEq, Eq, SimpleObject, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MapSection {
    /// Section code, e.g. `L105`.
    pub name: String,
    pub category_id: ID,
    pub seat_count: i32,
    /// Where to put the section's label (the centre of its seats).
    pub label_x: i32,
    pub label_y: i32,
}

/// The smallest box holding every seat. The stage is at the top (towards smaller `y`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, SimpleObject, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MapBounds {
    pub min_x: i32,
    pub min_y: i32,
    pub max_x: i32,
    pub max_y: i32,
}

/// An event's immutable layout, cached per instance; as JSON (camelCase, the seat map's
/// field names) it is the file browsers keep (see `seats::map::layout_file`).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeatLayout {
    pub seat_count: i32,
    pub bounds: MapBounds,
    pub categories: Vec<SeatCategory>,
    pub sections: Vec<MapSection>,
    pub runs: Vec<SeatRun>,
}

/// Groups seats (sorted by id) into runs and sections.
pub fn build_layout(seats: &[LayoutSeat], categories: &[seat_category::Model]) -> SeatLayout {
    let mut sections: Vec<(String, i64, i64, i64, i64)> = Vec::new(); // name, category, n, sum x, sum y
    let mut section_index = std::collections::HashMap::<&str, usize>::new();
    let mut runs: Vec<SeatRun> = Vec::new();
    let mut bounds = MapBounds {
        min_x: i32::MAX,
        min_y: i32::MAX,
        max_x: i32::MIN,
        max_y: i32::MIN,
    };
    let mut previous: Option<&LayoutSeat> = None;
    let mut run_first: Option<&LayoutSeat> = None;

    for seat in seats {
        let index = *section_index.entry(&seat.section).or_insert_with(|| {
            sections.push((seat.section.clone(), seat.category_id, 0, 0, 0));
            sections.len() - 1
        });
        let section = &mut sections[index];
        section.2 += 1;
        section.3 += i64::from(seat.x);
        section.4 += i64::from(seat.y);
        bounds.min_x = bounds.min_x.min(seat.x);
        bounds.min_y = bounds.min_y.min(seat.y);
        bounds.max_x = bounds.max_x.max(seat.x);
        bounds.max_y = bounds.max_y.max(seat.y);

        let extends = match (previous, run_first, runs.last()) {
            (Some(prev), Some(first), Some(run)) => {
                let k = run.count;
                let same_line = prev.section == seat.section
                    && prev.row_label == seat.row_label
                    && prev.category_id == seat.category_id
                    && seat.id == prev.id + 1
                    && seat.number == prev.number + 1;
                same_line
                    && if k == 1 {
                        true
                    } else {
                        seat.x == first.x + k * run.dx && seat.y == first.y + k * run.dy
                    }
            }
            _ => false,
        };
        if extends && let (Some(first), Some(run)) = (run_first, runs.last_mut()) {
            if run.count == 1 {
                run.dx = seat.x - first.x;
                run.dy = seat.y - first.y;
            }
            run.count += 1;
        } else {
            runs.push(SeatRun {
                section: index as i32,
                row: seat.row_label.clone(),
                category_id: ID(seat.category_id.to_string()),
                first_seat_id: ID(seat.id.to_string()),
                first_number: seat.number,
                count: 1,
                x: seat.x,
                y: seat.y,
                dx: 0,
                dy: 0,
            });
            run_first = Some(seat);
        }
        previous = Some(seat);
    }
    if seats.is_empty() {
        bounds = MapBounds {
            min_x: 0,
            min_y: 0,
            max_x: 0,
            max_y: 0,
        };
    }
    SeatLayout {
        seat_count: seats.len() as i32,
        bounds,
        categories: categories.iter().map(SeatCategory::from).collect(),
        sections: sections
            .into_iter()
            .map(|(name, category, n, sum_x, sum_y)| MapSection {
                name,
                category_id: ID(category.to_string()),
                seat_count: n as i32,
                label_x: (sum_x / n.max(1)) as i32,
                label_y: (sum_y / n.max(1)) as i32,
            })
            .collect(),
        runs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::venue::StadiumPlan;

    fn seat(id: i64, row: &str, number: i32, x: i32, y: i32) -> LayoutSeat {
        LayoutSeat {
            id,
            section: "A".into(),
            row_label: row.into(),
            number,
            category_id: 1,
            x,
            y,
        }
    }

    /// Expands runs back into (id, number, x, y), to compare with the input.
    fn expand(runs: &[SeatRun]) -> Vec<(i64, i32, i32, i32)> {
        runs.iter()
            .flat_map(|run| {
                let first: i64 = run.first_seat_id.0.parse().expect("numeric id");
                (0..run.count).map(move |k| {
                    (
                        first + i64::from(k),
                        run.first_number + k,
                        run.x + k * run.dx,
                        run.y + k * run.dy,
                    )
                })
            })
            .collect()
    }

    #[test]
    fn a_straight_row_is_one_run() {
        let seats: Vec<_> = (0..5)
            .map(|k| seat(10 + k, "A", 1 + k as i32, k as i32 * 10, 3))
            .collect();
        let layout = build_layout(&seats, &[]);
        assert_eq!(layout.runs.len(), 1);
        assert_eq!(
            (layout.runs[0].count, layout.runs[0].dx, layout.runs[0].dy),
            (5, 10, 0)
        );
    }

    #[test]
    fn gaps_in_ids_numbers_rows_or_spacing_start_a_new_run() {
        let seats = vec![
            seat(1, "A", 1, 0, 0),
            seat(2, "A", 2, 10, 0),
            seat(4, "A", 3, 20, 0), // id gap
            seat(5, "A", 5, 30, 0), // number gap
            seat(6, "B", 6, 40, 0), // new row
            seat(7, "B", 7, 50, 0),
            seat(8, "B", 8, 61, 0), // uneven spacing
        ];
        let layout = build_layout(&seats, &[]);
        assert_eq!(layout.runs.len(), 5);
        let expected: Vec<_> = seats.iter().map(|s| (s.id, s.number, s.x, s.y)).collect();
        assert_eq!(expand(&layout.runs), expected);
    }

    #[test]
    fn a_generated_stadium_is_one_run_per_row_and_expands_back_exactly() {
        let plan = StadiumPlan::with_capacity(5_000);
        let seats: Vec<LayoutSeat> = plan
            .seats()
            .enumerate()
            .map(|(i, s)| LayoutSeat {
                id: i as i64 + 1,
                section: s.section.into(),
                row_label: s.row.into(),
                number: s.number as i32,
                category_id: 1,
                x: s.x,
                y: s.y,
            })
            .collect();
        let layout = build_layout(&seats, &[]);
        assert_eq!(layout.runs.len(), plan.rows.len());
        let expected: Vec<_> = seats.iter().map(|s| (s.id, s.number, s.x, s.y)).collect();
        assert_eq!(expand(&layout.runs), expected);
        assert_eq!(layout.seat_count, 5_000);
    }
}
