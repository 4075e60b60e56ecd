//! Which pool an operation draws from: by schema, operation type and root fields.
//!
//! An operation takes one permit, of the heaviest kind among its root fields
//! (`SaleWrites` > `SaleReads` > `PublicCalls` > `QueueCalls`), so a queue call cannot carry
//! sale work past the sale's bound. Not bounded at all: subscriptions (an idle one holds no
//! database work; each update is paid by the publisher), introspection alone (`__typename`,
//! `__schema`: no database), and the admins' queue controls (an operator must be able to
//! cut the admission rate exactly when the instance is saturated; they are few, and refused
//! cheaply to anyone else).

use std::collections::HashSet;

use async_graphql::parser::types::{
    ExecutableDocument, OperationDefinition, OperationType, Selection, SelectionSet,
};

use super::Kind;

/// Which of the two schemas an operation runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchemaSide {
    /// `/graphql`: events, accounts, the queue, my bookings.
    Public,
    /// `/sale/{eventId}/graphql`: one event's seats, holds, bookings, payments.
    Sale,
}

/// The fans' queue operations on the public schema.
const QUEUE_FIELDS: &[&str] = &["joinQueue", "leaveQueue", "heartbeat", "queueStatus"];
/// The admins' queue and gate controls on the public schema: never shed.
const ADMIN_FIELDS: &[&str] = &[
    "queueStats",
    "pauseQueue",
    "resumeQueue",
    "setAdmissionRate",
    "setAdmissionCapacity",
    "revokeAdmission",
    "setEventGate",
];
/// Public fields that change the sale's tables (a booking's seats go back on sale).
const PUBLIC_SALE_WRITES: &[&str] = &["cancelBooking"];
/// Public fields that read the sale's tables.
const PUBLIC_SALE_READS: &[&str] = &["myBookings"];

/// Fragments nested deeper than this at the root are not followed (the guard refuses such
/// documents before this runs; this only keeps a hostile one finite).
const MAX_FRAGMENT_DEPTH: usize = 16;

/// The kind of the operation `name` of `document` on `side` (the only operation when
/// `name` is `None`), or `None` when it is not bounded.
pub fn classify_operation(
    side: SchemaSide,
    document: &ExecutableDocument,
    name: Option<&str>,
) -> Option<Kind> {
    let operation = document
        .operations
        .iter()
        .find(|(each, _)| name.is_none() || each.map(|each| each.as_str()) == name)
        .map(|(_, operation)| &operation.node)?;
    classify(side, document, operation)
}

fn classify(
    side: SchemaSide,
    document: &ExecutableDocument,
    operation: &OperationDefinition,
) -> Option<Kind> {
    if operation.ty == OperationType::Subscription {
        return None;
    }
    let mut fields = HashSet::new();
    root_fields(document, &operation.selection_set.node, 0, &mut fields);
    fields
        .into_iter()
        .filter(|field| !field.starts_with("__"))
        .filter_map(|field| field_kind(side, operation.ty, field))
        .max()
}

/// The kind of one root field; `None` for the fields never bounded.
fn field_kind(side: SchemaSide, ty: OperationType, field: &str) -> Option<Kind> {
    match side {
        SchemaSide::Sale if ty == OperationType::Mutation => Some(Kind::SaleWrites),
        SchemaSide::Sale => Some(Kind::SaleReads),
        SchemaSide::Public if ADMIN_FIELDS.contains(&field) => None,
        SchemaSide::Public if QUEUE_FIELDS.contains(&field) => Some(Kind::QueueCalls),
        SchemaSide::Public if PUBLIC_SALE_WRITES.contains(&field) => Some(Kind::SaleWrites),
        SchemaSide::Public if PUBLIC_SALE_READS.contains(&field) => Some(Kind::SaleReads),
        SchemaSide::Public => Some(Kind::PublicCalls),
    }
}

/// The names of the root fields of `selections`, through fragments and inline fragments.
fn root_fields<'a>(
    document: &'a ExecutableDocument,
    selections: &'a SelectionSet,
    depth: usize,
    found: &mut HashSet<&'a str>,
) {
    if depth > MAX_FRAGMENT_DEPTH {
        return;
    }
    for selection in &selections.items {
        match &selection.node {
            Selection::Field(field) => {
                found.insert(field.node.name.node.as_str());
            }
            Selection::InlineFragment(inline) => {
                root_fields(document, &inline.node.selection_set.node, depth + 1, found);
            }
            Selection::FragmentSpread(spread) => {
                if let Some(fragment) = document.fragments.get(&spread.node.fragment_name.node) {
                    root_fields(
                        document,
                        &fragment.node.selection_set.node,
                        depth + 1,
                        found,
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(side: SchemaSide, query: &str, name: Option<&str>) -> Option<Kind> {
        let document = async_graphql::parser::parse_query(query).expect("a valid document");
        classify_operation(side, &document, name)
    }

    fn public(query: &str) -> Option<Kind> {
        kind(SchemaSide::Public, query, None)
    }

    fn sale(query: &str) -> Option<Kind> {
        kind(SchemaSide::Sale, query, None)
    }

    #[test]
    fn sale_mutations_are_writes_and_sale_queries_reads() {
        assert_eq!(
            sale(r#"mutation { lockSeats(seatIds: ["1"], idempotencyKey: "k") { id } }"#),
            Some(Kind::SaleWrites)
        );
        assert_eq!(sale("{ seatMap { status } }"), Some(Kind::SaleReads));
        assert_eq!(sale("query Mine { myHold { id } }"), Some(Kind::SaleReads));
    }

    #[test]
    fn subscriptions_and_introspection_alone_are_not_bounded() {
        assert_eq!(sale("subscription { seatAvailability { sequence } }"), None);
        assert_eq!(
            public("subscription { queuePosition(eventId: 1) { position } }"),
            None
        );
        assert_eq!(sale("{ __typename }"), None);
        assert_eq!(public("{ __schema { types { name } } }"), None);
        assert_eq!(
            sale("{ __typename seatMap { status } }"),
            Some(Kind::SaleReads)
        );
    }

    #[test]
    fn the_fans_queue_operations_are_queue_calls() {
        for query in [
            "mutation { joinQueue(eventId: 1) { position } }",
            "mutation { leaveQueue(eventId: 1) }",
            "mutation { heartbeat(eventId: 1) { position } }",
            "{ queueStatus(eventId: 1) { position } }",
        ] {
            assert_eq!(public(query), Some(Kind::QueueCalls), "{query}");
        }
    }

    #[test]
    fn the_rest_of_the_public_schema_is_classified_by_what_it_touches() {
        assert_eq!(public("{ events { id } }"), Some(Kind::PublicCalls));
        assert_eq!(
            public(r#"mutation { login(email: "a", password: "b") { accessToken } }"#),
            Some(Kind::PublicCalls)
        );
        assert_eq!(public("{ myBookings { id } }"), Some(Kind::SaleReads));
        assert_eq!(
            public(r#"mutation { cancelBooking(bookingId: "1") { id } }"#),
            Some(Kind::SaleWrites)
        );
        assert_eq!(
            public("mutation { pauseQueue(eventId: 1) { paused } }"),
            None
        );
        assert_eq!(public("{ queueStats(eventId: 1) { waiting } }"), None);
    }

    #[test]
    fn an_operation_draws_from_its_heaviest_field_even_through_fragments() {
        assert_eq!(
            public("{ queueStatus(eventId: 1) { position } events { id } }"),
            Some(Kind::PublicCalls)
        );
        let hidden = r#"mutation { joinQueue(eventId: 1) { position } ...C }
            fragment C on PublicMutation { ... on PublicMutation { cancelBooking(bookingId: "1") { id } } }"#;
        assert_eq!(public(hidden), Some(Kind::SaleWrites));
        let looping = "{ ...A } fragment A on PublicQuery { events { id } ...A }";
        assert_eq!(public(looping), Some(Kind::PublicCalls));
    }

    #[test]
    fn the_named_operation_is_the_one_classified() {
        let two = r#"query Seats { seatMap { status } }
            mutation Lock { lockSeats(seatIds: ["1"], idempotencyKey: "k") { id } }"#;
        assert_eq!(
            kind(SchemaSide::Sale, two, Some("Seats")),
            Some(Kind::SaleReads)
        );
        assert_eq!(
            kind(SchemaSide::Sale, two, Some("Lock")),
            Some(Kind::SaleWrites)
        );
    }
}
