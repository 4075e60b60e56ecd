//! Guard: what reading every request before the schema costs, against the parse the schema
//! did anyway (the guard keeps its parse, so the schema does not parse again), and how fast
//! hostile documents are refused.

use std::time::Instant;

use serde_json::json;

use crate::support::env_or;

pub(super) fn guard_bench() {
    use async_graphql::{Request, Variables};
    use graphql_api::guard;

    println!("\n## guard (CPU only, one thread)");
    let seat_page = "query SeatPage($first: Int, $after: String, $section: String) { seats(first: $first, after: $after, section: $section) { edges { cursor node { id section row number status version category { id name colour price { amountMinor currency formatted } } } } pageInfo { hasNextPage endCursor } } }";
    let lock = "mutation($s: [ID!]!, $k: String!) { lockSeats(seatIds: $s, idempotencyKey: $k) { id status expiresAt seats { id } total { amountMinor } } }";
    let introspection = "query IntrospectionQuery { __schema { queryType { name } mutationType { name } subscriptionType { name } types { ...FullType } directives { name description locations args { ...InputValue } } } } fragment FullType on __Type { kind name description fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason } inputFields { ...InputValue } interfaces { ...TypeRef } enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason } possibleTypes { ...TypeRef } } fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue } fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }";
    let variables =
        json!({ "s": ["1", "2", "3", "4"], "k": "6f1c0d1e-0000-4000-8000-000000000000" });
    let rounds = env_or("BENCH_GUARD_ROUNDS", 20_000);
    for (name, query, vars) in [
        ("seat page", seat_page, json!({ "first": 50 })),
        ("lockSeats", lock, variables),
        ("introspection", introspection, json!({})),
    ] {
        let parse = time_per_op(rounds, || {
            std::hint::black_box(async_graphql::parser::parse_query(query).expect("parses"));
        });
        let checked = time_per_op(rounds, || {
            let request = Request::new(query).variables(Variables::from_json(vars.clone()));
            std::hint::black_box(guard::check(request, true).expect("passes"));
        });
        println!(
            "  {name} ({} bytes): parse {:.1} us, guard incl. parse {:.1} us ({:.2}x; adds {:.1} us)",
            query.len(),
            parse,
            checked,
            checked / parse,
            checked - parse
        );
    }
    let deep = format!(
        "{{ event(id: {}1{}) {{ id }} }}",
        "[".repeat(5_000),
        "]".repeat(5_000)
    );
    let mut fragments = String::from("{ ...F0 }\n");
    for level in 0..9 {
        let spreads = format!("...F{} ", level + 1).repeat(10);
        fragments.push_str(&format!(
            "fragment F{level} on Query {{ a: __typename {spreads} }}\n"
        ));
    }
    fragments.push_str("fragment F9 on Query { __typename }\n");
    for (name, query) in [("5,000-deep list", deep), ("fragments x10^9", fragments)] {
        let refused = time_per_op(rounds.min(2_000), || {
            std::hint::black_box(guard::check(Request::new(query.as_str()), true).is_err());
        });
        println!("  refusing {name} ({} bytes): {refused:.1} us", query.len());
    }
}

/// Mean microseconds per call of `op` over `rounds` calls (after a tenth as warm-up).
fn time_per_op(rounds: u64, mut op: impl FnMut()) -> f64 {
    for _ in 0..rounds / 10 {
        op();
    }
    let started = Instant::now();
    for _ in 0..rounds {
        op();
    }
    started.elapsed().as_secs_f64() * 1e6 / rounds as f64
}
